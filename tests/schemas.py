"""Schemas several test modules share."""

from gliner2_udf import Schema


def small_schema() -> Schema:
    """Three entity types, a three-label classification and a two-field structure."""
    return (
        Schema()
        .entities(["person", "company", "location"])
        .classification("sentiment", ["positive", "negative", "neutral"])
        .structure("deal")
        .field("buyer", dtype="str")
        .field("items")
    )


def boundary_spec_schema(schema):
    """The boundary spec's oracle schema (its section 9.1) on ``schema``: ours (``Schema()``) or the reference's
    (``model.create_schema()``): entities, a classification, a structure with a choice field, a relation."""
    return (
        schema.entities(["person", "company", "location"])
        .classification("sentiment", ["positive", "negative", "neutral"])
        .structure("deal")
        .field("buyer", dtype="str")
        .field("currency", choices=["usd", "eur"], dtype="str")
        .field("items", dtype="list")
        .relations(["works_for"])
    )
