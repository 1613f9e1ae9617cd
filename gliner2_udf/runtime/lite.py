"""The torch-free runtime: the encoder, the span head's word projections and the span queries on ONNX
Runtime, the rest of the GLiNER2 heads in numpy.

A *lite folder* (written by ``lite_export.export_lite`` from a loaded model) holds ``encoder.onnx``,
``span_words.onnx`` (the span head's per-word projections) and ``span_queries.onnx`` (the count embedding's
projector and the span head's last layer; all three fp32 or all three int8), ``heads.npz`` (the other head
tensors under their upstream state-dict names), ``tokenizer.json`` and ``lite.json``. Loading one imports
numpy, onnxruntime and tokenizers only: a Spark Python worker that runs the fast path never imports torch or
transformers (about 600 MiB less resident memory than a torch worker). ``LiteRunner.forward`` mirrors
``model.GLiNER2Network.forward`` step by step, so fp32 results equal the torch runtime's to float rounding
(``tests/test_lite.py`` pins the two together).
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..processor import Output

LITE_FILE = "lite.json"
FORMAT = 7  # 2: per-channel int8 encoder; 3: fused attention; 4: span_words.onnx, no SkipLayerNormalization;
#            5: FastGelu in the int8 encoder; 6: span_queries.onnx; 7: lite.json records every file's sha256
LITE_FILES = ("encoder.onnx", "span_words.onnx", "span_queries.onnx", "heads.npz", "tokenizer.json")
# tensors in span_words.onnx (project_start, project_end, out_project's first layer) and span_queries.onnx
# (out_project's last layer, the count embedding's projector), not in heads.npz
IN_GRAPHS = "span_rep.span_rep_layer.project_", "span_rep.span_rep_layer.out_project.", "count_embed.projector."
# ONNX Runtime 1.31's fused Add + LayerNormalization was slow in our int8 encoder (see onnx_export._fuse)
SESSION_DISABLED = ["SkipLayerNormFusion"]
SPAN_ROWS = 64  # span starts scored per block: 64 x 4H floats fit a core's L2 (1.8 -> 1.0 ms per short text)
# Sessions a forked process inherited and replaced. They are never destroyed: their thread pools' threads
# did not survive the fork, and a session's destructor waits for them forever.
_INHERITED: list = []


def is_lite_folder(path: str) -> bool:
    return os.path.isfile(os.path.join(path, LITE_FILE))


def check_lite_folder(path: str) -> dict:
    """``lite.json`` of ``path`` once the folder passed the checks a checkpoint gets, and more: no remote code,
    the span architecture (the only one the lite runtime runs), this runtime's format, and every file exactly
    as exported (the sha256 ``lite.json`` records; a file it does not record is refused too). Raises
    :class:`CheckpointError` naming what is wrong."""
    from ..errors import CheckpointError
    from ..identity import manifest_problems

    where = os.path.join(path, LITE_FILE)
    with open(where, encoding="utf-8") as f:
        meta = json.load(f)
    if not isinstance(meta, dict):
        raise CheckpointError(f"{where}: expected a JSON object")
    if meta.get("auto_map") or meta.get("trust_remote_code"):
        raise CheckpointError(f"{where}: asks for remote code (auto_map/trust_remote_code); refused")
    if meta.get("architecture", "span") != "span":
        raise CheckpointError(f"{where}: architecture {meta.get('architecture')!r}; the lite runtime runs 'span'")
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{where}: format {meta.get('format')!r}, expected {FORMAT}; export it again (GLiNER2.export_lite)"
        )
    recorded = meta.get("files")
    if not isinstance(recorded, dict) or set(recorded) != set(LITE_FILES):
        raise CheckpointError(f"{where}: expected the sha256 of {', '.join(LITE_FILES)} under 'files'")
    problems = [p for p in manifest_problems(path, recorded) if p != f"{LITE_FILE!r} not recorded"]
    if problems:
        raise CheckpointError(f"{path}: files differ from what was exported: {'; '.join(problems)}; refused")
    return meta


class WordPieceTokenizer:
    """The two calls ``Processor`` makes, on the ``tokenizers`` library alone (no transformers)."""

    def __init__(self, path: str):
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(path)
        self._tok.no_padding()  # each element is tokenized alone, as it is
        self._tok.no_truncation()

    def tokenize(self, text: str) -> list[str]:
        return self._tok.encode(text, add_special_tokens=False).tokens

    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]:
        return [self._tok.token_to_id(t) for t in tokens]


def _relu(x: np.ndarray) -> np.ndarray:
    # against a row of zeros, not the scalar 0: numpy 2.4 runs that 2.5x faster (64 x 1536: 14 vs 37 us)
    return np.maximum(x, np.zeros(x.shape[-1], x.dtype), out=x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _mm(x: np.ndarray, w_t: np.ndarray) -> np.ndarray:
    """``x [..., d] @ w_t [d, k]`` as one 2-D BLAS call (numpy's stacked matmul is far slower)."""
    return (x.reshape(-1, x.shape[-1]) @ w_t).reshape(*x.shape[:-1], w_t.shape[1])


class Heads:
    """GLiNER2's heads (``model.heads``) over numpy arrays named as in the upstream state dict."""

    def __init__(self, tensors: dict[str, np.ndarray], max_width: int):
        self.t = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
        # Linear weights transposed once, so every product is a plain (non-transposed) GEMM
        self.wt = {
            k.rsplit(".weight", 1)[0] + k.rsplit(".weight", 1)[1]: np.ascontiguousarray(v.T)
            for k, v in self.t.items()
            if ".weight" in k and v.ndim == 2 and "embedding" not in k
        }
        self.max_width = max_width

    def linear(self, prefix: str, x: np.ndarray) -> np.ndarray:
        y = _mm(x, self.wt[prefix])
        y += self.t[prefix + ".bias"]
        return y

    def mlp(self, prefix: str, x: np.ndarray) -> np.ndarray:
        """Linear -> ReLU -> Linear; the second Linear is index 2, or 3 when a dropout sits between."""
        second = f"{prefix}.3" if f"{prefix}.3.weight" in self.t else f"{prefix}.2"
        return self.linear(second, _relu(self.linear(f"{prefix}.0", x)))

    def count_logits(self, x: np.ndarray) -> np.ndarray:
        return self.mlp("count_pred", x)

    def class_logits(self, x: np.ndarray) -> np.ndarray:
        return self.mlp("classifier", x)[..., 0]

    def count_states(self, fields: np.ndarray, count: int) -> np.ndarray:
        """``CountEmbedding`` up to its projector (``span_queries.onnx``): ``[count, M, 2H]``, each instance's
        GRU state beside its field, for field embeddings ``[M, H]`` (gate order r, z, n)."""
        gx = _mm(self.t["count_embed.pos_embedding.weight"][:count], self.wt["count_embed.gru_ih_l0"])
        gx += self.t["count_embed.gru.bias_ih_l0"]
        h, states = fields, []
        for k in range(count):
            gh = _mm(h, self.wt["count_embed.gru_hh_l0"]) + self.t["count_embed.gru.bias_hh_l0"]
            xr, xz, xn = np.split(gx[k], 3)
            hr, hz, hn = np.split(gh, 3, axis=-1)
            r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
            h = (1 - z) * np.tanh(xn + r * hn) + z * h
            states.append(h)
        m = fields.shape[0]
        return np.concatenate([np.stack(states), np.broadcast_to(fields, (count, m, fields.shape[1]))], axis=-1)

    def span_logits(self, start: np.ndarray, end: np.ndarray, q: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """``SpanMarker.logits``: ``[B, Q, L, W]``, given ``project_words``' start and end halves ``[B, L, 4H]``
        (``span_words.onnx``) and the queries with the last layer folded in, ``q`` ``[B, Q, 4H]`` and
        ``bias`` ``[B, Q]`` (``span_queries.onnx``)."""
        b, length, d = start.shape
        end = np.concatenate([end, np.zeros((b, self.max_width, d), np.float32)], axis=1)
        out = np.empty((self.max_width, b, q.shape[1], length), np.float32)
        hidden = np.empty((min(length, SPAN_ROWS), d), np.float32)
        for i in range(b):  # a text's rows a block at a time, so a block's hidden layer stays in the cache
            for a in range(0, length, SPAN_ROWS):
                rows = hidden[: min(SPAN_ROWS, length - a)]
                for w in range(self.max_width):
                    _relu(np.add(start[i, a : a + len(rows)], end[i, a + w : a + w + len(rows)], out=rows))
                    np.matmul(q[i], rows.T, out=out[w, i, :, a : a + len(rows)])
        return out.transpose(1, 2, 3, 0) + bias[..., None, None]


class LiteRunner:
    """Runs a lite folder: the same calls as ``torch_runner.TorchRunner``, numpy in and out."""

    backend = "onnx"
    network = None  # no torch network: a lite model cannot be saved as a checkpoint

    def __init__(self, path: str, threads: int | None = None):
        import onnxruntime as ort

        meta = check_lite_folder(path)
        self.meta = meta
        self.precision = meta["precision"]
        self.max_positions = meta["max_positions"]
        self.max_width = meta["max_width"]
        with np.load(os.path.join(path, "heads.npz")) as z:
            self.heads = Heads({k: z[k] for k in z.files}, self.max_width)
        self.path = path
        self._ort = ort
        self._blas = None
        self.threads = threads or os.cpu_count() or 1
        self._open_sessions()

    def _open_sessions(self) -> None:
        self._pid = os.getpid()
        self._session, self._span = self._new_session("encoder.onnx"), self._new_session("span_words.onnx")
        self._queries = self._new_session("span_queries.onnx")

    def _new_session(self, name: str):
        opts = self._ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        # no memory arena: it held far more memory when attention ran unfused, and now buys no speed (paired
        # runs, lite int8 on one thread: 45.3 docs/s without, 45.2 with)
        opts.enable_cpu_mem_arena = False
        opts.enable_mem_pattern = False
        # pool threads that spin between runs take the core from the numpy heads and Python: with two threads
        # and spinning, lite int8 ran 40 docs/s at batch size 8, without it 52
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return self._ort.InferenceSession(
            os.path.join(self.path, name),
            opts,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=SESSION_DISABLED,
        )

    def set_threads(self, n: int) -> None:
        if n != self.threads:
            self.threads = n
            if os.getpid() != self._pid:  # a forked worker (``workers``): keep the parent's sessions alive
                _INHERITED.extend((self._session, self._span, self._queries))
            self._open_sessions()

    def context(self):
        """What the engine's forward pass runs in: numpy's BLAS held to this runner's threads."""
        if self._blas is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:  # numpy's BLAS then uses its own default
                import contextlib

                return contextlib.nullcontext()
            # found once: finding the loaded libraries reads /proc/self/maps (1.1 ms, over 1 % of a batch of 4)
            self._blas = ThreadpoolController()
        return self._blas.limit(limits=self.threads, user_api="blas")

    def encode(self, batch) -> np.ndarray:
        """The encoder's last hidden states ``[B, S, H]``."""
        return self._session.run(None, {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask})[0]

    def forward(self, batch) -> Output:
        """``model.GLiNER2Network.forward`` in numpy and ONNX Runtime, the count head choosing the instances."""
        tasks = batch.tasks
        states = self.encode(batch)  # [B, S, H]
        count_logits = self.heads.count_logits(_gather(states, tasks.prompt_pos))  # [B, T, MAX_COUNT]
        counts = count_logits.argmax(-1)
        instances = np.where(tasks.entities, np.minimum(counts, 1), counts)
        k = int(instances.max()) if instances.size else 0
        span_logits = None
        if k > 0 and tasks.field_pos.shape[1]:
            fields = _gather(states, tasks.field_pos)  # [B, N, H]
            b, n, h = fields.shape
            q, bias = self._queries.run(None, {"states": self.heads.count_states(fields.reshape(b * n, h), k)})
            q = q.reshape(k, b, n, -1).transpose(1, 0, 2, 3).reshape(b, k * n, -1)  # [B, K*N, 4H]
            bias = bias.reshape(k, b, n).transpose(1, 0, 2).reshape(b, k * n)  # [B, K*N]
            start, end = self._span.run(None, {"words": _gather(states, batch.word_pos)})
            logits = self.heads.span_logits(start, end, q, bias)
            span_logits = logits.reshape(b, k, n, *logits.shape[-2:])
        class_logits = self.heads.class_logits(_gather(states, tasks.label_pos))
        return Output(count_logits, instances, span_logits, class_logits)


def _gather(states: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``states[b, positions[b, j]]``: ``[B, J, H]``."""
    return np.take_along_axis(states, positions[..., None], axis=1)
