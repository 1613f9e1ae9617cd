"""A ``GLiNER2`` as bytes, for Spark broadcasts and worker processes: files, not objects.

A model travels as the folder it runs from, in a tar archive: the checkpoint folder (torch backend, in
its stored dtype) or its lite folder (onnx backend), so a Python worker that unpickles a lite model never
imports torch, and no pickled code objects travel.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile


def to_bytes(model) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "ckpt")
        if model.backend == "onnx":
            model.export_lite(folder)
        else:
            model.save_pretrained(folder, dtype=getattr(model, "_storage_dtype", None))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(folder, arcname="ckpt")
    return buf.getvalue()


def from_bytes(
    blob: bytes, model_version: str, max_tokens: int, precision: str = "fp32", backend: str = "torch", label_limits=None
):
    """The model ``to_bytes`` wrote (the unpickling side of ``GLiNER2.__reduce__``). It is loaded
    ``inference_only``: an unpickled model is a worker's copy (a Spark broadcast), so an int8 one does not keep
    the fp32 weights, and pickling it again is refused."""
    from .engine import GLiNER2
    from .runtime.lite import is_lite_folder

    tmp = tempfile.mkdtemp(prefix="gliner2_udf_")
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r") as tar:
        tar.extractall(tmp, filter="data")
    folder = os.path.join(tmp, "ckpt")
    if is_lite_folder(folder):  # the runner re-reads encoder.onnx when threads change: kept until exit
        import atexit

        atexit.register(shutil.rmtree, tmp, True)
        model = GLiNER2.from_lite(folder, model_version=model_version, max_tokens=max_tokens)
    else:
        try:
            model = GLiNER2.from_pretrained(
                folder,
                model_version=model_version,
                max_tokens=max_tokens,
                precision=precision,
                backend=backend,
                inference_only=True,
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if label_limits is not None:  # the sender's, read from its checkpoint (a lite folder does not carry it)
        model.label_limits = label_limits
    return model
