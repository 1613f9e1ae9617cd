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


def build(shape: str, architecture: str, out: str, seed: int = 0, informative: bool = False) -> str:
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
    if informative:
        sharpen(model, architecture)
    model.save_pretrained(out)
    return out


RESIDUAL_SCALE = 0.25  # each layer's residual branches (attention output, feed-forward output)
# Query and key projections at hidden size 384 (attention logits x36, position terms x6); at hidden size H
# x 6 sqrt(384 / H), so that every width gets the same attention logits (a random layer's logits grow with H)
ATTENTION_SCALE, ATTENTION_WIDTH = 6.0, 384


def sharpen(model, architecture: str) -> None:
    """Make a random checkpoint informative, as a trained one is, for the accuracy bound of ``bench_shapes.py``.

    A deep random transformer forgets which token is which: its attention is nearly uniform and every layer
    adds a full-size random update, so after 12 layers all positions carry almost the same vector. Then the
    three ``[L]`` markers of a classification (the same token) score within 0.01 of each other (confidences
    0.335-0.343 on the plain random ``gliner2.5-small-v1`` shape) and any rounding flips the label: a coin
    toss, not a measure of a fast setting. So the encoder's residual branches are scaled by
    ``RESIDUAL_SCALE`` (each layer refines the token's vector instead of replacing it) and its query and key
    projections by ``ATTENTION_SCALE`` (each token attends to a few positions, its label word or its
    neighbours), and the heads' last layers are scaled so that scores spread over (0, 1).

    The attention is as sharp as a trained model's at every width: the logits of each query spread (maximum
    minus median) by about 8 and have a standard deviation of about 3 in every layer, as in the layers of our
    trained default model (spread 2.4-8.3, deviation 1.5-5.9). One scale for every width gave base (768) twice
    that and large (1024) nearly three times: a network whose decisions turn on rounding errors that a trained
    one absorbs (docs/benchmarks.md, run AF)."""
    import math

    import torch

    attention = ATTENTION_SCALE * math.sqrt(ATTENTION_WIDTH / model.encoder.config.hidden_size)
    with torch.no_grad():
        for layer in getattr(getattr(model.encoder, "encoder", None), "layer", []):
            layer.attention.output.dense.weight.mul_(RESIDUAL_SCALE)
            layer.output.dense.weight.mul_(RESIDUAL_SCALE)
            layer.attention.self.query_proj.weight.mul_(attention)
            layer.attention.self.key_proj.weight.mul_(attention)
        if architecture == "span":
            model.span_rep.span_rep_layer.out_project[3].weight.mul_(8.0)
            model.classifier[2].weight.mul_(20.0)
        else:  # as tests/conftest.py sharpens the boundary oracles
            model.boundary_head.shared_pool_scorer.film_output[3].weight.mul_(3.0)
            model.classifier[3].weight.mul_(20.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=sorted(ENCODERS), required=True)
    ap.add_argument("--architecture", choices=["span", "boundary"], default="span")
    ap.add_argument("--out", required=True)
    ap.add_argument("--informative", action="store_true", help="spread the heads' scores (sharpen)")
    args = ap.parse_args()
    print(build(args.shape, args.architecture, args.out, informative=args.informative))


if __name__ == "__main__":
    main()
