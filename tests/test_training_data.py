"""Training-data pipeline: record format, converters on the real shared data, WordNet, generators, mix."""

from __future__ import annotations

import builtins
import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gliner2_udf.training import converters as cv  # noqa: E402
from gliner2_udf.training.records import join_tokens, read_records, validate_record, write_records  # noqa: E402

DATA = cv.data_root()
needs_data = pytest.mark.skipif(not os.path.isdir(DATA), reason=f"shared data not found at {DATA}")


# ---------------------------------------------------------------- record format
def test_join_tokens_offsets():
    text, offs = join_tokens(["EU", "rejects", "German", "call"])
    assert text == "EU rejects German call"
    assert offs == [(0, 2), (3, 10), (11, 17), (18, 22)]


def test_validate_record_accepts_full_record():
    rec = {
        "text": "Invoice 17 from Acme: 2 pens. Paid by card.",
        "entities": {"company": [[16, 20]], "person": []},
        "entity_descriptions": {"company": "a business"},
        "classifications": [
            {"task": "topic", "labels": ["billing", "sports"], "true": ["billing"], "multi_label": False}
        ],
        "structures": [
            {
                "name": "invoice",
                "fields": ["number", "item", "payment"],
                "choices": {"payment": ["card", "cash"]},
                "instances": [{"number": [[8, 10]], "item": [[24, 28]], "payment": "card"}],
            }
        ],
        "relations": [{"name": "sold by", "pairs": [[[24, 28], [16, 20]]]}],
        "source": "unit",
    }
    assert validate_record(rec) == []


@pytest.mark.parametrize(
    "rec, fragment",
    [
        ({"text": "Ann Lee", "entities": {"person": [[0, 8]]}}, "out of range"),
        ({"text": "Ann Lee", "entities": {"person": [[0, 4]]}}, "whitespace"),
        ({"text": "Ann Lee", "entities": {"person": [[3, 3]]}}, "out of range"),
        ({"text": "Ann", "classifications": [{"task": "t", "labels": ["a", "b"], "true": ["c"]}]}, "not among"),
        ({"text": "Ann", "classifications": [{"task": "t", "labels": ["a", "b"], "true": ["a", "b"]}]}, "exactly one"),
        (
            {
                "text": "Ann",
                "structures": [{"name": "s", "fields": ["x"], "choices": {"x": ["p", "q"]}, "instances": [{"x": "r"}]}],
            },
            "not one of",
        ),
        (
            {"text": "Ann", "structures": [{"name": "s", "fields": ["x"], "instances": [{"y": [[0, 3]]}]}]},
            "not a declared",
        ),
        ({"text": "  "}, "text"),
        ({"text": "Ann", "colour": 1}, "unknown key"),
    ],
)
def test_validate_record_reports_problems(rec, fragment):
    problems = validate_record(rec)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize("name", ["r.jsonl", "r.jsonl.gz"])
def test_read_write_roundtrip(tmp_path, name):
    recs = [{"text": "Ann Lee", "entities": {"person": [[0, 7]]}}, {"text": "ünïcode €", "source": "x"}]
    path = str(tmp_path / "sub" / name)
    assert write_records(path, iter(recs)) == 2
    assert list(read_records(path)) == recs


# ---------------------------------------------------------------- tags and converters
def test_tag_spans_bio_and_io():
    assert cv.tag_spans(["B-PER", "I-PER", "O", "B-LOC", "B-LOC"]) == [(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "LOC")]
    assert cv.tag_spans(["I-ORG", "I-ORG", "I-PER", "O", "I-ORG"]) == [(0, 2, "ORG"), (2, 3, "PER"), (4, 5, "ORG")]
    assert cv.tag_spans(["Skill", "Skill", "O"]) == [(0, 2, "Skill")]


def test_pronoun_mentions_are_dropped_and_absent_types_are_negatives():
    rec = cv.tagged_record(
        ["She", "met", "Ann", "Lee", "there"],
        ["B-person", "O", "B-person", "I-person", "B-place"],
        {"person": "person", "place": "place", "object": "object"},
        "unit",
    )
    assert rec["text"] == "She met Ann Lee there"
    assert rec["entities"] == {"person": [[8, 15]], "place": [], "object": []}


