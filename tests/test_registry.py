"""MLflow registry and tracking against a real sqlite store (conftest's ``mlflow_store``), with the tiny
random checkpoint: logging without pickled weights, versions, aliases, sha256 checks, the extract job
by alias (rows and the tracked run), and ``mlflow.pyfunc.spark_udf`` on the logged model.

Expected values come from the checkpoint's own files (hashlib, json) and from counting output rows in
Python, never from the code under test.
"""

import hashlib
import json
import os
import re
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs import call, load_job

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "tiny-registry"
SCHEMA = {
    "entities": ["person", "company"],
    "classifications": [{"name": "sentiment", "labels": ["positive", "negative", "neutral"]}],
}
DOCS = {
    "d1": "Tim Cook of Apple announced a deal with Acme in Berlin.",
    "d2": "Invoice 77 from Acme to Apple: total $15.00.",
    "d3": "The new Acme laptop is great.",
    "d4": "Paris, May 3 - Acme cuts 300 jobs, said Tim.",
    "d5": "Jane loves the Apple watch.",
    "d6": "   ",
}


def sha256(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


@pytest.fixture(scope="module")
def client():
    from mlflow import MlflowClient

    from gliner2_udf import registry

    registry.configure()
    return MlflowClient()


@pytest.fixture(scope="module")
def registered(tiny_checkpoint, tmp_path_factory, client):
    """Version 1: the tiny checkpoint as is. Version 2: a copy with an eval.json, aliased champion."""
    from gliner2_udf import registry

    v1 = registry.register_checkpoint(tiny_checkpoint, NAME, schema=SCHEMA)
    copy = str(tmp_path_factory.mktemp("evaluated") / "ckpt")
    shutil.copytree(tiny_checkpoint, copy)
    with open(os.path.join(copy, "eval.json"), "w") as fh:
        json.dump(
            {
                "model": copy,
                "seconds": 12.5,
                "conll2003": {"alphabetical": {"f1": 0.25, "n": 400}},
                "sst2": {"accuracy": 0.75},
            },
            fh,
        )
    v2 = registry.register_checkpoint(copy, NAME, alias="champion", schema=SCHEMA)
    return v1, v2


# --------------------------------------------------------------------------------------------
# logging and registering


def test_versions_and_alias_in_the_registry(registered, client, tiny_checkpoint):
    v1, v2 = registered
    assert (v1.version, v2.version) == ("1", "2") and v2.uri == f"models:/{NAME}/2"
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "2"
    weights = sha256(os.path.join(tiny_checkpoint, "model.safetensors"))
    assert v1.sha256 == v2.sha256 == weights
    for v in ("1", "2"):
        tags = client.get_model_version(NAME, v).tags
        assert tags["checkpoint_sha256"] == weights and tags["max_span_width"] == "8"
        assert tags["architecture"] == "span"


def test_logged_model_is_the_folder_with_signature_and_metadata(registered, tiny_checkpoint, tmp_path):
    import mlflow
    from mlflow.models import Model

    local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{NAME}/2", dst_path=str(tmp_path))
    assert os.path.getsize(os.path.join(local, "python_model.pkl")) < 2000  # a class reference, no weights
    m = Model.load(local)
    folder = os.path.join(local, m.flavors["python_function"]["artifacts"]["checkpoint"]["path"])
    for f in ("config.json", "model.safetensors", "tokenizer.json"):
        assert sha256(os.path.join(folder, f)) == sha256(os.path.join(tiny_checkpoint, f))
    assert m.signature.inputs.to_dict() == [{"type": "string", "name": "text", "required": True}]
    assert m.signature.outputs.to_dict() == [{"type": "string", "name": "extraction", "required": True}]
    assert [p.name for p in m.signature.params] == ["threshold", "batch_size", "schema"]
    with open(os.path.join(tiny_checkpoint, "config.json")) as fh:
        cfg = json.load(fh)
    with open(os.path.join(tiny_checkpoint, "encoder_config", "config.json")) as fh:
        enc = json.load(fh)
    meta = m.metadata
    assert meta["encoder"] == cfg["model_name"] and meta["encoder_type"] == enc["model_type"] == "bert"
    assert meta["max_span_width"] == cfg["span_head"]["max_width"]
    assert meta["encoder_hidden_size"] == 32 and meta["encoder_layers"] == 2
    assert meta["checkpoint_sha256"] == sha256(os.path.join(tiny_checkpoint, "model.safetensors"))
    # only quality numbers from the eval report; version 1 had no report
    assert meta["eval_metrics"] == {"conll2003.alphabetical.f1": 0.25, "sst2.accuracy": 0.75}
    assert (
        "eval_metrics"
        not in Model.load(
            mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{NAME}/1", dst_path=str(tmp_path / "v1"))
        ).metadata
    )


def test_registration_run_records_params_and_eval_metrics(registered, client):
    run = client.get_run(registered[1].run_id)
    assert run.data.metrics == {"eval.conll2003.alphabetical.f1": 0.25, "eval.sst2.accuracy": 0.75}
    assert run.data.params["max_span_width"] == "8" and run.data.params["checkpoint_sha256"] == registered[1].sha256


def test_eval_report_for_another_model_is_refused(tiny_checkpoint, tmp_path):
    from gliner2_udf.config import ConfigError
    from gliner2_udf.registry import find_eval_metrics

    report = tmp_path / "eval.json"
    report.write_text(json.dumps({"model": str(tmp_path), "f1": 0.5}))
    with pytest.raises(ConfigError, match=r"^--metrics: .*eval.json evaluates"):
        find_eval_metrics(tiny_checkpoint, str(report))
    report.write_text(json.dumps({"loss": 1.5, "steps": 10}))  # no quality keys: every number is kept
    assert find_eval_metrics(tiny_checkpoint, str(report)) == {"loss": 1.5, "steps": 10.0}


def test_register_needs_a_schema(tiny_checkpoint, client):
    from gliner2_udf.config import ConfigError
    from gliner2_udf.registry import register_checkpoint

    with pytest.raises(ConfigError, match=r"^--schema: expected the model's default schema"):
        register_checkpoint(tiny_checkpoint, "tiny-no-schema")
    assert client.search_registered_models("name='tiny-no-schema'") == []


def test_default_store_is_a_sqlite_file_in_the_working_directory(monkeypatch, tmp_path):
    import mlflow

    from gliner2_udf import registry

    monkeypatch.chdir(tmp_path)  # not the package's folder (site-packages once installed)
    assert registry.default_tracking_uri() == f"sqlite:///{tmp_path}/mlflow.db"
    assert registry.configure() == os.environ["MLFLOW_TRACKING_URI"]  # the environment wins
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    try:
        assert registry.configure() == f"sqlite:///{tmp_path}/mlflow.db"
    finally:
        mlflow.set_tracking_uri(None)  # forget it again; monkeypatch restores the environment


# --------------------------------------------------------------------------------------------
# resolving


def test_resolve_alias_and_version(registered, tiny_checkpoint, client):
    from gliner2_udf.registry import resolve, set_alias

    weights = sha256(os.path.join(tiny_checkpoint, "model.safetensors"))
    m = resolve(f"models:/{NAME}@champion")
    assert (m.name, m.version, m.uri, m.requested) == (NAME, "2", f"models:/{NAME}/2", f"models:/{NAME}@champion")
    assert sha256(os.path.join(m.path, "model.safetensors")) == weights == m.sha256
    assert m.path.startswith(os.environ["GLINER2_UDF_MODEL_CACHE"])
    assert resolve(f"models:/{NAME}/1").uri == f"models:/{NAME}/1"
    set_alias(NAME, "champion", 1)
    try:
        assert resolve(f"models:/{NAME}@champion").version == "1"
    finally:
        set_alias(NAME, "champion", 2)


@pytest.mark.parametrize(
    "uri, message",
    [
        (f"models:/{NAME}@nope", f"model.path: model '{NAME}' has no alias 'nope'"),
        (f"models:/{NAME}/9", f"model.path: model '{NAME}' has no version 9"),
        ("models:/no-such-model@champion", "model.path: no registered model 'no-such-model' in sqlite:///"),
        (f"models:/{NAME}", "model.path: expected models:/NAME@ALIAS or models:/NAME/VERSION (a number)"),
        (f"models:/{NAME}/latest", "model.path: expected models:/NAME@ALIAS or models:/NAME/VERSION (a number)"),
    ],
)
def test_unresolvable_uris_name_the_problem(registered, uri, message):
    from gliner2_udf.registry import RegistryError, resolve

    with pytest.raises(RegistryError) as err:
        resolve(uri)
    assert str(err.value).startswith(message)


def test_tampered_checkpoint_is_refused_with_both_hashes(tiny_checkpoint, tmp_path):
    import mlflow

    from gliner2_udf import registry

    reg = registry.register_checkpoint(tiny_checkpoint, "tiny-tampered", alias="champion", schema=SCHEMA)
    good = sha256(os.path.join(tiny_checkpoint, "model.safetensors"))
    # a damaged cached copy is fetched again from the (intact) store
    cache = str(tmp_path / "cache")
    first = registry.resolve("models:/tiny-tampered@champion", cache_dir=cache)
    with open(os.path.join(first.path, "model.safetensors"), "r+b") as fh:
        fh.seek(-4, os.SEEK_END)
        fh.write(b"\0\0\0\0")
    again = registry.resolve("models:/tiny-tampered@champion", cache_dir=cache)
    assert sha256(os.path.join(again.path, "model.safetensors")) == good
    # weights changed in the artifact store itself: refused, naming both hashes
    source = mlflow.MlflowClient().get_model_version("tiny-tampered", reg.version).source
    location = mlflow.get_logged_model(source.split("/")[-1]).artifact_location
    stored = [
        os.path.join(d, "model.safetensors")
        for d, _, files in os.walk(location.replace("file://", ""))
        if "model.safetensors" in files
    ]
    assert len(stored) == 1
    with open(stored[0], "r+b") as fh:
        fh.seek(-4, os.SEEK_END)
        fh.write(b"\1\2\3\4")
    bad = sha256(stored[0])
    with pytest.raises(registry.RegistryError) as err:
        registry.resolve("models:/tiny-tampered/1", cache_dir=str(tmp_path / "fresh"))
    assert str(err.value) == (
        f"model.path: models:/tiny-tampered/1 (models:/tiny-tampered/1) does not match what was registered: "
        f"'model.safetensors' changed (registered {good}, downloaded {bad}); refusing to run"
    )
    # the extract job refuses it too, before Spark starts, with exit status 2
    conf = tmp_path / "job.yaml"
    conf.write_text(
        json.dumps(
            {
                "input": {"path": str(tmp_path / "none.parquet")},
                "schema": SCHEMA,
                "model": "models:/tiny-tampered@champion",
                "output": {"path": str(tmp_path / "out")},
            }
        )
    )
    os.environ["GLINER2_UDF_MODEL_CACHE"], saved = str(tmp_path / "fresh2"), os.environ["GLINER2_UDF_MODEL_CACHE"]
    try:
        code, out, errtext = call(load_job("extract").main, ["--config", str(conf)])
    finally:
        os.environ["GLINER2_UDF_MODEL_CACHE"] = saved
    assert code == 2 and errtext.startswith("configuration error: model.path: models:/tiny-tampered/1 (models:/tiny")
    assert "does not match what was registered: 'model.safetensors' changed" in errtext
    assert good in errtext and bad in errtext


def _stored_artifacts(name: str, version: str) -> str:
    import mlflow

    source = mlflow.MlflowClient().get_model_version(name, version).source
    return mlflow.get_logged_model(source.split("/")[-1]).artifact_location.replace("file://", "")


def _stored_checkpoint(root: str) -> str:
    found = [d for d, _, files in os.walk(root) if "model.safetensors" in files]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("change", ["config.json", "tokenizer.json", "encoder_config/config.json", "added", "schema"])
def test_every_registered_file_is_verified_on_resolve_and_on_pyfunc_load(tiny_checkpoint, tmp_path, change):
    """Not only the weights: the configuration, the encoder's configuration, the tokenizer, the schema artifact;
    a file added to the folder is refused too. ``mlflow.pyfunc.load_model`` on the version refuses it as well."""
    import mlflow

    from gliner2_udf import registry

    name = f"tiny-manifest-{change.replace('/', '-').replace('.', '-')}"
    reg = registry.register_checkpoint(tiny_checkpoint, name, schema=SCHEMA)
    root = _stored_artifacts(name, reg.version)
    if change == "added":
        with open(os.path.join(_stored_checkpoint(root), "extra.py"), "w") as fh:
            fh.write("print('hello')\n")
        problem = "'extra.py' not recorded"
    elif change == "schema":
        schema = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.startswith("schema")]
        assert len(schema) == 1
        with open(schema[0], "a") as fh:
            fh.write("\n")
        problem = "the schema artifact changed"
    else:
        with open(os.path.join(_stored_checkpoint(root), change), "a") as fh:
            fh.write(" ")
        problem = f"{change!r} changed"
    with pytest.raises(registry.RegistryError) as err:
        registry.resolve(reg.uri, cache_dir=str(tmp_path / "cache"))
    assert str(err.value) == (
        f"model.path: {reg.uri} ({reg.uri}) does not match what was registered: {problem}; refusing to run"
    )
    with pytest.raises(registry.RegistryError, match=f"does not match what was registered: {re.escape(problem)}"):
        mlflow.pyfunc.load_model(reg.uri)


