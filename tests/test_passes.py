"""Schemas larger than the encoder window run as several passes whose answers are merged."""

import pytest

from gliner2_udf import GLiNER2, Schema, SchemaError
from gliner2_udf.passes import MIN_TEXT_TOKENS

DEFAULT_MODEL = "models/gliner2-minilm-default"
TEXT = "Angela Merkel met Emmanuel Macron in Berlin on Monday to discuss the Airbus deal worth 3 billion euros."


@pytest.fixture(scope="module")
def model():
    return GLiNER2.from_pretrained(DEFAULT_MODEL)


def schema():
    return (
        Schema()
        .entities(["person", "organization", "location", "date", "money"])
        .classification("sentiment", ["positive", "negative", "neutral"])
        .structure("meeting")
        .field("participant")
        .field("place", dtype="str")
    )


def test_a_schema_that_fits_is_one_pass(model):
    assert len(model.plan(schema())) == 1


def test_split_passes_give_the_one_pass_answers(model):
    one = model.extract(TEXT, schema(), include_spans=True)
    narrow = GLiNER2(
        model.network,
        model.tokenizer,
        max_tokens=model.processor.schema_length(model.compile(schema())) + MIN_TEXT_TOKENS - 1,
    )
    passes = narrow.plan(schema())
    assert len(passes) >= 2
    asked = [e.name for p in passes for e in p.entities]
    assert asked == ["person", "organization", "location", "date", "money"]  # every label asked, once
    split = narrow.extract(TEXT, schema(), include_spans=True)
    # each pass answers as its part of the schema asked alone would (offsets included); a pass does not see the
    # other parts' prompts, so its answers can differ from the one-pass answers (stage 5 of the default model
    # read "worth 3 billion euros" as money without the classification and structure prompts beside it)
    alone = {}
    for p in passes:  # a pass is a compiled schema; the full-width model runs it in one pass
        alone.update(model.extract(TEXT, p, include_spans=True))
    assert split == alone
    assert split.keys() == one.keys() and split["entities"].keys() == one["entities"].keys()
    assert sorted(e["text"] for e in one["entities"]["person"]) == ["Angela Merkel", "Emmanuel Macron"]  # by score
    assert {label: len(found) for label, found in one["entities"].items()} == {
        "person": 2,
        "organization": 1,
        "location": 1,
        "date": 1,
        "money": 1,
    }
    assert one["meeting"][0]["place"]["text"] == "Berlin"


def test_hundreds_of_labels_never_crash_or_drop_labels(model):
    labels = [f"kind of thing number {i}" for i in range(300)] + ["person"]
    result = model.batch_extract([TEXT, ""], Schema().entities(labels))
    assert all(list(r["entities"]) == labels for r in result)


def test_a_unit_that_never_fits_is_a_schema_error_naming_it(model):
    # a structure's fields are scored together, so it moves whole (long label lists are asked in groups instead)
    huge = Schema().structure("huge")
    for i in range(200):
        huge = huge.field(f"field {i} with a long and winding description")
    with pytest.raises(SchemaError, match=r"structures\[0\]"):
        model.plan(huge)
