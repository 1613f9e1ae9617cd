"""End to end on a real SparkSession (local[2]) with real Delta tables and a tiny random checkpoint.

The slow test at the bottom starts a 2-executor ``local-cluster`` and must stay the last test here:
it stops this module's local session.
"""

import datetime as dt
import hashlib
import os
import re
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gliner2_udf import compile_schema
from gliner2_udf.config import from_dict
from gliner2_udf.options import ExtractOptions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCHEMA = {
    "entities": ["person", "company"],
    "classifications": [
        {"name": "sentiment", "labels": ["positive", "negative", "neutral"]},
        {"name": "topics", "labels": ["tech", "finance", "sport"], "multi_label": True},
    ],
    "structures": [
        {
            "name": "deal",
            "fields": [
                {"name": "buyer", "dtype": "str"},
                {"name": "items", "dtype": "list"},
                {"name": "currency", "dtype": "str", "choices": ["usd", "eur"]},
            ],
        }
    ],
}
GOOD = {
    "doc-01": "Tim Cook of Apple announced a deal with Acme in Berlin.",
    "doc-02": "Invoice 77 from Acme to Apple: 3 chips at $5.00, total $15.00.",
    "doc-03": "The new Acme laptop is great, battery life is superb.",
    "doc-04": "Support ticket: Jane cannot log in after the update.",
    "doc-05": "Paris, May 3 - Acme cuts 300 jobs, said Tim.",
    "doc-06": "Terrible purchase. The headphones broke after a day.",
    "doc-07": "Apple buys Acme for 2 billion dollars, Tim Cook said.",
    "doc-08": "Total due: $99.00 by June 1. Contact: Jane Doe.",
}
BAD = {"bad-null": None, "bad-empty": "", "bad-space": "   \n ", "bad-ctrl": "\x00\x01", "bad-long": "word " * 40000}
EXPECTED_STATUS = {
    "bad-null": ("empty", "text is null"),
    "bad-empty": ("empty", "text is empty"),
    "bad-space": ("empty", "text has only whitespace (5 characters)"),
    "bad-ctrl": ("empty", "text has only control characters (2 characters)"),
    "bad-long": ("truncated", "text has 200000 characters; extracted from the first 1999 (max_chars=2000)"),
}
SPAN = "struct<text:string,score:double,start:int,end:int>"


def write_docs(path, docs):
    ids = list(docs)
    pq.write_table(
        pa.table(
            {
                "id": ids,
                "source": ["bad" if i and i.startswith("bad") else "news" for i in ids],
                "text": [docs[i] for i in ids],
            }
        ),
        path,
    )
    return path


def job(inp, out, ckpt, fmt="parquet", mode="merge", out_fmt="delta", **extra):
    return from_dict(
        {
            "input": {"format": fmt, "path": inp, "passthrough": ["source"]},
            "schema": SCHEMA,
            "model": {"path": ckpt},
            "output": {"format": out_fmt, "path": out, "mode": mode},
            "batch_size": 4,
            "arrow_records_per_batch": 8,
            "max_chars": 2000,
            **extra,
        }
    )


@pytest.fixture(scope="module")
def first_run(spark, tiny_checkpoint, tmp_path_factory):
    """Parquet (good and bad documents) -> Delta in merge mode, once for the module."""
    from gliner2_udf.spark import run

    tmp = tmp_path_factory.mktemp("job")
    inp = write_docs(str(tmp / "docs.parquet"), {**GOOD, **BAD})
    cfg = job(inp, str(tmp / "out"), tiny_checkpoint)
    summary = run(cfg, spark)
    return cfg, summary, spark.read.format("delta").load(cfg.output.path)


