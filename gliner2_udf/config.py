"""Job configuration: one YAML file, dataclasses, validation on the driver before any Spark work.

Every error is a :class:`ConfigError` whose message starts with the dotted path of the field
(``output.mode: expected one of 'append', 'overwrite', 'merge', got 'upsert'``). Unknown keys are
rejected by name. This module imports neither torch nor pyspark.

Example::

    cfg = load_config("conf/local.yaml", overrides=["batch_size=16", "output.mode=merge"])
    cfg.input.path, cfg.compiled_schema.schema_hash

Relative paths (input, output, schema file, model) are relative to the working directory the job
is started from, which is the repository root for ``make run``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, FieldError, SchemaError
from .hub import is_hub_id
from .options import DEFAULTS, ExtractOptions
from .runtime import check_setting
from .schema import CompiledSchema, compile_schema, load_schema

INPUT_FORMATS = ("parquet", "delta")
OUTPUT_FORMATS = ("delta", "parquet")
OUTPUT_MODES = ("append", "overwrite", "merge")
MODEL_DISTRIBUTIONS = ("broadcast", "path")
MLFLOW_SCHEMES = ("models:/", "runs:/")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")

# What a job file may put in ``spark.conf``: how the job runs (parallelism, memory, retries, the UI, Delta and
# SQL tuning), never what runs. Properties that load code or change the processes (jars, class paths, Java
# options, executor environments, plugins, listeners, catalogs, Python worker modules, Hadoop filesystems)
# belong to spark-submit ``--conf`` or the cluster's configuration, which the job file cannot override.
SPARK_CONF_KEYS = frozenset(
    {
        "spark.sql.shuffle.partitions",
        "spark.sql.session.timeZone",
        "spark.sql.ansi.enabled",
        "spark.sql.warehouse.dir",
        "spark.sql.sources.partitionOverwriteMode",
        "spark.sql.execution.arrow.maxRecordsPerBatch",
        "spark.driver.memory",
        "spark.driver.cores",
        "spark.driver.maxResultSize",
        "spark.executor.memory",
        "spark.executor.cores",
        "spark.executor.instances",
        "spark.executor.memoryOverhead",
        "spark.executor.pyspark.memory",
        "spark.task.cpus",
        "spark.task.maxFailures",
        "spark.default.parallelism",
        "spark.cores.max",
        "spark.network.timeout",
        "spark.local.dir",
        "spark.python.worker.memory",
        "spark.python.worker.reuse",
        "spark.ui.enabled",
        "spark.ui.port",
        "spark.ui.showConsoleProgress",
        "spark.speculation",
    }
)
SPARK_CONF_PREFIXES = (
    "spark.sql.adaptive.",
    "spark.sql.files.",
    "spark.sql.parquet.",
    "spark.databricks.delta.",
    "spark.dynamicAllocation.",
    "spark.memory.",
    "spark.eventLog.",
)
_SPARK_CONF_CODE = re.compile(r"class|plugin|listener|extension|jar|path|javaoptions|module|env", re.IGNORECASE)
# input.filter is one Spark SQL condition on the input's own columns: no subquery (it would read other
# tables) and none of the functions that call Java methods by name.
_FILTER_REFUSED = re.compile(r"\b(select|reflect|java_method|try_reflect)\b", re.IGNORECASE)
_SQL_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`")


# --------------------------------------------------------------------------------------------
# dataclasses (defaults are the documented defaults of conf/local.yaml)


@dataclass(frozen=True)
class InputConfig:
    format: str = "parquet"
    path: str | None = None
    table: str | None = None
    id_column: str = "id"
    text_column: str = "text"
    filter: str | None = None  # a Spark SQL boolean expression, applied before extraction
    passthrough: tuple[str, ...] = ()  # input columns copied to the output unchanged


@dataclass(frozen=True)
class ModelConfig:
    path: str = "models/gliner2-minilm-default"  # a checkpoint folder, models:/NAME@ALIAS, models:/NAME/VERSION,
    # or a Hugging Face hub id (owner/name), resolved once on the driver into the hub cache (see ``hub``)
    distribution: str = "broadcast"  # broadcast: pickled once; path: loaded by each worker
    version: str | None = None  # overrides the model_version written to the output
    precision: str = "fp32"  # fp32 (exact) | int8 | bf16: runtime.PRECISIONS
    backend: str = "torch"  # torch | onnx (the lite runtime) | auto (the faster for the checkpoint): runtime.BACKENDS
    revision: str | None = None  # a hub id's branch, tag or commit (default: main)

    @property
    def is_mlflow_uri(self) -> bool:
        return self.path.startswith(MLFLOW_SCHEMES)

    @property
    def is_hub_id(self) -> bool:
        """``path`` names a Hugging Face hub model (``owner/name``, no such local folder)."""
        return is_hub_id(self.path)


@dataclass(frozen=True)
class OutputConfig:
    format: str = "delta"
    path: str | None = None
    table: str | None = None
    mode: str = "merge"
    partition_by: tuple[str, ...] = ()
    commit_every: int | None = None  # about this many documents per Delta commit (merge mode); None: one
    retry_errors: bool = False  # merge mode: extract again the documents whose row has status "error"


@dataclass(frozen=True)
class StreamConfig:
    """Structured Streaming ``availableNow`` over a Delta input: the section's presence turns it on."""

    checkpoint: str  # the query's checkpoint folder (offsets and commits)
    max_files_per_trigger: int | None = None  # input files per micro-batch (Delta's default: 1000)


