"""MLflow: checkpoints as registered pyfunc models, ``models:/`` URIs resolved once, job runs tracked.

* ``register_checkpoint`` logs a checkpoint folder as an MLflow pyfunc model (the folder is an artifact;
  ``python_model.pkl`` holds only a class reference), with a signature and metadata (encoder, max span
  width, checkpoint sha256, evaluation metrics where a ``eval.json`` is known), registers a version,
  tags it with the sha256 and optionally points an alias at it.
* ``resolve("models:/NAME@ALIAS")`` or ``resolve("models:/NAME/VERSION")`` picks one concrete version,
  downloads its artifacts once to a local cache folder, checks the checkpoint's sha256 against the one
  recorded at registration (refusing a mismatch) and returns the folder and the label
  ``models:/NAME/VERSION`` that the job writes into every output row.
* ``track_job`` makes one extract-job run an MLflow run: parameters, metrics and the configuration.

Stores: ``MLFLOW_TRACKING_URI`` (and ``MLFLOW_REGISTRY_URI``) win; on Databricks MLflow's own default
is kept; otherwise ``sqlite:///<working directory>/mlflow.db`` with artifacts under
``<working directory>/mlruns`` (the repository root for ``make run``).
Nothing here imports mlflow, torch or pyspark at module level, and importing it changes nothing
(MLflow's environment defaults are set when MLflow is first used, see ``_mlflow``).

Example::

    reg = register_checkpoint("models/gliner2-minilm-default", "gliner2-minilm-default", alias="champion")
    reg.uri                                          # 'models:/gliner2-minilm-default/1'
    resolve("models:/gliner2-minilm-default@champion").path   # local checkpoint folder, sha256 checked
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .config import OPTION_KEYS, JobConfig, ModelConfig
from .errors import ConfigError, RegistryError
from .hub import HubRef

DEFAULT_EXPERIMENT = "gliner2-udf"
EXPERIMENT_ENV = "GLINER2_UDF_MLFLOW_EXPERIMENT"
CACHE_ENV = "GLINER2_UDF_MODEL_CACHE"
SHA_TAG = "checkpoint_sha256"
MANIFEST_TAG = "checkpoint_manifest"  # JSON {file: sha256} of every file of the checkpoint folder
SCHEMA_TAG = "schema_sha256"  # the default schema artifact
MODEL_NAME = "model"  # the logged model's name inside its run
EVAL_FILES = ("eval.json", "metrics.json")  # looked for inside the checkpoint folder
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>[^/@]+))$")

# --------------------------------------------------------------------------------------------
# stores


def _mlflow():
    """``import mlflow`` with this project's defaults in the environment: an offline-first project, so no
    usage telemetry and no download progress bars in job logs (both overridable). Every entry point
    here calls it before anything imports mlflow: MLflow reads the telemetry setting when first imported."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    return mlflow


def default_tracking_uri() -> str:
    """``sqlite:///<working directory>/mlflow.db`` (artifacts then go to ``<working directory>/mlruns``)."""
    return f"sqlite:///{os.path.join(os.getcwd(), 'mlflow.db')}"


def configure() -> str:
    """Set MLflow's environment defaults (``_mlflow``) and point it at a sqlite store in the working
    directory unless a tracking URI is already set (environment, ``mlflow.set_tracking_uri``) or this
    runs on Databricks. Returns the tracking URI in use."""
    mlflow = _mlflow()
    from mlflow.tracking import is_tracking_uri_set

    if not is_tracking_uri_set() and "DATABRICKS_RUNTIME_VERSION" not in os.environ:
        mlflow.set_tracking_uri(default_tracking_uri())
    return mlflow.get_tracking_uri()


def _client():
    configure()
    from mlflow import MlflowClient

    return MlflowClient()


