"""The upstream convenience API (``gliner2_udf.upstream``), ``RegexValidator`` and upstream's schema dict
forms, run side by side with the reference (``gliner2==2.1.0``, test-only oracle) on the same checkpoint.

The checkpoint is the tiny random BERT, shaped as in test_parity.py (count head fixed, span scores spread
away from 0.5); thresholds are taken inside the oracle's own score mass so that some spans pass and some
do not. Every comparison runs the same call on both and compares the results (floats at 1e-5).
"""

import inspect
import json
import os
import re

import numpy as np
import pytest
from test_parity import TEXTS, _close, load_pair

from gliner2_udf import RegexValidator, Schema, SchemaError, compile_schema, load_schema
from gliner2_udf.config import from_dict as config_from_dict
from gliner2_udf.upstream import parse_field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = [(False, False), (True, False), (False, True), (True, True)]
METHODS = [
    "extract_entities",
    "batch_extract_entities",
    "classify_text",
    "batch_classify_text",
    "extract_json",
    "batch_extract_json",
    "extract_relations",
    "batch_extract_relations",
]


@pytest.fixture(scope="module", params=[1, 2], ids=["one-instance", "two-instances"])
def pair(request, tiny_checkpoint):
    """(reference, ours, thresholds inside the score mass)."""
    ref, ours = load_pair(tiny_checkpoint, instances=request.param, spread=50.0)
    found = ref.extract_entities(TEXTS[0], ["person", "company"], threshold=0.0, include_confidence=True)
    scores = [e["confidence"] for spans in found["entities"].values() for e in spans]
    return ref, ours, [float(t) for t in np.quantile(scores, [0.3, 0.7])]


def same(ref, ours, method, first, *args, **kwargs):
    """``method`` on both models with the same arguments gives the same result; returns ours."""
    expected = getattr(ref, method)(first, *args, **kwargs)
    got = getattr(ours, method)(first, *args, **kwargs)
    _close(got, expected, method)
    return got


def both_forms(ref, ours, method, arg, thresholds, **kwargs):
    """The single and the ``batch_`` form, at every threshold and confidence/spans setting."""
    for threshold in thresholds:
        for confidence, spans in FLAGS:
            kw = dict(threshold=threshold, include_confidence=confidence, include_spans=spans, **kwargs)
            batch = same(ref, ours, "batch_" + method, TEXTS, arg, batch_size=3, **kw)
            for text, from_batch in zip(TEXTS, batch):
                _close(same(ref, ours, method, text, arg, **kw), from_batch)


# ---------------------------------------------------------------------------------------------
# the convenience methods


def test_signatures_are_upstreams():
    from gliner2 import GLiNER2 as Reference
    from gliner2.inference.schema import StructureBuilder as RefBuilder

    from gliner2_udf import GLiNER2
    from gliner2_udf.schema import StructureBuilder

    def params(fn):
        return [(p.name, p.default, p.kind) for p in inspect.signature(fn).parameters.values()]

    for name in ["create_schema", *METHODS]:
        assert params(getattr(GLiNER2, name)) == params(getattr(Reference, name)), name
    assert params(StructureBuilder.field)[:7] == params(RefBuilder.field)[:7]


@pytest.mark.parametrize(
    "entity_types",
    [
        ["person", "company", "location"],
        "person",
        {"person": "names of people", "company": "businesses"},
        {"person": {"threshold": 0.0, "dtype": "str"}, "company": {"description": "businesses"}},
    ],
    ids=["list", "one-name", "descriptions", "configs"],
)
def test_extract_entities_matches_the_reference(pair, entity_types):
    ref, ours, thresholds = pair
    both_forms(ref, ours, "extract_entities", entity_types, thresholds)
    found = ours.extract_entities(TEXTS[0], entity_types, threshold=thresholds[0])["entities"]
    assert any(found.values()), "thresholds inside the score mass find something"


