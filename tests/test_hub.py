"""Models named by their Hugging Face hub id, resolved through a hub cache this module lays out itself
(``models--owner--name/blobs``, ``snapshots/<commit>``, ``refs/main``) from the tiny checkpoint, with
``HF_HUB_OFFLINE=1``: no network. Expected values come from the laid-out files (hashlib), never from the
code under test.
"""

import hashlib
import os
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs import call, load_job

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HUB_ID = "acme-test/gliner2-tiny"
COMMIT = hashlib.sha1(b"gliner2-tiny, first commit").hexdigest()
SCHEMA = {
    "entities": ["person", "company"],
    "classifications": [{"name": "sentiment", "labels": ["positive", "negative", "neutral"]}],
}
TEXTS = ["Tim Cook of Apple announced a deal with Acme in Berlin.", "Jane loves the Apple watch.", ""]


def sha256(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


@pytest.fixture(scope="module")
def hub_cache(tiny_checkpoint, tmp_path_factory):
    """A hub cache holding ``HUB_ID`` at ``COMMIT`` (``refs/main`` points at it): blobs named by their
    sha256, the snapshot's files relative symlinks to them, as ``huggingface_hub`` writes it."""
    cache = tmp_path_factory.mktemp("hf_hub")
    repo = cache / ("models--" + HUB_ID.replace("/", "--"))
    snapshot = repo / "snapshots" / COMMIT
    (repo / "blobs").mkdir(parents=True)
    for where, _, files in os.walk(tiny_checkpoint):
        for name in files:
            src = os.path.join(where, name)
            rel = os.path.relpath(src, tiny_checkpoint)
            blob = repo / "blobs" / sha256(src)
            with open(src, "rb") as fh:
                blob.write_bytes(fh.read())
            link = snapshot / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.relpath(blob, link.parent), link)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)  # no newline, like huggingface_hub
    return str(cache)


