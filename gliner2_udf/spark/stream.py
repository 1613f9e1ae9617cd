"""Structured Streaming ``availableNow`` over a Delta input: each micro-batch is one idempotent Delta commit.

The query processes what the input holds when it starts, in micro-batches (``stream.max_files_per_trigger``
input files each), and stops. Its checkpoint folder records the input offsets of every micro-batch before
it runs and marks it done after ``foreachBatch`` returns, so a run killed at any moment replays at most the
micro-batch in flight, with the same batch id and the same rows. That replay writes nothing twice:

* ``output.mode: merge`` merges on ``(id, schema_hash)`` (and ``pending`` skips the ids already there, so
  the replay does not even extract them again);
* ``output.mode: append`` appends with Delta ``txnAppId`` = the query's id (kept in the checkpoint, so a
  new checkpoint folder starts a new application) and ``txnVersion`` = the batch id: Delta skips a
  version it has already committed for that application.

Example (``conf/local.yaml`` plus)::

    stream:
      checkpoint: output/checkpoints/extractions
      max_files_per_trigger: 1
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from .. import fault_injection
from ..config import JobConfig
from . import io
from .isolate import write_isolating


def run_stream(spark: SparkSession, cfg: JobConfig, extract_batch: Callable[[DataFrame], DataFrame]) -> io.InputCounts:
    """Run the ``availableNow`` query to its end; returns what its micro-batches held (null and repeated ids
    counted within each micro-batch: an id repeated in a later one is skipped by merge mode as already done).

    ``extract_batch(docs) -> rows`` is the job's extraction (model, schema and run constants bound).
    """
    out_cfg, id_column = cfg.output, cfg.input.id_column
    counts = [io.InputCounts()]
    schema_hash = cfg.compiled_schema.schema_hash
    source = io.read_input_stream(spark, cfg.input, cfg.stream.max_files_per_trigger)
    started = threading.Event()
    query_id: dict[str, Any] = {}
    seen = [0]

    def each(batch: DataFrame, batch_id: int) -> None:
        started.wait(60)  # the query id is known once start() returns
        session = batch.sparkSession
        counts[0] += io.input_counts(batch, id_column)
        todo = io.pending(session, batch, out_cfg, cfg.input, schema_hash)
        todo = todo.repartition(max(session.sparkContext.defaultParallelism, 1))
        txn = (f"gliner2-extract-{query_id['id']}", batch_id) if out_cfg.mode == "append" else None
        write_isolating(session, todo, extract_batch, out_cfg, cfg.input, txn=txn)
        fault_injection.reached("commit", seen[0], last=False)
        seen[0] += 1

    query = (
        source.writeStream.foreachBatch(each)
        .option("checkpointLocation", cfg.stream.checkpoint)
        .trigger(availableNow=True)
        .queryName(f"{cfg.spark.app_name}-stream")
        .start()
    )
    query_id["id"] = str(query.id)
    started.set()
    query.awaitTermination()
    fault_injection.reached("after_last_commit")
    return counts[0]