def test_parquet_to_delta_types_and_one_row_per_id(first_run, tiny_checkpoint):
    cfg, summary, out = first_run
    assert [(f.name, f.dataType.simpleString()) for f in out.schema.fields] == [
        ("id", "string"),
        ("source", "string"),
        ("entities", "array<struct<label:string,text:string,start:int,end:int,score:double>>"),
        ("person", "array<string>"),
        ("company", "array<string>"),
        ("sentiment", "string"),
        ("sentiment_score", "double"),
        ("topics", "array<string>"),
        ("topics_score", "array<double>"),
        ("deal", f"array<struct<buyer:{SPAN},items:array<{SPAN}>,currency:{SPAN}>>"),
        ("status", "string"),
        ("error", "string"),
        ("model_version", "string"),
        ("schema_hash", "string"),
        ("extracted_at", "timestamp"),
    ]
    rows = out.collect()
    assert sorted(r["id"] for r in rows) == sorted({**GOOD, **BAD})
    with open(os.path.join(tiny_checkpoint, "model.safetensors"), "rb") as fh:
        sha = hashlib.sha256(fh.read()).hexdigest()[:12]
    assert {r["model_version"] for r in rows} == {f"{os.path.basename(tiny_checkpoint)}@{sha}"}
    assert {r["schema_hash"] for r in rows} == {compile_schema(SCHEMA).schema_hash}
    assert len({r["extracted_at"] for r in rows}) == 1
    assert summary.rows == len(rows) and summary.status_counts == {"ok": 8, "empty": 4, "truncated": 1}
    assert summary.docs_per_second > 0


def test_bad_rows_get_a_status_and_a_message(first_run):
    _, _, out = first_run
    rows = {r["id"]: r for r in out.collect()}
    for doc_id, (status, message) in EXPECTED_STATUS.items():
        assert (rows[doc_id]["status"], rows[doc_id]["error"]) == (status, message), doc_id
    for doc_id in ("bad-null", "bad-empty", "bad-space", "bad-ctrl"):
        r = rows[doc_id]
        assert r["entities"] == [] and r["person"] == [] and r["deal"] == [] and r["sentiment"] is None
    for doc_id in GOOD:
        assert (rows[doc_id]["status"], rows[doc_id]["error"]) == ("ok", None)
        assert rows[doc_id]["sentiment"] in ("positive", "negative", "neutral")


def test_offsets_point_into_the_document(first_run):
    _, _, out = first_run
    texts = {**GOOD, **BAD}
    checked = 0
    for r in out.collect():
        for e in r["entities"]:
            assert texts[r["id"]][e["start"] : e["end"]] == e["text"]
            assert e["label"] in ("person", "company") and e["score"] >= 0.5
            checked += 1
        assert r["person"] == [e["text"] for e in r["entities"] if e["label"] == "person"]
        for inst in r["deal"]:
            for s in [inst["buyer"], *inst["items"]]:
                if s is not None:
                    assert texts[r["id"]][s["start"] : s["end"]] == s["text"]
            if inst["currency"] is not None:
                assert inst["currency"]["text"] in ("usd", "eur") and inst["currency"]["start"] is None
    assert checked > 0  # the random tiny model finds something at threshold 0.5


def test_merge_rerun_adds_nothing_and_grown_input_adds_only_new_ids(spark, first_run, tiny_checkpoint, tmp_path):
    from gliner2_udf.spark import run

    cfg, _, _ = first_run
    before = {r["id"]: r["extracted_at"] for r in spark.read.format("delta").load(cfg.output.path).collect()}
    again = run(cfg, spark)
    assert again.rows == 0
    after = spark.read.format("delta").load(cfg.output.path)
    assert after.count() == len(before)
    new = {
        "doc-09": "Acme hires Tim as chief executive.",
        "doc-10": "Jane loves the Apple watch.",
        "doc-11": "Refund for order 12 is late.",
    }
    # a row without an id cannot be keyed: merge mode leaves it out
    grown = write_docs(str(tmp_path / "grown.parquet"), {**GOOD, **BAD, **new, None: "No id here."})
    summary = run(job(grown, cfg.output.path, tiny_checkpoint), spark)
    assert summary.rows == 3 and summary.status_counts == {"ok": 3}
    rows = spark.read.format("delta").load(cfg.output.path).collect()
    assert sorted(r["id"] for r in rows) == sorted([*before, *new])
    assert {r["id"]: r["extracted_at"] for r in rows if r["id"] in before} == before  # old rows untouched
    assert len({r["extracted_at"] for r in rows if r["id"] in new}) == 1