def test_a_version_without_a_recorded_manifest_is_refused(tiny_checkpoint, tmp_path):
    """The hashes come from the registry's tags, never from the download being checked."""
    from gliner2_udf import registry

    reg = registry.register_checkpoint(tiny_checkpoint, "tiny-no-manifest", schema=SCHEMA)
    mlflow_client = registry._client()
    mlflow_client.delete_model_version_tag("tiny-no-manifest", reg.version, registry.MANIFEST_TAG)
    with pytest.raises(registry.RegistryError) as err:
        registry.resolve(reg.uri, cache_dir=str(tmp_path / "cache"))
    assert str(err.value).startswith(f"model.path: {reg.uri} has no recorded file manifest (tags checkpoint_manifest")
    assert not os.path.exists(tmp_path / "cache")  # refused before anything was downloaded


def test_register_model_job(tiny_checkpoint, client, tmp_path):
    main = load_job("register_model").main
    args = ["--checkpoint", tiny_checkpoint, "--name", "tiny-cli", "--alias", "champion", "--if-absent"]
    code, out, _ = call(main, args)
    assert code == 0 and out.startswith("registered models:/tiny-cli/1 (alias champion) sha256=")
    code, out, _ = call(main, args)  # second time: nothing new
    assert code == 0 and out.strip() == "models:/tiny-cli@champion -> models:/tiny-cli/1 (already registered)"
    assert [str(v.version) for v in client.search_model_versions("name='tiny-cli'")] == ["1"]
    code, out, _ = call(main, args[:4])  # without --if-absent: a new version
    assert code == 0 and out.startswith("registered models:/tiny-cli/2 sha256=")
    # a version registered before file manifests (make run's store on an older checkout): registered again
    client.delete_model_version_tag("tiny-cli", "1", "checkpoint_manifest")
    code, out, _ = call(main, args)
    assert code == 0 and out.splitlines() == [
        "models:/tiny-cli/1 records no file manifest; registering the checkpoint again",
        *[line for line in out.splitlines()[1:] if line.startswith("registered models:/tiny-cli/3 (alias champion)")],
    ]
    assert len(out.splitlines()) == 2
    code, _, err = call(main, ["--checkpoint", str(tmp_path / "none"), "--name", "x"])
    assert code == 2 and err.strip() == f"error: --checkpoint: '{tmp_path / 'none'}' does not exist"