def _artifact_location(tracking_uri: str, experiment: str) -> str | None:
    """For a sqlite store, artifacts go next to the database file (not the working directory)."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    db = tracking_uri[len("sqlite:///") :]
    folder = os.path.join(os.path.dirname(os.path.abspath(db)), "mlruns", re.sub(r"[^A-Za-z0-9_.-]+", "_", experiment))
    return "file://" + folder


def experiment_id(name: str | None = None) -> str | None:
    """The id of experiment ``name`` (created if missing); ``None`` on Databricks without a name
    (MLflow then uses the notebook's experiment)."""
    mlflow = _mlflow()

    name = name or os.environ.get(EXPERIMENT_ENV)
    if name is None:
        if "DATABRICKS_RUNTIME_VERSION" in os.environ:
            return None
        name = DEFAULT_EXPERIMENT
    uri = configure()
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    return mlflow.create_experiment(name, artifact_location=_artifact_location(uri, name))


@contextlib.contextmanager
def _run(run_name: str, experiment: str | None) -> Iterator[Any]:
    mlflow = _mlflow()

    exp = experiment_id(experiment)
    nested = mlflow.active_run() is not None
    with mlflow.start_run(experiment_id=exp, run_name=run_name, nested=nested) as run:
        yield run


# --------------------------------------------------------------------------------------------
# checkpoint metadata


_QUALITY = re.compile(r"(^|[._])(f1|accuracy|precision|recall)$")


def find_eval_metrics(checkpoint: str, metrics_file: str | None = None) -> dict[str, float]:
    """Evaluation results as ``a.b`` metric names: ``metrics_file`` if given, else an ``eval.json`` or
    ``metrics.json`` inside the checkpoint folder; empty when there is none.

    From a ``jobs/evaluate.py`` report only the quality numbers are kept (keys ending in f1, accuracy,
    precision or recall); a file without such keys keeps every number. A report whose ``model`` names
    another folder is refused.
    """
    path = metrics_file
    if path is None:
        path = next(
            (os.path.join(checkpoint, f) for f in EVAL_FILES if os.path.isfile(os.path.join(checkpoint, f))), None
        )
    if path is None:
        return {}
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, Mapping):
        raise ConfigError("--metrics", f"{path}: expected a JSON object, got {type(data).__name__}")
    about = data.get("model")
    if isinstance(about, str) and os.path.isdir(about) and os.path.realpath(about) != os.path.realpath(checkpoint):
        raise ConfigError("--metrics", f"{path} evaluates {about!r}, not the checkpoint {checkpoint!r}")
    found: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            found[re.sub(r"[^A-Za-z0-9_\-. /]", "_", prefix)] = float(value)

    walk("", data)
    quality = {k: v for k, v in found.items() if _QUALITY.search(k)}
    return quality or found


def checkpoint_metadata(checkpoint: str, metrics_file: str | None = None) -> dict[str, Any]:
    """What the registry records about a checkpoint folder (read from its files, weights not loaded)."""
    from .checkpoint import architecture_of, read_config
    from .identity import checkpoint_sha256, folder_manifest

    with open(os.path.join(checkpoint, "config.json"), encoding="utf-8") as fh:
        raw = json.load(fh)
    enc_file = os.path.join(checkpoint, "encoder_config", "config.json")
    enc: dict[str, Any] = {}
    if os.path.isfile(enc_file):
        with open(enc_file, encoding="utf-8") as fh:
            enc = json.load(fh)
    meta: dict[str, Any] = {
        "encoder": raw.get("model_name") or enc.get("_name_or_path") or "unknown",
        "encoder_type": enc.get("model_type", "unknown"),
        "encoder_hidden_size": enc.get("hidden_size"),
        "encoder_layers": enc.get("num_hidden_layers"),
        "architecture": architecture_of(raw),
        "max_span_width": getattr(read_config(checkpoint), "max_width", "any"),  # boundary spans: any length
        SHA_TAG: checkpoint_sha256(checkpoint),
        MANIFEST_TAG: json.dumps(folder_manifest(checkpoint), separators=(",", ":")),
    }
    metrics = find_eval_metrics(checkpoint, metrics_file)
    if metrics:
        meta["eval_metrics"] = metrics
    return meta


def _requirements() -> list[str]:
    from importlib import metadata

    reqs = []
    for dist in ("torch", "transformers", "tokenizers", "safetensors", "numpy", "pyyaml", "pandas"):
        try:
            reqs.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    return reqs