def test_delta_table_to_delta_table_matches_the_parquet_run(spark, first_run, tiny_checkpoint):
    """Delta -> Delta by catalog table name (read with spark.table, written with saveAsTable)."""
    from gliner2_udf.spark import run

    cfg, _, first = first_run
    spark.read.parquet(cfg.input.path).write.format("delta").saveAsTable("docs_delta")
    cfg2 = from_dict(
        {
            "input": {"format": "delta", "table": "default.docs_delta", "passthrough": ["source"]},
            "schema": SCHEMA,
            "model": {"path": tiny_checkpoint},
            "max_chars": 2000,
            "output": {"format": "delta", "table": "extractions", "mode": "append"},
        }
    )
    summary = run(cfg2, spark)
    assert summary.rows == len(GOOD) + len(BAD) and summary.output == "extractions"
    cols = ["id", "source", "entities", "sentiment", "topics", "deal", "status", "error", "schema_hash"]
    got = {r["id"]: r for r in spark.table("extractions").select(cols).collect()}
    want = {r["id"]: r for r in first.select(cols).collect() if r["id"] in got}
    assert set(got) == set(want)
    for doc_id in got:
        assert_rows_close(got[doc_id].asDict(recursive=True), want[doc_id].asDict(recursive=True))


def test_path_distribution_matches_broadcast(spark, tiny_checkpoint):
    from gliner2_udf import GLiNER2
    from gliner2_udf.spark import extract

    df = spark.createDataFrame([(k, v) for k, v in GOOD.items()], "id string, text string").repartition(2)
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    by_path = extract(df, tiny_checkpoint, SCHEMA, options=ExtractOptions(batch_size=4), extracted_at=at).collect()
    by_bc = extract(
        df, GLiNER2.from_pretrained(tiny_checkpoint), SCHEMA, options=ExtractOptions(batch_size=4), extracted_at=at
    ).collect()
    a = {r["id"]: r.asDict(recursive=True) for r in by_path}
    b = {r["id"]: r.asDict(recursive=True) for r in by_bc}
    assert set(a) == set(GOOD) and {r["model_version"] for r in by_path} == {r["model_version"] for r in by_bc}
    assert {r["extracted_at"] for r in by_path} == {at.astimezone().replace(tzinfo=None)}
    for k in a:
        assert_rows_close(a[k], b[k])


def test_int8_torch_workers_by_path_and_by_broadcast_agree(spark, tiny_deberta_checkpoint):
    """Python workers load int8/torch inference_only (converted in place, no fp32 weights kept; in process that
    gives the results of the int8 model that keeps fp32, test_precision.py): by path and by broadcast, the same rows."""
    from gliner2_udf import GLiNER2
    from gliner2_udf.spark import extract

    df = spark.createDataFrame([(k, v) for k, v in GOOD.items()], "id string, text string").repartition(2)
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    kw = dict(options=ExtractOptions(batch_size=4), extracted_at=at)
    local = GLiNER2.from_pretrained(tiny_deberta_checkpoint, precision="int8", backend="torch")
    by_path = extract(df, tiny_deberta_checkpoint, SCHEMA, precision="int8", backend="torch", **kw).collect()
    by_bc = extract(df, local, SCHEMA, **kw).collect()
    assert local.network is not None  # the driver's model keeps fp32 for saving and pickling
    a = {r["id"]: r.asDict(recursive=True) for r in by_path}
    b = {r["id"]: r.asDict(recursive=True) for r in by_bc}
    assert set(a) == set(GOOD) and {r["status"] for r in by_path} == {"ok"}
    for k in a:
        assert_rows_close(a[k], b[k])


