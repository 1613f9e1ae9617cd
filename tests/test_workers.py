"""set_workers: forked single-threaded workers give the in-process results, in the caller's order."""

import os
import time

import pytest
from schemas import small_schema

from gliner2_udf import GLiNER2

WORDS = (
    "Apple CEO Tim Cook announced the iPhone in Cupertino on Tuesday for $799 and Acme paid "
    "five dollars to Maria Lopez in Berlin before the deal closed"
).split()
TEXTS = [" ".join(WORDS[: 3 + (7 * i) % len(WORDS)]) for i in range(23)] + ["", None, "   "]


def flatten(value, path=""):
    """(path, leaf) pairs of a result, confidences apart so they can be compared with a tolerance."""
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in flatten(value[k], f"{path}/{k}")]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in flatten(v, f"{path}[{i}]")]
    return [(path, value)]


def assert_same(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        g, e = flatten(g), flatten(e)
        assert [p for p, _ in g] == [p for p, _ in e]
        for (path, a), (_, b) in zip(g, e):
            if path.endswith("confidence"):
                assert a == pytest.approx(b, abs=1e-4), path
            else:
                assert a == b, path


# int8 quantizes activations with one scale per batch, so a borderline span can move with its batch-mates:
# int8 is compared one text per batch, fp32 (batch-invariant) with batches that differ between the two runs
@pytest.mark.parametrize("precision,backend,batch_size", [("fp32", "torch", 4), ("int8", "onnx", 1)])
def test_workers_give_the_in_process_results(tiny_checkpoint, tmp_path, monkeypatch, precision, backend, batch_size):
    monkeypatch.setenv("GLINER2_UDF_CACHE", str(tmp_path / "cache"))
    model = GLiNER2.from_pretrained(tiny_checkpoint, precision=precision, backend=backend)
    kw = dict(batch_size=batch_size, threshold=0.3, include_confidence=True, include_spans=True)
    expected = model.batch_extract(TEXTS, small_schema(), **kw)
    model.set_workers(2)
    try:
        assert_same(model.batch_extract(TEXTS, small_schema(), **kw), expected)
        assert_same(model.batch_extract(TEXTS[::-1], small_schema(), **kw), expected[::-1])
    finally:
        model.set_workers(1)


def test_lite_workers_start_right_after_loading(tiny_checkpoint, tmp_path, monkeypatch):
    """Each worker replaces the ONNX Runtime sessions it inherited with one-thread ones; destroying the
    inherited ones hung the worker for good (their pool threads do not survive a fork)."""
    monkeypatch.setenv("GLINER2_UDF_CACHE", str(tmp_path / "cache"))
    model = GLiNER2.from_pretrained(tiny_checkpoint, precision="int8", backend="onnx")
    model.set_threads(2)
    time.sleep(1)  # the sessions' pool threads have reached the wait on their condition variable
    model.set_workers(2)
    try:
        pids = model._workers._pool.map_async(_pid, range(8), chunksize=1).get(timeout=120)
        assert os.getpid() not in pids
        assert model.batch_extract(TEXTS, small_schema())[0].keys() == {"entities", "sentiment", "deal"}
    finally:
        model.set_workers(1)


def test_set_workers_1_stops_the_processes(tiny_checkpoint):
    model = GLiNER2.from_pretrained(tiny_checkpoint)
    model.set_workers(2)
    pids = [p.pid for p in model._workers._pool._pool]
    assert len(pids) == 2 and all(pid != os.getpid() for pid in pids)
    model.set_workers(1)
    assert model._workers is None
    assert not any(_alive(pid) for pid in pids)  # terminated and reaped
    assert model.batch_extract(["Tim Cook runs Apple."], small_schema())[0].keys() == {"entities", "sentiment", "deal"}


def _pid(_) -> int:
    return os.getpid()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