def test_is_pronoun():
    assert cv.is_pronoun("They") and cv.is_pronoun("I") and cv.is_pronoun("my")
    assert not cv.is_pronoun("US") and not cv.is_pronoun("Ann")


def test_readable_names():
    assert cv.readable("Gene_or_gene_product") == "gene or gene product"
    assert cv.atis_slot_name("fromloc.city_name") == "departure city"
    assert cv.atis_slot_name("arrive_time.start_time") == "earliest arrival time"
    assert cv.atis_slot_name("or") is None


def test_registry_declares_no_evaluation_data():
    assert set(cv.iter_all_sources()) - {"yin_sentiment"} == set(cv.PATHS)  # reads yin_emotion's files
    for name, paths in cv.PATHS.items():
        for p in paths:
            assert "eval/" not in p and "/eval" not in p, (name, p)
            assert not p.endswith("conll2003/test.txt"), (name, p)
            assert os.path.basename(p) not in ("test.txt", "test.json", "test.tsv"), (name, p)


def test_source_paths_refuses_eval(monkeypatch):
    monkeypatch.setitem(cv.PATHS, "conll2003", ("ner/train/conll2003/test.txt",))
    with pytest.raises(ValueError):
        cv.source_paths("conll2003")
    monkeypatch.setitem(cv.PATHS, "conll2003", ("ner/eval/CrossNER_AI/test.json",))
    with pytest.raises(ValueError):
        cv.source_paths("conll2003")


@needs_data
@pytest.mark.parametrize("name", sorted(cv.PATHS))
def test_converter_yields_valid_records(name, monkeypatch):
    opened = []
    real_open = builtins.open

    def spy(path, *a, **k):
        opened.append(os.path.abspath(str(path)))
        return real_open(path, *a, **k)

    monkeypatch.setattr(builtins, "open", spy)
    recs = list(itertools.islice(cv.iter_all_sources()[name](), 1500))
    monkeypatch.setattr(builtins, "open", real_open)

    assert len(recs) >= 300 or name == "skill_extraction" and len(recs) > 200
    declared = [os.path.abspath(p) for p in cv.source_paths(name)]
    for path in opened:
        assert "/eval/" not in path and not path.endswith("conll2003/test.txt")
        assert any(path == d or path.startswith(d + os.sep) for d in declared), path
    annotated = 0
    for rec in recs:
        assert validate_record(rec) == [], (rec["text"], validate_record(rec))
        assert rec["source"] == name
        for t, spans in rec.get("entities", {}).items():
            assert t == t.lower() and "_" not in t, t
            if name in cv.NER_SOURCES:
                assert not any(cv.is_pronoun(rec["text"][s:e]) for s, e in spans)
        for c in rec.get("classifications", []):
            assert all("_" not in lab for lab in c["labels"])
        annotated += (
            any(rec.get("entities", {}).values())
            or bool(rec.get("classifications"))
            or any(st["instances"] for st in rec.get("structures", []))
        )
    assert annotated >= len(recs) // 5


@needs_data
def test_known_sentences_convert_exactly():
    first = next(cv.conll2003())
    assert first["text"] == "EU rejects German call to boycott British lamb ."
    assert first["entities"]["organization"] == [[0, 2]]
    assert first["entities"]["miscellaneous"] == [[11, 17], [34, 41]]
    assert first["entities"]["person"] == []
    rel = next(
        r
        for r in cv.conll04()
        if r["text"] == "John Wilkes Booth , who assassinated President Lincoln , was an actor ."
    )
    killed = next(r for r in rel["relations"] if r["name"] == "killed")
    pairs = [[rel["text"][s:e] for s, e in pair] for pair in killed["pairs"]]
    assert pairs == [["John Wilkes Booth", "President Lincoln"]]
    clinc = next(cv.clinc150())
    assert clinc["classifications"][0]["true"] == ["translate"]
    assert "book flight" in clinc["classifications"][0]["labels"]


# ---------------------------------------------------------------- WordNet
@pytest.fixture(scope="module")
def lexicon():
    from gliner2_udf.training.mix import _lexicon

    return _lexicon(None)  # the cached instance the mix uses too