@pytest.fixture
def offline_hub(hub_cache, monkeypatch):
    """``HF_HUB_CACHE`` at the laid-out cache and ``HF_HUB_OFFLINE=1``, in the environment and in
    ``huggingface_hub.constants`` (read once at import)."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_CACHE", hub_cache)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", hub_cache)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return hub_cache


def snapshot(cache):
    return os.path.join(cache, "models--" + HUB_ID.replace("/", "--"), "snapshots", COMMIT)


# --------------------------------------------------------------------------------------------
# naming and resolving


def test_what_is_a_hub_id(tmp_path, monkeypatch):
    from gliner2_udf.hub import is_hub_id

    for good in ("fastino/gliner2-base-v1", "fastino/gliner2.5-small-v1", "a/b", "Org_1/model.v2"):
        assert is_hub_id(good), good
    for bad in (
        "models:/name/1",
        "models:/name@champion",
        "runs:/abc/model",
        "hf://fastino/gliner2-base-v1",
        "s3://bucket/key",
        "/abs/folder",
        "./rel/folder",
        "a/b/c",
        "name",
        "a/../b",
        "a--b/c",
        "",
        None,
    ):
        assert not is_hub_id(bad), bad
    monkeypatch.chdir(tmp_path)
    (tmp_path / "owner" / "name").mkdir(parents=True)
    assert not is_hub_id("owner/name")  # an existing local folder wins


def test_only_weights_configs_and_tokenizer_files_are_fetched():
    from huggingface_hub.utils import filter_repo_objects

    from gliner2_udf.hub import ALLOW_PATTERNS

    files = [
        "config.json",
        "model.safetensors",
        "pytorch_model.bin",
        "encoder_config/config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "vocab.txt",
        "spm.model",
        "README.md",
        "training_args.bin",
    ]
    kept = set(filter_repo_objects(files, allow_patterns=ALLOW_PATTERNS))
    assert kept == set(files) - {"pytorch_model.bin", "training_args.bin", "README.md"}


def test_a_cached_id_loads_and_extracts_like_the_folder(offline_hub, tiny_checkpoint):
    from gliner2_udf import GLiNER2, hub

    folder, ref = hub.resolve(HUB_ID)
    assert os.path.realpath(folder) == os.path.realpath(snapshot(offline_hub))
    assert (ref.repo_id, ref.revision, ref.commit) == (HUB_ID, "main", COMMIT)
    model = GLiNER2.from_pretrained(HUB_ID)
    local = GLiNER2.from_pretrained(tiny_checkpoint)
    assert model.model_version == f"{HUB_ID}@{COMMIT}"
    got = model.batch_extract(TEXTS, SCHEMA, include_confidence=True, include_spans=True)
    assert got == local.batch_extract(TEXTS, SCHEMA, include_confidence=True, include_spans=True)
    assert GLiNER2.from_pretrained(HUB_ID, model_version="mine").model_version == "mine"
    assert GLiNER2.from_pretrained(folder).model_version == f"{HUB_ID}@{COMMIT}"  # the snapshot folder itself


def test_a_revision_as_the_commit_or_as_main_loads(offline_hub):
    from gliner2_udf import GLiNER2, hub

    for revision in (COMMIT, "main"):
        folder, ref = hub.resolve(HUB_ID, revision)
        assert (os.path.basename(folder), ref.revision, ref.commit) == (COMMIT, revision, COMMIT)
        assert GLiNER2.from_pretrained(HUB_ID, revision=revision).model_version == f"{HUB_ID}@{COMMIT}"


@pytest.mark.parametrize(
    "repo_id,revision,shown",
    [("acme-test/not-cached", None, "main"), (HUB_ID, "v2", "v2"), (HUB_ID, "0" * 40, "0" * 40)],
)
def test_an_uncached_id_or_revision_fails_at_once_in_one_line(offline_hub, repo_id, revision, shown):
    from gliner2_udf import GLiNER2, hub
    from gliner2_udf.errors import ModelUnavailableError

    t0 = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as info:
        hub.resolve(repo_id, revision)
    assert time.perf_counter() - t0 < 2.0
    message = str(info.value)
    assert "\n" not in message
    assert f"'{repo_id}'" in message and f"revision '{shown}'" in message and offline_hub in message
    assert "HF_HUB_OFFLINE" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no chained traceback
    with pytest.raises(ModelUnavailableError, match="^Hugging Face model"):
        GLiNER2.from_pretrained(repo_id, revision=revision)


def test_a_revision_needs_a_hub_id(tiny_checkpoint):
    from gliner2_udf import GLiNER2, hub
    from gliner2_udf.errors import CheckpointError

    assert hub.resolve(tiny_checkpoint) == (tiny_checkpoint, None)
    with pytest.raises(CheckpointError, match="revision 'main' applies only to a Hugging Face hub id"):
        GLiNER2.from_pretrained(tiny_checkpoint, revision="main")
    with pytest.raises(CheckpointError, match="revision 'main' applies only to a Hugging Face hub id"):
        hub.resolve(tiny_checkpoint, "main")


# --------------------------------------------------------------------------------------------
# the job configuration


def config(model, tmp_path):
    from gliner2_udf.config import from_dict

    return from_dict(
        {"input": {"path": str(tmp_path / "docs.parquet")}, "schema": SCHEMA, "model": model, "output": {"path": "o"}}
    )


def test_job_config_accepts_a_hub_id_and_a_revision(offline_hub, tmp_path):
    from gliner2_udf.errors import ConfigError
    from gliner2_udf.registry import resolve_model, resolve_model_version

    cfg = config({"path": HUB_ID, "revision": COMMIT}, tmp_path)
    assert (cfg.model.path, cfg.model.revision, cfg.model.is_hub_id) == (HUB_ID, COMMIT, True)
    folder, version = resolve_model_version(cfg.model)
    assert os.path.realpath(folder) == os.path.realpath(snapshot(offline_hub)) and version == f"{HUB_ID}@{COMMIT}"
    assert resolve_model(config(HUB_ID, tmp_path).model) == folder  # the shorthand, at main
    assert resolve_model_version(config({"path": HUB_ID, "version": "v7"}, tmp_path).model)[1] == "v7"

    with pytest.raises(ConfigError, match=r"^model.revision: expected a branch, tag or commit hash as a string"):
        config({"path": HUB_ID, "revision": 1234567}, tmp_path)
    with pytest.raises(ConfigError, match=r"^model.revision: expected only with a Hugging Face hub id"):
        config({"path": str(tmp_path), "revision": "main"}, tmp_path)
    with pytest.raises(ConfigError, match=r"^model.revision: expected only with a Hugging Face hub id"):
        config({"path": "models:/x@champion", "revision": "main"}, tmp_path)
    with pytest.raises(ConfigError) as info:
        resolve_model_version(config({"path": HUB_ID, "revision": "v9"}, tmp_path).model)
    assert info.value.path == "model.path" and "revision 'v9'" in str(info.value) and "\n" not in str(info.value)


# --------------------------------------------------------------------------------------------
# registering


def test_register_a_hub_id_records_the_hub_id_and_commit(offline_hub, tiny_checkpoint, tmp_path):
    from mlflow import MlflowClient

    from gliner2_udf import registry

    reg = registry.register_checkpoint(HUB_ID, "tiny-hub", schema=SCHEMA)
    client = MlflowClient()
    tags = client.get_model_version("tiny-hub", reg.version).tags
    weights = sha256(os.path.join(tiny_checkpoint, "model.safetensors"))
    assert (tags["hub_id"], tags["hub_revision"], tags["hub_commit"]) == (HUB_ID, "main", COMMIT)
    assert tags["checkpoint_sha256"] == weights == reg.sha256
    params = client.get_run(reg.run_id).data.params
    assert (params["hub_id"], params["hub_commit"]) == (HUB_ID, COMMIT)
    resolved = registry.resolve(reg.uri, cache_dir=str(tmp_path / "cache"))  # real files, sha256 checked
    assert resolved.sha256 == weights and not os.path.islink(os.path.join(resolved.path, "model.safetensors"))

    main = load_job("register_model").main
    code, out, err = call(main, ["--checkpoint", HUB_ID, "--revision", COMMIT, "--name", "tiny-hub-cli"])
    assert code == 0 and out.startswith("registered models:/tiny-hub-cli/1 sha256="), err
    assert client.get_model_version("tiny-hub-cli", "1").tags["hub_revision"] == COMMIT
    code, _, err = call(main, ["--checkpoint", "acme-test/not-cached", "--name", "x"])
    assert code == 2 and err.startswith("error: --checkpoint: Hugging Face model 'acme-test/not-cached'")
    assert err.count("\n") == 1
    code, _, err = call(main, ["--checkpoint", tiny_checkpoint, "--revision", "main", "--name", "x"])
    assert code == 2 and err.startswith("error: --revision: expected only with a Hugging Face hub id")


def test_notebook_helpers_pass_a_hub_id_through():
    from gliner2_udf.notebooks import model_uri

    assert model_uri(HUB_ID, "champion") == HUB_ID
    assert model_uri("gliner2-minilm-default", "champion") == "models:/gliner2-minilm-default@champion"


# --------------------------------------------------------------------------------------------
# Spark: the job with a hub id


@pytest.mark.slow
def test_extract_job_with_a_hub_id(spark, offline_hub, tmp_path):
    from mlflow import MlflowClient

    from gliner2_udf.config import from_dict
    from gliner2_udf.spark import run

    docs = {"d1": TEXTS[0], "d2": TEXTS[1], "d3": "Acme hires Tim."}
    inp = str(tmp_path / "docs.parquet")
    pq.write_table(pa.table({"id": list(docs), "text": list(docs.values())}), inp)
    out = str(tmp_path / "out")
    cfg = from_dict(
        {
            "input": {"path": inp},
            "schema": SCHEMA,
            "model": {"path": HUB_ID, "revision": "main"},
            "output": {"path": out},
            "batch_size": 4,
        }
    )
    summary = run(cfg, spark)
    rows = spark.read.format("delta").load(out).collect()
    assert sorted(r["id"] for r in rows) == sorted(docs)
    assert {r["status"] for r in rows} == {"ok"} and summary.status_counts == {"ok": 3}
    assert {r["model_version"] for r in rows} == {f"{HUB_ID}@{COMMIT}"}
    r = MlflowClient().get_run(summary.mlflow_run_id)
    assert (r.data.params["model_uri"], r.data.params["hub_id"], r.data.params["hub_commit"]) == (
        HUB_ID,
        HUB_ID,
        COMMIT,
    )
    assert r.data.params["config.model.revision"] == "main" and r.data.tags["hub_commit"] == COMMIT
