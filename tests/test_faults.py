"""Exactly-once through crashes: faults caused for real on a real multi-executor cluster and a real driver.

* In-process ``local-cluster[2,1,1024]`` (a master and two executor JVMs): a Python worker SIGKILLed while
  it extracts, an executor JVM SIGKILLed while its worker extracts, a model folder missing on one executor,
  the hostile corpus through the whole job, and a streaming run in merge mode.
* ``spark-submit jobs/extract.py`` subprocesses: the driver (its whole process group) SIGKILLed before the
  first write, between two commits and right after the last commit, then the same command re-run; a
  streaming ``availableNow`` run SIGKILLed between a micro-batch's output commit and its checkpoint commit.

Processes are found by the markers the job writes when ``GLINER2_UDF_FAULT_MARKS`` is set
(``gliner2_udf/fault_injection.py``) and killed by pid, only when they descend from this test process.
After every fault: each input id exactly once in the output, ``DESCRIBE HISTORY`` readable, and the files
readers see are exactly the files the Delta log adds, each a complete Parquet file (files written by killed
tasks stay on disk, invisible). Each test prints a ``FAULT-TABLE`` line (see README, Guarantees).
"""

from __future__ import annotations

import collections
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hostile import SCHEMA, check_row, corpus

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPARK_SUBMIT = os.path.join(os.path.dirname(sys.executable), "spark-submit")
with open(os.path.join(ROOT, "conf", "local.yaml"), encoding="utf-8") as _fh:
    _model = yaml.safe_load(_fh)["model"]
SHIPPED = {"precision": _model["precision"], "backend": _model["backend"]}  # what conf/local.yaml runs
SETTINGS = {"shipped": SHIPPED, "fp32": {"precision": "fp32", "backend": "torch"}}
BATCH_SLEEP = "0.3"  # seconds a worker waits before each batch: time to find and kill it mid-extraction
TEXTS = [
    "Tim Cook of Apple met Acme in Berlin.",
    "Invoice 7 from Acme to Apple: total $15.",
    "Jane loves the new Apple watch.",
    "Paris: Acme cuts 300 jobs, said Tim.",
]


def docs(n: int, prefix: str = "doc") -> dict[str, str]:
    return {f"{prefix}-{i:03d}": f"{TEXTS[i % len(TEXTS)]} Item {i}." for i in range(n)}


def write_parquet(path: str, items: dict, binary: bool = False) -> str:
    texts = [v.encode("utf-8") if binary and isinstance(v, str) else v for v in items.values()]
    pq.write_table(pa.table({"id": list(items), "text": pa.array(texts, pa.binary() if binary else pa.string())}), path)
    return path


def job_dict(inp: str, out: str, ckpt: str, fmt: str = "parquet", setting: str = "shipped", **extra) -> dict:
    """A job on the shipped inference setting (``conf/local.yaml``'s precision and backend) unless ``setting``."""
    d = {
        "input": {"format": fmt, "path": inp},
        "schema": SCHEMA,
        "model": {"path": ckpt, **SETTINGS[setting]},
        "output": {"format": "delta", "path": out, "mode": "merge"},
        "batch_size": 4,
        "arrow_records_per_batch": 2,
        "spark": {
            "conf": {
                "spark.sql.shuffle.partitions": "2",
                "spark.databricks.delta.snapshotPartitions": "2",
                "spark.ui.showConsoleProgress": "false",
            }
        },
    }
    for k, v in extra.items():
        if isinstance(v, dict):
            d.setdefault(k, {}).update(v)
        else:
            d[k] = v
    return d


def _runtime(setting: str) -> str:
    return "{precision}/{backend}".format(**SETTINGS[setting])


def report(fault: str, inputs: str, rows_in: int, stats: dict) -> None:
    print(
        f"\nFAULT-TABLE | {fault} | {inputs} | {rows_in} | {stats['rows']} | {stats['duplicates']} | "
        f"{stats['losses']} | history {stats['commits']} commits, {stats['invisible_files']} uncommitted files"
    )