@needs_data
def test_wordnet_einstein_is_physicist_scientist_person(lexicon):
    wn = lexicon.wn
    einstein = wn.find_instance("Einstein")
    levels = [[wn.name(c) for c in lvl] for lvl in wn.class_levels(einstein)]
    assert levels[:3] == [["physicist"], ["scientist"], ["person"]]
    assert "relativity" in wn.synsets[einstein].gloss
    assert len(wn.instances) > 7000
    river_levels = wn.class_levels(wn.find_instance("Mississippi River"))
    assert [wn.name(c) for c in river_levels[0]] == ["river"]


@needs_data
def test_lexicon_matches_named_instances(lexicon):
    text = "Albert Einstein and Niels Bohr met in Copenhagen; the French delegation was late."
    found = {text[m.start : m.end]: m for m in lexicon.match(text)}
    assert set(found) == {"Albert Einstein", "Niels Bohr", "Copenhagen"}
    assert {"physicist", "scientist"} <= lexicon.pos_names(found["Albert Einstein"])
    assert "city" in lexicon.pos_names(found["Copenhagen"])


@needs_data
def test_gloss_records_are_valid_and_typed(lexicon):
    import random

    recs = list(itertools.islice(lexicon.gloss_records(random.Random(0)), 300))
    assert all(validate_record(r) == [] for r in recs)
    assert all(any(r["entities"].values()) for r in recs)
    assert len({t for r in recs for t in r["entities"]}) > 150


@needs_data
def test_typed_records_label_each_mention_with_its_most_specific_asked_type(lexicon):
    import random

    text = "Albert Einstein met Niels Bohr and the poet Walt Whitman in Copenhagen."
    mentions = lexicon.match(text)
    checked = 0
    for seed in range(200):
        rec = lexicon.type_record(text, mentions, random.Random(seed), "test")
        if not rec:
            continue
        spans = {text[a:b]: t for t, v in rec["entities"].items() for a, b in v}
        asked = set(rec["entities"])
        if {"physicist", "person"} <= asked:
            assert spans["Albert Einstein"] == "physicist"
            assert spans["Niels Bohr"] in ("physicist", "nuclear physicist")  # never the coarser person
            checked += 1
        whitman = next(m for m in mentions if text[m.start : m.end] == "Walt Whitman")
        if "person" in asked and not (asked - {"person"}) & lexicon.pos_names(whitman):
            assert spans["Walt Whitman"] == "person"
        if "poet" in asked:
            assert spans["Walt Whitman"] == "poet"
    assert checked > 0


@needs_data
def test_sentence_records_move_a_span_from_its_coarse_label_to_the_finer_asked_type(lexicon):
    import random

    base = {
        "text": "Germany beat France in Munich .",
        "source": "conll2003",
        "entities": {"location": [[0, 7], [13, 19], [23, 29]], "person": []},
    }
    seen = 0
    for rec in itertools.islice(lexicon.sentence_records(itertools.repeat(base, 300), random.Random(0)), 300):
        if "country" in rec["entities"] and [0, 7] in rec["entities"]["country"]:
            assert [0, 7] not in rec["entities"]["location"]
            seen += 1
        owned = [s for v in rec["entities"].values() for s in v]
        assert all(s in owned for s in base["entities"]["location"])  # no span lost
    assert seen > 0


def test_emotions_read_as_sentiment_skip_the_neutral_ones():
    from gliner2_udf.training.converters import SENTIMENT_OF_EMOTION

    assert SENTIMENT_OF_EMOTION["joy"] == "positive" and SENTIMENT_OF_EMOTION["fear"] == "negative"
    assert "surprise" not in SENTIMENT_OF_EMOTION and "no emotion" not in SENTIMENT_OF_EMOTION


# ---------------------------------------------------------------- synthetic generators
@pytest.fixture(scope="module")
def synthetic(lexicon):
    from gliner2_udf.training.synthetic import Synthetic, ValuePools

    return lambda seed: Synthetic(seed, lexicon, ValuePools(seed, per_locale=8))


