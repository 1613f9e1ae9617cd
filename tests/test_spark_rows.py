"""Row building, column layout and text checks: pure Python, no Spark.

Expected values are written out by hand from the engine contract (docs/engine-contract.md).
"""

import pytest

from gliner2_udf import Schema, compile_schema
from gliner2_udf.rows import Layout, empty_row, prepare_text, sanitize, to_row


def span(text, score, start, end):
    return {"text": text, "confidence": score, "start": start, "end": end}


@pytest.fixture(scope="module")
def compiled():
    return compile_schema(
        Schema()
        .entities(["person", "company"])
        .classification("sentiment", ["positive", "negative", "neutral"])
        .classification("topics", ["tech", "finance", "sport"], multi_label=True)
        .structure("deal")
        .field("buyer", dtype="str")
        .field("items", dtype="list")
        .field("currency", dtype="str", choices=["usd", "eur"])
    )


@pytest.fixture(scope="module")
def layout(compiled):
    return Layout.build(compiled, "doc_id", ["source"])


# -- column names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,expected",
    [
        ("person", "person"),
        ("Invoice Line #", "invoice_line"),
        ("2nd party", "_2nd_party"),
        ("Crème brûlée", "creme_brulee"),
        ("a--b__c", "a_b_c"),
        ("!!!", "col"),
    ],
)
def test_sanitize(name, expected):
    assert sanitize(name) == expected


def test_layout_order_and_names(layout):
    assert layout.columns() == [
        "doc_id",
        "source",
        "entities",
        "person",
        "company",
        "sentiment",
        "sentiment_score",
        "topics",
        "topics_score",
        "deal",
        "status",
        "error",
        "model_version",
        "schema_hash",
        "extracted_at",
    ]


def test_layout_collisions_are_renamed_case_insensitively():
    compiled = compile_schema(
        {
            "entities": ["Status", "person", "Person", "sentiment_score", "source"],
            "classifications": [{"name": "sentiment", "labels": ["a", "b"]}],
            "structures": [{"name": "Entities", "fields": ["x", "X", "x y"]}],
        }
    )
    layout = Layout.build(compiled, "id", ["source"])
    assert [e.column for e in layout.entities] == ["status_2", "person", "person_2", "sentiment_score", "source_2"]
    assert (layout.classifications[0].column, layout.classifications[0].score_column) == (
        "sentiment",
        "sentiment_score_2",
    )
    assert layout.structures[0].column == "entities_2"
    assert [f.column for f in layout.structures[0].fields] == ["x", "x_2", "x_y"]
    cols = [c.lower() for c in layout.columns()]
    assert len(cols) == len(set(cols))


# -- text checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,status,message",
    [
        (None, "empty", "text is null"),
        ("", "empty", "text is empty"),
        ("   \n\t", "empty", "text has only whitespace (5 characters)"),
        ("\x00\x01", "empty", "text has only control characters (2 characters)"),
        (b"\xff\xfeabc", "error", "text is not valid UTF-8: invalid start byte at byte 0"),
        ("bad \ud800 surrogate", "error", "text is not encodable as UTF-8: surrogates not allowed at character 4"),
        (42, "error", "text has type int, expected a string"),
    ],
)
def test_prepare_text_bad_values(value, status, message):
    p = prepare_text(value, max_chars=100)
    assert (p.text, p.status, p.message) == (None, status, message)


def test_prepare_text_replaces_controls_keeping_offsets():
    p = prepare_text("Tim\x00Cook\x07 runs\tApple", max_chars=100)
    assert (p.text, p.status, p.message) == ("Tim Cook  runs\tApple", "ok", None)
    assert prepare_text("café".encode(), 100).text == "café"


def test_prepare_text_truncates_at_a_word_boundary():
    text = "word " * 30  # 150 characters
    p = prepare_text(text, max_chars=52)
    assert p.status == "truncated"
    assert p.text == "word " * 9 + "word"  # cut at the last space before 52 (it is within 10 %)
    assert p.message == "text has 150 characters; extracted from the first 49 (max_chars=52)"
    assert prepare_text("x" * 60, max_chars=52).text == "x" * 52  # no space nearby: hard cut


# -- results -> rows --------------------------------------------------------------------------

RESULT = {
    "entities": {
        "person": [span("Tim Cook", 0.9, 10, 18), span("Jane", 0.6, 0, 4)],
        "company": [span("Apple", 0.8, 25, 30)],
    },
    "sentiment": {"label": "positive", "confidence": 0.7},
    "topics": [{"label": "finance", "confidence": 0.55}, {"label": "tech", "confidence": 0.91}],
    "deal": [
        {
            "buyer": span("Apple", 0.66, 25, 30),
            "items": [span("chips", 0.5, 40, 45)],
            "currency": {"text": "usd", "confidence": 0.8},
        },
        {"buyer": None, "items": [], "currency": None},
    ],
}


