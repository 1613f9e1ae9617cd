"""Extraction schemas: a Python builder, a declarative form (dict / YAML / JSON) and the compiler.

A schema names what to extract: entity types, classification tasks, structures (records with fields,
several instances per text) and relations. Entity types and span fields may carry ``RegexValidator``s,
which keep only the spans whose text they accept. ``compile_schema`` validates it once on the driver and
returns a :class:`CompiledSchema`: the task serialization the model reads, the output layout and a
content hash that changes when, and only when, the schema's meaning changes.

``Schema.from_dict`` reads our declarative form and the two dict forms of the upstream package
(``schema_upstream``), telling them apart by their keys. This module imports neither torch nor pyspark.

Example::

    schema = (Schema().entities(["person", "company"])
              .classification("sentiment", ["positive", "negative", "neutral"])
              .structure("deal").field("buyer", dtype="str").field("items"))
    compiled = compile_schema(schema)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import SchemaError

DTYPES = ("str", "list")
MODES = ("full", "partial")
ENTITY_KEYS = {"description", "dtype", "threshold", "validators"}
RELATION_KEYS = {"description", "threshold"}


@dataclass(frozen=True)
class RegexValidator:
    """Keeps a span when its text matches ``pattern`` (``mode="full"``: the whole text, ``"partial"``: a
    search), or when it does not match with ``exclude=True``. Upstream's validator, by its arguments."""

    pattern: str | re.Pattern
    mode: str = "full"
    exclude: bool = False
    flags: int = re.IGNORECASE

    def __post_init__(self) -> None:
        if isinstance(self.pattern, re.Pattern):  # a compiled pattern brings its own flags
            object.__setattr__(self, "flags", self.pattern.flags)
            object.__setattr__(self, "pattern", self.pattern.pattern)
        if not isinstance(self.pattern, str):
            raise SchemaError("pattern", f"expected a regular expression string, got {type(self.pattern).__name__}")
        if self.mode not in MODES:
            raise SchemaError("mode", f"expected one of 'full', 'partial', got {self.mode!r}")
        if not isinstance(self.exclude, bool):
            raise SchemaError("exclude", f"expected true or false, got {self.exclude!r}")
        if isinstance(self.flags, bool) or not isinstance(self.flags, int):
            raise SchemaError("flags", f"expected an integer of re flags, got {self.flags!r}")
        object.__setattr__(self, "flags", int(self.flags))  # a plain int, as the declarative form writes it
        try:
            object.__setattr__(self, "_regex", re.compile(self.pattern, self.flags))
        except re.error as err:
            raise SchemaError("pattern", f"invalid regular expression {self.pattern!r}: {err}") from None

    def validate(self, text: str) -> bool:
        """Whether a span with this text is kept."""
        match = self._regex.fullmatch(text) if self.mode == "full" else self._regex.search(text)
        return (match is None) if self.exclude else (match is not None)


@dataclass(frozen=True)
class EntitySpec:
    name: str
    description: str | None = None
    threshold: float | None = None
    dtype: str = "list"
    validators: tuple[RegexValidator, ...] = ()


@dataclass(frozen=True)
class ClassificationSpec:
    name: str
    labels: tuple[str, ...]
    multi_label: bool = False
    threshold: float = 0.5  # used for multi-label tasks (upstream `cls_threshold`)
    label_descriptions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FieldSpec:
    name: str
    dtype: str = "list"
    choices: tuple[str, ...] | None = None
    threshold: float | None = None
    description: str | None = None
    validators: tuple[RegexValidator, ...] = ()


@dataclass(frozen=True)
class StructureSpec:
    name: str
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True)
class RelationSpec:
    name: str
    description: str | None = None
    threshold: float | None = None


# --------------------------------------------------------------------------------------------
# validation helpers


