"""Scores -> entities, labels, structures and relations, in the reference's result format.

Decoding works on numpy arrays of probabilities for one text window: span probabilities
``[instances, children, words, width]`` per span task and label probabilities per classification.
A window's raw result (candidates with global character offsets) can be merged with its neighbours'
before it is finalised, so long documents decode exactly like short ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .schema import CompiledSchema

Span = tuple[str, float, int, int]  # (text, confidence, start, end)


@dataclass
class WindowView:
    """What decoding needs to know about one window of a text."""

    text: str  # the caller's text (offsets point into it)
    starts: list[int]  # char start of each window word (text words only)
    ends: list[int]
    n_prefix: int  # choice-prefix words before the text words
    prefix_words: list[str]


def find_spans(prob: np.ndarray, view: WindowView, threshold: float) -> list[Span]:
    """Spans of one field/label with probability >= threshold, ordered by start then width.

    ``prob`` is ``[words incl. prefix, width]``; only text words are read.
    """
    text_len = len(view.starts)
    p = prob[view.n_prefix : view.n_prefix + text_len]
    out: list[Span] = []
    limit = len(view.text)
    for i, w in zip(*np.nonzero(p >= threshold)):
        end = i + w + 1
        if end > text_len:
            continue
        cs, ce = view.starts[i], min(view.ends[end - 1], limit)
        raw = view.text[cs:ce]
        surface = raw.strip()
        if not surface:
            continue
        cs += len(raw) - len(raw.lstrip())
        out.append((surface, float(p[i, w]), cs, cs + len(surface)))
    return out


def validated(spans: list[Span], validators) -> list[Span]:
    """The spans every validator accepts; applied, as upstream, before overlaps are resolved."""
    return [s for s in spans if all(v.validate(s[0]) for v in validators)] if validators else spans


def greedy_non_overlapping(spans: list[Span]) -> list[Span]:
    """Most confident first; keep a span only if it overlaps no kept span (stable for ties).

    The characters kept spans cover are marked in a byte array as long as the text they reach, so each
    candidate costs its own length: linear in the candidates (a long document's windows together keep over a
    million spans, where a sorted list of kept spans grew quadratically).
    """
    if len(spans) < 2:
        return list(spans)
    taken = bytearray(max(s[3] for s in spans))
    kept: list[Span] = []
    for s in sorted(spans, key=lambda x: -x[1]):
        if taken.find(1, s[2], s[3]) < 0:
            taken[s[2] : s[3]] = b"\x01" * (s[3] - s[2])
            kept.append(s)
    return kept


# ---------------------------------------------------------------------------------------------
# raw (mergeable) results of one window


@dataclass
class RawResult:
    entities: dict[str, list[Span]] | None = None  # None when the count head said 0 instances
    structures: dict[str, list[dict]] = field(default_factory=dict)
    relations: dict[str, list[tuple[Span, Span]]] = field(default_factory=dict)
    class_probs: dict[str, np.ndarray] = field(default_factory=dict)
    n_windows: int = 1


def decode_window(
    schema: CompiledSchema,
    view: WindowView,
    span_logits: dict[str, np.ndarray],
    counts: dict[str, int],
    class_logits: dict[str, np.ndarray],
    threshold: float,
) -> RawResult:
    """``span_logits[task name]`` is ``[count, children, words, width]`` (entities: 1 instance)."""
    with np.errstate(over="ignore"):
        span_probs = {k: 1.0 / (1.0 + np.exp(-v)) for k, v in span_logits.items()}
    raw = RawResult(
        class_probs={c.name: label_probs(class_logits[c.name], c.multi_label) for c in schema.classifications}
    )
    for st in schema.structures:
        instances = []
        probs = span_probs.get(st.name)
        for k in range(counts.get(st.name, 0)):
            inst = {}
            for m, f in enumerate(st.fields):
                thr = threshold if f.threshold is None else f.threshold
                if f.choices:
                    inst[f.name] = _choices(
                        probs[k, m], f.choices, choice_positions(schema, st.name, f.name), thr, f.dtype
                    )
                else:
                    spans = greedy_non_overlapping(validated(find_spans(probs[k, m], view, thr), f.validators))
                    inst[f.name] = spans if f.dtype == "list" else (spans[0] if spans else None)
            if any(v not in (None, []) for v in inst.values()):
                instances.append(inst)
        raw.structures[st.name] = instances
    if schema.entities:
        if counts.get("entities", 0) > 0:
            probs = span_probs["entities"][0]
            # overlaps are resolved here, per window, so a long text keeps each window's answers rather than
            # all of its candidates (about 0.9 GB per MB of text for a model that scores every span near the
            # threshold); the text's windows are resolved once more together in ``format_result``
            raw.entities = {
                e.name: greedy_non_overlapping(
                    validated(
                        find_spans(probs[m], view, threshold if e.threshold is None else e.threshold), e.validators
                    )
                )
                for m, e in enumerate(schema.entities)
            }
    for r in schema.relations:
        thr = threshold if r.threshold is None else r.threshold
        pairs = []
        probs = span_probs.get(r.name)
        for k in range(counts.get(r.name, 0)):
            head = greedy_non_overlapping(find_spans(probs[k, 0], view, thr))
            tail = greedy_non_overlapping(find_spans(probs[k, 1], view, thr))
            if head and tail:
                pairs.append((head[0], tail[0]))
        raw.relations[r.name] = pairs
    return raw


def label_probs(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    """Softmax over the labels of a single-label task, independent sigmoids for a multi-label one."""
    logits = logits.astype(np.float64)
    if multi_label:
        return 1.0 / (1.0 + np.exp(-logits))
    e = np.exp(logits - logits.max())
    return e / e.sum()


def choice_positions(schema: CompiledSchema, structure: str, field_name: str) -> dict[str, int]:
    """Prefix-word index of each choice of one field, inside that field's own group.

    Walks the layout ``CompiledSchema.choice_prefix`` writes: per structure with choice fields
    ``( <name>: f1 ( c1 | c2 ) , f2 ( ... ) )``; a group of n choices takes 2n + 2 words. Counting
    positions (rather than searching for words) stays right when a field is named like a choice of an
    earlier field or two fields share a choice string.
    """
    i = 0
    for s in schema.structures:
        groups = [f for f in s.fields if f.choices]
        if not groups:
            continue
        i += 2  # "(", "<name>:"
        for g, f in enumerate(groups):
            i += 1 if g else 0  # ","
            if s.name == structure and f.name == field_name:
                return {c: i + 2 + 2 * j for j, c in enumerate(f.choices)}
            i += 2 * len(f.choices) + 2
        i += 1  # ")"
    return {}


def _choices(prob: np.ndarray, choices, positions, thr: float, dtype: str):
    scored = [(c, float(prob[positions[c], 0])) for c in choices if c in positions]
    if dtype == "list":
        return [(c, p) for c, p in scored if p >= thr]
    best = max(scored, key=lambda x: x[1], default=None)
    return best if best is not None and best[1] >= thr else None


def merge(results: list[RawResult]) -> RawResult:
    """Merge the raw results of a text's windows (offsets already global)."""
    if len(results) == 1:
        return results[0]
    out = RawResult(n_windows=len(results))
    seen: dict[tuple, set] = {}  # what each list already holds: windows overlap, so they repeat instances
    for r in results:
        if r.entities is not None:
            out.entities = out.entities or {}
            for label, spans in r.entities.items():
                out.entities.setdefault(label, []).extend(spans)
        for name, insts in r.structures.items():
            _extend_new(out.structures.setdefault(name, []), insts, seen.setdefault(("s", name), set()))
        for name, pairs in r.relations.items():
            _extend_new(out.relations.setdefault(name, []), pairs, seen.setdefault(("r", name), set()))
        for name, p in r.class_probs.items():
            out.class_probs[name] = out.class_probs.get(name, 0) + p / len(results)
    return out