# --------------------------------------------------------------------------------------------
# processes


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def _ancestors(pid: int) -> list[int]:
    out = []
    while pid > 1:
        try:
            pid = _ppid(pid)
        except OSError:
            break
        out.append(pid)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _ours(pid: int) -> bool:
    """Only processes this test started (descendants of this process) are ever killed."""
    return os.getpid() in _ancestors(pid)


def wait_for(predicate, timeout: float, proc: subprocess.Popen | None = None, what: str = "", log: str = ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the job ended (rc {proc.returncode}) before {what}\n{_tail(log)}")
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{_tail(log)}")


def _tail(log: str, n: int = 4000) -> str:
    if not log or not os.path.exists(log):
        return ""
    with open(log, encoding="utf-8", errors="replace") as fh:
        return fh.read()[-n:]


def worker_markers(marks: str, since: float) -> list[tuple[float, int]]:
    """(mtime, pid) of the Python workers that started a batch after ``since``, newest first."""
    out = []
    for f in glob.glob(os.path.join(marks, "worker-*")):
        try:
            t = os.path.getmtime(f)
        except OSError:
            continue
        if t > since:
            out.append((t, int(os.path.basename(f).split("-", 1)[1])))
    return sorted(out, reverse=True)


class Killer(threading.Thread):
    """Waits for a Python worker to start a batch, then SIGKILLs it or its executor JVM."""

    def __init__(self, marks: str, target: str):
        super().__init__(daemon=True)
        self.marks, self.target, self.since = marks, target, time.time()
        self.killed: dict = {}
        self.error: str | None = None

    def run(self):
        try:
            deadline = time.time() + 240
            while time.time() < deadline:
                for _, pid in worker_markers(self.marks, self.since):
                    if not (_alive(pid) and "pyspark" in _cmdline(pid) and _ours(pid)):
                        continue
                    victim = pid
                    if self.target == "executor":
                        victim = next(
                            (p for p in _ancestors(pid) if "CoarseGrainedExecutorBackend" in _cmdline(p)), None
                        )
                        if victim is None:
                            continue
                    self.killed = {"pid": victim, "worker": pid, "cmdline": _cmdline(victim)}
                    os.kill(victim, signal.SIGKILL)
                    return
                time.sleep(0.05)
            self.error = "no Python worker started a batch"
        except Exception as err:  # reported by the test
            self.error = repr(err)


# --------------------------------------------------------------------------------------------
# what readers see


def _log_files(path: str) -> tuple[set[str], list[dict]]:
    """Replay ``_delta_log/*.json`` by hand: the data files the table holds now, and every commit's txn."""
    active: set[str] = set()
    txns = []
    for f in sorted(glob.glob(os.path.join(path, "_delta_log", "*.json"))):
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                action = json.loads(line)
                if "add" in action:
                    active.add(urllib.parse.unquote(action["add"]["path"]))
                elif "remove" in action:
                    active.discard(urllib.parse.unquote(action["remove"]["path"]))
                elif "txn" in action:
                    txns.append(action["txn"])
    assert not glob.glob(os.path.join(path, "_delta_log", "*.checkpoint.parquet")), "replay assumes no checkpoint"
    return active, txns


def check_table(spark, path: str, expected_ids) -> dict:
    """Rows per id, history, and the files readers see against the log. Returns the figures."""
    from delta.tables import DeltaTable

    expected = set(expected_ids)
    if not DeltaTable.isDeltaTable(spark, path):
        on_disk = glob.glob(os.path.join(path, "**", "*.parquet"), recursive=True) if os.path.isdir(path) else []
        return {
            "rows": 0,
            "duplicates": 0,
            "losses": len(expected),
            "commits": 0,
            "ids": collections.Counter(),
            "invisible_files": len(on_disk),
            "txns": [],
        }
    df = spark.read.format("delta").load(path)
    ids = collections.Counter(r["id"] for r in df.select("id").collect())
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").collect()
    active, txns = _log_files(path)
    visible = {os.path.relpath(urllib.parse.unquote(urllib.parse.urlparse(f).path), path) for f in df.inputFiles()}
    assert visible == active, visible ^ active
    rows_in_files = sum(pq.read_metadata(os.path.join(path, f)).num_rows for f in active)  # complete footers
    assert rows_in_files == sum(ids.values())
    on_disk = {
        os.path.relpath(f, path)
        for f in glob.glob(os.path.join(path, "**", "*.parquet"), recursive=True)
        if "_delta_log" not in f
    }
    assert active <= on_disk
    assert set(ids) <= expected, set(ids) - expected
    return {
        "rows": sum(ids.values()),
        "duplicates": sum(c - 1 for c in ids.values()),
        "losses": len(expected - set(ids)),
        "commits": len(history),
        "ids": ids,
        "invisible_files": len(on_disk - active),
        "txns": txns,
        "history": history,
    }


def assert_exactly_once(stats: dict, expected_ids) -> None:
    assert stats["duplicates"] == 0 and stats["losses"] == 0, stats
    assert set(stats["ids"]) == set(expected_ids)


# --------------------------------------------------------------------------------------------
# the cluster


@pytest.fixture(scope="module")
def marks(tmp_path_factory):
    return str(tmp_path_factory.mktemp("marks"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, marks):
    from pyspark.sql import SparkSession

    from gliner2_udf.spark.session import get_session

    session = get_session(
        "gliner2-faults",
        master="local-cluster[2,1,1024]",
        conf={
            "spark.executorEnv.GLINER2_UDF_FAULT_MARKS": marks,
            "spark.executorEnv.GLINER2_UDF_FAULT_BATCH_SLEEP": BATCH_SLEEP,
            "spark.sql.shuffle.partitions": "4",
            "spark.databricks.delta.snapshotPartitions": "2",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.warehouse.dir": str(tmp_path_factory.mktemp("warehouse")),
        },
    )
    assert session.sparkContext.master == "local-cluster[2,1,1024]"
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    SparkSession._instantiatedSession = None


def _failed_tasks(sc, group: str) -> int:
    tracker, failed = sc.statusTracker(), 0
    for job_id in tracker.getJobIdsForGroup(group):
        info = tracker.getJobInfo(job_id)
        for stage_id in info.stageIds if info else []:
            stage = tracker.getStageInfo(stage_id)
            failed += stage.numFailedTasks if stage else 0
    return failed


@pytest.mark.parametrize("setting", ["shipped", "fp32"])
@pytest.mark.parametrize("target", ["python-worker", "executor"])
def test_killed_worker_or_executor_mid_extraction_costs_nothing(
    cluster, tiny_checkpoint, marks, tmp_path, target, setting
):
    from gliner2_udf.config import from_dict
    from gliner2_udf.spark import run

    items = docs(24)
    inp = write_parquet(str(tmp_path / "docs.parquet"), items)
    cfg = from_dict(job_dict(inp, str(tmp_path / "out"), tiny_checkpoint, setting=setting))
    sc = cluster.sparkContext
    group = f"kill-{target}-{uuid.uuid4().hex[:6]}"
    sc.setJobGroup(group, f"SIGKILL a {target} mid-extraction")
    executors = set(sc._jsc.sc().getExecutorIds().mkString(",").split(","))
    killer = Killer(marks, "executor" if target == "executor" else "worker")
    killer.start()
    try:
        summary = run(cfg, cluster)
    finally:
        killer.join(5)
        sc._jsc.clearJobGroup()
    assert killer.error is None and killer.killed, killer.error
    assert not _alive(killer.killed["pid"])
    if target == "executor":
        assert "CoarseGrainedExecutorBackend" in killer.killed["cmdline"]
        wait_for(
            lambda: set(sc._jsc.sc().getExecutorIds().mkString(",").split(",")) - executors,
            120,
            what="a replacement executor",
        )
    else:
        assert "pyspark" in killer.killed["cmdline"]
        assert _failed_tasks(sc, group) >= 1  # Spark saw the crashed worker and retried its task
    stats = check_table(cluster, cfg.output.path, items)
    assert_exactly_once(stats, items)
    assert summary.rows == len(items) and summary.status_counts == {"ok": len(items)}
    report(f"{target} SIGKILLed mid-extraction ({_runtime(setting)})", "24 short documents", len(items), stats)


def test_model_missing_on_one_executor_is_one_clear_error(cluster, tiny_checkpoint, tmp_path, monkeypatch):
    """``/proc/self/cwd/<name>`` is a real path that resolves in each process's own working folder: it
    exists on the driver and on one executor, and is missing on the other."""
    from gliner2_udf.config import from_dict
    from gliner2_udf.spark import run
    from gliner2_udf.spark.preflight import ExecutorModelError

    def where(_):
        from gliner2_udf.spark.udf import executor_identity

        yield executor_identity().split(" (pid")[0], os.getcwd()

    sc = cluster.sparkContext
    found: dict[str, str] = {}
    for _ in range(10):
        found.update(dict(sc.parallelize(range(2), 2).mapPartitions(where).collect()))
        if len(set(found.values())) >= 2:
            break
    assert len(set(found.values())) >= 2, found
    (has, has_dir), (lacks, _) = sorted(found.items())[:2]
    name = f"gliner2-model-{uuid.uuid4().hex[:8]}"
    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_checkpoint, tmp_path / name)
    shutil.copytree(tiny_checkpoint, os.path.join(has_dir, name))
    path = f"/proc/self/cwd/{name}"
    items = docs(8)
    out = str(tmp_path / "out")
    cfg = from_dict(
        job_dict(
            write_parquet(str(tmp_path / "docs.parquet"), items),
            out,
            tiny_checkpoint,
            model={"path": path, "distribution": "path"},
        )
    )
    try:
        t0 = time.time()
        with pytest.raises(ExecutorModelError) as info:
            run(cfg, cluster)
        seconds = time.time() - t0
    finally:
        shutil.rmtree(os.path.join(has_dir, name), ignore_errors=True)
    message = str(info.value)
    assert message.startswith(f"model.path: {path!r} cannot be read on {lacks} (pid ")
    assert "FileNotFoundError: no such folder" in message and has not in message
    assert seconds < 120
    assert not os.path.exists(out)  # nothing written, no row marked as an error
    print(f"\none error after {seconds:.1f} s: {message}")


def test_model_unloadable_in_tasks_fails_the_job_with_the_path_and_executor(
    cluster, tiny_checkpoint, tmp_path, monkeypatch
):
    """An executor that cannot load the model after the preflight passed (one that joined later; the preflight
    is switched off here to stand for it): its tasks fail, Spark retries them and gives up, and the job's driver
    turns the failure into one line naming the path and the executor. Nothing is written. The folder is
    ``/proc/self/cwd/<name>``: the driver loads it from its own working folder, the executors have none."""
    from gliner2_udf.config import from_dict
    from gliner2_udf.spark import preflight, run

    name = f"gliner2-model-{uuid.uuid4().hex[:8]}"
    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_checkpoint, tmp_path / name)
    path = f"/proc/self/cwd/{name}"
    monkeypatch.setattr(preflight, "check_model_path", lambda spark, folder: [])
    out = str(tmp_path / "out")
    cfg = from_dict(
        job_dict(write_parquet(str(tmp_path / "docs.parquet"), docs(4)), out, path, model={"distribution": "path"})
    )
    t0 = time.time()
    with pytest.raises(preflight.ExecutorModelError) as info:
        run(cfg, cluster)
    assert re.match(
        rf"^model.path: cannot load the model from '{re.escape(path)}' on executor \d+ on host \S+ \(pid \d+\): ",
        str(info.value),
    ), str(info.value)
    assert "\n" not in str(info.value)
    assert not glob.glob(os.path.join(out, "_delta_log", "*.json")), os.listdir(out)  # no commit
    assert time.time() - t0 < 120


