"""TEST-ONLY fault injection. Inert unless ``GLINER2_UDF_FAULT_*`` variables are set: without them each
call only looks the variables up and returns. Nothing in a production run sets them.

The reliability tests (``tests/test_faults.py``) kill real processes at known moments; the job calls
:func:`reached` at each moment, which tells the tests that it has come and holds the process there
until it is killed:

* ``GLINER2_UDF_FAULT_MARKS=<folder>``: the driver writes ``<folder>/<point>`` when it reaches a point
  (``before_first_write``, ``commit-<n>`` after each output commit, ``after_last_commit``); a Python
  worker writes ``<folder>/worker-<pid>`` before each batch it extracts (its pid, for a kill).
* ``GLINER2_UDF_FAULT_PAUSE=<point>``: the driver sleeps at that point (``before_first_write``,
  ``between_commits`` = after the first commit that is not the last, ``after_last_commit``) for up to
  ``GLINER2_UDF_FAULT_PAUSE_S`` seconds (default 300), so that a test can SIGKILL it there.
* ``GLINER2_UDF_FAULT_BATCH_SLEEP=<seconds>``: a Python worker sleeps that long before each batch, so that
  a test can find and kill it while it is extracting.
* ``GLINER2_UDF_FAULT_CRASH_TEXT=<marker>``: a Python worker SIGKILLs itself before it extracts a batch holding
  a text that contains the marker (as a native crash or the out-of-memory killer would end it). With
  ``GLINER2_UDF_FAULT_CRASH_ONCE=<folder>`` only the first worker that meets it dies (it leaves
  ``<folder>/crashed`` behind), so a retry succeeds.

Workers see these variables through ``spark.executorEnv.*`` (or the environment on local masters).

The points, one call each::

    reached("before_first_write")          # driver, before the first output write
    reached("commit", n, last=...)         # driver, after the n-th (0-based) output commit of this run
    reached("after_last_commit")           # driver, after the run's last commit (streaming: after the query)
    reached("worker_batch")                # Python worker, before it extracts a batch
    crash_if_marked(texts)                 # Python worker, before it extracts a batch
"""

from __future__ import annotations

import os
import time

MARKS_ENV = "GLINER2_UDF_FAULT_MARKS"
PAUSE_ENV = "GLINER2_UDF_FAULT_PAUSE"
PAUSE_SECONDS_ENV = "GLINER2_UDF_FAULT_PAUSE_S"
BATCH_SLEEP_ENV = "GLINER2_UDF_FAULT_BATCH_SLEEP"
CRASH_TEXT_ENV = "GLINER2_UDF_FAULT_CRASH_TEXT"
CRASH_ONCE_ENV = "GLINER2_UDF_FAULT_CRASH_ONCE"
POINTS = ("before_first_write", "between_commits", "after_last_commit")  # where PAUSE_ENV may pause
CALLS = ("before_first_write", "commit", "after_last_commit", "worker_batch")  # what reached() accepts


def reached(point: str, n: int = 0, last: bool = False) -> None:
    """The job has reached ``point`` (one of :data:`CALLS`); for ``commit``, ``n`` is the commit's number
    in this run (0-based) and ``last`` says that no commit follows it."""
    if point == "before_first_write":
        _mark("before_first_write")
        _pause("before_first_write")
    elif point == "commit":
        _mark(f"commit-{n}")
        if last:
            reached("after_last_commit")
        else:
            _pause("between_commits")
    elif point == "after_last_commit":
        _mark("after_last_commit")
        _pause("after_last_commit")
    elif point == "worker_batch":
        if os.environ.get(MARKS_ENV):
            _mark(f"worker-{os.getpid()}")
        seconds = os.environ.get(BATCH_SLEEP_ENV)
        if seconds:
            time.sleep(float(seconds))
    else:
        raise ValueError(f"unknown fault point {point!r}; expected one of {CALLS}")


def crash_if_marked(texts) -> None:
    """SIGKILL this process if one of ``texts`` (str, bytes or None) contains ``$GLINER2_UDF_FAULT_CRASH_TEXT``."""
    marker = os.environ.get(CRASH_TEXT_ENV)
    if not marker:
        return
    needle = marker.encode("utf-8")
    hit = any(
        t is not None and (needle in bytes(t) if isinstance(t, (bytes, bytearray, memoryview)) else marker in t)
        for t in texts
    )
    once = os.environ.get(CRASH_ONCE_ENV)
    if hit and once:
        os.makedirs(once, exist_ok=True)
        try:
            os.close(os.open(os.path.join(once, "crashed"), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
    if hit:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _mark(name: str) -> None:
    folder = os.environ.get(MARKS_ENV)
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()}\n")
    os.replace(tmp, os.path.join(folder, name))  # a reader never sees a half-written marker


def _pause(point: str) -> None:
    if os.environ.get(PAUSE_ENV) == point:
        _mark(f"paused-{point}")
        time.sleep(float(os.environ.get(PAUSE_SECONDS_ENV, "300")))
