"""The extraction UDF: an iterator pandas UDF over the text column, returning one struct per document.

The model reaches the Python workers either as a Spark broadcast (pickled once on the driver,
unpickled once per worker process) or as a folder path every executor can read (loaded once per
worker process; for checkpoints too large to broadcast). Either way it is cached in the module-level
``_MODELS`` of the worker process, keyed by broadcast id or path, so later tasks in the same worker
reuse it. The schema is compiled on the driver and shipped compiled, inside the UDF's closure.

Only the text crosses into Python, as binary (so undecodable bytes become a status, not a crash);
the id and passthrough columns stay in the JVM. Run constants (``model_version``, ``schema_hash``,
``extracted_at``) are literals added on the driver side.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import fault_injection
from ..errors import ModelUnavailableError
from ..options import ExtractOptions
from ..rows import Layout, empty_row, prepare_text, to_row
from .progress import text_characters

_MODELS: OrderedDict[tuple, Any] = OrderedDict()  # per Python worker process
_MAX_CACHED = 2
LOAD_LOG_ENV = "GLINER2_UDF_LOAD_LOG"  # each model load in a worker appends "<pid> <kind> <key> <secs> torch=0|1"
UNAVAILABLE = "GLINER2_MODEL_UNAVAILABLE"  # starts the message of a task that cannot load its model


def executor_identity() -> str:
    """``executor <id> on host <name> (pid <pid>)``: where this Python worker runs, for error messages."""
    m = re.search(r"executorId=([^&]+)", os.environ.get("SPARK_LOG_URL_STDERR", ""))
    who = f"executor {m.group(1)}" if m else "executor"
    return f"{who} on host {socket.gethostname()} (pid {os.getpid()})"


@dataclass(frozen=True)
class ModelSource:
    """How a worker gets the model: a broadcast of a loaded ``GLiNER2``, or a checkpoint folder."""

    broadcast: Any = None  # pyspark Broadcast[GLiNER2]
    path: str | None = None
    model_version: str | None = None
    precision: str = "fp32"
    backend: str = "torch"

    @classmethod
    def of_broadcast(cls, bc) -> ModelSource:
        return cls(broadcast=bc, broadcast_id=int(bc._jbroadcast.id()))  # the id the JVM knows it by

    broadcast_id: int | None = None

    def key(self) -> tuple:
        return ("broadcast", self.broadcast_id) if self.broadcast is not None else ("path", self.path)

    def load(self):
        if self.broadcast is not None:
            return self.broadcast.value
        from ..engine import GLiNER2

        return GLiNER2.from_pretrained(
            self.path,
            model_version=self.model_version,
            precision=self.precision,
            backend=self.backend,
            inference_only=True,
        )


def worker_model(source: ModelSource):
    """The model for ``source``, loaded at most once per Python worker process."""
    key = source.key()
    model = _MODELS.get(key)
    if model is None:
        t0 = time.perf_counter()
        try:
            model = source.load()
        except Exception as err:
            if source.path is None:
                raise
            raise ModelUnavailableError(
                f"{UNAVAILABLE}: cannot load the model from {source.path!r} on "
                f"{executor_identity()}: {type(err).__name__}: {err}"
            ) from err
        _MODELS[key] = model
        while len(_MODELS) > _MAX_CACHED:  # a notebook re-running extract() makes new broadcasts
            _MODELS.popitem(last=False)
        log = os.environ.get(LOAD_LOG_ENV)
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(
                    f"{os.getpid()} {key[0]} {key[1]} {time.perf_counter() - t0:.3f}s "
                    f"torch={int('torch' in sys.modules)}\n"
                )
    else:
        _MODELS.move_to_end(key)
    return model


def _error(err: BaseException) -> str:
    msg = f"{type(err).__name__}: {err}"
    return msg if len(msg) <= 1000 else msg[:997] + "..."


def extract_rows(model, compiled, layout: Layout, values: list, options: ExtractOptions) -> list[dict]:
    """Rows for one batch of raw text values (str, bytes or None), in order. Never raises.

    Blank, undecodable and over-long texts get their status from ``prepare_text``; the rest go to the
    model in one ``batch_extract`` call. If that call raises, each document is retried on its own,
    so only the documents that fail by themselves get status ``error``.
    """
    prepared = [prepare_text(v, options.max_chars) for v in values]
    rows: list[dict | None] = [None] * len(values)
    todo = []
    for i, p in enumerate(prepared):
        if p.text is None:
            rows[i] = empty_row(layout, p.status, p.message)
        else:
            todo.append(i)

    def run(texts: list[str]) -> list[dict]:
        return model.extract_with(texts, compiled, options, include_confidence=True, include_spans=True)

    try:
        results = run([prepared[i].text for i in todo]) if todo else []
        if len(results) != len(todo):
            raise RuntimeError(f"batch_extract returned {len(results)} results for {len(todo)} texts")
        batch = list(zip(todo, results))
    except Exception:  # retry one by one: one bad document must not poison its batch
        batch = []
        for i in todo:
            try:
                batch.append((i, run([prepared[i].text])[0]))
            except Exception as err:
                rows[i] = empty_row(layout, "error", _error(err))
    for i, result in batch:
        try:
            stored = _stored_text(values[i])
            if not stored.startswith(prepared[i].text):  # control characters were blanked for the model
                result = _cut_from(result, stored)
            rows[i] = to_row(layout, result, prepared[i].status, prepared[i].message)
        except Exception as err:
            rows[i] = empty_row(layout, "error", f"could not convert the result: {_error(err)}")
    return rows


def _stored_text(value) -> str:
    return bytes(value).decode("utf-8") if isinstance(value, (bytes, bytearray, memoryview)) else value


def _cut_from(result, text: str):
    """``result`` with every span's text cut from ``text`` at its offsets (``text[start:end] == span text``
    for the stored text, whose control characters the model saw as spaces)."""
    if isinstance(result, dict):
        if isinstance(result.get("start"), int) and isinstance(result.get("end"), int) and "text" in result:
            return {**result, "text": text[result["start"] : result["end"]]}
        return {k: _cut_from(v, text) for k, v in result.items()}
    if isinstance(result, (list, tuple)):
        return type(result)(_cut_from(v, text) for v in result)
    return result


def make_udf(source: ModelSource, compiled, layout: Layout, options: ExtractOptions, tally=None):
    """The pandas UDF ``binary text -> struct`` (see ``columns.result_type``). ``tally``: a ``progress.Tally``
    accumulator that gets each batch's documents, characters and CPU-seconds."""
    from pyspark.sql.functions import pandas_udf

    from .columns import result_type

    columns = layout.result_columns()

    def extract_batches(texts: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        model = worker_model(source)
        model.set_threads(options.threads)
        for series in texts:
            fault_injection.reached("worker_batch")
            fault_injection.crash_if_marked(series)
            cpu = time.process_time()
            values = series.tolist()
            rows = extract_rows(model, compiled, layout, values, options)
            if tally is not None:
                tally.add((len(values), text_characters(values), time.process_time() - cpu))
            yield pd.DataFrame(rows, columns=columns)

    return pandas_udf(extract_batches, returnType=result_type(layout))