def test_null_and_repeated_ids_follow_the_policy_and_are_counted(spark, tiny_checkpoint, tmp_path):
    """7 rows: 2 ids repeated (one with other texts, one with the same text from another source), 1 null id.
    Merge mode extracts one row per id (the first by text, then by source) and none without an id; append mode
    extracts all 7. Both say so in the summary and in the MLflow run."""
    import mlflow

    from gliner2_udf.spark import run
    from gliner2_udf.spark.io import InputCounts

    rows = [
        ("a", "web", "Tim Cook of Apple met Acme."),
        ("a", "web", "Acme bought Apple."),  # kept for "a": first by text
        ("b", "news", "Jane loves the new watch."),
        ("b", "blog", "Jane loves the new watch."),  # kept for "b": same text, first by source
        ("c", "news", "Paris: Acme cuts jobs."),
        (None, "news", "A row without an id."),
        ("d", "news", "Invoice 7 from Acme."),
    ]
    inp = str(tmp_path / "docs.parquet")
    pq.write_table(pa.table({k: [r[i] for r in rows] for i, k in enumerate(["id", "source", "text"])}), inp)
    counts = InputCounts(rows=7, null_ids=1, repeated_ids=2)
    merged = run(job(inp, str(tmp_path / "merged"), tiny_checkpoint), spark)
    assert (merged.input, merged.rows) == (counts, 4)
    got = {r["id"]: r["source"] for r in spark.read.format("delta").load(str(tmp_path / "merged")).collect()}
    assert got == {"a": "web", "b": "blog", "c": "news", "d": "news"}
    assert (
        "input rows:    7; 1 without an id, 2 repeat an id (merge mode extracts one row per id, the first by text"
        in (merged.format())
    )
    metrics = mlflow.get_run(merged.mlflow_run_id).data.metrics
    assert (metrics["input.rows"], metrics["input.null_ids"], metrics["input.repeated_ids"]) == (7, 1, 2)
    appended = run(job(inp, str(tmp_path / "appended"), tiny_checkpoint, mode="append"), spark)
    assert (appended.input, appended.rows) == (counts, 7)
    assert "2 repeat an id (append mode extracts every row)" in appended.format()


@pytest.mark.parametrize(
    "mode,extra",
    [
        ("merge", {}),
        ("append", {}),
        ("overwrite", {}),
        ("merge", {"output": {"commit_every": 10}}),
        ("merge", {"stream": {"checkpoint": "CHECKPOINT"}}),
    ],
)
def test_an_input_with_zero_rows_works_in_every_mode(spark, tiny_checkpoint, tmp_path, mode, extra):
    """Zero rows: the run succeeds, writes an empty output table with every result column, and runs again."""
    from gliner2_udf.spark import run

    empty = spark.createDataFrame([], "id string, source string, text string")
    inp, out = str(tmp_path / "docs"), str(tmp_path / "out")
    fmt = "delta" if "stream" in extra else "parquet"
    empty.write.format(fmt).save(inp)
    d = {
        "input": {"format": fmt, "path": inp, "passthrough": ["source"]},
        "schema": SCHEMA,
        "model": {"path": tiny_checkpoint},
        "output": {"format": "delta", "path": out, "mode": mode, **extra.get("output", {})},
    }
    if "stream" in extra:
        d["stream"] = {"checkpoint": str(tmp_path / "checkpoint")}
    cfg = from_dict(d)
    for _ in range(2):
        summary = run(cfg, spark)
        assert (summary.rows, summary.input.rows) == (0, 0)
        table = spark.read.format("delta").load(out)
        assert table.count() == 0 and {"id", "source", "entities", "deal", "status", "schema_hash"} <= set(
            table.columns
        )


def test_progress_is_reported_while_the_job_runs_and_the_run_records_its_cost(spark, tiny_checkpoint, tmp_path, capsys):
    from mlflow import MlflowClient

    from gliner2_udf.spark import run

    texts = list(GOOD.values())
    docs = {f"p-{i:03d}": f"{texts[i % len(texts)]} Item {i}." for i in range(192)}
    inp = write_docs(str(tmp_path / "docs.parquet"), docs)
    cfg = job(inp, str(tmp_path / "out"), tiny_checkpoint, documents_per_task=4, progress_seconds=0.1)
    summary = run(cfg, spark)
    assert summary.rows == 192
    client = MlflowClient()
    record = client.get_run(summary.mlflow_run_id)
    history = sorted(client.get_metric_history(summary.mlflow_run_id, "progress.documents"), key=lambda m: m.step)
    values = [m.value for m in history]
    assert values == sorted(values) and values[-1] == 192
    during = [m for m in history if 0 < m.value < 192]
    assert during, f"no partial progress was recorded: {values}"  # 48 tasks of 4 documents, a report every 0.1 s
    assert all(m.timestamp <= record.info.end_time for m in history)
    fractions = {m.step: m.value for m in client.get_metric_history(summary.mlflow_run_id, "progress.fraction")}
    assert all(fractions[m.step] == pytest.approx(m.value / 192) for m in history)
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("progress: ")]
    assert len(lines) == len(history) and lines[-1].startswith("progress: 192/192 documents (100%) in ")
    assert any(re.match(r"progress: \d+/192 documents \(\d+%\) in .*left \(ends about", x) for x in lines)
    # what the run cost: every document once, its characters counted here
    metrics = record.data.metrics
    assert summary.usage.documents == 192
    assert metrics["cost.mean_characters"] == pytest.approx(sum(map(len, docs.values())) / 192)
    assert metrics["cost.documents_per_second_per_core"] == pytest.approx(metrics["documents_per_second"] / 2)
    cores_seconds_per_1k = 1000 * metrics["seconds"] * 2 / 192  # the CPU the two task slots had
    assert 0 < metrics["cost.cpu_seconds_per_1k_documents"] <= cores_seconds_per_1k
    assert "cost:" in summary.format() and "per core (2 cores)" in summary.format()


