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
