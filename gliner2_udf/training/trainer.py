"""Train a GLiNER2 model: AdamW with separate encoder/head learning rates, warm-up then linear decay,
gradient clipping, fixed seeds, checkpoint and resume. Runs on a CUDA GPU (bf16 autocast) when one is
present and on the CPU otherwise; both write the same upstream checkpoint format.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Callable
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
    eval_every: int = 0  # with an ``evaluate`` callback: score the checkpoint every N steps, keep the best
    bucket: int = 0  # batches of similar length: sort pools of ``bucket`` batches by sequence length (0: off)
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
    """Endless, reshuffled-per-epoch stream of collated training batches; workers take disjoint records.

    With ``bucket`` > 0 the examples of ``bucket`` batches are sorted by sequence length and cut into batches,
    served in random order: a batch pads to its longest sequence, so mixing a 12-token query with a 120-token
    record wastes most of the batch's compute."""

    def __init__(
        self, records: list[dict], tokenizer, seed: int, augment: Augment, batch_size: int, bucket=0, start_epoch=0
    ):
        self.records, self.tokenizer, self.seed, self.augment = records, tokenizer, seed, augment
        self.batch_size, self.bucket, self.start_epoch = batch_size, bucket, start_epoch

    def examples(self, wid: int, nw: int):
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

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        examples, size = self.examples(wid, nw), self.batch_size
        if not self.bucket:
            while True:
                yield collate([next(examples) for _ in range(size)])
        rng = random.Random(f"{self.seed}:bucket:{wid}")
        while True:
            pool = sorted((next(examples) for _ in range(size * self.bucket)), key=lambda e: len(e.encoded.ids))
            batches = [pool[i : i + size] for i in range(0, len(pool), size)]
            rng.shuffle(batches)
            for batch in batches:
                yield collate(batch)


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


def train(cfg: TrainConfig, log=print, evaluate: Callable[[str], float] | None = None) -> str:
    """Train and return the final checkpoint folder (``cfg.out/checkpoint``).

    ``evaluate`` scores a checkpoint folder (higher is better). With it, the starting weights are scored first
    and every ``eval_every`` steps (and at the end) the saved checkpoint is scored; one that beats every score
    so far, the start's included, is copied to ``cfg.out/best`` (``best.json`` says which step and score). A
    resumed run keeps its best score."""
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
    step, seen, best, spent = 0, 0, None, 0.0  # spent: training minutes of earlier runs of this --out
    if resume:
        st = torch.load(state_file, map_location="cpu", weights_only=True)
        optimizer.load_state_dict(st["optimizer"])
        schedule.load_state_dict(st["schedule"])
        step, seen, best = st["step"], st["seen"], st.get("best")
        spent = st.get("minutes", 0.0)
        log(f"resumed from step {step}")
    if evaluate and best is None:
        best = evaluate(cfg.init)
        log(f"score of the starting weights: {best:.4f}")

    records = [r for path in cfg.records for r in read_records(path)]
    log(f"{len(records)} records, device {device}, {sum(p.numel() for p in net.parameters()) / 1e6:.1f}M params")
    start_epoch = seen // max(1, len(records))
    stream = RecordStream(records, tokenizer, cfg.seed, cfg.augment, cfg.batch_size, cfg.bucket, start_epoch)
    loader = DataLoader(
        stream,
        batch_size=None,
        num_workers=cfg.num_workers,
        prefetch_factor=8 if cfg.num_workers else None,
        persistent_workers=bool(cfg.num_workers),
    )
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda" or cfg.cpu_bf16)
    # the time budget counts from the first batch, not from loading, and a resumed run goes on where it stopped
    started = time.time() - 60 * spent
    window_t, window_n, running, scored = time.time(), 0, {}, False
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
        scored = bool(evaluate and cfg.eval_every and step % cfg.eval_every == 0)
        if step % cfg.save_every == 0 or scored:
            _save(net, tokenizer, optimizer, schedule, step, seen, cfg, ckpt_dir, state_file, best, started)
        if scored:
            best = _keep_if_best(evaluate, best, step, cfg, ckpt_dir, state_file, log)
    if not scored:
        _save(net, tokenizer, optimizer, schedule, step, seen, cfg, ckpt_dir, state_file, best, started)
        if evaluate:
            _keep_if_best(evaluate, best, step, cfg, ckpt_dir, state_file, log)
    log(f"done: {step} steps, {seen} examples, {(time.time() - started) / 60:.1f} min")
    return ckpt_dir


def _keep_if_best(evaluate, best, step, cfg, ckpt_dir, state_file, log) -> float:
    """Score the saved checkpoint; copy it to ``best`` if it beats ``best``. Returns the best score."""
    score = evaluate(ckpt_dir)
    if score <= best:
        log(f"step {step}: score {score:.4f}, not above the best {best:.4f}")
        return best
    log(f"step {step}: score {score:.4f}, the best so far (was {best:.4f}): kept in best/")
    kept, tmp = os.path.join(cfg.out, "best"), os.path.join(cfg.out, "best.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(ckpt_dir, tmp)
    shutil.rmtree(kept, ignore_errors=True)
    os.replace(tmp, kept)
    with open(os.path.join(cfg.out, "best.json"), "w") as fh:
        json.dump({"step": step, "score": score}, fh)
    st = torch.load(state_file, map_location="cpu", weights_only=True)
    torch.save({**st, "best": score}, state_file + ".tmp")
    os.replace(state_file + ".tmp", state_file)
    return score


def _save(net, tokenizer, optimizer, schedule, step, seen, cfg, ckpt_dir, state_file, best, started):
    net.eval()
    save_checkpoint(net, tokenizer, ckpt_dir)
    net.train()
    tmp = state_file + ".tmp"
    state = {"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "step": step, "seen": seen}
    torch.save({**state, "best": best, "minutes": (time.time() - started) / 60}, tmp)
    os.replace(tmp, state_file)
    # beside the run's state, and in the checkpoint: its augment caps are the label limits inference keeps to
    for folder in (cfg.out, ckpt_dir):
        with open(os.path.join(folder, "train_config.json"), "w") as fh:
            json.dump({**asdict(cfg), "step": step, "examples_seen": seen}, fh, indent=2, default=str)
