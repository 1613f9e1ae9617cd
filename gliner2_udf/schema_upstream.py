"""The upstream package's two dict forms of a schema, read into and written from our ``Schema``.

``gliner2==2.1.0`` writes a schema as a dict in two ways:

* ``Schema.to_dict()`` (read back by its ``Schema.from_dict``): ``{"entities": [names] or {name: description
  or {description, dtype, threshold}}, "structures": {name: {"fields": [{name, dtype, choices, description,
  threshold}]}}, "classifications": [{task, labels, multi_label, cls_threshold}], "relations": [names] or
  {name: description or {description, threshold}}}``, defaults left out;
* ``Schema.build()`` (what its ``extract`` takes as a dict): ``{"json_structures": [{parent: {field: "" or
  {"value": "", "choices": [...]}}}], "entities": {name: ""}, "classifications": [...], "relations": [{name:
  {"head": "", "tail": ""}}], "json_descriptions", "entity_descriptions", "relation_descriptions"}``. It
  carries no dtype or threshold: every field and entity gets upstream's defaults (``list``, the call's
  threshold), as upstream gives a dict schema.

``Schema.from_dict`` sends a mapping here when ``is_upstream_form`` says so; errors name the path in the
form as written (``structures.deal.fields[1].dtype``, ``json_structures[0].deal.currency.choices``).
Both forms may carry ``validators`` (``[{pattern, mode, exclude, flags}]``) on entity configs and fields,
which ``to_upstream`` writes when a schema has some; 2.1.0 itself drops validators from ``to_dict``.
Options we do not implement (record ``mode``/``anchor``/``occurrence_policy``, ``cardinality``,
``exclusive``, ``top_k``, ``class_act``, ``prompt``, ``examples``, ``entity_attributes``) are refused by path
unless they hold upstream's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from .schema import (
    ENTITY_KEYS,
    RELATION_KEYS,
    Schema,
    SchemaError,
    _as_list,
    _check_keys,
    _config,
    _name,
    _named,
    _threshold,
    _unique,
)

BUILD_KEYS = {"json_structures", "json_descriptions", "entity_descriptions", "relation_descriptions"}
TO_DICT_KEYS = {"entities", "structures", "classifications", "relations", "entity_attributes"}
FIELD_KEYS = {"name", "dtype", "choices", "description", "threshold", "validators", "cardinality", "exclusive"}
CLASSIFICATION_KEYS = {
    "task",
    "labels",
    "multi_label",
    "cls_threshold",
    "label_descriptions",
    "top_k",
    "class_act",
    "prompt",
    "examples",
}
# options of upstream's that we refuse unless they hold these (its defaults)
UNSUPPORTED = {
    "mode": None,
    "anchor": None,
    "occurrence_policy": None,
    "cardinality": None,
    "exclusive": False,
    "top_k": None,
    "class_act": "auto",
    "prompt": None,
    "examples": None,
}


def is_upstream_form(d: Mapping[str, Any]) -> bool:
    """Whether a schema mapping is in one of upstream's forms rather than our declarative form."""
    if (BUILD_KEYS | {"entity_attributes"}) & set(d):
        return True
    if any(isinstance(d.get(k), Mapping) for k in ("entities", "structures", "relations")):
        return True
    tasks = d.get("classifications")
    return isinstance(tasks, list) and any(isinstance(c, Mapping) and "task" in c for c in tasks)


def from_upstream(schema: Schema, d: Mapping[str, Any]) -> Schema:
    """Fill an empty ``schema`` from either upstream form."""
    if BUILD_KEYS & set(d):
        _check_keys(d, BUILD_KEYS | {"entities", "classifications", "relations"}, "")
        _from_build(schema, d)
    else:
        _check_keys(d, TO_DICT_KEYS, "")
        if "entity_attributes" in d:
            raise SchemaError("entity_attributes", "entity attribute groups are not supported")
        _from_to_dict(schema, d)
    for i, c in enumerate(_as_list(d.get("classifications") or [], "classifications")):
        _classification(schema, c, f"classifications[{i}]")
    _unique([e.name for e in schema._entities], "entities")
    _unique([r.name for r in schema._relations], "relations")
    return schema


