"""Schema and text -> encoder input ids, and the routing from words and schema slots to positions.

The sequence is the reference's: the serialized tasks joined by ``[SEP_STRUCT]``, then ``[SEP_TEXT]``,
then the choice-prefix words and the lower-cased text words. Every element is tokenized on its own,
nothing else is added (no ``[CLS]``/``[SEP]``). A word is represented by its first sub-token; a task by
its ``[P]`` token and one marker token per child (entity type, field, label, head/tail).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .schema import CompiledSchema

SPECIAL_TOKENS = [
    "[SEP_STRUCT]",
    "[SEP_TEXT]",
    "[P]",
    "[C]",
    "[E]",
    "[R]",
    "[L]",
    "[EXAMPLE]",
    "[OUTPUT]",
    "[DESCRIPTION]",
]


@dataclass(frozen=True)
class TaskSlots:
    """Where one task's prompt and child markers sit in the sequence."""

    kind: str
    name: str
    prompt_pos: int
    child_pos: tuple[int, ...]


@dataclass(frozen=True)
class SchemaTokens:
    """A compiled schema tokenized once: its ids and the positions of its slots."""

    ids: tuple[int, ...]
    tasks: tuple[TaskSlots, ...]
    prefix_words: tuple[str, ...]


@dataclass
class Encoded:
    """One text (or window) ready for collation."""

    ids: list[int]  # whole sequence
    word_pos: list[int]  # first sub-token position of every word (prefix words first)
    n_prefix: int  # number of choice-prefix words


@dataclass
class Tasks:
    """Where a batch's tasks sit in its sequences (the routing ``model.GLiNER2Network.forward`` reads): integer
    arrays with one row per sequence, numpy here and torch tensors in the torch runtime (``map``).

    Span tasks (entities, structures, relations) are the columns of ``prompt_pos``; their fields, task
    after task, the columns of ``field_pos``, with ``field_task`` the column of their task; classification
    labels, task after task, the columns of ``label_pos``. Training pads rows of different lengths.
    """

    prompt_pos: Any  # [B, T] each span task's [P] marker
    entities: Any  # [B, T] bool: an entity task (queried for one instance at most)
    field_pos: Any  # [B, N] each field's marker (entity type, field, head/tail)
    field_task: Any  # [B, N] the span task (column of prompt_pos) each field belongs to
    label_pos: Any  # [B, C] each classification label's marker

    @classmethod
    def of_slots(cls, slots: tuple[TaskSlots, ...], b: int) -> Tasks:
        """The routing of ``b`` sequences that share one schema's ``slots``."""
        span = [t for t in slots if t.kind != "classification"]
        rows = (
            [t.prompt_pos for t in span],
            [t.kind == "entities" for t in span],
            [p for t in span for p in t.child_pos],
            [j for j, t in enumerate(span) for _ in t.child_pos],
            [p for t in slots if t.kind == "classification" for p in t.child_pos],
        )
        return cls(*(np.tile(np.asarray(r, dtype=bool if i == 1 else np.int64), (b, 1)) for i, r in enumerate(rows)))

    def map(self, fn) -> Tasks:
        return Tasks(
            *(fn(x) for x in (self.prompt_pos, self.entities, self.field_pos, self.field_task, self.label_pos))
        )


@dataclass
class Output:
    """What one forward pass gives for a batch (numpy here, torch tensors inside the torch network)."""

    count_logits: Any  # [B, T, MAX_COUNT] per span task
    instances: Any  # [B, T] instances queried per span task
    span_logits: Any  # [B, K, N, L, W], K = most instances queried; None when K = 0
    class_logits: Any  # [B, C] per classification label


@dataclass
class Batch:
    input_ids: np.ndarray  # [B, T] int64
    attention_mask: np.ndarray  # [B, T] int64
    word_pos: np.ndarray  # [B, L] int64 (0 where padded)
    word_mask: np.ndarray  # [B, L] bool
    n_words: list[int]  # words per sample, prefix included
    n_prefix: list[int]
    tasks: Tasks


