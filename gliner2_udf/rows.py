"""The one place that decides output columns and turns engine results into rows. Pure Python.

``Layout`` names the output columns of a compiled schema (sanitised, collision-free, lower-case
because Spark and Delta resolve names case-insensitively); ``prepare_text`` decides a document's
status before the model sees it; ``to_row`` turns one engine result (``include_confidence`` and
``include_spans`` on) plus a status into a row dict. ``columns.py`` maps the same layout to Spark
types. Nothing here imports pyspark or torch.

Row shapes (see ``columns.py`` for the Spark types):

* ``entities``: ``[{label, text, start, end, score}]`` in document order (by start, end, schema order).
* one column per entity type: the texts of that type, in the same order.
* a single-label classification: ``<name>`` (label or None) and ``<name>_score``; a multi-label one:
  lists of labels and of scores, best first.
* a structure: a list of instances, each ``{field: span}`` for ``str`` fields (``None`` when not found)
  and ``{field: [span, ...]}`` for ``list`` fields, where a span is ``{text, score, start, end}``.
  Choice fields carry the choice as ``text`` and null offsets.
* ``status`` is ``ok``, ``empty``, ``truncated`` or ``error``; ``error`` explains any status but ``ok``.
  Rows with status ``error`` have null extraction columns; ``empty`` rows have empty ones.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

STATUSES = ("ok", "empty", "truncated", "error")
_KEEP_CONTROL = {"\t", "\n", "\r"}
_NOT_NAME = re.compile(r"[^a-z0-9_]+")


# --------------------------------------------------------------------------------------------
# column layout


def sanitize(name: str) -> str:
    """``"Invoice Line #"`` -> ``"invoice_line"``: lower-case letters, digits and single underscores."""
    out = _NOT_NAME.sub("_", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower())
    out = re.sub("_+", "_", out).strip("_") or "col"
    return f"_{out}" if out[0].isdigit() else out


class _Names:
    """Hands out unique lower-case column names; a taken name gets ``_2``, ``_3``, ..."""

    def __init__(self, taken: Iterable[str] = ()):
        self.taken = {t.lower() for t in taken}

    def claim(self, wanted: str) -> str:
        base, n, name = wanted, 1, wanted
        while name.lower() in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name.lower())
        return name


@dataclass(frozen=True)
class EntityColumn:
    label: str
    column: str


@dataclass(frozen=True)
class ClassificationColumns:
    name: str
    column: str
    score_column: str
    multi_label: bool


@dataclass(frozen=True)
class FieldColumn:
    name: str  # the schema's field name (the key in engine results)
    column: str  # the struct field name in the output
    is_list: bool


@dataclass(frozen=True)
class StructureColumn:
    name: str
    column: str
    fields: tuple[FieldColumn, ...]


@dataclass(frozen=True)
class Layout:
    """Output column names for one compiled schema, in output order."""

    id_column: str
    passthrough: tuple[str, ...]
    entities: tuple[EntityColumn, ...]
    classifications: tuple[ClassificationColumns, ...]
    structures: tuple[StructureColumn, ...]
    relations: bool

    # written by every job, whatever the schema; claimed before any schema-derived name
    RESERVED = ("entities", "relations", "status", "error", "model_version", "schema_hash", "extracted_at")

    @classmethod
    def build(cls, compiled, id_column: str, passthrough: Iterable[str] = ()) -> Layout:
        passthrough = tuple(passthrough)
        names = _Names([id_column, *passthrough, *cls.RESERVED])
        ents = tuple(EntityColumn(e.name, names.claim(sanitize(e.name))) for e in compiled.entities)
        clss = []
        for c in compiled.classifications:
            col = names.claim(sanitize(c.name))
            clss.append(ClassificationColumns(c.name, col, names.claim(f"{col}_score"), c.multi_label))
        structs = []
        for s in compiled.structures:
            inner = _Names()
            fields = tuple(FieldColumn(f.name, inner.claim(sanitize(f.name)), f.dtype == "list") for f in s.fields)
            structs.append(StructureColumn(s.name, names.claim(sanitize(s.name)), fields))
        return cls(id_column, passthrough, ents, tuple(clss), tuple(structs), bool(compiled.relations))

    def result_columns(self) -> list[str]:
        """The columns the UDF computes (everything but id, passthrough and the run constants)."""
        cols = ["entities", *(e.column for e in self.entities)]
        for c in self.classifications:
            cols += [c.column, c.score_column]
        cols += [s.column for s in self.structures]
        if self.relations:
            cols.append("relations")
        return cols + ["status", "error"]

    def columns(self) -> list[str]:
        return [
            self.id_column,
            *self.passthrough,
            *self.result_columns(),
            "model_version",
            "schema_hash",
            "extracted_at",
        ]


# --------------------------------------------------------------------------------------------
# text checks


@dataclass(frozen=True)
class Prepared:
    text: str | None  # what the model gets; None: skip the model
    status: str
    message: str | None


def prepare_text(value: Any, max_chars: int) -> Prepared:
    """Decide a document's status before extraction.

    ``None`` / empty / whitespace-only / control-character-only text -> ``empty``; bytes that are not
    UTF-8 (the UDF receives the text column as binary) -> ``error``; longer than ``max_chars`` ->
    cut at a word boundary and ``truncated``. Other control characters become spaces, which keeps
    character offsets valid for the stored text.
    """
    if value is None:
        return Prepared(None, "empty", "text is null")
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as err:
            return Prepared(None, "error", f"text is not valid UTF-8: {err.reason} at byte {err.start}")
    if not isinstance(value, str):
        return Prepared(None, "error", f"text has type {type(value).__name__}, expected a string")
    if value == "":
        return Prepared(None, "empty", "text is empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        return Prepared(None, "error", f"text is not encodable as UTF-8: {err.reason} at character {err.start}")
    cleaned, replaced = _replace_controls(value)
    if not cleaned.strip():
        what = "control characters" if replaced else "whitespace"
        return Prepared(None, "empty", f"text has only {what} ({len(value)} characters)")
    if len(cleaned) > max_chars:
        cut = cleaned[:max_chars]
        space = max(cut.rfind(" "), cut.rfind("\n"))
        if space > max_chars * 0.9:
            cut = cut[:space]
        return Prepared(
            cut,
            "truncated",
            f"text has {len(value)} characters; extracted from the first {len(cut)} (max_chars={max_chars})",
        )
    return Prepared(cleaned, "ok", None)


def _replace_controls(text: str) -> tuple[str, int]:
    if text.isprintable():
        return text, 0
    out, n = [], 0
    for ch in text:
        if ch not in _KEEP_CONTROL and unicodedata.category(ch) == "Cc":
            out.append(" ")
            n += 1
        else:
            out.append(ch)
    return ("".join(out), n) if n else (text, 0)


# --------------------------------------------------------------------------------------------
# results -> rows


def _span(leaf: Any) -> dict | None:
    if leaf is None:
        return None
    if isinstance(leaf, str):  # results without include_spans / include_confidence
        return {"text": leaf, "score": None, "start": None, "end": None}
    score = leaf.get("confidence", leaf.get("score"))
    return {
        "text": leaf.get("text"),
        "score": None if score is None else float(score),
        "start": _int(leaf.get("start")),
        "end": _int(leaf.get("end")),
    }


def _int(x: Any) -> int | None:
    return None if x is None else int(x)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def empty_row(layout: Layout, status: str, message: str | None) -> dict:
    """A row with nothing extracted: empty collections for ``empty``, nulls for ``error``."""
    blank = status != "error"
    row: dict[str, Any] = {"entities": [] if blank else None}
    for e in layout.entities:
        row[e.column] = [] if blank else None
    for c in layout.classifications:
        row[c.column] = [] if blank and c.multi_label else None
        row[c.score_column] = [] if blank and c.multi_label else None
    for s in layout.structures:
        row[s.column] = [] if blank else None
    if layout.relations:
        row["relations"] = [] if blank else None
    row["status"], row["error"] = status, message
    return row


def to_row(layout: Layout, result: dict, status: str = "ok", message: str | None = None) -> dict:
    """One engine result (spans and confidences included) -> the UDF's columns for one document."""
    row: dict[str, Any] = {}
    found = result.get("entities") or {}
    order = {e.label: i for i, e in enumerate(layout.entities)}
    ents = []
    for e in layout.entities:
        for leaf in _as_list(found.get(e.label)):
            s = _span(leaf)
            ents.append({"label": e.label, **s})
    ents.sort(key=lambda x: (_key(x["start"]), _key(x["end"]), order[x["label"]]))
    row["entities"] = ents
    for e in layout.entities:
        row[e.column] = [x["text"] for x in ents if x["label"] == e.label]
    for c in layout.classifications:
        value = result.get(c.name)
        if c.multi_label:
            items = sorted((_label(v) for v in _as_list(value)), key=lambda x: -(x[1] or 0.0))
            row[c.column], row[c.score_column] = [x[0] for x in items], [x[1] for x in items]
        else:
            row[c.column], row[c.score_column] = _label(value) if value is not None else (None, None)
    for s in layout.structures:
        instances = []
        for inst in _as_list(result.get(s.name)):
            inst = inst or {}
            instances.append(
                {
                    f.column: (
                        [_span(v) for v in _as_list(inst.get(f.name))] if f.is_list else _span(_first(inst.get(f.name)))
                    )
                    for f in s.fields
                }
            )
        row[s.column] = instances
    if layout.relations:
        rels = []
        for name, pairs in (result.get("relation_extraction") or {}).items():
            for p in _as_list(pairs):
                rels.append({"relation": name, "head": _span(p.get("head")), "tail": _span(p.get("tail"))})
        row["relations"] = rels
    row["status"], row["error"] = status, message
    return row


def _key(x: int | None) -> int:
    return -1 if x is None else x


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple)) else value if value else None


def _label(value: Any) -> tuple[str | None, float | None]:
    if isinstance(value, str):
        return value, None
    score = value.get("confidence", value.get("score"))
    return value.get("label"), None if score is None else float(score)
