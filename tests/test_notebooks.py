"""The Databricks notebooks, run locally as scripts (``runpy``) with a stand-in for ``dbutils``.

02 registers the tiny checkpoint, 01 extracts the first documents of the sample table by alias into a
catalog table with the shipped configuration (twice: merge mode adds only the new ones), 03 explores that
table and the runs' cost. Each notebook is checked through what it produced: its exit value, the table, its
MLflow runs, and what it displayed (tables, figures).
"""

import hashlib
import json
import os
import re
import runpy
from collections import Counter

import pyarrow.parquet as pq
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(ROOT, "notebooks")
SAMPLE = os.path.join(ROOT, "data", "samples", "documents.parquet")
SCHEMA = os.path.join(ROOT, "conf", "schemas", "default.yaml")


class NotebookExit(Exception):
    def __init__(self, value):
        super().__init__(value)
        self.value = value


class Widgets:
    def __init__(self, params):
        self.params, self.declared = dict(params), {}

    def _declare(self, name, default, choices=None):
        assert name not in self.declared, f"widget {name!r} declared twice"
        self.declared[name] = default
        if choices is not None:
            assert default in choices and self.params.get(name, default) in choices, (name, choices)

    def text(self, name, default, label=None):
        self._declare(name, default)

    def dropdown(self, name, default, choices, label=None):
        self._declare(name, default, choices)

    def get(self, name):
        if name not in self.declared:  # Databricks raises InputWidgetNotDefined
            raise KeyError(f"widget {name!r} is not defined")
        return str(self.params.get(name, self.declared[name]))


class Notebook:
    def exit(self, value):
        raise NotebookExit(value)


class DBUtils:
    """The parts of ``dbutils`` the notebooks use: widgets (job parameters override defaults), exit."""

    def __init__(self, params):
        self.widgets, self.notebook = Widgets(params), Notebook()


def run_notebook(name, spark, **params):
    """Run ``notebooks/<name>.py``; returns (exit value parsed as JSON, displayed objects, dbutils)."""
    path = os.path.join(NOTEBOOKS, f"{name}.py")
    shown = []
    dbutils = DBUtils(params)
    try:
        runpy.run_path(
            path, init_globals={"spark": spark, "dbutils": dbutils, "display": shown.append}, run_name="__main__"
        )
    except NotebookExit as done:
        unknown = set(params) - set(dbutils.widgets.declared)
        assert not unknown, f"{name} has no widgets {unknown}"
        return json.loads(done.value), shown, dbutils
    raise AssertionError(f"{name} did not call dbutils.notebook.exit")


@pytest.fixture(scope="module")
def sample_ids():
    return sorted(pq.read_table(SAMPLE, columns=["id"]).column("id").to_pylist())


@pytest.mark.parametrize("name", ["01_extract", "02_register_model", "03_explore_results"])
def test_notebooks_are_databricks_source_files(name):
    with open(os.path.join(NOTEBOOKS, f"{name}.py")) as fh:
        text = fh.read()
    assert text.startswith("# Databricks notebook source\n")
    cells = text.split("\n# COMMAND ----------\n")
    assert len(cells) >= 3 and "# MAGIC %md" in cells[0]
    compile(text, name, "exec")
    # thin: widgets, then calls into gliner2_udf; no function or class defined in a notebook
    assert not re.search(r"^\s*(def|class) ", text, re.M)
    assert "from gliner2_udf.notebooks import" in text


@pytest.fixture(scope="module")
def registered(spark, tiny_checkpoint):
    return run_notebook(
        "02_register_model", spark, checkpoint=tiny_checkpoint, model_name="nb-tiny", alias="champion", schema=SCHEMA
    )


def test_02_registers_the_checkpoint_under_the_alias(registered, tiny_checkpoint):
    from mlflow import MlflowClient

    value, shown, dbutils = registered
    with open(os.path.join(tiny_checkpoint, "model.safetensors"), "rb") as fh:
        sha = hashlib.sha256(fh.read()).hexdigest()
    assert (value["uri"], value["alias"], value["sha256"]) == ("models:/nb-tiny/1", "champion", sha)
    assert str(MlflowClient().get_model_version_by_alias("nb-tiny", "champion").version) == "1"
    assert set(dbutils.widgets.declared) == {"checkpoint", "model_name", "alias", "metrics_file", "schema"}
    assert dbutils.widgets.declared["schema"] == SCHEMA  # the default: the repository's, from the notebook's folder