@pytest.mark.parametrize(
    "tasks",
    [
        {"sentiment": ["positive", "negative", "neutral"]},
        {"sentiment": {"positive": "good news", "negative": "bad news"}},
        {
            "topics": {"labels": ["tech", "money", "travel"], "multi_label": True, "cls_threshold": 0.5},
            "sentiment": {"labels": ["positive", "negative"], "multi_label": False},
        },
    ],
    ids=["labels", "label-descriptions", "configs"],
)
def test_classify_text_matches_the_reference(pair, tasks):
    ref, ours, _ = pair
    both_forms(ref, ours, "classify_text", tasks, [0.5])
    assert set(ours.classify_text(TEXTS[0], tasks)) == set(tasks)


def test_extract_json_matches_the_reference(pair):
    ref, ours, thresholds = pair
    structures = {
        "deal": ["buyer::str::who buys", "price::str", "items::list", "currency::[usd|eur]", "kind::[sale|loan]::list"],
        "person": ["name", {"name": "city", "dtype": "str", "description": "where they live"}],
    }
    both_forms(ref, ours, "extract_json", structures, thresholds)
    got = ours.extract_json(TEXTS[1], structures, threshold=thresholds[0], include_confidence=True)
    assert got["deal"] and set(got["deal"][0]) == {"buyer", "price", "items", "currency", "kind"}


def test_repeated_words_are_deduplicated_as_upstream(pair):
    """Unless offsets are shown, upstream keeps one span per lower-cased text in entity and field lists (also
    when confidences are shown)."""
    ref, ours, thresholds = pair
    text = "tim and tim and apple and apple and tim."
    for threshold in [0.1, *thresholds]:
        for confidence, spans in FLAGS:
            kw = dict(threshold=threshold, include_confidence=confidence, include_spans=spans)
            same(ref, ours, "extract_entities", text, ["person", "company"], **kw)
            same(ref, ours, "extract_json", text, {"deal": ["items"]}, **kw)
    found = ours.extract_entities(text, ["person", "company"], threshold=0.1, include_confidence=True)["entities"]
    assert any(found.values())
    assert all(len({e["text"].lower() for e in s}) == len(s) for s in found.values())


@pytest.mark.parametrize("spec", ["a", "a::str", "a::str::the a", "a::[x|y]", "a::[ x | y ]::list::d", "a::d::list"])
def test_field_strings_parse_as_upstreams(pair, spec):
    ref = pair[0]
    field = parse_field(spec)
    expected = ref._parse_field_spec(spec)
    assert (field["name"], field["dtype"], field.get("choices"), field.get("description")) == expected


@pytest.mark.parametrize(
    "relation_types",
    [["works_for", "founded"], "works_for", {"works_for": {"threshold": 0.0}, "founded": {}}],
    ids=["list", "one-name", "configs"],
)
def test_extract_relations_matches_the_reference(pair, relation_types):
    ref, ours, thresholds = pair
    both_forms(ref, ours, "extract_relations", relation_types, thresholds)
    got = ours.extract_relations(TEXTS[0], relation_types, threshold=thresholds[0])["relation_extraction"]
    assert any(got.values())


@pytest.mark.parametrize("method", METHODS)
def test_upstream_only_arguments_take_their_default_or_are_refused_by_name(pair, method):
    _, ours, _ = pair
    arg = {
        "entities": ["person"],
        "text": {"sentiment": ["positive", "negative"]},
        "json": {"deal": ["buyer"]},
        "relations": ["works_for"],
    }[method.split("_")[-1]]
    first = TEXTS if method.startswith("batch_") else TEXTS[0]
    defaults = dict(format_results=True, max_len=None, overlap_policy=None)
    assert getattr(ours, method)(first, arg, **defaults) == getattr(ours, method)(first, arg)
    for name, value in [("format_results", False), ("max_len", 10), ("overlap_policy", "flat")]:
        with pytest.raises(ValueError, match=rf"{method}: {name}="):
            getattr(ours, method)(first, arg, **{name: value})


def test_classification_options_we_do_not_implement_are_refused_by_path(pair):
    _, ours, _ = pair
    with pytest.raises(SchemaError, match=r"classifications\[1\]\.top_k"):
        ours.classify_text(TEXTS[0], {"a": ["x", "y"], "b": {"labels": ["x", "y"], "top_k": 1}})


