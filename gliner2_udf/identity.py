"""A checkpoint's identity without loading it: the sha256 of its weights, the default version string, and the
manifest of every file it holds (what registration records and every load verifies).

Torch-free, so a driver can name the model it is about to ship before any model code is imported.
"""

from __future__ import annotations

import hashlib
import json
import os


def checkpoint_sha256(path: str) -> str:
    """sha256 of the checkpoint's weights file (the identity MLflow records)."""
    name = "model.safetensors" if os.path.isfile(os.path.join(path, "model.safetensors")) else "pytorch_model.bin"
    return file_sha256(os.path.join(path, name))


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def folder_manifest(path: str) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``path`` (``/``-separated names, sorted; symlinks
    followed, as a hub snapshot's are)."""
    found = {}
    for where, dirs, files in os.walk(path, followlinks=True):
        dirs.sort()
        for name in files:
            full = os.path.join(where, name)
            found[os.path.relpath(full, path).replace(os.sep, "/")] = file_sha256(full)
    return dict(sorted(found.items()))


def manifest_problems(path: str, recorded: dict[str, str]) -> list[str]:
    """What differs between the files under ``path`` and the ``recorded`` manifest, one phrase per file
    (``'config.json' changed``, ``'tokenizer.json' missing``, ``'extra.py' not recorded``); empty if none."""
    actual = folder_manifest(path)
    problems = [f"{name!r} missing" for name in recorded if name not in actual]
    problems += [f"{name!r} changed" for name in recorded if name in actual and actual[name] != recorded[name]]
    return problems + [f"{name!r} not recorded" for name in actual if name not in recorded]


def default_model_version(path: str) -> str:
    """``<folder name>@<first 12 hex digits of the weights' sha256>``: what rows record by default. A lite
    folder records the version of the checkpoint it was exported from (its ``lite.json``); a snapshot in
    the Hugging Face cache records ``owner/name@<commit>`` (``hub.HubRef.model_version``)."""
    from .hub import snapshot_ref

    lite = os.path.join(path, "lite.json")
    if os.path.isfile(lite):
        with open(lite, encoding="utf-8") as fh:
            return json.load(fh)["model_version"]
    ref = snapshot_ref(path)
    if ref is not None:
        return ref.model_version
    return f"{os.path.basename(os.path.normpath(path))}@{checkpoint_sha256(path)[:12]}"
