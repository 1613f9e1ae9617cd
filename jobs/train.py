"""Train or fine-tune a GLiNER2 model on training records.

    python jobs/train.py --records data/train/records.jsonl.gz --init <encoder or checkpoint dir> \
        --out output/train --steps 20000 --batch-size 32

Records are JSON lines (optionally gzipped) in the format of ``gliner2_udf.training.records``, or a
Parquet/Delta table of such records (``--records-table path``, one JSON string column ``record`` or the
record's columns). Re-running the same command resumes from ``--out``.

With ``--eval-every N`` the starting weights and every N-th step's checkpoint are evaluated as ``make eval`` does
(``gliner2_udf.evaluation``, the typing on the sample table included); the best by ``target_score`` is kept in
``--out/best`` and every evaluation is appended to ``--out/evals.jsonl``.
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
    p.add_argument("--bucket", type=int, default=0, help="sort pools of N batches by length (0: off)")
    p.add_argument("--max-entity-labels", type=int, default=Augment.max_entity_labels)
    p.add_argument("--max-cls-labels", type=int, default=Augment.max_cls_labels)
    p.add_argument("--eval-every", type=int, default=0, help="evaluate every N steps and keep the best checkpoint")
    p.add_argument("--eval-limit", type=int, help="items per evaluation set (default: make eval's subsets)")
    p.add_argument(
        "--eval-sample", default=None, help="the sample table whose typing is a target (default: make eval's; '' skips)"
    )
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
        bucket=a.bucket,
        eval_every=a.eval_every,
        augment=Augment(max_words=a.max_words, max_entity_labels=a.max_entity_labels, max_cls_labels=a.max_cls_labels),
    )
    evaluate = scorer(a.out, a.eval_limit, a.eval_sample) if a.eval_every else None
    print(train(cfg, log=lambda line: print(line, flush=True), evaluate=evaluate), flush=True)


def scorer(out: str, limit: int | None, sample_path: str | None = None):
    """A checkpoint folder -> its ``target_score``, each report appended to ``out/evals.jsonl``."""
    import importlib.util
    import time

    from gliner2_udf import GLiNER2
    from gliner2_udf.evaluation import Limits, evaluate_all, target_score

    spec = importlib.util.spec_from_file_location(
        "evaluate_job", os.path.join(os.path.dirname(__file__), "evaluate.py")
    )
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)  # make eval's sample table and its names (beside this file)
    sample = job.typing_sample(job.SAMPLE if sample_path is None else sample_path, limit) if sample_path != "" else None

    def evaluate(folder: str) -> float:
        model = GLiNER2.from_pretrained(folder)
        rep = evaluate_all(model, Limits() if limit is None else Limits.all(limit), sample=sample)
        score = target_score(rep["targets"])
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "evals.jsonl"), "a", encoding="utf-8") as fh:
            line = {"folder": folder, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "score": score}
            fh.write(json.dumps({**line, "targets": rep["targets"], "seconds": rep["wall_seconds"]}) + "\n")
        return score

    return evaluate


if __name__ == "__main__":
    main()
