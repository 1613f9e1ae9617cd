"""Train only the heads of a checkpoint on annotated benchmark texts: a random encoder with trained heads.

No trained DeBERTa-v3 GLiNER2 checkpoint is available offline, and a random checkpoint's scores crowd at any
threshold, where int8's rounding moves decisions that a trained model does not leave close. This freezes the
encoder of a checkpoint of an upstream shape (``shaped_checkpoint.py --informative``) and trains its span,
count and classification heads on texts from ``texts.generate_records`` (entities of the five types the
benchmarks ask, a sentiment label), seeds disjoint from the texts the benchmarks measure. The encoder stays
random, so its int8 rounding is what it is; what changes is that the heads' scores separate what they found
from what they did not, as a trained model's do. ``bench_shapes.py --threshold 0.5`` then measures the bound.

    .venv/bin/python benchmarks/train_heads.py --checkpoint DIR --out DIR [--steps 300 --records 2000]

Span checkpoints only (the trainer trains the span architecture).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from texts import generate_records  # noqa: E402

TRAIN_SEED = 1000  # the benchmarks measure generate(n, seed=0) and generate(n, seed=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args(argv)
    import torch

    from gliner2_udf.checkpoint import architecture_of
    from gliner2_udf.training.trainer import TrainConfig, train

    torch.set_num_threads(2)
    with open(os.path.join(args.checkpoint, "config.json")) as f:
        architecture = architecture_of(json.load(f))
    if architecture != "span":
        raise SystemExit(f"{args.checkpoint}: a boundary checkpoint; the trainer trains span checkpoints only")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "records.jsonl")
        with open(data, "w") as f:
            for rec in generate_records(args.records, seed=TRAIN_SEED):
                f.write(json.dumps(rec) + "\n")
        cfg = TrainConfig(
            records=[data],
            out=os.path.join(tmp, "run"),
            init=args.checkpoint,
            steps=args.steps,
            batch_size=args.batch_size,
            lr_heads=args.lr,
            freeze_encoder=True,
            save_every=10**9,
            log_every=25,
            device="cpu",
        )
        folder = train(cfg)
        shutil.copytree(folder, args.out, dirs_exist_ok=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
