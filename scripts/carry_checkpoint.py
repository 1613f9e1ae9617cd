"""Shrink a checkpoint for the trip to a lent GPU machine, and put it back together afterwards.

The device tool carries at most 64 MiB. A continued run freezes the word-embedding matrix (a third of
the fp16 checkpoint), so it travels int8 (one scale per row), and what comes back leaves it out:

    python scripts/carry_checkpoint.py pack   models/gliner2-minilm-default output/carry_init
    python scripts/carry_checkpoint.py unpack output/carry_init /tmp/init            # on the GPU machine
    python scripts/carry_checkpoint.py merge  <files_at of the run> models/gliner2-minilm-default <out>

``merge`` restores the original fp16 word embeddings, so the trained model never sees the int8 copy
at inference; training saw the dequantized matrix (relative error about 0.4 %).
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile

import torch
from safetensors.torch import load, load_file, save_file

WORD = "encoder.embeddings.word_embeddings.weight"
PACKED = "word_embeddings.int8.safetensors"
META = {"format": "pt"}


def _copy_meta(src: str, dst: str) -> None:
    os.makedirs(dst, exist_ok=True)
    for name in os.listdir(src):
        path = os.path.join(src, name)
        if name == "model.safetensors" or name == PACKED:
            continue
        if os.path.isdir(path):
            shutil.copytree(path, os.path.join(dst, name), dirs_exist_ok=True)
        else:
            shutil.copy(path, dst)


def pack(src: str, dst: str) -> None:
    state = load_file(os.path.join(src, "model.safetensors"))
    word = state.pop(WORD).float()
    scale = word.abs().amax(dim=1, keepdim=True).clamp_min(1e-8) / 127
    _copy_meta(src, dst)
    save_file({k: v.half() for k, v in state.items()}, os.path.join(dst, "model.safetensors"), metadata=META)
    packed = {"q": torch.round(word / scale).to(torch.int8), "scale": scale.half()}
    save_file(packed, os.path.join(dst, PACKED), metadata=META)


def unpack(src: str, dst: str) -> None:
    state = load_file(os.path.join(src, "model.safetensors"))
    packed = load_file(os.path.join(src, PACKED))
    state[WORD] = (packed["q"].float() * packed["scale"].float()).half()
    _copy_meta(src, dst)
    save_file(state, os.path.join(dst, "model.safetensors"), metadata=META)


def merge(returned: str, original: str, dst: str) -> None:
    """``returned`` is what scripts/gpu_train.sh left in $OUT: ``meta.tar`` and ``model.safetensors.part*``."""
    os.makedirs(dst, exist_ok=True)
    with tarfile.open(os.path.join(returned, "meta.tar")) as tar:
        tar.extractall(dst, filter="data")
    parts = sorted(
        (n for n in os.listdir(returned) if n.startswith("model.safetensors.part")),
        key=lambda n: int(n.rsplit("part", 1)[1]),
    )
    blob = b"".join(open(os.path.join(returned, n), "rb").read() for n in parts)
    state = load(blob)
    state[WORD] = load_file(os.path.join(original, "model.safetensors"))[WORD]
    save_file(state, os.path.join(dst, "model.safetensors"), metadata=META)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"pack": pack, "unpack": unpack, "merge": merge}[cmd](*args)
