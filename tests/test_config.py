"""Job configuration: validation names the field and what was expected; no Spark, no torch."""

import copy
import os
import subprocess
import sys

import pytest
import yaml

from gliner2_udf import load_schema
from gliner2_udf.config import ConfigError, apply_overrides, from_dict, load_config
from gliner2_udf.registry import resolve_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BASE = {
    "input": {"format": "parquet", "path": "data/samples/documents.parquet", "passthrough": ["source"]},
    "schema": {
        "entities": ["person", "company"],
        "classifications": [{"name": "sentiment", "labels": ["positive", "negative"]}],
    },
    "model": {"path": "models/x"},
    "output": {"format": "delta", "path": "output/x", "mode": "merge"},
}


def cfg_with(**changes):
    d = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        node, keys = d, dotted.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return d


def error_of(d) -> str:
    with pytest.raises(ConfigError) as info:
        from_dict(d)
    return str(info.value)


def test_shipped_local_config_is_valid():
    os.chdir(ROOT)
    cfg = load_config("conf/local.yaml")
    assert (cfg.input.format, cfg.input.path, cfg.input.id_column, cfg.input.text_column) == (
        "parquet",
        "data/samples/documents.parquet",
        "id",
        "text",
    )
    assert cfg.input.passthrough == ("source",)
    assert (cfg.output.format, cfg.output.path, cfg.output.mode) == ("delta", "output/extractions", "merge")
    assert cfg.model.path == "models/gliner2-minilm-default"
    assert cfg.compiled_schema.schema_hash == load_schema("conf/schemas/default.yaml").schema_hash
    assert [e.name for e in cfg.compiled_schema.entities] == [
        "person",
        "organization",
        "location",
        "product",
        "date",
        "money",
    ]
    assert cfg.spark.conf["spark.ui.showConsoleProgress"] == "false"


def test_defaults():
    cfg = from_dict(BASE)
    assert (
        cfg.options.batch_size,
        cfg.arrow_records_per_batch,
        cfg.options.threads,
        cfg.options.max_chars,
        cfg.options.threshold,
    ) == (8, 64, None, 1_000_000, 0.5)
    assert cfg.model.distribution == "broadcast" and cfg.output.partition_by == ()


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"batch_sizes": 8}, "batch_sizes: unknown key; expected one of"),
        ({"input__txt_column": "body"}, "input.txt_column: unknown key; expected one of"),
        ({"output__compression": "zstd"}, "output.compression: unknown key"),
        ({"batch_size": 0}, "batch_size: expected an integer in [1, 1024], got 0"),
        ({"batch_size": "8"}, "batch_size: expected an integer in [1, 1024], got '8'"),
        ({"batch_size": True}, "batch_size: expected an integer in [1, 1024], got True"),
        ({"window": None}, "window: unknown key; expected one of"),  # removed: windows are sized by tokens
        ({"max_chars": 0}, "max_chars: expected an integer in [1, 100000000], got 0"),
        ({"arrow_records_per_batch": 0}, "arrow_records_per_batch: expected an integer in [1, 1000000], got 0"),
        ({"threads_per_task": -1}, "threads_per_task: expected an integer in [1, 256], got -1"),
        ({"threshold": 1.5}, "threshold: expected a number in [0.0, 1.0], got 1.5"),
        ({"input__format": "csv"}, "input.format: expected one of 'parquet', 'delta', got 'csv'"),
        ({"output__mode": "upsert"}, "output.mode: expected one of 'append', 'overwrite', 'merge', got 'upsert'"),
        ({"output__format": "parquet"}, "output.mode: 'merge' needs output.format 'delta'"),
        ({"input__table": "db.docs"}, "input: expected exactly one of 'path' (a folder or file) or 'table'"),
        ({"input__id_column": "doc id"}, "input.id_column: expected a column name of letters, digits and '_'"),
        ({"input__passthrough": "source"}, "input.passthrough: expected a list of column names, got 'source'"),
        ({"input__passthrough": ["status"]}, "input.passthrough[0]: 'status' is an output column the job writes"),
        ({"input__passthrough": ["id"]}, "input.passthrough[0]: 'id' is the id column"),
        ({"output__partition_by": ["day"]}, "output.partition_by[0]: expected an output column"),
        ({"model__distribution": "ftp"}, "model.distribution: expected one of 'broadcast', 'path', got 'ftp'"),
        ({"model__precision": "fp16"}, "model.precision: expected one of 'fp32', 'int8', 'bf16', got 'fp16'"),
        ({"model__backend": "tensorrt"}, "model.backend: expected one of 'torch', 'onnx', 'auto', got 'tensorrt'"),
        ({"model__precision": "bf16", "model__backend": "onnx"}, "model.precision: bf16 is a torch-backend setting"),
        (
            {"spark__conf": {"sql.shuffle.partitions": 4}},
            "spark.conf.sql.shuffle.partitions: expected a Spark property",
        ),
        (
            {"schema": {"entities": ["person"], "classifications": [{"name": "s", "labels": ["only"]}]}},
            "schema.classifications[0].labels: expected at least 2 labels, got 1",
        ),
        ({"schema": {"entitys": ["person"]}}, "schema.entitys: unknown key"),
        (
            {"schema": "conf/schemas/missing.yaml"},
            "schema: expected a schema file (YAML or JSON), 'conf/schemas/missing.yaml' does not exist",
        ),
        ({"schema": 42}, "schema: expected a schema file path or an inline mapping, got 42"),
    ],
)
def test_errors_name_the_field(changes, message):
    assert message in error_of(cfg_with(**changes))


