"""GLiNER2: load a checkpoint, compile schemas, and extract from batches of texts on the CPU.

Texts are split into words, windowed so that schema and text fit the encoder (long documents become
several overlapping windows in the same batch stream), sorted by length so batches carry little padding,
run through the network, decoded and merged back per text in the caller's order.

Example::

    model = GLiNER2.from_pretrained("models/gliner2-minilm-default")
    schema = Schema().entities(["person", "company"]).classification("sentiment", ["positive", "negative"])
    model.batch_extract(["Tim Cook runs Apple."], schema, include_spans=True)
"""
from __future__ import annotations

import io
import os
import tarfile
import tempfile
from dataclasses import dataclass

import numpy as np
import torch

from . import decoding
from .checkpoint import load_checkpoint, save_checkpoint
from .identity import checkpoint_sha256, default_model_version  # noqa: F401 (re-exported)
from .passes import merge_results, plan_passes
from .precision import autocast, check, runtime_network
from .processor import Encoded, Processor, SchemaTokens
from .schema import CompiledSchema, Schema, compile_schema
from .text import is_blank, normalize, split_words, token_windows

DEFAULT_MAX_TOKENS = 512


@dataclass
class _Window:
    text_index: int
    view: decoding.WindowView
    encoded: Encoded


class GLiNER2:
    """A GLiNER2 span model ready for inference."""

    def __init__(self, network, tokenizer, model_version: str | None = None, max_tokens: int | None = None,
                 precision: str = "fp32", backend: str = "torch"):
        self.network = network.eval()  # fp32: what save_pretrained and pickling write
        self.precision, self.backend = precision, backend
        self.model_version = model_version or "unversioned"
        self._runtime = runtime_network(network, precision, backend, key=self.model_version)
        self.tokenizer = tokenizer
        self.processor = Processor(tokenizer)
        limit = getattr(network.encoder.config, "max_position_embeddings", DEFAULT_MAX_TOKENS) or DEFAULT_MAX_TOKENS
        self.max_tokens = min(max_tokens or DEFAULT_MAX_TOKENS, limit)

    # -- files ------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str, allow_pickle: bool = False, model_version: str | None = None,
                        max_tokens: int | None = None, precision: str = "fp32",
                        backend: str = "torch") -> "GLiNER2":
        """Load an upstream-format checkpoint folder (strict; safetensors unless ``allow_pickle``).

        ``precision`` (fp32 | int8 | bf16) and ``backend`` (torch | onnx) choose how inference runs.
        """
        check(precision, backend)
        network, tokenizer = load_checkpoint(path, allow_pickle=allow_pickle)
        if model_version is None:
            model_version = default_model_version(path)
        model = cls(network, tokenizer, model_version, max_tokens, precision, backend)
        model._storage_dtype = _stored_dtype(path)
        return model

    def save_pretrained(self, path: str, dtype: torch.dtype = torch.float32) -> None:
        """Write an upstream-format folder (the reference package loads it)."""
        save_checkpoint(self.network, self.tokenizer, path, dtype=dtype)

    def __reduce__(self):
        # Pickled as the checkpoint folder's bytes: compact for broadcasts, no pickled code objects.
        with tempfile.TemporaryDirectory() as tmp:
            self.save_pretrained(tmp, dtype=getattr(self, "_storage_dtype", torch.float32))
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                tar.add(tmp, arcname="ckpt")
        return (_from_bytes, (buf.getvalue(), self.model_version, self.max_tokens, self.precision, self.backend))

    def set_threads(self, n: int) -> None:
        torch.set_num_threads(max(1, int(n)))

    # -- inference --------------------------------------------------------------------------
    @staticmethod
    def compile(schema) -> CompiledSchema:
        return compile_schema(schema)

    def extract(self, text: str | None, schema, threshold: float = 0.5, include_confidence: bool = False,
                include_spans: bool = False) -> dict:
        """Extract from one text; same as ``batch_extract([text], ...)[0]``."""
        return self.batch_extract([text], schema, 1, threshold, include_confidence, include_spans)[0]

    def batch_extract(self, texts: list, schema: Schema | CompiledSchema | dict, batch_size: int = 8,
                      threshold: float = 0.5, include_confidence: bool = False,
                      include_spans: bool = False) -> list[dict]:
        """Extract from many texts with one schema; results in input order, upstream format.

        A schema too large for the encoder window runs as several passes (see ``passes``).
        """
        compiled = compile_schema(schema)
        passes = self.plan(compiled)
        per_pass = []
        for part in passes:
            raws = self.raw_extract(texts, part, batch_size, threshold)
            per_pass.append([decoding.format_result(part, r, include_confidence, include_spans) if r is not None
                             else empty_result(part) for r in raws])
        if len(passes) == 1:
            return per_pass[0]
        return [merge_results(compiled, list(parts)) for parts in zip(*per_pass)]

    def plan(self, schema) -> list[CompiledSchema]:
        """The passes a schema needs in this model's window; raises SchemaError if a part never fits.

        Call it on the driver to reject an oversized schema before any distributed work.
        """
        return plan_passes(compile_schema(schema), lambda c: self.processor.schema_length(c, cached=False),
                           self.max_tokens)

    def raw_extract(self, texts: list, compiled: CompiledSchema, batch_size: int = 8,
                    threshold: float = 0.5) -> list[decoding.RawResult | None]:
        st = self.processor.schema_tokens(compiled)
        windows = [w for i, t in enumerate(texts) for w in self._windows(i, t, compiled)]
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].encoded.ids))
        per_text: list[list[decoding.RawResult]] = [[] for _ in texts]
        for b in range(0, len(order), batch_size):
            chunk = [windows[i] for i in order[b: b + batch_size]]
            for w, out in zip(chunk, self.forward_batch([w.encoded for w in chunk], st)):
                per_text[w.text_index].append((w.view.starts[0] if w.view.starts else 0,
                                               decoding.decode_window(compiled, w.view, *out, threshold)))
        return [decoding.merge([r for _, r in sorted(rs, key=lambda x: x[0])]) if rs else None for rs in per_text]

    def _windows(self, index: int, text, compiled: CompiledSchema) -> list[_Window]:
        if is_blank(text):
            return []
        words = split_words(normalize(text))
        st = self.processor.schema_tokens(compiled)
        budget = self.max_tokens - self.processor.schema_length(compiled)  # >= MIN_TEXT_TOKENS by plan()
        counts = [min(len(x), budget) for x in self.processor.word_ids(words.tokens)]
        spans = [(0, len(words))] if sum(counts) <= budget else token_windows(counts, budget, 2 * self.network.max_width)
        out = []
        for a, b in spans:
            view = decoding.WindowView(text, words.starts[a:b], words.ends[a:b], len(st.prefix_words),
                                       list(st.prefix_words))
            out.append(_Window(index, view, self.processor.encode(compiled, words.tokens[a:b], budget)))
        return out

    @torch.inference_mode()
    def forward_batch(self, items: list[Encoded], st: SchemaTokens):
        """Run the network on encoded windows.

        Per item, as numpy: span logits per span task ``[instances, children, words, width]`` (spans past
        the last word are ``-inf``), the count head's prediction per span task, and label logits per
        classification task.
        """
        with autocast(self.precision):
            return self._forward_batch(items, st)

    def _forward_batch(self, items: list[Encoded], st: SchemaTokens):
        net = self._runtime
        batch = self.processor.collate(items, st.tasks)
        states = net.encode(batch.input_ids, batch.attention_mask)
        b = len(items)
        results = [({}, {}, {}) for _ in range(b)]
        span_tasks = [t for t in st.tasks if t.kind != "classification"]
        if span_tasks:
            counts = net.count_pred(states[:, [t.prompt_pos for t in span_tasks]]).argmax(-1).tolist()
            needed = [[(min(c, 1) if t.kind == "entities" else c) for t, c in zip(span_tasks, row)] for row in counts]
            k_max = max(max(row) for row in needed)
            if k_max > 0:
                children = [p for t in span_tasks for p in t.child_pos]
                fields = states[:, children]                                            # [B, N, H]
                n, h = fields.shape[1], fields.shape[2]
                queries = net.count_embed(fields.reshape(b * n, h), k_max)             # [K, B*N, H]
                queries = queries.view(k_max, b, n, h).transpose(0, 1).reshape(b, k_max * n, h)
                logits = net.span_rep.span_rep_layer.logits(net.gather_words(states, batch.word_pos), queries)
                logits = logits.reshape(b, k_max, n, *logits.shape[-2:]).float().numpy()
            for i in range(b):
                start = 0
                for t, c, k in zip(span_tasks, counts[i], needed[i]):
                    end = start + len(t.child_pos)
                    results[i][1][t.name] = c
                    if k > 0:
                        results[i][0][t.name] = _mask_invalid(logits[i, :k, start:end], batch.n_words[i])
                    start = end
        cls_tasks = [t for t in st.tasks if t.kind == "classification"]
        if cls_tasks:
            logits = net.classifier(states[:, [p for t in cls_tasks for p in t.child_pos]]).squeeze(-1).float().numpy()
            for i in range(b):
                start = 0
                for t in cls_tasks:
                    end = start + len(t.child_pos)
                    results[i][2][t.name] = logits[i, start:end]
                    start = end
        return results


