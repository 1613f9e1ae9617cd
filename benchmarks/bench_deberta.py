"""Our DeBERTa-v2/v3 encoder (``gliner2_udf.model.deberta``) against transformers' ``DebertaV2Model``: the encoders
alone, random weights of the DeBERTa-v3 shapes, fp32 and int8 (dynamic, per-channel, as ``runtime.precision``).

    .venv/bin/python benchmarks/bench_deberta.py --shapes xsmall base --threads 2 --rounds 5
    .venv/bin/python benchmarks/bench_deberta.py --shapes base --batch 1 --length 2048

Rounds interleave the variants (one timed pass of each per round, in a rotating order), so a change in machine
load hits all of them;
the table gives the median sequences/s and the ratio to transformers fp32. Also prints max |Δ| against
transformers on the same input (fp32: ours vs theirs; int8: each against its own fp32).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch

SHAPES = {  # hidden, layers, heads (DeBERTa-v3 xsmall / small / base / large; 128k vocabulary cut to 8k here)
    "xsmall": (384, 12, 6),
    "small": (768, 6, 12),
    "base": (768, 12, 12),
    "large": (1024, 24, 16),
}


def config(shape: str):
    from transformers import DebertaV2Config

    hidden, layers, heads = SHAPES[shape]
    return DebertaV2Config(
        vocab_size=8192,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
        relative_attention=True,
        position_buckets=256,
        max_relative_positions=-1,
        pos_att_type=["p2c", "c2p"],
        position_biased_input=False,
        type_vocab_size=0,
        max_position_embeddings=512,
        share_att_key=True,
        norm_rel_ebd="layer_norm",
        layer_norm_eps=1e-7,
    )


def int8(module: torch.nn.Module) -> torch.nn.Module:
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor")
    spec = {torch.nn.Linear: per_channel_dynamic_qconfig}
    return quantize_dynamic(copy.deepcopy(module), spec, dtype=torch.qint8, inplace=True).eval()


def encoders(shape: str) -> dict[str, torch.nn.Module]:
    from transformers import DebertaV2Model

    from gliner2_udf.model import deberta

    cfg = config(shape)
    torch.manual_seed(0)
    theirs = DebertaV2Model(cfg).eval()
    with torch.device("meta"):
        ours = deberta.DebertaEncoder(cfg)
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    ours.eval()
    return {"hf fp32": theirs, "ours fp32": ours, "hf int8": int8(theirs), "ours int8": int8(ours)}


def run(shape: str, batch: int, length: int, rounds: int) -> None:
    models = encoders(shape)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 8192, (batch, length), generator=g)
    mask = torch.ones_like(ids)
    mask[batch // 2 :, int(length * 0.8) :] = 0  # half the batch padded, as in a real length-sorted batch
    times = {name: [] for name in models}
    outs = {}
    with torch.inference_mode():
        for name, m in models.items():  # warm-up (and the outputs compared below)
            outs[name] = m(input_ids=ids, attention_mask=mask).last_hidden_state
        names = list(models)
        for r in range(rounds):  # the order rotates and reverses: whichever runs first in a round runs slower
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order[::-1] if r % 2 else order:
                m = models[name]
                t0 = time.perf_counter()
                m(input_ids=ids, attention_mask=mask)
                times[name].append(time.perf_counter() - t0)
    real = mask.bool()
    base = statistics.median(times["hf fp32"])
    print(f"\n{shape} ({SHAPES[shape]}), batch {batch} x {length}, {torch.get_num_threads()} threads, load {load()}")
    print(f"{'encoder':<10} {'median s':>9} {'seq/s':>8} {'vs hf fp32':>10} {'vs hf same':>10}  max|Δ|")
    for name, ts in times.items():
        med = statistics.median(ts)
        same = statistics.median(times["hf " + name.split()[1]])
        ref = outs["hf fp32"] if name.endswith("fp32") else outs[name.replace("int8", "fp32")]
        delta = (outs[name][real] - ref[real]).abs().max().item()
        print(f"{name:<10} {med:>9.3f} {batch / med:>8.2f} {base / med:>9.2f}x {same / med:>9.2f}x  {delta:.1e}")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", nargs="+", default=["xsmall", "base", "large"], choices=sorted(SHAPES))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--length", type=int, default=180)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    for shape in a.shapes:
        run(shape, a.batch, a.length, a.rounds)


if __name__ == "__main__":
    main()