# --------------------------------------------------------------------------------------------
# Spark: the job by alias, and mlflow's spark_udf


def test_job_by_alias_writes_the_version_and_is_an_mlflow_run(spark, registered, client, tmp_path):
    from gliner2_udf import compile_schema
    from gliner2_udf.config import from_dict
    from gliner2_udf.spark import run

    inp = str(tmp_path / "docs.parquet")
    pq.write_table(pa.table({"id": list(DOCS), "text": list(DOCS.values())}), inp)
    out = str(tmp_path / "out")
    cfg = from_dict(
        {
            "input": {"path": inp},
            "schema": SCHEMA,
            "model": f"models:/{NAME}@champion",
            "output": {"path": out},
            "batch_size": 4,
        }
    )
    summary = run(cfg, spark)
    rows = spark.read.format("delta").load(out).collect()
    assert sorted(r["id"] for r in rows) == sorted(DOCS)
    assert {r["model_version"] for r in rows} == {f"models:/{NAME}/2"} and summary.model_version == f"models:/{NAME}/2"

    r = client.get_run(summary.mlflow_run_id)
    assert r.info.status == "FINISHED"
    p = r.data.params
    assert (p["input"], p["output"], p["model_version"], p["model_uri"]) == (
        inp,
        out,
        f"models:/{NAME}/2",
        f"models:/{NAME}@champion",
    )
    assert p["schema_hash"] == compile_schema(SCHEMA).schema_hash
    assert (p["config.batch_size"], p["config.output.mode"], p["config.model.distribution"]) == (
        "4",
        "merge",
        "broadcast",
    )
    mentions = {}
    for row in rows:
        for e in row["entities"]:
            mentions[e["label"]] = mentions.get(e["label"], 0) + 1
    m = r.data.metrics
    assert m["documents"] == 6 and m["status.ok"] == 5 and m["status.empty"] == 1
    assert m["status.error"] == 0 and m["status.truncated"] == 0 and m["documents_per_second"] > 0
    assert {k[len("entities.") :]: v for k, v in m.items() if k.startswith("entities.")} == mentions
    assert sum(mentions.values()) > 0
    import mlflow
    import yaml

    with open(
        mlflow.artifacts.download_artifacts(
            f"runs:/{summary.mlflow_run_id}/config/job.yaml", dst_path=str(tmp_path / "logged")
        )
    ) as fh:
        logged = yaml.safe_load(fh)
    assert logged["model"]["path"] == f"models:/{NAME}@champion" and logged["batch_size"] == 4
    assert logged["schema"] == SCHEMA

    # a pinned version, each worker loading the downloaded folder itself
    cfg1 = from_dict(
        {
            "input": {"path": inp},
            "schema": SCHEMA,
            "output": {"path": out, "mode": "overwrite"},
            "model": {"path": f"models:/{NAME}/1", "distribution": "path"},
        }
    )
    assert run(cfg1, spark).rows == 6
    assert {r["model_version"] for r in spark.read.format("delta").load(out).collect()} == {f"models:/{NAME}/1"}