def _mask_invalid(logits: np.ndarray, n_words: int) -> np.ndarray:
    """``[K, M, L, W]`` -> ``[K, M, n_words, W]`` with spans past the last word set to ``-inf``."""
    logits = logits[:, :, :n_words].copy()
    for w in range(1, logits.shape[-1]):
        logits[:, :, max(n_words - w, 0):, w] = -np.inf
    return logits


def empty_result(compiled: CompiledSchema) -> dict:
    """What a blank text gives: every requested key, nothing found."""
    out: dict = {s.name: [] for s in compiled.structures}
    if compiled.entities:
        out["entities"] = {e.name: ([] if e.dtype == "list" else None) for e in compiled.entities}
    for c in compiled.classifications:
        out[c.name] = [] if c.multi_label else None
    if compiled.relations:
        out["relation_extraction"] = {r.name: [] for r in compiled.relations}
    return out


def _stored_dtype(path: str) -> torch.dtype:
    f = os.path.join(path, "model.safetensors")
    if not os.path.isfile(f):
        return torch.float32
    from safetensors import safe_open

    with safe_open(f, framework="pt") as fh:
        key = next(iter(fh.keys()), None)
        return fh.get_slice(key).get_dtype() == "F16" and torch.float16 or torch.float32


def _from_bytes(blob: bytes, model_version: str, max_tokens: int, precision: str = "fp32",
                backend: str = "torch") -> GLiNER2:
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r") as tar:
            tar.extractall(tmp, filter="data")
        return GLiNER2.from_pretrained(os.path.join(tmp, "ckpt"), model_version=model_version, max_tokens=max_tokens,
                                       precision=precision, backend=backend)