@needs_data
def test_nested_records_have_several_and_zero_instances(synthetic):
    recs = list(itertools.islice(synthetic(0).nested(), 400))
    assert all(validate_record(r) == [] for r in recs)
    counts = [len(st["instances"]) for r in recs for st in r["structures"]]
    assert sum(c >= 2 for c in counts) >= 80
    assert any(c == 0 for c in counts) and max(counts) >= 4
    chosen = [
        inst[f]
        for r in recs
        for st in r["structures"]
        for inst in st["instances"]
        for f in st.get("choices", {})
        if f in inst
    ]
    assert {"card", "cash", "transfer"} <= set(chosen)
    inv = next(r for r in recs if r["structures"][0]["name"] == "invoice" and len(r["structures"]) == 1)
    pay = inv["structures"][0]["instances"][0]["payment method"]
    assert {"card": "card", "cash": "cash", "transfer": "transfer"}[pay] in inv["text"]


@needs_data
@pytest.mark.parametrize("gen", ["faker_ner", "wordnet_ner", "relations", "classification"])
def test_generators_valid_and_deterministic(synthetic, gen):
    a = list(itertools.islice(getattr(synthetic(1), gen)(), 200))
    b = list(itertools.islice(getattr(synthetic(1), gen)(), 200))
    c = list(itertools.islice(getattr(synthetic(2), gen)(), 200))
    assert a == b and a != c
    assert all(validate_record(r) == [] for r in a)


@needs_data
def test_coordinated_lists_are_separate_mentions(synthetic):
    recs = list(itertools.islice(synthetic(0).faker_ner(), 400))
    lists = [r for r in recs if any(len(v) >= 3 for v in r["entities"].values())]
    assert len(lists) >= 20
    for r in lists:
        for spans in r["entities"].values():
            assert all(b <= s for (_, b), (s, _) in zip(sorted(spans), sorted(spans)[1:]))


@needs_data
def test_goods_on_invoices_are_products_beside_people(synthetic):
    """Issue 20: the sample's invoice items read as persons. Training now types plain goods as products next to
    asked people, and none of the sample's own items or product names is among the values."""
    from gliner2_udf.training.synthetic import COINED_NAMES, GOODS, VALUE_TYPES

    product_names, person_names = set(VALUE_TYPES["product"][0]), set(VALUE_TYPES["person"][0])
    recs = list(itertools.islice(synthetic(0).faker_ner(), 3000))
    products = [
        r["text"][s:e] for r in recs for t, spans in r["entities"].items() if t in product_names for s, e in spans
    ]
    beside_people = [
        r
        for r in recs
        if any(r["entities"].get(t) for t in product_names) and any(r["entities"].get(t) for t in person_names)
    ]
    assert len(beside_people) >= 30
    assert sum(p in GOODS for p in products) >= 0.15 * len(products)
    assert any(p.split()[0] in COINED_NAMES for p in products)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sample = open(os.path.join(root, "jobs", "make_sample_data.py"), encoding="utf-8").read()
    for value in GOODS + COINED_NAMES:
        assert f'"{value}' not in sample, value


@needs_data
def test_companies_come_without_a_legal_form_and_address_invoices(synthetic):
    """Issue 20: the sample's remaining 'person' things are companies named like "<name> <industry>" on invoices.
    Training has such companies as sellers, buyers and payers; none of the sample's own companies is among them."""
    from gliner2_udf.training.synthetic import INDUSTRIES, VALUE_TYPES

    pools = synthetic(0).pools.pools["company"]
    bare = [c for c in pools if c.split()[-1] in INDUSTRIES]
    assert 0.2 * len(pools) < len(bare) < 0.6 * len(pools)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sample = open(os.path.join(root, "jobs", "make_sample_data.py"), encoding="utf-8").read()
    assert not [c for c in pools if f'"{c}"' in sample]
    company_names = set(VALUE_TYPES["company"][0])
    recs = list(itertools.islice(synthetic(0).faker_ner(), 3000))
    two_companies = [r for r in recs if sum(len(r["entities"].get(t, [])) for t in company_names) >= 2]
    assert len(two_companies) >= 30


# ---------------------------------------------------------------- fine-grained roles
@pytest.fixture(scope="module")
def roles():
    from gliner2_udf.training.roles import Roles
    from gliner2_udf.training.synthetic import ValuePools

    return lambda seed: Roles(seed, ValuePools(seed, per_locale=8))


