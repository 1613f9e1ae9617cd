"""The torch runtime: a loaded ``GLiNER2Network`` in fp32, int8 or bf16.

``engine.GLiNER2`` runs a batch through ``forward`` inside ``context()``; ``lite.LiteRunner`` answers the
same calls without torch. Arrays go in and come out as numpy.
"""

from __future__ import annotations

import contextlib

import torch

from ..processor import Batch, Output
from .precision import autocast, runtime_network


def networks(network, precision: str, keep_fp32: bool):
    """``(the network inference runs, the fp32 network that saving and pickling write)``; the second is ``None``
    where int8 converted ``network`` itself (``keep_fp32=False``, see ``precision.runtime_network``)."""
    runtime = runtime_network(network.eval(), precision, keep_fp32)
    return runtime, None if runtime is network and precision == "int8" else network


class TorchRunner:
    backend = "torch"

    def __init__(self, network, precision: str = "fp32", keep_fp32: bool = True):
        self.runtime, self.network = networks(network, precision, keep_fp32)
        self.precision = precision
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


class BoundaryRunner:
    """A loaded ``model.boundary.BoundaryNetwork`` (GLiNER2.5) in fp32 or int8: one forward pass per batch, then per
    window the few encoder-free calls decoding needs (choice fields' one-word spans, relation pairs), all
    turned into ``boundary_decoding.WindowScores``."""

    backend = "torch"
    architecture = "boundary"
    max_width = None

    def __init__(self, network, precision: str = "fp32", keep_fp32: bool = True):
        from ..boundary_decoding import Policy

        self.runtime, self.network = networks(network, precision, keep_fp32)  # int8: the encoder
        self.precision = precision
        cfg = network.config
        self.policy = Policy(
            cfg.overlap_policy, cfg.enable_abstention, cfg.abstention_threshold, cfg.adaptive_threshold
        )
        encoder = network.encoder.config
        relative = getattr(encoder, "relative_attention", False) and not getattr(encoder, "position_biased_input", True)
        self.max_positions = None if relative else getattr(encoder, "max_position_embeddings", None)

    set_threads = TorchRunner.set_threads
    encode = TorchRunner.encode

    @contextlib.contextmanager
    def context(self):
        with torch.inference_mode():
            yield

    def forward(self, batch: Batch, choices, relations) -> list:
        """``choices``: ``(key, query, {choice: prefix word})`` per choice field; ``relations``: ``(name, head
        query, tail query)`` per relation. Returns one ``WindowScores`` per window of ``batch``."""
        from ..boundary_decoding import WindowScores

        net, cfg, tensor = self.runtime, self.runtime.config, torch.from_numpy
        query_pos, label_pos = tensor(batch.tasks.field_pos), tensor(batch.tasks.label_pos)
        query_mask = torch.ones(query_pos.shape, dtype=torch.bool)
        out = net(
            tensor(batch.input_ids),
            tensor(batch.attention_mask),
            tensor(batch.word_pos),
            tensor(batch.word_mask),
            query_pos,
            query_mask,
            label_pos,
        )
        probs = torch.where(out.valid, torch.sigmoid(out.pair_logits / cfg.pair_temperature), -1.0)
        nulls = torch.sigmoid(out.null_logits)
        counts = out.count_log_rates.exp().round().clamp(0, probs.shape[-1])
        results = []
        for i, n in enumerate(batch.n_words):
            words, mask = out.words[i : i + 1, :n], batch_word_mask(n)
            queries = out.queries[i : i + 1]
            scores = WindowScores(
                out.spans[i].numpy(),
                probs[i].numpy(),
                nulls[i].numpy(),
                counts[i].numpy(),
                {},
            )
            for key, q, where in choices:
                spans = torch.tensor([[w, w + 1] for w in where.values()], dtype=torch.long).view(-1, 2)
                logits = net.score_spans(words, mask, queries, query_mask[i : i + 1], q, spans)
                p = torch.sigmoid(logits / cfg.pair_temperature).tolist()
                scores.choice_probs[key] = dict(zip(where, p))
            sample = _sample(out, i)
            for name, h, t in relations:
                pairs, logits = net.relation_pairs(
                    words, sample, h, t, net.relation_state(queries[0, h], queries[0, t]), n
                )
                p_edge = torch.sigmoid(logits / cfg.relation_temperature).tolist()
                scores.edges[name] = [(*hs, *ts, ph, pt, pe) for (hs, ts, ph, pt), pe in zip(pairs, p_edge)]
            results.append(scores)
        return results, out.class_logits.numpy()


def batch_word_mask(n: int) -> torch.Tensor:
    return torch.ones((1, n), dtype=torch.bool)


def _sample(out, i: int):
    """``out`` (a dataclass of batched tensors) for sample ``i`` only, batch dimension kept."""
    import dataclasses

    return dataclasses.replace(
        out,
        **{
            f.name: getattr(out, f.name)[i : i + 1]
            for f in dataclasses.fields(out)
            if torch.is_tensor(getattr(out, f.name))
        },
    )