def _name(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise SchemaError(path, f"expected a string name, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise SchemaError(path, "expected a non-empty name")
    return value.strip()


def _threshold(value: Any, path: str, allow_none: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchemaError(path, f"expected a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise SchemaError(path, f"expected a number in [0, 1], got {value!r}")
    return float(value)


def _description(value: Any, path: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SchemaError(path, f"expected a string description, got {type(value).__name__}")
    return value.strip() or None


def _dtype(value: Any, path: str) -> str:
    if value not in DTYPES:
        raise SchemaError(path, f"expected one of 'str', 'list', got {value!r}")
    return value


def _validators(value: Any, path: str) -> tuple[RegexValidator, ...]:
    """``RegexValidator``s, or mappings of their arguments (the declarative form)."""
    if value is None:
        return ()
    out = []
    for i, v in enumerate(_as_list(value, path)):
        p = f"{path}[{i}]"
        if isinstance(v, Mapping):
            _check_keys(v, {"pattern", "mode", "exclude", "flags"}, p)
            if "pattern" not in v:
                raise SchemaError(f"{p}.pattern", "missing; expected a regular expression")
            try:
                v = RegexValidator(**v)
            except SchemaError as err:
                raise SchemaError(f"{p}.{err.path}", err.message) from None
        elif not isinstance(v, RegexValidator):
            raise SchemaError(p, f"expected a RegexValidator or a mapping with a pattern, got {type(v).__name__}")
        out.append(v)
    return tuple(out)


def _unique(names: Iterable[str], path: str) -> None:
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            raise SchemaError(f"{path}[{i}]", f"duplicate name {n!r}")
        seen.add(n)


def _check_keys(d: Mapping, allowed: set[str], path: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise SchemaError(
            f"{path}.{unknown[0]}" if path else unknown[0], f"unknown key; expected one of {sorted(allowed)}"
        )


# --------------------------------------------------------------------------------------------
# builder


class Schema:
    """Fluent builder; every method validates its arguments and returns the builder."""

    def __init__(self) -> None:
        self._entities: list[EntitySpec] = []
        self._classifications: list[ClassificationSpec] = []
        self._structures: list[StructureSpec] = []
        self._relations: list[RelationSpec] = []

    # -- builder API ------------------------------------------------------------------------
    def entities(
        self,
        labels: str | Iterable[str] | Mapping[str, Any],
        threshold: float | None = None,
        dtype: str = "list",
        validators: Iterable[RegexValidator] | None = None,
    ) -> Schema:
        """Entity types: a name, a list of names, or a mapping name -> description or, as upstream, name ->
        ``{description, dtype, threshold, validators}`` (each over the call's own argument)."""
        path = "entities"
        defaults = {
            "threshold": _threshold(threshold, f"{path}.threshold"),
            "dtype": _dtype(dtype, f"{path}.dtype"),
            "validators": _validators(validators, f"{path}.validators"),
        }
        start = len(self._entities)
        for i, (n, value) in enumerate(_named(labels, path)):
            p = f"{path}[{start + i}]"
            self._add_entity(p, n, **{**defaults, **_config(value, p, ENTITY_KEYS)})
        _unique([e.name for e in self._entities], path)
        return self

    def _add_entity(self, path, name, description=None, threshold=None, dtype="list", validators=()) -> None:
        self._entities.append(
            EntitySpec(
                _name(name, path),
                _description(description, f"{path}.description"),
                _threshold(threshold, f"{path}.threshold"),
                _dtype(dtype, f"{path}.dtype"),
                _validators(validators, f"{path}.validators"),
            )
        )

    def classification(
        self,
        task: str,
        labels: Iterable[str] | Mapping[str, str | None],
        multi_label: bool = False,
        cls_threshold: float = 0.5,
    ) -> Schema:
        """A classification task over ``labels`` (list, or mapping label -> description)."""
        path = f"classifications[{len(self._classifications)}]"
        name = _name(task, f"{path}.name")
        if isinstance(labels, Mapping):
            pairs = [
                (_name(k, f"{path}.labels[{i}]"), _description(v, f"{path}.labels.{k}"))
                for i, (k, v) in enumerate(labels.items())
            ]
        else:
            pairs = [(_name(k, f"{path}.labels[{i}]"), None) for i, k in enumerate(_as_list(labels, f"{path}.labels"))]
        if len(pairs) < 2:
            raise SchemaError(f"{path}.labels", f"expected at least 2 labels, got {len(pairs)}")
        _unique([p[0] for p in pairs], f"{path}.labels")
        if not isinstance(multi_label, bool):
            raise SchemaError(f"{path}.multi_label", f"expected true or false, got {multi_label!r}")
        self._classifications.append(
            ClassificationSpec(
                name,
                tuple(p[0] for p in pairs),
                multi_label,
                _threshold(cls_threshold, f"{path}.threshold", False),
                tuple((k, v) for k, v in pairs if v),
            )
        )
        _unique([c.name for c in self._classifications], "classifications")
        return self

    def structure(self, name: str) -> StructureBuilder:
        """Start a structure; add fields with ``.field(...)`` on the returned builder."""
        path = f"structures[{len(self._structures)}]"
        spec = StructureSpec(_name(name, f"{path}.name"), ())
        if any(s.name == spec.name for s in self._structures):
            raise SchemaError(f"{path}.name", f"duplicate structure name {spec.name!r}")
        self._structures.append(spec)
        return StructureBuilder(self, len(self._structures) - 1)

    def relations(self, names: str | Iterable[str] | Mapping[str, Any], threshold: float | None = None) -> Schema:
        """Relation types (head, tail pairs): a name, names, or a mapping name -> description or, as upstream,
        name -> ``{description, threshold}``."""
        thr = _threshold(threshold, "relations.threshold")
        start = len(self._relations)
        for i, (n, value) in enumerate(_named(names, "relations")):
            p = f"relations[{start + i}]"
            self._add_relation(p, n, **{"threshold": thr, **_config(value, p, RELATION_KEYS)})
        _unique([r.name for r in self._relations], "relations")
        return self

    def _add_relation(self, path, name, description=None, threshold=None) -> None:
        self._relations.append(
            RelationSpec(
                _name(name, path),
                _description(description, f"{path}.description"),
                _threshold(threshold, f"{path}.threshold"),
            )
        )

    # -- declarative form -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Schema:
        """Build from the declarative form used in ``conf/schemas/*.yaml`` (see README), or from either of
        upstream's dict forms (``Schema.to_dict()`` or ``Schema.build()`` of ``gliner2``; ``schema_upstream``)."""
        if not isinstance(d, Mapping):
            raise SchemaError("", f"expected a mapping at the top of the schema, got {type(d).__name__}")
        from . import schema_upstream

        if schema_upstream.is_upstream_form(d):
            return schema_upstream.from_upstream(cls(), d)
        _check_keys(d, {"entities", "classifications", "structures", "relations"}, "")
        s = cls()
        for i, e in enumerate(_as_list(d.get("entities") or [], "entities")):
            p = f"entities[{i}]"
            if isinstance(e, Mapping):
                _check_keys(e, {"name", *ENTITY_KEYS}, p)
                s._add_entity(p, **{**e, "name": _name(e.get("name"), f"{p}.name")})
            else:
                s._add_entity(p, e)
        _unique([e.name for e in s._entities], "entities")
        for i, c in enumerate(_as_list(d.get("classifications") or [], "classifications")):
            p = f"classifications[{i}]"
            if not isinstance(c, Mapping):
                raise SchemaError(p, "expected a mapping with name and labels")
            _check_keys(c, {"name", "labels", "multi_label", "threshold"}, p)
            if "labels" not in c:
                raise SchemaError(f"{p}.labels", "missing; expected a list of labels or a mapping label -> description")
            s.classification(c.get("name"), c["labels"], c.get("multi_label", False), c.get("threshold", 0.5))
        for i, st in enumerate(_as_list(d.get("structures") or [], "structures")):
            p = f"structures[{i}]"
            if not isinstance(st, Mapping):
                raise SchemaError(p, "expected a mapping with name and fields")
            _check_keys(st, {"name", "fields"}, p)
            b = s.structure(st.get("name"))
            fields = _as_list(st.get("fields") or [], f"{p}.fields")
            if not fields:
                raise SchemaError(f"{p}.fields", "expected at least one field")
            for j, f in enumerate(fields):
                fp = f"{p}.fields[{j}]"
                if isinstance(f, Mapping):
                    _check_keys(f, {"name", "dtype", "choices", "threshold", "description", "validators"}, fp)
                    b.add_mapping(f, fp)
                else:
                    b._add(fp, f, "list", None, None, None)
        for i, r in enumerate(_as_list(d.get("relations") or [], "relations")):
            p = f"relations[{i}]"
            if isinstance(r, Mapping):
                _check_keys(r, {"name", *RELATION_KEYS}, p)
                s._add_relation(p, **{**r, "name": _name(r.get("name"), f"{p}.name")})
            else:
                s._add_relation(p, r)
        _unique([r.name for r in s._relations], "relations")
        return s

    @classmethod
    def from_json(cls, text: str) -> Schema:
        """``from_dict`` of a JSON document (any of the forms ``from_dict`` reads)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SchemaError("", f"not valid JSON: {err}") from None
        return cls.from_dict(data)

    def to_dict(self, form: str = "declarative") -> dict[str, Any]:
        """The declarative form, with every default written out (round-trips through ``from_dict``), or with
        ``form="upstream"`` what ``gliner2``'s ``Schema.to_dict()`` writes for the same schema."""
        if form == "upstream":
            from .schema_upstream import to_upstream

            return to_upstream(self)
        if form != "declarative":
            raise ValueError(f"form: expected 'declarative' or 'upstream', got {form!r}")
        return _canonical(self)

    # proxies so a structure builder chain can continue with other tasks
    def build(self) -> Schema:
        return self


class StructureBuilder:
    """Adds fields to one structure; other builder calls go back to the parent schema."""

    def __init__(self, schema: Schema, index: int):
        self._schema, self._index = schema, index

    def field(
        self,
        name: str,
        dtype: str = "list",
        choices: Iterable[str] | None = None,
        description: str | None = None,
        threshold: float | None = None,
        validators: Iterable[RegexValidator] | None = None,
    ) -> StructureBuilder:
        """A field: ``dtype="str"`` keeps the best span, ``"list"`` all; ``choices`` make it a choice field;
        ``validators`` filter a span field's spans."""
        spec = self._schema._structures[self._index]
        path = f"structures[{self._index}].fields[{len(spec.fields)}]"
        return self._add(path, name, dtype, choices, description, threshold, validators)

    def add_mapping(self, f: Mapping, path: str) -> StructureBuilder:
        """A field written as a mapping (``name``, ``dtype``, ``choices``, ... keys already checked)."""
        return self._add(
            path,
            f.get("name"),
            f.get("dtype", "list"),
            f.get("choices"),
            f.get("description"),
            f.get("threshold"),
            f.get("validators"),
        )

    def _add(self, path, name, dtype, choices, description, threshold, validators=None) -> StructureBuilder:
        spec = self._schema._structures[self._index]
        if choices is not None:
            choices = tuple(
                _name(c, f"{path}.choices[{i}]") for i, c in enumerate(_as_list(choices, f"{path}.choices"))
            )
            if len(choices) < 1:
                raise SchemaError(f"{path}.choices", "expected at least one choice")
            _unique(choices, f"{path}.choices")
        checks = _validators(validators, f"{path}.validators")
        if checks and choices is not None:
            raise SchemaError(f"{path}.validators", "validators filter spans; a choice field has none")
        f = FieldSpec(
            _name(name, f"{path}.name"),
            _dtype(dtype, f"{path}.dtype"),
            choices,
            _threshold(threshold, f"{path}.threshold"),
            _description(description, f"{path}.description"),
            checks,
        )
        if any(x.name == f.name for x in spec.fields):
            raise SchemaError(f"{path}.name", f"duplicate field name {f.name!r}")
        self._schema._structures[self._index] = StructureSpec(spec.name, spec.fields + (f,))
        return self

    def __getattr__(self, item):  # entities / classification / structure / relations / to_dict / build
        return getattr(self._schema, item)


def _named(items: Any, path: str) -> list[tuple[Any, Any]]:
    """(name, value) pairs of a name, a list of names, or a mapping name -> value."""
    if isinstance(items, str):
        return [(items, None)]
    if isinstance(items, Mapping):
        return list(items.items())
    return [(n, None) for n in _as_list(items, path)]


def _config(value: Any, path: str, keys: set[str]) -> dict[str, Any]:
    """The value of a named entity or relation: a description, or a mapping of ``keys``."""
    if isinstance(value, Mapping):
        _check_keys(value, keys, path)
        return dict(value)
    return {"description": value} if value is not None else {}


def _as_list(value: Any, path: str) -> list:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise SchemaError(path, f"expected a list, got {type(value).__name__} {value!r}")
    return list(value)


# --------------------------------------------------------------------------------------------
# compiled form


@dataclass(frozen=True)
class CompiledSchema:
    """A validated schema, ready for the model: specs, task serialization, output layout and hash."""

    entities: tuple[EntitySpec, ...]
    classifications: tuple[ClassificationSpec, ...]
    structures: tuple[StructureSpec, ...]
    relations: tuple[RelationSpec, ...]
    schema_hash: str = field(default="")

    def tasks(self) -> list[Task]:
        """Tasks in the reference's sequence order: structures, entities, relations, classifications."""
        out: list[Task] = []
        for s in self.structures:
            described = [f" [DESCRIPTION] {f.name}: {f.description}" for f in s.fields if f.description]
            out.append(Task("structure", s.name, s.name + "".join(described), "[C]", tuple(f.name for f in s.fields)))
        if self.entities:
            described = [f" [DESCRIPTION] {e.name}: {e.description}" for e in self.entities if e.description]
            out.append(
                Task(
                    "entities", "entities", "entities" + "".join(described), "[E]", tuple(e.name for e in self.entities)
                )
            )
        for r in self.relations:
            prompt = f"{r.name}: {r.description}" if r.description else r.name
            out.append(Task("relation", r.name, prompt, "[R]", ("head", "tail")))
        for c in self.classifications:
            described = "".join(f" [DESCRIPTION] {k}: {v}" for k, v in c.label_descriptions)
            out.append(Task("classification", c.name, c.name + described, "[L]", c.labels))
        return out

    def choice_prefix(self) -> list[str]:
        """Words prepended to the text words for structures with choice fields."""
        words: list[str] = []
        for s in self.structures:
            groups = [[f.name, "(", *_interleave(f.choices, "|"), ")"] for f in s.fields if f.choices]
            if not groups:
                continue
            words += ["(", f"{s.name}:"]
            for i, g in enumerate(groups):
                words += ([","] if i else []) + g
            words.append(")")
        return words

    def to_dict(self) -> dict[str, Any]:
        return _canonical(self)


@dataclass(frozen=True)
class Task:
    kind: str  # structure | entities | relation | classification
    name: str
    prompt: str
    marker: str
    children: tuple[str, ...]

    def elements(self) -> list[str]:
        body: list[str] = []
        for c in self.children:
            body += [self.marker, c]
        return ["(", "[P]", self.prompt, "(", *body, ")", ")"]


def _interleave(items, sep):
    out = []
    for i, x in enumerate(items):
        out += ([sep] if i else []) + [x]
    return out


def _canonical(s) -> dict[str, Any]:
    ents = s._entities if isinstance(s, Schema) else s.entities
    clss = s._classifications if isinstance(s, Schema) else s.classifications
    structs = s._structures if isinstance(s, Schema) else s.structures
    rels = s._relations if isinstance(s, Schema) else s.relations
    return {
        "entities": [_spec_dict(e) for e in ents],
        "classifications": [
            {
                "name": c.name,
                "labels": {k: dict(c.label_descriptions).get(k) for k in c.labels},
                "multi_label": c.multi_label,
                "threshold": c.threshold,
            }
            for c in clss
        ],
        "structures": [
            {
                "name": st.name,
                "fields": [{**_spec_dict(f), "choices": list(f.choices) if f.choices else None} for f in st.fields],
            }
            for st in structs
        ],
        "relations": [asdict(r) for r in rels],
    }


def _spec_dict(spec: EntitySpec | FieldSpec) -> dict[str, Any]:
    """A spec as a mapping; validators only when there are some, so that schemas without any keep the
    ``schema_hash`` they had before validators existed."""
    d = asdict(spec)
    d["validators"] = [asdict(v) for v in spec.validators]
    if not d["validators"]:
        del d["validators"]
    return d


def compile_schema(schema: Schema | CompiledSchema | Mapping[str, Any]) -> CompiledSchema:
    """Validate and compile a schema (builder, mapping in any form ``Schema.from_dict`` reads, or compiled)."""
    if isinstance(schema, CompiledSchema):
        return schema
    if isinstance(schema, Mapping):
        schema = Schema.from_dict(schema)
    if isinstance(schema, StructureBuilder):
        schema = schema._schema
    if not isinstance(schema, Schema):
        raise SchemaError("", f"expected a Schema, a mapping or a CompiledSchema, got {type(schema).__name__}")
    if not (schema._entities or schema._classifications or schema._structures or schema._relations):
        raise SchemaError("", "the schema asks for nothing: add entities, classifications, structures or relations")
    for i, st in enumerate(schema._structures):
        if not st.fields:
            raise SchemaError(f"structures[{i}].fields", f"structure {st.name!r} has no fields")
    # Thresholds, dtypes, names, descriptions and their order all change what the model is asked or
    # what is returned, so all of them are hashed; formatting and how defaults were written are not.
    canonical = json.dumps(_canonical(schema), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    return CompiledSchema(
        tuple(schema._entities),
        tuple(schema._classifications),
        tuple(schema._structures),
        tuple(schema._relations),
        digest,
    )


def load_schema(source: str | Mapping[str, Any]) -> CompiledSchema:
    """Load and compile a schema from a YAML/JSON file path or a mapping (YAML is loaded safely)."""
    if isinstance(source, Mapping):
        return compile_schema(source)
    import yaml

    with open(source, encoding="utf-8") as fh:
        data = json.load(fh) if str(source).endswith(".json") else yaml.safe_load(fh)
    try:
        return compile_schema(data if data is not None else {})
    except SchemaError as err:
        raise SchemaError(f"{source}: {err.path}", str(err).split(": ", 1)[-1]) from None