def test_missing_sections_and_table_names():
    d = copy.deepcopy(BASE)
    del d["output"]
    assert error_of(d) == "output: missing; this section is required"
    d = cfg_with(input__table="docs; drop table x")
    del d["input"]["path"]
    assert "input.table: expected a table name like db.table" in error_of(d)


def test_schema_file_errors_name_file_and_field(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("entities: [person]\nstructures:\n  - name: deal\n    fields:\n      - {name: x, dtype: set}\n")
    assert (
        error_of(cfg_with(schema=str(f)))
        == f"schema.{f}: structures[0].fields[0].dtype: expected one of 'str', 'list', got 'set'"
    )


def test_overrides():
    d = apply_overrides(
        copy.deepcopy(BASE),
        [
            "batch_size=16",
            "output.mode=overwrite",
            "input.passthrough=[a, b]",
            "spark.master=local[1]",
            "model.version=v7",
            "threshold=null",
        ],
    )
    assert d["batch_size"] == 16 and d["output"]["mode"] == "overwrite"
    assert d["input"]["passthrough"] == ["a", "b"] and d["spark"] == {"master": "local[1]"}
    assert d["model"]["version"] == "v7" and d["threshold"] is None
    assert apply_overrides({"model": "models/x"}, ["model.distribution=path"])["model"] == {
        "path": "models/x",
        "distribution": "path",
    }
    with pytest.raises(ConfigError, match=r"--set: expected key.path=value, got 'batch_size'"):
        apply_overrides({}, ["batch_size"])
    with pytest.raises(ConfigError, match=r"^batch_size: --set 'batch_size.x=1': this key is not a section"):
        apply_overrides({"batch_size": 8}, ["batch_size.x=1"])


def test_load_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="--config: expected a YAML file"):
        load_config(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(bad))
    evil = tmp_path / "evil.yaml"  # safe_load only: no Python objects
    evil.write_text("input: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(evil))
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(BASE))
    assert load_config(str(good), ["batch_size=4"]).options.batch_size == 4
    with pytest.raises(ConfigError, match=r"^batch_size: expected an integer in \[1, 1024\], got 0$"):
        load_config(str(good), ["batch_size=0"])


def test_resolve_model(tmp_path):
    from gliner2_udf.config import ModelConfig

    assert resolve_model(ModelConfig(path=str(tmp_path))) == str(tmp_path)
    with pytest.raises(ConfigError, match=r"^model.path: expected a checkpoint folder, '.*nope' does not exist"):
        resolve_model(ModelConfig(path=str(tmp_path / "nope")))


