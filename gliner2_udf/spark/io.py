"""Read the document table and write results: Parquet or Delta, by path or by catalog table.

``mode: merge`` makes runs incremental and idempotent: ``pending`` drops input documents whose
``(id, schema_hash)`` is already in the output (a left anti-join, before any extraction), and
``write`` inserts the new rows with a Delta ``MERGE ... WHEN NOT MATCHED THEN INSERT *`` on the same
key, so a re-run after a crash or over a grown table adds nothing twice and loses nothing.

Null and repeated ids (counted by ``input_counts``, reported in the job summary and its MLflow run): merge mode
keys rows on the id, so it extracts one row per id, the first by text (then by the passthrough columns), and
no row without an id; append and overwrite extract every row.

Example::

    docs = read_input(spark, cfg.input)
    todo = pending(spark, docs, cfg.output, cfg.input, compiled.schema_hash)
    write(spark, extract(todo, ...), cfg.output, cfg.input.id_column)
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..config import InputConfig, OutputConfig
from ..errors import ConfigError


def _reader(spark: SparkSession, fmt: str, path: str | None, table: str | None) -> DataFrame:
    if table is not None:
        return spark.table(table)
    return spark.read.format(fmt).load(path)


def read_input(spark: SparkSession, cfg: InputConfig) -> DataFrame:
    """The input table with its filter applied; a configured column it lacks is a :class:`ConfigError`
    naming the field (raised here, before any extraction)."""
    return _checked(_reader(spark, cfg.format, cfg.path, cfg.table), cfg)


def read_input_stream(spark: SparkSession, cfg: InputConfig, max_files_per_trigger: int | None = None) -> DataFrame:
    """The Delta input as a stream (``availableNow`` micro-batches), with the same checks and filter."""
    reader = spark.readStream.format("delta")
    if max_files_per_trigger:
        reader = reader.option("maxFilesPerTrigger", str(int(max_files_per_trigger)))
    return _checked(reader.table(cfg.table) if cfg.table is not None else reader.load(cfg.path), cfg)


def _checked(df: DataFrame, cfg: InputConfig) -> DataFrame:
    types = {f.name.lower(): f.dataType for f in df.schema.fields}
    for key, name in [
        ("input.id_column", cfg.id_column),
        ("input.text_column", cfg.text_column),
        *((f"input.passthrough[{i}]", c) for i, c in enumerate(cfg.passthrough)),
    ]:
        if name.lower() not in types:
            raise ConfigError(key, f"column {name!r} is not in the input table (columns: {', '.join(df.columns)})")
    if not isinstance(types[cfg.text_column.lower()], (T.StringType, T.BinaryType)):
        found = types[cfg.text_column.lower()].simpleString()
        raise ConfigError("input.text_column", f"expected a string or binary column, {cfg.text_column!r} is {found}")
    if cfg.filter:
        from pyspark.errors import AnalysisException

        try:
            df = df.where(F.expr(cfg.filter))
        except AnalysisException as err:  # a parse error too: analysed here, on the driver, before any work
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConfigError(
                "input.filter", f"expected a Spark SQL condition on the input's columns: {first}"
            ) from None
    return df


def output_exists(spark: SparkSession, cfg: OutputConfig) -> bool:
    if cfg.table is not None:
        return spark.catalog.tableExists(cfg.table)
    if cfg.format == "delta":
        from delta.tables import DeltaTable

        return DeltaTable.isDeltaTable(spark, cfg.path)
    try:
        spark.read.parquet(cfg.path).schema  # noqa: B018 (reading the schema lists the files)
        return True
    except Exception:  # AnalysisException: path does not exist / no files
        return False


def read_output(spark: SparkSession, cfg: OutputConfig) -> DataFrame:
    if cfg.table is None and cfg.format == "parquet":  # files of several schema versions: the union of columns
        return spark.read.option("mergeSchema", "true").parquet(cfg.path)
    return _reader(spark, cfg.format, cfg.path, cfg.table)


@dataclass(frozen=True)
class InputCounts:
    """What the input held: its rows, the rows without an id, and the rows whose id an earlier row has."""

    rows: int = 0
    null_ids: int = 0
    repeated_ids: int = 0

    def __add__(self, other: InputCounts) -> InputCounts:
        return InputCounts(
            self.rows + other.rows, self.null_ids + other.null_ids, self.repeated_ids + other.repeated_ids
        )


def input_counts(docs: DataFrame, id_column: str) -> InputCounts:
    """One aggregation over the input (after its filter): rows, null ids, rows that repeat an id."""
    key = F.col(f"`{id_column}`")
    r = docs.agg(F.count(F.lit(1)).alias("n"), F.count(key).alias("keyed"), F.countDistinct(key).alias("ids")).first()
    return InputCounts(int(r["n"]), int(r["n"] - r["keyed"]), int(r["keyed"] - r["ids"]))


def one_row_per_id(docs: DataFrame, cfg: InputConfig) -> DataFrame:
    """Rows with an id, one per id: the first by text, then by the passthrough columns Spark can order (a
    re-run keeps the same row)."""
    orderable = {f.name for f in docs.schema.fields if not isinstance(f.dataType, T.MapType)}
    order = [c for c in (cfg.text_column, *cfg.passthrough) if c in orderable]
    first = Window.partitionBy(F.col(f"`{cfg.id_column}`")).orderBy(*[F.col(f"`{c}`").asc_nulls_last() for c in order])
    return (
        docs.where(F.col(f"`{cfg.id_column}`").isNotNull())
        .withColumn("__row", F.row_number().over(first))
        .where(F.col("__row") == 1)
        .drop("__row")
    )


def pending(spark: SparkSession, docs: DataFrame, cfg: OutputConfig, inp: InputConfig, schema_hash: str) -> DataFrame:
    """In merge mode: one row per id (``one_row_per_id``), without the ids already extracted with this schema
    (``retry_errors``: except those whose row has status ``error``). Append and overwrite extract every row."""
    if cfg.mode != "merge":
        return docs
    docs = one_row_per_id(docs, inp)
    if not output_exists(spark, cfg):
        return docs
    done = read_output(spark, cfg).where(F.col("schema_hash") == F.lit(schema_hash))
    if cfg.retry_errors:
        done = done.where(F.col("status") != F.lit("error"))
    done = done.select(inp.id_column)
    return docs.join(done, on=inp.id_column, how="left_anti")


def chunks(todo: DataFrame, id_column: str, commit_every: int | None, total: int) -> list[tuple[DataFrame, int]]:
    """``todo`` (``total`` documents) cut into parts of about ``commit_every`` documents (by a hash of the id), each
    written in its own commit, with their sizes; ``[(todo, total)]`` when ``commit_every`` is None. Empty parts are
    left out.

    Merge mode makes the parts idempotent: a re-run recomputes ``pending`` and so skips every part that
    was committed, and the MERGE key drops any document that is already there.
    """
    if not commit_every:
        return [(todo, total)]
    n = -(-total // commit_every)
    if n <= 1:
        return [(todo, total)] if total else []
    bucket = F.pmod(F.xxhash64(F.col(f"`{id_column}`")), F.lit(n))
    sizes = {r["b"]: r["count"] for r in todo.groupBy(bucket.alias("b")).count().collect()}
    return [(todo.where(bucket == F.lit(b)), sizes[b]) for b in sorted(sizes)]


def latest(rows: DataFrame, id_column: str = "id") -> DataFrame:
    """One row per document of an output table: its latest extraction across schema versions and models (the
    latest ``extracted_at``; then the smaller ``schema_hash``). Columns a schema version did not write are null."""
    order = Window.partitionBy(F.col(f"`{id_column}`")).orderBy(F.col("extracted_at").desc(), F.col("schema_hash"))
    return rows.withColumn("_latest", F.row_number().over(order)).where(F.col("_latest") == 1).drop("_latest")


def write(
    spark: SparkSession, df: DataFrame, cfg: OutputConfig, id_column: str, txn: tuple[str, int] | None = None
) -> None:
    """Write ``df`` in the configured mode (the first merge creates the table). Columns ``df`` adds to an
    existing table are added (Delta schema evolution; ``evolution.check_output`` has refused type changes).

    ``txn = (app_id, version)`` makes an append idempotent (Delta ``txnAppId``/``txnVersion``: a version
    at or below the one the table recorded for ``app_id`` is skipped); streaming passes its micro-batch.
    """
    if cfg.mode == "merge" and output_exists(spark, cfg):
        from delta.tables import DeltaTable

        target = DeltaTable.forName(spark, cfg.table) if cfg.table else DeltaTable.forPath(spark, cfg.path)
        key = f"t.`{id_column}` = s.`{id_column}` AND t.schema_hash = s.schema_hash"
        merge = target.alias("t").merge(df.alias("s"), key).withSchemaEvolution()
        if cfg.retry_errors:  # the error rows that pending let through again are replaced
            merge = merge.whenMatchedUpdateAll(condition="t.status = 'error'")
        merge.whenNotMatchedInsertAll().execute()
        return
    writer = df.write.format(cfg.format).mode("overwrite" if cfg.mode == "overwrite" else "append")
    if cfg.format == "delta":
        writer = writer.option("overwriteSchema" if cfg.mode == "overwrite" else "mergeSchema", "true")
    if txn is not None:
        writer = writer.option("txnAppId", txn[0]).option("txnVersion", str(int(txn[1])))
    if cfg.partition_by:
        writer = writer.partitionBy(*cfg.partition_by)
    if cfg.table is not None:
        writer.saveAsTable(cfg.table)
    else:
        writer.save(cfg.path)
