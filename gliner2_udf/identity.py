"""A checkpoint's identity without loading it: the sha256 of its weights and the default version string.

Torch-free, so a driver can name the model it is about to ship before any model code is imported.
"""

from __future__ import annotations

import hashlib
import json
import os


def checkpoint_sha256(path: str) -> str:
    """sha256 of the checkpoint's weights file (the identity MLflow records)."""
    name = "model.safetensors" if os.path.isfile(os.path.join(path, "model.safetensors")) else "pytorch_model.bin"
    h = hashlib.sha256()
    with open(os.path.join(path, name), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
