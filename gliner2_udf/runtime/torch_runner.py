"""The torch runtime: a loaded ``GLiNER2Network`` in fp32, int8 or bf16.

``engine.GLiNER2`` runs a batch through ``forward`` inside ``context()``; ``lite.LiteRunner`` answers the
same calls without torch. Arrays go in and come out as numpy.
"""

from __future__ import annotations

import contextlib

import torch

from ..processor import Batch, Output
from .precision import autocast, runtime_network


class TorchRunner:
    backend = "torch"

    def __init__(self, network, precision: str = "fp32"):
        self.network = network.eval()  # fp32: what save_pretrained and pickling write
        self.precision = precision
        self.runtime = runtime_network(network, precision)
        self.max_width = network.max_width
        self.max_positions = getattr(network.encoder.config, "max_position_embeddings", None)

    def set_threads(self, n: int) -> None:
        torch.set_num_threads(max(1, int(n)))

    @contextlib.contextmanager
    def context(self):
        with torch.inference_mode(), autocast(self.precision):
            yield

    def encode(self, batch: Batch) -> torch.Tensor:
        """The encoder's last hidden states ``[B, S, H]`` (benchmarks time it alone)."""
        return self.runtime.encode(torch.from_numpy(batch.input_ids), torch.from_numpy(batch.attention_mask))

    def forward(self, batch: Batch) -> Output:
        """``GLiNER2Network.forward`` on ``batch``, the count head choosing the instances."""
        tensor = torch.from_numpy
        out = self.runtime(
            tensor(batch.input_ids), tensor(batch.attention_mask), tensor(batch.word_pos), batch.tasks.map(tensor)
        )
        spans = None if out.span_logits is None else out.span_logits.float().numpy()
        return Output(out.count_logits.float().numpy(), out.instances.numpy(), spans, out.class_logits.float().numpy())