def _refuse_unsupported(d: Mapping[str, Any], path: str) -> None:
    for key, default in UNSUPPORTED.items():
        if d.get(key) not in (None, default, []):
            raise SchemaError(f"{path}.{key}", f"not supported by gliner2_udf (only {default!r})")


def _from_to_dict(schema: Schema, d: Mapping[str, Any]) -> None:
    for i, (name, value) in enumerate(_named(d.get("entities") or [], "entities")):
        p = f"entities.{name}" if isinstance(d["entities"], Mapping) else f"entities[{i}]"
        schema._add_entity(p, name, **_config(value, p, ENTITY_KEYS))
    structures = d.get("structures") or {}
    if not isinstance(structures, Mapping):
        raise SchemaError(
            "structures", f"expected a mapping name -> {{fields: [...]}}, got {type(structures).__name__}"
        )
    for name, st in structures.items():
        p = f"structures.{name}"
        if not isinstance(st, Mapping):
            raise SchemaError(p, "expected a mapping with fields")
        _check_keys(st, {"fields", "mode", "anchor", "occurrence_policy"}, p)
        _refuse_unsupported(st, p)
        builder = schema.structure(_name(name, p))
        fields = _as_list(st.get("fields") or [], f"{p}.fields")
        if not fields:
            raise SchemaError(f"{p}.fields", "expected at least one field")
        for j, f in enumerate(fields):
            fp = f"{p}.fields[{j}]"
            if not isinstance(f, Mapping):
                raise SchemaError(fp, "expected a mapping with a name")
            _check_keys(f, FIELD_KEYS, fp)
            _refuse_unsupported(f, fp)
            builder.add_mapping(f, fp)
    for i, (name, value) in enumerate(_named(d.get("relations") or [], "relations")):
        p = f"relations.{name}" if isinstance(d["relations"], Mapping) else f"relations[{i}]"
        schema._add_relation(p, name, **_config(value, p, RELATION_KEYS))


def _from_build(schema: Schema, d: Mapping[str, Any]) -> None:
    described = _mapping(d.get("entity_descriptions"), "entity_descriptions")
    for i, (name, value) in enumerate(_named(d.get("entities") or [], "entities")):
        p = f"entities.{name}" if isinstance(d["entities"], Mapping) else f"entities[{i}]"
        if value not in (None, ""):
            raise SchemaError(p, "expected '' (in this form descriptions go in entity_descriptions)")
        schema._add_entity(p, name, described.get(name))
    _known(described, [e.name for e in schema._entities], "entity_descriptions")

    parents: dict[str, dict[str, tuple[str, Any]]] = {}  # parent -> field -> (path, choices); merged by name
    for i, st in enumerate(_as_list(d.get("json_structures") or [], "json_structures")):
        for parent, fields in _mapping(st, f"json_structures[{i}]").items():
            p = f"json_structures[{i}].{parent}"
            for field, value in _mapping(fields, p).items():
                choices = None
                if isinstance(value, Mapping):
                    _check_keys(value, {"value", "choices"}, f"{p}.{field}")
                    choices = value.get("choices")
                elif value not in (None, ""):
                    raise SchemaError(f"{p}.{field}", "expected '' or {value: '', choices: [...]}")
                parents.setdefault(parent, {}).setdefault(field, (f"{p}.{field}", choices))
    descriptions = _mapping(d.get("json_descriptions"), "json_descriptions")
    _known(descriptions, parents, "json_descriptions")
    for parent, fields in parents.items():
        field_descriptions = _mapping(descriptions.get(parent), f"json_descriptions.{parent}")
        _known(field_descriptions, fields, f"json_descriptions.{parent}")
        builder = schema.structure(_name(parent, "json_structures"))
        for field, (path, choices) in fields.items():
            builder._add(path, field, "list", choices, field_descriptions.get(field), None)

    described = _mapping(d.get("relation_descriptions"), "relation_descriptions")
    for i, r in enumerate(_as_list(d.get("relations") or [], "relations")):
        p = f"relations[{i}]"
        if isinstance(r, Mapping):  # {name: {"head": "", "tail": ""}}
            if len(r) != 1:
                raise SchemaError(p, "expected one mapping name -> {head: '', tail: ''}")
            (r,) = r
        schema._add_relation(p, r, described.get(r))
    _known(described, [r.name for r in schema._relations], "relation_descriptions")