@pytest.mark.parametrize("setting", ["shipped", "fp32"])
def test_hostile_corpus_through_the_job(cluster, tiny_checkpoint, tmp_path, setting):
    """Null, empty, whitespace, controls, zero-width, combining, RTL, CJK, emoji, HTML, JSON, a 200,000-character
    word, punctuation, random code points, bytes that are not UTF-8, a 1 MB and a 10 MB document."""
    from gliner2_udf.config import from_dict
    from gliner2_udf.spark import run

    items = corpus(big=True)
    inp = write_parquet(str(tmp_path / "hostile.parquet"), items, binary=True)
    cfg = from_dict(job_dict(inp, str(tmp_path / "out"), tiny_checkpoint, setting=setting, arrow_records_per_batch=4))
    summary = run(cfg, cluster)
    from pyspark.sql import functions as F

    out = cluster.read.format("delta").load(cfg.output.path)
    big = F.col("id").isin("doc-1mb", "doc-10mb")
    rows = {r["id"]: r.asDict(recursive=True) for r in out.where(~big).collect()}
    # the big documents' spans: the first and last 300 entities and 50 structure instances (not ~100,000)
    for r in (
        out.where(big)
        .select(
            "id",
            "status",
            "error",
            F.size("entities").alias("n"),
            F.concat(F.slice("entities", 1, 300), F.slice("entities", -300, 300)).alias("entities"),
            F.slice("deal", 1, 50).alias("deal"),
        )
        .collect()
    ):
        rows[r["id"]] = r.asDict(recursive=True)
    assert sorted(rows) == sorted(items) and summary.rows == len(items)
    spans = sum(check_row(items[k], rows[k]) for k in items)
    assert spans > 0
    assert rows["doc-10mb"]["status"] == "truncated"
    assert rows["doc-10mb"]["error"].startswith("text has 10000000 characters; extracted from the first 99")
    assert rows["doc-1mb"]["status"] == "ok" and rows["doc-1mb"]["n"] > 1000
    assert rows["binary-not-utf8"]["status"] == "error" and rows["null"]["status"] == "empty"
    stats = check_table(cluster, cfg.output.path, items)
    assert_exactly_once(stats, items)
    print(f"\nhostile corpus: {len(items)} rows, statuses {summary.status_counts}, {spans} spans checked")
    report(f"none (hostile input, {_runtime(setting)})", f"{len(items)} hostile documents", len(items), stats)


