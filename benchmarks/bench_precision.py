"""Accuracy and speed of each inference setting against fp32, on the same inputs, in one run.

For every (precision, backend): CrossNER mean F1 (GLiNER protocol, the same sentences for all
settings) and documents per second on the 256 benchmark texts with the benchmark schema, 2 threads,
settings interleaved over rounds (medians). The fast path may lose at most 1.0 point of CrossNER
mean F1 against fp32.

    .venv/bin/python benchmarks/bench_precision.py [--model DIR] [--per-domain 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
from bench_engine import our_schema  # noqa: E402
from texts import generate  # noqa: E402

from gliner2_udf import GLiNER2  # noqa: E402
from gliner2_udf import evaluation as ev  # noqa: E402

SETTINGS = [("fp32", "torch"), ("int8", "torch"), ("fp32", "onnx"), ("int8", "onnx")]
DOMAINS = ["AI", "literature", "music", "politics", "science"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/gliner2-minilm-default")
    ap.add_argument("--per-domain", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data-root", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    print(f"load average at start: {os.getloadavg()}")
    models = {s: GLiNER2.from_pretrained(a.model, precision=s[0], backend=s[1]) for s in SETTINGS}
    texts, schema = generate(256), our_schema()
    times = {s: [] for s in SETTINGS}
    for m in models.values():
        m.batch_extract(texts[:16], schema, batch_size=16)
    for _ in range(a.rounds):
        for s, m in models.items():
            t = time.perf_counter()
            m.batch_extract(texts, schema, batch_size=16)
            times[s].append(time.perf_counter() - t)
    f1 = {}
    data = {d: ev.read_crossner(d, a.data_root, limit=a.per_domain) for d in DOMAINS}  # (labels, sentences)
    for s, m in models.items():
        f1[s] = statistics.mean(ev.eval_ner(m, sents, labels)[0]["f1"] for labels, sents in data.values())
    base_speed = len(texts) / statistics.median(times[SETTINGS[0]])
    print(f"load average at end: {os.getloadavg()}")
    print(f"{'precision':9} {'backend':7} {'docs/s':>7} {'x fp32':>7} {'CrossNER F1':>11} {'delta pts':>9}")
    for s in SETTINGS:
        speed = len(texts) / statistics.median(times[s])
        print(
            f"{s[0]:9} {s[1]:7} {speed:7.1f} {speed / base_speed:7.2f} {f1[s]:11.3f} "
            f"{100 * (f1[s] - f1[SETTINGS[0]]):+9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
