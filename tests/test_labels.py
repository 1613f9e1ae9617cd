"""Long label lists: a model never gets more labels in one pass than its training covered (``labels``).

The expected answers are built here from plain runs of the same model without limits, one small schema at a
time, as a user would play the groups and the tournament by hand.
"""

import os

import pytest

from gliner2_udf import GLiNER2, compile_schema
from gliner2_udf.labels import NO_LIMITS, LabelLimits, groups, read_limits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTS = [
    "Tim Cook of Apple met Jane Doe in Berlin to sign a deal for 300 chips.",
    "Book a table for two at an Italian place near the station tonight.",
    "The battery died after a day; I want a refund for this laptop.",
    "",
]
TYPES = ["person", "company", "city", "product", "date", "money", "event"]
INTENTS = [f"intent {w}" for w in "alpha bravo charlie delta echo foxtrot golf hotel india juliet".split()]


def test_the_default_model_records_what_its_training_covered(tiny_checkpoint):
    assert read_limits(os.path.join(ROOT, "models", "gliner2-minilm-default")) == LabelLimits(25, 20)
    assert read_limits(tiny_checkpoint) == NO_LIMITS  # upstream-format checkpoints: the reference's behaviour


def test_chosen_label_limits_override_the_stages(tmp_path):
    """The default model's last stage trained with 100 labels; its ``label_limits`` keep passes at 20."""
    import json

    stages = [{"augment": {"max_entity_labels": 25, "max_cls_labels": 20}}, {"augment": {"max_cls_labels": 100}}]
    (tmp_path / "train_config.json").write_text(json.dumps({"stages": stages}))
    assert read_limits(str(tmp_path)) == LabelLimits(25, 100)
    chosen = {"stages": stages, "label_limits": {"entities": 25, "classification": 20}}
    (tmp_path / "train_config.json").write_text(json.dumps(chosen))
    assert read_limits(str(tmp_path)) == LabelLimits(25, 20)
    with open(os.path.join(ROOT, "models", "gliner2-minilm-default", "train_config.json")) as fh:
        assert max(s["augment"]["max_cls_labels"] for s in json.load(fh)["stages"]) == 100


def test_groups_are_even_and_in_order():
    assert [len(g) for g in groups(tuple(range(77)), 20)] == [20, 19, 19, 19]
    assert groups(tuple(range(5)), 20) == [tuple(range(5))] and groups((), 3) == []
    assert [x for g in groups(tuple(range(41)), 20) for x in g] == list(range(41))


@pytest.fixture(scope="module")
def models(tiny_checkpoint):
    limited = GLiNER2.from_pretrained(tiny_checkpoint)
    limited.label_limits = LabelLimits(entities=3, classification=4)
    return limited, GLiNER2.from_pretrained(tiny_checkpoint)


def run(model, schema, texts=TEXTS):
    return model.batch_extract(texts, schema, threshold=0.3, include_confidence=True, include_spans=True)


def test_entity_types_beyond_the_limit_are_asked_in_groups(models):
    limited, plain = models
    got = run(limited, {"entities": TYPES})
    expected = [{} for _ in TEXTS]
    for group in (TYPES[:3], TYPES[3:5], TYPES[5:]):  # 7 types, at most 3 a pass: 3 + 2 + 2
        for want, res in zip(expected, run(plain, {"entities": group})):
            want.update(res["entities"])
    assert [g["entities"] for g in got] == expected
    assert any(v for g in got for v in g["entities"].values()), "the tiny model found nothing: the test is empty"


def test_multi_label_labels_beyond_the_limit_are_scored_in_groups(models):
    limited, plain = models
    task = {"name": "topics", "labels": INTENTS, "multi_label": True}
    got = run(limited, {"classifications": [task]})
    for i, text in enumerate(TEXTS[:3]):
        scores = {}
        for group in (INTENTS[:4], INTENTS[4:7], INTENTS[7:]):  # 10 labels, at most 4 a pass: 4 + 3 + 3
            # a group alone returns its labels at or over the threshold, or else its best one
            for c in run(plain, {"classifications": [{**task, "labels": group}]}, [text])[0]["topics"]:
                scores[c["label"]] = c["confidence"]
        chosen = [x for x in INTENTS if x in scores and scores[x] >= 0.5] or [max(scores, key=scores.get)]
        assert [c["label"] for c in got[i]["topics"]] == chosen
        assert [c["confidence"] for c in got[i]["topics"]] == pytest.approx([scores[x] for x in chosen])
    assert got[3]["topics"] == []


