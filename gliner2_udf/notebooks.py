"""What the Databricks notebooks in ``notebooks/`` call: one function per notebook, plain values back.

The notebooks only declare widgets, read them and call ``extract_table``, ``register`` or ``explore``;
everything else lives in the package (``spark.job.run``, ``registry``), so nothing is implemented
twice and the same calls work from a local ``SparkSession``. ``extract_table`` runs the same YAML
configuration as ``jobs/extract.py``, with the widgets as overrides, so a setting is chosen once.

Example::

    result = extract_table(spark, "conf/local.yaml", model=model_uri("gliner2-minilm-default", "champion"),
                           output_table="output/extractions", limit=50, overrides="batch_size=8")
    ex = explore(spark, "output/extractions")
    ex.entity_counts          # pandas: label, mentions, documents
    ex.figures["entities"]    # a matplotlib Figure
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

from .config import apply_overrides, from_dict, read_config
from .errors import ConfigError
from .hub import is_hub_id

INPUT_VIEW = "gliner2_notebook_input"
DEFAULT_CONFIG = "conf/local.yaml"  # relative to the repository root, where the notebooks change directory
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")  # db.table, catalog.db.table
_TOP = 10


def model_uri(name: str, alias_or_version: str) -> str:
    """``models:/NAME@ALIAS``, or ``models:/NAME/VERSION`` when given a number. A Hugging Face hub id
    (``owner/name``) is returned as it is (the job resolves it; the alias does not apply)."""
    if is_hub_id(str(name).strip()):
        return str(name).strip()
    alias_or_version = str(alias_or_version).strip()
    if alias_or_version.isdigit():
        return f"models:/{name}/{alias_or_version}"
    return f"models:/{name}@{alias_or_version}"


def _location(value: str, what: str) -> dict[str, str]:
    """A catalog table name (``db.table``) or a path (anything with a ``/`` or a file suffix)."""
    value = (value or "").strip()
    if not value:
        raise ConfigError(what, "expected a table name or a path, got an empty widget")
    if _TABLE.match(value) and "/" not in value and not value.endswith(".parquet"):
        return {"table": value}
    return {"path": value}


def _input_format(path: str) -> str:
    """Parquet for a ``.parquet`` file or a local folder without ``_delta_log``; Delta otherwise."""
    if path.endswith(".parquet") or os.path.isdir(path) and not os.path.isdir(os.path.join(path, "_delta_log")):
        return "parquet"
    return "delta"


def _blank(value: Any) -> bool:
    return value is None or str(value).strip() == ""


def _override_lines(overrides: Any) -> list[str]:
    """``key.path=value`` items from a list, or from a widget's text (one per line, or separated by ``;``)."""
    if isinstance(overrides, str):
        overrides = re.split(r"[\n;]", overrides)
    return [item.strip() for item in overrides or () if str(item).strip()]


def job_config(
    config: str = DEFAULT_CONFIG,
    *,
    input_table: str | None = None,
    schema: str | None = None,
    model: str | None = None,
    output_table: str | None = None,
    mode: str | None = None,
    precision: str | None = None,
    backend: str | None = None,
    overrides: Any = (),
):
    """The job configuration a notebook runs: the YAML file ``config`` (the one ``jobs/extract.py`` reads), then
    the widgets that are not blank, then ``overrides`` (``key.path=value``, as ``--set``). Validated here, without
    Spark: a bad widget is a ``ConfigError`` naming its field before any table is read.

    ``input_table``/``output_table``: a catalog name (``db.table``) or a path; ``model``: a checkpoint folder, a
    ``models:/`` URI (``model_uri``) or a hub id; ``mode``, ``precision``, ``backend``: ``output.mode``,
    ``model.precision``, ``model.backend``.
    """
    d = read_config(config)
    if not _blank(input_table):
        source = _location(input_table, "input_table")
        inp = {k: v for k, v in dict(d.get("input") or {}).items() if k not in ("path", "table", "format")}
        if "table" in source:
            inp.update(format="delta", table=source["table"])
        else:
            inp.update(format=_input_format(source["path"]), path=source["path"])
        d["input"] = inp
    if not _blank(output_table):
        out = {k: v for k, v in dict(d.get("output") or {}).items() if k not in ("path", "table")}
        d["output"] = {**out, **_location(output_table, "output_table")}
    if isinstance(d.get("model"), str):  # the shorthand model: <path>
        d["model"] = {"path": d["model"]}
    for value, section, key in [
        (schema, None, "schema"),
        (model, "model", "path"),
        (mode, "output", "mode"),
        (precision, "model", "precision"),
        (backend, "model", "backend"),
    ]:
        if not _blank(value):
            node = d if section is None else d.setdefault(section, {})
            if not isinstance(node, dict):
                raise ConfigError(section, f"expected a mapping in {config!r}, got {type(node).__name__}")
            node[key] = str(value).strip()
    return from_dict(apply_overrides(d, _override_lines(overrides)))