def test_streaming_merge_processes_only_new_documents(cluster, tiny_checkpoint, tmp_path):
    from gliner2_udf.config import from_dict
    from gliner2_udf.spark import run

    inp, out = str(tmp_path / "in"), str(tmp_path / "out")
    first, second = docs(6, "a"), docs(4, "b")
    cluster.createDataFrame(list(first.items()), "id string, text string").coalesce(1).write.format("delta").mode(
        "append"
    ).save(inp)
    cfg = from_dict(
        job_dict(
            inp,
            out,
            tiny_checkpoint,
            fmt="delta",
            stream={"checkpoint": str(tmp_path / "ckpt"), "max_files_per_trigger": 1},
        )
    )
    assert run(cfg, cluster).rows == 6
    again = {**second, "a-000": "a duplicate id, already extracted"}
    cluster.createDataFrame(list(again.items()), "id string, text string").coalesce(1).write.format("delta").mode(
        "append"
    ).save(inp)
    assert run(cfg, cluster).rows == 4  # only the new documents; the duplicate id is skipped
    stats = check_table(cluster, out, {**first, **second})
    assert_exactly_once(stats, {**first, **second})
    assert sorted(f for f in os.listdir(tmp_path / "ckpt" / "commits") if not f.startswith(".")) == ["0", "1"]


