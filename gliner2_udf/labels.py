"""Long label lists: never ask a model more labels in one pass than its training covered.

A model trained with at most 25 entity types and 20 classification labels per example has never seen label
position 21: asked 77 intents at once, our default model gave every text the same label. A checkpoint's
``train_config.json`` (written by our trainer) records those caps, ``LabelLimits``; upstream checkpoints record
none and run as the reference does.

Within the limits a schema runs as it is. Beyond them:

* **entity types** are asked in groups of at most ``entities``; each type is scored by its own sigmoid and its
  overlaps are resolved per type, so the groups' answers are simply united;
* **multi-label classification** labels are asked in groups the same way: independent sigmoids, one threshold;
* **single-label classification** is a tournament: the labels in balanced groups of at most ``classification``,
  the best ``max(1, classification // groups)`` of each group go on, and the finalists (at most one pass's
  worth; more rounds if there are more) are asked together in one softmax, whose scores are the answer's
  confidences. Only the final round's softmax compares labels directly, so the answer is always a choice among
  labels the model saw side by side.

Structures and relations ride with the first group of entity types.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace

import numpy as np

from .schema import ClassificationSpec, CompiledSchema

TRAIN_CONFIG = "train_config.json"


@dataclass(frozen=True)
class LabelLimits:
    """The most entity types and classification labels one pass asks (None: no limit)."""

    entities: int | None = None
    classification: int | None = None


NO_LIMITS = LabelLimits()


def read_limits(folder: str) -> LabelLimits:
    """What the checkpoint's training covered: the largest ``augment.max_entity_labels`` and ``max_cls_labels`` of
    its ``train_config.json`` stages (our trainer's record); ``NO_LIMITS`` without one (upstream checkpoints).
    A top-level ``label_limits`` (``{"entities": 25, "classification": 20}``) overrides them: smaller passes that
    measured better (the default model trained with 100 labels but answers 77 intents better in a tournament of
    20s)."""
    path = os.path.join(folder, TRAIN_CONFIG)
    if not os.path.isfile(path):
        return NO_LIMITS
    with open(path, encoding="utf-8") as fh:
        cfg = json.load(fh)
    stages = cfg.get("stages", [cfg]) if isinstance(cfg, dict) else []
    augments = [s.get("augment") or {} for s in stages if isinstance(s, dict)]

    def most(key: str) -> int | None:
        values = [a[key] for a in augments if isinstance(a.get(key), int) and a[key] > 0]
        return max(values) if values else None

    chosen = cfg.get("label_limits") if isinstance(cfg, dict) else None
    if isinstance(chosen, dict):  # limits chosen by measurement, within what the stages covered
        return LabelLimits(chosen.get("entities"), chosen.get("classification"))
    return LabelLimits(most("max_entity_labels"), most("max_cls_labels"))


def groups(items: tuple, cap: int | None) -> list[tuple]:
    """``items`` in order, cut into the fewest groups of at most ``cap``, as even as they can be."""
    if not items:
        return []
    if cap is None or len(items) <= cap:
        return [tuple(items)]
    n = -(-len(items) // cap)
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for k in range(n):
        end = start + size + (1 if k < extra else 0)
        out.append(tuple(items[start:end]))
        start = end
    return out


def with_labels(task: ClassificationSpec, labels: tuple[str, ...]) -> ClassificationSpec:
    keep = set(labels)
    return replace(task, labels=labels, label_descriptions=tuple(d for d in task.label_descriptions if d[0] in keep))


def within(compiled: CompiledSchema, limits: LabelLimits) -> bool:
    return (limits.entities is None or len(compiled.entities) <= limits.entities) and (
        limits.classification is None or all(len(c.labels) <= limits.classification for c in compiled.classifications)
    )


def first_round(compiled: CompiledSchema, limits: LabelLimits) -> list[CompiledSchema]:
    """The schemas that ask every entity type and every label once, each within ``limits``: group ``k`` holds the
    ``k``-th group of entity types and of each task's labels; structures and relations go with the first."""
    if within(compiled, limits):
        return [compiled]
    ents = groups(compiled.entities, limits.entities)
    labels = {c.name: groups(c.labels, limits.classification) for c in compiled.classifications}
    n = max([len(ents), *map(len, labels.values())])
    out = []
    for k in range(n):
        part = replace(
            compiled,
            entities=ents[k] if k < len(ents) else (),
            classifications=tuple(
                with_labels(c, labels[c.name][k]) for c in compiled.classifications if k < len(labels[c.name])
            ),
            structures=compiled.structures if k == 0 else (),
            relations=compiled.relations if k == 0 else (),
            schema_hash=f"{compiled.schema_hash}.labels{k}",
        )
        if part.entities or part.classifications or part.structures or part.relations:
            out.append(part)
    return out


def tournaments(compiled: CompiledSchema, limits: LabelLimits) -> list[ClassificationSpec]:
    """The single-label tasks with more labels than one pass may ask."""
    cap = limits.classification
    return [c for c in compiled.classifications if not c.multi_label and cap is not None and len(c.labels) > cap]


def advancing(probs: np.ndarray, sizes: list[int], cap: int) -> list[int]:
    """The positions (into the concatenated groups) that go on: the best ``max(1, cap // groups)`` of each group
    by its own softmax, in label order."""
    per_group = max(1, cap // len(sizes))
    out, start = [], 0
    for size in sizes:
        block = probs[start : start + size]
        best = np.argsort(-block, kind="stable")[:per_group]
        out += sorted(int(start + i) for i in best)
        start += size
    return out


def round_schema(compiled: CompiledSchema, task: ClassificationSpec, labels: tuple[str, ...]) -> CompiledSchema:
    """A schema asking only ``task`` over ``labels`` (a later round of its tournament)."""
    key = hashlib.sha256("\x00".join((compiled.schema_hash, task.name, *labels)).encode()).hexdigest()[:16]
    return replace(
        compiled,
        entities=(),
        classifications=(with_labels(task, labels),),
        structures=(),
        relations=(),
        schema_hash=f"{compiled.schema_hash}.round.{key}",
    )
