"""Export the encoder, the span head's word projections and the span queries to ONNX (fp32 or int8) for the
lite runtime (``lite``, ``lite_export``).

Exports are cached per (weights, precision) in a cache folder (``GLINER2_UDF_CACHE``, default
``~/.cache/gliner2_udf``, see ``lite_export.cached_lite``); int8 uses ONNX Runtime's dynamic
quantization (int8 weights, per-batch activation scales). Requires the ``onnx`` extra.
"""

from __future__ import annotations

import os
import tempfile

import torch
from torch import nn

from ..model.bert import BertEncoder
from .precision import out_halves


def cache_dir() -> str:
    path = os.environ.get("GLINER2_UDF_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "gliner2_udf")
    os.makedirs(path, exist_ok=True)
    return path


def export(encoder: nn.Module, path: str, precision: str) -> str:
    """Export ``encoder`` to ``path`` (atomically); int8 is quantized after export."""
    ids = torch.ones(2, 16, dtype=torch.long)
    bert = isinstance(encoder, BertEncoder)  # other encoders (transformers models) export unfused
    if bert:
        encoder.onnx_form = True
    try:
        return _export(
            _LastHidden(encoder),
            (ids, torch.ones_like(ids)),
            ["input_ids", "attention_mask"],
            ["last_hidden_state"],
            path,
            precision,
            encoder.config if bert else None,
        )
    finally:
        if bert:
            encoder.onnx_form = False


def export_span_words(span: nn.Module, path: str, precision: str) -> str:
    """Export the span head's per-word work (``SpanMarker.project_words``: words ``[B, L, H]`` -> the start and
    end halves of the span MLP's hidden layer, ``[B, L, 4H]`` each) to ``path``; int8 like the encoder."""
    words = torch.zeros(2, 5, span.project_start[0].in_features)
    return _export(_SpanWords(span), (words,), ["words"], ["start", "end"], path, precision, None)


def export_span_queries(projector: nn.Module, last: nn.Linear, path: str, precision: str) -> str:
    """Export the per-query work of span scoring to ``path``: the count embedding's projector (GRU states and
    fields ``[K, M, 2H]`` -> queries ``[K, M, H]``), then the span head's last layer folded into each query
    (``SpanMarker.score``: ``q = A^T query``, ``[K, M, 4H]``, and ``query . b``, ``[K, M]``); int8 like the
    encoder."""
    states = torch.zeros(2, 3, projector[0].in_features)
    return _export(_SpanQueries(projector, last), (states,), ["states"], ["q", "bias"], path, precision, None)


def _export(
    module: nn.Module, args: tuple, inputs: list[str], outputs: list[str], path: str, precision: str, bert_config
) -> str:
    """Trace ``module`` (batch and length axes dynamic) to ``path``, fuse it when it is our BERT
    (``bert_config``), quantize it for int8."""
    import logging
    import warnings

    root = logging.getLogger()
    level = root.level
    # the tracer's and the quantizer's advice concern a graph exported once with dynamic axes: not the user's
    root.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(dir=os.path.dirname(path)) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fp32 = os.path.join(tmp, "fp32.onnx")
            with torch.no_grad():
                torch.onnx.export(
                    module.eval(),
                    args,
                    fp32,
                    input_names=inputs,
                    output_names=outputs,
                    opset_version=17,
                    dynamo=False,
                    dynamic_axes={name: {0: "batch", 1: "seq"} for name in inputs + outputs},
                )
            if bert_config is not None:
                _fuse(fp32, bert_config, approximate_gelu=precision == "int8")
            out = fp32
            if precision == "int8":
                import onnx
                from onnxruntime.quantization import QuantType, quantize_dynamic

                out = os.path.join(tmp, "int8.onnx")
                quantize_dynamic(
                    fp32,
                    out,
                    weight_type=QuantType.QInt8,
                    per_channel=True,  # fused ops: no types
                    extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
                )
            os.replace(out, path)
    finally:
        root.setLevel(level)
    return path


def _fuse(path: str, config, approximate_gelu: bool) -> None:
    """Rewrite the exported BERT graph in place with ONNX Runtime's transformer fusions: ``Attention`` (one
    operator per layer instead of the unfused products and softmax) and ``BiasGelu``. On 512-token windows
    the int8 encoder ran 18 % faster (fp32 10 %); on short texts about the same.

    ``approximate_gelu`` (the int8 graph) makes that ``FastGelu``, GELU's tanh approximation: the exact
    ``BiasGelu`` took 9 % of the int8 encoder's time, the approximation about half of that, and it moves an
    activation by at most 4.7e-4, far below int8's own rounding. The fp32 graph keeps the exact GELU.

    The residual ``Add`` and ``LayerNormalization`` stay two operators (here and, see
    ``lite.SESSION_DISABLED``, in the session): in the int8 graph ONNX Runtime 1.31's fused
    ``SkipLayerNormalization`` took a fifth of the encoder's time, and without it the int8 encoder ran
    18.1 -> 15.1 ms per short text on one thread.
    """
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    options.enable_bias_skip_layer_norm = False
    options.enable_gelu_approximation = approximate_gelu
    fused = optimize_model(
        path,
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        opt_level=0,
        optimization_options=options,
    )
    fused.save_model_to_file(path)


class _SpanWords(nn.Module):
    """``SpanMarker.project_words`` with out_project's first layer as two Linear layers (``precision``'s
    halves), so that int8 quantizes it like the encoder's layers."""

    def __init__(self, span):
        super().__init__()
        self.span = span
        self.halves = out_halves(span.out_project[0])

    def forward(self, words):
        start, end = torch.relu(self.span.project_start(words)), torch.relu(self.span.project_end(words))
        return self.halves.start(start), self.halves.end(end)


class _SpanQueries(nn.Module):
    """``CountEmbedding``'s projector and ``SpanMarker.score``'s folded last layer, as Linear layers (which
    int8 quantizes)."""

    def __init__(self, projector, last: nn.Linear):
        super().__init__()
        self.projector = projector
        self.fold = nn.Linear(last.out_features, last.in_features, bias=False)
        with torch.no_grad():
            self.fold.weight.copy_(last.weight.T)
        self.register_buffer("bias", last.bias.detach().clone())

    def forward(self, states):
        queries = self.projector(states)
        return self.fold(queries), (queries * self.bias).sum(-1)


class _LastHidden(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, attention_mask):
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