# --------------------------------------------------------------------------------------------
# the driver: spark-submit, SIGKILLed with its whole process group


def submit(config: dict, tmp, name: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    cfg_file = os.path.join(tmp, "job.yaml")
    with open(cfg_file, "w") as fh:
        yaml.safe_dump(config, fh)
    log = os.path.join(tmp, f"{name}.log")
    full_env = {
        **os.environ,
        "SPARK_CONF_DIR": os.path.join(ROOT, "conf", "spark"),
        "PYSPARK_PYTHON": sys.executable,
        "HF_HUB_OFFLINE": "1",
        "SPARK_LOCAL_IP": "127.0.0.1",
        **(env or {}),
    }
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [SPARK_SUBMIT, "--master", "local[1]", os.path.join(ROOT, "jobs", "extract.py"), "--config", cfg_file],
            cwd=ROOT,
            env=full_env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, log


def kill_driver(proc: subprocess.Popen) -> None:
    assert os.getpgid(proc.pid) == proc.pid  # its own process group: the driver JVM, Python and its workers
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


def finish(proc: subprocess.Popen, log: str, timeout: float = 420) -> str:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"the re-run did not finish in {timeout} s\n{_tail(log)}")
    assert proc.returncode == 0, _tail(log)
    return _tail(log, 100_000)


