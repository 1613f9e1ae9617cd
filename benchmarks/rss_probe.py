"""Peak memory of one engine in a fresh process (``bench_engine.measure_rss`` runs it).

Reads a JSON spec on stdin, loads one engine, runs the texts, prints
``{"peak_rss_mb": ..., "after_imports_mb": ...}``. It imports only what that engine imports: a lite
folder (our onnx settings) runs without torch, as in a Spark Python worker.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from memory import peak_rss_mb  # noqa: E402


def main() -> None:
    spec = json.load(sys.stdin)
    from texts import our_schema, reference_schema

    texts = spec["texts"]
    if spec["engine"] == "reference":
        import torch
        from gliner2 import GLiNER2 as Reference

        torch.set_num_threads(2)
        base = peak_rss_mb()
        ref = Reference.from_pretrained(spec["checkpoint"]).eval()
        schema = reference_schema(ref)
        if spec["long"]:
            ref.batch_extract_long(
                texts,
                schema,
                batch_size=spec["batch_size"],
                threshold=spec["threshold"],
                chunk_size=spec["chunk_size"],
                chunk_overlap=spec["overlap"],
            )
        else:
            ref.batch_extract(texts, schema, batch_size=spec["batch_size"], threshold=spec["threshold"])
    else:
        from gliner2_udf import GLiNER2

        base = peak_rss_mb()
        model = GLiNER2.from_pretrained(spec["checkpoint"], precision=spec["precision"], backend=spec["backend"])
        model.set_threads(2)
        model.batch_extract(texts, our_schema(), batch_size=spec["batch_size"], threshold=spec["threshold"])
    print(json.dumps({"peak_rss_mb": peak_rss_mb(), "after_imports_mb": base}))


if __name__ == "__main__":
    main()