# ---------------------------------------------------------------------------------------------
# validators


def validators_of(cls):
    """The same validators built with ``cls`` (ours or the reference's)."""
    return {
        "single_word": [cls(r"\s", mode="partial", exclude=True)],
        "letters": [cls(r"[a-z]+")],  # full match, case-insensitive by default
        "lower_start": [cls(r"^[a-z]", mode="partial", flags=0)],
    }


def validated_schema(schema, v):
    return (
        schema.entities(["person", "company"], validators=v["single_word"])
        .entities({"location": {"validators": v["lower_start"]}})
        .structure("deal")
        .field("buyer", dtype="str", validators=v["letters"])
        .field("items", validators=v["single_word"] + v["lower_start"])
        .field("currency", dtype="str", choices=["usd", "eur"])
    )


def test_validators_filter_like_the_references(pair):
    from gliner2 import RegexValidator as RefValidator

    ref, ours, thresholds = pair
    ref_schema = validated_schema(ref.create_schema(), validators_of(RefValidator))
    our_schema = validated_schema(Schema(), validators_of(RegexValidator))
    unvalidated = validated_schema(Schema(), {k: [] for k in validators_of(RegexValidator)})
    filtered = 0
    for threshold in thresholds:
        for confidence, spans in FLAGS:
            kw = dict(threshold=threshold, include_confidence=confidence, include_spans=spans)
            expected = ref.batch_extract(TEXTS, ref_schema, batch_size=3, **kw)
            got = ours.batch_extract(TEXTS, our_schema, batch_size=3, **kw)
            _close(got, expected)
            filtered += got != ours.batch_extract(TEXTS, unvalidated, batch_size=3, **kw)
    assert filtered, "the validators removed some spans"
    for result in ours.batch_extract(TEXTS, our_schema, threshold=thresholds[0]):
        for text in result["entities"]["person"] + result["entities"]["company"]:
            assert " " not in text
        assert all(t[0].islower() for t in result["entities"]["location"])
        for row in result["deal"]:
            assert row["buyer"] is None or row["buyer"].isalpha()


@pytest.mark.parametrize(
    "args",
    [(r"\d+",), (r"\d+", "partial"), (r"\d+", "partial", True), (r"[a-z]+", "full", False, 0), (r"^A", "partial")],
)
def test_validate_agrees_with_the_references(args):
    from gliner2 import RegexValidator as RefValidator

    for text in ["123", "abc 123", "ABC", "abc", "Apple", "apple pie", ""]:
        assert RegexValidator(*args).validate(text) == RefValidator(*args).validate(text), (args, text)


def test_a_compiled_pattern_brings_its_flags():
    v = RegexValidator(re.compile("abc"))
    assert not v.validate("ABC") and RegexValidator("abc").validate("ABC")


@pytest.mark.parametrize(
    "build, path",
    [
        (
            lambda: Schema.from_dict({"entities": [{"name": "p", "validators": [{"pattern": "("}]}]}),
            "entities[0].validators[0]",
        ),
        (lambda: Schema().entities(["p"], validators=[{"pattern": "["}]), "entities.validators[0]"),
        (
            lambda: Schema.from_dict(
                {"structures": {"deal": {"fields": [{"name": "x", "validators": [{"pattern": "["}]}]}}}
            ),
            "structures.deal.fields[0].validators[0]",
        ),
        (
            lambda: Schema().structure("deal").field("x").field("y", validators=[{"pattern": "a{2,1}"}]),
            "structures[0].fields[1].validators[0]",
        ),
    ],
)
def test_an_invalid_regex_names_the_field(build, path):
    with pytest.raises(SchemaError, match="invalid regular expression") as info:
        build()
    assert info.value.path == f"{path}.pattern"


