"""Checks that run on the executors before any extraction, and clear driver errors for executor faults.

``model.distribution: path`` needs the checkpoint folder on every executor. ``check_model_path`` runs one
tiny task per executor slot (the first wave of a job fills every free slot, so every registered
executor gets one) that hashes every file of the folder; a folder that is missing, unreadable or holds
other files than the driver verified (its manifest: weights, configuration, tokenizer) fails the job
once, before any row is read, with the path and the executor in the message. An executor that joins
later and cannot load the model fails its tasks with the same kind of message
(``udf.ModelUnavailableError``); ``raise_model_error`` turns that job failure into the same driver error.

Example::

    check_model_path(spark, "/mnt/models/gliner2")     # raises ExecutorModelError or returns the executors
"""

from __future__ import annotations

import re

from ..errors import ExecutorModelError
from .udf import UNAVAILABLE


def _probe(path: str, manifest: dict[str, str]):
    def probe(_):
        import os

        from ..identity import manifest_problems
        from .udf import executor_identity

        who = executor_identity()
        try:
            if not os.path.isdir(path):
                raise FileNotFoundError(f"no such folder: {path!r}")
            with open(os.path.join(path, "config.json"), "rb") as fh:
                fh.read(1)
            problems = manifest_problems(path, manifest)
            if problems:
                raise ValueError(f"its files differ from the driver's: {'; '.join(problems)}")
            yield who, None
        except Exception as err:  # reported to the driver, which raises once
            yield who, f"{type(err).__name__}: {err}"

    return probe


def check_model_path(spark, path: str) -> list[str]:
    """Raise :class:`ExecutorModelError` unless every executor reads the same checkpoint at ``path``."""
    from ..identity import folder_manifest

    sc = spark.sparkContext
    slots = max(1, sc.defaultParallelism)
    sc.setJobDescription(f"gliner2: check the model folder on every executor ({path})")
    try:
        results = sc.parallelize(range(slots), slots).mapPartitions(_probe(path, folder_manifest(path))).collect()
    finally:
        sc.setJobDescription(None)
    failed = [(who, err) for who, err in results if err is not None]
    if failed:
        who, err = failed[0]
        others = f" ({len(failed) - 1} more tasks failed alike)" if len(failed) > 1 else ""
        raise ExecutorModelError(
            f"{path!r} cannot be read on {who}: {err}{others}; every executor needs the "
            "checkpoint folder at this path (or use model.distribution 'broadcast')"
        )
    return sorted({who for who, _ in results})


def raise_model_error(err: BaseException) -> None:
    """If ``err`` (a failed Spark job) comes from a task that could not load its model, raise the driver's
    :class:`ExecutorModelError` instead; otherwise return."""
    m = re.search(re.escape(UNAVAILABLE) + r": (.*)", str(err))
    if m:
        raise ExecutorModelError(m.group(1).strip()) from None
