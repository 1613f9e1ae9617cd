"""The schema builder, its declarative form (dict / YAML / JSON), validation and the content hash.

Every expected value here is written by hand: the paths an error must name, the equalities a hash must
keep and the edits it must notice.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from gliner2_udf.schema import CompiledSchema, Schema, SchemaError, compile_schema, load_schema

YAML = """\
# the same schema as built(), in the form conf/schemas/*.yaml uses
entities:
  - name: person
    description: names of people
    threshold: 0.4
  - company
classifications:
  - name: sentiment
    labels: [positive, negative, neutral]
  - name: topics
    labels:
      tech: technology and gadgets
      money: null
    multi_label: true
    threshold: 0.3
structures:
  - name: deal
    fields:
      - name: buyer
        dtype: str
        description: who buys
      - items
      - name: currency
        dtype: str
        choices: [usd, eur]
        threshold: 0.6
relations:
  - name: works_for
    description: employment
    threshold: 0.7
  - founded
"""


def built():
    return (
        Schema()
        .entities({"person": "names of people"}, threshold=0.4)
        .entities(["company"])
        .classification("sentiment", ["positive", "negative", "neutral"])
        .classification(
            "topics", {"tech": "technology and gadgets", "money": None}, multi_label=True, cls_threshold=0.3
        )
        .structure("deal")
        .field("buyer", dtype="str", description="who buys")
        .field("items")
        .field("currency", dtype="str", choices=["usd", "eur"], threshold=0.6)
        .relations({"works_for": "employment"}, threshold=0.7)
        .relations(["founded"])
    )


def as_dict():
    import yaml

    return yaml.safe_load(YAML)


# ---------------------------------------------------------------------------------------------
# builder == declarative


def test_builder_dict_and_yaml_compile_to_the_same_schema(tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text(YAML)
    json_path = tmp_path / "schema.json"
    json_path.write_text(json.dumps(as_dict(), indent=1))

    from_builder = compile_schema(built())
    from_dict = compile_schema(as_dict())
    from_yaml = load_schema(str(path))
    from_json = load_schema(str(json_path))

    assert isinstance(from_builder, CompiledSchema)
    assert from_builder == from_dict == from_yaml == from_json
    assert from_builder.schema_hash == from_dict.schema_hash == from_yaml.schema_hash == from_json.schema_hash
    assert len(from_builder.schema_hash) == 16 and int(from_builder.schema_hash, 16) >= 0


def test_compiled_schema_holds_what_was_asked():
    c = compile_schema(built())
    assert [(e.name, e.description, e.threshold, e.dtype) for e in c.entities] == [
        ("person", "names of people", 0.4, "list"),
        ("company", None, None, "list"),
    ]
    sentiment, topics = c.classifications
    assert (sentiment.labels, sentiment.multi_label, sentiment.threshold) == (
        ("positive", "negative", "neutral"),
        False,
        0.5,
    )
    assert (topics.labels, topics.multi_label, topics.threshold, topics.label_descriptions) == (
        ("tech", "money"),
        True,
        0.3,
        (("tech", "technology and gadgets"),),
    )
    (deal,) = c.structures
    assert [(f.name, f.dtype, f.choices, f.threshold, f.description) for f in deal.fields] == [
        ("buyer", "str", None, None, "who buys"),
        ("items", "list", None, None, None),
        ("currency", "str", ("usd", "eur"), 0.6, None),
    ]
    assert [(r.name, r.description, r.threshold) for r in c.relations] == [
        ("works_for", "employment", 0.7),
        ("founded", None, None),
    ]


def test_serialization_follows_the_reference_order_and_prompts():
    c = compile_schema(built())
    # structures, entities, relations, classifications (spec section 3.3)
    assert [t.elements() for t in c.tasks()] == [
        [
            "(",
            "[P]",
            "deal [DESCRIPTION] buyer: who buys",
            "(",
            "[C]",
            "buyer",
            "[C]",
            "items",
            "[C]",
            "currency",
            ")",
            ")",
        ],
        [
            "(",
            "[P]",
            "entities [DESCRIPTION] person: names of people",
            "(",
            "[E]",
            "person",
            "[E]",
            "company",
            ")",
            ")",
        ],
        ["(", "[P]", "works_for: employment", "(", "[R]", "head", "[R]", "tail", ")", ")"],
        ["(", "[P]", "founded", "(", "[R]", "head", "[R]", "tail", ")", ")"],
        ["(", "[P]", "sentiment", "(", "[L]", "positive", "[L]", "negative", "[L]", "neutral", ")", ")"],
        ["(", "[P]", "topics [DESCRIPTION] tech: technology and gadgets", "(", "[L]", "tech", "[L]", "money", ")", ")"],
    ]
    assert c.choice_prefix() == ["(", "deal:", "currency", "(", "usd", "|", "eur", ")", ")"]


def test_to_dict_round_trips():
    c = compile_schema(built())
    assert compile_schema(Schema.from_dict(c.to_dict())) == c
    assert compile_schema(built().to_dict()) == c


def test_compiled_schema_pickles():
    import pickle

    c = compile_schema(built())
    assert pickle.loads(pickle.dumps(c)) == c


# ---------------------------------------------------------------------------------------------
# validation: every error names the offending field


def _field(**extra):
    return {"structures": [{"name": "deal", "fields": ["buyer", {"name": "price", **extra}]}]}


BAD = [
    # empty names
    ({"entities": [""]}, "entities[0]", "non-empty"),
    ({"entities": [{"name": "  "}]}, "entities[0].name", "non-empty"),
    ({"structures": [{"name": "", "fields": ["a"]}]}, "structures[0].name", "non-empty"),
    (_field(name=""), "structures[0].fields[1].name", "non-empty"),
    ({"classifications": [{"name": "", "labels": ["a", "b"]}]}, "classifications[0].name", "non-empty"),
    ({"classifications": [{"name": "s", "labels": ["a", " "]}]}, "classifications[0].labels[1]", "non-empty"),
    ({"relations": [""]}, "relations[0]", "non-empty"),
    # duplicate names
    ({"entities": ["person", "company", "person"]}, "entities[2]", "duplicate"),
    (
        {"structures": [{"name": "deal", "fields": ["buyer", {"name": "buyer"}]}]},
        "structures[0].fields[1].name",
        "duplicate",
    ),
    (
        {"structures": [{"name": "d", "fields": ["a"]}, {"name": "d", "fields": ["b"]}]},
        "structures[1].name",
        "duplicate",
    ),
    ({"classifications": [{"name": "s", "labels": ["a", "b", "a"]}]}, "classifications[0].labels[2]", "duplicate"),
    ({"relations": ["works_for", "works_for"]}, "relations[1]", "duplicate"),
    # unknown dtype
    (_field(dtype="int"), "structures[0].fields[1].dtype", "'str', 'list'"),
    ({"entities": [{"name": "person", "dtype": "set"}]}, "entities[0].dtype", "'str', 'list'"),
    # thresholds outside [0, 1] (or not numbers)
    ({"entities": [{"name": "person", "threshold": 1.5}]}, "entities[0].threshold", "[0, 1]"),
    (_field(threshold=-0.1), "structures[0].fields[1].threshold", "[0, 1]"),
    (
        {"classifications": [{"name": "s", "labels": ["a", "b"], "threshold": 2}]},
        "classifications[0].threshold",
        "[0, 1]",
    ),
    ({"relations": [{"name": "r", "threshold": 1.01}]}, "relations[0].threshold", "[0, 1]"),
    ({"relations": [{"name": "r", "threshold": True}]}, "relations[0].threshold", "[0, 1]"),
    (_field(threshold="0.5"), "structures[0].fields[1].threshold", "[0, 1]"),
    # choices on a bad field: only structure fields take choices, and they must be a non-empty list of names
    ({"entities": [{"name": "person", "choices": ["a"]}]}, "entities[0].choices", "unknown key"),
    ({"relations": [{"name": "r", "choices": ["a"]}]}, "relations[0].choices", "unknown key"),
    (
        {"classifications": [{"name": "s", "labels": ["a", "b"], "choices": ["a"]}]},
        "classifications[0].choices",
        "unknown key",
    ),
    (_field(choices=[]), "structures[0].fields[1].choices", "at least one"),
    (_field(choices="usd"), "structures[0].fields[1].choices", "expected a list"),
    (_field(choices=["usd", 3]), "structures[0].fields[1].choices[1]", "string"),
    (_field(choices=["usd", "usd"]), "structures[0].fields[1].choices[1]", "duplicate"),
    # non-string labels and names
    ({"classifications": [{"name": "s", "labels": [1, 2]}]}, "classifications[0].labels[0]", "string"),
    ({"classifications": [{"name": "s", "labels": {"a": None, 7: None}}]}, "classifications[0].labels[1]", "string"),
    ({"classifications": [{"name": 5, "labels": ["a", "b"]}]}, "classifications[0].name", "string"),
    ({"entities": ["person", 3]}, "entities[1]", "string"),
    (_field(name=None), "structures[0].fields[1].name", "string"),
    ({"relations": [{"name": "r", "description": 5}]}, "relations[0].description", "string"),
    # unknown keys
    ({"entity": ["person"]}, "entity", "unknown key"),
    (_field(type="str"), "structures[0].fields[1].type", "unknown key"),
    ({"structures": [{"name": "deal", "fields": ["a"], "count": 2}]}, "structures[0].count", "unknown key"),
    ({"entities": [{"name": "person", "desc": "x"}]}, "entities[0].desc", "unknown key"),
    # shapes
    ({"classifications": [{"name": "s", "labels": ["only"]}]}, "classifications[0].labels", "at least 2"),
    ({"classifications": [{"name": "s"}]}, "classifications[0].labels", "missing"),
    ({"structures": [{"name": "deal", "fields": []}]}, "structures[0].fields", "at least one field"),
    ({"entities": "person"}, "entities", "expected a list"),
    ({}, "", "asks for nothing"),
]


@pytest.mark.parametrize("spec,path,message", BAD, ids=[f"{i}-{b[1] or 'top'}" for i, b in enumerate(BAD)])
def test_declarative_errors_name_the_field(spec, path, message):
    with pytest.raises(SchemaError) as err:
        compile_schema(spec)
    assert err.value.path == path
    assert message in str(err.value)
    assert str(err.value).startswith(f"{path}: ") or not path


BUILDER_BAD = [
    (lambda: Schema().structure("deal").field("buyer").field("price", dtype="int"), "structures[0].fields[1].dtype"),
    (lambda: Schema().structure("deal").field("buyer").field("buyer"), "structures[0].fields[1].name"),
    (
        lambda: Schema().structure("deal").field("a").structure("x").field("b", threshold=3),
        "structures[1].fields[0].threshold",
    ),
    (lambda: Schema().structure("deal").field("a", choices=[]), "structures[0].fields[0].choices"),
    (lambda: Schema().entities(["person", ""]), "entities[1]"),
    (lambda: Schema().entities(["person"]).entities(["person"]), "entities[1]"),
    (lambda: Schema().entities(["person"], threshold=-1), "entities.threshold"),
    (lambda: Schema().entities(["person"], dtype="dict"), "entities.dtype"),
    (lambda: Schema().classification("s", ["a", 2]), "classifications[0].labels[1]"),
    (lambda: Schema().classification("s", ["a", "b"], cls_threshold=1.2), "classifications[0].threshold"),
    (lambda: Schema().classification("s", ["a", "b"], multi_label="yes"), "classifications[0].multi_label"),
    (lambda: Schema().relations(["r"], threshold=2.0), "relations.threshold"),
    (lambda: compile_schema(Schema().structure("deal")), "structures[0].fields"),
]


@pytest.mark.parametrize("make,path", BUILDER_BAD, ids=[b[1] for b in BUILDER_BAD])
def test_builder_errors_name_the_field(make, path):
    with pytest.raises(SchemaError) as err:
        make()
    assert err.value.path == path


def test_yaml_errors_name_the_file_and_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(YAML.replace("dtype: str\n        description: who buys", "dtype: text\n        description: x"))
    with pytest.raises(SchemaError) as err:
        load_schema(str(path))
    assert err.value.path == f"{path}: structures[0].fields[0].dtype"
    assert "'text'" in str(err.value)


def test_schema_error_is_a_value_error():
    assert issubclass(SchemaError, ValueError)


# ---------------------------------------------------------------------------------------------
# schema_hash: changes when, and only when, the meaning changes


def _hash(spec):
    return compile_schema(spec).schema_hash


def test_hash_is_stable_across_formatting_key_order_and_explicit_defaults(tmp_path):
    base = _hash(as_dict())
    # formatting: flow style, other indentation, comments, JSON
    flow = tmp_path / "flow.yaml"
    flow.write_text(
        textwrap.dedent("""\
        relations: [{threshold: 0.70, description: employment, name: works_for}, founded]   # keys reordered
        structures:
        -   fields: [{description: who buys, name: buyer, dtype: str}, items,
                     {choices: [usd, eur], threshold: 0.6, dtype: str, name: currency}]
            name: deal
        classifications:
        - {labels: [positive, negative, neutral], name: sentiment}
        - {name: topics, multi_label: true, threshold: 0.3, labels: {tech: technology and gadgets, money: null}}
        entities: [{threshold: 0.4, name: person, description: names of people}, company]
        """)
    )
    assert load_schema(str(flow)).schema_hash == base
    assert _hash(json.loads(json.dumps(as_dict(), sort_keys=True))) == base
    # every default written out
    explicit = as_dict()
    explicit["entities"][1] = {"name": "company", "description": None, "threshold": None, "dtype": "list"}
    explicit["classifications"][0].update(multi_label=False, threshold=0.5)
    explicit["structures"][0]["fields"][1] = {
        "name": "items",
        "dtype": "list",
        "choices": None,
        "threshold": None,
        "description": None,
    }
    explicit["relations"][1] = {"name": "founded", "description": None, "threshold": None}
    assert _hash(explicit) == base
    # integer vs float spelling of the same number, surrounding whitespace in names, empty description
    spelled = as_dict()
    spelled["classifications"][0]["threshold"] = 0.50
    spelled["relations"][1] = {"name": "  founded ", "description": ""}
    spelled["structures"][0]["fields"][2]["threshold"] = 0.60
    assert _hash(spelled) == base
    # the builder, and a recompilation in a fresh process-independent way (no randomness in the hash)
    assert _hash(built()) == base
    assert _hash(as_dict()) == base


def _edit(fn):
    d = as_dict()
    fn(d)
    return d


MEANINGFUL_EDITS = {
    "entity label": lambda d: d["entities"].__setitem__(1, "organization"),
    "entity threshold": lambda d: d["entities"][0].__setitem__("threshold", 0.45),
    "entity dtype": lambda d: d["entities"][0].__setitem__("dtype", "str"),
    "entity description": lambda d: d["entities"][0].__setitem__("description", "people"),
    "entity order": lambda d: d["entities"].reverse(),
    "class label": lambda d: d["classifications"][0]["labels"].__setitem__(2, "mixed"),
    "class label description": lambda d: d["classifications"][1]["labels"].__setitem__("money", "finance"),
    "class threshold": lambda d: d["classifications"][1].__setitem__("threshold", 0.35),
    "multi_label": lambda d: d["classifications"][0].__setitem__("multi_label", True),
    "field dtype": lambda d: d["structures"][0]["fields"][0].__setitem__("dtype", "list"),
    "field threshold": lambda d: d["structures"][0]["fields"][2].__setitem__("threshold", 0.65),
    "field description": lambda d: d["structures"][0]["fields"][0].__setitem__("description", "the buyer"),
    "field name": lambda d: d["structures"][0]["fields"].__setitem__(1, "products"),
    "choice": lambda d: d["structures"][0]["fields"][2].__setitem__("choices", ["usd", "gbp"]),
    "choice added": lambda d: d["structures"][0]["fields"][2].__setitem__("choices", ["usd", "eur", "gbp"]),
    "structure name": lambda d: d["structures"][0].__setitem__("name", "purchase"),
    "relation description": lambda d: d["relations"][0].__setitem__("description", "job"),
    "relation threshold": lambda d: d["relations"][0].__setitem__("threshold", 0.5),
    "relation removed": lambda d: d["relations"].pop(),
}


def test_hash_changes_with_every_meaningful_edit():
    base = _hash(as_dict())
    hashes = {name: _hash(_edit(fn)) for name, fn in MEANINGFUL_EDITS.items()}
    changed = {name for name, h in hashes.items() if h != base}
    assert changed == set(MEANINGFUL_EDITS)
    assert len(set(hashes.values())) == len(hashes), "two different edits gave the same hash"


def test_importing_the_schema_module_does_not_import_torch():
    code = (
        "import sys, gliner2_udf.schema as s; "
        "s.compile_schema({'entities': ['person']}); "
        "print(sorted(m for m in ('torch', 'transformers', 'pyspark') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