def _marked(folder: str, name: str):
    return os.path.exists(os.path.join(folder, name))


def kill_at_pause(config: dict, tmp, name: str, marks: str, pause: str, what: str) -> None:
    """Submit the job paused at fault point ``pause`` (``fault_injection.py``), wait until it is there,
    SIGKILL the driver."""
    proc, log = submit(config, tmp, name, {"GLINER2_UDF_FAULT_MARKS": marks, "GLINER2_UDF_FAULT_PAUSE": pause})
    wait_for(lambda: _marked(marks, f"paused-{pause}"), 300, proc, what, log)
    kill_driver(proc)


def test_driver_killed_before_first_write_between_commits_and_after_last_commit(cluster, tiny_checkpoint, tmp_path):
    """24 documents in 3 merge commits (``output.commit_every: 8``). The same command is started four times:
    killed before its first write, killed while the second commit's documents are being extracted, killed
    right after the last commit, then left to finish. After every kill: no id twice, the log readable."""
    items = docs(24)
    out = str(tmp_path / "out")
    config = job_dict(
        write_parquet(str(tmp_path / "docs.parquet"), items), out, tiny_checkpoint, output={"commit_every": 8}
    )
    figures = []

    # 1. before the first write
    kill_at_pause(
        config, tmp_path, "run1", str(tmp_path / "m1"), "before_first_write", "the pause before the first write"
    )
    s1 = check_table(cluster, out, items)
    assert s1["rows"] == 0 and s1["commits"] == 0
    figures.append(("driver SIGKILLed before the first write", s1))

    # 2. between two commits: after commit 0, while a worker extracts the next part
    m2 = str(tmp_path / "m2")
    proc, log = submit(
        config, tmp_path, "run2", {"GLINER2_UDF_FAULT_MARKS": m2, "GLINER2_UDF_FAULT_BATCH_SLEEP": "0.5"}
    )
    wait_for(lambda: _marked(m2, "commit-0"), 300, proc, "the first commit", log)
    first_commit = os.path.getmtime(os.path.join(m2, "commit-0"))
    wait_for(lambda: worker_markers(m2, first_commit), 120, proc, "a worker extracting the second part", log)
    time.sleep(0.3)
    assert not _marked(m2, "commit-1")
    kill_driver(proc)
    s2 = check_table(cluster, out, items)
    assert s2["duplicates"] == 0 and 0 < s2["rows"] < len(items) and s2["commits"] == 1
    figures.append(("driver SIGKILLed between two commits (mid-extraction)", s2))

    # 3. right after the last commit
    kill_at_pause(
        config, tmp_path, "run3", str(tmp_path / "m3"), "after_last_commit", "the pause after the last commit"
    )
    s3 = check_table(cluster, out, items)
    assert_exactly_once(s3, items)
    assert s3["commits"] >= 2  # the killed part was redone once, in the remaining commits
    figures.append(("driver SIGKILLed right after the last commit", s3))

    # 4. the same command, left alone: nothing left to do, nothing written twice
    proc, log = submit(config, tmp_path, "run4")
    text = finish(proc, log)
    assert "rows written:  0 " in text
    s4 = check_table(cluster, out, items)
    assert_exactly_once(s4, items)
    assert s4["commits"] == s3["commits"]
    figures.append(("(re-run after the three kills)", s4))
    for fault, stats in figures:
        report(fault, "24 documents, commit_every 8", len(items), stats)


