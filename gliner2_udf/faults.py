"""Test-only fault-injection points. Inert (one environment lookup) unless the variables below are set.

The reliability tests (``tests/test_faults.py``) kill real processes at known moments; these hooks tell
them when a moment has come and hold the process there until it is killed:

* ``GLINER2_FAULT_MARKS=<folder>``: the driver writes ``<folder>/<point>`` when it reaches a point
  (``before_first_write``, ``commit-<n>`` after each output commit, ``after_last_commit``); a Python
  worker writes ``<folder>/worker-<pid>`` before each batch it extracts (its pid, for a kill).
* ``GLINER2_FAULT_PAUSE=<point>``: the driver sleeps at that point (``before_first_write``,
  ``between_commits`` = after the first commit that is not the last, ``after_last_commit``) for up to
  ``GLINER2_FAULT_PAUSE_S`` seconds (default 300), so that a test can SIGKILL it there.
* ``GLINER2_FAULT_BATCH_SLEEP=<seconds>``: a Python worker sleeps that long before each batch, so that a
  test can find and kill it while it is extracting.

Workers see these variables through ``spark.executorEnv.*`` (or the environment on local masters).
"""
from __future__ import annotations

import os
import time

MARKS_ENV = "GLINER2_FAULT_MARKS"
PAUSE_ENV = "GLINER2_FAULT_PAUSE"
PAUSE_SECONDS_ENV = "GLINER2_FAULT_PAUSE_S"
BATCH_SLEEP_ENV = "GLINER2_FAULT_BATCH_SLEEP"
POINTS = ("before_first_write", "between_commits", "after_last_commit")


def _mark(name: str) -> None:
    folder = os.environ.get(MARKS_ENV)
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()}\n")
    os.replace(tmp, os.path.join(folder, name))   # a reader never sees a half-written marker


def _pause(point: str) -> None:
    if os.environ.get(PAUSE_ENV) == point:
        _mark(f"paused-{point}")
        time.sleep(float(os.environ.get(PAUSE_SECONDS_ENV, "300")))


def before_first_write() -> None:
    _mark("before_first_write")
    _pause("before_first_write")


def after_commit(n: int, last: bool) -> None:
    """After the ``n``-th output commit of this run (0-based); ``last`` when no commit follows."""
    _mark(f"commit-{n}")
    if last:
        after_last_commit()
    else:
        _pause("between_commits")


def after_last_commit() -> None:
    """After the run's last output commit, before it reports."""
    _mark("after_last_commit")
    _pause("after_last_commit")


def worker_batch() -> None:
    """In a Python worker, before it extracts a batch."""
    if os.environ.get(MARKS_ENV):
        _mark(f"worker-{os.getpid()}")
    seconds = os.environ.get(BATCH_SLEEP_ENV)
    if seconds:
        time.sleep(float(seconds))