def test_validator_arguments_and_placement_are_checked():
    with pytest.raises(SchemaError, match="^mode: expected one of 'full', 'partial'"):
        RegexValidator("a", mode="whole")
    with pytest.raises(SchemaError, match=r"entities\[0\]\.validators\[0\]\.flag: unknown key"):
        Schema.from_dict({"entities": [{"name": "p", "validators": [{"pattern": "a", "flag": 2}]}]})
    with pytest.raises(SchemaError, match=r"structures\[0\]\.fields\[0\]\.validators: .*choice field"):
        Schema().structure("deal").field("currency", choices=["usd"], validators=[RegexValidator("usd")])


def test_validators_are_part_of_the_schemas_meaning():
    plain = {"entities": [{"name": "money"}], "structures": [{"name": "deal", "fields": ["total"]}]}
    full = {
        "entities": [{"name": "money", "validators": [{"pattern": r"\d", "mode": "full"}]}],
        "structures": [{"name": "deal", "fields": [{"name": "total", "validators": [{"pattern": r"\d"}]}]}],
    }
    hashes = {
        compile_schema(plain).schema_hash,
        compile_schema(full).schema_hash,
        compile_schema(json.loads(json.dumps(full).replace('"full"', '"partial"'))).schema_hash,
        compile_schema(json.loads(json.dumps(full).replace('"full"', '"full", "exclude": true'))).schema_hash,
    }
    assert len(hashes) == 4
    compiled = compile_schema(full)
    assert compiled.entities[0].validators == (RegexValidator(r"\d"),)
    assert compile_schema(Schema.from_dict(compiled.to_dict())) == compiled
    assert compile_schema(Schema.from_dict(Schema.from_dict(full).to_dict(form="upstream"))) == compiled
    # schemas without validators keep the hash they had before validators existed
    assert load_schema(os.path.join(ROOT, "conf/schemas/default.yaml")).schema_hash == "c1562734aa187151"


# ---------------------------------------------------------------------------------------------
# upstream's dict and JSON forms


def full_schema(schema):
    """Every option both packages share (no relation description: README difference 3)."""
    return (
        schema.entities({"person": "names of people", "company": {"threshold": 0.0, "dtype": "str"}})
        .entities(["location"])
        .structure("deal")
        .field("buyer", dtype="str", description="who buys")
        .field("items", threshold=0.0)
        .field("currency", dtype="str", choices=["usd", "eur"])
        .classification("topics", {"tech": "technology", "money": "finance"}, multi_label=True, cls_threshold=0.4)
        .classification("sentiment", ["positive", "negative"])
        .relations({"works_for": {"threshold": 0.0}})
        .relations(["founded"])
    )


def test_the_references_to_dict_gives_its_results_through_our_from_dict(pair):
    ref, ours, thresholds = pair
    ref_schema = full_schema(ref.create_schema())
    written = ref_schema.to_dict()
    assert full_schema(Schema()).to_dict(form="upstream") == written
    ours_from_dict, ours_from_json = Schema.from_dict(written), Schema.from_json(json.dumps(written))
    assert compile_schema(ours_from_dict) == compile_schema(ours_from_json) == compile_schema(full_schema(Schema()))
    assert ours_from_dict.to_dict(form="upstream") == written
    for threshold in thresholds:
        for confidence, spans in FLAGS:
            kw = dict(threshold=threshold, include_confidence=confidence, include_spans=spans)
            expected = ref.batch_extract(TEXTS, ref_schema, batch_size=3, **kw)
            _close(ours.batch_extract(TEXTS, ours_from_dict, batch_size=3, **kw), expected)
            _close(ours.batch_extract(TEXTS, ours_from_json, batch_size=3, **kw), expected)


def test_our_upstream_form_loads_in_the_reference():
    from gliner2 import Schema as RefSchema

    written = full_schema(Schema()).to_dict(form="upstream")
    assert RefSchema.from_dict(written).to_dict() == written