def test_streaming_killed_between_output_and_checkpoint_commit_resumes_without_duplicates(
    cluster, tiny_checkpoint, tmp_path
):
    """Append mode (Delta txnAppId/txnVersion): the run is killed after micro-batch 0 is in the table but before
    the checkpoint marks it done; the re-run replays batch 0, which Delta skips, and finishes."""
    inp, out, ckpt = str(tmp_path / "in"), str(tmp_path / "out"), str(tmp_path / "ckpt")
    items = docs(18)
    chunked = list(items.items())
    for i in range(0, 18, 6):
        cluster.createDataFrame(chunked[i : i + 6], "id string, text string").coalesce(1).write.format("delta").mode(
            "append"
        ).save(inp)
    config = job_dict(
        inp,
        out,
        tiny_checkpoint,
        fmt="delta",
        output={"mode": "append"},
        stream={"checkpoint": ckpt, "max_files_per_trigger": 1},
    )
    kill_at_pause(config, tmp_path, "stream1", str(tmp_path / "marks"), "between_commits", "micro-batch 0's commit")
    s1 = check_table(cluster, out, items)
    assert s1["rows"] == 6 and s1["duplicates"] == 0
    assert os.path.exists(os.path.join(ckpt, "offsets", "0")) and not os.path.exists(os.path.join(ckpt, "commits", "0"))
    proc, log = submit(config, tmp_path, "stream2")
    finish(proc, log)
    s2 = check_table(cluster, out, items)
    assert_exactly_once(s2, items)
    assert s2["commits"] == 3  # the replayed micro-batch 0 was skipped by its txnVersion
    assert sorted(t["version"] for t in s2["txns"]) == [0, 1, 2] and len({t["appId"] for t in s2["txns"]}) == 1
    assert sorted(f for f in os.listdir(os.path.join(ckpt, "commits")) if not f.startswith(".")) == ["0", "1", "2"]
    report(
        "streaming driver SIGKILLed after a micro-batch commit, before its checkpoint",
        "18 documents, 3 input files",
        len(items),
        s1,
    )
    report("(streaming re-run from the checkpoint)", "18 documents, 3 input files", len(items), s2)


# --------------------------------------------------------------------------------------------
# Python workers that die on a document: local masters retry, and a document that kills every attempt is isolated

CRASH = "CRASH-ME"  # the fault hook SIGKILLs a Python worker whose batch holds a text with this


def _rows(session, out: str) -> dict:
    return {r["id"]: r for r in session.read.format("delta").load(out).select("id", "status", "error").collect()}


def test_local_master_retries_a_python_worker_that_was_killed(cluster, tiny_checkpoint, tmp_path):
    """``spark-submit --master local[1]`` (a local master, as ``make run`` and the README's cron line use): Spark
    gives a local task one attempt unless the master says more; ours becomes ``local[1,4]``, so the task whose
    worker was SIGKILLed once is retried and the job finishes with every row."""
    items = docs(8)
    items["doc-003"] += f" {CRASH}"
    out = str(tmp_path / "out")
    config = job_dict(write_parquet(str(tmp_path / "docs.parquet"), items), out, tiny_checkpoint)
    once = str(tmp_path / "once")
    proc, log = submit(
        config, str(tmp_path), "once", {"GLINER2_UDF_FAULT_CRASH_TEXT": CRASH, "GLINER2_UDF_FAULT_CRASH_ONCE": once}
    )
    finish(proc, log)
    assert os.path.exists(os.path.join(once, "crashed"))  # a worker did die on it
    rows = _rows(cluster, out)
    assert set(rows) == set(items) and {r["status"] for r in rows.values()} == {"ok"}
    stats = check_table(cluster, out, items)
    assert_exactly_once(stats, items)
    report("Python worker SIGKILLed once on a local master (local[1])", "8 documents", 8, stats)