def test_config_imports_neither_torch_nor_pyspark():
    code = (
        "import sys, gliner2_udf.config as c; c.load_config('conf/local.yaml'); "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'pyspark', 'pandas')]; "
        "assert not bad, bad; assert 'gliner2_udf.registry' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_registry_import_has_no_side_effects():
    """The registry owns model resolution; importing it loads no mlflow and leaves the environment alone."""
    code = (
        "import os, sys; before = dict(os.environ); import gliner2_udf.registry; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('mlflow', 'torch', 'pyspark')]; "
        "assert not bad, bad; assert dict(os.environ) == before"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env=env)


def test_model_precision_and_backend_are_validated(tmp_path):
    from gliner2_udf.config import ConfigError, load_config

    cfg = load_config("conf/local.yaml")
    assert (cfg.model.precision, cfg.model.backend) == ("int8", "auto")  # the shipped job: int8, the faster runtime
    for key, value in (("model.precision", "fp8"), ("model.backend", "tensorrt")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_config("conf/local.yaml", overrides=[f"{key}={value}"])


# --------------------------------------------------------------------------------------------
# hostile configurations (issue 7): refused by name before Spark starts


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"threshold": 2}, "threshold: expected a number in [0.0, 1.0], got 2"),
        ({"threshold": -0.1}, "threshold: expected a number in [0.0, 1.0], got -0.1"),
        ({"threshold": float("nan")}, "threshold: expected a number in [0.0, 1.0], got nan"),
        ({"batch_size": -3}, "batch_size: expected an integer in [1, 1024], got -3"),
        ({"batch_size": 10**9}, "batch_size: expected an integer in [1, 1024], got 1000000000"),
        ({"output__commit_every": 0}, "output.commit_every: expected an integer in [1, 100000000], got 0"),
        ({"output__commit_every": -8}, "output.commit_every: expected an integer in [1, 100000000], got -8"),
        (
            {"output__commit_every": 8, "output__mode": "append"},
            "output.commit_every: several commits need output.mode 'merge'",
        ),
        ({"stream": {"checkpoint": "ck"}}, "stream: streaming reads a Delta table; input.format is 'parquet'"),
        (
            {"stream": {"checkpoint": "ck"}, "input__format": "delta", "output__mode": "overwrite"},
            "stream: streaming writes a Delta table in mode 'merge' or 'append'",
        ),
        ({"stream": {"max_files_per_trigger": 1}, "input__format": "delta"}, "stream.checkpoint: missing"),
        (
            {"stream": {"checkpoint": "ck", "max_files_per_trigger": 0}, "input__format": "delta"},
            "stream.max_files_per_trigger: expected an integer in [1, 1000000], got 0",
        ),
        ({"stream": {"checkpoint": "ck", "trigger": "once"}, "input__format": "delta"}, "stream.trigger: unknown key"),
        (
            {"stream": {"checkpoint": "ck"}, "input__format": "delta", "output__commit_every": 5},
            "output.commit_every: a streaming run commits once per micro-batch",
        ),
        ({"stream": "yes"}, "stream: expected a mapping, got str 'yes'"),
    ],
)
def test_absurd_values_and_unknown_keys_are_refused_by_name(changes, message):
    assert message in error_of(cfg_with(**changes))


def test_commit_every_and_stream_sections():
    cfg = from_dict(cfg_with(output__commit_every=100))
    assert cfg.output.commit_every == 100 and cfg.stream is None
    cfg = from_dict(
        cfg_with(
            input__format="delta", output__mode="append", stream={"checkpoint": "output/ck", "max_files_per_trigger": 2}
        )
    )
    assert (cfg.stream.checkpoint, cfg.stream.max_files_per_trigger) == ("output/ck", 2)


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object:os.system {}",
        "!!python/object/new:os.system [echo]",
        "!!python/name:os.system",
        "!!python/module:os",
        "!!python/object/apply:os.mkdir [WITNESS]",
    ],
)
def test_yaml_object_tags_are_refused(tmp_path, tag):
    """safe_load: a Python tag, in the file or in a --set value, is invalid YAML and constructs nothing (an
    unsafe loader would have called os.mkdir and made the witness folder)."""
    witness = tmp_path / "constructed"
    tag = tag.replace("WITNESS", str(witness))
    f = tmp_path / "evil.yaml"
    f.write_text(yaml.safe_dump(BASE).replace("path: models/x", f"path: {tag}"))
    assert tag in f.read_text()
    with pytest.raises(ConfigError, match=r"evil\.yaml: not valid YAML: could not determine a constructor"):
        load_config(str(f))
    f.write_text(yaml.safe_dump(BASE))
    with pytest.raises(ConfigError, match=r"^--set threshold: value is not valid YAML: could not determine"):
        load_config(str(f), [f"threshold={tag}"])
    assert not witness.exists()