class Processor:
    """Tokenizes schemas and words with caches; builds batches."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self._word_cache: dict[str, tuple[int, ...]] = {}
        self._schema_cache: dict[str, SchemaTokens] = {}

    # -- tokenization -----------------------------------------------------------------------
    def word_ids(self, words: list[str]) -> list[tuple[int, ...]]:
        """Sub-token ids of each element, each tokenized on its own (cached)."""
        cache = self._word_cache
        missing = list(dict.fromkeys(w for w in words if w not in cache))
        if missing:
            tok = self.tokenizer
            for w in missing:
                cache[w] = tuple(tok.convert_tokens_to_ids(tok.tokenize(w)))
            if len(cache) > 500_000:
                self._word_cache = {w: cache[w] for w in words}
                cache = self._word_cache
        return [cache[w] for w in words]

    def schema_tokens(self, schema: CompiledSchema) -> SchemaTokens:
        hit = self._schema_cache.get(schema.schema_hash)
        if hit is None:
            hit = self.tokenize_tasks(schema.tasks(), schema.choice_prefix())
            if len(self._schema_cache) > 10_000:
                self._schema_cache.clear()
            self._schema_cache[schema.schema_hash] = hit
        return hit

    def tokenize_tasks(self, tasks, prefix_words: list[str]) -> SchemaTokens:
        ids: list[int] = []
        slots: list[TaskSlots] = []
        for t_i, task in enumerate(tasks):
            if t_i:
                ids += self.word_ids(["[SEP_STRUCT]"])[0]
            elements = task.elements()
            positions = []
            for el_ids in self.word_ids(elements):
                positions.append(len(ids))
                ids += el_ids
            # element 1 is [P]; children's markers are elements 4, 6, ..., len-3
            slots.append(
                TaskSlots(
                    task.kind, task.name, positions[1], tuple(positions[4 + 2 * c] for c in range(len(task.children)))
                )
            )
        ids += self.word_ids(["[SEP_TEXT]"])[0]
        return SchemaTokens(tuple(ids), tuple(slots), tuple(prefix_words))

    def schema_length(self, schema: CompiledSchema, cached: bool = True) -> int:
        """Tokens the schema takes before the text (prompt and choice prefix)."""
        st = self.schema_tokens(schema) if cached else self.tokenize_tasks(schema.tasks(), schema.choice_prefix())
        return len(st.ids) + sum(len(x) for x in self.word_ids(list(st.prefix_words)))

    # -- encoding ---------------------------------------------------------------------------
    def encode(self, schema: CompiledSchema, words: list[str], max_word_tokens: int | None = None) -> Encoded:
        return self.encode_with(self.schema_tokens(schema), words, max_word_tokens)

    def encode_with(self, st: SchemaTokens, words: list[str], max_word_tokens: int | None = None) -> Encoded:
        ids = list(st.ids)
        word_pos = []
        all_words = list(st.prefix_words) + words
        for w_ids in self.word_ids(all_words):
            word_pos.append(len(ids))  # a word without sub-tokens points at the next word's first token
            ids += w_ids[:max_word_tokens] if max_word_tokens else w_ids
        return Encoded(ids, word_pos, len(st.prefix_words))

    @staticmethod
    def collate(items: list[Encoded], tasks: Tasks | tuple[TaskSlots, ...]) -> Batch:
        """Pad ``items`` into one batch; ``tasks``: the routing, or the slots of the schema they share."""
        b = len(items)
        t = max(len(x.ids) for x in items)
        n = max(max(len(x.word_pos) for x in items), 1)
        input_ids = np.zeros((b, t), dtype=np.int64)
        attention = np.zeros((b, t), dtype=np.int64)
        word_pos = np.zeros((b, n), dtype=np.int64)
        word_mask = np.zeros((b, n), dtype=bool)
        for i, x in enumerate(items):
            input_ids[i, : len(x.ids)] = x.ids
            attention[i, : len(x.ids)] = 1
            if x.word_pos:
                # a trailing word with no sub-tokens would point past the sequence: clamp to its last token
                word_pos[i, : len(x.word_pos)] = np.minimum(x.word_pos, len(x.ids) - 1)
                word_mask[i, : len(x.word_pos)] = True
        if not isinstance(tasks, Tasks):
            tasks = Tasks.of_slots(tasks, b)
        return Batch(
            input_ids,
            attention,
            word_pos,
            word_mask,
            [len(x.word_pos) for x in items],
            [x.n_prefix for x in items],
            tasks,
        )
