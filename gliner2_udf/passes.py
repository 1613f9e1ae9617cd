"""Schemas too large for the encoder window: split into passes that each fit, then merge the answers.

Every pass leaves at least ``MIN_TEXT_TOKENS`` of the window for the text. Entity types are packed
into as few passes as fit; structures, relations and classification tasks move whole (a structure's
fields must be scored together to form instances, a single-label task's labels compete in one softmax).
A unit that cannot fit on its own is a schema error, raised on the driver before any work.
"""

from __future__ import annotations

from dataclasses import replace

from .schema import CompiledSchema, SchemaError

MIN_TEXT_TOKENS = 64


def plan_passes(compiled: CompiledSchema, schema_length, max_tokens: int) -> list[CompiledSchema]:
    """``schema_length(compiled) -> tokens``; returns ``[compiled]`` when it fits in one pass."""
    budget = max_tokens - MIN_TEXT_TOKENS
    if schema_length(compiled) <= budget:
        return [compiled]
    empty = replace(compiled, entities=(), classifications=(), structures=(), relations=())
    passes: list[CompiledSchema] = []
    current = empty

    def add(kind: str, item, where: str):
        nonlocal current
        grown = replace(current, **{kind: getattr(current, kind) + (item,)})
        if schema_length(grown) <= budget:
            current = grown
            return
        alone = replace(empty, **{kind: (item,)})
        if schema_length(alone) > budget:
            raise SchemaError(
                where,
                f"needs {schema_length(alone)} encoder tokens on its own; the window is "
                f"{max_tokens} with {MIN_TEXT_TOKENS} kept for the text",
            )
        passes.append(current)
        current = alone

    for i, e in enumerate(compiled.entities):
        add("entities", e, f"entities[{i}]")
    for i, s in enumerate(compiled.structures):
        add("structures", s, f"structures[{i}]")
    for i, r in enumerate(compiled.relations):
        add("relations", r, f"relations[{i}]")
    for i, c in enumerate(compiled.classifications):
        add("classifications", c, f"classifications[{i}]")
    passes.append(current)
    return [replace(p, schema_hash=f"{compiled.schema_hash}.{n}") for n, p in enumerate(passes) if _asks(p)]


def _asks(p: CompiledSchema) -> bool:
    return bool(p.entities or p.classifications or p.structures or p.relations)
