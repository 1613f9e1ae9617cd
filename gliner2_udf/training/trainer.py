"""Train a GLiNER2 model: AdamW with separate encoder/head learning rates, warm-up then linear decay,
gradient clipping, fixed seeds, checkpoint and resume. Runs on a CUDA GPU (bf16 autocast) when one is
present and on the CPU otherwise; both write the same upstream checkpoint format.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict, dataclass, field

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from ..checkpoint import load_checkpoint, save_checkpoint
from ..model import Config, GLiNER2Network
from ..processor import SPECIAL_TOKENS, Processor
from .examples import Augment, build_example
from .objective import collate, compute_loss
from .records import read_records


@dataclass
class TrainConfig:
    records: list[str]
    out: str
    init: str  # an upstream checkpoint folder, or a Hugging Face encoder folder
    steps: int = 1000
    batch_size: int = 16
    lr_encoder: float = 5e-5
    lr_heads: float = 5e-4
    weight_decay: float = 0.01
    warmup: float = 0.05
    clip: float = 1.0
    seed: int = 0
    save_every: int = 500
    log_every: int = 50
    num_workers: int = 0
    max_words: int = 128
    freeze_word_embeddings: bool = False
    freeze_layers: int = 0  # also freeze the embeddings and the first N transformer layers
    freeze_encoder: bool = False  # train the heads only (no backward pass through the encoder)
    device: str = "auto"
    cpu_bf16: bool = False  # bf16 autocast on the CPU too (CUDA always uses it); pays on CPUs with AVX512-BF16 or AMX
    max_minutes: float | None = None  # stop (and save) after this wall time
    augment: Augment = field(default_factory=Augment)


def init_network(init: str, seed: int = 0):
    """A network and tokenizer from an upstream checkpoint, or from a plain encoder with new heads."""
    if os.path.isfile(os.path.join(init, "config.json")) and os.path.isdir(os.path.join(init, "encoder_config")):
        return load_checkpoint(init)
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(init)
    except AttributeError:  # a tokenizer_config written by transformers 5, read by 4.x
        tokenizer = AutoTokenizer.from_pretrained(init, extra_special_tokens={})
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS})
    encoder = AutoModel.from_pretrained(init, torch_dtype=torch.float32)
    encoder.resize_token_embeddings(len(tokenizer))
    torch.manual_seed(seed)
    return GLiNER2Network(encoder, Config()), tokenizer


class RecordStream(IterableDataset):
    """Endless, reshuffled-per-epoch stream of training examples; workers take disjoint records."""

    def __init__(self, records: list[dict], tokenizer, seed: int, augment: Augment, start_epoch: int = 0):
        self.records, self.tokenizer, self.seed, self.augment = records, tokenizer, seed, augment
        self.start_epoch = start_epoch

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        processor = Processor(self.tokenizer)
        epoch = self.start_epoch
        while True:
            order = list(range(len(self.records)))
            random.Random(self.seed + epoch).shuffle(order)
            rng = random.Random((self.seed + 1) * 1_000_003 + epoch * 97 + wid)
            for i in order[wid::nw]:
                ex = build_example(self.records[i], processor, rng, self.augment)
                if ex is not None:
                    yield ex
            epoch += 1


def _param_groups(net: GLiNER2Network, cfg: TrainConfig):
    enc, heads, no_decay_enc = [], [], []
    for name, p in net.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith("encoder."):
            (no_decay_enc if p.ndim < 2 else enc).append(p)
        else:
            heads.append(p)
    return [
        {"params": enc, "lr": cfg.lr_encoder, "weight_decay": cfg.weight_decay},
        {"params": no_decay_enc, "lr": cfg.lr_encoder, "weight_decay": 0.0},
        {"params": heads, "lr": cfg.lr_heads, "weight_decay": cfg.weight_decay},
    ]


def train(cfg: TrainConfig, log=print) -> str:
    """Train and return the final checkpoint folder (``cfg.out/checkpoint``)."""
    device = torch.device(
        "cuda"
        if cfg.device == "auto" and torch.cuda.is_available()
        else (cfg.device if cfg.device != "auto" else "cpu")
    )
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    ckpt_dir = os.path.join(cfg.out, "checkpoint")
    state_file = os.path.join(cfg.out, "trainer_state.pt")
    resume = os.path.isfile(state_file)
    net, tokenizer = init_network(ckpt_dir if resume else cfg.init, cfg.seed)
    if cfg.freeze_word_embeddings:
        net.encoder.get_input_embeddings().weight.requires_grad_(False)
    if cfg.freeze_layers:
        layers = net.encoder.encoder.layer
        if cfg.freeze_layers > len(layers):
            raise ValueError(
                f"freeze_layers: expected at most {len(layers)} (the encoder's layers), got {cfg.freeze_layers}"
            )
        net.encoder.embeddings.requires_grad_(False)
        for layer in layers[: cfg.freeze_layers]:
            layer.requires_grad_(False)
    if cfg.freeze_encoder:
        net.encoder.requires_grad_(False)
    net.to(device).train()

    optimizer = torch.optim.AdamW(_param_groups(net, cfg))
    started = time.time()

    def progress(s: int) -> float:
        """Fraction of the run done: by steps, or by wall time when a time budget is set."""
        done = s / cfg.steps
        if cfg.max_minutes:
            done = max(done, (time.time() - started) / (60 * cfg.max_minutes))
        return min(done, 1.0)

    def lr_factor(s: int) -> float:  # linear warm-up, then linear decay to zero
        p = progress(s)
        return min(p / cfg.warmup, (1.0 - p) / (1.0 - cfg.warmup)) if cfg.warmup > 0 else 1.0 - p

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(lr_factor(s), 1e-3 * (s == 0)))
    step, seen = 0, 0
    if resume:
        st = torch.load(state_file, map_location="cpu", weights_only=True)
        optimizer.load_state_dict(st["optimizer"])
        schedule.load_state_dict(st["schedule"])
        step, seen = st["step"], st["seen"]
        log(f"resumed from step {step}")

    records = [r for path in cfg.records for r in read_records(path)]
    log(f"{len(records)} records, device {device}, {sum(p.numel() for p in net.parameters()) / 1e6:.1f}M params")
    stream = RecordStream(records, tokenizer, cfg.seed, cfg.augment, start_epoch=seen // max(1, len(records)))
    loader = DataLoader(
        stream,
        batch_size=cfg.batch_size,
        collate_fn=collate,
        num_workers=cfg.num_workers,
        prefetch_factor=8 if cfg.num_workers else None,
        persistent_workers=bool(cfg.num_workers),
    )
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda" or cfg.cpu_bf16)
    started = time.time()  # the time budget counts from the first batch, not from loading
    window_t, window_n, running = time.time(), 0, {}
    for data in loader:
        if step >= cfg.steps or progress(step) >= 1.0:
            break
        with autocast:
            loss, parts = compute_loss(net, data, device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.clip)
        optimizer.step()
        schedule.step()
        step += 1
        n = data["batch"].input_ids.shape[0]
        seen += n
        window_n += n
        for k, v in parts.items():
            running[k] = 0.98 * running.get(k, v) + 0.02 * v
        if step % cfg.log_every == 0 or step == 1:
            rate = window_n / max(1e-9, time.time() - window_t)
            window_t, window_n = time.time(), 0
            log(
                f"step {step}/{cfg.steps} loss {loss.item():.3f} "
                + " ".join(f"{k} {v:.3f}" for k, v in running.items())
                + f" | {rate:.1f} ex/s"
            )
        if step % cfg.save_every == 0:
            _save(net, tokenizer, optimizer, schedule, step, seen, cfg, ckpt_dir, state_file)
    _save(net, tokenizer, optimizer, schedule, step, seen, cfg, ckpt_dir, state_file)
    log(f"done: {step} steps, {seen} examples, {(time.time() - started) / 60:.1f} min")
    return ckpt_dir


def _save(net, tokenizer, optimizer, schedule, step, seen, cfg, ckpt_dir, state_file):
    net.eval()
    save_checkpoint(net, tokenizer, ckpt_dir)
    net.train()
    tmp = state_file + ".tmp"
    torch.save(
        {"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "step": step, "seen": seen}, tmp
    )
    os.replace(tmp, state_file)
    # beside the run's state, and in the checkpoint: its augment caps are the label limits inference keeps to
    for folder in (cfg.out, ckpt_dir):
        with open(os.path.join(folder, "train_config.json"), "w") as fh:
            json.dump({**asdict(cfg), "step": step, "examples_seen": seen}, fh, indent=2, default=str)
