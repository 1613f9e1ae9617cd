"""Hostile files and schemas, refused on the driver before Spark starts (no session is created here).

Checkpoint loading itself (safetensors only, remote code, unknown architectures) is pinned in
``test_engine.py``; the sha256 check against the registry in ``test_registry.py``
(``test_tampered_checkpoint_is_refused_with_both_hashes``).
"""

import io
import json
import os
import shutil
import tarfile

import pytest

from gliner2_udf.config import ConfigError, from_dict


def _mlmodel(folder, rel: str) -> str:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "MLmodel"), "w") as fh:
        fh.write(
            "flavors:\n  python_function:\n    loader_module: gliner2_udf.pyfunc\n    artifacts:\n"
            f"      checkpoint:\n        path: {rel}\n        uri: /x\n"
        )
    return str(folder)


@pytest.mark.parametrize("rel", ["../../etc", "/etc", "artifacts/../../outside"])
def test_registry_artifact_path_cannot_escape_the_model_folder(tmp_path, rel):
    from gliner2_udf.registry import RegistryError, _checkpoint_in

    with pytest.raises(
        RegistryError,
        match=r"^model.path: .*: the 'checkpoint' artifact .* reaches outside the "
        r"model folder .*; refused$",
    ):
        _checkpoint_in(_mlmodel(tmp_path / "m", rel))


def test_registry_artifact_symlink_out_of_the_folder_is_refused(tmp_path, tiny_checkpoint):
    from gliner2_udf.registry import RegistryError, _checkpoint_in

    model = _mlmodel(tmp_path / "m", "artifacts/checkpoint")
    ckpt = os.path.join(model, "artifacts", "checkpoint")
    shutil.copytree(tiny_checkpoint, ckpt)
    assert _checkpoint_in(model) == ckpt
    os.remove(os.path.join(ckpt, "config.json"))
    os.symlink(os.path.join(tiny_checkpoint, "config.json"), os.path.join(ckpt, "config.json"))
    with pytest.raises(RegistryError, match="reaches outside the model folder"):
        _checkpoint_in(model)


def test_broadcast_blob_cannot_write_outside_its_temporary_folder(tiny_checkpoint, tmp_path):
    """A broadcast model is a tar of the checkpoint folder; a member named ``../x`` is refused on unpickling."""
    from gliner2_udf.transport import from_bytes

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(tiny_checkpoint, arcname="ckpt")
        data = b"pwned"
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(tarfile.TarError):
        from_bytes(buf.getvalue(), "v", 512)


def _cfg(tmp_path, ckpt, schema):
    return from_dict(
        {
            "input": {"path": str(tmp_path / "none.parquet")},
            "schema": schema,
            "model": {"path": ckpt},
            "output": {"path": str(tmp_path / "out")},
        }
    )


def test_schema_part_that_never_fits_the_window_fails_before_spark(tiny_checkpoint, tmp_path):
    """``GLiNER2.plan`` runs on the driver: an entity whose prompt alone overflows the encoder window is a
    configuration error naming it; hundreds of small labels are split into passes instead."""
    from pyspark.sql import SparkSession

    from gliner2_udf.spark.job import run

    huge = {"entities": ["person", {"name": "company", "description": "acme " * 600}]}
    with pytest.raises(
        ConfigError,
        match=r"^schema.entities\[1\]: needs \d+ encoder tokens on its own; the window "
        r"is 512 with 64 kept for the text$",
    ):
        run(_cfg(tmp_path, tiny_checkpoint, huge), spark=None)
    assert SparkSession.getActiveSession() is None
    from gliner2_udf import GLiNER2, compile_schema

    many = compile_schema({"entities": [f"label {i}" for i in range(300)]})
    assert len(GLiNER2.from_pretrained(tiny_checkpoint).plan(many)) > 1


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda c: c.update(auto_map={"AutoModel": "remote.Model"}), "asks for remote code"),
        (lambda c: c.update(architecture="token"), "architecture 'token' is not supported"),
    ],
)
def test_hostile_checkpoint_fails_the_job_before_spark(tiny_checkpoint, tmp_path, change, message):
    from pyspark.sql import SparkSession

    from gliner2_udf.spark.job import run

    ckpt = str(tmp_path / "ckpt")
    shutil.copytree(tiny_checkpoint, ckpt)
    with open(os.path.join(ckpt, "config.json")) as fh:
        cfg = json.load(fh)
    change(cfg)
    with open(os.path.join(ckpt, "config.json"), "w") as fh:
        json.dump(cfg, fh)
    with pytest.raises(ConfigError, match=f"^model.path: .*config.json: .*{message}"):
        run(_cfg(tmp_path, ckpt, {"entities": ["person"]}), spark=None)
    assert SparkSession.getActiveSession() is None


def test_executor_preflight_refuses_any_file_that_differs_from_the_drivers(tiny_checkpoint, tmp_path):
    """What each executor's preflight task runs: not only other weights, a changed tokenizer or config is refused
    (the driver's manifest is every file's sha256)."""
    import shutil

    from gliner2_udf.identity import folder_manifest
    from gliner2_udf.spark.preflight import _probe

    driver = folder_manifest(tiny_checkpoint)
    copy = shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    ((_, ok),) = list(_probe(str(copy), driver)(iter([0])))
    assert ok is None
    with open(copy / "tokenizer.json", "a") as fh:
        fh.write(" ")
    ((_, err),) = list(_probe(str(copy), driver)(iter([0])))
    assert err == "ValueError: its files differ from the driver's: 'tokenizer.json' changed"
