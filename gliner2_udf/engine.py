"""GLiNER2: load a checkpoint, compile schemas, and extract from batches of texts on the CPU.

Texts are split into words, windowed so that schema and text fit the encoder (long documents become
several overlapping windows in the same batch stream), sorted by length so batches carry little padding,
run through the network, decoded and merged back per text in the caller's order.

The network runs through a *runner* (``runtime``): ``runtime.torch_runner.TorchRunner`` (a loaded checkpoint in
fp32, int8 or bf16) or ``runtime.lite.LiteRunner`` (a lite folder: ONNX Runtime and numpy, no torch in the
process). This module imports neither torch nor transformers itself.

Example::

    model = GLiNER2.from_pretrained("models/gliner2-minilm-default")
    schema = Schema().entities(["person", "company"]).classification("sentiment", ["positive", "negative"])
    model.batch_extract(["Tim Cook runs Apple."], schema, include_spans=True)
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from . import boundary_decoding, decoding, labels
from .errors import SchemaError
from .identity import checkpoint_sha256, default_model_version  # noqa: F401 (re-exported)
from .options import DEFAULTS, ExtractOptions
from .passes import plan_passes
from .processor import Encoded, Processor, SchemaTokens
from .runtime import lite
from .schema import CompiledSchema, Schema, compile_schema
from .upstream import UpstreamAPI
from .windows import Window, batch_bounds, text_windows

DEFAULT_MAX_TOKENS = 512  # span checkpoints (the reference's window)
BOUNDARY_MAX_TOKENS = 4096  # boundary checkpoints on an encoder without a position limit (DeBERTa-v2/v3)
BOUNDARY_OVERLAP = 64  # words shared by consecutive windows of a long text (the reference's chunk overlap)


class GLiNER2(UpstreamAPI):
    """A GLiNER2 model (span or GLiNER2.5 boundary architecture) ready for inference."""

    def __init__(
        self,
        network,
        tokenizer,
        model_version: str | None = None,
        max_tokens: int | None = None,
        precision: str = "fp32",
        backend: str = "torch",
        inference_only: bool = False,
    ):
        from .runtime import load_runner

        model_version = model_version or "unversioned"
        runner = load_runner(
            network, tokenizer, precision, backend, model_version, getattr(self, "_storage_dtype", None), inference_only
        )
        self._setup(runner, tokenizer, model_version, max_tokens)

    def _setup(self, runner, tokenizer, model_version: str, max_tokens: int | None) -> None:
        self.label_limits = labels.NO_LIMITS  # from_pretrained reads a checkpoint's (labels.read_limits)
        self._limits: dict[tuple, labels.LabelLimits] = {}  # limits_for, per schema
        self._runner = runner
        self._workers = None
        self.precision, self.backend = runner.precision, runner.backend
        self.architecture = getattr(runner, "architecture", "span")
        self.model_version = model_version
        self.tokenizer = tokenizer
        self.processor = Processor(tokenizer)
        default = DEFAULT_MAX_TOKENS if self.architecture == "span" else BOUNDARY_MAX_TOKENS
        self.max_tokens = min(max_tokens or default, runner.max_positions or default)

    @property
    def network(self):
        """The fp32 torch network (what ``save_pretrained`` writes); ``None`` for a lite model."""
        return self._runner.network

    # -- files ------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        path: str,
        revision: str | None = None,
        allow_pickle: bool = False,
        model_version: str | None = None,
        max_tokens: int | None = None,
        precision: str = "fp32",
        backend: str = "torch",
        inference_only: bool = False,
    ) -> GLiNER2:
        """Load an upstream-format checkpoint folder (strict; safetensors unless ``allow_pickle``), or a
        lite folder (``export_lite``; runs without torch, with the precision it was exported at).

        ``path`` may be a Hugging Face hub id (``fastino/gliner2-base-v1``), at ``revision`` (a branch, tag
        or commit; default ``main``): it is downloaded once into the hub cache (found there when
        ``HF_HUB_OFFLINE`` is set, see ``hub``), and ``model_version`` defaults to ``owner/name@<commit>``.
        ``precision`` (fp32 | int8 | bf16) and ``backend`` (torch | onnx | auto) choose how inference runs.
        ``inference_only`` keeps only what inference runs (int8 on torch: the fp32 weights are released as
        their int8 replacements appear, so the process never holds both); such a model cannot be saved or
        pickled. Spark workers load this way.
        """
        from . import hub

        path, ref = hub.resolve(path, revision)
        if model_version is None and ref is not None:
            model_version = ref.model_version
        if lite.is_lite_folder(path):
            return cls.from_lite(path, model_version=model_version, max_tokens=max_tokens)
        from .checkpoint import load_checkpoint, stored_dtype
        from .runtime import check_setting

        check_setting(precision, backend)  # before the weights load
        network, tokenizer = load_checkpoint(path, allow_pickle=allow_pickle)
        if model_version is None:
            model_version = default_model_version(path)
        model = cls.__new__(cls)
        model._storage_dtype = stored_dtype(path)
        model.__init__(network, tokenizer, model_version, max_tokens, precision, backend, inference_only)
        model.label_limits = labels.read_limits(path)
        return model

    @classmethod
    def from_lite(cls, path: str, model_version: str | None = None, max_tokens: int | None = None) -> GLiNER2:
        """Load a lite folder: ONNX Runtime and numpy only (torch is never imported)."""
        runner = lite.LiteRunner(path)
        model = cls.__new__(cls)
        model._setup(
            runner,
            lite.WordPieceTokenizer(os.path.join(path, "tokenizer.json")),
            model_version or runner.meta["model_version"],
            max_tokens,
        )
        return model

    def save_pretrained(self, path: str, dtype=None) -> None:
        """Write an upstream-format folder (the reference package loads it)."""
        from .checkpoint import save_checkpoint

        if self.network is None:
            kind = "a lite model" if self.backend == "onnx" else "a model loaded with inference_only=True"
            raise ValueError(f"{kind} has no fp32 network to save; save the checkpoint it came from")
        save_checkpoint(self.network, self.tokenizer, path, **({"dtype": dtype} if dtype is not None else {}))

    def export_lite(self, folder: str) -> str:
        """Write the lite folder this model runs (``backend="onnx"``) to ``folder``; see ``lite``."""
        import shutil

        if self.backend != "onnx":
            raise ValueError("export_lite: load the model with backend='onnx' (precision fp32 or int8)")
        shutil.copytree(self._runner.path, folder, dirs_exist_ok=True)
        return folder

    def __reduce__(self):
        # pickled as the folder it runs from (see ``transport``), not as objects
        from .transport import from_bytes, to_bytes

        args = (to_bytes(self), self.model_version, self.max_tokens, self.precision, self.backend, self.label_limits)
        return from_bytes, args

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

    def extract(
        self,
        text: str | None,
        schema,
        threshold: float = DEFAULTS.threshold,
        include_confidence: bool = False,
        include_spans: bool = False,
    ) -> dict:
        """Extract from one text; same as ``batch_extract([text], ...)[0]``."""
        return self.batch_extract([text], schema, 1, threshold, include_confidence, include_spans)[0]

    def batch_extract(
        self,
        texts: list,
        schema: Schema | CompiledSchema | dict,
        batch_size: int = DEFAULTS.batch_size,
        threshold: float = DEFAULTS.threshold,
        include_confidence: bool = False,
        include_spans: bool = False,
    ) -> list[dict]:
        """Extract from many texts with one schema; results in input order, upstream format.

        A schema too large for the encoder window runs as several passes (see ``passes``).
        """
        options = ExtractOptions(batch_size=batch_size, threshold=threshold)
        return self.extract_with(texts, schema, options, include_confidence, include_spans)

    def extract_with(
        self,
        texts: list,
        schema: Schema | CompiledSchema | dict,
        options: ExtractOptions,
        include_confidence: bool = False,
        include_spans: bool = False,
    ) -> list[dict]:
        """``batch_extract`` with its settings as one ``ExtractOptions`` (what the Spark UDF passes)."""
        compiled = compile_schema(schema)
        if self._workers is not None:
            self.plan(compiled)  # an oversized schema fails here, not in a worker
            return self._workers.extract_with(texts, compiled, options, include_confidence, include_spans)
        boundary = self.architecture == "boundary"
        return [
            decoding.format_result(compiled, r, include_confidence, include_spans, boundary)
            if r is not None
            else decoding.empty_result(compiled)
            for r in self.raw_schema(texts, compiled, options)
        ]

    def plan(self, schema) -> list[CompiledSchema]:
        """The passes a schema needs: its label groups (``labels.first_round``, within ``label_limits``), each in as
        many passes as this model's window needs; raises SchemaError if a part never fits.

        Call it on the driver to reject an oversized schema before any distributed work.
        """
        compiled = compile_schema(schema)
        return self._plan(compiled, self.limits_for(compiled))

    def _plan(self, compiled: CompiledSchema, limits: labels.LabelLimits) -> list[CompiledSchema]:
        passes = [p for group in labels.first_round(compiled, limits) for p in self._window(group)]
        for task in labels.tournaments(compiled, limits):  # a later round may bring the longest labels together
            size = {
                x: self.processor.schema_length(labels.round_schema(compiled, task, (x,)), cached=False)
                for x in task.labels
            }
            longest = sorted(task.labels, key=size.get, reverse=True)[: limits.classification]
            self._window(labels.round_schema(compiled, task, tuple(longest)))
        return passes

    def limits_for(self, compiled: CompiledSchema) -> labels.LabelLimits:
        """``label_limits``, with a smaller classification cap when a task's labels do not fit the window in one
        pass: a checkpoint without limits (upstream) then plays the tournament rather than refusing the schema."""
        key = (compiled.schema_hash, self.label_limits)
        if key in self._limits:
            return self._limits[key]
        limits = self.label_limits
        while True:
            try:
                self._plan(compiled, limits)
                break
            except SchemaError as err:
                longest = max((len(c.labels) for c in compiled.classifications), default=0)
                cap = (limits.classification or longest) // 2
                if not err.path.startswith("classifications") or cap < 2:
                    raise
                limits = replace(limits, classification=cap)
        self._limits[key] = limits
        return limits

    def _window(self, compiled: CompiledSchema) -> list[CompiledSchema]:
        return plan_passes(compiled, lambda c: self.processor.schema_length(c, cached=False), self.max_tokens)

    def raw_schema(
        self, texts: list, compiled: CompiledSchema, options: ExtractOptions = DEFAULTS
    ) -> list[decoding.RawResult | None]:
        """Per text, the raw result of the whole schema: its label groups and window passes united, and the
        tournaments of single-label tasks longer than ``label_limits`` allow played out (see ``labels``)."""
        limits = self.limits_for(compiled)
        groups = labels.first_round(compiled, limits)
        raws = [decoding.union(rs) for rs in zip(*(self._raw_passes(texts, g, options) for g in groups))]
        for task in labels.tournaments(compiled, limits):
            self._tournament(texts, compiled, task, raws, options, limits.classification)
        return raws

    def _raw_passes(self, texts: list, compiled: CompiledSchema, options: ExtractOptions):
        return [
            decoding.union(rs) for rs in zip(*(self.raw_extract(texts, p, options) for p in self._window(compiled)))
        ]

    def _tournament(
        self, texts: list, compiled: CompiledSchema, task, raws: list, options: ExtractOptions, cap: int
    ) -> None:
        """Play ``task``'s later rounds for every text and leave, in its raw result, the final round's softmax over
        the finalists (zero for the labels knocked out); at most ``cap`` labels a pass."""
        sizes = [len(g) for g in labels.groups(task.labels, cap)]
        pending = {i: labels.advancing(r.class_probs[task.name], sizes, cap) for i, r in enumerate(raws) if r}
        while pending:
            by_candidates: dict[tuple, list[int]] = {}
            for i, cands in pending.items():
                by_candidates.setdefault(tuple(cands), []).append(i)
            pending = {}
            for cands, idx in by_candidates.items():
                names = tuple(task.labels[j] for j in cands)
                parts = labels.groups(names, cap)
                probs = [
                    self._raw_passes([texts[i] for i in idx], labels.round_schema(compiled, task, part), options)
                    for part in parts
                ]
                for n, i in enumerate(idx):
                    scores = np.concatenate([p[n].class_probs[task.name] for p in probs])
                    if len(parts) == 1:  # the final: one softmax over the finalists
                        full = np.zeros(len(task.labels))
                        full[list(cands)] = scores
                        raws[i].class_probs[task.name] = full
                    else:
                        pending[i] = [cands[j] for j in labels.advancing(scores, [len(p) for p in parts], cap)]

    def raw_extract(
        self, texts: list, compiled: CompiledSchema, options: ExtractOptions = DEFAULTS
    ) -> list[decoding.RawResult | None]:
        """Per text, its windows' decoded candidates merged (``None`` for a blank text), one schema pass."""
        st = self.processor.schema_tokens(compiled)
        windows = [w for i, t in enumerate(texts) for w in self.windows(i, t, compiled)]
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].encoded.ids))
        per_text: list[list[decoding.RawResult]] = [[] for _ in texts]
        boundary = self.architecture == "boundary"
        for a, b in batch_bounds([len(windows[i].encoded.ids) for i in order], options.batch_size):
            chunk = [windows[i] for i in order[a:b]]
            if boundary:
                outs = self.boundary_batch([w.encoded for w in chunk], st, compiled)
            else:
                outs = self.forward_batch([w.encoded for w in chunk], st)
            for w, out in zip(chunk, outs):
                if boundary:
                    raw = boundary_decoding.decode_window(compiled, w.view, out, options.threshold, self._runner.policy)
                else:
                    raw = decoding.decode_window(compiled, w.view, *out, options.threshold)
                per_text[w.text_index].append((w.view.starts[0] if w.view.starts else 0, raw))
        merged = [decoding.merge([r for _, r in sorted(rs, key=lambda x: x[0])]) if rs else None for rs in per_text]
        if boundary:
            merged = [r and boundary_decoding.finalize(compiled, r, self._runner.policy) for r in merged]
        return merged

    def windows(self, index: int, text, compiled: CompiledSchema) -> list[Window]:
        """Text number ``index`` as the windows this model reads (``windows.text_windows``)."""
        overlap = BOUNDARY_OVERLAP if self.architecture == "boundary" else 2 * self._runner.max_width
        return text_windows(self.processor, compiled, index, text, self.max_tokens, overlap)

    def boundary_batch(self, items: list[Encoded], st: SchemaTokens, compiled: CompiledSchema):
        """Run a boundary network on encoded windows: one ``boundary_decoding.WindowScores`` per item."""
        index = boundary_decoding.queries(compiled)
        choices = [
            ((s.name, f.name), index[(s.name, f.name)], decoding.choice_positions(compiled, s.name, f.name))
            for s in compiled.structures
            for f in s.fields
            if f.choices
        ]
        relations = [(r.name, index[(r.name, "head")], index[(r.name, "tail")]) for r in compiled.relations]
        batch = self.processor.collate(items, st.tasks)
        with self._runner.context():
            scores, class_logits = self._runner.forward(batch, choices, relations)
        cls_tasks = [t for t in st.tasks if t.kind == "classification"]
        for i, s in enumerate(scores):
            start = 0
            for t in cls_tasks:
                s.class_logits[t.name] = class_logits[i, start : start + len(t.child_pos)]
                start += len(t.child_pos)
        return scores

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
        span_tasks = [t for t in st.tasks if t.kind != "classification"]
        cls_tasks = [t for t in st.tasks if t.kind == "classification"]
        results = []
        for i, n_words in enumerate(batch.n_words):
            spans, found, labels = {}, {}, {}
            start = 0
            for j, t in enumerate(span_tasks):
                end = start + len(t.child_pos)
                found[t.name] = int(counts[i, j])
                k = int(out.instances[i, j])
                if k > 0:
                    spans[t.name] = _mask_invalid(out.span_logits[i, :k, start:end], n_words)
                start = end
            start = 0
            for t in cls_tasks:
                end = start + len(t.child_pos)
                labels[t.name] = out.class_logits[i, start:end]
                start = end
            results.append((spans, found, labels))
        return results


def _mask_invalid(logits: np.ndarray, n_words: int) -> np.ndarray:
    """``[K, M, L, W]`` -> ``[K, M, n_words, W]`` with spans past the last word set to ``-inf``."""
    logits = logits[:, :, :n_words].copy()
    for w in range(1, logits.shape[-1]):
        logits[:, :, max(n_words - w, 0) :, w] = -np.inf
    return logits
