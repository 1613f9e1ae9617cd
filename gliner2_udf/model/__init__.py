"""The GLiNER2 network: an encoder (``bert`` or a transformers model) and the heads of ``heads``, put
together by an architecture (``span``: the GLiNER2 span model). Imports torch."""

from .heads import MAX_COUNT, MAX_INSTANCES, CountEmbedding, SpanMarker, mlp
from .span import Config, GLiNER2Network, Output

__all__ = ["MAX_COUNT", "MAX_INSTANCES", "Config", "CountEmbedding", "GLiNER2Network", "Output", "SpanMarker", "mlp"]

from .boundary import MASK, BoundaryConfig, BoundaryNetwork, BoundaryOutput

__all__ += ["MASK", "BoundaryConfig", "BoundaryNetwork", "BoundaryOutput"]
