"""Scores of the boundary architecture (GLiNER2.5) -> entities, labels, structures and relations.

The boundary network proposes, per query (an entity type, a structure field, a relation's head or tail),
a few candidate spans ``[s, e)`` of any length over the window's words, each with a probability. Decoding
works on those candidates for one window (``WindowScores``, numpy, filled by the runner), in the
reference's order: keep candidates at or above the query's threshold, resolve overlaps in word space
(the checkpoint's ``overlap_policy``; ``flat`` = the non-overlapping set of maximum total probability),
then map words to characters of the caller's text, dropping spans that touch the choice prefix, blank
surfaces and validator failures. The result is a ``decoding.RawResult``, so windows of a long text merge
like the span model's; ``finalize`` then resolves overlaps across windows and post-processes relations.

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from .decoding import RawResult, Span, WindowView, label_probs
from .schema import CompiledSchema

Edge = tuple[int, int, int, int, float, float, float]  # head [s, e), tail [s, e), p_head, p_tail, p_edge
Scored = tuple[float, int, int]  # (probability, start, end) in word or character space


@dataclass
class WindowScores:
    """What the boundary network gives for one window (word indices count the choice prefix)."""

    spans: np.ndarray  # [Q, C, 2] candidate [start, end) per query
    probs: np.ndarray  # [Q, C] sigmoid(logit / pair_temperature); invalid candidates are -1
    null_probs: np.ndarray  # [Q] abstention gate per query
    counts: np.ndarray  # [Q] round(exp(count log-rate)), used with an adaptive threshold only
    class_logits: dict[str, np.ndarray]  # per classification task
    choice_probs: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)  # (structure, field)
    edges: dict[str, list[Edge]] = field(default_factory=dict)  # per relation


@dataclass(frozen=True)
class Policy:
    """The decoding settings a boundary checkpoint carries (``boundary_head`` in its config.json)."""

    overlap: str = "flat"  # flat | nested | longest
    abstention: bool = True
    abstention_threshold: float = 0.5
    adaptive_threshold: bool = False


def queries(schema: CompiledSchema) -> dict[tuple[str, str], int]:
    """The query index of each (task, child): structure fields, entity types, relation head/tail, in the
    order of the serialized schema (``CompiledSchema.tasks``)."""
    out: dict[tuple[str, str], int] = {}
    for task in schema.tasks():
        if task.kind != "classification":
            for child in task.children:
                out[(task.name, child)] = len(out)
    return out


# ---------------------------------------------------------------------------------------------
# overlap resolution (one query, word or character space)


def resolve(items: list[Scored], policy: str) -> list[Scored]:
    """The kept spans, ranked by (-p, start, end). Exact duplicates keep their best probability."""
    ranked: list[Scored] = []
    seen: set[tuple[int, int]] = set()
    for it in sorted(items, key=lambda x: (-x[0], x[1], x[2])):
        if (it[1], it[2]) not in seen:
            seen.add((it[1], it[2]))
            ranked.append(it)
    if policy == "flat":
        kept = _max_total(ranked)
    elif policy == "nested":
        kept = []
        for it in ranked:
            if all(_nested_or_apart(it, k) for k in kept):
                kept.append(it)
    elif policy == "longest":
        kept = [a for a in ranked if not any(_inside(a, b) for b in ranked)]
    else:
        kept = ranked
    return sorted(kept, key=lambda x: (-x[0], x[1], x[2]))


def _nested_or_apart(a: Scored, b: Scored) -> bool:
    return a[2] <= b[1] or b[2] <= a[1] or (a[1] >= b[1] and a[2] <= b[2]) or (b[1] >= a[1] and b[2] <= a[2])


def _inside(a: Scored, b: Scored) -> bool:
    """``a`` strictly inside ``b``."""
    return b[1] <= a[1] and a[2] <= b[2] and (b[1], b[2]) != (a[1], a[2])


def _max_total(ranked: list[Scored]) -> list[Scored]:
    """Weighted interval scheduling: the pairwise non-overlapping set of maximum total probability; on equal
    totals the larger set, then the one whose ranks (positions in ``ranked``) come first."""
    order = sorted(range(len(ranked)), key=lambda i: (ranked[i][2], ranked[i][1], -ranked[i][0], i))
    ends = [ranked[i][2] for i in order]
    # best[j]: the best selection among the first j spans of ``order``, as (total, size, chain); a chain is
    # (rank, chain) back to None, so a step costs O(log n) and ranks are compared only on exact ties
    best: list[tuple[float, int, tuple | None]] = [(0.0, 0, None)]
    for j, i in enumerate(order):
        total, size, chain = best[bisect_right(ends, ranked[i][1], 0, j)]
        take = (total + ranked[i][0], size + 1, (i, chain))
        best.append(take if _better(take, best[j]) else best[j])
    return [ranked[i] for i in _ranks(best[-1][2])]


def _better(a: tuple, b: tuple) -> bool:
    """Selection ``a`` strictly better than ``b``: a larger total, then more spans, then earlier ranks."""
    if a[0] != b[0] or a[1] != b[1]:
        return (a[0], a[1]) > (b[0], b[1])
    return tuple(-r for r in _ranks(a[2])) > tuple(-r for r in _ranks(b[2]))


def _ranks(chain: tuple | None) -> list[int]:
    out = []
    while chain is not None:
        out.append(chain[0])
        chain = chain[1]
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# one window


def candidates(scores: WindowScores, q: int, threshold: float, policy: Policy) -> list[Scored]:
    """Query ``q``'s candidates at or above ``threshold`` (plus the count head's top ones when adaptive)."""
    p = scores.probs[q]
    keep = np.flatnonzero((p >= 0) & (p >= threshold))
    if policy.adaptive_threshold:
        valid = sorted(np.flatnonzero(p >= 0).tolist(), key=lambda c: -p[c])
        keep = sorted(set(keep.tolist()) | set(valid[: int(scores.counts[q])]))
    spans = scores.spans[q].tolist()
    return [(float(p[c]), spans[c][0], spans[c][1]) for c in keep]


def to_text(view: WindowView, s: int, e: int, prob: float, validators=()) -> Span | None:
    """Word span ``[s, e)`` (prefix counted) as a span of the caller's text; ``None`` if it touches the
    prefix, is blank or fails a validator."""
    ts, te = s - view.n_prefix, e - view.n_prefix
    if not 0 <= ts < te <= len(view.starts):
        return None
    cs, ce = view.starts[ts], min(view.ends[te - 1], len(view.text))
    raw = view.text[cs:ce]
    surface = raw.strip()
    if not surface or not all(v.validate(surface) for v in validators):
        return None
    cs += len(raw) - len(raw.lstrip())
    return (surface, prob, cs, cs + len(surface))


def spans_of(scores, view, q: int, threshold: float, policy: Policy, validators=()) -> list[Span]:
    resolved = resolve(candidates(scores, q, threshold, policy), policy.overlap)
    return [s for s in (to_text(view, s, e, p, validators) for p, s, e in resolved) if s is not None]


def decode_window(
    schema: CompiledSchema, view: WindowView, scores: WindowScores, threshold: float, policy: Policy
) -> RawResult:
    index = queries(schema)
    raw = RawResult(
        entities={},
        class_probs={c.name: label_probs(scores.class_logits[c.name], c.multi_label) for c in schema.classifications},
    )
    for st in schema.structures:
        inst = {}
        for f in st.fields:
            thr = threshold if f.threshold is None else f.threshold
            if f.choices:
                probs = scores.choice_probs.get((st.name, f.name), {})
                scored = [(c, probs[c]) for c in f.choices if c in probs]
                if f.dtype == "list":
                    inst[f.name] = [(c, p) for c, p in scored if p >= thr]
                else:
                    best = max(scored, key=lambda x: x[1], default=None)
                    inst[f.name] = best if best is not None and best[1] >= thr else None
            else:
                found = spans_of(scores, view, index[(st.name, f.name)], thr, policy, _validators(f))
                inst[f.name] = found if f.dtype == "list" else (found[0] if found else None)
        raw.structures[st.name] = [inst] if any(v not in (None, []) for v in inst.values()) else []
    for e in schema.entities:
        q = index[("entities", e.name)]
        if policy.abstention and scores.null_probs[q] > policy.abstention_threshold:
            raw.entities[e.name] = []
            continue
        thr = threshold if e.threshold is None else e.threshold
        raw.entities[e.name] = spans_of(scores, view, q, thr, policy, _validators(e))
    for r in schema.relations:
        thr = threshold if r.threshold is None else r.threshold
        pairs = []
        for hs, he, ts, te, ph, pt, p in scores.edges.get(r.name, []):
            if p < thr:
                continue
            head, tail = to_text(view, hs, he, ph), to_text(view, ts, te, pt)
            if head is not None and tail is not None:
                pairs.append((head, tail, p))
        raw.relations[r.name] = pairs
    return raw


def _validators(spec) -> tuple:
    return tuple(getattr(spec, "validators", ()) or ())


# ---------------------------------------------------------------------------------------------
# a whole text (its windows merged)


def finalize(schema: CompiledSchema, raw: RawResult, policy: Policy) -> RawResult:
    """Resolve overlaps across a long text's windows (one window is already resolved), fold its windows'
    structure instances into the one instance the boundary model returns, and post-process relations."""
    if raw.n_windows > 1:
        raw.entities = {k: _resolve_text(v, policy) for k, v in (raw.entities or {}).items()}
        for st in schema.structures:
            raw.structures[st.name] = _fold(st, raw.structures.get(st.name, []), policy)
    raw.relations = {k: relation_edges(v) for k, v in raw.relations.items()}
    return raw


def _resolve_text(spans: list[Span], policy: Policy) -> list[Span]:
    best: dict[tuple[int, int], Span] = {}
    for s in spans:
        if (s[2], s[3]) not in best or s[1] > best[(s[2], s[3])][1]:
            best[(s[2], s[3])] = s
    kept = resolve([(s[1], s[2], s[3]) for s in best.values()], policy.overlap)
    return [best[(s, e)] for _, s, e in kept]


def _fold(st, instances: list[dict], policy: Policy) -> list[dict]:
    if len(instances) <= 1:
        return instances
    inst = {}
    for f in st.fields:
        values = [i[f.name] for i in instances if i[f.name] not in (None, [])]
        if f.choices and f.dtype == "list":
            best: dict[str, float] = {}
            for c, p in (x for v in values for x in v):
                best[c] = max(p, best.get(c, p))
            inst[f.name] = [(c, best[c]) for c in f.choices if c in best]
        elif f.choices:
            inst[f.name] = max(values, key=lambda x: x[1], default=None)
        elif f.dtype == "list":
            inst[f.name] = _resolve_text([s for v in values for s in v], policy)
        else:
            inst[f.name] = max(values, key=lambda x: x[1], default=None)
    return [inst]


def relation_edges(pairs: list[tuple[Span, Span, float]]) -> list[tuple[Span, Span, float]]:
    """One relation type's edges, post-processed as the reference does (in character space)."""
    if not pairs:
        return []
    heads = _widest([h for h, _, _ in pairs])
    tails = _widest([t for _, t, _ in pairs])
    by_coords: dict[tuple, tuple[Span, Span, float]] = {}
    for h, t, p in pairs:  # (1) every mention -> the longest mention containing it, (2) best per coordinates
        h, t = heads[(h[2], h[3])], tails[(t[2], t[3])]
        key = (h[2], h[3], t[2], t[3])
        if key not in by_coords or p > by_coords[key][2]:
            by_coords[key] = (h, t, p)
    by_text: dict[tuple[str, str], tuple[Span, Span, float]] = {}
    for h, t, p in by_coords.values():  # (3) one edge per argument texts: the closest, then the best
        key = (_fold_text(h[0]), _fold_text(t[0]))
        if key not in by_text or _closeness(h, t, p) < _closeness(*by_text[key]):
            by_text[key] = (h, t, p)
    edges = list(by_text.values())
    kept = [e for e in edges if not any(_subsumed(e, o) for o in edges if o is not e)]  # (4)
    return sorted(kept, key=lambda x: (x[0][2], x[1][2], -x[2]))  # (5)


def _widest(spans: list[Span]) -> dict[tuple[int, int], Span]:
    out = {}
    for s in spans:
        around = [o for o in spans if o[2] <= s[2] and s[3] <= o[3]]
        out[(s[2], s[3])] = min(around, key=lambda o: (-(o[3] - o[2]), o[2]))
    return out


def _fold_text(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().casefold()


def _closeness(h: Span, t: Span, p: float):
    gap = max(t[2] - h[3], h[2] - t[3], 0)
    return (gap, -p, h[2], t[2])


def _words(s: Span) -> set[str]:
    return set(_fold_text(s[0]).split())


def _subsumed(e, o) -> bool:
    """``e``'s head words a strict subset of ``o``'s with equal tail words, or the other way round."""
    return (_words(e[0]) < _words(o[0]) and _words(e[1]) == _words(o[1])) or (
        _words(e[1]) < _words(o[1]) and _words(e[0]) == _words(o[0])
    )
