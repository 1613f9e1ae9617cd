"""Train or fine-tune a GLiNER2 model on training records.

    python jobs/train.py --records data/train/records.jsonl.gz --init <encoder or checkpoint dir> \
        --out output/train --steps 20000 --batch-size 32

Records are JSON lines (optionally gzipped) in the format of ``gliner2_udf.training.records``, or a
Parquet/Delta table of such records (``--records-table path``, one JSON string column ``record`` or the
record's columns). Re-running the same command resumes from ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gliner2_udf.training.examples import Augment  # noqa: E402
from gliner2_udf.training.trainer import TrainConfig, train  # noqa: E402


def table_to_jsonl(path: str, out: str) -> str:
    """A Parquet folder/file or Delta table of records -> a JSON-lines file the trainer reads."""
    import pyarrow.parquet as pq

    if os.path.isdir(os.path.join(path, "_delta_log")):
        from deltalake import DeltaTable  # optional: reading Delta without a JVM

        table = DeltaTable(path).to_pyarrow_table()
    else:
        table = pq.read_table(path)
    with open(out, "w", encoding="utf-8") as fh:
        for row in table.to_pylist():
            rec = json.loads(row["record"]) if "record" in row else {k: v for k, v in row.items() if v is not None}
            fh.write(json.dumps(rec) + "\n")
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", nargs="*", default=[], help="JSON-lines record files (.jsonl or .jsonl.gz)")
    p.add_argument("--records-table", help="a Parquet or Delta table of records")
    p.add_argument("--init", required=True, help="upstream checkpoint folder, or a Hugging Face encoder folder")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr-encoder", type=float, default=5e-5)
    p.add_argument("--lr-heads", type=float, default=5e-4)
    p.add_argument("--warmup", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--max-words", type=int, default=128)
    p.add_argument("--max-minutes", type=float)
    p.add_argument("--freeze-word-embeddings", action="store_true")
    p.add_argument(
        "--freeze-layers",
        type=int,
        default=0,
        help="freeze the embeddings and the encoder's first N layers (faster fine-tuning on a CPU)",
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--cpu-bf16", action="store_true", help="bf16 autocast on the CPU (CPUs with AVX512-BF16 or AMX)")
    a = p.parse_args(argv)
    records = list(a.records)
    if a.records_table:
        os.makedirs(a.out, exist_ok=True)
        records.append(table_to_jsonl(a.records_table, os.path.join(a.out, "records_from_table.jsonl")))
    if not records:
        p.error("give --records or --records-table")
    cfg = TrainConfig(
        records=records,
        out=a.out,
        init=a.init,
        steps=a.steps,
        batch_size=a.batch_size,
        lr_encoder=a.lr_encoder,
        lr_heads=a.lr_heads,
        warmup=a.warmup,
        seed=a.seed,
        save_every=a.save_every,
        log_every=a.log_every,
        num_workers=a.num_workers,
        max_words=a.max_words,
        freeze_word_embeddings=a.freeze_word_embeddings,
        freeze_layers=a.freeze_layers,
        device=a.device,
        cpu_bf16=a.cpu_bf16,
        max_minutes=a.max_minutes,
        augment=Augment(max_words=a.max_words),
    )
    print(train(cfg), flush=True)


if __name__ == "__main__":
    main()
