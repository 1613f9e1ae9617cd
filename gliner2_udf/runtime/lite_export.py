"""Write a lite folder (see ``lite``) from a loaded torch model: the ONNX encoder, the heads, the tokenizer."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile

import numpy as np
import torch

from ..errors import CheckpointError
from ..identity import file_sha256
from . import check_setting
from .lite import FORMAT, IN_GRAPHS, LITE_FILE, LITE_FILES, check_lite_folder
from .onnx_export import cache_dir, export, export_span_queries, export_span_words


def weights_key(network) -> str:
    """12 hex digits of a sha256 over every tensor: names a cache entry by content, not by a version label."""
    h = hashlib.sha256()
    for name, t in network.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().float().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def tokenizer_key(tokenizer) -> str:
    """12 hex digits of a sha256 over the tokenizer's serialized form (vocabulary, normalizer, special tokens)."""
    return hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode("utf-8")).hexdigest()[:12]


def cached_lite(network, tokenizer, precision: str, model_version: str, dtype: torch.dtype | None = None) -> str:
    """The lite folder of ``network`` and ``tokenizer`` at ``precision`` in the cache, written on first use. A
    cached folder whose files differ from what its export recorded (``lite.check_lite_folder``) is exported
    again, never run."""
    folder = os.path.join(cache_dir(), f"lite{FORMAT}-{weights_key(network)}-{tokenizer_key(tokenizer)}-{precision}")
    if os.path.isfile(os.path.join(folder, LITE_FILE)):
        try:
            check_lite_folder(folder)
        except CheckpointError:
            shutil.rmtree(folder, ignore_errors=True)
    if not os.path.isfile(os.path.join(folder, LITE_FILE)):
        with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
            export_lite(network, tokenizer, os.path.join(tmp, "lite"), precision, model_version, dtype)
            try:
                os.replace(os.path.join(tmp, "lite"), folder)
            except OSError:  # another process wrote it first
                if not os.path.isfile(os.path.join(folder, LITE_FILE)):
                    raise
    return folder


def export_lite(
    network, tokenizer, folder: str, precision: str, model_version: str, dtype: torch.dtype | None = None
) -> str:
    """``folder`` gets ``encoder.onnx``, ``span_words.onnx`` and ``span_queries.onnx`` (``precision`` fp32 or
    int8), ``heads.npz`` (stored as ``dtype``, fp32 by default), ``tokenizer.json`` and ``lite.json``; returns
    ``folder``."""
    check_setting(precision, "onnx")
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("the lite runtime needs a fast tokenizer (tokenizer.json)")
    os.makedirs(folder, exist_ok=True)
    export(network.encoder, os.path.join(folder, "encoder.onnx"), precision)
    span = network.span_rep.span_rep_layer
    export_span_words(span, os.path.join(folder, "span_words.onnx"), precision)
    export_span_queries(
        network.count_embed.projector, span.out_project[-1], os.path.join(folder, "span_queries.onnx"), precision
    )
    heads = {
        k: v.detach().to(dtype or torch.float32).numpy()
        for k, v in network.state_dict().items()
        if not k.startswith(("encoder.", *IN_GRAPHS))
    }
    np.savez(os.path.join(folder, "heads.npz"), **heads)
    tokenizer.backend_tokenizer.save(os.path.join(folder, "tokenizer.json"))
    limit = getattr(network.encoder.config, "max_position_embeddings", None)
    meta = {
        "format": FORMAT,
        "precision": precision,
        "max_width": network.max_width,
        "max_positions": limit,
        "model_version": model_version,
        "architecture": "span",
        "files": {name: file_sha256(os.path.join(folder, name)) for name in LITE_FILES},
    }
    with open(os.path.join(folder, LITE_FILE), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
    return folder