def extract_table(spark, config: str = DEFAULT_CONFIG, *, limit: int | str | None = None, **settings) -> dict[str, Any]:
    """Run the configured extract job (``spark.job.run``) on ``job_config(config, **settings)``; returns its summary.

    Everything is validated before Spark reads a table. ``limit``: only the first N documents by id (a
    temporary view), for trying a model on a sample.
    """
    from .spark import io
    from .spark.job import run

    if not _blank(limit) and not (str(limit).strip().isdigit() and int(limit) > 0):
        raise ConfigError("limit", f"expected a positive number of documents, got {limit!r}")
    cfg = job_config(config, **settings)
    if not _blank(limit):  # the first N documents after input.filter, by id
        docs = io.read_input(spark, cfg.input)
        docs.orderBy(cfg.input.id_column).limit(int(limit)).createOrReplaceTempView(INPUT_VIEW)
        cfg = replace(cfg, input=replace(cfg.input, format="delta", path=None, table=INPUT_VIEW, filter=None))
    summary = run(cfg, spark)
    return {
        "output": summary.output,
        "rows": summary.rows,
        "seconds": round(summary.seconds, 3),
        "documents_per_second": round(summary.docs_per_second, 3),
        "status_counts": dict(summary.status_counts),
        "entity_counts": dict(summary.entity_counts),
        "model_version": summary.model_version,
        "schema_hash": summary.schema_hash,
        "mlflow_run_id": summary.mlflow_run_id,
        "precision": cfg.model.precision,
        "backend": cfg.model.backend,
    }


def register(
    checkpoint: str,
    name: str,
    alias: str | None = None,
    metrics_file: str | None = None,
    schema: str | None = None,
    revision: str | None = None,
) -> dict[str, Any]:
    """Register ``checkpoint`` (a folder or a Hugging Face hub id, at ``revision``) as a new version of
    ``name`` (``registry.register_checkpoint``)."""
    from . import registry

    kwargs: dict[str, Any] = {
        "metrics_file": None if _blank(metrics_file) else metrics_file,
        "revision": None if _blank(revision) else str(revision).strip(),
    }
    if not _blank(schema):
        kwargs["schema"] = schema
    reg = registry.register_checkpoint(checkpoint, name, None if _blank(alias) else alias, **kwargs)
    return {
        "uri": reg.uri,
        "name": reg.name,
        "version": reg.version,
        "alias": reg.alias,
        "sha256": reg.sha256,
        "run_id": reg.run_id,
    }


# --------------------------------------------------------------------------------------------
# exploring an output table


