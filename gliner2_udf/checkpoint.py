"""The upstream GLiNER2 checkpoint folder, in and out.

A folder holds ``config.json`` (the extractor config, current or legacy form), ``encoder_config/``
(the Hugging Face encoder config), ``model.safetensors`` (encoder + heads) and the tokenizer files.
Loading never touches a hub: everything comes from the folder. Weights load from safetensors only;
a pickled ``pytorch_model.bin`` needs ``allow_pickle=True``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import torch

from .errors import CheckpointError
from .model import Config, GLiNER2Network, bert, deberta
from .processor import SPECIAL_TOKENS

SUPPORTED_ARCHITECTURES = ("span", "boundary")


def read_config(path: str):
    """Read ``config.json`` (2.1.0 or legacy form): the span model's :class:`Config`, or a
    ``model.boundary.BoundaryConfig`` for a GLiNER2.5 (``architecture: boundary``) checkpoint."""
    cfg_file = os.path.join(path, "config.json")
    if not os.path.isfile(cfg_file):
        raise CheckpointError(f"{cfg_file}: missing; a GLiNER2 checkpoint folder needs config.json")
    with open(cfg_file, encoding="utf-8") as fh:
        raw: dict[str, Any] = json.load(fh)
    if raw.get("auto_map") or raw.get("trust_remote_code"):
        raise CheckpointError(f"{cfg_file}: asks for remote code (auto_map/trust_remote_code); refused")
    arch = architecture_of(raw)
    if arch not in SUPPORTED_ARCHITECTURES:
        raise CheckpointError(
            f"{cfg_file}: architecture {arch!r} is not supported; expected one of {list(SUPPORTED_ARCHITECTURES)}"
        )
    pooling = raw.get("token_pooling", "first")
    if pooling != "first":
        raise CheckpointError(f"{cfg_file}: token_pooling {pooling!r} is not supported; expected 'first'")
    if arch == "boundary":
        from .model.boundary import BoundaryConfig

        try:
            return BoundaryConfig.from_config_json(raw)
        except CheckpointError as err:
            raise CheckpointError(f"{cfg_file}: {err}") from None
    span_head = raw.get("span_head") or {}
    max_width = int(span_head.get("max_width", raw.get("max_width", 8)))
    counting = raw.get("counting_layer", "count_lstm")
    if counting != "count_lstm":
        raise CheckpointError(f"{cfg_file}: counting_layer {counting!r} is not supported; expected 'count_lstm'")
    return Config(max_width=max_width, counting_layer=counting, token_pooling=pooling)


def architecture_of(raw: dict[str, Any]) -> str:
    """The architecture a parsed config.json declares (case and spaces ignored; ``span`` when absent)."""
    return str(raw.get("architecture") or "span").strip().lower()


def load_tokenizer(path: str):
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    # AutoTokenizer reads our config.json (model_type "extractor") and warns that it is not an encoder's
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        tok = AutoTokenizer.from_pretrained(path)
    except AttributeError:  # tokenizer_config written by transformers 5 stores a list there
        tok = AutoTokenizer.from_pretrained(path, extra_special_tokens={})
    finally:
        hf_logging.set_verbosity(level)
    missing = [t for t in SPECIAL_TOKENS if t not in tok.get_vocab()]
    if missing:
        raise CheckpointError(f"{path}: tokenizer lacks the special tokens {missing}")
    return tok


def build_encoder(encoder_config):
    """An encoder with random weights from its config (weights come from the checkpoint)."""
    from transformers import AutoModel

    try:
        encoder = AutoModel.from_config(encoder_config, attn_implementation="sdpa")
    except (TypeError, ValueError, ImportError):
        encoder = AutoModel.from_config(encoder_config, attn_implementation="eager")
    return encoder.float()


def read_state_dict(path: str, allow_pickle: bool = False) -> dict[str, torch.Tensor]:
    st = os.path.join(path, "model.safetensors")
    if os.path.isfile(st):
        from safetensors.torch import load_file

        return load_file(st)
    pt = os.path.join(path, "pytorch_model.bin")
    if os.path.isfile(pt):
        if not allow_pickle:
            raise CheckpointError(
                f"{pt}: pickled weights are refused; convert to model.safetensors or pass "
                "allow_pickle=True if you trust this file"
            )
        return torch.load(pt, map_location="cpu", weights_only=True)
    raise CheckpointError(f"{path}: no model.safetensors (or pytorch_model.bin) found")


def load_checkpoint(path: str, allow_pickle: bool = False):
    """Load ``(network, tokenizer)`` from a checkpoint folder with a strict match of every tensor."""
    from transformers import AutoConfig

    path = os.fspath(path)
    if not os.path.isdir(path):
        raise CheckpointError(f"{path}: not a checkpoint folder")
    config = read_config(path)
    enc_dir = os.path.join(path, "encoder_config")
    if not os.path.isfile(os.path.join(enc_dir, "config.json")):
        raise CheckpointError(
            f"{enc_dir}/config.json: missing; the encoder config must ship with the checkpoint (no hub access)"
        )
    encoder_config = AutoConfig.from_pretrained(enc_dir)
    if getattr(encoder_config, "auto_map", None):
        raise CheckpointError("encoder_config asks for remote code (auto_map); refused")
    tokenizer = load_tokenizer(path)
    state = read_state_dict(path, allow_pickle)
    rows = state.get("encoder.embeddings.word_embeddings.weight")
    if rows is not None and rows.shape[0] < len(tokenizer):
        raise CheckpointError(
            f"{path}: word embeddings have {rows.shape[0]} rows but the tokenizer has {len(tokenizer)} tokens"
        )
    if rows is not None:
        encoder_config.vocab_size = rows.shape[0]
    for k in list(state):  # fp32, one tensor at a time (fp16 storage never exists twice)
        state[k] = state[k].float()
    network_class = GLiNER2Network
    if not isinstance(config, Config):
        from .model.boundary import BoundaryNetwork as network_class
    if bert.supports(encoder_config):
        with torch.device("meta"):  # no random init: every tensor comes from the checkpoint
            network = network_class(bert.BertEncoder(encoder_config), config)
        _load_strict(network, state, path, assign=True)
    elif deberta.supports(encoder_config):
        with torch.device("meta"):
            network = network_class(deberta.DebertaEncoder(encoder_config), config)
        _load_strict(network, state, path, assign=True)
    else:
        network = network_class(build_encoder(encoder_config), config)
        _load_strict(network, state, path)
    return network.eval(), tokenizer


def _load_strict(network: torch.nn.Module, state: dict[str, torch.Tensor], path: str, assign: bool = False) -> None:
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in set(state) & set(expected)
        if state[k].shape != expected[k].shape
    )
    problems = []
    if missing:
        problems.append(f"missing tensors {missing[:10]}{' ...' if len(missing) > 10 else ''}")
    if unexpected:
        problems.append(f"unexpected tensors {unexpected[:10]}{' ...' if len(unexpected) > 10 else ''}")
    if shapes:
        problems.append(f"shape mismatches {shapes[:10]}")
    if problems:
        raise CheckpointError(f"{path}/model.safetensors does not match the model: " + "; ".join(problems))
    network.load_state_dict(state, strict=True, assign=assign)


def save_checkpoint(
    network, tokenizer, path: str, dtype: torch.dtype = torch.float32, model_name: str | None = None
) -> None:
    """Write a folder the reference package loads (fp16 storage is loaded back as fp32)."""
    from safetensors.torch import save_file

    os.makedirs(os.path.join(path, "encoder_config"), exist_ok=True)
    cfg = network.config
    config = {
        "architecture_version": 1,
        "attn_implementation": "sdpa",
        "config_version": 3,
        "max_len": None,
        "model_name": model_name or getattr(network.encoder.config, "_name_or_path", "") or "encoder",
        "model_type": "extractor",
        "token_pooling": "first",
    }
    if isinstance(cfg, Config):
        config.update(
            architecture="span",
            architectures=["GLiNER2"],
            counting_layer=cfg.counting_layer,
            max_width=cfg.max_width,
            span_head={"dropout": 0.1, "max_width": cfg.max_width, "span_mode": "markerV0"},
        )
    else:
        config.update(architecture="boundary", architectures=["BoundaryExtractor"], boundary_head=cfg.to_dict())
    with open(os.path.join(path, "config.json"), "w", encoding="utf-8") as fh:
        json.dump(config, fh, indent=2, sort_keys=True)
    network.encoder.config.save_pretrained(os.path.join(path, "encoder_config"))
    state = {k: v.detach().to(dtype).contiguous() for k, v in network.state_dict().items()}
    save_file(state, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(path)


def stored_dtype(path: str) -> torch.dtype:
    """The dtype of the folder's ``model.safetensors`` (float16 or float32): pickling writes it back as such."""
    f = os.path.join(path, "model.safetensors")
    if not os.path.isfile(f):
        return torch.float32
    from safetensors import safe_open

    with safe_open(f, framework="pt") as fh:
        key = next(iter(fh.keys()), None)
        return fh.get_slice(key).get_dtype() == "F16" and torch.float16 or torch.float32
