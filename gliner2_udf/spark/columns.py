"""Spark types of the output, from a :class:`~gliner2_udf.rows.Layout`.

Types (``span`` = ``struct<text: string, score: double, start: int, end: int>``, offsets are character
offsets into the stored text, ``end`` exclusive)::

    <id>, <passthrough...>          as in the input
    entities                        array<struct<label: string, text: string, start: int, end: int, score: double>>
    <entity type>                   array<string>                      one column per entity type
    <classification>                string          | array<string>    (multi-label)
    <classification>_score          double          | array<double>
    <structure>                     array<struct<<str field>: span, <list field>: array<span>>>
    relations                       array<struct<relation: string, head: span, tail: span>>  (schemas with relations)
    status, error                   string, string
    model_version, schema_hash      string, string
    extracted_at                    timestamp                           the run's start, the same for every row

A ``str`` structure field is a ``span`` struct rather than a bare string so that it keeps its score and
offsets (``order.customer.text`` in SQL); a ``list`` field is an array of them.
"""

from __future__ import annotations

from pyspark.sql import types as T

from ..rows import Layout

SPAN = T.StructType(
    [
        T.StructField("text", T.StringType()),
        T.StructField("score", T.DoubleType()),
        T.StructField("start", T.IntegerType()),
        T.StructField("end", T.IntegerType()),
    ]
)
ENTITY = T.StructType(
    [
        T.StructField("label", T.StringType()),
        T.StructField("text", T.StringType()),
        T.StructField("start", T.IntegerType()),
        T.StructField("end", T.IntegerType()),
        T.StructField("score", T.DoubleType()),
    ]
)
RELATION = T.StructType(
    [T.StructField("relation", T.StringType()), T.StructField("head", SPAN), T.StructField("tail", SPAN)]
)


def result_type(layout: Layout) -> T.StructType:
    """The struct the UDF returns: every column of ``layout.result_columns()``."""
    fields = [T.StructField("entities", T.ArrayType(ENTITY))]
    fields += [T.StructField(e.column, T.ArrayType(T.StringType())) for e in layout.entities]
    for c in layout.classifications:
        if c.multi_label:
            fields += [
                T.StructField(c.column, T.ArrayType(T.StringType())),
                T.StructField(c.score_column, T.ArrayType(T.DoubleType())),
            ]
        else:
            fields += [T.StructField(c.column, T.StringType()), T.StructField(c.score_column, T.DoubleType())]
    for s in layout.structures:
        inner = T.StructType([T.StructField(f.column, T.ArrayType(SPAN) if f.is_list else SPAN) for f in s.fields])
        fields.append(T.StructField(s.column, T.ArrayType(inner)))
    if layout.relations:
        fields.append(T.StructField("relations", T.ArrayType(RELATION)))
    fields += [T.StructField("status", T.StringType()), T.StructField("error", T.StringType())]
    assert [f.name for f in fields] == layout.result_columns()
    return T.StructType(fields)


RUN_COLUMNS = [
    T.StructField("model_version", T.StringType()),
    T.StructField("schema_hash", T.StringType()),
    T.StructField("extracted_at", T.TimestampType()),
]


def output_type(layout: Layout, input_schema: T.StructType) -> T.StructType:
    """The full output schema: id and passthrough columns with their input types, results, run columns."""
    by_name = {f.name.lower(): f for f in input_schema.fields}
    keep = []
    for name in (layout.id_column, *layout.passthrough):
        if name.lower() not in by_name:
            raise ValueError(f"input has no column {name!r}; it has {[f.name for f in input_schema.fields]}")
        keep.append(by_name[name.lower()])
    return T.StructType(keep + list(result_type(layout).fields) + RUN_COLUMNS)