def test_role_records_valid_deterministic_and_cover_every_kind(roles):
    from gliner2_udf.training.roles import KINDS

    a = list(itertools.islice(roles(1).records(), 1500))
    assert a == list(itertools.islice(roles(1).records(), 1500))
    assert a != list(itertools.islice(roles(2).records(), 1500))
    assert all(validate_record(r) == [] for r in a)
    gold = {t for r in a for t, spans in r["entities"].items() if spans}
    assert {KINDS[k]["names"][0] for k in KINDS} <= gold  # every kind is a gold type somewhere


def _types_of(rec: dict, name: str) -> set[str]:
    """The types under which ``name`` is a gold mention of ``rec``."""
    return {t for t, spans in rec["entities"].items() for s, e in spans if rec["text"][s:e] == name}


def test_a_writer_is_a_writer_when_asked_and_a_person_otherwise(roles):
    """Issue 20 (CrossNER: writer -> person): the finest asked type is gold; a plain person stays a person."""
    import random

    gen = roles(0)
    template = "{writer} dedicated {book} to {person}, her first teacher."
    writer_names = {"writer", "author", "novelist"}
    as_writer = as_person = 0
    for i in range(300):
        rec = gen.record(template, "literature", random.Random(i))
        text, ents = rec["text"], rec["entities"]
        writer = text[: text.index(" dedicated ")]
        teacher = text[text.rindex(" to ") + 4 : text.index(", her first teacher")]
        of_writer, of_teacher = _types_of(rec, writer), _types_of(rec, teacher)
        asked_writer = writer_names & set(ents)
        assert len(of_writer) <= 1 and len(of_teacher) <= 1
        assert not of_teacher & writer_names
        if asked_writer:
            assert of_writer == asked_writer
            as_writer += 1
        elif "person" in ents:
            assert of_writer == {"person"}
            as_person += 1
        if "person" in ents:
            assert of_teacher == {"person"}
    assert as_writer > 150 and as_person > 5


@needs_data
def test_role_mix_group_serves_role_records():
    from gliner2_udf.training.mix import MixConfig, MixStats, mix_records

    stats = MixStats()
    list(mix_records(MixConfig(n=1500, seed=3, shares={"lexicon": 1.0}), stats))
    assert 0.12 < stats.by_source["roles"] / 1500 < 0.35


# ---------------------------------------------------------------- mix
@needs_data
def test_mix_is_valid_shuffled_and_deterministic():
    from gliner2_udf.training.mix import MixConfig, MixStats, mix_records

    stats = MixStats()
    a = list(mix_records(MixConfig(n=600, seed=5), stats))
    b = list(mix_records(MixConfig(n=600, seed=5)))
    assert a == b and len(a) == 600
    assert all(validate_record(r) == [] for r in a)
    assert all(len(r["text"].split()) <= 200 for r in a)
    assert 0.25 < stats.by_group["ner"] / 600 < 0.45
    ner = [r for r in a if r["source"] == "conll2003"]
    orders = {
        tuple(t for t in r["entities"] if t in ("person", "organization", "location", "miscellaneous")) for r in ner
    }
    assert len(orders) > 5  # types are not stored in one fixed order
    assert "distinct entity type names" in stats.summary()


@needs_data
def test_class_sorted_sources_are_drawn_across_all_classes():
    """The emotion file lists its texts class by class: early draws must already see every class."""
    import random

    from gliner2_udf.training import converters as cv
    from gliner2_udf.training.mix import shuffled

    first = list(itertools.islice(shuffled(cv.yin_sentiment, random.Random(0)), 1000))
    positive = sum(r["classifications"][0]["true"] == ["positive"] for r in first)
    assert 350 < positive < 650
    emotions = {
        r["classifications"][0]["true"][0] for r in itertools.islice(shuffled(cv.yin_emotion, random.Random(0)), 300)
    }
    assert len(emotions) >= 8


def test_value_pools_do_not_depend_on_hash_seed():
    import subprocess

    code = (
        "import hashlib, json; from gliner2_udf.training.synthetic import ValuePools; "
        "print(hashlib.md5(json.dumps(ValuePools(3, per_locale=4).pools, sort_keys=True).encode()).hexdigest())"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": h},
        ).stdout
        for h in ("1", "2")
    }
    assert len(out) == 1