@pytest.mark.parametrize(
    "documents, cores, per_task, tasks",
    [(1200, 2, 250, 6), (0, 2, 250, 2), (10, 4, 250, 4), (1001, 2, 500, 4), (100_000, 16, 250, 400)],
)
def test_tasks_come_in_whole_waves_of_at_most_per_task_documents(documents, cores, per_task, tasks):
    from gliner2_udf.spark.job import task_count

    assert task_count(documents, cores, per_task) == tasks


def test_local_masters_give_a_task_four_attempts(spark):
    """Spark runs a task on ``local[N]`` once; the session asks for ``local[N,4]`` (cluster masters unchanged)."""
    from gliner2_udf.spark.session import task_attempts, with_local_retries

    assert spark.sparkContext.master == "local[2,4]" and task_attempts(spark) == 4
    assert [with_local_retries(m) for m in ("local", "local[*]", "local[3]", "local[2,1]", "yarn")] == [
        "local[1,4]",
        "local[*,4]",
        "local[3,4]",
        "local[2,1]",
        "yarn",
    ]
    assert with_local_retries("local-cluster[2,1,1024]") == "local-cluster[2,1,1024]"


def assert_rows_close(a, b, tol=1e-5):
    """Equal, except floats within ``tol`` (batches of other sizes pad differently)."""
    if isinstance(a, float) and isinstance(b, float):
        assert abs(a - b) <= tol
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_rows_close(a[k], b[k], tol)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_rows_close(x, y, tol)
    else:
        assert a == b


