"""A training record -> one model input with gold targets, with the augmentations of spec section 7.

Each draw samples a schema from the record: entity types shuffled (the first baseline learned label
*positions* because they never moved), some negative types dropped, label lists capped; classification
labels shuffled and partly dropped (true labels kept); structure fields shuffled; task order shuffled.
Character spans become (start word, width) on the same word splitter inference uses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..decoding import choice_positions
from ..model.heads import MAX_INSTANCES
from ..processor import Encoded, Processor, SchemaTokens
from ..schema import Schema, compile_schema
from ..text import normalize, split_words


@dataclass
class SpanTarget:
    """Gold for one span task: its count and, per instance k and child m, gold (start word, width)."""

    prompt_pos: int
    child_pos: tuple[int, ...]
    count: int
    gold: list[tuple[int, int, int, int]] = field(default_factory=list)  # (k, m, start word, width)
    always_query: bool = False  # entities: score instance 0 even when nothing is present (negatives)


@dataclass
class Example:
    encoded: Encoded
    span_tasks: list[SpanTarget]
    cls_tasks: list[tuple[tuple[int, ...], list[float]]]  # (label marker positions, multi-hot targets)


@dataclass
class Augment:
    max_words: int = 128
    max_entity_labels: int = 25
    max_cls_labels: int = 20
    drop_negative_entity: float = 0.3
    drop_cls_label: float = 0.3
    shuffle_tasks: float = 0.5
    use_descriptions: float = 0.5
    max_width: int = 8
    max_tokens: int = 512  # the encoder's positions: a longer example (a long label list) is skipped


class SpanMapper:
    """Character spans -> (first word, width) on a text's words (None if it does not fit)."""

    def __init__(self, starts: list[int], ends: list[int], max_words: int, max_width: int):
        self.starts, self.ends, self.n, self.max_width = starts, ends, min(len(starts), max_words), max_width

    def __call__(self, span) -> tuple[int, int] | None:
        s, e = span
        first = next((i for i in range(self.n) if self.ends[i] > s), None)
        if first is None or self.starts[first] >= e:
            return None
        last = first
        while last + 1 < self.n and self.starts[last + 1] < e:
            last += 1
        if last + 1 >= self.n and self.ends[last] < e and self.n < len(self.starts):
            return None  # cut by the word cap
        width = last - first
        return (first, width) if width < self.max_width else None


def build_example(rec: dict, processor: Processor, rng: random.Random, aug: Augment) -> Example | None:
    text = normalize(rec["text"])
    words = split_words(text)
    if not len(words):
        return None
    mapper = SpanMapper(words.starts, words.ends, aug.max_words, aug.max_width)
    schema = Schema()
    golds: dict[str, object] = {}
    use_desc = rng.random() < aug.use_descriptions

    # entities: shuffle, drop some negatives, cap
    ents = dict(rec.get("entities") or {})
    if ents:
        positives = [t for t, v in ents.items() if v]
        negatives = [t for t, v in ents.items() if not v and rng.random() >= aug.drop_negative_entity]
        rng.shuffle(negatives)
        types = positives[: aug.max_entity_labels] + negatives[: max(0, aug.max_entity_labels - len(positives))]
        rng.shuffle(types)
        if types:
            descs = rec.get("entity_descriptions") or {}
            schema.entities({t: (descs.get(t) if use_desc else None) for t in types})
            golds["entities"] = [[mapper(sp) for sp in ents[t]] for t in types]

    for st in rec.get("structures") or []:
        fields = list(st["fields"])
        rng.shuffle(fields)
        choices = st.get("choices") or {}
        b = schema.structure(st["name"])
        for f in fields:
            b.field(f, dtype="list", choices=choices.get(f))
        golds[st["name"]] = (fields, choices, st.get("instances") or [])

    for rel in rec.get("relations") or []:
        schema.relations([rel["name"]])
        golds[rel["name"]] = rel.get("pairs") or []

    for c in rec.get("classifications") or []:
        true = set(c["true"])
        labels = [label for label in c["labels"] if label in true or rng.random() >= aug.drop_cls_label]
        rng.shuffle(labels)
        labels = labels[: aug.max_cls_labels]
        for t in true:
            if t not in labels:
                labels[rng.randrange(len(labels)) if labels else 0 : 0] = [t]
        if len(labels) < 2 or c["task"] in golds:
            continue
        schema.classification(c["task"], labels, multi_label=bool(c.get("multi_label")))
        golds[c["task"]] = [1.0 if label in true else 0.0 for label in labels]

    try:
        compiled = compile_schema(schema)
    except ValueError:
        return None
    st_tokens = processor.schema_tokens(compiled)
    if rng.random() < aug.shuffle_tasks:
        st_tokens = _shuffled(processor, compiled, st_tokens, rng)
    encoded = processor.encode_with(st_tokens, words.tokens[: aug.max_words], max_word_tokens=16)
    if len(encoded.ids) > aug.max_tokens:
        return None
    n_prefix = encoded.n_prefix

    span_tasks, cls_tasks = [], []
    for slot in st_tokens.tasks:
        gold = golds[slot.name] if slot.kind != "entities" else golds["entities"]
        if slot.kind == "classification":
            cls_tasks.append((slot.child_pos, gold))
        elif slot.kind == "entities":
            t = SpanTarget(slot.prompt_pos, slot.child_pos, 0, always_query=True)
            for m, spans in enumerate(gold):
                for ws in spans:
                    if ws is not None:
                        t.gold.append((0, m, ws[0] + n_prefix, ws[1]))
            t.count = 1 if t.gold else 0
            span_tasks.append(t)
        elif slot.kind == "relation":
            pairs = sorted(gold, key=lambda p: (p[0][0], p[1][0]))[:MAX_INSTANCES]
            t = SpanTarget(slot.prompt_pos, slot.child_pos, len(pairs))
            for k, (h, tl) in enumerate(pairs):
                for m, sp in enumerate((h, tl)):
                    ws = mapper(sp)
                    if ws is not None:
                        t.gold.append((k, m, ws[0] + n_prefix, ws[1]))
            span_tasks.append(t)
        else:
            fields, choices, instances = gold
            instances = sorted(instances, key=_first_start)[:MAX_INSTANCES]
            t = SpanTarget(slot.prompt_pos, slot.child_pos, len(instances))
            for k, inst in enumerate(instances):
                for m, f in enumerate(fields):
                    v = inst.get(f)
                    if isinstance(v, str):  # a choice: gold at the choice word in this field's prefix group
                        idx = choice_positions(compiled, slot.name, f).get(v)
                        if idx is not None:
                            t.gold.append((k, m, idx, 0))
                    else:
                        for sp in v or []:
                            ws = mapper(sp)
                            if ws is not None:
                                t.gold.append((k, m, ws[0] + n_prefix, ws[1]))
            span_tasks.append(t)
    return Example(encoded, span_tasks, cls_tasks)


def _first_start(inst: dict) -> int:
    starts = [sp[0] for v in inst.values() if isinstance(v, list) for sp in v]
    return min(starts) if starts else 1 << 30


def _shuffled(processor: Processor, compiled, st: SchemaTokens, rng: random.Random) -> SchemaTokens:
    """The same schema with its tasks in a random order (upstream training does this)."""
    tasks = compiled.tasks()
    rng.shuffle(tasks)
    return processor.tokenize_tasks(tasks, compiled.choice_prefix())