def _classification(schema: Schema, c: Any, path: str) -> None:
    if not isinstance(c, Mapping):
        raise SchemaError(path, "expected a mapping with task and labels")
    _check_keys(c, CLASSIFICATION_KEYS, path)
    _refuse_unsupported(c, path)
    if "labels" not in c:
        raise SchemaError(f"{path}.labels", "missing; expected a list of labels or a mapping label -> description")
    labels = c["labels"]
    descriptions = _mapping(c.get("label_descriptions"), f"{path}.label_descriptions")
    if descriptions and not isinstance(labels, Mapping):
        labels = {label: descriptions.get(label) for label in _as_list(labels, f"{path}.labels")}
    schema.classification(
        _name(c.get("task"), f"{path}.task"),
        labels,
        c.get("multi_label", False),
        _threshold(c.get("cls_threshold", 0.5), f"{path}.cls_threshold", False),
    )


def _mapping(value: Any, path: str) -> Mapping:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SchemaError(path, f"expected a mapping, got {type(value).__name__}")
    return value


def _known(described: Mapping, names, path: str) -> None:
    for name in described:
        if name not in names:
            raise SchemaError(f"{path}.{name}", "describes nothing the schema asks for")


# --------------------------------------------------------------------------------------------
# writing


def to_upstream(schema: Schema) -> dict[str, Any]:
    """What ``gliner2``'s ``Schema.to_dict()`` writes for this schema (plus ``validators`` where set)."""
    out: dict[str, Any] = {}
    if schema._entities:
        configs = {
            e.name: _present(
                description=e.description,
                dtype=e.dtype if e.dtype != "list" else None,
                threshold=e.threshold,
                validators=_written(e.validators),
            )
            for e in schema._entities
        }
        out["entities"] = _compact(configs)
    if schema._structures:
        out["structures"] = {
            st.name: {
                "fields": [
                    {
                        "name": f.name,
                        **_present(
                            dtype=f.dtype if f.dtype != "list" else None,
                            choices=list(f.choices) if f.choices else None,
                            description=f.description,
                            threshold=f.threshold,
                            validators=_written(f.validators),
                        ),
                    }
                    for f in st.fields
                ]
            }
            for st in schema._structures
        }
    if schema._classifications:
        out["classifications"] = [
            {
                "task": c.name,
                "labels": {k: dict(c.label_descriptions).get(k, "") for k in c.labels}
                if c.label_descriptions
                else list(c.labels),
                **_present(
                    multi_label=c.multi_label or None, cls_threshold=c.threshold if c.threshold != 0.5 else None
                ),
            }
            for c in schema._classifications
        ]
    if schema._relations:
        out["relations"] = _compact(
            {r.name: _present(description=r.description, threshold=r.threshold) for r in schema._relations}
        )
    return out


def _present(**values) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _written(validators) -> list[dict] | None:
    return [asdict(v) for v in validators] or None


def _compact(configs: dict[str, dict]) -> list[str] | dict[str, Any]:
    """Names alone when nothing is configured; a description alone as its string (as upstream writes)."""
    if not any(configs.values()):
        return list(configs)
    return {n: c["description"] if set(c) == {"description"} else c for n, c in configs.items()}