@pytest.fixture(scope="module")
def extracted(spark, registered, sample_ids):
    first = run_notebook(
        "01_extract",
        spark,
        input_table=SAMPLE,
        schema=SCHEMA,
        model_name="nb-tiny",
        model_alias="champion",
        output_table="nb_extractions",
        limit="30",
    )
    grown = run_notebook(
        "01_extract",
        spark,
        input_table=SAMPLE,
        schema=SCHEMA,
        model_name="nb-tiny",
        model_alias="1",
        output_table="nb_extractions",
        limit="36",
    )
    return first, grown


def test_01_extracts_the_first_documents_by_alias_then_merges_only_new_ones(spark, extracted, sample_ids):
    (first, _, dbutils), (grown, _, _) = extracted
    assert set(dbutils.widgets.declared) == {
        "config",
        "input_table",
        "schema",
        "model_name",
        "model_alias",
        "output_table",
        "mode",
        "precision",
        "backend",
        "limit",
        "overrides",
    }
    assert dbutils.widgets.declared["config"] == "conf/local.yaml"
    assert first["rows"] == 30 and grown["rows"] == 6  # merge: the 6 new documents only
    assert first["model_version"] == grown["model_version"] == "models:/nb-tiny/1"
    assert first["output"] == "nb_extractions" and sum(first["status_counts"].values()) == 30
    rows = spark.table("nb_extractions").collect()
    assert sorted(r["id"] for r in rows) == sample_ids[:36]
    assert {r["model_version"] for r in rows} == {"models:/nb-tiny/1"}
    assert {"person", "organization", "category", "sentiment", "invoice_line", "purchase"} <= set(rows[0].asDict())
    from mlflow import MlflowClient

    run = MlflowClient().get_run(first["mlflow_run_id"])
    assert run.data.metrics["documents"] == 30 and run.data.params["model_uri"] == "models:/nb-tiny@champion"
    # the shipped setting of conf/local.yaml, as jobs/extract.py runs it, and what it resolved to
    params = run.data.params
    assert (params["config.model.precision"], params["config.model.backend"]) == ("int8", "auto")
    assert (params["runtime.precision"], params["runtime.backend"]) == ("int8", "onnx")
    assert (params["config.batch_size"], params["config.input.passthrough"]) == ("4", '["source"]')
    assert (first["precision"], first["backend"]) == ("int8", "auto")


def test_01_widgets_override_the_file_and_are_checked_before_spark_reads(spark, tiny_checkpoint):
    from gliner2_udf.config import ConfigError

    missing = "/nonexistent/docs.parquet"  # reading it would be a Spark AnalysisException, not a ConfigError
    cases = [
        ({"precision": "int4"}, r"^model\.precision: "),
        ({"mode": "upsert"}, r"^output\.mode: "),
        ({"limit": "-3"}, r"^limit: expected a positive number"),
        ({"overrides": "batch_size=8; threshold=2"}, r"^threshold: "),
        ({"overrides": "batch_size"}, r"^--set: expected key.path=value"),
    ]
    for widgets, message in cases:
        with pytest.raises(ConfigError, match=message):
            run_notebook("01_extract", spark, input_table=missing, output_table="nb_never", **widgets)
    assert not spark.catalog.tableExists("nb_never")


def test_job_config_layers_file_widgets_and_overrides(tmp_path):
    from gliner2_udf.notebooks import job_config

    local = os.path.join(ROOT, "conf", "local.yaml")
    base = job_config(local)
    assert (base.input.path, base.output.path, base.model.precision) == (
        "data/samples/documents.parquet",
        "output/extractions",
        "int8",
    )
    cfg = job_config(
        local,
        input_table="main.docs.news",
        output_table="/tmp/out/extractions",
        schema=SCHEMA,
        model="models:/m@champion",
        mode="append",
        precision="fp32",
        backend="torch",
        overrides="batch_size=16\nthreshold=0.3; input.passthrough=[]",
    )
    assert (cfg.input.format, cfg.input.table, cfg.input.path) == ("delta", "main.docs.news", None)
    assert (cfg.output.path, cfg.output.table, cfg.output.mode) == ("/tmp/out/extractions", None, "append")
    assert (cfg.model.path, cfg.model.precision, cfg.model.backend) == ("models:/m@champion", "fp32", "torch")
    assert (cfg.options.batch_size, cfg.options.threshold, cfg.input.passthrough) == (16, 0.3, ())
    # blank widgets keep the file's values
    same = job_config(local, input_table=" ", output_table="", schema=None, mode="", precision="", overrides="")
    assert same == base