def _softmax(plain, text, labels):
    """One plain pass asking ``labels`` as a single-label task: its softmax, in label order."""
    schema = compile_schema({"classifications": [{"name": "intent", "labels": list(labels)}]})
    return list(plain.raw_schema([text], schema)[0].class_probs["intent"])


def _tournament_by_hand(plain, text, labels, cap):
    """Balanced groups of at most ``cap``; each group's best ``max(1, cap // groups)`` go on, in label order; the
    finalists in one softmax, whose best is the answer."""
    while len(labels) > cap:
        n = -(-len(labels) // cap)
        size, extra = divmod(len(labels), n)
        on, start = [], 0
        for k in range(n):
            group = labels[start : start + size + (1 if k < extra else 0)]
            start += len(group)
            probs = _softmax(plain, text, group)
            best = sorted(range(len(group)), key=lambda j: -probs[j])[: max(1, cap // n)]
            on += [group[j] for j in sorted(best)]
        labels = on
    probs = _softmax(plain, text, labels)
    j = max(range(len(labels)), key=lambda j: probs[j])
    return {"label": labels[j], "confidence": probs[j]}


@pytest.mark.parametrize("n_labels", [10, 30])
def test_single_label_tasks_beyond_the_limit_play_a_tournament(models, n_labels):
    """10 labels, at most 4 a pass: groups 4 + 3 + 3, their winners in a final. 30 labels: 8 groups, 8 winners, a
    second round of 4 + 4 whose best 2 each make a final of 4."""
    limited, plain = models
    labels = [f"label {i:02d}" for i in range(n_labels)]
    got = run(limited, {"classifications": [{"name": "intent", "labels": labels}]})
    for i, text in enumerate(TEXTS[:3]):
        want = _tournament_by_hand(plain, text, labels, 4)
        assert got[i]["intent"]["label"] == want["label"]
        assert got[i]["intent"]["confidence"] == pytest.approx(want["confidence"])
    assert got[3]["intent"] is None


def test_within_the_limits_nothing_changes(models):
    limited, plain = models
    schema = {
        "entities": TYPES[:3],
        "classifications": [{"name": "intent", "labels": INTENTS[:4]}],
        "structures": [{"name": "deal", "fields": [{"name": "buyer", "dtype": "str"}, {"name": "item"}]}],
    }
    assert run(limited, schema) == run(plain, schema)


def test_limits_travel_with_a_broadcast_model(models):
    import pickle

    limited, _ = models
    assert pickle.loads(pickle.dumps(limited)).label_limits == LabelLimits(3, 4)


def test_a_label_list_too_long_for_the_window_plays_the_tournament_on_any_checkpoint(models):
    """An upstream checkpoint records no limits, but 200 labels do not fit its 512-token window in one pass: the
    engine halves the group size until each group fits, instead of refusing the schema."""
    from gliner2_udf import SchemaError

    _, plain = models
    labels = [f"label {i} with a long and winding description" for i in range(200)]
    compiled = compile_schema({"classifications": [{"name": "intent", "labels": labels}]})
    cap = plain.limits_for(compiled).classification
    assert plain.label_limits == NO_LIMITS and cap in (100, 50, 25, 12, 6)
    with pytest.raises(SchemaError):  # twice the cap would not fit
        plain._plan(compiled, LabelLimits(None, 2 * cap))
    got = run(plain, {"classifications": [{"name": "intent", "labels": labels}]})
    for i, text in enumerate(TEXTS[:3]):
        want = _tournament_by_hand(plain, text, labels, cap)
        assert got[i]["intent"]["label"] == want["label"]
        assert got[i]["intent"]["confidence"] == pytest.approx(want["confidence"])
