"""Evaluate a GLiNER2 checkpoint: zero-shot CrossNER, CoNLL-2003 in two label orders, SST-2, SNIPS, structures.

    python jobs/evaluate.py --model models/gliner2-minilm-default --out output/eval.json [--limit N]

Default subsets: the first 300 sentences of each CrossNER domain, the first 400 CoNLL-2003 test
sentences, the first 300 SST-2 test items, all 700 SNIPS utterances and 300 held-out synthetic
nested records; ``--limit N`` caps every set at N instead (0 = every item). Prints a table and the
wall time, and writes the full report (metrics, targets, sample errors) as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from gliner2_udf.evaluation import Limits, TypingSample, evaluate_all, format_table  # noqa: E402

SAMPLE = os.path.join(ROOT, "data", "samples", "documents.parquet")


def typing_sample(path: str = SAMPLE, limit: int | None = None) -> TypingSample:
    """The sample table for ``evaluation.sample_typing``: its texts, the names its generator (beside this file)
    writes, and the schema ``make run`` reads it with."""
    import importlib.util

    import pyarrow.parquet as pq

    from gliner2_udf import load_schema

    spec = importlib.util.spec_from_file_location("make_sample_data", os.path.join(ROOT, "jobs", "make_sample_data.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    texts = pq.read_table(path, columns=["text"]).column("text").to_pylist()[:limit]
    things = list(m._PRODUCTS) + [name for name, _ in m._ITEMS] + m._COMPANIES + m._CITIES
    return TypingSample(texts, things, load_schema(os.path.join(ROOT, "conf", "schemas", "default.yaml")))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="checkpoint folder (upstream format)")
    ap.add_argument("--out", default="output/eval.json", help="JSON report path")
    ap.add_argument(
        "--limit",
        type=int,
        default=None,
        help="items per set (default: 300 CrossNER per domain, 400 CoNLL, 300 SST-2, 700 SNIPS, "
        "300 structures; 0 = all)",
    )
    ap.add_argument(
        "--data-root", default=None, help="shared/data folder (default: $GLINER2_UDF_DATA or ../shared/data)"
    )
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "int8", "bf16"])
    ap.add_argument("--backend", default="torch", choices=["torch", "onnx", "auto"])
    ap.add_argument("--errors", type=int, default=10, help="sample errors kept per CrossNER domain in the JSON")
    ap.add_argument(
        "--sample",
        default=SAMPLE,
        help="the sample table read with conf/schemas/default.yaml for 'person' mentions that are products "
        "(make_sample_data's names); '' skips it",
    )
    args = ap.parse_args(argv)
    if args.limit is not None and args.limit < 0:
        ap.error("--limit must be >= 0")

    t0 = time.time()
    from gliner2_udf import GLiNER2

    model = GLiNER2.from_pretrained(args.model, precision=args.precision, backend=args.backend)
    model.set_threads(args.threads)
    limits = Limits() if args.limit is None else Limits.all(args.limit or None)
    rep = evaluate_all(
        model,
        limits,
        root=args.data_root,
        batch_size=args.batch_size,
        threshold=args.threshold,
        n_errors=args.errors,
        log=lambda s: print(s, flush=True),
        sample=typing_sample(args.sample, args.limit or None) if args.sample else None,
    )
    rep["model"] = args.model
    rep["threads"] = args.threads
    rep["wall_seconds_with_load"] = round(time.time() - t0, 1)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(rep, f, indent=1, ensure_ascii=False)
    print()
    print(format_table(rep))
    print(f"wall time including model load: {rep['wall_seconds_with_load']:.1f} s; report written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
