"""The one training-record format, its validation and JSON-lines I/O.

A record is a plain dict (JSON object), one per line::

    {"text": str,
     "entities": {"type name": [[start, end], ...]},          # [] = asked but absent (negative label)
     "entity_descriptions": {"type name": "description"},
     "classifications": [{"task": str, "labels": [str], "true": [str], "multi_label": bool}],
     "structures": [{"name": str, "fields": [str], "choices": {field: [str]},
                     "instances": [{field: [[s, e], ...] | "chosen choice"}]}],   # [] instances = negative
     "relations": [{"name": str, "pairs": [[[hs, he], [ts, te]], ...]}],       # [] pairs = negative
     "source": str}

Every key except ``text`` is optional. Spans are character offsets, end exclusive, and never
start or end on whitespace.

Example::

    >>> rec = make_record("Ada Lovelace wrote notes.", source="demo")
    >>> add_entity(rec, "person", 0, 12)
    >>> validate_record(rec)
    []
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterable, Iterator

KEYS = ("text", "entities", "entity_descriptions", "classifications", "structures", "relations", "source")


def make_record(text: str, source: str | None = None) -> dict:
    rec = {"text": text}
    if source:
        rec["source"] = source
    return rec


def add_entity(rec: dict, type_name: str, start: int, end: int) -> None:
    spans = rec.setdefault("entities", {}).setdefault(type_name, [])
    if [start, end] not in spans:
        spans.append([start, end])


def join_tokens(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join tokens with single spaces; return the text and each token's (start, end)."""
    offsets, pos = [], 0
    for tok in tokens:
        offsets.append((pos, pos + len(tok)))
        pos += len(tok) + 1
    return " ".join(tokens), offsets


def trim_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Shrink a span past surrounding whitespace; None if nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def span_problem(text: str, span, where: str) -> str | None:
    if not (isinstance(span, (list, tuple)) and len(span) == 2 and all(type(x) is int for x in span)):
        return f"{where}: span {span!r} is not [start, end]"
    s, e = span
    if not 0 <= s < e <= len(text):
        return f"{where}: span {span!r} out of range for text of length {len(text)}"
    if text[s].isspace() or text[e - 1].isspace():
        return f"{where}: span {span!r} ({text[s:e]!r}) has leading/trailing whitespace"
    return None


def _str_list(x) -> bool:
    return isinstance(x, list) and all(isinstance(v, str) and v for v in x)


def validate_record(rec) -> list[str]:
    """Return a list of problems (empty when the record is valid)."""
    if not isinstance(rec, dict):
        return ["record is not a dict"]
    text = rec.get("text")
    if not isinstance(text, str) or not text.strip():
        return ["text missing or empty"]
    probs = [f"unknown key {k!r}" for k in rec if k not in KEYS]
    ents = rec.get("entities", {})
    if not isinstance(ents, dict):
        probs.append("entities is not a dict")
        ents = {}
    for t, spans in ents.items():
        if not isinstance(t, str) or not t.strip():
            probs.append(f"entities: bad type name {t!r}")
        if not isinstance(spans, list):
            probs.append(f"entities[{t!r}] is not a list")
            continue
        probs += [p for sp in spans if (p := span_problem(text, sp, f"entities[{t!r}]"))]
    descs = rec.get("entity_descriptions", {})
    if not isinstance(descs, dict) or not all(isinstance(v, str) for v in descs.values()):
        probs.append("entity_descriptions must map type -> str")
    for i, c in enumerate(rec.get("classifications", [])):
        w = f"classifications[{i}]"
        if not isinstance(c, dict) or not isinstance(c.get("task"), str) or not c["task"]:
            probs.append(f"{w}: task missing")
            continue
        labels, true = c.get("labels"), c.get("true")
        if not _str_list(labels) or len(labels) < 2 or len(set(labels)) != len(labels):
            probs.append(f"{w}: labels must be >= 2 distinct non-empty strings")
            continue
        if not _str_list(true) or not set(true) <= set(labels):
            probs.append(f"{w}: true labels {true!r} not among labels")
        elif not c.get("multi_label", False) and len(true) != 1:
            probs.append(f"{w}: single-label task needs exactly one true label")
    for i, st in enumerate(rec.get("structures", [])):
        probs += _structure_problems(text, st, f"structures[{i}]")
    for i, r in enumerate(rec.get("relations", [])):
        w = f"relations[{i}]"
        if not isinstance(r, dict) or not isinstance(r.get("name"), str) or not r["name"]:
            probs.append(f"{w}: name missing")
            continue
        for j, pair in enumerate(r.get("pairs", [])):
            if not (isinstance(pair, list) and len(pair) == 2):
                probs.append(f"{w}.pairs[{j}]: not [head, tail]")
                continue
            probs += [p for sp in pair if (p := span_problem(text, sp, f"{w}.pairs[{j}]"))]
    return probs


def _structure_problems(text: str, st, w: str) -> list[str]:
    if not isinstance(st, dict) or not isinstance(st.get("name"), str) or not st["name"]:
        return [f"{w}: name missing"]
    fields = st.get("fields")
    if not _str_list(fields) or len(set(fields)) != len(fields):
        return [f"{w}: fields must be distinct non-empty strings"]
    choices = st.get("choices", {})
    probs = [f"{w}: choice field {f!r} not in fields" for f in choices if f not in fields]
    probs += [f"{w}: choices[{f!r}] needs >= 2 options" for f, o in choices.items() if not _str_list(o) or len(o) < 2]
    for k, inst in enumerate(st.get("instances", [])):
        if not isinstance(inst, dict):
            probs.append(f"{w}.instances[{k}] is not a dict")
            continue
        for f, v in inst.items():
            wf = f"{w}.instances[{k}][{f!r}]"
            if f not in fields:
                probs.append(f"{wf}: not a declared field")
            elif f in choices:
                if v not in choices[f]:
                    probs.append(f"{wf}: {v!r} is not one of {choices[f]!r}")
            elif not isinstance(v, list):
                probs.append(f"{wf}: must be a list of spans")
            else:
                probs += [p for sp in v if (p := span_problem(text, sp, wf))]
    return probs


def _open(path: str, mode: str):
    if str(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, mode + "b", compresslevel=6), encoding="utf-8")
    if str(path).endswith(".xz"):  # denser, for shipping records to a remote trainer
        import lzma

        return io.TextIOWrapper(lzma.open(path, mode + "b", preset=9 if mode == "w" else None), encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def read_records(path: str) -> Iterator[dict]:
    """Yield records from a ``.jsonl``, ``.jsonl.gz`` or ``.jsonl.xz`` file."""
    with _open(path, "r") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def write_records(path: str, records: Iterable[dict]) -> int:
    """Write records as JSON lines (gzip or xz by the path's suffix); return how many."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    n = 0
    with _open(path, "w") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")
            n += 1
    return n