@dataclass
class Exploration:
    """Tables (pandas) and figures (matplotlib) describing an extraction output table."""

    documents: int
    status_counts: Any  # status, documents
    entity_counts: Any  # label, mentions, documents
    top_entities: Any  # label, text, mentions (the most frequent per label)
    label_distribution: Any  # task, label, documents
    structures: Any  # structure, id, instance, field, text, score (a sample)
    figures: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Plain values (for ``dbutils.notebook.exit``)."""
        return {
            "documents": self.documents,
            "status": dict(zip(self.status_counts["status"], map(int, self.status_counts["documents"]))),
            "entities": dict(zip(self.entity_counts["label"], map(int, self.entity_counts["mentions"]))),
            "labels": {
                t: dict(zip(g["label"], map(int, g["documents"])))
                for t, g in self.label_distribution.groupby("task", sort=False)
            },
            "figures": sorted(self.figures),
        }


def _read(spark, table: str):
    loc = _location(table, "output_table")
    return spark.table(loc["table"]) if "table" in loc else spark.read.format("delta").load(loc["path"])


def _classification_columns(df) -> list[str]:
    names = {f.name for f in df.schema.fields}
    return [c for c in df.columns if f"{c}_score" in names and c not in ("entities", "relations")]


def _structure_columns(df) -> list[str]:
    from pyspark.sql import types as T

    out = []
    for f in df.schema.fields:
        if f.name in ("entities", "relations"):
            continue
        if isinstance(f.dataType, T.ArrayType) and isinstance(f.dataType.elementType, T.StructType):
            out.append(f.name)
    return out


def explore(
    spark,
    output_table: str,
    *,
    model_version: str | None = None,
    schema_hash: str | None = None,
    id_column: str = "id",
    top: int = _TOP,
    sample: int = 5,
) -> Exploration:
    """Entity counts per type, label distributions, a sample of structures, and their plots.

    Works on any table the job wrote (columns are recognised by shape: ``<task>``/``<task>_score``
    pairs are classifications, other arrays of structs are structures); ``model_version`` and
    ``schema_hash`` narrow it to one model or schema.
    """
    import pandas as pd
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    df = _read(spark, output_table)
    if not _blank(model_version):
        df = df.where(F.col("model_version") == model_version)
    if not _blank(schema_hash):
        df = df.where(F.col("schema_hash") == schema_hash)
    df = df.cache()
    try:
        documents = df.count()
        status = (
            df.groupBy("status")
            .agg(F.count(F.lit(1)).alias("documents"))
            .orderBy(F.desc("documents"), "status")
            .toPandas()
        )
        ents = df.select(F.col(f"`{id_column}`").alias("_doc"), F.explode("entities").alias("e"))
        entity_counts = (
            ents.groupBy(F.col("e.label").alias("label"))
            .agg(F.count(F.lit(1)).alias("mentions"), F.countDistinct("_doc").alias("documents"))
            .orderBy(F.desc("mentions"), "label")
            .toPandas()
        )
        by_text = ents.groupBy(F.col("e.label").alias("label"), F.col("e.text").alias("text")).agg(
            F.count(F.lit(1)).alias("mentions")
        )
        rank = F.row_number().over(Window.partitionBy("label").orderBy(F.desc("mentions"), "text"))
        top_entities = (
            by_text.withColumn("_rank", rank)
            .where(F.col("_rank") <= top)
            .drop("_rank")
            .orderBy("label", F.desc("mentions"), "text")
            .toPandas()
        )
        parts = []
        for c in _classification_columns(df):
            col = F.col(f"`{c}`")
            if isinstance(df.schema[c].dataType, T.ArrayType):
                col = F.explode(col)
            parts.append(
                df.select(col.alias("label"))
                .where(F.col("label").isNotNull())
                .groupBy("label")
                .agg(F.count(F.lit(1)).alias("documents"))
                .withColumn("task", F.lit(c))
                .select("task", "label", "documents")
                .orderBy(F.desc("documents"), "label")
                .toPandas()
            )
        labels = (
            pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"task": [], "label": [], "documents": []})
        )
        structures = _structure_sample(df, id_column, sample)
    finally:
        df.unpersist()
    ex = Exploration(documents, status, entity_counts, top_entities, labels, structures)
    ex.figures = _figures(ex)
    return ex


def _structure_sample(df, id_column: str, sample: int):
    """The first ``sample`` instances of each structure column, one row per filled field."""
    import pandas as pd
    from pyspark.sql import functions as F

    rows = []
    for c in _structure_columns(df):
        got = (
            df.select(F.col(f"`{id_column}`").alias("id"), F.posexplode(f"`{c}`").alias("instance", "inst"))
            .orderBy("id", "instance")
            .limit(sample)
            .collect()
        )
        for r in got:
            for name, value in r["inst"].asDict(recursive=True).items():
                for span in value if isinstance(value, list) else [value]:
                    if span is not None:
                        rows.append(
                            {
                                "structure": c,
                                "id": r["id"],
                                "instance": r["instance"],
                                "field": name,
                                "text": span.get("text"),
                                "score": span.get("score"),
                            }
                        )
    return pd.DataFrame(rows, columns=["structure", "id", "instance", "field", "text", "score"])


def _bar(ax, labels, values, title: str) -> None:
    ax.barh(list(map(str, labels))[::-1], list(values)[::-1], color="#4C72B0")
    ax.set_title(title)
    ax.set_xlabel("count")


def _figures(ex: Exploration) -> dict[str, Any]:
    """One figure per view; ``matplotlib.figure.Figure`` objects (no pyplot state, any backend)."""
    from matplotlib.figure import Figure

    figs: dict[str, Any] = {}
    fig = Figure(figsize=(6, 0.4 * max(3, len(ex.entity_counts)) + 1))
    _bar(fig.subplots(), ex.entity_counts["label"], ex.entity_counts["mentions"], "entity mentions per type")
    fig.tight_layout()
    figs["entities"] = fig
    tasks = list(dict.fromkeys(ex.label_distribution["task"]))
    if tasks:
        fig = Figure(figsize=(6 * len(tasks), 3.5))
        axes = fig.subplots(1, len(tasks), squeeze=False)[0]
        for ax, task in zip(axes, tasks):
            g = ex.label_distribution[ex.label_distribution["task"] == task]
            _bar(ax, g["label"], g["documents"], f"{task}: documents per label")
        fig.tight_layout()
        figs["labels"] = fig
    fig = Figure(figsize=(5, 2.5))
    _bar(fig.subplots(), ex.status_counts["status"], ex.status_counts["documents"], "documents per status")
    fig.tight_layout()
    figs["status"] = fig
    return figs


# --------------------------------------------------------------------------------------------
# what runs cost, from their MLflow records

COSTS = {  # the MLflow metric of each extract run (registry.JobTracker.log_summary): its column, its plot's title
    "cost.cpu_seconds_per_1k_documents": ("cpu_seconds_per_1k_documents", "CPU-seconds per 1,000 documents"),
    "cost.documents_per_second_per_core": ("documents_per_second_per_core", "documents/s per core"),
    "cost.mean_characters": ("mean_characters", "mean characters per document"),
}


@dataclass
class CostHistory:
    runs: Any  # pandas: run_id, started, model_version, output, documents, and one column per COSTS entry
    figure: Any  # matplotlib Figure: each cost over time, one line per model version


def cost_history(output_table: str | None = None, experiment: str | None = None) -> CostHistory:
    """The extract runs recorded in MLflow (``experiment``: the job's, ``registry.experiment_id``), oldest first,
    with what each cost per document; ``output_table`` keeps the runs that wrote there."""
    import mlflow
    import pandas as pd
    from matplotlib.figure import Figure

    from . import registry

    exp = registry.experiment_id(experiment)
    where = "tags.`gliner2.job` = 'extract'"
    if not _blank(output_table):
        output_table = str(output_table).strip()
        if "'" in output_table:
            raise ConfigError("output_table", f"expected a table name or a path without quotes, got {output_table!r}")
        where += f" and params.output = '{output_table}'"
    found = mlflow.search_runs(
        experiment_ids=None if exp is None else [exp], filter_string=where, order_by=["attributes.start_time ASC"]
    )
    columns = ["run_id", "started", "model_version", "output", "documents", *(c for c, _ in COSTS.values())]
    runs = pd.DataFrame(columns=columns)
    if len(found):
        runs = pd.DataFrame(
            {
                "run_id": found["run_id"],
                "started": found["start_time"],
                "model_version": found["params.model_version"],
                "output": found["params.output"],
                "documents": found.get("metrics.documents"),
                **{c: found.get(f"metrics.{m}") for m, (c, _) in COSTS.items()},
            }
        )[columns]
    fig = Figure(figsize=(6 * len(COSTS), 3.5))
    for ax, (column, title) in zip(fig.subplots(1, len(COSTS), squeeze=False)[0], COSTS.values()):
        for version, g in runs.dropna(subset=[column]).groupby("model_version", sort=True):
            ax.plot(g["started"], g[column], marker="o", label=version)
        ax.set_title(title)
        ax.tick_params(axis="x", labelrotation=30)
    if runs["model_version"].nunique():
        fig.axes[0].legend(fontsize="small")
    fig.tight_layout()
    return CostHistory(runs.reset_index(drop=True), fig)


__all__ = ["model_uri", "job_config", "extract_table", "register", "explore", "Exploration", "cost_history"]
