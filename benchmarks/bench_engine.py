"""Our engine against the reference (``gliner2==2.1.0``) and ``fast_gliner``, side by side, in one run.

Every engine runs the same MiniLM-backed GLiNER2 checkpoint (the all-MiniLM-L6-v2 encoder with seeded
random heads, written by the reference package into a temporary folder), the same texts and the same
schema (5 entity types, one 3-label classification, one 3-field structure), 2 threads. As in the spec's
section 11 the count head is forced to one instance and the span threshold is set so that about 1 % of
span scores pass, which gives the decoder a realistic amount of work.

Workloads and measurements (one table at the end):

a. short: 256 texts of 60-120 words (``texts.py``). Ours at fp32/torch (the exact path: every confidence
   must be within 1e-4 of the reference's) and at the fast settings (int8/torch, fp32/onnx, int8/onnx);
   the reference's ``batch_extract`` at batch sizes 8/16/32 (its best is the baseline); fast_gliner on
   our checkpoint exported to its ONNX layout (``fast_gliner_export.py``), whole schema and entities only.
   Configurations are interleaved over rounds (rotated start) so a busy neighbour slows all alike;
   docs/s is the median over rounds. Latency: single-text calls, alternating between engines. Peak RSS:
   a fresh process per engine that loads only that engine and runs 64 texts.
   With ``--workers N`` (default 2, one per core), both sides also run in N forked single-threaded
   processes: ours through ``GLiNER2.set_workers`` (fp32/torch, int8/torch at batch size 8, int8/onnx at
   4), the reference's ``batch_extract`` (batch size 8, its best) through the same dealing of texts in this script.
b. long: 64 documents of 2,000-5,000 words. Ours windows them itself; the reference runs
   ``batch_extract_long`` (spec section 5) with the largest word chunk, at most its default 384, whose
   every chunk fits its 512-position encoder, and our 16-word overlap. fast_gliner has no windowing.
c. the machine's fp32 matmul GFLOP/s (``torch.mm`` 2048x2048, 2 threads) next to the encoder's achieved
   GFLOP/s: 2 x (encoder weights) per token + attention (4 T^2 H per layer), actual tokens, encoder alone.
d. with ``--spark``: Spark end to end on 10,000 documents against the engine in process (``bench_spark.py``).

Usage::

    make bench                                   # all of it, Spark included (long: tens of minutes)
    .venv/bin/python benchmarks/bench_engine.py --texts 64 --long-docs 4 --rounds 2   # a quick look
    .venv/bin/python benchmarks/bench_engine.py --profile      # cProfile of our best setting at the end
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import (  # noqa: E402,F401
    LITE_WORKER_BATCH,
    WORKER_BATCH,
    build_checkpoint,
    calibrate,
    force_one_instance,
    job_config,
    job_setting,
    loadavg,
    worker_batch,
)
from texts import DEAL, ENTITIES, SENTIMENT, generate, our_schema, reference_schema  # noqa: E402,F401

BATCH_SIZES = (8, 16, 32)
SETTINGS = [("fp32", "torch"), ("int8", "torch"), ("fp32", "onnx"), ("int8", "onnx")]
OVERLAP_WORDS = 16  # our windows share 2 x max_width words; the reference's chunks get the same
FAST_GLINER_PYTHON = os.environ.get("FAST_GLINER_PYTHON", "/tmp/fgvenv/bin/python")


# ---------------------------------------------------------------------------------------------
# measurement helpers


def percentile(values, q) -> float:
    return float(np.percentile(np.asarray(values), q))


def compare(a, b) -> tuple[bool, float]:
    """(same entities/labels/structures, largest confidence difference) of two results."""
    if isinstance(a, dict):
        if not isinstance(b, dict) or sorted(a) != sorted(b):
            return False, 0.0
        parts = [compare(a[k], b[k]) for k in a]
    elif isinstance(a, (list, tuple)):
        if not isinstance(b, (list, tuple)) or len(a) != len(b):
            return False, 0.0
        parts = [compare(x, y) for x, y in zip(a, b)]
    elif isinstance(a, float) and isinstance(b, float):
        return True, abs(a - b)
    else:
        return a == b, 0.0
    return all(p[0] for p in parts), max((p[1] for p in parts), default=0.0)


def agreement(ours_out, ref_out) -> tuple[int, float]:
    """Texts with the same entities, label and structures as the reference; largest |confidence diff|
    over those texts."""
    same, worst = 0, 0.0
    for a, b in zip(ours_out, ref_out):
        ok, diff = compare(a, b)
        if ok:
            same += 1
            worst = max(worst, diff)
    return same, worst


def entity_keys(result) -> set:
    return {(label, s["start"], s["end"]) for label, spans in result["entities"].items() for s in spans or []}


def encoder_name(model) -> str:
    """What the benchmark's table calls the checkpoint's encoder (``--checkpoint`` may be any shape)."""
    c = model.network.encoder.config
    return f"{c.model_type} {c.num_hidden_layers}x{c.hidden_size}"


def encoder_flops(network, lengths) -> float:
    """FLOPs of the encoder on sequences of ``lengths`` tokens (no padding): 2 x weights per token plus
    QK^T and AV (4 T^2 H per layer)."""
    enc = network.encoder
    weights = sum(
        m.weight.numel() for name, m in enc.named_modules() if isinstance(m, torch.nn.Linear) and "pooler" not in name
    )
    layers, hidden = enc.config.num_hidden_layers, enc.config.hidden_size
    return float(sum(2 * weights * t + 4 * layers * t * t * hidden for t in lengths))


def matmul_gflops(threads: int = 2, n: int = 2048, reps: int = 10) -> tuple[float, float]:
    """(median, best) GFLOP/s of an fp32 n x n matmul."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    flops = 2.0 * n**3
    return flops / statistics.median(times) / 1e9, flops / min(times) / 1e9


