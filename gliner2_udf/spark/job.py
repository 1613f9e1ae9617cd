"""``extract`` (a DataFrame transformation for notebooks) and ``run`` (the configured batch job).

Example::

    out = extract(docs, GLiNER2.from_pretrained("models/gliner2-minilm-default"), "conf/schemas/default.yaml")
    summary = run(load_config("conf/local.yaml"))      # read -> pending -> extract -> write -> summary
    print(summary.format())
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .. import fault_injection
from ..config import JobConfig
from ..errors import CheckpointError, ConfigError, FieldError, SchemaError
from ..identity import default_model_version
from ..options import DEFAULTS, ExtractOptions
from ..rows import Layout
from ..schema import CompiledSchema, compile_schema, load_schema
from . import io
from .evolution import check_output
from .isolate import write_isolating
from .progress import Progress, Usage
from .udf import ModelSource, make_udf


def _compiled(schema: Any) -> CompiledSchema:
    if isinstance(schema, str):
        return load_schema(schema)
    return compile_schema(schema)


def _threads(spark: SparkSession, options: ExtractOptions) -> ExtractOptions:
    """``options`` with ``threads`` set: as given, or ``spark.task.cpus``."""
    if options.threads:
        return options
    return replace(options, threads=int(spark.sparkContext.getConf().get("spark.task.cpus", "1")))


def _model_source(
    spark: SparkSession, model: Any, model_version: str | None, precision: str = "fp32", backend: str = "torch"
) -> tuple[ModelSource, str]:
    """A GLiNER2 is broadcast; a folder path is loaded by each worker; a Broadcast is used as is. A hub id
    (``owner/name``) is resolved here, on the driver, to its snapshot folder in the hub cache."""
    from pyspark import Broadcast

    if isinstance(model, Broadcast):
        return ModelSource.of_broadcast(model), model_version or model.value.model_version
    if isinstance(model, (str, os.PathLike)):
        from ..hub import resolve

        path = os.path.abspath(resolve(os.fspath(model))[0])
        model_version = model_version or default_model_version(path)
        return ModelSource(path=path, model_version=model_version, precision=precision, backend=backend), model_version
    if model_version is not None:
        model.model_version = model_version
    return ModelSource.of_broadcast(spark.sparkContext.broadcast(model)), model.model_version


def extract(
    df: DataFrame,
    model: Any,
    schema: Any,
    *,
    id_column: str = "id",
    text_column: str = "text",
    passthrough: Iterable[str] = (),
    options: ExtractOptions = DEFAULTS,
    arrow_records_per_batch: int | None = 64,
    model_version: str | None = None,
    extracted_at: dt.datetime | None = None,
    precision: str = "fp32",
    backend: str = "torch",
    tally: Any = None,
) -> DataFrame:
    """Extract from ``df[text_column]`` with ``schema``; one output row per input row, typed columns.

    ``model`` is a loaded ``GLiNER2`` (broadcast once, unpickled once per Python worker), a checkpoint
    folder every executor can read (loaded once per worker; for checkpoints too large to broadcast; a
    Hugging Face hub id is resolved on the driver to its folder in the hub cache), or a ``Broadcast`` of a
    ``GLiNER2``. ``schema`` is a ``Schema``, ``CompiledSchema``, mapping or a
    YAML/JSON path; it is compiled here, on the driver. ``options``: batch size, threshold, the longest
    document and threads per task (``ExtractOptions``). ``arrow_records_per_batch`` sets the session's
    ``spark.sql.execution.arrow.maxRecordsPerBatch`` (the rows the UDF sees per call). Lazy: nothing
    runs until an action. ``tally``: a ``progress.Tally`` accumulator the workers add their work to.

    Example::

        out = extract(spark.read.parquet("docs.parquet"), model, {"entities": ["person", "company"]},
                      id_column="doc_id", passthrough=["source"], options=ExtractOptions(batch_size=4))
        out.select("doc_id", "person", "status").show()
    """
    spark = df.sparkSession
    compiled = _compiled(schema)
    layout = Layout.build(compiled, id_column, passthrough)
    source, version = _model_source(spark, model, model_version, precision, backend)
    if arrow_records_per_batch:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(int(arrow_records_per_batch)))
    udf = make_udf(source, compiled, layout, _threads(spark, options), tally)
    keep = [F.col(f"`{c}`") for c in (id_column, *layout.passthrough)]
    out = df.select(*keep, udf(F.col(f"`{text_column}`").cast("binary")).alias("__gliner2"))
    at = extracted_at or dt.datetime.now(dt.timezone.utc)
    return out.select(
        *keep,
        "__gliner2.*",
        F.lit(version).alias("model_version"),
        F.lit(compiled.schema_hash).alias("schema_hash"),
        F.lit(at).cast("timestamp").alias("extracted_at"),
    )


# --------------------------------------------------------------------------------------------
# the configured job


@dataclass
class Summary:
    output: str
    rows: int
    seconds: float
    status_counts: Mapping[str, int] = field(default_factory=dict)
    top_entities: Mapping[str, list[tuple[str, int]]] = field(default_factory=dict)
    model_version: str = ""
    schema_hash: str = ""
    entity_counts: Mapping[str, int] = field(default_factory=dict)  # entities found per type
    mlflow_run_id: str | None = None
    input: io.InputCounts = field(default_factory=io.InputCounts)  # rows read (after the filter), null/repeated ids
    mode: str = "merge"
    usage: Usage = field(default_factory=Usage)  # what the Python workers extracted, and their CPU-seconds
    cores: int = 1  # the task slots the run had (Spark's default parallelism)

    @property
    def docs_per_second_per_core(self) -> float:
        return self.docs_per_second / self.cores if self.cores else 0.0

    @property
    def docs_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def id_policy(self) -> str:
        if self.mode == "merge":
            return "merge mode extracts one row per id, the first by text, and none without an id"
        return f"{self.mode} mode extracts every row"

    def format(self) -> str:
        lines = [
            f"output:        {self.output}",
            f"model:         {self.model_version}   schema: {self.schema_hash}",
            f"input rows:    {self.input.rows}; {self.input.null_ids} without an id, "
            f"{self.input.repeated_ids} repeat an id ({self.id_policy})",
            f"rows written:  {self.rows} in {self.seconds:.1f} s ({self.docs_per_second:.1f} documents/s)",
            "status:        " + (", ".join(f"{k}={v}" for k, v in sorted(self.status_counts.items())) or "-"),
        ]
        if self.usage.documents:
            lines.append(
                f"cost:          {self.usage.cpu_seconds_per_1k:.1f} CPU-s per 1,000 documents (Python workers), "
                f"{self.docs_per_second_per_core:.2f} documents/s per core ({self.cores} cores), "
                f"{self.usage.mean_characters:.0f} characters per document"
            )
        if self.mlflow_run_id:
            lines.append(f"mlflow run:    {self.mlflow_run_id}")
        if self.top_entities:
            lines.append("top entities:")
            for label, items in self.top_entities.items():
                lines.append(f"  {label:<14} " + (", ".join(f"{t} ({n})" for t, n in items) or "-"))
        return "\n".join(lines)


def summarize(
    df: DataFrame, top: int = 5
) -> tuple[int, dict[str, int], dict[str, list[tuple[str, int]]], dict[str, int]]:
    """Row count, status counts, the most frequent entity texts per label and entities per label."""
    status = {r["status"]: r["count"] for r in df.groupBy("status").count().collect()}
    ents = (
        df.select(F.explode("entities").alias("e"))
        .groupBy(F.col("e.label").alias("label"), F.col("e.text").alias("text"))
        .count()
        .collect()
    )
    by_label: dict[str, list[tuple[str, int]]] = {}
    totals: dict[str, int] = {}
    for r in sorted(ents, key=lambda r: (r["label"], -r["count"], r["text"])):
        totals[r["label"]] = totals.get(r["label"], 0) + r["count"]
        if len(by_label.setdefault(r["label"], [])) < top:
            by_label[r["label"]].append((r["text"], r["count"]))
    return sum(status.values()), status, by_label, totals


def run(cfg: JobConfig, spark: SparkSession | None = None) -> Summary:
    """Read the input, skip what merge mode already has, extract, write, and summarise this run's rows.

    Everything that can be checked without Spark (configuration, schema, model folder) is checked
    before the session starts. A ``models:/NAME@ALIAS`` model is resolved once, here, to the version
    written into every row (``models:/NAME/VERSION``); a Hugging Face hub id (``owner/name``) to its snapshot
    folder in the hub cache (``owner/name@<commit>``). Each run is an MLflow run (``registry.track_job``).
    """
    from ..hub import snapshot_ref
    from ..registry import resolve_model_version, track_job

    model_dir, version = resolve_model_version(cfg.model)  # a hub id: downloaded once, here, on the driver
    hub = snapshot_ref(model_dir, cfg.model.revision) if cfg.model.is_hub_id else None
    loaded = _load_and_plan(model_dir, version, cfg.compiled_schema, cfg.model.precision, cfg.model.backend)
    with track_job(cfg, version, hub=hub, runtime=(loaded.precision, loaded.backend)) as tracking:
        summary = _run(cfg, spark, model_dir, version, loaded, report=tracking.log_progress)
        tracking.log_summary(summary)
    return summary


BROADCAST_HEADROOM = 256 * 2**20  # of the driver's JVM heap, beside twice the model's bytes


def check_broadcast_fits(model_bytes: int, heap_bytes: int) -> None:
    """A ``model.distribution`` ConfigError unless a broadcast of a ``model_bytes`` checkpoint fits the driver's
    JVM heap (``heap_bytes``): the JVM holds the pickled bytes about twice while it cuts them into blocks. A
    DeBERTa-v3-base checkpoint (740 MiB) ran the default 1 GiB heap out of memory with a Java stack trace."""
    need = 2 * model_bytes + BROADCAST_HEADROOM
    if need > heap_bytes:
        mib = 2**20
        raise ConfigError(
            "model.distribution",
            f"a {model_bytes // mib} MiB checkpoint does not fit a broadcast in the driver's {heap_bytes // mib} MiB "
            f"JVM heap; use 'path' (each Python worker loads the folder) or set spark.driver.memory to at least "
            f"{-(-need // 2**30)}g",
        )


def folder_bytes(folder: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(folder) for f in files)


def _load_and_plan(model_dir: str, version: str, compiled: CompiledSchema, precision: str, backend: str):
    """Load the checkpoint on the driver (refusing a hostile one) and plan the schema's passes in its
    window, before Spark starts: a schema part that never fits is a ``schema.<field>`` ConfigError."""
    from ..engine import GLiNER2

    try:
        model = GLiNER2.from_pretrained(model_dir, model_version=version, precision=precision, backend=backend)
    except CheckpointError as err:
        raise ConfigError("model.path", str(err)) from None
    except FieldError as err:  # a precision or backend this checkpoint's architecture does not run
        raise ConfigError(f"model.{err.path}", err.message) from None
    try:
        model.plan(compiled)
    except SchemaError as err:
        raise ConfigError.of_schema(err) from None
    return model


def _run(
    cfg: JobConfig, spark: SparkSession | None, model_dir: str, version: str, loaded: Any = None, report=None
) -> Summary:
    if spark is None:
        from .session import get_session

        spark = get_session(cfg.spark.app_name, cfg.spark.master, cfg.spark.conf)
    compiled = cfg.compiled_schema
    where = cfg.output.table or cfg.output.path
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    if cfg.model.distribution == "broadcast":
        from ..engine import GLiNER2

        loaded = loaded or GLiNER2.from_pretrained(
            model_dir, model_version=version, precision=cfg.model.precision, backend=cfg.model.backend
        )
        if loaded.backend == "torch":  # a lite folder is a fraction of the checkpoint
            heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()
            check_broadcast_fits(folder_bytes(model_dir), heap)
        model: Any = spark.sparkContext.broadcast(loaded)
    else:
        from .preflight import check_model_path

        check_model_path(spark, model_dir)  # every executor reads the folder, or one clear error now
        model = model_dir
    progress = Progress(spark, report=report, interval=cfg.progress_seconds)

    def extract_docs(docs: DataFrame) -> DataFrame:
        return extract(
            docs,
            model,
            compiled,
            id_column=cfg.input.id_column,
            text_column=cfg.input.text_column,
            passthrough=cfg.input.passthrough,
            options=cfg.options,
            arrow_records_per_batch=cfg.arrow_records_per_batch,
            model_version=version,
            extracted_at=started,
            precision=cfg.model.precision,
            backend=cfg.model.backend,
            tally=progress.tally,
        )

    try:
        added = check_output(spark, cfg.output, extract_docs(io.read_input(spark, cfg.input).limit(0)).schema)
        if added:
            print(f"note: this schema adds column(s) to {where}: {', '.join(added)}", file=sys.stderr)
        if cfg.stream is not None:
            from .stream import run_stream

            with progress.over(None):  # a stream's total is not known before it ends
                counts = run_stream(spark, cfg, extract_docs)
        else:
            counts = _write_batches(spark, cfg, extract_docs, progress)
        if not io.output_exists(spark, cfg.output):  # nothing to extract: a first run still creates the table
            empty = io.read_input(spark, cfg.input).limit(0)
            io.write(spark, extract_docs(empty), cfg.output, cfg.input.id_column)
    except Exception as err:  # a task that could not load the model: one clear error, not a stack trace
        from .preflight import raise_model_error

        raise_model_error(err)
        raise
    seconds = time.perf_counter() - t0
    if cfg.model.distribution == "broadcast":
        model.unpersist()
    written = io.read_output(spark, cfg.output).where(
        (F.col("extracted_at") == F.lit(started).cast("timestamp")) & (F.col("schema_hash") == compiled.schema_hash)
    )
    rows, status, top, entities = summarize(written)
    return Summary(
        where,
        rows,
        seconds,
        status,
        top,
        version,
        compiled.schema_hash,
        entities,
        input=counts,
        mode=cfg.output.mode,
        usage=progress.usage,
        cores=spark.sparkContext.defaultParallelism,
    )


def task_count(documents: int, cores: int, per_task: int) -> int:
    """Spark tasks for ``documents``: whole waves of ``cores`` tasks, each of at most about ``per_task`` documents
    (a last wave with idle cores would slow the run; smaller tasks make progress reports move)."""
    cores = max(1, cores)
    return cores * max(1, -(-documents // (cores * per_task)))


def _write_batches(spark: SparkSession, cfg: JobConfig, extract_docs, progress: Progress) -> io.InputCounts:
    """Extract the pending documents and write them: one commit, or one per ``output.commit_every``
    documents (each part merged on (id, schema_hash), so a re-run after a crash redoes only the parts
    that were not committed). Returns what the input held."""
    docs = io.read_input(spark, cfg.input)
    counts = io.input_counts(docs, cfg.input.id_column)
    todo = io.pending(spark, docs, cfg.output, cfg.input, cfg.compiled_schema.schema_hash)
    total = todo.count()
    parts = io.chunks(todo, cfg.input.id_column, cfg.output.commit_every, total)
    fault_injection.reached("before_first_write")
    cores = spark.sparkContext.defaultParallelism
    with progress.over(total):
        for n, (part, size) in enumerate(parts):
            # Small files come as one partition and AQE may coalesce the anti-join's: spread the documents over
            # whole waves of the cores (a fixed number, which AQE keeps). The shuffle is cheap next to the model.
            part = part.repartition(task_count(size, cores, cfg.documents_per_task))
            write_isolating(spark, part, extract_docs, cfg.output, cfg.input)
            fault_injection.reached("commit", n, last=n == len(parts) - 1)
    return counts
