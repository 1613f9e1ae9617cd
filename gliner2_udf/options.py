"""``ExtractOptions``: how documents are extracted, one object from the job configuration (or a notebook,
or ``GLiNER2.batch_extract``'s arguments) to the UDF and the model. The one home of these defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExtractOptions:
    batch_size: int = 8  # windows per forward pass (the shipped job, conf/local.yaml, runs 4)
    threshold: float = 0.5  # span and label probability, unless a schema field sets its own
    max_chars: int = 1_000_000  # longer documents are cut to this length, status "truncated" (the job)
    threads: int | None = None  # threads per Spark task; None: spark.task.cpus (the job)


DEFAULTS = ExtractOptions()
