"""A schema that changes under an existing output table (real Delta tables, the tiny random checkpoint).

Adding an entity type or a structure field adds columns (Delta schema evolution) and writes the documents again
under the new ``schema_hash``; the old rows stay as they were. A column whose type would change stops the run
with one line before any extraction. ``latest`` (and the README's query) gives one row per document.
"""

import copy
import os
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from gliner2_udf.config import from_dict
from jobs import call, load_job

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTS = [
    "Tim Cook of Apple drove a Tesla Model 3 to the Acme office in Berlin.",
    "Jane Doe bought a Volvo truck and two Ford vans from Acme for 90,000 euros.",
    "The Boeing 737 of Lufthansa landed in Paris; Tim was on board.",
    "Acme ships 40 e-bikes to Globex by train, said Jane.",
]
DOCS = {f"doc-{i:02d}": f"{TEXTS[i % 4]} Note {i}." for i in range(16)}
SCHEMA = {
    "entities": ["person", "company"],
    "classifications": [{"name": "sentiment", "labels": ["positive", "negative", "neutral"]}],
    "structures": [{"name": "deal", "fields": [{"name": "buyer", "dtype": "str"}, {"name": "item", "dtype": "str"}]}],
}


def with_(schema, **change):
    s = copy.deepcopy(schema)
    for key, value in change.items():
        s[key] = value
    return s


def job_dict(inp, out, ckpt, schema, mode="merge"):
    return {
        "input": {"format": "parquet", "path": inp},
        "schema": schema,
        "model": {"path": ckpt, "precision": "int8", "backend": "auto"},  # the shipped setting
        "output": {"format": "delta", "path": out, "mode": mode},
        "batch_size": 4,
        "arrow_records_per_batch": 8,
        "threshold": 0.3,
        "progress_seconds": 0,
    }


@pytest.fixture()
def first(spark, tiny_checkpoint, tmp_path):
    """16 documents extracted in merge mode with SCHEMA; returns (input, output, rows as dicts by id)."""
    from gliner2_udf.spark import run

    inp = str(tmp_path / "docs.parquet")
    pq.write_table(pa.table({"id": list(DOCS), "text": list(DOCS.values())}), inp)
    out = str(tmp_path / "out")
    summary = run(from_dict(job_dict(inp, out, tiny_checkpoint, SCHEMA)), spark)
    assert summary.rows == 16
    rows = {r["id"]: r.asDict(recursive=True) for r in spark.read.format("delta").load(out).collect()}
    return inp, out, rows


def _table(spark, out):
    return spark.read.format("delta").load(out)


def test_a_new_entity_type_adds_its_column_and_keeps_the_old_rows(spark, tiny_checkpoint, first, capsys):
    from gliner2_udf.spark import run

    inp, out, before = first
    old_hash = next(iter(before.values()))["schema_hash"]
    schema = with_(SCHEMA, entities=["person", "company", "vehicle"])
    summary = run(from_dict(job_dict(inp, out, tiny_checkpoint, schema)), spark)
    assert summary.rows == 16 and summary.schema_hash != old_hash  # every document again, under the new schema
    assert f"note: this schema adds column(s) to {out}: vehicle\n" in capsys.readouterr().err
    df = _table(spark, out)
    assert "vehicle" in df.columns
    new = [r.asDict(recursive=True) for r in df.where(df.schema_hash == summary.schema_hash).collect()]
    old = {r["id"]: r.asDict(recursive=True) for r in df.where(df.schema_hash == old_hash).collect()}
    assert len(new) == 16
    found = 0
    for r in new:  # the new column holds what the model found for the new type, as the entities list says
        vehicles = [e["text"] for e in r["entities"] if e["label"] == "vehicle"]
        assert r["vehicle"] == vehicles
        found += len(vehicles)
    assert found > 0, "the random model found no vehicle at threshold 0.3: the test proves nothing"
    assert set(old) == set(before)  # the old rows: still there, unchanged, null in the new column
    for i, r in old.items():
        assert r["vehicle"] is None
        assert {k: v for k, v in r.items() if k != "vehicle"} == before[i]


def test_a_new_structure_field_evolves_the_nested_struct(spark, tiny_checkpoint, first):
    from gliner2_udf.spark import run

    inp, out, before = first
    deal = {"name": "deal", "fields": [*SCHEMA["structures"][0]["fields"], {"name": "price", "dtype": "str"}]}
    summary = run(from_dict(job_dict(inp, out, tiny_checkpoint, with_(SCHEMA, structures=[deal]))), spark)
    assert summary.rows == 16
    df = _table(spark, out)
    fields = df.schema["deal"].dataType.elementType.fieldNames()
    assert fields == ["buyer", "item", "price"]
    old = df.where(df.schema_hash == next(iter(before.values()))["schema_hash"]).collect()
    assert len(old) == 16
    for r in old:  # the old instances read back with price null, their own fields as written
        mine = before[r["id"]]["deal"]
        got = r.asDict(recursive=True)["deal"]
        assert [{k: v for k, v in inst.items() if k != "price"} for inst in got] == mine
        assert all(inst["price"] is None for inst in got)