def test_03_explores_entities_labels_and_structures(spark, extracted):
    from matplotlib.figure import Figure

    value, shown, _ = run_notebook("03_explore_results", spark, output_table="nb_extractions")
    shown = shown[:-2]  # the cost table and figure: test_03_plots_the_cost_of_the_runs
    rows = [r.asDict(recursive=True) for r in spark.table("nb_extractions").collect()]
    mentions = Counter(e["label"] for r in rows for e in r["entities"])
    categories = Counter(r["category"] for r in rows if r["category"] is not None)
    statuses = Counter(r["status"] for r in rows)
    assert value["documents"] == len(rows) == 36
    assert value["entities"] == dict(mentions) and value["status"] == dict(statuses)
    assert value["labels"]["category"] == dict(categories)
    assert set(value["labels"]) == {"category", "sentiment"} and value["figures"] == ["entities", "labels", "status"]

    tables = [x for x in shown if hasattr(x, "columns")]
    figures = [x for x in shown if isinstance(x, Figure)]
    assert [list(t.columns) for t in tables] == [
        ["label", "mentions", "documents"],
        ["label", "text", "mentions"],
        ["task", "label", "documents"],
        ["structure", "id", "instance", "field", "text", "score"],
        ["status", "documents"],
    ]
    counts, top, labels, structures, status = tables
    docs_with = Counter(label for r in rows for label in {e["label"] for e in r["entities"]})
    assert dict(zip(counts["label"], counts["documents"])) == dict(docs_with)
    texts = Counter((e["label"], e["text"]) for r in rows for e in r["entities"])
    for _, t in top.iterrows():
        assert texts[(t["label"], t["text"])] == t["mentions"]
    for _, s in structures.iterrows():
        assert s["structure"] in ("invoice_line", "purchase") and s["field"] in (
            "item",
            "quantity",
            "unit_price",
            "buyer",
            "seller",
            "products",
            "total",
        )
    # the bar charts show the same numbers as the tables
    assert len(figures) == 3
    bars = {
        t.get_text(): p.get_width() for t, p in zip(figures[0].axes[0].get_yticklabels(), figures[0].axes[0].patches)
    }
    assert bars == {k: float(v) for k, v in mentions.items()}
    assert [ax.get_title() for ax in figures[1].axes] == [
        "category: documents per label",
        "sentiment: documents per label",
    ]
    assert sum(p.get_width() for p in figures[2].axes[0].patches) == 36


def test_03_plots_the_cost_of_the_runs(spark, extracted):
    from matplotlib.figure import Figure
    from mlflow import MlflowClient

    (first, _, _), (grown, _, _) = extracted
    value, shown, _ = run_notebook("03_explore_results", spark, output_table="nb_extractions")
    runs, figure = shown[-2:]
    assert isinstance(figure, Figure)
    assert value["runs"] == list(runs["run_id"]) == [first["mlflow_run_id"], grown["mlflow_run_id"]]
    client = MlflowClient()
    for _, r in runs.iterrows():
        metrics = client.get_run(r["run_id"]).data.metrics
        assert r["model_version"] == "models:/nb-tiny/1" and r["documents"] == metrics["documents"]
        assert r["cpu_seconds_per_1k_documents"] == metrics["cost.cpu_seconds_per_1k_documents"] > 0
        assert r["documents_per_second_per_core"] == pytest.approx(metrics["documents_per_second"] / 2)
    # the sample's documents, counted here: the mean characters of the first 30, then of the 6 added
    texts = dict(zip(*pq.read_table(SAMPLE, columns=["id", "text"]).to_pydict().values()))
    ordered = [len(texts[i]) for i in sorted(texts)]
    assert list(runs["mean_characters"]) == pytest.approx([sum(ordered[:30]) / 30, sum(ordered[30:36]) / 6])
    assert [ax.get_title() for ax in figure.axes] == [
        "CPU-seconds per 1,000 documents",
        "documents/s per core",
        "mean characters per document",
    ]
    line = figure.axes[2].get_lines()[0]
    assert line.get_label() == "models:/nb-tiny/1" and list(line.get_ydata()) == list(runs["mean_characters"])
