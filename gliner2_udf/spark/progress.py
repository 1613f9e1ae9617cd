"""Progress while the job runs, and what the run cost.

Every Python worker adds ``(documents, characters, CPU-seconds)`` to a Spark accumulator (``Tally``) after each
Arrow batch it extracts; Spark brings the sums to the driver as tasks finish. ``Progress`` reads them from a
driver thread every ``progress_seconds`` and reports the documents done of the total, documents per second and
an estimated end, on the console and through a callback (the MLflow run's ``progress.*`` metrics). The job cuts
its work into tasks of about ``documents_per_task`` documents, so the figures move during a run.

CPU-seconds are the Python workers' (the model's work, ``time.process_time`` of the worker, all its threads);
Spark's JVM reading and writing is not in them, but it is in documents per second per core.

Example::

    progress = Progress(spark, report=tracker.log_progress, interval=10)
    with progress.over(total=1200):
        write(extract(docs, ..., tally=progress.tally))
    progress.usage.cpu_seconds
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyspark.accumulators import AccumulatorParam


@dataclass(frozen=True)
class Usage:
    """What the Python workers extracted: documents, their characters, and the CPU-seconds it took."""

    documents: int = 0
    characters: int = 0
    cpu_seconds: float = 0.0

    @property
    def mean_characters(self) -> float:
        return self.characters / self.documents if self.documents else 0.0

    @property
    def cpu_seconds_per_1k(self) -> float:
        return 1000.0 * self.cpu_seconds / self.documents if self.documents else 0.0


class Tally(AccumulatorParam):
    """Element-wise sums of ``(documents, characters, cpu_seconds)``."""

    def zero(self, value: tuple) -> tuple:
        return (0, 0, 0.0)

    def addInPlace(self, a: tuple, b: tuple) -> tuple:  # noqa: N802 (pyspark's name)
        return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def text_characters(values: list) -> int:
    """Characters of a batch's raw text values (UTF-8 bytes or str; undecodable bytes count as one each)."""
    n = 0
    for v in values:
        if isinstance(v, (bytes, bytearray, memoryview)):
            n += len(bytes(v).decode("utf-8", "replace"))
        elif isinstance(v, str):
            n += len(v)
    return n


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Progress:
    """Reports the documents done of a total (``over(total)``; None: unknown, as in streaming) every ``interval``
    seconds while it is entered; ``report(metrics, step)`` gets the same figures as ``progress.*`` metrics."""

    def __init__(
        self,
        spark,
        report: Callable[[dict[str, float], int], None] | None = None,
        interval: float = 30.0,
        out: Any = None,
    ):
        self.tally = spark.sparkContext.accumulator((0, 0, 0.0), Tally())
        self.total: int | None = None
        self.report, self.interval = report, interval
        self.out = out if out is not None else sys.stderr
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._step = 0
        self._reported = -1  # the documents the last report counted

    @property
    def usage(self) -> Usage:
        docs, chars, cpu = self.tally.value
        return Usage(int(docs), int(chars), float(cpu))

    def over(self, total: int | None) -> Progress:
        """Itself, reporting against ``total`` documents once entered."""
        self.total = total
        return self

    def __enter__(self) -> Progress:
        self._t0 = time.perf_counter()
        if self.interval > 0:
            self._thread = threading.Thread(target=self._loop, name="gliner2-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            if exc[0] is None and self._reported != self.figures()["progress.documents"]:
                self.tick()  # the last figures, unless the last report already had every document

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def figures(self) -> dict[str, float]:
        """``progress.documents``, ``.documents_per_second`` and, with a total, ``.fraction`` and ``.eta_seconds``."""
        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        done = self.usage.documents
        if self.total is not None:
            done = min(done, self.total)  # a retried task counts its documents again
        rate = done / elapsed
        out = {"progress.documents": float(done), "progress.documents_per_second": rate}
        if self.total is not None:
            left = self.total - done
            out["progress.fraction"] = done / self.total if self.total else 1.0
            if rate > 0:
                out["progress.eta_seconds"] = left / rate
        return out

    def line(self, figures: dict[str, float]) -> str:
        done, rate = int(figures["progress.documents"]), figures["progress.documents_per_second"]
        elapsed = _clock(time.perf_counter() - self._t0)
        if self.total is None:
            return f"progress: {done:,} documents in {elapsed}, {rate:.1f} documents/s"
        text = f"progress: {done:,}/{self.total:,} documents ({100 * figures['progress.fraction']:.0f}%) in {elapsed}"
        text += f", {rate:.1f} documents/s"
        if "progress.eta_seconds" in figures and done < self.total:
            eta = figures["progress.eta_seconds"]
            end = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=eta)).strftime("%H:%M:%S UTC")
            text += f", about {_clock(eta)} left (ends about {end})"
        return text

    def tick(self) -> None:
        figures = self.figures()
        self._reported = figures["progress.documents"]
        print(self.line(figures), file=self.out, flush=True)
        self._step += 1
        if self.report is not None:
            try:
                self.report(figures, self._step)
            except Exception as err:  # tracking must never stop the extraction
                print(f"note: progress metrics not logged: {type(err).__name__}: {err}", file=self.out)
