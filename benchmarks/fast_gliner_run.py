"""Time ``fast_gliner`` on a folder written by ``fast_gliner_export.py``; runs in fast_gliner's own venv.

Reads a JSON job from stdin: ``{"model": DIR, "texts": [...], "entities": [...], "mode": "entities" |
"schema", "warmup": N, "classification": [name, labels], "structure": [name, [[field, dtype], ...]]}``;
writes ``{"seconds": wall for all texts, "latency": [s per text], "results": [...], "peak_rss_mb": ...}``.
``entities`` mode calls ``predict_entities`` (one ONNX run per text); ``schema`` mode calls ``extract``
with the whole schema (one ONNX run per task and text). fast_gliner takes one text per call.

    /tmp/fgvenv/bin/python benchmarks/fast_gliner_run.py < job.json
"""

import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from memory import peak_rss_mb  # noqa: E402 (this folder is on sys.path: the script runs from it)


def main() -> int:
    job = json.load(sys.stdin)
    from fast_gliner import FastGLiNER2

    model = FastGLiNER2.from_pretrained(job["model"], onnx_path="model.onnx")
    if job["mode"] == "entities":

        def run(text):
            return model.predict_entities(text, job["entities"])
    else:
        schema = model.create_schema().entities(job["entities"])
        name, labels = job["classification"]
        schema = schema.classification(name, labels)
        name, fields = job["structure"]
        schema = schema.structure(name)
        for field, dtype in fields:
            schema = schema.field(field, dtype=dtype)

        def run(text):
            return model.extract(text, schema)

    texts = job["texts"]
    for t in texts[: job.get("warmup", 8)]:
        run(t)
    results, latency = [], []
    start = time.perf_counter()
    for t in texts:
        t0 = time.perf_counter()
        results.append(run(t))
        latency.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - start
    json.dump(
        {
            "seconds": seconds,
            "latency": latency,
            "results": results if job.get("return_results") else None,
            "peak_rss_mb": peak_rss_mb(),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
