"""GLiNER2: load a checkpoint, compile schemas, and extract from batches of texts on the CPU.

Texts are split into words, windowed so that schema and text fit the encoder (long documents become
several overlapping windows in the same batch stream), sorted by length so batches carry little padding,
run through the network, decoded and merged back per text in the caller's order.

The network runs through a *runner*: ``torch_runner.TorchRunner`` (a loaded checkpoint in fp32, int8 or
bf16) or ``lite.LiteRunner`` (a lite folder: ONNX Runtime and numpy,
no torch in the process). This module imports neither torch nor transformers itself.

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

from . import decoding
from .runtime import lite
from .identity import checkpoint_sha256, default_model_version  # noqa: F401 (re-exported)
from .passes import merge_results, plan_passes
from .processor import Encoded, Processor, SchemaTokens
from .schema import CompiledSchema, Schema, compile_schema
from .text import is_blank, normalize, split_words, token_windows

DEFAULT_MAX_TOKENS = 512
# A batch holds at most this many attention cells (windows x tokens^2): 16 short texts of up to 181 tokens,
# but only 2 windows of 512. Long windows in big batches thrash the cache with their [B, heads, T, T]
# scores: on 4 long documents, 2 windows per batch instead of 16 ran 1.2x faster on int8/torch, and 1.8x
# on the lite int8 runtime when its ONNX attention was still unfused (measured before onnx_encoder._fuse).
MAX_ATTENTION_CELLS = 1 << 19


@dataclass
class _Window:
    text_index: int
    view: decoding.WindowView
    encoded: Encoded


class GLiNER2:
    """A GLiNER2 span model ready for inference."""

    def __init__(self, network, tokenizer, model_version: str | None = None, max_tokens: int | None = None,
                 precision: str = "fp32", backend: str = "torch"):
        from .runtime.precision import check

        check(precision, backend)
        model_version = model_version or "unversioned"
        if backend == "onnx":
            from .runtime.lite_export import cached_lite

            runner = lite.LiteRunner(cached_lite(network, tokenizer, precision, model_version,
                                                 getattr(self, "_storage_dtype", None)))
            runner.network = network.eval()  # kept for save_pretrained; inference never touches it
        else:
            from .runtime.torch_runner import TorchRunner

            runner = TorchRunner(network, precision)
        self._setup(runner, tokenizer, model_version, max_tokens)

    def _setup(self, runner, tokenizer, model_version: str, max_tokens: int | None) -> None:
        self._runner = runner
        self._workers = None
        self.precision, self.backend = runner.precision, runner.backend
        self.model_version = model_version
        self.tokenizer = tokenizer
        self.processor = Processor(tokenizer)
        limit = runner.max_positions or DEFAULT_MAX_TOKENS
        self.max_tokens = min(max_tokens or DEFAULT_MAX_TOKENS, limit)

    @property
    def network(self):
        """The fp32 torch network (what ``save_pretrained`` writes); ``None`` for a lite model."""
        return self._runner.network

    # -- files ------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str, allow_pickle: bool = False, model_version: str | None = None,
                        max_tokens: int | None = None, precision: str = "fp32",
                        backend: str = "torch") -> "GLiNER2":
        """Load an upstream-format checkpoint folder (strict; safetensors unless ``allow_pickle``), or a
        lite folder (``export_lite``; runs without torch, with the precision it was exported at).

        ``precision`` (fp32 | int8 | bf16) and ``backend`` (torch | onnx) choose how inference runs.
        """
        if lite.is_lite_folder(path):
            return cls.from_lite(path, model_version=model_version, max_tokens=max_tokens)
        from .checkpoint import load_checkpoint
        from .runtime.precision import check

        check(precision, backend)
        network, tokenizer = load_checkpoint(path, allow_pickle=allow_pickle)
        if model_version is None:
            model_version = default_model_version(path)
        model = cls.__new__(cls)
        model._storage_dtype = _stored_dtype(path)
        model.__init__(network, tokenizer, model_version, max_tokens, precision, backend)
        return model

    @classmethod
    def from_lite(cls, path: str, model_version: str | None = None, max_tokens: int | None = None) -> "GLiNER2":
        """Load a lite folder: ONNX Runtime and numpy only (torch is never imported)."""
        runner = lite.LiteRunner(path)
        model = cls.__new__(cls)
        model._setup(runner, lite.WordPieceTokenizer(os.path.join(path, "tokenizer.json")),
                     model_version or runner.meta["model_version"], max_tokens)
        return model

    def save_pretrained(self, path: str, dtype=None) -> None:
        """Write an upstream-format folder (the reference package loads it)."""
        from .checkpoint import save_checkpoint

        if self.network is None:
            raise ValueError("a lite model has no torch network to save; save the checkpoint it came from")
        save_checkpoint(self.network, self.tokenizer, path, **({"dtype": dtype} if dtype is not None else {}))

    def export_lite(self, folder: str) -> str:
        """Write the lite folder this model runs (``backend="onnx"``) to ``folder``; see ``lite``."""
        import shutil

        if self.backend != "onnx":
            raise ValueError("export_lite: load the model with backend='onnx' (precision fp32 or int8)")
        shutil.copytree(self._runner.path, folder, dirs_exist_ok=True)
        return folder

    def __reduce__(self):
        # Pickled as files, not objects: no pickled code objects. A model on the onnx backend travels as
        # its lite folder, so the Python workers that unpickle it never import torch.
        with tempfile.TemporaryDirectory() as tmp:
            folder = os.path.join(tmp, "ckpt")
            if self.backend == "onnx":
                self.export_lite(folder)
            else:
                self.save_pretrained(folder, dtype=getattr(self, "_storage_dtype", None))
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                tar.add(folder, arcname="ckpt")
        return (_from_bytes, (buf.getvalue(), self.model_version, self.max_tokens, self.precision, self.backend))

    def set_threads(self, n: int) -> None:
        self._runner.set_threads(max(1, int(n)))

    def set_workers(self, n: int) -> None:
        """Run ``batch_extract`` in ``n`` forked single-threaded processes (one per core; see ``workers``);
        ``1`` runs it in this process again. Not for Spark executors, which already run one per core."""
        if self._workers is not None:
            self._workers.close()
            self._workers = None
        if int(n) > 1:
            from .runtime.workers import Workers

            self._workers = Workers(self, int(n))

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
        if self._workers is not None:
            self.plan(compiled)  # an oversized schema fails here, not in a worker
            return self._workers.batch_extract(texts, compiled, batch_size, threshold, include_confidence,
                                               include_spans)
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
        for a, b in batch_bounds([len(windows[i].encoded.ids) for i in order], batch_size):
            chunk = [windows[i] for i in order[a:b]]
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
        overlap = 2 * self._runner.max_width
        spans = [(0, len(words))] if sum(counts) <= budget else token_windows(counts, budget, overlap)
        out = []
        for a, b in spans:
            view = decoding.WindowView(text, words.starts[a:b], words.ends[a:b], len(st.prefix_words),
                                       list(st.prefix_words))
            out.append(_Window(index, view, self.processor.encode(compiled, words.tokens[a:b], budget)))
        return out

    def forward_batch(self, items: list[Encoded], st: SchemaTokens):
        """Run the network on encoded windows (one forward pass, ``model.GLiNER2Network.forward``).

        Per item, as numpy: span logits per span task ``[instances, children, words, width]`` (spans past
        the last word are ``-inf``), the count head's prediction per span task, and label logits per
        classification task.
        """
        run = self._runner
        batch = self.processor.collate(items, st.tasks)
        with run.context():
            out = run.forward(batch)
        counts = out.count_logits.argmax(-1)
        results = []
        for i, n_words in enumerate(batch.n_words):
            spans, found, labels = {}, {}, {}
            start = 0
            for j, t in enumerate(t for t in st.tasks if t.kind != "classification"):
                end = start + len(t.child_pos)
                found[t.name] = int(counts[i, j])
                k = int(out.instances[i, j])
                if k > 0:
                    spans[t.name] = _mask_invalid(out.span_logits[i, :k, start:end], n_words)
                start = end
            start = 0
            for t in (t for t in st.tasks if t.kind == "classification"):
                end = start + len(t.child_pos)
                labels[t.name] = out.class_logits[i, start:end]
                start = end
            results.append((spans, found, labels))
        return results


def batch_bounds(lengths: list[int], batch_size: int, max_cells: int = MAX_ATTENTION_CELLS) -> list[tuple[int, int]]:
    """``[a, b)`` batches over windows sorted by ``lengths`` (ascending): at most ``batch_size`` windows,
    and at most ``max_cells`` attention cells (windows x longest^2), but always at least one window."""
    out, a = [], 0
    while a < len(lengths):
        b = a + 1
        while b < len(lengths) and b - a < batch_size and (b + 1 - a) * lengths[b] ** 2 <= max_cells:
            b += 1
        out.append((a, b))
        a = b
    return out


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


def _stored_dtype(path: str):
    import torch

    f = os.path.join(path, "model.safetensors")
    if not os.path.isfile(f):
        return torch.float32
    from safetensors import safe_open

    with safe_open(f, framework="pt") as fh:
        key = next(iter(fh.keys()), None)
        return fh.get_slice(key).get_dtype() == "F16" and torch.float16 or torch.float32


def _from_bytes(blob: bytes, model_version: str, max_tokens: int, precision: str = "fp32",
                backend: str = "torch") -> GLiNER2:
    import shutil

    tmp = tempfile.mkdtemp(prefix="gliner2_udf_")
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r") as tar:
        tar.extractall(tmp, filter="data")
    folder = os.path.join(tmp, "ckpt")
    if lite.is_lite_folder(folder):  # the runner re-reads encoder.onnx when threads change: kept until exit
        import atexit

        atexit.register(shutil.rmtree, tmp, True)
        return GLiNER2.from_lite(folder, model_version=model_version, max_tokens=max_tokens)
    try:
        return GLiNER2.from_pretrained(folder, model_version=model_version, max_tokens=max_tokens,
                                       precision=precision, backend=backend)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