def test_the_references_build_dict_gives_its_results_through_our_from_dict(pair):
    ref, ours, thresholds = pair
    built = json.loads(json.dumps(full_schema(ref.create_schema()).build()))
    assert set(built) >= {"json_structures", "entity_descriptions", "json_descriptions", "relation_descriptions"}
    # the form has no dtypes or thresholds: upstream's defaults everywhere
    compiled = compile_schema(built)
    assert [(r.name, r.threshold) for r in compiled.relations] == [("works_for", None), ("founded", None)]
    assert {f.dtype for f in compiled.structures[0].fields} == {e.dtype for e in compiled.entities} == {"list"}
    # 2.1.0 answers the relations of a dict schema as top-level keys, not under "relation_extraction"
    del built["relations"]
    ours_schema = Schema.from_dict(built)
    for threshold in thresholds:
        for confidence, spans in FLAGS:
            kw = dict(threshold=threshold, include_confidence=confidence, include_spans=spans)
            expected = ref.batch_extract(TEXTS, built, batch_size=3, **kw)
            _close(ours.batch_extract(TEXTS, ours_schema, batch_size=3, **kw), expected)


@pytest.mark.parametrize(
    "d, path, message",
    [
        ({"entities": {"person": {"threshold": 2}}}, "entities.person.threshold", r"\[0, 1\]"),
        ({"entities": {"person": {"colour": "red"}}}, "entities.person.colour", "unknown key"),
        (
            {"structures": {"deal": {"fields": [{"name": "a"}, {"name": "b", "dtype": "int"}]}}},
            "structures.deal.fields[1].dtype",
            "'str', 'list'",
        ),
        ({"structures": {"deal": {"fields": []}}}, "structures.deal.fields", "at least one field"),
        (
            {"structures": {"deal": {"fields": [{"name": "a"}], "mode": "natural"}}},
            "structures.deal.mode",
            "not supported",
        ),
        (
            {"structures": {"deal": {"fields": [{"name": "a", "exclusive": True}]}}},
            "structures.deal.fields[0].exclusive",
            "not supported",
        ),
        ({"classifications": [{"task": "s", "labels": ["a"]}]}, "classifications[0].labels", "at least 2"),
        (
            {"classifications": [{"task": "s", "labels": ["a", "b"], "cls_threshold": 7}]},
            "classifications[0].cls_threshold",
            r"\[0, 1\]",
        ),
        (
            {"classifications": [{"task": "s", "labels": ["a", "b"], "prompt": "p"}]},
            "classifications[0].prompt",
            "not supported",
        ),
        ({"relations": {"r": {"head": ""}}}, "relations.r.head", "unknown key"),
        ({"entities": ["a"], "entity_attributes": {}}, "entity_attributes", "not supported"),
        (
            {"json_structures": [{"deal": {"currency": {"value": "", "choices": []}}}]},
            "json_structures[0].deal.currency.choices",
            "at least one",
        ),
        ({"json_structures": [{"deal": {"buyer": "x"}}]}, "json_structures[0].deal.buyer", "expected ''"),
        (
            {"json_structures": [], "entities": {"a": ""}, "entity_descriptions": {"b": "x"}},
            "entity_descriptions.b",
            "describes nothing",
        ),
    ],
)
def test_upstream_form_errors_name_the_field(d, path, message):
    with pytest.raises(SchemaError, match=message) as info:
        compile_schema(d)
    assert info.value.path == path


def test_the_job_loads_an_upstream_form_schema_file():
    path = os.path.join(ROOT, "conf/schemas/upstream_example.yaml")
    cfg = config_from_dict(
        {
            "input": {"format": "parquet", "path": "data/samples/documents.parquet"},
            "schema": path,
            "model": {"path": "models/x"},
            "output": {"format": "delta", "path": "output/x"},
        }
    )
    compiled = cfg.compiled_schema
    assert compiled == load_schema(path)
    assert [e.name for e in compiled.entities] == ["person", "organization", "money", "date"]
    assert compiled.entities[2].validators == (RegexValidator(r"\d", mode="partial"),)
    assert [f.name for f in compiled.structures[0].fields][-2:] == ["currency", "total"]
    assert compiled.classifications[1].multi_label and compiled.classifications[1].threshold == 0.4