# --------------------------------------------------------------------------------------------
# logging and registering


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    sha256: str
    run_id: str | None
    alias: str | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def _schema_file(schema: Any, tmp: str) -> str:
    if isinstance(schema, str):
        if not os.path.isfile(schema):
            raise ConfigError("--schema", f"expected a schema file (YAML or JSON), {schema!r} does not exist")
        return schema
    from .schema import Schema

    spec = schema.to_dict() if isinstance(schema, Schema) else dict(schema)
    path = os.path.join(tmp, "schema.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(spec, fh, indent=1)
    return path


def register_checkpoint(
    checkpoint: str,
    name: str,
    alias: str | None = None,
    *,
    schema: Any = None,
    metrics_file: str | None = None,
    experiment: str | None = None,
    description: str | None = None,
    revision: str | None = None,
) -> Registered:
    """Log ``checkpoint`` as a pyfunc model in a new MLflow run and register it as a new version of
    ``name``; ``alias`` (e.g. ``champion``) then points at that version.

    ``checkpoint`` may be a Hugging Face hub id (``owner/name``, at ``revision``; see ``hub``): its snapshot
    folder is registered, and the version is tagged ``hub_id``, ``hub_revision`` and ``hub_commit``.

    ``schema`` (a file, mapping or ``Schema``; required, there is no default) is the default schema of
    the pyfunc model; callers of ``predict``/``spark_udf`` may pass another one as the ``schema`` param.

    Example::

        reg = register_checkpoint("models/gliner2-minilm-default", "gliner2-minilm-default", "champion",
                                  schema="conf/schemas/default.yaml")
    """
    mlflow = _mlflow()

    from .pyfunc import GLiNER2PyFunc, signature
    from .schema import load_schema

    checkpoint, ref = _hub_checkpoint(checkpoint, revision)
    checkpoint = os.path.abspath(checkpoint)
    if not os.path.isfile(os.path.join(checkpoint, "config.json")):
        raise ConfigError("--checkpoint", f"expected a GLiNER2 checkpoint folder, {checkpoint!r} has no config.json")
    if schema is None:
        raise ConfigError(
            "--schema",
            "expected the model's default schema (a YAML or JSON file, a mapping or a "
            "Schema), got none; e.g. conf/schemas/default.yaml in the repository",
        )
    meta = checkpoint_metadata(checkpoint, metrics_file)
    hub_tags = _hub_tags(ref)
    with tempfile.TemporaryDirectory() as tmp, _run(f"register {name}", experiment) as run:
        schema_file = _schema_file(schema, tmp)
        load_schema(schema_file)  # fail here on a bad schema, not when the model is loaded
        from .identity import file_sha256

        meta[SCHEMA_TAG] = file_sha256(schema_file)
        artifact = checkpoint
        if ref is not None:  # the hub cache's snapshot is symlinks into its blobs: MLflow logs real files
            artifact = shutil.copytree(checkpoint, os.path.join(tmp, "hub", ref.repo_id.split("/")[1]))
        mlflow.log_params(
            {
                "checkpoint": checkpoint,
                "encoder": meta["encoder"],
                "architecture": meta["architecture"],
                "max_span_width": meta["max_span_width"],
                SHA_TAG: meta[SHA_TAG],
                **hub_tags,
            }
        )
        if meta.get("eval_metrics"):
            mlflow.log_metrics({f"eval.{k}": v for k, v in meta["eval_metrics"].items()})
        with warnings.catch_warnings():  # a signature is given on purpose: an input_example would pickle
            warnings.filterwarnings("ignore", message=".*input_example.*")  # the loaded model
            info = mlflow.pyfunc.log_model(
                name=MODEL_NAME,
                python_model=GLiNER2PyFunc(),
                artifacts={"checkpoint": artifact, "schema": schema_file},
                signature=signature(),
                metadata=meta,
                model_config={MANIFEST_TAG: meta[MANIFEST_TAG], SCHEMA_TAG: meta[SCHEMA_TAG]},  # pyfunc verifies
                pip_requirements=_requirements(),
                registered_model_name=name,
                await_registration_for=60,
            )
        version = str(info.registered_model_version)
    client = _client()
    for key, value in {
        **{k: meta[k] for k in (SHA_TAG, MANIFEST_TAG, SCHEMA_TAG, "encoder", "architecture", "max_span_width")},
        **hub_tags,
    }.items():
        client.set_model_version_tag(name, version, key, str(value))
    if description:
        client.update_model_version(name, version, description=description)
    if alias:
        client.set_registered_model_alias(name, alias, version)
    return Registered(name, version, meta[SHA_TAG], run.info.run_id, alias)


def _hub_checkpoint(checkpoint: str, revision: str | None) -> tuple[str, HubRef | None]:
    """A hub id's snapshot folder (downloaded once) and its ``HubRef``; a folder as it is."""
    from .errors import ModelUnavailableError
    from .hub import is_hub_id
    from .hub import resolve as resolve_hub_id

    if not is_hub_id(checkpoint):
        if revision is not None:
            raise ConfigError(
                "--revision",
                f"expected only with a Hugging Face hub id (owner/name) as --checkpoint, got {checkpoint!r}",
            )
        return checkpoint, None
    try:
        return resolve_hub_id(checkpoint, revision)
    except ModelUnavailableError as err:
        raise ConfigError("--checkpoint", str(err)) from None


def _hub_tags(ref: HubRef | None) -> dict[str, str]:
    """What a registered version (and its run) records about the hub model it came from."""
    if ref is None:
        return {}
    return {"hub_id": ref.repo_id, "hub_revision": ref.revision, "hub_commit": ref.commit}


def set_alias(name: str, alias: str, version: str | int) -> None:
    """Point ``name@alias`` at ``version`` (moving it if it pointed elsewhere)."""
    _client().set_registered_model_alias(name, alias, str(version))


def alias_version(name: str, alias: str) -> str | None:
    """The version ``name@alias`` points at, or ``None`` if the model or the alias does not exist."""
    _mlflow()
    from mlflow.exceptions import MlflowException

    try:
        return str(_client().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def has_manifest(name: str, version: str) -> bool:
    """Whether version ``version`` of ``name`` records the file manifest ``resolve`` checks."""
    tags = _client().get_model_version(name, version).tags or {}
    return bool(tags.get(MANIFEST_TAG) and tags.get(SCHEMA_TAG))


# --------------------------------------------------------------------------------------------
# resolving models:/ URIs


@dataclass(frozen=True)
class ResolvedModel:
    """One concrete registered version, downloaded: what a job run uses."""

    name: str
    version: str
    path: str  # the local checkpoint folder
    sha256: str
    requested: str  # the URI as configured, e.g. models:/name@champion

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """``models:/NAME@ALIAS`` -> (name, alias, None); ``models:/NAME/VERSION`` -> (name, None, version)."""
    m = _URI.match(uri.strip())
    if not m or (m["version"] is not None and not m["version"].isdigit()):
        raise RegistryError(f"expected models:/NAME@ALIAS or models:/NAME/VERSION (a number), got {uri!r}")
    return m["name"], m["alias"], m["version"]


def cache_root(cache_dir: str | None = None) -> str:
    """Where downloaded versions are kept: ``cache_dir``, ``$GLINER2_UDF_MODEL_CACHE`` or ~/.cache.

    With ``model.distribution: path`` every executor reads the folder: on a cluster point
    ``GLINER2_UDF_MODEL_CACHE`` at shared storage (a /dbfs or /Volumes path on Databricks).
    """
    return os.path.abspath(
        cache_dir
        or os.environ.get(CACHE_ENV)
        or os.path.join(os.path.expanduser("~"), ".cache", "gliner2_udf", "models")
    )


def _checkpoint_in(local_model: str) -> str:
    from mlflow.models import Model

    flavor = Model.load(local_model).flavors.get("python_function", {})
    rel = (flavor.get("artifacts") or {}).get("checkpoint", {}).get("path")
    if not rel:
        raise RegistryError(
            f"{local_model}: the logged model has no 'checkpoint' artifact; "
            "register checkpoints with jobs/register_model.py"
        )
    _refuse_escapes(local_model, rel)
    return os.path.join(local_model, rel)


def _refuse_escapes(local_model: str, rel: str) -> None:
    """The checkpoint artifact must be a folder inside the downloaded model, and nothing in it (a symlink)
    may resolve outside: a tampered MLmodel or artifact cannot make the job read other files."""
    root = os.path.realpath(local_model)
    folder = os.path.realpath(os.path.join(root, rel))
    inside = lambda p: os.path.commonpath([root, os.path.realpath(p)]) == root  # noqa: E731
    escapes = [] if inside(folder) and folder != root else [folder]
    if not escapes:
        for where, dirs, files in os.walk(folder):
            escapes += [p for p in (os.path.join(where, n) for n in dirs + files) if not inside(p)]
    if escapes:
        raise RegistryError(
            f"{local_model}: the 'checkpoint' artifact {rel!r} reaches outside the model folder "
            f"({escapes[0]!r}); refused"
        )


def _download(uri: str, dest: str, replace: bool = False) -> str:
    """Download into a temporary folder beside ``dest``, then rename it into place; if another process
    got there first, its copy is kept (the caller verifies the sha256 either way)."""
    import mlflow

    if replace:
        shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".download-", dir=os.path.dirname(dest))
    try:
        mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp)
        try:
            os.rename(tmp, dest)
        except OSError:  # dest exists and is not empty: a concurrent download finished first
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def resolve(uri: str, cache_dir: str | None = None) -> ResolvedModel:
    """Resolve ``uri`` to one version, download it (once per cache) and verify its checkpoint sha256.

    Raises :class:`RegistryError` naming what is missing, or, when the downloaded weights differ from
    the sha256 recorded at registration, giving both hashes.

    Example::

        m = resolve("models:/gliner2-minilm-default@champion")
        m.uri, m.path        # ('models:/gliner2-minilm-default/3', '/home/me/.cache/.../checkpoint')
    """
    name, alias, version = parse_model_uri(uri)
    try:
        mlflow = _mlflow()
        from mlflow.exceptions import MlflowException
    except ImportError:
        raise RegistryError(f"{uri!r} needs mlflow: pip install -e '.[mlflow]'") from None

    client = _client()
    try:
        client.get_registered_model(name)
    except MlflowException:
        raise RegistryError(
            f"no registered model {name!r} in {mlflow.get_registry_uri()}; register one with "
            f"jobs/register_model.py --checkpoint DIR --name {name}"
        ) from None
    try:
        mv = (
            client.get_model_version_by_alias(name, alias)
            if alias is not None
            else client.get_model_version(name, version)
        )
    except MlflowException:
        if alias is not None:
            raise RegistryError(
                f"model {name!r} has no alias {alias!r}; set one with jobs/register_model.py or registry.set_alias"
            ) from None
        raise RegistryError(f"model {name!r} has no version {version}") from None
    version = str(mv.version)
    pinned = f"models:/{name}/{version}"
    tags = mv.tags or {}
    if not tags.get(MANIFEST_TAG) or not tags.get(SCHEMA_TAG):
        raise RegistryError(
            f"{pinned} has no recorded file manifest (tags {MANIFEST_TAG}, {SCHEMA_TAG}): it was registered "
            "before manifests were recorded, or its tags were removed; a checkpoint is never checked against "
            "hashes read from its own download. Register it again with jobs/register_model.py"
        )
    recorded = json.loads(tags[MANIFEST_TAG])
    dest = os.path.join(
        cache_root(cache_dir), re.sub(r"[^A-Za-z0-9_.-]+", "_", name), f"{version}-{tags.get(SHA_TAG, '')[:12]}"
    )
    fresh = not os.path.isfile(os.path.join(dest, "MLmodel"))
    if fresh:
        _download(pinned, dest)
    problems = verify_artifacts(dest, recorded, tags[SCHEMA_TAG])
    if problems and not fresh:  # a stale or damaged cache: fetch once more
        _download(pinned, dest, replace=True)
        problems = verify_artifacts(dest, recorded, tags[SCHEMA_TAG])
    if problems:
        raise RegistryError(
            f"{pinned} ({uri}) does not match what was registered: {'; '.join(problems)}; refusing to run"
        )
    return ResolvedModel(name, version, _checkpoint_in(dest), tags.get(SHA_TAG, ""), uri)