def encoder_batches(model, compiled, texts, batch_size):
    """The encoder inputs our batch_extract builds (windows sorted by length), and their token counts."""
    from gliner2_udf.windows import batch_bounds

    st = model.processor.schema_tokens(compiled)
    windows = [w for i, t in enumerate(texts) for w in model.windows(i, t, compiled)]
    windows.sort(key=lambda w: len(w.encoded.ids))
    lengths = [len(w.encoded.ids) for w in windows]
    batches = [
        model.processor.collate([w.encoded for w in windows[a:b]], st.tasks)
        for a, b in batch_bounds(lengths, batch_size)
    ]
    return batches, lengths


def time_encoder(model, batches) -> float:
    runner = model._runner
    with runner.context():
        t0 = time.perf_counter()
        for batch in batches:
            runner.encode(batch)
        return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# engines as callables: name -> fn(texts) -> results


class FastGliner:
    """fast_gliner in its own venv, one subprocess per timed pass (it takes one text per call)."""

    def __init__(self, folder: str, mode: str):
        self.folder, self.mode = folder, mode
        self.last: dict = {}

    def __call__(self, texts, return_results=False):
        job = {
            "model": self.folder,
            "texts": texts,
            "entities": ENTITIES,
            "mode": self.mode,
            "warmup": 8,
            "classification": ["sentiment", SENTIMENT],
            "structure": ["deal", DEAL],
            "return_results": return_results,
        }
        proc = subprocess.run(
            [FAST_GLINER_PYTHON, os.path.join(HERE, "fast_gliner_run.py")],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "2"},
        )
        if proc.returncode:
            raise RuntimeError(f"fast_gliner failed: {proc.stderr[-2000:]}")
        self.last = json.loads(proc.stdout)
        return self.last


def fast_gliner_available() -> str | None:
    """None if fast_gliner can run, else why not."""
    if not os.path.exists(FAST_GLINER_PYTHON):
        return (
            f"{FAST_GLINER_PYTHON} not found (python3 -m venv /tmp/fgvenv && /tmp/fgvenv/bin/pip install "
            "fast-gliner==0.3.2; or set FAST_GLINER_PYTHON)"
        )
    probe = subprocess.run(
        [FAST_GLINER_PYTHON, "-c", "import fast_gliner; print(fast_gliner.__version__)"], capture_output=True, text=True
    )
    return None if probe.returncode == 0 else f"fast_gliner does not import: {probe.stderr[-300:]}"


