"""The shipped fast setting against the reference on checkpoints of the shapes users run (issue 17).

For one checkpoint folder (``shaped_checkpoint.py --shape base|xsmall|large --architecture span|boundary
--informative --out DIR``: the upstream shape, random weights, heads scaled so that scores spread), in one run,
side by side on the same texts and schema (``texts.py``: 5 entity types, a 3-label classification, a 3-field
structure), 2 cores:

* speed: the reference's ``batch_extract`` (batch size 8, 2 threads; and in 2 forked one-thread processes)
  against ours in the shipped job's setting (``conf/local.yaml``'s precision and backend, ``auto`` resolved for
  this checkpoint) on 2 threads and in 2 one-thread worker processes (``set_workers``, what Spark's one-thread
  Python workers do, at the job's ``batch_size``); rounds interleave the engines, the table gives medians;
* accuracy: the shipped setting against our fp32 (the reference's scores) at a threshold where fp32 finds about
  3 entities per text: the share of fp32 entity spans found with the same label and offsets, and the share of
  texts whose classification label is the same;
* with ``--long-docs N``, the same for N documents of 2,000-5,000 words (in-process, ``--long-rounds``
  interleaved rounds).

    .venv/bin/python benchmarks/bench_shapes.py --checkpoint DIR [--texts 32 --rounds 3 --long-docs 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402
from bench_engine import forked, interleaved  # noqa: E402
from common import WORKER_BATCH, job_batch, job_setting, loadavg  # noqa: E402
from texts import generate, our_schema, reference_schema  # noqa: E402

PER_TEXT = 3  # entities per text fp32 finds at the calibrated threshold
MARGINS = (0.25, 0.5, 1.0)  # logit margins over the threshold for the recall of clear spans


def entities(results):
    """``((text number, label, start, end), confidence)`` of every entity span in ``results``."""
    for n, r in enumerate(results):
        for label, spans in r["entities"].items():
            for s in spans or []:
                yield (n, label, s["start"], s["end"]), s.get("confidence")


def labels(results) -> list:
    return [r["sentiment"]["label"] if isinstance(r.get("sentiment"), dict) else r.get("sentiment") for r in results]


def calibrate(exact, schema, texts) -> float:
    """The confidence above which fp32 keeps about ``PER_TEXT`` entities per text (from a pass at 0.05)."""
    out = exact.batch_extract(texts, schema, threshold=0.05, include_confidence=True, include_spans=True)
    conf = sorted((c for _, c in entities(out)), reverse=True)
    k = min(len(conf), PER_TEXT * len(texts)) - 1
    return max(0.05, conf[k] - 1e-6) if k >= 0 else 0.5


def logit(p: float) -> float:
    p = min(max(p, 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def agreement(fast_out, exact_out, threshold: float) -> dict:
    """Span recall and label agreement of ``fast_out`` against ``exact_out`` (fp32); also the recall among the
    fp32 spans whose score clears the threshold by at least ``m`` in logit space (``recall_margin_m``): a
    random checkpoint's scores crowd near any threshold, a trained model's mostly do not."""
    margin = {k: logit(c) - logit(threshold) for k, c in entities(exact_out)}
    want, got = set(margin), {k for k, _ in entities(fast_out)}
    same = sum(a == b for a, b in zip(labels(fast_out), labels(exact_out)))
    out = {
        "fp32_spans": len(want),
        "span_recall": len(want & got) / max(1, len(want)),
        "extra_spans": len(got - want),
        "label_agreement": same / len(exact_out),
    }
    for m in MARGINS:
        clear = {k for k, v in margin.items() if v >= m}
        out[f"recall_margin_{m}"] = len(clear & got) / max(1, len(clear))
        out[f"spans_margin_{m}"] = len(clear)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--texts", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--long-docs", type=int, default=0)
    ap.add_argument("--long-rounds", type=int, default=1, help="interleaved rounds over the long documents")
    ap.add_argument("--agreement-texts", type=int, default=128, help="texts for the accuracy bound")
    ap.add_argument("--accuracy-only", action="store_true", help="skip the timed part")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    from gliner2 import AutoExtractor

    from gliner2_udf import GLiNER2, compile_schema

    path = args.checkpoint
    precision, backend = job_setting()
    exact = GLiNER2.from_pretrained(path)
    fast = GLiNER2.from_pretrained(path, precision=precision, backend=backend)
    setting = f"{fast.precision}/{fast.backend}"
    ref = AutoExtractor.from_pretrained(path).eval()  # span or boundary, as the folder says
    texts = generate(args.texts)
    schema, ref_schema = compile_schema(our_schema()), reference_schema(ref)
    threshold = calibrate(exact, schema, texts)
    kw = dict(threshold=threshold, include_confidence=True, include_spans=True)
    cfg = exact.network.encoder.config
    print(
        f"checkpoint {path}: {exact.architecture}, {cfg.model_type} hidden {cfg.hidden_size} x {cfg.num_hidden_layers}"
        f" layers, vocabulary {cfg.vocab_size}; shipped setting {precision}/{backend} -> {setting}; threshold "
        f"{threshold:.4f}; load {loadavg()}",
        flush=True,
    )

    # accuracy: the shipped setting against fp32 on more texts than the timing uses
    many = generate(args.agreement_texts, seed=1)
    acc = agreement(fast.batch_extract(many, schema, **kw), exact.batch_extract(many, schema, **kw), threshold)
    print(f"accuracy ({len(many)} texts): {json.dumps(acc)}", flush=True)

    if args.accuracy_only:
        return 0

    # speed: warm every engine, then interleaved rounds
    fast.batch_extract(texts, schema, batch_size=16, **kw)
    ref.batch_extract(texts[:16], ref_schema, batch_size=WORKER_BATCH, **kw)
    proc_batch = job_batch()  # what the shipped job's one-thread workers run
    configs = {
        "reference bs8, 2 threads": lambda: ref.batch_extract(texts, ref_schema, batch_size=WORKER_BATCH, **kw),
        f"ours {setting}, 2 threads": lambda: fast.batch_extract(texts, schema, batch_size=16, **kw),
    }
    workers = GLiNER2.from_pretrained(path, precision=precision, backend=backend)
    workers.batch_extract(texts[:16], schema, batch_size=proc_batch, **kw)
    workers.set_workers(args.workers)
    procs = f"{args.workers} one-thread processes"
    configs[f"ours {setting}, {procs} at bs{proc_batch}"] = lambda: workers.batch_extract(
        texts, schema, batch_size=proc_batch, **kw
    )
    pool, ref_forked = forked(lambda part: ref.batch_extract(part, ref_schema, batch_size=WORKER_BATCH, **kw), 2)
    configs[f"reference bs8, {procs}"] = lambda: ref_forked(texts)
    walls = interleaved(configs, args.rounds, len(texts), "short")
    workers.set_workers(1)
    pool.terminate()
    rate = {c: len(texts) / statistics.median(w) for c, w in walls.items()}
    base = rate["reference bs8, 2 threads"]
    print(f"\n| engine | docs/s (median of {args.rounds}) | / reference bs8, 2 threads |\n|---|---|---|")
    for c, r in rate.items():
        print(f"| {c} | {r:.2f} | {r / base:.2f}x |")

    long = {}
    if args.long_docs:
        docs = generate(args.long_docs, seed=2, min_words=2000, max_words=5000)
        runs = {
            "reference": lambda: ref.batch_extract(docs, ref_schema, batch_size=1, **kw),
            f"ours {setting}": lambda: fast.batch_extract(docs, schema, batch_size=16, **kw),
        }
        walls = interleaved(runs, args.long_rounds, len(docs), "long")
        long = {c: len(docs) / statistics.median(w) for c, w in walls.items()}
        words = sum(len(d.split()) for d in docs)
        print(
            f"\nlong documents ({len(docs)}, {words} words, median of {args.long_rounds}): "
            + ", ".join(f"{k} {v:.3f} docs/s" for k, v in long.items())
            + f"; ours / reference {long[f'ours {setting}'] / long['reference']:.2f}x (load {loadavg()})"
        )
    print(f"load at the end: {loadavg()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                dict(checkpoint=path, setting=setting, threshold=threshold, accuracy=acc, rate=rate, long=long), f
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
