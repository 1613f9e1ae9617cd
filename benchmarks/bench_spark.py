"""Spark end to end against the engine in process, on the same documents and the same two cores.

A table of generated documents (``texts.py``, seeded) is written to Parquet; then, in turn, with the
setting the shipped job runs (``conf/local.yaml``: model.precision / model.backend),

* in process: ``GLiNER2.batch_extract`` over all texts on 2 threads, and with ``set_workers(2)`` (two
  single-threaded processes, the benchmark's worker batch size);
* Spark: ``gliner2_udf.spark.extract`` on ``local[2]`` (two tasks of one thread each, the model broadcast
  once and unpickled once per Python worker), written as Parquet. The session is started and warmed
  up before the clock starts; the broadcast, the workers' model loads, the Arrow transfer and the write
  are inside the measured time.

Peak RSS of every Spark Python worker is sampled from /proc while the job runs.

    .venv/bin/python benchmarks/bench_spark.py --docs 10000 [--checkpoint DIR]   # standalone
    (bench_engine.py --spark calls run() with the benchmark's checkpoint, schema and threshold)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from common import build_checkpoint, calibrate, job_config, loadavg, worker_batch  # noqa: E402


class WorkerMemory:
    """Peak RSS (VmHWM) of each Python process Spark starts below this one, sampled every 0.5 s."""

    def __init__(self):
        self.peaks: dict[int, float] = {}
        self.anon: dict[int, float] = {}  # peak RssAnon as sampled: without the checkpoint file's mapped pages
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.5):
            for p in me.children(recursive=True):
                try:
                    if "pyspark" not in " ".join(p.cmdline()):
                        continue
                    with open(f"/proc/{p.pid}/status") as fh:
                        status = dict(line.split(":", 1) for line in fh)
                    hwm, anon = (int(status[k].split()[0]) / 1024 for k in ("VmHWM", "RssAnon"))
                    self.peaks[p.pid] = max(self.peaks.get(p.pid, 0.0), hwm)
                    self.anon[p.pid] = max(self.anon.get(p.pid, 0.0), anon)
                except (OSError, StopIteration, psutil.Error):
                    pass

    @property
    def peak_mb(self) -> float:
        return max(self.peaks.values(), default=float("nan"))

    @property
    def peak_anon_mb(self) -> float:
        return max(self.anon.values(), default=float("nan"))


def run(
    model,
    schema,
    texts: list[str],
    batch_size: int = 16,
    threshold: float = 0.5,
    master: str = "local[2]",
    workdir: str | None = None,
    path: str | None = None,
) -> dict:
    """docs/s in process and through Spark, the Spark share, and the workers' peak RSS."""
    import pandas as pd

    from gliner2_udf.options import ExtractOptions
    from gliner2_udf.spark import extract, get_session

    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="bench_spark_")
    try:
        table = os.path.join(workdir, "docs.parquet")
        pd.DataFrame({"id": [f"doc-{i:06d}" for i in range(len(texts))], "text": texts}).to_parquet(table)

        model.set_threads(2)
        model.batch_extract(texts[:32], schema, batch_size=batch_size, threshold=threshold)  # warm-up
        load_in = os.getloadavg()[0]
        t0 = time.perf_counter()
        model.batch_extract(
            texts, schema, batch_size=batch_size, threshold=threshold, include_confidence=True, include_spans=True
        )
        in_process = time.perf_counter() - t0
        # the engine's other in-process mode: 2 single-threaded processes
        model.set_workers(2)
        model.batch_extract(texts[:32], schema, batch_size=worker_batch(model.backend), threshold=threshold)
        t0 = time.perf_counter()
        model.batch_extract(
            texts,
            schema,
            batch_size=worker_batch(model.backend),
            threshold=threshold,
            include_confidence=True,
            include_spans=True,
        )
        in_workers = time.perf_counter() - t0
        model.set_workers(1)

        spark = get_session(
            "gliner2-bench", master, {"spark.sql.shuffle.partitions": "4", "spark.ui.showConsoleProgress": "false"}
        )
        spark.range(4).repartition(2).count()  # JVM and scheduler warm
        cores = spark.sparkContext.defaultParallelism
        docs = spark.read.parquet(table).repartition(cores)
        out = os.path.join(workdir, "out.parquet")
        load_spark = os.getloadavg()[0]
        with WorkerMemory() as mem:
            t0 = time.perf_counter()
            options = ExtractOptions(batch_size=batch_size, threshold=threshold, threads=1)
            source = model if path is None else path  # path: each Python worker loads the folder itself
            kw = {} if path is None else dict(precision=model.precision, backend=model.backend)
            extract(docs, source, schema, options=options, **kw).write.mode("overwrite").parquet(out)
            through_spark = time.perf_counter() - t0
        rows = spark.read.parquet(out).count()
        statuses = {r["status"]: r["count"] for r in spark.read.parquet(out).groupBy("status").count().collect()}
        return {
            "docs": len(texts),
            "rows": rows,
            "statuses": statuses,
            "cores": cores,
            "in_process_docs_s": len(texts) / in_process,
            "spark_docs_s": len(texts) / through_spark,
            "share": in_process / through_spark,
            "worker_peak_rss_mb": mem.peak_mb,
            "worker_peak_anon_mb": mem.peak_anon_mb,
            "in_workers_docs_s": len(texts) / in_workers,
            "workers": len(mem.peaks),
            "load_in_process": load_in,
            "load_spark": load_spark,
        }
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None) -> int:
    import argparse

    from texts import generate, our_schema

    from gliner2_udf import GLiNER2, compile_schema

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--batch-size", type=int, help="default: conf/local.yaml's batch_size")
    ap.add_argument("--checkpoint", help="a benchmark checkpoint folder (default: build it, as bench_engine does)")
    ap.add_argument("--precision", help="default: conf/local.yaml's model.precision")
    ap.add_argument("--backend", help="default: conf/local.yaml's model.backend")
    ap.add_argument(
        "--distribution",
        choices=["broadcast", "path"],
        default="broadcast",
        help="path: the workers load the checkpoint folder (model.distribution: path), for models too large to "
        "broadcast with the driver's default heap (DeBERTa-v3-base and up)",
    )
    a = ap.parse_args(argv)
    job = job_config()
    precision, backend = a.precision or job.model.precision, a.backend or job.model.backend
    a.batch_size = a.batch_size or job.options.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        path = a.checkpoint or build_checkpoint(os.path.join(tmp, "minilm"))
        exact = GLiNER2.from_pretrained(path)
        compiled = compile_schema(our_schema())
        if exact.architecture == "boundary":  # no span grid to take a quantile of: fp32's top entities per text
            from bench_shapes import calibrate as entities_per_text

            threshold = entities_per_text(exact, compiled, generate(32, seed=0))
        else:
            threshold = calibrate(exact, compiled, generate(32, seed=0))
        model = GLiNER2.from_pretrained(path, precision=precision, backend=backend)
        print(
            f"{a.docs} documents, {precision}/{backend}, batch size {a.batch_size}, threshold {threshold:.4f}, "
            f"load {loadavg()}",
            flush=True,
        )
        r = run(
            model,
            compiled,
            generate(a.docs, seed=2),
            a.batch_size,
            threshold,
            path=os.path.abspath(path) if a.distribution == "path" else None,
        )
    print(json.dumps(r))
    print(
        f"in process {r['in_process_docs_s']:.1f} docs/s, Spark {r['spark_docs_s']:.1f} docs/s: "
        f"{100 * r['share']:.0f} % (target >= 80 %); worker peak RSS {r['worker_peak_rss_mb']:.0f} MiB "
        f"(anonymous {r['worker_peak_anon_mb']:.0f} MiB); "
        f"load {loadavg()}"
    )
    print(
        f"in process with 2 worker processes {r['in_workers_docs_s']:.1f} docs/s: Spark is "
        f"{100 * r['spark_docs_s'] / r['in_workers_docs_s']:.0f} % of that"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
