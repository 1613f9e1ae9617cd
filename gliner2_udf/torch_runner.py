"""The torch runtime: a loaded ``GLiNER2Network`` in fp32, int8 or bf16.

``engine.GLiNER2`` drives a runner through five calls (``encode``, ``count_logits``, ``class_logits``,
``span_logits`` inside ``context()``); ``lite.LiteRunner`` answers the same calls without torch.
Tensors stay in torch between calls; what the engine reads comes back as numpy.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch

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

    def encode(self, batch) -> torch.Tensor:
        return self.runtime.encode(torch.from_numpy(batch.input_ids), torch.from_numpy(batch.attention_mask))

    def count_logits(self, states: torch.Tensor, positions: list[int]) -> np.ndarray:
        return self.runtime.count_pred(states[:, positions]).float().numpy()

    def class_logits(self, states: torch.Tensor, positions: list[int]) -> np.ndarray:
        return self.runtime.classifier(states[:, positions]).squeeze(-1).float().numpy()

    def span_logits(self, states: torch.Tensor, word_pos: np.ndarray, children: list[int], k_max: int) -> np.ndarray:
        """``[B, K, N, L, W]`` span logits of ``k_max`` instances of the fields at ``children``."""
        net = self.runtime
        fields = states[:, children]                                                    # [B, N, H]
        b, n, h = fields.shape
        queries = net.count_embed(fields.reshape(b * n, h), k_max)                      # [K, B*N, H]
        queries = queries.view(k_max, b, n, h).transpose(0, 1).reshape(b, k_max * n, h)
        words = net.gather_words(states, torch.from_numpy(word_pos))
        logits = net.span_rep.span_rep_layer.logits(words, queries)
        return logits.reshape(b, k_max, n, *logits.shape[-2:]).float().numpy()