def test_mlflow_spark_udf_on_the_logged_model(spark, registered, tiny_checkpoint):
    import mlflow.pyfunc
    import pandas as pd
    from pyspark.sql import functions as F

    from gliner2_udf import GLiNER2

    texts = [DOCS[k] for k in ("d1", "d2", "d3", "d4")]
    df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "i int, text string")
    udf = mlflow.pyfunc.spark_udf(spark, f"models:/{NAME}@champion", result_type="string", env_manager="local")
    got = {r["i"]: json.loads(r["x"]) for r in df.select("i", udf("text").alias("x")).collect()}
    other = {"entities": ["company"]}
    udf2 = mlflow.pyfunc.spark_udf(
        spark,
        f"models:/{NAME}/1",
        result_type="string",
        env_manager="local",
        params={"schema": json.dumps(other), "threshold": 0.3},
    )
    got2 = {r["i"]: json.loads(r["x"]) for r in df.select("i", udf2(F.col("text")).alias("x")).collect()}
    engine = GLiNER2.from_pretrained(tiny_checkpoint)
    want = engine.batch_extract(texts, SCHEMA, include_confidence=True, include_spans=True)
    want2 = engine.batch_extract(texts, other, threshold=0.3, include_confidence=True, include_spans=True)
    for i in range(len(texts)):
        assert_close(got[i], json.loads(json.dumps(want[i])))
        assert_close(got2[i], json.loads(json.dumps(want2[i])))
    assert set(got[0]) == {"entities", "sentiment"} and set(got2[0]) == {"entities"}
    # the same model in plain Python; a blank text gives the empty result
    model = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    pred = model.predict(pd.DataFrame({"text": [texts[0], ""]}))
    assert list(pred.columns) == ["extraction"]
    assert json.loads(pred["extraction"][1]) == {"entities": {"person": [], "company": []}, "sentiment": None}


def assert_close(a, b, tol=1e-5):
    if isinstance(a, float) and isinstance(b, float):
        assert abs(a - b) <= tol
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_close(a[k], b[k], tol)
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_close(x, y, tol)
    else:
        assert a == b


def test_a_boundary_checkpoint_registers_and_predicts_like_the_library(boundary_checkpoint, client):
    import mlflow
    import pandas as pd

    from gliner2_udf import GLiNER2, registry

    v = registry.register_checkpoint(boundary_checkpoint, "tiny-boundary", schema=SCHEMA)
    tags = client.get_model_version("tiny-boundary", v.version).tags
    assert tags["architecture"] == "boundary" and tags["max_span_width"] == "any"
    text = DOCS["d1"]
    pred = mlflow.pyfunc.load_model(v.uri).predict(pd.DataFrame({"text": [text]}))
    want = GLiNER2.from_pretrained(boundary_checkpoint).extract(
        text, SCHEMA, include_confidence=True, include_spans=True
    )
    assert_close(json.loads(pred["extraction"][0]), json.loads(json.dumps(want)))
    assert want["entities"]["person"]