@pytest.mark.parametrize(
    "change, column",
    [
        (
            {"structures": [{"name": "deal", "fields": [{"name": "buyer", "dtype": "list"}, {"name": "item"}]}]},
            "deal[].buyer",
        ),
        (
            {
                "classifications": [
                    {"name": "sentiment", "labels": ["positive", "negative", "neutral"], "multi_label": True}
                ]
            },
            "sentiment",
        ),
    ],
    ids=["field-str-to-list", "single-to-multi-label"],
)
def test_a_type_change_stops_before_any_extraction_with_one_line(
    spark, tiny_checkpoint, first, tmp_path, monkeypatch, change, column
):
    from delta.tables import DeltaTable

    inp, out, before = first
    version = DeltaTable.forPath(spark, out).history(1).collect()[0]["version"]
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("GLINER2_UDF_FAULT_MARKS", str(marks))  # the driver marks before_first_write
    conf = tmp_path / "job.yaml"
    conf.write_text(yaml.safe_dump(job_dict(inp, out, tiny_checkpoint, with_(SCHEMA, **change))))
    code, stdout, err = call(load_job("extract").main, ["--config", str(conf)])
    assert code == 2 and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"configuration error: output.path: column '{column}' is ")
    assert "write to a new table (output.path) or replace this one (output.mode: overwrite)" in lines[0]
    assert not os.listdir(marks)  # stopped before the first write: nothing was extracted
    assert DeltaTable.forPath(spark, out).history(1).collect()[0]["version"] == version
    assert _table(spark, out).count() == len(before)


def test_overwrite_replaces_a_table_whose_types_changed(spark, tiny_checkpoint, first):
    from gliner2_udf.spark import run

    inp, out, _ = first
    deal = {"name": "deal", "fields": [{"name": "buyer", "dtype": "list"}, {"name": "item", "dtype": "str"}]}
    summary = run(
        from_dict(job_dict(inp, out, tiny_checkpoint, with_(SCHEMA, structures=[deal]), mode="overwrite")), spark
    )
    df = _table(spark, out)
    assert df.count() == 16 and {r["schema_hash"] for r in df.collect()} == {summary.schema_hash}
    assert df.schema["deal"].dataType.elementType["buyer"].dataType.typeName() == "array"


def test_append_mode_adds_the_columns_too(spark, tiny_checkpoint, first):
    from gliner2_udf.spark import run

    inp, out, _ = first
    schema = with_(SCHEMA, entities=["person", "company", "vehicle"])
    run(from_dict(job_dict(inp, out, tiny_checkpoint, schema, mode="append")), spark)
    df = _table(spark, out)
    assert "vehicle" in df.columns and df.count() == 32


def _readme_latest_query() -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        text = fh.read()
    blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
    found = [b for b in blocks if "latest" in b.lower()]
    assert len(found) == 1, "README.md should hold one SQL query for the latest extraction per document"
    return found[0]


def test_latest_gives_one_row_per_document_across_schema_versions(spark, tiny_checkpoint, first, tmp_path):
    from gliner2_udf.spark import latest, run

    inp, out, before = first
    schema = with_(SCHEMA, entities=["person", "company", "vehicle"])
    newer = run(from_dict(job_dict(inp, out, tiny_checkpoint, schema)), spark)
    # a 17th document only the first schema has seen
    grown = str(tmp_path / "grown.parquet")
    pq.write_table(pa.table({"id": [*DOCS, "doc-99"], "text": [*DOCS.values(), "Jane drives a Fiat."]}), grown)
    older = run(from_dict(job_dict(grown, out, tiny_checkpoint, SCHEMA)), spark)
    assert older.rows == 1
    df = _table(spark, out)
    assert df.count() == 33
    rows = latest(df).collect()
    assert sorted(r["id"] for r in rows) == sorted([*DOCS, "doc-99"])
    by_id = {r["id"]: r for r in rows}
    assert all(by_id[i]["schema_hash"] == newer.schema_hash for i in DOCS)
    assert by_id["doc-99"]["schema_hash"] == older.schema_hash and by_id["doc-99"]["vehicle"] is None
    # the README's query gives the same rows
    query = _readme_latest_query().replace("delta.`output/extractions`", f"delta.`{out}`")
    assert f"delta.`{out}`" in query
    sql = {r["id"]: r.asDict(recursive=True) for r in spark.sql(query).collect()}
    assert sql == {i: r.asDict(recursive=True) for i, r in by_id.items()}


def test_the_type_check_reads_nested_types(spark):
    """``compare`` on Spark types, with the cases the job meets spelled out."""
    from pyspark.sql import types as T

    from gliner2_udf.spark.evolution import compare

    span = T.StructType([T.StructField("text", T.StringType()), T.StructField("score", T.DoubleType())])
    old = T.StructType(
        [
            T.StructField("id", T.StringType()),
            T.StructField("deal", T.ArrayType(T.StructType([T.StructField("buyer", span)]))),
            T.StructField("gone", T.StringType()),
        ]
    )
    new = T.StructType(
        [
            T.StructField("id", T.StringType(), nullable=False),
            T.StructField(
                "deal",
                T.ArrayType(T.StructType([T.StructField("buyer", T.ArrayType(span)), T.StructField("price", span)])),
            ),
            T.StructField("vehicle", T.ArrayType(span)),
        ]
    )
    assert compare(old, new) == (
        ["deal[].price", "vehicle"],
        [("deal[].buyer", span.simpleString(), T.ArrayType(span).simpleString())],
    )
    assert compare(new, new) == ([], [])