def union(results) -> RawResult | None:
    """One text's raw results from passes over different parts of a schema, as one (``None`` for a blank text).
    Each part holds its own entity types, structures and relations; a classification task whose labels were
    asked in groups (``labels``) gets its groups' scores one after the other, in label order."""
    results = [r for r in results if r is not None]
    if not results:
        return None
    if len(results) == 1:
        return results[0]
    out = RawResult(n_windows=max(r.n_windows for r in results))
    for r in results:
        if r.entities is not None:
            out.entities = {**(out.entities or {}), **r.entities}
        out.structures.update(r.structures)
        out.relations.update(r.relations)
        for name, p in r.class_probs.items():
            out.class_probs[name] = np.concatenate([out.class_probs[name], p]) if name in out.class_probs else p
    return out


# ---------------------------------------------------------------------------------------------
# formatting


def _extend_new(into: list, items: list, seen: set) -> None:
    for item in items:
        key = _hashable(item)
        if key not in seen:
            seen.add(key)
            into.append(item)


def _hashable(value):
    if isinstance(value, dict):
        return tuple((k, _hashable(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


def empty_result(schema: CompiledSchema) -> dict:
    """What a blank text gives: every requested key, nothing found."""
    out: dict = {s.name: [] for s in schema.structures}
    if schema.entities:
        out["entities"] = {e.name: ([] if e.dtype == "list" else None) for e in schema.entities}
    for c in schema.classifications:
        out[c.name] = [] if c.multi_label else None
    if schema.relations:
        out["relation_extraction"] = {r.name: [] for r in schema.relations}
    return out


def format_result(
    schema: CompiledSchema,
    raw: RawResult,
    include_confidence: bool = False,
    include_spans: bool = False,
    boundary: bool = False,
) -> dict:
    """The upstream result format; every requested key is present.

    ``boundary``: ``raw`` comes from the boundary decoder (``boundary_decoding``): its spans are already
    overlap-resolved, its field lists are de-duplicated like entities and its relation edges carry a
    confidence of their own.
    """

    def span(s: Span | None):
        if s is None:
            return None
        if not (include_confidence or include_spans):
            return s[0]
        d = {"text": s[0]}
        if include_confidence:
            d["confidence"] = s[1]
        if include_spans:
            d["start"], d["end"] = s[2], s[3]
        return d

    def choice(c):
        if c is None:
            return None
        return {"text": c[0], "confidence": c[1]} if include_confidence else c[0]

    # upstream de-duplicates span lists by lower-cased text, or by offsets too when they are shown (the
    # boundary decoder's lists also whenever confidences are)
    by_offsets = include_spans or (boundary and include_confidence)
    out: dict = {}
    for st in schema.structures:
        rows = []
        for inst in raw.structures.get(st.name, []):
            row = {}
            for f in st.fields:
                v = inst[f.name]
                if f.choices:
                    row[f.name] = [choice(c) for c in v] if f.dtype == "list" else choice(v)
                else:
                    v = _dedupe(v, by_offsets) if f.dtype == "list" else v
                    row[f.name] = [span(s) for s in v] if f.dtype == "list" else span(v)
            rows.append(row)
        out[st.name] = rows
    if schema.entities:
        ents = {}
        for e in schema.entities:
            spans = (raw.entities or {}).get(e.name, [])
            spans = spans if boundary else greedy_non_overlapping(spans)
            spans = _dedupe(spans, by_offsets)
            ents[e.name] = [span(s) for s in spans] if e.dtype == "list" else span(spans[0] if spans else None)
        out["entities"] = ents
    for c in schema.classifications:
        out[c.name] = _classify(c, raw.class_probs[c.name], include_confidence)
    if schema.relations:
        out["relation_extraction"] = {
            r.name: [_edge(pair, span, include_confidence, include_spans) for pair in raw.relations.get(r.name, [])]
            for r in schema.relations
        }
    return out


def _edge(pair: tuple, span, include_confidence: bool, include_spans: bool):
    """``(head, tail)`` or ``(head, tail, confidence)`` (boundary edges) in the upstream format."""
    head, tail = pair[0], pair[1]
    if not (include_confidence or include_spans):
        return (head[0], tail[0])
    out = {"head": span(head), "tail": span(tail)}
    if include_confidence and len(pair) > 2:
        out["confidence"] = pair[2]
    return out


def _dedupe(spans: list[Span], with_offsets: bool) -> list[Span]:
    seen, out = set(), []
    for s in spans:
        key = (s[0].lower(), s[2], s[3]) if with_offsets else s[0].lower()
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def _classify(spec, probs: np.ndarray, include_confidence: bool):
    def fmt(i):
        return {"label": spec.labels[i], "confidence": float(probs[i])} if include_confidence else spec.labels[i]

    if not spec.multi_label:
        return fmt(int(np.argmax(probs)))
    chosen = [i for i in range(len(spec.labels)) if probs[i] >= spec.threshold] or [int(np.argmax(probs))]
    return [fmt(i) for i in chosen]