def test_yaml_binary_tag_is_not_a_string(tmp_path):
    """``!!binary`` is safe YAML (it makes bytes), and bytes are not a path."""
    f = tmp_path / "bytes.yaml"
    f.write_text(yaml.safe_dump(BASE).replace("path: models/x", "path: !!binary aGVsbG8="))
    with pytest.raises(ConfigError, match=r"^model\.path: expected a non-empty string"):
        load_config(str(f))


@pytest.mark.parametrize(
    "key",
    [
        "spark.jars",
        "spark.jars.packages",
        "spark.driver.extraJavaOptions",
        "spark.executor.extraClassPath",
        "spark.executorEnv.LD_PRELOAD",
        "spark.sql.extensions",
        "spark.sql.catalog.spark_catalog",
        "spark.plugins",
        "spark.extraListeners",
        "spark.python.worker.module",
        "spark.pyspark.python",
        "spark.databricks.delta.logStore.class",
        "spark.sql.parquet.output.committer.class",
        "spark.hadoop.fs.s3a.impl",
    ],
)
def test_spark_conf_that_changes_what_runs_is_refused(key):
    assert error_of(cfg_with(spark={"conf": {key: "x"}})) == (
        f"spark.conf.{key}: not allowed in a job file, which may set how the job runs (parallelism, memory, "
        "retries, the UI, SQL and Delta tuning; README, Configuration) but not what runs: pass it to spark-submit "
        "--conf or put it in the cluster's configuration"
    )


def test_spark_conf_tuning_is_accepted():
    conf = {
        "spark.task.maxFailures": 4,
        "spark.sql.adaptive.enabled": False,
        "spark.databricks.delta.snapshotPartitions": 2,
        "spark.executor.memory": "4g",
        "spark.ui.showConsoleProgress": True,
    }
    cfg = from_dict(cfg_with(spark={"conf": conf}))
    assert cfg.spark.conf == {
        "spark.task.maxFailures": "4",
        "spark.sql.adaptive.enabled": "false",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.executor.memory": "4g",
        "spark.ui.showConsoleProgress": "true",
    }


@pytest.mark.parametrize(
    "condition,word",
    [
        ("id IN (SELECT id FROM secrets)", "SELECT"),
        ("reflect('java.lang.Runtime', 'getRuntime') IS NOT NULL", "reflect"),
        ("java_method('java.lang.System', 'exit', 0) = 1", "java_method"),
        ("try_reflect('java.lang.Thread', 'dumpStack') IS NULL", "try_reflect"),
    ],
)
def test_input_filter_with_a_subquery_or_java_calls_is_refused(condition, word):
    assert error_of(cfg_with(input__filter=condition)) == (
        f"input.filter: expected a condition on the input's columns; {word!r} is not allowed in a filter "
        "(no subqueries, no functions that call Java methods)"
    )


def test_input_filter_words_inside_quotes_are_data():
    cfg = from_dict(cfg_with(input__filter="source = 'select' OR `reflect` = \"java_method\""))
    assert cfg.input.filter == "source = 'select' OR `reflect` = \"java_method\""


def test_retry_errors_needs_merge_mode_and_a_boolean():
    assert from_dict(cfg_with(output__retry_errors=True)).output.retry_errors is True
    assert error_of(cfg_with(output__retry_errors="yes")) == "output.retry_errors: expected true or false, got 'yes'"
    assert error_of(cfg_with(output__retry_errors=True, output__mode="append")) == (
        "output.retry_errors: retrying error rows needs output.mode 'merge' (it replaces them), got 'append'"
    )