@dataclass(frozen=True)
class SparkConfig:
    app_name: str = "gliner2-extract"
    master: str | None = None  # only used when this process starts Spark (not under spark-submit)
    conf: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JobConfig:
    input: InputConfig
    output: OutputConfig
    model: ModelConfig
    schema: Any  # the schema file path, or the inline mapping, as written
    options: ExtractOptions = DEFAULTS  # batch_size, threshold, max_chars, threads_per_task
    arrow_records_per_batch: int = 64
    spark: SparkConfig = field(default_factory=SparkConfig)
    stream: StreamConfig | None = None  # None: one batch run; a section: streaming availableNow
    progress_seconds: float = 30.0  # report progress this often while the job runs (console, MLflow); 0: never
    documents_per_task: int = 250  # the work is cut into Spark tasks of about this many documents (progress moves
    # as tasks finish); tasks come in whole waves of the cluster's cores
    compiled_schema: CompiledSchema | None = field(default=None, compare=False, repr=False)


# --------------------------------------------------------------------------------------------
# field checkers


def _mapping(value: Any, path: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise ConfigError(path, f"expected a mapping, got {type(value).__name__} {value!r}")
    return value


def _keys(d: Mapping, cls, path: str, extra: tuple[str, ...] = ()) -> None:
    allowed = {f.name for f in dataclasses.fields(cls)} - {"compiled_schema", "options"} | set(extra)
    for k in d:
        if k not in allowed:
            where = f"{path}.{k}" if path else str(k)
            raise ConfigError(where, f"unknown key; expected one of {sorted(allowed)}")


def _str(value: Any, path: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, f"expected a non-empty string, got {value!r}")
    return value.strip()


def _filter(value: Any) -> str | None:
    text = _str(value, "input.filter", True)
    found = text and _FILTER_REFUSED.search(_SQL_QUOTED.sub("''", text))
    if found:
        raise ConfigError(
            "input.filter",
            f"expected a condition on the input's columns; {found.group(1)!r} is not allowed in a filter "
            "(no subqueries, no functions that call Java methods)",
        )
    return text


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(path, f"expected true or false, got {value!r}")
    return value


def _choice(value: Any, choices: tuple[str, ...], path: str) -> str:
    if value not in choices:
        raise ConfigError(path, f"expected one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    return value


def _int(value: Any, path: str, lo: int, hi: int, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, f"expected an integer in [{lo}, {hi}], got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(path, f"expected an integer in [{lo}, {hi}], got {value}")
    return value


def _float(value: Any, path: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ConfigError(path, f"expected a number in [{lo}, {hi}], got {value!r}")
    return float(value)


def _column(value: Any, path: str) -> str:
    name = _str(value, path)
    if not _COLUMN.match(name):
        raise ConfigError(path, f"expected a column name of letters, digits and '_', got {value!r}")
    return name


def _columns(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigError(path, f"expected a list of column names, got {value!r}")
    cols = tuple(_column(v, f"{path}[{i}]") for i, v in enumerate(value))
    seen: set[str] = set()
    for i, c in enumerate(cols):
        if c.lower() in seen:
            raise ConfigError(f"{path}[{i}]", f"duplicate column {c!r}")
        seen.add(c.lower())
    return cols


def _location(d: Mapping, path: str) -> tuple[str | None, str | None]:
    p, t = _str(d.get("path"), f"{path}.path", True), _str(d.get("table"), f"{path}.table", True)
    if (p is None) == (t is None):
        raise ConfigError(path, "expected exactly one of 'path' (a folder or file) or 'table' (a catalog name)")
    if t is not None and not _TABLE.match(t):
        raise ConfigError(f"{path}.table", f"expected a table name like db.table, got {t!r}")
    return p, t


# --------------------------------------------------------------------------------------------
# sections


def _input(d: Any) -> InputConfig:
    d = _mapping(d, "input")
    _keys(d, InputConfig, "input")
    path, table = _location(d, "input")
    cfg = InputConfig(
        format=_choice(d.get("format", "parquet"), INPUT_FORMATS, "input.format"),
        path=path,
        table=table,
        id_column=_column(d.get("id_column", "id"), "input.id_column"),
        text_column=_column(d.get("text_column", "text"), "input.text_column"),
        filter=_filter(d.get("filter")),
        passthrough=_columns(d.get("passthrough"), "input.passthrough"),
    )
    for i, c in enumerate(cfg.passthrough):
        if c.lower() == cfg.id_column.lower():
            raise ConfigError(f"input.passthrough[{i}]", f"{c!r} is the id column, which is always copied")
    return cfg


def _model(d: Any) -> ModelConfig:
    if isinstance(d, str):  # shorthand: model: models/foo
        d = {"path": d}
    d = _mapping(d, "model")
    _keys(d, ModelConfig, "model")
    cfg = ModelConfig(
        path=_str(d.get("path", ModelConfig.path), "model.path"),
        distribution=_choice(d.get("distribution", "broadcast"), MODEL_DISTRIBUTIONS, "model.distribution"),
        version=_str(d.get("version"), "model.version", True),
        precision=d.get("precision", ModelConfig.precision),
        backend=d.get("backend", ModelConfig.backend),
        revision=_revision(d.get("revision")),
    )
    if cfg.revision is not None and not cfg.is_hub_id:
        raise ConfigError(
            "model.revision",
            f"expected only with a Hugging Face hub id (owner/name) as model.path, got model.path {cfg.path!r}",
        )
    try:
        check_setting(cfg.precision, cfg.backend, where="model.")
    except FieldError as err:
        raise ConfigError(err.path, err.message) from None
    return cfg


def _revision(value: Any) -> str | None:
    """A hub revision: a branch, tag or commit hash, as a string (YAML reads an unquoted 1234567 as a number)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value.strip()):
        raise ConfigError(
            "model.revision", f"expected a branch, tag or commit hash as a string (quote it in YAML), got {value!r}"
        )
    return value.strip()


def _output(d: Any) -> OutputConfig:
    d = _mapping(d, "output")
    _keys(d, OutputConfig, "output")
    path, table = _location(d, "output")
    cfg = OutputConfig(
        format=_choice(d.get("format", "delta"), OUTPUT_FORMATS, "output.format"),
        path=path,
        table=table,
        mode=_choice(d.get("mode", "merge"), OUTPUT_MODES, "output.mode"),
        partition_by=_columns(d.get("partition_by"), "output.partition_by"),
        commit_every=_int(d.get("commit_every"), "output.commit_every", 1, 100_000_000, optional=True),
        retry_errors=_bool(d.get("retry_errors", False), "output.retry_errors"),
    )
    if cfg.retry_errors and cfg.mode != "merge":
        raise ConfigError(
            "output.retry_errors", f"retrying error rows needs output.mode 'merge' (it replaces them), got {cfg.mode!r}"
        )
    if cfg.mode == "merge" and cfg.format != "delta":
        raise ConfigError(
            "output.mode",
            "'merge' needs output.format 'delta' (Parquet has no atomic MERGE); "
            "use 'append' or 'overwrite' for Parquet",
        )
    if cfg.commit_every is not None and cfg.mode != "merge":
        raise ConfigError(
            "output.commit_every",
            f"several commits need output.mode 'merge' (a re-run after a "
            f"crash skips the committed documents), got {cfg.mode!r}",
        )
    return cfg


def _stream(d: Any, inp: InputConfig, out: OutputConfig) -> StreamConfig | None:
    if d is None:
        return None
    d = _mapping(d, "stream")
    _keys(d, StreamConfig, "stream")
    if "checkpoint" not in d:
        raise ConfigError("stream.checkpoint", "missing; a streaming run needs a checkpoint folder")
    cfg = StreamConfig(
        checkpoint=_str(d.get("checkpoint"), "stream.checkpoint"),
        max_files_per_trigger=_int(
            d.get("max_files_per_trigger"), "stream.max_files_per_trigger", 1, 1_000_000, optional=True
        ),
    )
    if inp.format != "delta":
        raise ConfigError("stream", f"streaming reads a Delta table; input.format is {inp.format!r}")
    if out.format != "delta" or out.mode not in ("merge", "append"):
        raise ConfigError(
            "stream",
            "streaming writes a Delta table in mode 'merge' or 'append' (idempotent per "
            f"micro-batch); output is {out.format!r} in mode {out.mode!r}",
        )
    if out.commit_every is not None:
        raise ConfigError(
            "output.commit_every",
            "a streaming run commits once per micro-batch; size micro-batches with stream.max_files_per_trigger",
        )
    return cfg


def spark_conf_allowed(key: str) -> bool:
    """True for the Spark properties a job file may set (:data:`SPARK_CONF_KEYS`, :data:`SPARK_CONF_PREFIXES`)."""
    allowed = key in SPARK_CONF_KEYS or key.startswith(SPARK_CONF_PREFIXES)
    return allowed and (key in SPARK_CONF_KEYS or not _SPARK_CONF_CODE.search(key))


def _spark(d: Any) -> SparkConfig:
    d = _mapping(d if d is not None else {}, "spark")
    _keys(d, SparkConfig, "spark")
    conf = _mapping(d.get("conf") or {}, "spark.conf")
    for k, v in conf.items():
        if not isinstance(k, str) or not k.startswith("spark."):
            raise ConfigError(f"spark.conf.{k}", "expected a Spark property name starting with 'spark.'")
        if not spark_conf_allowed(k):
            raise ConfigError(
                f"spark.conf.{k}",
                "not allowed in a job file, which may set how the job runs (parallelism, memory, retries, the UI, "
                "SQL and Delta tuning; README, Configuration) but not what runs: pass it to spark-submit --conf or "
                "put it in the cluster's configuration",
            )
        if isinstance(v, (Mapping, list, tuple)) or v is None:
            raise ConfigError(f"spark.conf.{k}", f"expected a scalar value, got {v!r}")
    return SparkConfig(
        app_name=_str(d.get("app_name", SparkConfig.app_name), "spark.app_name"),
        master=_str(d.get("master"), "spark.master", True),
        conf={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in conf.items()},
    )


def _schema(value: Any) -> CompiledSchema:
    try:
        if isinstance(value, str):
            if not os.path.isfile(value):
                raise ConfigError("schema", f"expected a schema file (YAML or JSON), {value!r} does not exist")
            return load_schema(value)
        if isinstance(value, Mapping):
            return compile_schema(dict(value))
    except SchemaError as err:
        raise ConfigError.of_schema(err) from None
    raise ConfigError("schema", f"expected a schema file path or an inline mapping, got {value!r}")


# the top-level keys that make JobConfig.options, and their ExtractOptions fields
OPTION_KEYS = {
    "batch_size": "batch_size",
    "threshold": "threshold",
    "max_chars": "max_chars",
    "threads_per_task": "threads",
}


def _options(d: Mapping) -> ExtractOptions:
    """``OPTION_KEYS`` as one ``ExtractOptions``."""
    default = DEFAULTS
    return ExtractOptions(
        batch_size=_int(d.get("batch_size", default.batch_size), "batch_size", 1, 1024),
        threshold=_float(d.get("threshold", default.threshold), "threshold", 0.0, 1.0),
        max_chars=_int(d.get("max_chars", default.max_chars), "max_chars", 1, 100_000_000),
        threads=_int(d.get("threads_per_task", default.threads), "threads_per_task", 1, 256, optional=True),
    )


def from_dict(d: Any) -> JobConfig:
    """Validate a configuration mapping (the parsed YAML) and compile its schema."""
    d = _mapping(d, "")
    _keys(d, JobConfig, "", extra=tuple(OPTION_KEYS))
    for required in ("input", "output", "schema"):
        if required not in d:
            raise ConfigError(required, "missing; this section is required")
    inp, out = _input(d["input"]), _output(d["output"])
    compiled = _schema(d["schema"])
    cfg = JobConfig(
        input=inp,
        output=out,
        model=_model(d.get("model", {})),
        schema=d["schema"],
        options=_options(d),
        arrow_records_per_batch=_int(d.get("arrow_records_per_batch", 64), "arrow_records_per_batch", 1, 1_000_000),
        spark=_spark(d.get("spark")),
        stream=_stream(d.get("stream"), inp, out),
        progress_seconds=_float(
            d.get("progress_seconds", JobConfig.progress_seconds), "progress_seconds", 0.0, 86_400.0
        ),
        documents_per_task=_int(
            d.get("documents_per_task", JobConfig.documents_per_task), "documents_per_task", 1, 100_000_000
        ),
        compiled_schema=compiled,
    )
    _check_columns(cfg)
    return cfg


def _check_columns(cfg: JobConfig) -> None:
    """Input columns copied to the output must not collide with the columns the job writes."""
    from .rows import Layout  # pure Python; the layout decides the output column names

    layout = Layout.build(cfg.compiled_schema, cfg.input.id_column, cfg.input.passthrough)
    names = {c.lower() for c in layout.columns()}
    for i, c in enumerate(cfg.input.passthrough):
        if c.lower() in Layout.RESERVED:
            raise ConfigError(f"input.passthrough[{i}]", f"{c!r} is an output column the job writes; rename it")
    if cfg.input.id_column.lower() in Layout.RESERVED:
        raise ConfigError("input.id_column", f"{cfg.input.id_column!r} is an output column the job writes")
    for i, c in enumerate(cfg.output.partition_by):
        if c.lower() not in names:
            raise ConfigError(
                f"output.partition_by[{i}]", f"expected an output column (id, passthrough, status, ...), got {c!r}"
            )


# --------------------------------------------------------------------------------------------
# YAML and --set overrides


def parse_override(item: str) -> tuple[list[str], Any]:
    """``a.b=c`` -> (["a", "b"], value); the value is parsed as a YAML scalar or flow collection."""
    import yaml

    key, sep, raw = item.partition("=")
    if not sep or not key.strip() or any(not p for p in key.strip().split(".")):
        raise ConfigError("--set", f"expected key.path=value, got {item!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {key}", f"value is not valid YAML: {err}") from None
    return key.strip().split("."), value


def apply_overrides(d: dict, overrides: list[str] | tuple[str, ...]) -> dict:
    """Apply ``--set`` overrides in place and return ``d``; intermediate sections are created."""
    for item in overrides:
        keys, value = parse_override(item)
        node = d
        for i, k in enumerate(keys[:-1]):
            nxt = node.get(k)
            if nxt is None or isinstance(nxt, str) and k in ("model",):
                nxt = {} if nxt is None else {"path": nxt}
                node[k] = nxt
            if not isinstance(nxt, dict):
                raise ConfigError(".".join(keys[: i + 1]), f"--set {item!r}: this key is not a section")
            node = nxt
        node[keys[-1]] = value
    return d


def read_config(path: str) -> dict:
    """The YAML configuration at ``path`` as a mapping (``yaml.safe_load``), not yet validated."""
    import yaml

    if not os.path.isfile(path):
        raise ConfigError("--config", f"expected a YAML file, {path!r} does not exist")
    with open(path, encoding="utf-8") as fh:
        try:
            d = yaml.safe_load(fh)
        except yaml.YAMLError as err:
            raise ConfigError(path, f"not valid YAML: {err}") from None
    if d is None:
        d = {}
    if not isinstance(d, dict):
        raise ConfigError(path, f"expected a mapping at the top of the file, got {type(d).__name__}")
    return d


def load_config(path: str, overrides: list[str] | tuple[str, ...] = ()) -> JobConfig:
    """Read a YAML configuration, apply ``key.path=value`` overrides, validate."""
    return from_dict(apply_overrides(read_config(path), overrides))
