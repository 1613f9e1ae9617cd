"""Documents that end their Python worker on every attempt: narrowed down, written as ``error`` rows.

A native crash or the out-of-memory killer ends a Python worker without a Python exception, so the UDF cannot
turn it into a row. Spark retries the task (``spark.task.maxFailures``; ``local[N,4]`` on local masters) and
then fails the job, and every re-run would meet the document again. ``write_isolating`` catches that failure
and narrows it down: it runs the extraction, without writing, on halves of the failed documents (split by the
bits of a hash of the id) until each crash is one document, then writes everything in one commit, with those
documents as rows of status ``error`` and :data:`MESSAGE`. In merge mode a later run skips them like any row
already written, unless ``output.retry_errors`` asks for them again.

Narrowing costs extractions: about twice the failed part's documents for one such document, so
``output.commit_every`` bounds it. A document without an id cannot be singled out and still fails the job.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ..config import InputConfig, OutputConfig
from . import io
from .session import task_attempts

CRASHED = "Python worker exited unexpectedly"  # Spark's message for a worker that died without a traceback
MESSAGE = (
    "the document ended its Python worker on every attempt ({attempts}; a native crash or the out-of-memory "
    "killer) and was not extracted; merge-mode runs skip it unless output.retry_errors is true"
)
_HASH_BITS = 64


def worker_crashed(err: BaseException) -> bool:
    return CRASHED in str(err)


def write_isolating(
    spark: SparkSession,
    todo: DataFrame,
    extract_docs: Callable[[DataFrame], DataFrame],
    out: OutputConfig,
    inp: InputConfig,
    txn: tuple[str, int] | None = None,
) -> list:
    """``io.write(extract_docs(todo))``; if Python workers crash on some documents every time, write those as
    ``error`` rows and the rest as usual, in the same single write. Returns the ids written as crashes."""
    try:
        io.write(spark, extract_docs(todo), out, inp.id_column, txn=txn)
        return []
    except Exception as err:
        if not worker_crashed(err):
            raise
        first = err
    key = F.col(f"`{inp.id_column}`")
    print(
        "note: a Python worker crashed on every attempt; narrowing it down to the document(s) by re-running "
        "the extraction on halves of this part",
        file=sys.stderr,
    )
    crashes = _narrow(todo.withColumn("__bits", F.xxhash64(key)), key, extract_docs, 0)
    if not crashes:  # a crash that does not come back alone (a worker ended for another reason): fail as before
        raise first
    if None in crashes:
        raise RuntimeError(
            f"a document without an id ends its Python worker on every attempt; it cannot be written as an error "
            f"row. Give it an id or filter it out (input.filter). First failure: {str(first).splitlines()[0]}"
        ) from first
    poisoned = key.isin(crashes)
    text = F.col(f"`{inp.text_column}`")
    safe = todo.withColumn(inp.text_column, F.when(poisoned, F.lit(None)).otherwise(text))
    message = MESSAGE.format(attempts=f"{task_attempts(spark)} attempts")
    rows = extract_docs(safe)
    rows = rows.withColumn("status", F.when(poisoned, F.lit("error")).otherwise(F.col("status")))
    rows = rows.withColumn("error", F.when(poisoned, F.lit(message)).otherwise(F.col("error")))
    io.write(spark, rows, out, inp.id_column, txn=txn)
    return crashes


def _crashes(docs: DataFrame, extract_docs: Callable[[DataFrame], DataFrame]) -> bool:
    try:
        extract_docs(docs.drop("__bits")).select("status").collect()
        return False
    except Exception as err:
        if worker_crashed(err):
            return True
        raise


def _bit(bit: int) -> Column:
    return F.shiftrightunsigned(F.col("__bits"), bit).bitwiseAND(F.lit(1)) == 1


def _narrow(docs: DataFrame, key: Column, extract_docs, bit: int) -> list:
    """The ids of the documents in ``docs`` (which crash together) that crash alone."""
    ids = [r[0] for r in docs.select(key).limit(2).collect()]
    if len(ids) == 1 or bit >= _HASH_BITS:
        return [r[0] for r in docs.select(key).collect()] if len(ids) > 1 else ids
    found = []
    for side in (_bit(bit), ~_bit(bit)):
        half = docs.where(side)
        if half.limit(1).count() and _crashes(half, extract_docs):
            found += _narrow(half, key, extract_docs, bit + 1)
    return found
