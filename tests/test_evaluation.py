"""Evaluation: metrics against hand-computed values, readers on the real files, an end-to-end run."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gliner2_udf import evaluation as ev  # noqa: E402
from gliner2_udf.training import converters as cv  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = cv.data_root()
needs_data = pytest.mark.skipif(
    not os.path.isdir(os.path.join(DATA, "ner", "eval")), reason=f"shared data not found at {DATA}"
)


# ---------------------------------------------------------------- metrics
def test_prf_hand_computed():
    m = ev.prf(3, 1, 2)
    assert m["precision"] == pytest.approx(0.75)
    assert m["recall"] == pytest.approx(0.6)
    assert m["f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)  # 0.6667
    assert ev.prf(0, 0, 0)["f1"] == 0.0
    assert ev.prf(0, 4, 0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 4, "fn": 0}


def test_span_prf_micro_over_sentences():
    gold = [[(0, 5, "person"), (10, 15, "location")], [(3, 7, "organization")], []]
    pred = [
        [(0, 5, "person"), (10, 15, "person")],  # 1 tp, 1 fp (wrong type), 1 fn
        [(3, 7, "organization"), (3, 7, "organization")],  # duplicates count once: 1 tp
        [(1, 2, "person")],
    ]  # 1 fp
    m = ev.span_prf(gold, pred)
    assert (m["tp"], m["fp"], m["fn"]) == (2, 2, 1)
    assert m["precision"] == pytest.approx(0.5)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(4 / 7)
    # boundaries must match exactly
    assert ev.span_prf([[(0, 5, "person")]], [[(0, 4, "person")]])["f1"] == 0.0
    with pytest.raises(ValueError):
        ev.span_prf([[]], [])


def test_accuracy():
    assert ev.accuracy(["a", "b", "b", "c"], ["a", "b", "c", "c"]) == pytest.approx(0.75)
    assert ev.accuracy([], []) == 0.0
    with pytest.raises(ValueError):
        ev.accuracy(["a"], [])


def test_best_alignment_is_optimal():
    a, b, c, d = ("f", "a"), ("f", "b"), ("g", "c"), ("g", "d")
    assert ev.best_alignment([[a, c], [b, d]], [[b, d], [a, c]]) == 4  # order of instances does not matter
    # greedy on the first row would pair gold 0 with pred 0 (2 pairs) and lose gold 1 (total 2); optimal is 3
    assert ev.best_alignment([[a, c], [a]], [[a, c, b], [a]]) == 3
    assert ev.best_alignment([[a, b], [c]], [[a, b, c]]) == 2  # one prediction, two gold instances
    assert ev.best_alignment([], [[a]]) == 0
    assert ev.multiset_overlap([a, a, b], [a, b, b]) == 2


def test_flat_spans_greedy_across_labels():
    ents = {
        "location": [
            {"text": "AL-AIN", "confidence": 0.58, "start": 0, "end": 6},
            {"text": "Berlin", "confidence": 0.99, "start": 20, "end": 26},
        ],
        "organization": [
            {"text": "AL-AIN", "confidence": 0.54, "start": 0, "end": 6},
            {"text": "in Berlin", "confidence": 0.7, "start": 17, "end": 26},
        ],
        "person": [],
    }
    out = ev.flat_spans(ents, ["person", "organization", "location"])
    assert out == [(0, 6, "location", 0.58), (20, 26, "location", 0.99)]


def test_intent_names():
    assert [ev.intent_name(i) for i in ev.SNIPS_INTENTS] == [
        "add to playlist",
        "book restaurant",
        "get weather",
        "play music",
        "rate book",
        "search creative work",
        "search screening event",
    ]


def test_targets_table_and_gap():
    assert ev.TARGETS["conll_order_gap"] == ("<=", 0.02)
    assert ev.TARGETS["crossner_mean_f1"] == (">=", 0.40)


def test_target_score_is_the_mean_share_of_each_target_reached():
    values = {
        "conll_alphabetical_f1": 0.95,  # above 0.90: 1
        "conll_person_first_f1": 0.45,  # 0.45 / 0.90 = 0.5
        "conll_order_gap": 0.04,  # a ceiling of 0.02: 0.02 / 0.04 = 0.5
        "crossner_mean_f1": 0.2,  # 0.5
        "sst2_accuracy": 0.8,  # 1
        "snips_accuracy": 0.0,  # 0
        "many_label_accuracy": 0.5,  # 1
    }
    targets = {k: {"value": v} for k, v in values.items()}
    assert ev.target_score(targets) == pytest.approx((1 + 0.5 + 0.5 + 0.5 + 1 + 0 + 1) / 7)
    assert ev.target_score({**targets, "conll_order_gap": {"value": 0.0}}) == pytest.approx(5 / 7)
    # the sample's typing counts when the report has it: 20 % of person mentions are things, a ceiling of 5 %
    with_sample = {**targets, "sample_person_things": {"value": 0.2}}
    assert ev.target_score(with_sample) == pytest.approx((1 + 0.5 + 0.5 + 0.5 + 1 + 0 + 1 + 0.25) / 8)


def test_sample_typing_counts_person_mentions_that_name_a_thing():
    class Answers:  # stands in for a model: sample_typing only reads batch_extract's answers
        def batch_extract(self, texts, schema, batch_size):
            return [
                {"entities": {"person": ["Maria Lopez", "HDMI adapter"], "product": ["HDMI adapter"]}},
                {
                    "entities": {
                        "person": [{"text": "Nimbus", "confidence": 0.9}, {"text": "Berlin", "confidence": 0.8}]
                    }
                },
                {"entities": {}},
            ][: len(texts)]

    got = ev.sample_typing(Answers(), ["a", "b", "c"], ["HDMI adapter", "Nimbus smart speaker", "Berlin"], None)
    assert (got["n"], got["person_mentions"], got["not_persons"]) == (3, 4, 3)
    assert dict(got["top_not_persons"]) == {"HDMI adapter": 1, "Nimbus": 1, "Berlin": 1}


# ---------------------------------------------------------------- readers on the real files
CROSSNER_COUNTS = {
    "AI": (431, 1804),
    "literature": (416, 2263),
    "music": (465, 3334),
    "politics": (650, 4200),
    "science": (543, 3088),
}


@needs_data
@pytest.mark.parametrize("domain", ev.CROSSNER_DOMAINS)
def test_read_crossner_counts_and_offsets(domain):
    labels, sents = ev.read_crossner(domain)
    assert (len(sents), sum(len(s.spans) for s in sents)) == CROSSNER_COUNTS[domain]
    assert labels == ev.crossner_labels(domain) and len(labels) == len(set(labels))
    with open(os.path.join(DATA, "ner", "eval", f"CrossNER_{domain}", "test.json"), encoding="utf-8") as f:
        raw = json.load(f)
    for s, r in zip(sents, raw):
        assert s.text == r["sentence"]
        assert [s.text[a:b] for a, b, _ in s.spans] == [e["name"] for e in r["entities"]]
        assert all(s.text[a:b] == s.text[a:b].strip() and b > a for a, b, _ in s.spans)
    if domain != "music":
        assert {t for s in sents for _, _, t in s.spans} <= set(labels)
    _, first = ev.read_crossner(domain, limit=300)
    assert len(first) == 300 and first[0].text == sents[0].text


@needs_data
def test_crossner_music_type_quirk_and_mapping():
    labels, sents = ev.read_crossner("music")
    types = [t for s in sents for _, _, t in s.spans]
    assert types.count("organisation") == 208 and types.count("misc") == 171
    assert "organisation" not in labels and "misc" not in labels
    _, mapped = ev.read_crossner("music", type_map=ev.MUSIC_TYPE_MAP)
    assert {t for s in mapped for _, _, t in s.spans} <= set(labels)
    assert [len(s.spans) for s in mapped] == [len(s.spans) for s in sents]


@needs_data
def test_read_conll_test():
    sents = ev.read_conll_test()
    assert len(sents) == 3453
    types = [t for s in sents for _, _, t in s.spans]
    assert len(types) == 1662 + 693 + 1656 + 1617
    assert set(types) == set(ev.CONLL_ORDERS["alphabetical"]) == set(ev.CONLL_ORDERS["person_first"])
    assert list(ev.CONLL_ORDERS["alphabetical"]) == sorted(ev.CONLL_ORDERS["alphabetical"])
    s = sents[1]  # "Nadim Ladki"
    assert s.text == "Nadim Ladki" and s.spans == [(0, 11, "person")]
    s = sents[2]
    assert [(s.text[a:b], t) for a, b, t in s.spans] == [("AL-AIN", "location"), ("United Arab Emirates", "location")]
    assert len(ev.read_conll_test(limit=400)) == 400


@needs_data
def test_read_sst2():
    items = ev.read_sst2()
    assert len(items) == 1821
    assert sum(lab == "positive" for _, lab in items) == 909
    first = ev.read_sst2(limit=300)
    assert len(first) == 300 and {lab for _, lab in first} == {"positive", "negative"}
    assert first[0] == ("no movement , no yuks , not much of anything .", "negative")


@needs_data
def test_read_snips():
    items = ev.read_snips()
    assert len(items) == 700
    labels = ev.snips_labels()
    counts = {lab: sum(g == lab for _, g in items) for lab in labels}
    assert counts == {lab: 100 for lab in labels}
    assert sorted({g for _, g in items[:7]}) == sorted(labels)  # interleaved: any limit stays balanced
    assert all(t and t == t.strip() and "  " not in t for t, _ in items)
    assert any("Alejandro Fernández" in t for t, _ in items)  # non-ASCII decoded, not mangled


@needs_data
def test_many_label_set_holds_the_snips_intents_and_no_synonym():
    labels = ev.many_label_intents()
    snips = ev.snips_labels()
    assert len(labels) == len(set(labels)) == 77 and set(snips) <= set(labels)
    words = {w for s in snips for w in s.split()}
    assert not any(set(label.split()) & words for label in labels if label not in snips)
    assert labels == ev.many_label_intents()  # the same set every run


def test_read_snips_latin1_fallback(tmp_path):
    folder = tmp_path / "cls" / "eval" / "snips"
    folder.mkdir(parents=True)
    doc = {"PlayMusic": [{"data": [{"text": "play "}, {"text": "blues británico", "entity": "genre"}]}]}
    (folder / "validate_PlayMusic.json").write_bytes(json.dumps(doc, ensure_ascii=False).encode("latin-1"))
    assert ev.read_snips(str(tmp_path)) == [("play blues británico", "play music")]


def test_structure_records_held_out():
    recs = ev.structure_records(300)
    assert recs == ev.structure_records(300)  # deterministic
    with pytest.raises(ValueError):
        ev.structure_records(5, seed=0)
    counts = {len(st["instances"]) for r in recs for st in r["structures"]}
    assert 0 in counts and max(counts) >= 3  # negatives and several instances per text
    # no text of the held-out slice is a training text (training builds use seed 0)
    from gliner2_udf.training.synthetic import Synthetic

    train = {r["text"] for r in itertools.islice(Synthetic(0).nested(), 3000)}
    assert not train & {r["text"] for r in recs}
    for r in recs:
        for st in r["structures"]:
            for inst in st["instances"]:
                for f, v in inst.items():
                    if isinstance(v, list) and len(v) > 1:
                        assert (st["name"], f) in ev.LIST_FIELDS
            for pairs in ev.gold_instance_pairs(r["text"], st):
                assert all(val and val == val.strip() for _, val in pairs)


class _Oracle:
    """Answers structure queries with the gold instances of the records it was built from."""

    def __init__(self, records, drop_last_instance=False):
        self.by_text = {r["text"]: r for r in records}
        self.drop = drop_last_instance

    def batch_extract(self, texts, schema, **kw):
        out = []
        for t in texts:
            res = {}
            for st in self.by_text[t]["structures"]:
                rows = []
                for inst in st["instances"]:
                    row = {}
                    for f in st["fields"]:
                        v = inst.get(f)
                        if isinstance(v, str):
                            row[f] = {"text": v, "confidence": 1.0}
                        else:
                            vals = [{"text": t[a:b], "confidence": 1.0, "start": a, "end": b} for a, b in v or []]
                            row[f] = vals if ev.field_dtype(st["name"], f) == "list" else (vals[0] if vals else None)
                    rows.append(row)
                res[st["name"]] = rows[:-1] if self.drop and len(rows) > 1 else rows
            out.append(res)
        return out


def test_eval_structures_with_oracle():
    recs = ev.structure_records(40)
    m = ev.eval_structures(_Oracle(recs), recs)
    assert m["f1"] == pytest.approx(1.0) and m["loose_f1"] == pytest.approx(1.0)
    assert m["instance_count_accuracy"] == pytest.approx(1.0)
    m = ev.eval_structures(_Oracle(recs, drop_last_instance=True), recs)
    assert m["precision"] == pytest.approx(1.0) and m["recall"] < 1.0 and m["instance_count_accuracy"] < 1.0


# ---------------------------------------------------------------- end to end
@needs_data
def test_evaluate_job_end_to_end(tiny_checkpoint, tmp_path):
    out = tmp_path / "eval.json"
    p = subprocess.run(
        [
            sys.executable,
            "jobs/evaluate.py",
            "--model",
            tiny_checkpoint,
            "--out",
            str(out),
            "--limit",
            "5",
            "--threads",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert "CrossNER mean" in p.stdout and "wall time" in p.stdout
    rep = json.loads(out.read_text())
    assert {
        "model",
        "model_version",
        "limits",
        "protocol",
        "crossner",
        "crossner_mean_f1",
        "crossner_music_mapped",
        "crossner_mean_f1_music_mapped",
        "conll2003",
        "sst2",
        "snips",
        "structures",
        "targets",
        "wall_seconds",
        "wall_seconds_with_load",
        "threshold",
        "batch_size",
        "threads",
    } <= set(rep)
    assert set(rep["crossner"]) == set(ev.CROSSNER_DOMAINS)
    for d in ev.CROSSNER_DOMAINS:
        m = rep["crossner"][d]
        assert m["n"] == 5 and {"precision", "recall", "f1", "tp", "fp", "fn", "labels", "errors", "analysis"} <= set(m)
        assert m["labels"] == ev.crossner_labels(d)
    assert rep["crossner_music_mapped"]["type_map"] == ev.MUSIC_TYPE_MAP
    assert {"alphabetical", "person_first", "difference", "same_predictions"} <= set(rep["conll2003"])
    assert rep["conll2003"]["alphabetical"]["n"] == 5
    assert rep["sst2"]["n"] == 5 and 0 <= rep["sst2"]["accuracy"] <= 1
    assert rep["snips"]["n"] == 5 and len(rep["snips"]["labels"]) == 7
    assert rep["many_label"]["n"] == 5 and len(rep["many_label"]["labels"]) == ev.MANY_LABELS
    assert rep["structures"]["n"] == 5 and {"f1", "loose_f1", "instance_count_accuracy", "per_field_f1", "seed"} <= set(
        rep["structures"]
    )
    assert set(rep["targets"]) == set(ev.TARGETS)
    assert all({"target", "value", "met"} <= set(v) for v in rep["targets"].values())
    assert rep["sample_typing"]["n"] == 5 and "of them products" in p.stdout
    st = rep["sample_typing"]
    assert rep["targets"]["sample_person_things"]["value"] == pytest.approx(
        st["not_persons"] / max(st["person_mentions"], 1)
    )


@needs_data
def test_keep_best_scores_the_targets_and_the_sample_typing(tiny_checkpoint, tmp_path):
    """jobs/train.py's scorer (``--eval-every``): every target, the sample's typing included, in ``evals.jsonl``."""
    from jobs import load_job

    scorer = load_job("train").scorer

    score = scorer(str(tmp_path), 3)(tiny_checkpoint)
    line = json.loads((tmp_path / "evals.jsonl").read_text())
    assert set(line["targets"]) == set(ev.TARGETS)
    assert line["score"] == score == pytest.approx(ev.target_score(line["targets"]))
    scorer(str(tmp_path), 3, "")(tiny_checkpoint)  # '' leaves the sample out
    line = json.loads((tmp_path / "evals.jsonl").read_text().splitlines()[-1])
    assert set(line["targets"]) == set(ev.TARGETS) - {"sample_person_things"}


def test_error_analysis_kinds():
    text = "Ada Lovelace met Charles Babbage and Mary in London and Paris ."
    #       0   4       12  16      24      32  36   41 44   50  54
    gold = [(0, 12, "writer"), (17, 32, "scientist"), (37, 41, "person"), (45, 51, "city"), (56, 61, "city")]
    assert [text[a:b] for a, b, _ in gold] == ["Ada Lovelace", "Charles Babbage", "Mary", "London", "Paris"]
    pred = [
        (0, 12, "person", 0.9),  # wrong type on an exact span
        (25, 32, "scientist", 0.8),  # boundary
        (37, 41, "person", 0.9),  # correct
        (45, 61, "city", 0.7),  # merged list "London and Paris"
        (13, 16, "person", 0.6),
    ]  # spurious ("met")
    a = ev.error_analysis([ev.NerSentence(text, gold)], [pred])
    assert a["false_positives"] == {"wrong_type": 1, "boundary": 1, "merged": 1, "spurious": 1, "spurious_pronoun": 0}
    assert a["false_negatives"] == {"found_wrong_type": 1, "found_wrong_boundary": 3}
    assert a["top_confusions"] == {"writer -> person": 1}
    assert a["per_type"]["person"] == {"gold": 1, "predicted": 3, "correct": 1}
    assert a["per_type"]["writer"] == {"gold": 1, "predicted": 0, "correct": 0}


def test_eval_structures_negative_only_fields_are_unscored():
    from gliner2_udf.training.synthetic import UNRELATED

    recs = [r for r in ev.structure_records(200) if any(st["name"] in UNRELATED for st in r["structures"])][:5]
    assert recs
    m = ev.eval_structures(_Oracle(recs), recs)
    negatives = {
        f"{st['name']}.{f}" for r in recs for st in r["structures"] if not st["instances"] for f in st["fields"]
    }
    positives = {f"{st['name']}.{f}" for r in recs for st in r["structures"] if st["instances"] for f in st["fields"]}
    assert negatives - positives
    assert all(m["per_field_f1"][k] is None for k in negatives - positives)