def verify_artifacts(local_model: str, manifest: dict[str, str], schema_sha256: str) -> list[str]:
    """What differs between a downloaded model's checkpoint and schema artifacts and the hashes recorded at
    registration; empty if nothing."""
    return artifact_problems(_checkpoint_in(local_model), _schema_in(local_model), manifest, schema_sha256)


def artifact_problems(checkpoint: str, schema: str | None, manifest: dict[str, str], schema_sha256: str) -> list[str]:
    """What differs between a checkpoint folder and schema file and the hashes recorded at registration, one
    phrase each (a changed weights file names both hashes); empty if nothing."""
    from .identity import file_sha256, folder_manifest, manifest_problems

    problems = manifest_problems(checkpoint, manifest)
    weights = "'model.safetensors' changed"
    if weights in problems:
        got = folder_manifest(checkpoint)["model.safetensors"]
        problems[problems.index(weights)] = f"{weights} (registered {manifest['model.safetensors']}, downloaded {got})"
    if schema is None or file_sha256(schema) != schema_sha256:
        problems.append("the schema artifact " + ("is missing" if schema is None else "changed"))
    return problems


def _schema_in(local_model: str) -> str | None:
    from mlflow.models import Model

    flavor = Model.load(local_model).flavors.get("python_function", {})
    rel = (flavor.get("artifacts") or {}).get("schema", {}).get("path")
    if not rel:
        return None
    root, path = os.path.realpath(local_model), os.path.realpath(os.path.join(local_model, rel))
    if os.path.commonpath([root, path]) != root:
        raise RegistryError(f"{local_model}: the 'schema' artifact {rel!r} reaches outside the model folder; refused")
    return path if os.path.isfile(path) else None


