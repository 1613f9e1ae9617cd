"""Write a GLiNER2 checkpoint of an upstream model's shape, with random weights, built by the reference.

No upstream weights are reachable offline; speed and memory depend on the shapes, not on the values. The
reference (``gliner2==2.1.0``, the benchmarks' baseline) builds the model around an encoder of the shape
``bench_models.ENCODERS`` names and saves it, so every engine loads the same folder. The tokenizer is
MiniLM's WordPiece (the DeBERTa-v3 SentencePiece model is not available offline); the word embedding table
keeps the encoder's full vocabulary (128k rows for DeBERTa-v3), as the upstream checkpoints do. The span
count head is fixed to one instance, as in ``common.build_checkpoint``.

    python benchmarks/shaped_checkpoint.py --shape base --architecture span --out /tmp/ckpt-base-span
"""

from __future__ import annotations

import argparse

from bench_models import ENCODERS, PUBLIC_BOUNDARY, encoder_config, tokenizer
from common import force_one_instance


def build(shape: str, architecture: str, out: str, seed: int = 0) -> str:
    import torch
    from gliner2 import ExtractorConfig
    from gliner2 import GLiNER2 as Reference
    from gliner2.inference.engine import BoundaryExtractor

    tok = tokenizer()
    config = encoder_config(shape, len(tok))
    rows = config.vocab_size  # the reference resizes the table (and this config) to the tokenizer: grow it back
    torch.manual_seed(seed)
    if architecture == "span":
        model = Reference(ExtractorConfig(model_name=shape), encoder_config=config, tokenizer=tok).eval()
        force_one_instance(model)
    else:
        head = ExtractorConfig(model_name=shape, architecture="boundary", boundary_head=PUBLIC_BOUNDARY)
        model = BoundaryExtractor(head, encoder_config=config, tokenizer=tok).eval()
    model.encoder.resize_token_embeddings(rows)
    model.save_pretrained(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=sorted(ENCODERS), required=True)
    ap.add_argument("--architecture", choices=["span", "boundary"], default="span")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    print(build(args.shape, args.architecture, args.out))


if __name__ == "__main__":
    main()