# ---------------------------------------------------------------- vocabulary tables (data/*.yaml)
TABLE_MODULES = ("synthetic", "mix", "converters", "lexicon", "roles")


@pytest.mark.parametrize("name", TABLE_MODULES)
def test_table_files_load_alike_with_either_yaml_loader_and_are_all_used(name):
    import importlib

    import yaml

    from gliner2_udf.training import tables

    text = tables.read(name)
    data = yaml.safe_load(text)
    assert yaml.load(text, Loader=tables.SAFE_LOADER) == data  # libyaml, where present, reads them the same
    loaded = tables.load(name)
    assert list(loaded) == list(data)
    assert not any(isinstance(v, list) for v in loaded.values())  # lists come back as tuples
    source = open(importlib.import_module(f"gliner2_udf.training.{name}").__file__, encoding="utf-8").read()
    assert all(f'"{key}"' in source for key in data), "a table no module reads"


def test_table_files_are_package_data():
    folder = os.path.join(os.path.dirname(cv.__file__), "data")
    assert sorted(os.listdir(folder)) == sorted(f"{n}.yaml" for n in TABLE_MODULES)  # setup.py: data/*.yaml


def test_tables_keep_the_types_the_generators_rely_on():
    from gliner2_udf.training import lexicon, mix
    from gliner2_udf.training import synthetic as sy

    assert isinstance(sy.BINARY_SENTIMENT[:4] + (("positive", "negative"),), tuple)
    assert set(sy.CRITIC_ADJ) == {1, -1} and set(sy.POLAR) == {2, 1, 0, -1, -2}
    assert all(isinstance(t, str) and isinstance(a, list) for t, a in sy.REVIEW_DOMAINS)
    assert all(len(v) == 2 and all(isinstance(x, tuple) for x in v) for v in sy.TOPICS.values())
    assert all(len(r) == 2 for r in sy.REGISTER) and sy.CURRENCIES[0] == ("usd", "$")
    assert list(sy.VALUE_TYPES)[:2] == ["person", "first_name"] and sy.VALUE_TYPES["year"][0] == ("year",)
    assert isinstance(cv.PRONOUNS, frozenset) and "y'all" in cv.PRONOUNS and "'s" in cv.PRONOUNS
    assert isinstance(lexicon.GENERIC, frozenset) and "physical_entity" in lexicon.GENERIC
    assert cv.TREC_FINE["NUM:weight"] == "weight" and cv.WNUT["creative-work"] == "creative work"
    assert cv.atis_slot_name("depart_date.day_name") == "departure day"
    assert all(isinstance(v, list) for v in mix.PARAPHRASE.values()) and mix.DOMAIN_WEIGHT["general"] == 1.4


@needs_data
def test_many_label_group_keeps_long_lists_in_one_naming_style():
    """Issue 20: the ``many_labels`` group serves CLINC150 intents and TREC answer types with 50-100 labels, all
    named in one style (so the style never marks the gold), the gold always among them."""
    from gliner2_udf.training.mix import LABEL_STYLES, MixConfig, mix_records

    shares = {g: 0.0 for g in MixConfig().shares} | {"many_labels": 1.0}
    recs = list(mix_records(MixConfig(n=200, seed=2, shares=shares)))
    assert all(validate_record(r) == [] for r in recs)
    assert all(len(r["classifications"]) == 1 for r in recs)
    sizes = {
        s: [len(r["classifications"][0]["labels"]) for r in recs if r["source"] == s] for s in ("clinc150", "trec")
    }
    assert min(sizes["clinc150"]) >= 50 and max(sizes["clinc150"]) == 100
    assert min(sizes["trec"]) >= 40  # its answer types (47), all of them
    assert {r["source"] for r in recs} == {"clinc150", "trec"}
    styled = 0
    for r in recs:
        task = r["classifications"][0]
        assert set(task["true"]) <= set(task["labels"])
        for style in LABEL_STYLES[2:]:
            prefix, _, suffix = style.partition("{}")
            if all(x.startswith(prefix) and x.endswith(suffix) for x in task["labels"]):
                styled += 1
                break
    assert 0.4 < styled / len(recs) < 0.9  # 4 of the 6 styles rename, the other 2 keep the names