def test_a_document_that_kills_its_worker_on_every_attempt_becomes_an_error_row(cluster, tiny_checkpoint, tmp_path):
    """A document whose Python worker dies on every attempt (the hook stands for a native crash or the OOM killer):
    the job narrows the failure down to it, writes it with status ``error`` and the rest as usual; a re-run skips it;
    ``output.retry_errors`` extracts it again."""
    from gliner2_udf.spark.isolate import MESSAGE

    items = docs(8)
    items["doc-005"] += f" {CRASH}"
    out = str(tmp_path / "out")
    config = job_dict(write_parquet(str(tmp_path / "docs.parquet"), items), out, tiny_checkpoint)
    crash = {"GLINER2_UDF_FAULT_CRASH_TEXT": CRASH}
    proc, log = submit(config, str(tmp_path), "poison", crash)
    text = finish(proc, log, timeout=600)
    rows = _rows(cluster, out)
    assert set(rows) == set(items)
    assert (rows["doc-005"]["status"], rows["doc-005"]["error"]) == ("error", MESSAGE.format(attempts="4 attempts"))
    assert all(rows[k]["status"] == "ok" and rows[k]["error"] is None for k in rows if k != "doc-005")
    assert "status:        error=1, ok=7" in text
    stats = check_table(cluster, out, items)
    assert_exactly_once(stats, items)
    report("a document that SIGKILLs its Python worker on every attempt", "8 documents", 8, stats)
    proc, log = submit(config, str(tmp_path), "rerun", crash)
    assert "rows written:  0 " in finish(proc, log)  # merge mode skips it like any row already written
    config["output"]["retry_errors"] = True
    proc, log = submit(config, str(tmp_path), "retry")  # no crash this time
    assert "status:        ok=1" in finish(proc, log)
    rows = _rows(cluster, out)
    assert set(rows) == set(items) and {r["status"] for r in rows.values()} == {"ok"}
    assert cluster.read.format("delta").load(out).count() == len(items)


def _peak_rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return int(re.search(r"VmHWM:\s+(\d+) kB", fh.read()).group(1)) * 1024
    except OSError:
        return None


def test_a_whole_10mb_document_through_a_python_worker_on_the_shipped_setting(
    cluster, tiny_checkpoint, marks, tmp_path
):
    """A 10 MB document, not cut (``max_chars`` 20,000,000), through the job on the shipped setting at the default
    threshold 0.5: one row, status ``ok``, the whole text read, and the Python worker's peak memory bounded by its
    answers (each window resolves its own candidates; the random tiny model finds about one entity per word)."""
    from hostile import MB, _words
    from pyspark.sql import functions as F

    from gliner2_udf.config import from_dict
    from gliner2_udf.spark import run

    started = time.time()
    items = {"doc-10mb": _words(10 * MB, seed=10)}
    inp = write_parquet(str(tmp_path / "big.parquet"), items)
    cfg = from_dict(job_dict(inp, str(tmp_path / "out"), tiny_checkpoint, max_chars=20_000_000))
    summary = run(cfg, cluster)
    row = cluster.read.format("delta").load(cfg.output.path).select("status", F.size("entities").alias("n")).first()
    assert summary.rows == 1 and row["status"] == "ok" and row["n"] > 1_000_000
    workers = [
        int(name.split("-")[1])
        for name in os.listdir(marks)
        if name.startswith("worker-") and os.path.getmtime(os.path.join(marks, name)) >= started
    ]
    peaks = [p for p in map(_peak_rss, workers) if p is not None]
    assert peaks, workers
    print(f"\n10 MB document: {row['n']} entities, Python worker peak RSS {max(peaks) / 2**20:.0f} MiB")
    assert max(peaks) < 3 * 2**30