def resolve_checkpoint(uri: str) -> str:
    """The local checkpoint folder of a ``models:/`` URI (download once, sha256 checked)."""
    return resolve(uri).path


def resolve_hub(cfg: ModelConfig) -> tuple[str, HubRef]:
    """The hub snapshot folder and ``HubRef`` for a hub id ``model.path`` (at ``model.revision``), downloaded
    once, here on the driver; a model that cannot be had is a ConfigError on ``model.path``."""
    from .errors import ModelUnavailableError
    from .hub import resolve as resolve_hub_id

    try:
        return resolve_hub_id(cfg.path, cfg.revision)
    except ModelUnavailableError as err:
        raise ConfigError("model.path", str(err)) from None


def resolve_model(cfg: ModelConfig) -> str:
    """The local checkpoint folder for ``model.path``; raises ConfigError if there is none.

    ``models:/NAME@ALIAS`` and ``models:/NAME/VERSION`` go to :func:`resolve_checkpoint`
    (download once, sha256 checked); a hub id (``owner/name``) to :func:`resolve_hub` (the hub cache's
    snapshot folder); the job uses :func:`resolve_model_version` to get the version too.
    """
    if cfg.is_mlflow_uri:
        return resolve_checkpoint(cfg.path)
    if cfg.is_hub_id:
        return resolve_hub(cfg)[0]
    if not os.path.isdir(cfg.path):
        raise ConfigError("model.path", f"expected a checkpoint folder, {cfg.path!r} does not exist")
    return cfg.path