def test_malformed_config_fails_before_spark_starts(tmp_path):
    cmd = [
        sys.executable,
        os.path.join(ROOT, "jobs", "extract.py"),
        "--config",
        os.path.join(ROOT, "conf", "local.yaml"),
    ]
    for extra, message in [
        (["--set", "batch_size=0"], "batch_size: expected an integer in [1, 1024], got 0"),
        (["--set", "output.modes=merge"], "output.modes: unknown key"),
        (["--set", f"model.path={tmp_path}/none"], "model.path: expected a checkpoint folder"),
        (["--set", "input.passthrough=[status]"], "input.passthrough[0]: 'status' is an output"),
        (["--set", "model.precision=bf16", "--set", "model.backend=onnx"], "model.precision: bf16 is a torch-"),
        (["--set", "schema.entities=[]"], "schema: --set 'schema.entities=[]': this key is not a section"),
    ]:
        p = subprocess.run(cmd + extra, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert p.returncode == 2, p.stderr
        assert p.stderr.startswith("configuration error: ") and message in p.stderr
        assert "Spark" not in p.stderr + p.stdout and "ivy" not in (p.stderr + p.stdout).lower()


@pytest.mark.slow
def test_plain_spark_submit_from_the_repository_root_adds_delta(tiny_checkpoint, tmp_path):
    """``spark-submit --master local[1] jobs/extract.py --config FILE`` as a user types it (the venv on PATH, no
    SPARK_CONF_DIR, no --packages): the job starts itself once more with Delta and writes the table."""
    import json

    inp = write_docs(str(tmp_path / "docs.parquet"), GOOD)
    out = str(tmp_path / "out")
    conf = tmp_path / "job.yaml"
    conf.write_text(
        json.dumps(
            {
                "input": {"path": inp, "passthrough": ["source"]},
                "schema": SCHEMA,
                "model": {"path": tiny_checkpoint},
                "output": {"path": out},
                "spark": {"conf": {"spark.sql.shuffle.partitions": 2}},
            }
        )
    )
    bin_dir = os.path.dirname(sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_")) or k == "SPARK_LOCAL_IP"}
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    p = subprocess.run(
        ["spark-submit", "--master", "local[1]", "jobs/extract.py", "--config", str(conf)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    said = p.stdout + p.stderr  # spark-submit passes the Python driver's stderr on to its stdout
    assert said.count("Delta Lake is not on this spark-submit's classpath; starting it again") == 1
    assert f"rows written:  {len(GOOD)} " in said
    assert len(pq.ParquetDataset(out).read().column("id")) == len(GOOD)


@pytest.mark.parametrize(
    "field,value", [("text_column", "body"), ("id_column", "doc_id"), ("passthrough", ["source", "lang"])]
)
def test_input_column_missing_from_the_table_is_one_line_exit_2_and_writes_nothing(
    spark, tiny_checkpoint, tmp_path, capsys, field, value
):
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("job_extract", os.path.join(ROOT, "jobs", "extract.py"))
    extract_job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extract_job)
    inp = write_docs(str(tmp_path / "docs.parquet"), GOOD)  # columns: id, source, text
    out = tmp_path / "out"
    conf = tmp_path / "job.yaml"
    conf.write_text(
        json.dumps(
            {
                "input": {"path": inp, field: value},
                "schema": SCHEMA,
                "model": {"path": tiny_checkpoint},
                "output": {"path": str(out)},
            }
        )
    )
    assert extract_job.main(["--config", str(conf)]) == 2
    err = capsys.readouterr().err
    key, name = (f"input.{field}", value) if field != "passthrough" else ("input.passthrough[1]", "lang")
    assert err == (
        f"configuration error: {key}: column {name!r} is not in the input table (columns: id, source, text)\n"
    )
    assert not out.exists()


def test_a_text_column_that_is_not_text_is_one_line_exit_2_and_writes_nothing(spark, tiny_checkpoint, tmp_path, capsys):
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("job_extract", os.path.join(ROOT, "jobs", "extract.py"))
    extract_job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extract_job)
    inp = str(tmp_path / "numbers.parquet")
    pq.write_table(pa.table({"id": ["a", "b"], "text": [1, 2]}), inp)
    out = tmp_path / "out"
    conf = tmp_path / "job.yaml"
    conf.write_text(
        json.dumps(
            {"input": {"path": inp}, "schema": SCHEMA, "model": {"path": tiny_checkpoint}, "output": {"path": str(out)}}
        )
    )
    assert extract_job.main(["--config", str(conf)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "configuration error: input.text_column: expected a string or binary column, 'text' is bigint"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "condition,reason", [("lang = 'en'", "UNRESOLVED_COLUMN"), ("source = ", "PARSE_SYNTAX_ERROR")]
)
def test_input_filter_that_spark_cannot_analyse_is_a_config_error(spark, tmp_path, condition, reason):
    from gliner2_udf.config import InputConfig
    from gliner2_udf.errors import ConfigError
    from gliner2_udf.spark import io

    inp = write_docs(str(tmp_path / "docs.parquet"), {**GOOD, "bad-1": "x"})  # source: news, ..., bad
    with pytest.raises(ConfigError, match=rf"^input\.filter: expected a Spark SQL condition .*{reason}"):
        io.read_input(spark, InputConfig(path=inp, filter=condition))
    assert io.read_input(spark, InputConfig(path=inp, filter="source = 'bad'")).count() == 1


def test_spark_defaults_file_mirrors_session_constants():
    from gliner2_udf.spark.session import DELTA_EXCLUDES, DELTA_PACKAGE

    with open(os.path.join(ROOT, "conf", "spark", "spark-defaults.conf")) as fh:
        conf = dict(line.split(None, 1) for line in fh.read().splitlines() if line and not line.startswith("#"))
    assert conf["spark.jars.packages"].strip() == DELTA_PACKAGE
    assert conf["spark.jars.excludes"].strip() == DELTA_EXCLUDES


# --------------------------------------------------------------------------------------------
# multi-executor: keep last (it stops the module's local session)


@pytest.mark.slow
def test_local_cluster_loads_model_once_per_worker_and_matches_local(spark, tiny_checkpoint, tmp_path):
    from pyspark.sql import SparkSession

    from gliner2_udf import GLiNER2
    from gliner2_udf.spark import extract
    from gliner2_udf.spark.session import get_session

    docs = [(f"{k}-{i}", v) for i in range(2) for k, v in GOOD.items()]  # 16 documents, 4 partitions
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    model = GLiNER2.from_pretrained(tiny_checkpoint)

    def run_on(session):
        df = session.createDataFrame(docs, "id string, text string").repartition(4, "id")
        out = extract(
            df,
            model,
            SCHEMA,
            options=ExtractOptions(batch_size=4, threads=1),
            arrow_records_per_batch=2,
            extracted_at=at,
        )
        return {r["id"]: r.asDict(recursive=True) for r in out.collect()}

    local = run_on(spark)
    spark.stop()
    log = tmp_path / "loads.log"
    cluster = get_session(
        "gliner2-cluster-test",
        master="local-cluster[2,1,1024]",
        conf={
            "spark.executorEnv.GLINER2_UDF_LOAD_LOG": str(log),
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "4",
        },
    )
    try:
        assert cluster.sparkContext.master == "local-cluster[2,1,1024]"
        remote = run_on(cluster)
    finally:
        cluster.stop()
        SparkSession._instantiatedSession = None
    loads = log.read_text().splitlines()
    pids = {line.split()[0] for line in loads}
    # 4 tasks of 4 documents in 2 batches each ran on 2 executors; each executor's Python worker
    # unpickled the broadcast model exactly once
    assert len(loads) == 2 and len(pids) == 2, loads
    assert all(line.split()[1] == "broadcast" for line in loads)
    assert set(remote) == set(local) == {d[0] for d in docs}
    for k in local:
        assert_rows_close(remote[k], local[k])


@pytest.mark.slow
def test_fast_path_python_workers_never_import_torch(tiny_checkpoint, tmp_path):
    """int8/onnx broadcasts its lite folder: the executor's Python worker runs it on ONNX Runtime and numpy."""
    from pyspark.sql import SparkSession

    from gliner2_udf import GLiNER2
    from gliner2_udf.spark import extract
    from gliner2_udf.spark.session import get_session

    model = GLiNER2.from_pretrained(tiny_checkpoint, precision="int8", backend="onnx")
    docs = list(GOOD.items())
    log = tmp_path / "loads.log"
    SparkSession.getActiveSession() and SparkSession.getActiveSession().stop()
    cluster = get_session(
        "gliner2-lite-test",
        master="local-cluster[1,1,1024]",
        conf={"spark.executorEnv.GLINER2_UDF_LOAD_LOG": str(log), "spark.ui.showConsoleProgress": "false"},
    )
    try:
        df = cluster.createDataFrame(docs, "id string, text string")
        rows = {
            r["id"]: r for r in extract(df, model, SCHEMA, options=ExtractOptions(batch_size=4, threads=1)).collect()
        }
    finally:
        cluster.stop()
        SparkSession._instantiatedSession = None
    loads = log.read_text().splitlines()
    assert loads and all(line.endswith("torch=0") for line in loads), loads
    assert set(rows) == set(GOOD)
    assert all(rows[k]["status"] in ("ok", "empty") for k in rows)


def test_a_checkpoint_too_large_to_broadcast_is_a_config_error_naming_the_field():
    """A DeBERTa-v3-base checkpoint (740 MiB) broadcast with the default 1 GiB driver heap died with a Java
    OutOfMemoryError; now the job stops with one configuration line and the two ways out."""
    from gliner2_udf.config import ConfigError
    from gliner2_udf.spark.job import check_broadcast_fits

    check_broadcast_fits(90 * 2**20, 2**30)  # the default model's checkpoint fits
    with pytest.raises(ConfigError) as err:
        check_broadcast_fits(740 * 2**20, 2**30)
    assert str(err.value) == (
        "model.distribution: a 740 MiB checkpoint does not fit a broadcast in the driver's 1024 MiB JVM heap; use "
        "'path' (each Python worker loads the folder) or set spark.driver.memory to at least 2g"
    )
    check_broadcast_fits(740 * 2**20, 2 * 2**30)
