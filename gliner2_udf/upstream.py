"""The upstream ``gliner2`` convenience API, on our engine: ``GLiNER2`` inherits ``UpstreamAPI``.

``create_schema``, ``extract_entities``, ``classify_text``, ``extract_json``, ``extract_relations`` and their
``batch_`` forms take upstream's (``gliner2==2.1.0``) argument names, order and defaults and give its result
shapes; each builds a ``Schema`` and runs ``self.batch_extract``, so results follow our engine where we
differ from the reference on purpose (README, "Differences from the reference").

Arguments of upstream's that we cannot honour (``format_results=False``: raw per-task values; ``max_len``:
truncation by words, which our sub-token windowing replaces; ``overlap_policy``: other span decoders) are
accepted at upstream's default and refused otherwise with a ``ValueError`` naming the argument, rather than
ignored: a result computed differently from what the call asked must not pass for the asked one. Task
options we do not implement (``top_k``, ``class_act``, ``prompt``, ``examples`` in ``classify_text``) are
refused the same way, as a ``SchemaError`` naming the option's path. No torch import here.
"""

from __future__ import annotations

from typing import Any

from .schema import Schema

# upstream-only arguments, and the only value of each we accept (upstream's default)
DEFAULTS = {"format_results": True, "max_len": None, "overlap_policy": None}


class UpstreamAPI:
    """Upstream's convenience methods; the class they are mixed into provides ``batch_extract``."""

    def create_schema(self) -> Schema:
        """An empty schema builder (``Schema()``)."""
        return Schema()

    # -- entities ---------------------------------------------------------------------------
    def extract_entities(
        self,
        text: str,
        entity_types,
        threshold: float = 0.5,
        format_results: bool = True,
        include_confidence: bool = False,
        include_spans: bool = False,
        max_len: int | None = None,
        overlap_policy: str | None = None,
    ) -> dict:
        """``{"entities": {type: [...]}}`` for one text; ``entity_types`` as ``Schema.entities`` takes them."""
        _refuse("extract_entities", format_results=format_results, max_len=max_len, overlap_policy=overlap_policy)
        return self.batch_extract(
            [text], Schema().entities(entity_types), 1, threshold, include_confidence, include_spans
        )[0]

    def batch_extract_entities(
        self,
        texts: list[str],
        entity_types,
        batch_size: int = 8,
        threshold: float = 0.5,
        format_results: bool = True,
        include_confidence: bool = False,
        include_spans: bool = False,
        max_len: int | None = None,
        overlap_policy: str | None = None,
    ) -> list[dict]:
        """``extract_entities`` for each text."""
        _refuse("batch_extract_entities", format_results=format_results, max_len=max_len, overlap_policy=overlap_policy)
        return self.batch_extract(
            texts, Schema().entities(entity_types), batch_size, threshold, include_confidence, include_spans
        )

    # -- classification ---------------------------------------------------------------------
    def classify_text(
        self,
        text: str,
        tasks: dict,
        threshold: float = 0.5,
        format_results: bool = True,
        include_confidence: bool = False,
        include_spans: bool = False,
        max_len: int | None = None,
        overlap_policy: str | None = None,
    ) -> dict:
        """``{task: label or [labels]}``; ``tasks`` maps a task to its labels, or to ``{"labels": ...,
        "multi_label": ..., "cls_threshold": ...}``."""
        _refuse("classify_text", format_results=format_results, max_len=max_len, overlap_policy=overlap_policy)
        return self.batch_extract(
            [text], classification_schema(tasks), 1, threshold, include_confidence, include_spans
        )[0]

    def batch_classify_text(
        self,
        texts: list[str],
        tasks: dict,
        batch_size: int = 8,
        threshold: float = 0.5,
        format_results: bool = True,
        include_confidence: bool = False,
        include_spans: bool = False,
        max_len: int | None = None,
        overlap_policy: str | None = None,
    ) -> list[dict]:
        """``classify_text`` for each text."""
        _refuse("batch_classify_text", format_results=format_results, max_len=max_len, overlap_policy=overlap_policy)
        return self.batch_extract(
            texts, classification_schema(tasks), batch_size, threshold, include_confidence, include_spans
        )

    # -- structures -------------------------------------------------------------------------
    def extract_json(
        self,
        text: str,
        structures: dict,
        threshold: float = 0.5,
        format_results: bool = True,
        include_confidence: bool = False,
        include_spans: bool = False,
        max_len: int | None = None,
        overlap_policy: str | None = None,
    ) -> dict:
        """``{structure: [instance, ...]}``; ``structures`` maps a name to its fields, each a string
        ``"name::str::description"`` / ``"name::[a|b|c]::list"`` or a mapping ``{name, dtype, choices, ...}``."""
        _refuse("extract_json", format_results=format_results, max_len=max_len, overlap_policy=overlap_policy)
        return self.batch_extract([text], json_schema(structures), 1, threshold, include_confidence, include_spans)[0]

    def batch_extract_json(
        self,
        texts: list[str],
        structures: dict,
        batch_size: int = 8,
        threshold: float = 0.5,
        format_results: bool = True,
        include_confidence: bool = False,
        include_spans: bool = False,
        max_len: int | None = None,
        overlap_policy: str | None = None,
    ) -> list[dict]:
        """``extract_json`` for each text."""
        _refuse("batch_extract_json", format_results=format_results, max_len=max_len, overlap_policy=overlap_policy)
        return self.batch_extract(
            texts, json_schema(structures), batch_size, threshold, include_confidence, include_spans
        )

    # -- relations --------------------------------------------------------------------------
    def extract_relations(
        self,
        text: str,
        relation_types,
        threshold: float = 0.5,
        format_results: bool = True,
        include_confidence: bool = False,
        include_spans: bool = False,
        max_len: int | None = None,
        overlap_policy: str | None = None,
    ) -> dict:
        """``{"relation_extraction": {relation: [(head, tail), ...]}}``; types as ``Schema.relations``."""
        _refuse("extract_relations", format_results=format_results, max_len=max_len, overlap_policy=overlap_policy)
        return self.batch_extract(
            [text], Schema().relations(relation_types), 1, threshold, include_confidence, include_spans
        )[0]

    def batch_extract_relations(
        self,
        texts: list[str],
        relation_types,
        batch_size: int = 8,
        threshold: float = 0.5,
        format_results: bool = True,
        include_confidence: bool = False,
        include_spans: bool = False,
        max_len: int | None = None,
        overlap_policy: str | None = None,
    ) -> list[dict]:
        """``extract_relations`` for each text."""
        _refuse(
            "batch_extract_relations", format_results=format_results, max_len=max_len, overlap_policy=overlap_policy
        )
        return self.batch_extract(
            texts, Schema().relations(relation_types), batch_size, threshold, include_confidence, include_spans
        )