def resolve_model_version(cfg: ModelConfig) -> tuple[str, str]:
    """(checkpoint folder, model_version label) for a job's ``model`` section, resolved once.

    ``models:/`` URIs give ``models:/NAME/VERSION``; hub ids ``owner/name@<commit>``; folders give
    ``<folder>@<sha256[:12]>``; ``model.version``, when set, overrides any label.
    """
    if cfg.is_mlflow_uri:
        if not cfg.path.startswith("models:/"):
            raise RegistryError(
                f"expected models:/NAME@ALIAS or models:/NAME/VERSION, got {cfg.path!r}; "
                "register a run's model with jobs/register_model.py first"
            )
        m = resolve(cfg.path)
        return m.path, cfg.version or m.uri
    if cfg.is_hub_id:
        path, ref = resolve_hub(cfg)
        return path, cfg.version or ref.model_version
    from .identity import default_model_version

    path = resolve_model(cfg)
    return path, cfg.version or default_model_version(path)


# --------------------------------------------------------------------------------------------
# job runs


def config_dict(cfg: JobConfig) -> dict[str, Any]:
    """The validated configuration as plain data (what is logged as ``config/job.yaml``)."""
    d = dataclasses.asdict(dataclasses.replace(cfg, compiled_schema=None))
    d.pop("compiled_schema", None)
    options = d.pop("options")  # under the file's own keys, as from_dict reads them
    d.update({key: options[field] for key, field in OPTION_KEYS.items()})

    def plain(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return plain(d)


def _flat(d: Mapping, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and key != "schema":
            out.update(_flat(v, key + "."))
        else:
            text = json.dumps(v) if isinstance(v, (list, dict)) else str(v)
            out[key] = text if len(text) <= 500 else text[:497] + "..."
    return out


class JobTracker:
    """Logs one job run's outcome into the active MLflow run (a no-op without mlflow)."""

    def __init__(self, run_id: str | None):
        self.run_id = run_id

    def log_summary(self, summary: Any) -> None:
        if self.run_id is None:
            return
        import mlflow

        from .rows import STATUSES

        metrics = {
            "documents": summary.rows,
            "documents_per_second": summary.docs_per_second,
            "seconds": summary.seconds,
        }
        read = summary.input  # what the input held: rows, rows without an id, rows that repeat an id
        metrics.update(
            {"input.rows": read.rows, "input.null_ids": read.null_ids, "input.repeated_ids": read.repeated_ids}
        )
        counts = dict(summary.status_counts)
        for status in dict.fromkeys([*STATUSES, *counts]):
            metrics[f"status.{status}"] = counts.get(status, 0)
        for label, n in (getattr(summary, "entity_counts", None) or {}).items():
            metrics[f"entities.{re.sub(r'[^A-Za-z0-9_.-]+', '_', label)}"] = n
        usage = summary.usage  # what a user budgets with
        if usage.documents:
            metrics.update(
                {
                    "cost.cpu_seconds_per_1k_documents": usage.cpu_seconds_per_1k,
                    "cost.documents_per_second_per_core": summary.docs_per_second_per_core,
                    "cost.mean_characters": usage.mean_characters,
                    "cost.cores": summary.cores,
                }
            )
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        summary.mlflow_run_id = self.run_id

    def log_progress(self, figures: dict[str, float], step: int) -> None:
        """``progress.*`` metrics at ``step``, while the job runs (called from the progress thread, so by run id)."""
        if self.run_id is None:
            return
        from mlflow import MlflowClient
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        MlflowClient().log_batch(self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in figures.items()])


@contextlib.contextmanager
def track_job(
    cfg: JobConfig,
    model_version: str,
    experiment: str | None = None,
    hub: HubRef | None = None,
    runtime: tuple[str, str] | None = None,
) -> Iterator[JobTracker]:
    """One MLflow run around an extract job: parameters and the configuration when it starts,
    progress metrics while it runs and metrics from ``JobTracker.log_summary``; the run ends FAILED if the job
    raises. A hub model (``hub``) adds the params and tags ``hub_id``, ``hub_revision`` and ``hub_commit``.
    ``runtime``: the precision and backend the loaded model runs (``model.backend: auto`` resolved), logged as
    ``runtime.precision`` and ``runtime.backend``.

    Without mlflow installed the job runs untracked (a note goes to stderr).
    """
    try:
        mlflow = _mlflow()
    except ImportError:
        print("note: mlflow is not installed; this run is not tracked (pip install -e '.[mlflow]')", file=sys.stderr)
        yield JobTracker(None)
        return
    where_in = cfg.input.table or cfg.input.path
    where_out = cfg.output.table or cfg.output.path
    with _run(f"extract -> {where_out}", experiment) as run:
        conf = config_dict(cfg)
        params = {
            "input": where_in,
            "output": where_out,
            "schema_hash": cfg.compiled_schema.schema_hash,
            "model_version": model_version,
            "model_uri": cfg.model.path,
        }
        params.update({f"config.{k}": v for k, v in _flat(conf).items()})
        params.update(_hub_tags(hub))
        if runtime is not None:
            params.update({"runtime.precision": runtime[0], "runtime.backend": runtime[1]})
        mlflow.log_params(params)
        mlflow.set_tags({"gliner2.model_version": model_version, "gliner2.job": "extract", **_hub_tags(hub)})
        mlflow.log_dict(conf, "config/job.yaml")
        if isinstance(cfg.schema, str) and os.path.isfile(cfg.schema):
            mlflow.log_artifact(cfg.schema, "config")
        yield JobTracker(run.info.run_id)
