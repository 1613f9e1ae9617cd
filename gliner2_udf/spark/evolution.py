"""Schema changes on an existing output table: checked on the driver before any extraction.

A new schema version (another ``schema_hash``) writes its rows beside the old ones. Columns it adds (a new entity
type, a new structure field) are added to the table by the write itself (Delta schema evolution: ``mergeSchema``
for appends, ``withSchemaEvolution`` for merges); the old rows hold nulls there and stay queryable by their
``schema_hash``. Columns it no longer writes stay in the table, null in the new rows. A column whose type changes
(a field's ``dtype`` from ``str`` to ``list``, a single-label classification made multi-label) cannot be merged:
``check_output`` stops the run with one line naming the column and the ways out.

Example::

    added = check_output(spark, cfg.output, extract_docs(docs.limit(0)).schema)   # before extracting
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import types as T

from ..config import OutputConfig
from ..errors import ConfigError
from . import io


def compare(old: T.DataType, new: T.DataType, name: str = "") -> tuple[list[str], list[tuple[str, str, str]]]:
    """``(added, conflicts)`` between a table's type and the type a run writes: the column paths ``new`` adds,
    and ``(path, old type, new type)`` for each column whose type differs (nullability aside)."""
    if isinstance(old, T.StructType) and isinstance(new, T.StructType):
        fields = {f.name.lower(): f for f in old.fields}
        added: list[str] = []
        conflicts: list[tuple[str, str, str]] = []
        for f in new.fields:
            path = f"{name}.{f.name}" if name else f.name
            if f.name.lower() not in fields:
                added.append(path)
                continue
            a, c = compare(fields[f.name.lower()].dataType, f.dataType, path)
            added += a
            conflicts += c
        return added, conflicts
    if isinstance(old, T.ArrayType) and isinstance(new, T.ArrayType):
        return compare(old.elementType, new.elementType, f"{name}[]")
    if isinstance(old, T.MapType) and isinstance(new, T.MapType):
        ka, kc = compare(old.keyType, new.keyType, f"{name}{{key}}")
        va, vc = compare(old.valueType, new.valueType, f"{name}{{value}}")
        return ka + va, kc + vc
    if type(old) is type(new) and (not isinstance(old, T.DecimalType) or old == new):
        return [], []
    return [], [(name, old.simpleString(), new.simpleString())]


def check_output(spark: SparkSession, cfg: OutputConfig, written: T.StructType) -> list[str]:
    """The column paths a run writing ``written`` adds to the existing output table (none when the table does not
    exist yet, or is replaced: ``mode: overwrite``); a ``ConfigError`` naming the first column whose type changed."""
    if cfg.mode == "overwrite" or not io.output_exists(spark, cfg):
        return []
    added, conflicts = compare(io.read_output(spark, cfg).schema, written)
    if conflicts:
        path, old, new = conflicts[0]
        key, where = ("output.table", cfg.table) if cfg.table else ("output.path", cfg.path)
        more = f" (and {len(conflicts) - 1} more column(s))" if len(conflicts) > 1 else ""
        raise ConfigError(
            key,
            f"column {path!r} is {old} in {where!r} but this schema writes {new}{more}; a column's type cannot "
            f"change in place: write to a new table ({key}) or replace this one (output.mode: overwrite)",
        )
    return added