def interleaved(configs: dict, rounds: int, n: int, label: str) -> dict:
    """Run every configuration once per round, rotating the start; wall seconds per configuration."""
    names = list(configs)
    walls = {c: [] for c in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for c in order:
            t0 = time.perf_counter()
            out = configs[c]()
            wall = time.perf_counter() - t0
            if isinstance(out, dict) and "seconds" in out:  # fast_gliner: its own timed pass
                wall = out["seconds"]
            walls[c].append(wall)
        print(
            f"[{label}] round {r + 1}/{rounds}: "
            + ", ".join(f"{c} {n / walls[c][-1]:.1f}" for c in names)
            + f" docs/s (load {loadavg()})",
            flush=True,
        )
    return walls


def forked(fn, n: int):
    """A pool of ``n`` forked single-threaded processes calling ``fn(texts)``; ``run(texts)`` deals them
    chunks long texts first (as ``gliner2_udf.runtime.workers`` does) and returns the results in order."""
    import multiprocessing

    from gliner2_udf.runtime.workers import chunk_order, in_order

    pool = multiprocessing.get_context("fork").Pool(n, _forked_init, (fn,))

    def run(texts):
        chunks = chunk_order(texts, WORKER_BATCH, n)
        return in_order(chunks, pool.imap(_forked_call, [[texts[i] for i in c] for c in chunks]), len(texts))

    return pool, run


_forked_fn = None


def _forked_init(fn) -> None:
    global _forked_fn
    torch.set_num_threads(1)
    _forked_fn = fn


def _forked_call(texts):
    return _forked_fn(texts)


# ---------------------------------------------------------------------------------------------
# peak memory: a fresh process per engine


IMPORTS_RSS: dict = {}  # engine -> RSS after its imports, before loading a model (MiB)


def measure_rss(spec: dict) -> float:
    probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rss_probe.py")
    proc = subprocess.run([sys.executable, probe], input=json.dumps(spec), capture_output=True, text=True)
    if proc.returncode:
        print(f"rss probe {spec['engine']} failed: {proc.stderr[-500:]}", file=sys.stderr)
        return float("nan")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    IMPORTS_RSS[spec["engine"]] = out["after_imports_mb"]
    return out["peak_rss_mb"]


# ---------------------------------------------------------------------------------------------


def largest_chunk(ours, compiled, docs, limit: int) -> int:
    """The largest word chunk (a multiple of 16, at most the reference's default 384) whose every chunk,
    with the schema prompt, fits ``limit`` encoder positions."""
    from gliner2.inference.chunking import split_text_into_chunks

    from gliner2_udf.text import split_words

    prompt = ours.processor.schema_length(compiled)
    counts = {}
    for size in range(384, 15, -16):
        fits = True
        for d in docs:
            for ch in split_text_into_chunks(d, chunk_size=size, chunk_overlap=OVERLAP_WORDS):
                words = split_words(ch.text).tokens[:size]
                n = sum(len(x) for x in ours.processor.word_ids(words))
                counts[size] = max(counts.get(size, 0), n)
                if prompt + n > limit:
                    fits = False
                    break
            if not fits:
                break
        if fits:
            return size
    raise RuntimeError("no chunk size fits")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=256, help="short texts (a)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds for the short workload")
    parser.add_argument("--long-docs", type=int, default=64, help="long documents (b); 0 skips")
    parser.add_argument("--long-rounds", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16, help="our batch size")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, default=2, help="forked 1-thread processes for the process rows (0 skips them)"
    )
    parser.add_argument("--latency-docs", type=int, default=64)
    parser.add_argument("--spark", action="store_true", help="(d) Spark end to end (make bench sets it)")
    parser.add_argument("--spark-docs", type=int, default=10_000)
    parser.add_argument("--no-fast-gliner", action="store_true")
    parser.add_argument("--no-rss", action="store_true", help="skip the per-engine peak-RSS processes")
    parser.add_argument("--checkpoint", help="reuse a benchmark checkpoint folder instead of building one")
    parser.add_argument("--profile", action="store_true", help="cProfile the fast path on 64 texts")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    load_start = loadavg()
    texts = generate(args.texts, seed=0)
    words = [len(t.split()) for t in texts]

    from gliner2 import GLiNER2 as Reference

    from gliner2_udf import GLiNER2, compile_schema

    tmp = tempfile.TemporaryDirectory()
    path = args.checkpoint or build_checkpoint(os.path.join(tmp.name, "minilm"))
    checkpoint_mb = os.path.getsize(os.path.join(path, "model.safetensors")) / 2**20
    ref = Reference.from_pretrained(path).eval()
    ours = {s: GLiNER2.from_pretrained(path, precision=s[0], backend=s[1]) for s in SETTINGS}
    exact = ours[("fp32", "torch")]
    compiled, compiled_ents = compile_schema(our_schema()), compile_schema(our_schema(entities_only=True))
    ref_schema = reference_schema(ref)
    threshold = calibrate(exact, compiled, texts[:32])
    kw = dict(threshold=threshold, include_confidence=True, include_spans=True)
    bs = args.batch_size
    name = {s: f"ours {s[0]}/{s[1]}" for s in SETTINGS}

    print(
        f"checkpoint: {encoder_name(exact)} GLiNER2, {checkpoint_mb:.0f} MiB safetensors; texts: {len(texts)} "
        f"({min(words)}-{max(words)} words, mean {statistics.mean(words):.1f}); threads {torch.get_num_threads()}; "
        f"span threshold {threshold:.4f} (top 1 % of span scores)"
    )
    print(f"machine: {os.cpu_count()} CPUs; load average (1/5/15 min) at start: {load_start}", flush=True)

    fg_why = "--no-fast-gliner" if args.no_fast_gliner else fast_gliner_available()
    fg = {}
    if fg_why is None:
        import fast_gliner_export

        for prec in ("fp32", "int8"):
            folder = fast_gliner_export.export(
                path, os.path.join(tmp.name, f"fast_gliner_{prec}"), prec == "int8", network=exact.network
            )
            fg[prec] = (FastGliner(folder, "schema"), FastGliner(folder, "entities"))

    # warm-up: tokenizer caches, allocator, ONNX sessions, lazy imports
    for m in ours.values():
        m.batch_extract(texts[:32], compiled, batch_size=bs, **kw)
    for b in BATCH_SIZES:
        ref.batch_extract(texts[: b * 2], ref_schema, batch_size=b, **kw)

    # ---- (a) short texts, whole schema -------------------------------------------------------
    outputs: dict = {}

    def ours_run(s, schema=compiled, key=None):
        return lambda: outputs.__setitem__(key or name[s], ours[s].batch_extract(texts, schema, batch_size=bs, **kw))

    def ref_run(b):
        return lambda: outputs.__setitem__(f"reference bs{b}", ref.batch_extract(texts, ref_schema, batch_size=b, **kw))

    configs = {name[s]: ours_run(s) for s in SETTINGS}
    configs.update({f"reference bs{b}": ref_run(b) for b in BATCH_SIZES})
    pools, ref_pool, proc_batch = [], None, {}
    if args.workers > 1:  # forked after the warm-up, so the workers start warm
        proc = f"{args.workers} procs"
        for s in (("fp32", "torch"), ("int8", "torch"), ("int8", "onnx")):
            m = GLiNER2.from_pretrained(path, precision=s[0], backend=s[1])
            m.batch_extract(texts[:32], compiled, batch_size=worker_batch(s[1]), **kw)
            m.set_workers(args.workers)
            pools.append(m)
            proc_batch[f"{name[s]}, {proc}"] = worker_batch(s[1])
            configs[f"{name[s]}, {proc}"] = lambda m=m, c=f"{name[s]}, {proc}", b=proc_batch[f"{name[s]}, {proc}"]: (
                outputs.__setitem__(c, m.batch_extract(texts, compiled, batch_size=b, **kw))
            )
        ref_pool, ref_forked = forked(
            lambda part: ref.batch_extract(part, ref_schema, batch_size=WORKER_BATCH, **kw), args.workers
        )
        configs[f"reference bs{WORKER_BATCH}, {proc}"] = lambda: outputs.__setitem__(
            f"reference bs{WORKER_BATCH}, {proc}", ref_forked(texts)
        )
    for prec, (whole, _) in fg.items():
        configs[f"fast_gliner {prec}"] = lambda f=whole: f(texts)
    walls = interleaved(configs, args.rounds, len(texts), "short")
    rate = {c: len(texts) / statistics.median(w) for c, w in walls.items()}
    procs = [c for c in configs if c.endswith("procs")]
    for m in pools:
        m.set_workers(1)
    if ref_pool is not None:
        ref_pool.terminate()
    ref_best = max((f"reference bs{b}" for b in BATCH_SIZES), key=lambda c: rate[c])
    ref_bs = int(ref_best.rsplit("bs", 1)[1])

    # entities only: like for like with fast_gliner, whose classification/structure are not GLiNER2's
    ent_configs = {}
    if fg:
        ents_kw = dict(kw, threshold=0.5)  # fast_gliner's fixed threshold
        for s in (("fp32", "torch"), ("int8", "torch"), ("int8", "onnx")):
            ent_configs[name[s] + " (entities)"] = lambda s=s: outputs.__setitem__(
                name[s] + " (entities)", ours[s].batch_extract(texts, compiled_ents, batch_size=bs, **ents_kw)
            )
        for prec, (_, ents) in fg.items():
            ent_configs[f"fast_gliner {prec} (entities)"] = lambda f=ents: f(texts)
        ent_walls = interleaved(ent_configs, args.rounds, len(texts), "entities only")
        rate.update({c: len(texts) / statistics.median(w) for c, w in ent_walls.items()})

    # latency: one text per call, alternating between engines
    latency = {c: [] for c in [name[s] for s in SETTINGS] + ["reference"]}
    for t in texts[: args.latency_docs]:
        for s in SETTINGS:
            t0 = time.perf_counter()
            ours[s].extract(t, compiled, **kw)
            latency[name[s]].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref.extract(t, ref_schema, **kw)
        latency["reference"].append(time.perf_counter() - t0)
    for prec, (whole, ents) in fg.items():
        latency[f"fast_gliner {prec}"] = whole.last["latency"][: args.latency_docs]
        latency[f"fast_gliner {prec} (entities)"] = ents.last["latency"][: args.latency_docs]

    # accuracy against the reference (each of ours against the reference at its best batch size)
    accuracy = {}
    for s in SETTINGS:
        same, worst = agreement(outputs[name[s]], outputs[ref_best])
        accuracy[name[s]] = f"{same}/{len(texts)} same" + (f", max diff {worst:.1e}" if same else "")
    for c in procs:
        same, worst = agreement(outputs[c], outputs[ref_best])
        accuracy[c] = f"{same}/{len(texts)} same" + (f", max diff {worst:.1e}" if same else "")
    stable = all(compare(outputs[f"reference bs{b}"], outputs[ref_best])[0] for b in BATCH_SIZES)
    if fg:
        # the exported graph gives fast_gliner our exact span scores; its decoding is its own (flat NER)
        # (label, start, end) -> confidence on both sides: the common spans must score the same
        fg_out = fg["fp32"][1](texts, return_results=True)["results"]
        mine = outputs[name[("fp32", "torch")] + " (entities)"]
        common, worst, theirs = 0, 0.0, 0
        for a, b in zip(mine, fg_out):
            ours_conf = {(lab, s["start"], s["end"]): s["confidence"] for lab, v in a["entities"].items() for s in v}
            theirs += len(b)
            for e in b:
                key = (e["label"], e["start"], e["end"])
                if key in ours_conf:
                    common += 1
                    worst = max(worst, abs(ours_conf[key] - e["score"]))
        total = sum(len(entity_keys(a)) for a in mine)
        accuracy["fast_gliner fp32 (entities)"] = (
            f"{common} spans in common (of {theirs} / our {total}), max diff {worst:.1e}; decoding differs"
        )

    # ---- (c) FLOP rates ----------------------------------------------------------------------
    mm_median, mm_best = matmul_gflops(args.threads)
    torch.set_num_threads(args.threads)
    batches, lengths = encoder_batches(exact, compiled, texts, bs)
    flops_short = encoder_flops(exact.network, lengths)
    enc_time = {name[s]: [] for s in SETTINGS}
    for _ in range(args.rounds):
        for s in SETTINGS:
            enc_time[name[s]].append(time_encoder(ours[s], batches))
    gflops = {c: flops_short / statistics.median(v) / 1e9 for c, v in enc_time.items()}
    pipeline_gflops = {name[s]: flops_short * rate[name[s]] / len(texts) / 1e9 for s in SETTINGS}
    pipeline_gflops[ref_best] = flops_short * rate[ref_best] / len(texts) / 1e9

    # ---- (b) long documents ------------------------------------------------------------------
    long_rate, long_note, chunk = {}, "", None
    if args.long_docs:
        docs = generate(args.long_docs, seed=1, min_words=2000, max_words=5000)
        dwords = [len(d.split()) for d in docs]
        chunk = largest_chunk(exact, compiled, docs, exact.max_tokens)
        n_windows = sum(len(exact.windows(i, d, compiled)) for i, d in enumerate(docs))
        print(
            f"long: {len(docs)} documents, {min(dwords)}-{max(dwords)} words (mean {statistics.mean(dwords):.0f}); "
            f"ours: {n_windows} windows of <= {exact.max_tokens} tokens; reference: batch_extract_long "
            f"chunk_size={chunk} words, overlap {OVERLAP_WORDS}",
            flush=True,
        )
        long_out = {}
        long_configs = {
            name[s] + " (long)": (
                lambda s=s: long_out.__setitem__(s, ours[s].batch_extract(docs, compiled, batch_size=bs, **kw))
            )
            for s in SETTINGS
        }
        long_configs[f"reference bs{ref_bs} (long)"] = lambda: long_out.__setitem__(
            "ref",
            ref.batch_extract_long(
                docs, ref_schema, batch_size=ref_bs, chunk_size=chunk, chunk_overlap=OVERLAP_WORDS, **kw
            ),
        )
        lw = interleaved(long_configs, args.long_rounds, len(docs), "long")
        long_rate = {c: len(docs) / statistics.median(w) for c, w in lw.items()}
        mine, theirs = long_out[("fp32", "torch")], long_out["ref"]
        inter = sum(len(entity_keys(a) & entity_keys(b)) for a, b in zip(mine, theirs))
        long_note = (
            f"{inter}/{sum(len(entity_keys(b)) for b in theirs)} of the reference's entities also ours (windows differ)"
        )
        _, long_lengths = encoder_batches(exact, compiled, docs, bs)
        flops_long = encoder_flops(exact.network, long_lengths)
        for c in long_rate:
            pipeline_gflops[c] = flops_long * long_rate[c] / len(docs) / 1e9

    # ---- peak RSS, one process per engine ------------------------------------------------------
    rss = {}
    if not args.no_rss:
        base = dict(checkpoint=path, threshold=threshold, long=False, texts=texts[:64])

        def probe(s, spec):  # the onnx settings load their lite folder, as a Spark worker gets it
            where = ours[s]._runner.path if s[1] == "onnx" else path
            return measure_rss(dict(spec, engine="ours", checkpoint=where, precision=s[0], backend=s[1], batch_size=bs))

        for s in SETTINGS:
            rss[name[s]] = probe(s, base)
        rss[ref_best] = measure_rss(dict(base, engine="reference", batch_size=ref_bs))
        if args.long_docs:
            lbase = dict(base, long=True, texts=docs[:4], chunk_size=chunk, overlap=OVERLAP_WORDS)
            for s in SETTINGS:
                rss[name[s] + " (long)"] = probe(s, lbase)
            rss[f"reference bs{ref_bs} (long)"] = measure_rss(dict(lbase, engine="reference", batch_size=ref_bs))
    for prec, (whole, ents) in fg.items():
        rss[f"fast_gliner {prec}"] = whole.last.get("peak_rss_mb", float("nan"))
        rss[f"fast_gliner {prec} (entities)"] = ents.last.get("peak_rss_mb", float("nan"))

    # ---- (d) Spark -----------------------------------------------------------------------------
    spark = None
    if args.spark:
        import bench_spark

        default = job_setting()  # what the shipped job (conf/local.yaml) runs
        job_bs = job_config().options.batch_size
        model = ours[default] if default in ours else exact
        print(
            f"spark: {args.spark_docs} documents, default setting {default[0]}/{default[1]}, batch size {job_bs}",
            flush=True,
        )
        spark = bench_spark.run(model, compiled, generate(args.spark_docs, seed=2), job_bs, threshold)
        spark["setting"], spark["batch_size"] = f"{default[0]}/{default[1]}", job_bs
    load_end = loadavg()

    # ---- the table -----------------------------------------------------------------------------
    base_rate = rate[ref_best]
    rows = []

    def row(workload, engine, batch, docs_s, baseline, lat=None, mem=None, gf=None, acc=""):
        lat_s = f"{1e3 * percentile(lat, 50):.0f} / {1e3 * percentile(lat, 95):.0f}" if lat else "-"
        rows.append(
            f"| {workload} | {engine} | {batch} | {docs_s:.{1 if docs_s >= 10 else 2}f} | "
            f"{docs_s / baseline:.2f}x | {lat_s} | "
            f"{'-' if mem is None or mem != mem else f'{mem:.0f}'} | {gf or '-'} | {acc or '-'} |"
        )

    for s in SETTINGS:
        c = name[s]
        row(
            "short",
            c,
            bs,
            rate[c],
            base_rate,
            latency[c],
            rss.get(c),
            f"{gflops[c]:.1f} ({pipeline_gflops[c]:.1f})",
            accuracy[c],
        )
    for b in BATCH_SIZES:
        c = f"reference bs{b}"
        row(
            "short",
            "reference" + (" (best)" if c == ref_best else ""),
            b,
            rate[c],
            base_rate,
            latency["reference"] if c == ref_best else None,
            rss.get(c),
            f"({pipeline_gflops[c]:.1f})" if c in pipeline_gflops else None,
            "baseline" if c == ref_best else ("same as best bs" if stable else ""),
        )
    for c in procs:
        row("short", c, proc_batch.get(c, WORKER_BATCH), rate[c], base_rate, acc=accuracy[c])
    for prec in fg:
        c = f"fast_gliner {prec}"
        row("short", c, 1, rate[c], base_rate, latency[c], rss.get(c), None, "classification/structure not GLiNER2's")
    for c in ent_configs:  # baseline: fast_gliner fp32, the peer as published (fp32 ONNX)
        row(
            "short, entities only",
            c.replace(" (entities)", ""),
            1 if c.startswith("fast") else bs,
            rate[c],
            rate["fast_gliner fp32 (entities)"],
            latency.get(c),
            rss.get(c),
            None,
            accuracy.get(c, "threshold 0.5"),
        )
    for c, r in long_rate.items():
        ref_long = long_rate[f"reference bs{ref_bs} (long)"]
        row(
            "long",
            c.replace(" (long)", ""),
            ref_bs if c.startswith("reference") else bs,
            r,
            ref_long,
            None,
            rss.get(c),
            f"({pipeline_gflops[c]:.1f})",
            long_note if c.startswith("ours fp32/torch") else ("baseline" if c.startswith("reference") else ""),
        )
    if spark:
        row(
            f"{spark['docs']} docs",
            f"in process, {spark['setting']}",
            spark["batch_size"],
            spark["in_process_docs_s"],
            spark["in_process_docs_s"],
            mem=None,
            acc="baseline",
        )
        row(
            f"{spark['docs']} docs",
            f"Spark local[{spark['cores']}], {spark['setting']}",
            spark["batch_size"],
            spark["spark_docs_s"],
            spark["in_process_docs_s"],
            mem=spark["worker_peak_rss_mb"],
            acc=f"{spark['rows']} rows, {spark['statuses']}",
        )

    print()
    print(
        "| workload | engine | batch | docs/s (median) | vs baseline | latency p50 / p95 (ms) | peak RSS (MiB) "
        "| encoder GFLOP/s (whole pipeline) | agreement with the baseline |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print(
        f"machine fp32 matmul (torch.mm 2048x2048, {args.threads} threads): {mm_median:.0f} GFLOP/s median, "
        f"{mm_best:.0f} best; encoder work: {flops_short / len(texts) / 1e9:.2f} GFLOP per short text"
    )
    print(f"load average (1/5/15 min): start {load_start}; end {load_end}")
    if fg_why:
        print(f"fast_gliner not run: {fg_why}")

    # ---- targets ----------------------------------------------------------------------------------
    def best_mode(c):  # a setting's faster in-process mode: threads, or worker processes where they ran
        return max(rate[c], rate.get(f"{c}, {proc}", 0.0) if procs else 0.0)

    exact = name[("fp32", "torch")]
    exact_ratio = best_mode(exact) / base_rate
    same, worst = agreement(outputs[exact], outputs[ref_best])
    fast = name[job_setting()]  # the fast path: the shipped job's setting, chosen by bench_precision.py
    fg_best = max((rate[f"fast_gliner {p}"] for p in fg), default=None)
    limit = 2 * checkpoint_mb + 500
    print(
        f"exact path: {exact_ratio:.2f}x the reference, its faster in-process mode (target >= 1.5x: "
        f"{'met' if exact_ratio >= 1.5 else 'MISSED'}); "
        f"identical results on {same}/{len(texts)} texts, max confidence diff {worst:.1e} "
        f"(target <= 1e-4: {'met' if same == len(texts) and worst <= 1e-4 else 'MISSED'})"
    )
    fast_rate = best_mode(fast)
    verdict = (
        f"fast path {fast} (conf/local.yaml): {fast_rate / base_rate:.2f}x the reference (target >= 4x: "
        f"{'met' if fast_rate >= 4 * base_rate else 'MISSED'})"
    )
    if fg_best:
        verdict += f"; {fast_rate / fg_best:.2f}x fast_gliner's best whole-schema rate"
    print(verdict + " (CrossNER loss: see bench_precision.py)")
    if procs:
        ref_procs = rate[f"reference bs{WORKER_BATCH}, {proc}"]
        for c in procs:
            if c.startswith("ours"):
                print(
                    f"{c}: {rate[c] / base_rate:.2f}x the reference's best batch_extract, "
                    f"{rate[c] / ref_procs:.2f}x the reference in {proc}"
                )
    if spark:
        print(
            f"Spark: {100 * spark['share']:.0f} % of in-process (target >= 80 %: "
            f"{'met' if spark['share'] >= 0.8 else 'MISSED'}); worker peak RSS {spark['worker_peak_rss_mb']:.0f} MiB"
        )
    ours_rss = {c: v for c, v in rss.items() if c.startswith("ours") and v == v}
    if ours_rss:
        shipped = max((v for c, v in ours_rss.items() if c.split(" (")[0] == fast), default=float("nan"))
        worst_c = max(ours_rss, key=ours_rss.get)
        worst_mb = ours_rss[worst_c]
        print(
            f"peak RSS (one process, limit 2 x {checkpoint_mb:.0f} + 500 = {limit:.0f} MiB): "
            f"{fast} (conf/local.yaml) {shipped:.0f} MiB ({'met' if shipped <= limit else 'MISSED'}); "
            f"worst of all settings {worst_c} {worst_mb:.0f} MiB ({'met' if worst_mb <= limit else 'MISSED'}); "
            "imports alone: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in IMPORTS_RSS.items())
        )

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "rate": rate,
                    "long_rate": long_rate,
                    "latency_p50": {c: percentile(v, 50) for c, v in latency.items()},
                    "rss": rss,
                    "gflops": gflops,
                    "pipeline_gflops": pipeline_gflops,
                    "mm": [mm_median, mm_best],
                    "spark": spark,
                    "accuracy": accuracy,
                    "load": [load_start, load_end],
                },
                fh,
                indent=1,
            )
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        ours[job_setting()].batch_extract(texts[:64], compiled, batch_size=bs, **kw)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