def _refuse(method: str, **arguments: Any) -> None:
    for name, value in arguments.items():
        if value != DEFAULTS[name]:
            raise ValueError(
                f"{method}: {name}={value!r} is not supported by gliner2_udf; leave it at upstream's default "
                f"{DEFAULTS[name]!r} (see gliner2_udf.upstream)"
            )


def classification_schema(tasks: dict) -> Schema:
    """``classify_text``'s tasks as a schema, read as upstream's classification list."""
    return Schema.from_dict(
        {
            "classifications": [
                {"task": name, **config}
                if isinstance(config, dict) and "labels" in config
                else {"task": name, "labels": config}
                for name, config in tasks.items()
            ]
        }
    )


def json_schema(structures: dict) -> Schema:
    """``extract_json``'s structures as a schema, read as upstream's ``{"structures": ...}`` form."""
    return Schema.from_dict(
        {
            "structures": {
                name: {"fields": [parse_field(spec) if isinstance(spec, str) else spec for spec in fields]}
                for name, fields in structures.items()
            }
        }
    )


def parse_field(spec: str) -> dict[str, Any]:
    """``"name::str::description"`` or ``"name::[a|b|c]::list"`` as a field mapping: after the name, ``str`` or
    ``list`` is the dtype, ``[...]`` the choices (``|``-separated; a choice field is ``str`` unless a dtype
    is given), anything else the description."""
    name, *parts = spec.split("::")
    field: dict[str, Any] = {"name": name, "dtype": "list"}
    explicit_dtype = False
    for part in parts:
        if part in ("str", "list"):
            field["dtype"], explicit_dtype = part, True
        elif part.startswith("[") and part.endswith("]"):
            field["choices"] = [c.strip() for c in part[1:-1].split("|")]
            field["dtype"] = field["dtype"] if explicit_dtype else "str"
        else:
            field["description"] = part
    return field