def _tar_gz(member: str, data: bytes) -> bytes:
    """A gzipped tar archive holding one file."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _reviews_archive(path, rows):
    import csv
    import io

    from gliner2_udf.training import reviews

    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path.write_bytes(_tar_gz(reviews.MEMBER, ("\ufeff" + buf.getvalue()).encode("utf-8")))
    return str(path)


def test_review_records_take_each_reviews_closing_lines_without_its_rating(tmp_path):
    from gliner2_udf.training import reviews

    good = "the plot is thin .\nthe cast , however , is wonderful and i loved every minute .\n2 : 00 - r for violence\n"
    bad = "it opens well .\n" + "the middle drags . " * 30 + "\na dull , lifeless mess .\n"
    path = _reviews_archive(tmp_path / "p.tar.gz", [["1", good], ["-1", bad], ["0", "an unlabelled review ."]])
    recs = list(reviews.review_records(path, max_words=20))
    assert [r["classifications"][0]["true"] for r in recs] == [["positive"], ["negative"]]
    assert recs[0]["text"] == "the plot is thin . the cast , however , is wonderful and i loved every minute ."
    assert recs[1]["text"] == "a dull , lifeless mess ."  # the 90-word line before it does not fit in 20 words
    assert all(validate_record(r) == [] and r["source"] == "movie_reviews" for r in recs)


def _vader_archive(path, name, lines):
    """vaderSentiment's sdist: the ground-truth archive inside it, one set inside that (CRLF lines, as shipped)."""
    from gliner2_udf.training import reviews

    inner = _tar_gz(reviews.VADER_SETS[name], "\r\n".join(lines).encode("utf-8"))
    path.write_bytes(_tar_gz(reviews.VADER_MEMBER, inner))
    return str(path)


def test_rated_sentences_keep_clear_ratings_and_balance_the_two_sides(tmp_path):
    from gliner2_udf.training import reviews

    lines = [
        "1\t2.5\tGreat battery , lasts &amp; lasts.",
        "2\t0.4\tIt arrived on a Tuesday.",  # near neutral: left out
        "3\t1.9\tLove the screen.",
        "4\t-2.1\tBroke after  two days.",
        "5\t-0.99\tThe box was brown.",  # just short of -1: left out
        "6\t3.0\tBest purchase this year.",  # a third positive: no negative left to pair it with
        "7\t-1.0\tNot worth the money.",
        "a malformed line without tabs",
    ]
    recs = list(
        reviews.rated_sentences("product_reviews", _vader_archive(tmp_path / "v.tar.gz", "product_reviews", lines))
    )
    assert [(r["text"], r["classifications"][0]["true"]) for r in recs] == [
        ("Great battery , lasts & lasts.", ["positive"]),
        ("Broke after two days.", ["negative"]),
        ("Love the screen.", ["positive"]),
        ("Not worth the money.", ["negative"]),
    ]
    assert all(validate_record(r) == [] and r["source"] == "product_reviews" for r in recs)


def test_imdb_records_take_closing_sentences_without_ratings_and_skip_rotten_tomatoes(tmp_path):
    import csv
    import io
    import zipfile

    from gliner2_udf.training import reviews

    slow = "The first hour is slow and the second hour is slower still. "
    rows = [
        ["Great cast.<br /><br />Rated 4 stars. The story drags in the middle. Still, I loved every minute of it! 8/10"]
        + ["1", "imdb"],
        [slow * 30 + "What a dull mess it is.", "0", "imdb"],
        ["the rock is destined to be a star .", "1", "rotten_tomatoes"],
    ]
    buf = io.StringIO()
    csv.writer(buf).writerows([["text", "label", "source"], *rows])
    path = tmp_path / reviews.PACKAGES["imdb"][1]
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr(reviews.IMDB_MEMBER, buf.getvalue())
    recs = list(reviews.imdb_records(str(path)))
    assert [(r["text"], r["classifications"][0]["true"]) for r in recs] == [
        ("The story drags in the middle. Still, I loved every minute of it!", ["positive"]),
        (slow * 2 + "What a dull mess it is.", ["negative"]),  # a third sentence would pass 40 words
    ]
    assert all(validate_record(r) == [] and r["source"] == "imdb" for r in recs)