def test_to_row(layout):
    row = to_row(layout, RESULT)
    assert row == {
        "entities": [
            {"label": "person", "text": "Jane", "start": 0, "end": 4, "score": 0.6},
            {"label": "person", "text": "Tim Cook", "start": 10, "end": 18, "score": 0.9},
            {"label": "company", "text": "Apple", "start": 25, "end": 30, "score": 0.8},
        ],
        "person": ["Jane", "Tim Cook"],
        "company": ["Apple"],
        "sentiment": "positive",
        "sentiment_score": 0.7,
        "topics": ["tech", "finance"],
        "topics_score": [0.91, 0.55],
        "deal": [
            {
                "buyer": {"text": "Apple", "score": 0.66, "start": 25, "end": 30},
                "items": [{"text": "chips", "score": 0.5, "start": 40, "end": 45}],
                "currency": {"text": "usd", "score": 0.8, "start": None, "end": None},
            },
            {"buyer": None, "items": [], "currency": None},
        ],
        "status": "ok",
        "error": None,
    }


def test_to_row_nothing_found_and_truncated_status(layout):
    result = {"entities": {"person": [], "company": []}, "sentiment": None, "topics": [], "deal": []}
    row = to_row(layout, result, "truncated", "cut")
    assert row == {
        "entities": [],
        "person": [],
        "company": [],
        "sentiment": None,
        "sentiment_score": None,
        "topics": [],
        "topics_score": [],
        "deal": [],
        "status": "truncated",
        "error": "cut",
    }


def test_empty_and_error_rows(layout):
    assert empty_row(layout, "empty", "text is null") == {
        "entities": [],
        "person": [],
        "company": [],
        "sentiment": None,
        "sentiment_score": None,
        "topics": [],
        "topics_score": [],
        "deal": [],
        "status": "empty",
        "error": "text is null",
    }
    err = empty_row(layout, "error", "boom")
    assert err["status"] == "error" and err["error"] == "boom"
    assert all(v is None for k, v in err.items() if k not in ("status", "error"))
    assert list(err) == layout.result_columns()


def test_relations_column():
    compiled = compile_schema({"entities": ["person"], "relations": ["works_for"]})
    layout = Layout.build(compiled, "id")
    assert layout.result_columns() == ["entities", "person", "relations", "status", "error"]
    row = to_row(
        layout,
        {
            "entities": {"person": []},
            "relation_extraction": {
                "works_for": [{"head": span("Tim", 0.9, 0, 3), "tail": span("Apple", 0.8, 13, 18)}]
            },
        },
    )
    assert row["relations"] == [
        {
            "relation": "works_for",
            "head": {"text": "Tim", "score": 0.9, "start": 0, "end": 3},
            "tail": {"text": "Apple", "score": 0.8, "start": 13, "end": 18},
        }
    ]


# -- a batch with a failing document -------------------------------------------------------------


class FlakyModel:
    """Fails any batch containing 'POISON'; otherwise finds 'Apple' as a company."""

    def __init__(self):
        self.calls = []

    def extract_with(self, texts, compiled, options, include_confidence, include_spans):
        self.calls.append(list(texts))
        if any("POISON" in t for t in texts):
            raise ValueError("cannot handle POISON")
        out = []
        for t in texts:
            i = t.find("Apple")
            found = [span("Apple", 0.8, i, i + 5)] if i >= 0 else []
            out.append({"entities": {"person": [], "company": found}, "sentiment": None, "topics": [], "deal": []})
        return out


def test_extract_rows_retries_a_failed_batch_row_by_row(compiled, layout):
    from gliner2_udf.options import ExtractOptions
    from gliner2_udf.spark.udf import extract_rows

    model = FlakyModel()
    values = ["I like Apple", None, "POISON pill", b"\xff", "Apple pie and Apple"]
    rows = extract_rows(model, compiled, layout, values, ExtractOptions(batch_size=8, max_chars=1000))
    assert [r["status"] for r in rows] == ["ok", "empty", "error", "error", "ok"]
    assert rows[2]["error"] == "ValueError: cannot handle POISON"
    assert rows[0]["company"] == ["Apple"] and rows[4]["company"] == ["Apple"]
    assert rows[0]["entities"] == [{"label": "company", "text": "Apple", "start": 7, "end": 12, "score": 0.8}]
    # one batch call with the three texts, then one call per text
    assert model.calls == [
        ["I like Apple", "POISON pill", "Apple pie and Apple"],
        ["I like Apple"],
        ["POISON pill"],
        ["Apple pie and Apple"],
    ]


def test_real_engine_result_becomes_a_row_with_valid_offsets(tiny_checkpoint):
    from gliner2_udf import GLiNER2

    compiled = compile_schema(
        {
            "entities": ["person", "company"],
            "classifications": [{"name": "sentiment", "labels": ["positive", "negative"]}],
            "structures": [{"name": "deal", "fields": [{"name": "buyer", "dtype": "str"}, "items"]}],
        }
    )
    layout = Layout.build(compiled, "id")
    text = "Tim Cook of Apple sold chips to Acme in Berlin."
    model = GLiNER2.from_pretrained(tiny_checkpoint)
    result = model.batch_extract([text], compiled, threshold=0.5, include_confidence=True, include_spans=True)[0]
    row = to_row(layout, result)
    assert list(row) == layout.result_columns()
    assert row["sentiment"] in ("positive", "negative") and 0.0 <= row["sentiment_score"] <= 1.0
    for e in row["entities"]:
        assert text[e["start"] : e["end"]] == e["text"] and 0.5 <= e["score"] <= 1.0
    for inst in row["deal"]:
        for s in ([inst["buyer"]] if inst["buyer"] else []) + inst["items"]:
            assert text[s["start"] : s["end"]] == s["text"]
