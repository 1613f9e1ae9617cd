"""The engine's deliberate decisions on upstream quirks (README "Differences from the reference"), long
documents, blank inputs, pickling and strict checkpoint loading.

Models are the tiny random checkpoints from conftest.py, with their heads shaped as in test_parity.py: a
large bias on one count class fixes the number of instances, and a scaled query projector spreads the
span scores away from 0.5. Where a test shows how the reference (``gliner2==2.1.0``, test-only oracle)
differs, it runs the oracle on the same checkpoint; every other expectation is written by hand.
"""

import json
import math
import os
import pickle
import shutil
import sys

import numpy as np
import pytest
import torch
from schemas import small_schema

from gliner2_udf import GLiNER2, Schema, compile_schema, decoding
from gliner2_udf.checkpoint import CheckpointError
from gliner2_udf.decoding import empty_result
from gliner2_udf.options import ExtractOptions
from gliner2_udf.text import normalize, split_words, token_windows
from gliner2_udf.windows import batch_bounds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT = "Apple CEO Tim Cook paid 5 usd to Acme in Berlin"  # no final punctuation on purpose


def shape(net, instances=1, spread=50.0):
    with torch.no_grad():
        net.count_pred[2].bias[instances] += 100.0
        net.count_embed.projector[2].weight.mul_(spread)
        net.count_embed.projector[2].bias.mul_(spread)


def ours(path, instances=1, spread=50.0):
    model = GLiNER2.from_pretrained(path)
    shape(model.network, instances, spread)
    return model


def reference(path, instances=1, spread=50.0):
    from gliner2 import GLiNER2 as Reference

    model = Reference.from_pretrained(path).eval()
    shape(model, instances, spread)
    return model


def spans_of(result):
    """Every span dict (with start/end) anywhere in a result."""
    if isinstance(result, dict):
        if "start" in result and "text" in result:
            yield result
        else:
            for v in result.values():
                yield from spans_of(v)
    elif isinstance(result, (list, tuple)):
        for v in result:
            yield from spans_of(v)


def assert_offsets_point_into(text, result):
    n = 0
    for s in spans_of(result):
        assert 0 <= s["start"] < s["end"] <= len(text), s
        assert text[s["start"] : s["end"]] == s["text"], (s, text[s["start"] : s["end"]])
        n += 1
    return n


# ---------------------------------------------------------------------------------------------
# 1. entities are gated by the count head; count 0 gives every label key


def test_entity_count_zero_gives_every_label_key(tiny_checkpoint):
    model = ours(tiny_checkpoint, instances=0)
    schema = Schema().entities(["person", "company"]).entities(["ceo"], dtype="str")
    for flags in [(False, False), (True, True)]:
        got = model.extract(TEXT, schema, threshold=0.0, include_confidence=flags[0], include_spans=flags[1])
        assert got == {"entities": {"person": [], "company": [], "ceo": None}}
    # the reference drops the label keys (#109)
    ref = reference(tiny_checkpoint, instances=0)
    assert ref.extract(TEXT, ref.create_schema().entities(["person", "company"]), threshold=0.0) == {"entities": {}}


def test_entities_appear_when_the_count_head_says_one(tiny_checkpoint):
    model = ours(tiny_checkpoint, instances=1)
    got = model.extract(TEXT, Schema().entities(["person", "company"]), threshold=0.0)
    assert got["entities"]["person"] and got["entities"]["company"]


# ---------------------------------------------------------------------------------------------
# 2. a structure with count 0 gives []


def test_structure_count_zero_gives_a_list(tiny_checkpoint):
    schema = Schema().structure("deal").field("buyer", dtype="str").field("items")
    assert ours(tiny_checkpoint, instances=0).extract(TEXT, schema, threshold=0.0) == {"deal": []}
    ref = reference(tiny_checkpoint, instances=0)
    ref_schema = ref.create_schema().structure("deal").field("buyer", dtype="str").field("items")
    assert ref.extract(TEXT, ref_schema, threshold=0.0) == {"deal": {}}
    two = ours(tiny_checkpoint, instances=2).extract(TEXT, schema, threshold=0.0)["deal"]
    assert isinstance(two, list) and len(two) == 2 and set(two[0]) == {"buyer", "items"}


# ---------------------------------------------------------------------------------------------
# 3. a relation with a description keeps its name as key, and its threshold applies


def test_described_relation_keeps_its_key_and_threshold(tiny_checkpoint):
    model, ref = ours(tiny_checkpoint), reference(tiny_checkpoint)
    found = model.extract(TEXT, Schema().relations({"works_for": "employment"}, threshold=0.0), threshold=1.0)
    assert list(found["relation_extraction"]) == ["works_for"]
    assert len(found["relation_extraction"]["works_for"]) == 1
    blocked = model.extract(TEXT, Schema().relations({"works_for": "employment"}, threshold=1.0), threshold=0.0)
    assert blocked == {"relation_extraction": {"works_for": []}}
    # The reference answers under "works_for: employment" plus an empty "works_for" and ignores the
    # relation's own threshold; the pair it finds (same prompt, same model) is ours.
    ref_out = ref.extract(
        TEXT, ref.create_schema().relations({"works_for": "employment"}, threshold=1.0), threshold=0.0
    )["relation_extraction"]
    assert ref_out == {"works_for: employment": found["relation_extraction"]["works_for"], "works_for": []}


# ---------------------------------------------------------------------------------------------
# 4. single-label classification ignores the threshold (as upstream); multi-label honours it


def test_single_label_returns_argmax_whatever_the_threshold(tiny_checkpoint):
    model, ref = ours(tiny_checkpoint), reference(tiny_checkpoint)
    schema = Schema().classification("sentiment", ["positive", "negative", "neutral"], cls_threshold=0.99)
    got = model.extract(TEXT, schema, threshold=0.99, include_confidence=True)["sentiment"]
    assert got["label"] in ("positive", "negative", "neutral") and got["confidence"] < 0.99
    ref_got = ref.extract(
        TEXT,
        ref.create_schema().classification("sentiment", ["positive", "negative", "neutral"], cls_threshold=0.99),
        threshold=0.99,
        include_confidence=True,
    )["sentiment"]
    assert got["label"] == ref_got["label"] and math.isclose(got["confidence"], ref_got["confidence"], abs_tol=1e-5)


def test_multi_label_threshold_and_fallback(tiny_checkpoint):
    model = ours(tiny_checkpoint)
    labels = ["tech", "money", "travel"]
    everything = model.extract(
        TEXT, Schema().classification("topics", labels, multi_label=True, cls_threshold=0.0), include_confidence=True
    )["topics"]
    assert [x["label"] for x in everything] == labels
    best = max(everything, key=lambda x: x["confidence"])
    nothing = model.extract(
        TEXT, Schema().classification("topics", labels, multi_label=True, cls_threshold=1.0), include_confidence=True
    )["topics"]
    assert nothing == [best]  # nothing passes: the argmax label, as upstream


# ---------------------------------------------------------------------------------------------
# 5. choice values are read inside the field's own group of the choice prefix


def _choice_logits(model, schema, text):
    compiled = compile_schema(schema)
    st = model.processor.schema_tokens(compiled)
    enc = model.processor.encode(compiled, split_words(normalize(text)).tokens)
    span_logits, _, _ = model.forward_batch([enc], st)[0]
    return list(st.prefix_words), span_logits["deal"][0]  # [fields, words, width]


def test_two_choice_fields_sharing_a_choice_read_their_own_positions(tiny_checkpoint):
    model, ref = ours(tiny_checkpoint), reference(tiny_checkpoint)
    schema = (
        Schema().structure("deal").field("currency", choices=["usd", "eur"]).field("paid_in", choices=["eur", "gbp"])
    )
    prefix, logits = _choice_logits(model, schema, TEXT)
    assert prefix == [
        "(",
        "deal:",
        "currency",
        "(",
        "usd",
        "|",
        "eur",
        ")",
        ",",
        "paid_in",
        "(",
        "eur",
        "|",
        "gbp",
        ")",
        ")",
    ]
    sig = lambda x: 1.0 / (1.0 + math.exp(-float(x)))  # noqa: E731
    got = model.extract(TEXT, schema, threshold=0.0, include_confidence=True)["deal"][0]
    conf = {f: {c["text"]: c["confidence"] for c in got[f]} for f in ("currency", "paid_in")}
    assert conf["currency"]["usd"] == pytest.approx(sig(logits[0, 4, 0]), abs=1e-6)
    assert conf["currency"]["eur"] == pytest.approx(sig(logits[0, 6, 0]), abs=1e-6)
    assert conf["paid_in"]["eur"] == pytest.approx(sig(logits[1, 11, 0]), abs=1e-6)  # its own "eur"
    assert conf["paid_in"]["gbp"] == pytest.approx(sig(logits[1, 13, 0]), abs=1e-6)
    assert abs(sig(logits[1, 11, 0]) - sig(logits[1, 6, 0])) > 1e-3
    # the reference reads paid_in's "eur" at currency's position (word 6)
    ref_schema = (
        ref.create_schema()
        .structure("deal")
        .field("currency", choices=["usd", "eur"])
        .field("paid_in", choices=["eur", "gbp"])
    )
    ref_got = ref.extract(TEXT, ref_schema, threshold=0.0, include_confidence=True)["deal"][0]
    ref_eur = [c["confidence"] for c in ref_got["paid_in"] if c["text"] == "eur"][0]
    assert ref_eur == pytest.approx(sig(logits[1, 6, 0]), abs=1e-5)


def test_field_named_like_an_earlier_choice_reads_its_own_group(tiny_checkpoint):
    model = ours(tiny_checkpoint)
    schema = (
        Schema()
        .structure("order")
        .field("size", dtype="str", choices=["small", "large"])
        .structure("deal")
        .field("kind", choices=["b", "c"])
        .field("b", choices=["x", "y"])
    )
    prefix, logits = _choice_logits(model, schema, TEXT)
    assert prefix == [
        "(",
        "order:",
        "size",
        "(",
        "small",
        "|",
        "large",
        ")",
        ")",
        "(",
        "deal:",
        "kind",
        "(",
        "b",
        "|",
        "c",
        ")",
        ",",
        "b",
        "(",
        "x",
        "|",
        "y",
        ")",
        ")",
    ]
    got = model.extract(TEXT, schema, threshold=0.0, include_confidence=True)["deal"][0]
    sig = lambda x: 1.0 / (1.0 + math.exp(-float(x)))  # noqa: E731
    assert [c["text"] for c in got["b"]] == ["x", "y"]
    assert got["b"][0]["confidence"] == pytest.approx(sig(logits[1, 20, 0]), abs=1e-6)
    assert got["b"][1]["confidence"] == pytest.approx(sig(logits[1, 22, 0]), abs=1e-6)
    assert [c["text"] for c in got["kind"]] == ["b", "c"]
    assert got["kind"][0]["confidence"] == pytest.approx(sig(logits[0, 13, 0]), abs=1e-6)


# ---------------------------------------------------------------------------------------------
# 6. the "." the reference appends never leaks into spans


def test_appended_period_never_leaks(tiny_checkpoint):
    model, ref = ours(tiny_checkpoint), reference(tiny_checkpoint)
    schema = (
        Schema()
        .entities(["person", "company", "location"])
        .structure("deal")
        .field("buyer", dtype="str")
        .field("items")
        .relations(["works_for"])
    )
    for text in [TEXT, TEXT + "   ", "  " + TEXT, "Berlin", "Tim Cook!", "Acme, Berlin."]:
        got = model.extract(text, schema, threshold=0.0, include_spans=True, include_confidence=True)
        assert assert_offsets_point_into(text, got) > 0
        if not text.rstrip().endswith((".", "!")):
            assert all("." not in s["text"] for s in spans_of(got))
    # the reference returns spans of its normalized text ("...Berlin." or a bare ".")
    ref_got = ref.extract(
        TEXT, ref.create_schema().entities(["person", "company", "location"]), threshold=0.0, include_spans=True
    )
    assert any(s["end"] > len(TEXT) for s in spans_of(ref_got))


def test_find_spans_clips_to_the_callers_text():
    text = "Tim Cook"
    words = split_words(normalize(text))  # tim, cook, "."
    view = decoding.WindowView(text, words.starts, words.ends, 0, [])
    prob = np.zeros((3, 8))
    prob[:, :3] = 0.9
    got = decoding.find_spans(prob, view, 0.5)
    assert got == [
        ("Tim", 0.9, 0, 3),
        ("Tim Cook", 0.9, 0, 8),
        ("Tim Cook", 0.9, 0, 8),
        ("Cook", 0.9, 4, 8),
        ("Cook", 0.9, 4, 8),
    ]


# ---------------------------------------------------------------------------------------------
# 7. long texts: windows by sub-token budget, merged; no crash, no truncation


def test_token_windows_cover_every_word_with_overlap():
    assert token_windows([1] * 10, budget=4, overlap=2) == [(0, 4), (2, 6), (4, 8), (6, 10)]
    assert token_windows([3, 3, 3, 3], budget=6, overlap=1) == [(0, 2), (1, 3), (2, 4)]
    assert token_windows([2, 9, 2], budget=4, overlap=1) == [(0, 1), (1, 2), (2, 3)]  # an oversize word alone
    assert token_windows([1, 1], budget=8, overlap=4) == [(0, 2)]
    assert token_windows([], budget=8, overlap=4) == [(0, 0)]


def test_batches_cap_windows_and_attention_cells():
    # 16 short texts per batch, but long windows two at a time: 3 x 512^2 cells exceed 2^19
    assert batch_bounds([150] * 20, 16) == [(0, 16), (16, 20)]
    assert batch_bounds([100, 200, 512, 512, 512, 512, 512], 16) == [(0, 2), (2, 4), (4, 6), (6, 7)]
    assert batch_bounds([300] * 7, 4, max_cells=300**2 * 3) == [(0, 3), (3, 6), (6, 7)]
    assert batch_bounds([5000], 8) == [(0, 1)]  # a window over the budget still runs, alone
    assert batch_bounds([], 8) == []


def test_merge_averages_labels_and_pools_candidates():
    a = decoding.RawResult(
        entities={"company": [("Acme", 0.9, 0, 4)]},
        structures={"deal": [{"buyer": ("Acme", 0.9, 0, 4)}]},
        relations={"works_for": [(("Tim", 0.8, 10, 13), ("Acme", 0.7, 0, 4))]},
        class_probs={"sentiment": np.array([0.2, 0.8])},
    )
    b = decoding.RawResult(
        entities=None,
        structures={"deal": [{"buyer": ("Acme", 0.9, 0, 4)}]},
        relations={"works_for": []},
        class_probs={"sentiment": np.array([0.6, 0.4])},
    )
    c = decoding.RawResult(
        entities={"company": [("Acme", 0.95, 0, 4), ("Beta", 0.6, 50, 54)]},
        structures={"deal": []},
        relations={"works_for": []},
        class_probs={"sentiment": np.array([0.4, 0.6])},
    )
    m = decoding.merge([a, b, c])
    assert m.n_windows == 3
    np.testing.assert_allclose(m.class_probs["sentiment"], [0.4, 0.6])
    assert m.entities == {"company": [("Acme", 0.9, 0, 4), ("Acme", 0.95, 0, 4), ("Beta", 0.6, 50, 54)]}
    assert m.structures == {"deal": [{"buyer": ("Acme", 0.9, 0, 4)}]}
    assert m.relations == {"works_for": [(("Tim", 0.8, 10, 13), ("Acme", 0.7, 0, 4))]}
    schema = compile_schema(Schema().entities(["company"]).classification("sentiment", ["pos", "neg"]))
    assert decoding.format_result(schema, m, include_confidence=True) == {
        "entities": {"company": [{"text": "Acme", "confidence": 0.95}, {"text": "Beta", "confidence": 0.6}]},
        "sentiment": {"label": "neg", "confidence": pytest.approx(0.6)},
    }


def _padding(n_texts, seed):
    sys.path.insert(0, ROOT)
    from benchmarks.texts import generate

    return generate(n_texts, seed=seed)


def test_long_document_with_minilm(minilm_checkpoint):
    model = ours(minilm_checkpoint)
    schema = compile_schema(small_schema().relations(["works_for"]))
    short = "Apple CEO Tim Cook announced the iPhone 15 in Cupertino on Tuesday for $799."
    pad = _padding(34, seed=11)
    before, after = " ".join(pad[:16]) + "\n\n", "\n\n" + " ".join(pad[16:])
    doc = before + short + after
    assert 2_800 <= len(doc.split()) <= 3_600
    assert len(model.tokenizer(doc)["input_ids"]) > 3 * 512

    # one pass over the document and the short text in the same batch stream (a permissive threshold)
    inside, alone = model.raw_extract([doc, short], schema, ExtractOptions(batch_size=8, threshold=0.7))
    assert inside.n_windows >= 6 and alone.n_windows == 1

    # the whole document ran, and every span points into it
    got = decoding.format_result(schema, inside, include_confidence=True, include_spans=True)
    assert set(got) == {"deal", "entities", "sentiment", "relation_extraction"}
    assert assert_offsets_point_into(doc, got) > 100
    starts = [s["start"] for s in got["entities"]["person"]]
    assert min(starts) < len(doc) // 10 and max(starts) > len(doc) * 9 // 10, "spans from the whole document"

    # where the short text's best span per label lies, the document finds spans of that label too, scored alike
    # (each window resolves its overlaps, so with these random heads the document's context may cut the region
    # into other spans than the short text's)
    shift = len(before)
    for label in ("person", "company", "location"):
        best = max(alone.entities[label], key=lambda s: s[1])
        lo, hi = best[2] + shift, best[3] + shift
        there = [s for s in inside.entities[label] if s[2] < hi and s[3] > lo]
        assert there, (label, best)
        assert all(doc[s[2] : s[3]] == s[0] for s in there)
        assert abs(max(s[1] for s in there) - best[1]) < 0.2, (label, best, there)


def test_long_inputs_never_crash_a_512_position_bert(tiny_checkpoint):
    model = ours(tiny_checkpoint)
    assert model.network.encoder.config.max_position_embeddings == 512
    schema = Schema().entities(["person", "company"]).classification("sentiment", ["positive", "negative"])
    texts = [
        " ".join(_padding(40, seed=3)),  # ~3,800 words, >> 512 sub-tokens
        "x" * 20_000,  # one enormous word
        "a-" * 3000 + "b",  # one hyphen compound of 6,001 characters
        " ".join(["Berlin"] * 2000),
    ]
    short = "Tim Cook visited Berlin"
    results = model.batch_extract(texts + [short], schema, batch_size=4, threshold=0.99, include_spans=True)
    for text, got in zip(texts, results):
        assert set(got) == {"entities", "sentiment"} and got["sentiment"] in ("positive", "negative")
        assert_offsets_point_into(text, got)
    # windows of long texts share batches with the short text without changing its answer
    alone = model.extract(short, schema, threshold=0.99, include_spans=True)
    assert results[-1] == alone


# ---------------------------------------------------------------------------------------------
# 8. relations take the top span per argument; results without offsets are de-duplicated by text


def test_relation_takes_the_top_span_per_argument():
    schema = compile_schema(Schema().relations(["works_for"]))
    text = "Tim Cook works for Apple in Cupertino"
    words = split_words(normalize(text))
    view = decoding.WindowView(text, words.starts, words.ends, 0, [])
    logits = np.full((2, 2, len(words), 8), -10.0)  # 2 instances, head/tail
    logits[0, 0, 0, 1] = 3.0  # head "Tim Cook"
    logits[0, 0, 4, 0] = 2.0  # head "Apple" (second best)
    logits[0, 1, 4, 0] = 1.0  # tail "Apple"
    logits[0, 1, 6, 0] = 0.5  # tail "Cupertino"
    logits[1, 0, 4, 0] = 1.0  # instance 2: head "Apple", no tail
    raw = decoding.decode_window(schema, view, {"works_for": logits}, {"works_for": 2}, {}, threshold=0.5)
    assert decoding.format_result(schema, raw) == {"relation_extraction": {"works_for": [("Tim Cook", "Apple")]}}


def test_relations_decode_like_the_reference(tiny_checkpoint):
    model, ref = ours(tiny_checkpoint, instances=2), reference(tiny_checkpoint, instances=2)
    for threshold in (0.0, 0.3, 0.7):
        got = model.extract(TEXT, Schema().relations(["works_for", "founded"]), threshold=threshold)
        expected = ref.extract(TEXT, ref.create_schema().relations(["works_for", "founded"]), threshold=threshold)
        assert got == expected


def test_greedy_non_overlapping_matches_its_definition():
    import random

    def definition(spans):  # most confident first, keep what overlaps nothing kept
        kept = []
        for s in sorted(spans, key=lambda x: -x[1]):
            if all(not (s[2] < k[3] and k[2] < s[3]) for k in kept):
                kept.append(s)
        return kept

    rng = random.Random(0)
    for _ in range(2000):
        spans = []
        for _ in range(rng.randint(0, 40)):
            a = rng.randint(0, 30)
            spans.append(("x", rng.choice([0.5, 0.6, rng.random()]), a, a + rng.randint(1, 6)))
        assert decoding.greedy_non_overlapping(spans) == definition(spans)


def test_results_without_offsets_are_deduplicated_by_lower_cased_text():
    schema = compile_schema(Schema().entities(["company"]))
    raw = decoding.RawResult(
        entities={
            "company": [("Apple", 0.9, 0, 5), ("apple", 0.8, 10, 15), ("APPLE", 0.7, 20, 25), ("Acme", 0.6, 30, 34)]
        }
    )
    assert decoding.format_result(schema, raw) == {"entities": {"company": ["Apple", "Acme"]}}
    assert decoding.format_result(schema, raw, include_spans=True)["entities"]["company"] == [
        {"text": "Apple", "start": 0, "end": 5},
        {"text": "apple", "start": 10, "end": 15},
        {"text": "APPLE", "start": 20, "end": 25},
        {"text": "Acme", "start": 30, "end": 34},
    ]


# ---------------------------------------------------------------------------------------------
# 9. blank and non-string inputs


FULL = (
    Schema()
    .entities(["person"])
    .entities(["ceo"], dtype="str")
    .classification("sentiment", ["positive", "negative"])
    .classification("topics", ["tech", "money"], multi_label=True)
    .structure("deal")
    .field("buyer", dtype="str")
    .relations(["works_for"])
)
EMPTY = {
    "deal": [],
    "entities": {"person": [], "ceo": None},
    "sentiment": None,
    "topics": [],
    "relation_extraction": {"works_for": []},
}


def test_blank_inputs_give_the_empty_result(tiny_checkpoint):
    model = ours(tiny_checkpoint)
    assert empty_result(compile_schema(FULL)) == EMPTY
    blanks = [None, "", "   ", "\n\t ", 5, b"bytes", ["a list"]]
    for blank in blanks:
        assert model.extract(blank, FULL, include_confidence=True, include_spans=True) == EMPTY
    mixed = model.batch_extract(["", TEXT, None, TEXT], FULL, batch_size=2, threshold=0.0)
    assert mixed[0] == mixed[2] == EMPTY
    assert mixed[1] == mixed[3] == model.extract(TEXT, FULL, threshold=0.0) != EMPTY
    assert model.batch_extract([], FULL) == []


# ---------------------------------------------------------------------------------------------
# pickling


def test_pickled_model_gives_identical_results_and_is_the_size_of_its_weights(tiny_checkpoint, tmp_path):
    model = ours(tiny_checkpoint)  # shaped in memory: the pickle must carry the live weights
    schema = FULL
    texts = [TEXT, "Tim Cook visited Berlin.", " ".join(_padding(8, seed=5))]
    blob = pickle.dumps(model)
    weights = os.path.getsize(os.path.join(tiny_checkpoint, "model.safetensors"))
    assert weights <= len(blob) <= 1.1 * weights + 64 * 1024
    again = pickle.loads(blob)
    assert again.model_version == model.model_version and again.max_tokens == model.max_tokens
    kw = dict(threshold=0.3, include_confidence=True, include_spans=True)
    assert again.batch_extract(texts, schema, **kw) == model.batch_extract(texts, schema, **kw)

    # a model loaded from fp16 storage pickles at fp16 size, losslessly
    model.save_pretrained(str(tmp_path / "half"), dtype=torch.float16)
    half = GLiNER2.from_pretrained(str(tmp_path / "half"))
    blob16 = pickle.dumps(half)
    assert len(blob16) <= 0.6 * weights + 64 * 1024
    assert pickle.loads(blob16).batch_extract(texts, schema, **kw) == half.batch_extract(texts, schema, **kw)


# ---------------------------------------------------------------------------------------------
# strict loading


def _copy(src, dst):
    shutil.copytree(src, dst)
    return str(dst)


def _rewrite_state(folder, edit):
    from safetensors.torch import load_file, save_file

    path = os.path.join(folder, "model.safetensors")
    state = load_file(path)
    edit(state)
    save_file(state, path, metadata={"format": "pt"})


def _rewrite_config(folder, edit, name="config.json"):
    path = os.path.join(folder, name)
    with open(path) as fh:
        cfg = json.load(fh)
    cfg = edit(cfg) or cfg
    with open(path, "w") as fh:
        json.dump(cfg, fh)


@pytest.mark.parametrize(
    "case,edit,named",
    [
        ("removed head tensor", lambda s: s.pop("count_embed.gru.weight_hh_l0"), ["count_embed.gru.weight_hh_l0"]),
        (
            "removed encoder tensor",
            lambda s: s.pop("encoder.encoder.layer.1.attention.self.query.weight"),
            ["encoder.encoder.layer.1.attention.self.query.weight"],
        ),
        (
            "renamed",
            lambda s: s.__setitem__("classifier.0.weights", s.pop("classifier.0.weight")),
            ["classifier.0.weight", "classifier.0.weights"],
        ),
        (
            "reshaped",
            lambda s: s.__setitem__("count_pred.2.bias", s["count_pred.2.bias"][:19].clone()),
            ["count_pred.2.bias", "(19,)", "(20,)"],
        ),
        ("extra", lambda s: s.__setitem__("span_rep.extra", torch.zeros(3)), ["span_rep.extra"]),
    ],
)
def test_strict_loading_names_the_tensor(tiny_checkpoint, tmp_path, case, edit, named):
    folder = _copy(tiny_checkpoint, tmp_path / "ckpt")
    _rewrite_state(folder, edit)
    with pytest.raises(CheckpointError) as err:
        GLiNER2.from_pretrained(folder)
    for name in named:
        assert name in str(err.value), (case, str(err.value))


def test_pickled_weights_need_allow_pickle(tiny_checkpoint, tmp_path):
    from safetensors.torch import load_file

    folder = _copy(tiny_checkpoint, tmp_path / "ckpt")
    torch.save(load_file(os.path.join(folder, "model.safetensors")), os.path.join(folder, "pytorch_model.bin"))
    os.remove(os.path.join(folder, "model.safetensors"))
    with pytest.raises(CheckpointError, match="pytorch_model.bin.*allow_pickle=True"):
        GLiNER2.from_pretrained(folder)
    allowed = GLiNER2.from_pretrained(folder, allow_pickle=True)
    original = GLiNER2.from_pretrained(tiny_checkpoint)
    kw = dict(threshold=0.5, include_confidence=True, include_spans=True)
    assert allowed.extract(TEXT, FULL, **kw) == original.extract(TEXT, FULL, **kw)


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda c: c.update(architecture="token"), "architecture 'token'"),
        (lambda c: c.update(architecture=" Boundary"), "does not match the model: missing tensors"),  # span weights
        (lambda c: c.update(auto_map={"AutoModel": "remote.Model"}), "remote code"),
        (lambda c: c.update(trust_remote_code=True), "remote code"),
        (lambda c: c.update(counting_layer="count_mlp"), "counting_layer"),
        (lambda c: c.update(token_pooling="mean"), "token_pooling"),
    ],
)
def test_unsupported_configs_are_refused(tiny_checkpoint, tmp_path, edit, message):
    folder = _copy(tiny_checkpoint, tmp_path / "ckpt")
    _rewrite_config(folder, edit)
    with pytest.raises(CheckpointError, match=message):
        GLiNER2.from_pretrained(folder)


def test_encoder_config_with_remote_code_is_refused(tiny_checkpoint, tmp_path):
    folder = _copy(tiny_checkpoint, tmp_path / "ckpt")
    _rewrite_config(
        folder, lambda c: c.update(auto_map={"AutoModel": "remote.Model"}), name="encoder_config/config.json"
    )
    with pytest.raises(CheckpointError, match="remote code"):
        GLiNER2.from_pretrained(folder)


def test_missing_files_are_named(tiny_checkpoint, tmp_path):
    for name, fragment in [
        ("config.json", "config.json"),
        ("encoder_config", "encoder_config"),
        ("model.safetensors", "model.safetensors"),
    ]:
        folder = _copy(tiny_checkpoint, tmp_path / name)
        target = os.path.join(folder, name)
        shutil.rmtree(target) if os.path.isdir(target) else os.remove(target)
        with pytest.raises(CheckpointError, match=fragment):
            GLiNER2.from_pretrained(folder)
    with pytest.raises(CheckpointError, match="not a checkpoint folder"):
        GLiNER2.from_pretrained(str(tmp_path / "nowhere"))


def test_legacy_config_loads(tiny_checkpoint, tmp_path):
    folder = _copy(tiny_checkpoint, tmp_path / "ckpt")
    _rewrite_config(
        folder,
        lambda c: {
            "counting_layer": "count_lstm",
            "max_width": 8,
            "model_name": "x",
            "model_type": "extractor",
            "token_pooling": "first",
        },
    )
    legacy, current = ours(folder), ours(tiny_checkpoint)
    assert legacy.network.max_width == 8
    kw = dict(threshold=0.4, include_confidence=True, include_spans=True)
    assert legacy.extract(TEXT, FULL, **kw) == current.extract(TEXT, FULL, **kw)


def test_fp16_checkpoint_loads_as_fp32_and_matches(tiny_checkpoint, tmp_path):
    full = ours(tiny_checkpoint, spread=1.0)
    full.save_pretrained(str(tmp_path / "half"), dtype=torch.float16)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "half" / "model.safetensors"), framework="pt") as fh:
        assert {fh.get_slice(k).get_dtype() for k in fh.keys()} == {"F16"}
    half = GLiNER2.from_pretrained(str(tmp_path / "half"))
    assert {p.dtype for p in half.network.parameters()} == {torch.float32}

    schema = compile_schema(
        Schema()
        .entities(["person", "company"])
        .classification("sentiment", ["a", "b", "c"])
        .structure("deal")
        .field("buyer", dtype="str")
    )
    st = full.processor.schema_tokens(compiled := schema)
    texts = [TEXT, "Tim Cook visited Berlin on Tuesday."]
    encoded = [full.processor.encode(compiled, split_words(normalize(t)).tokens) for t in texts]
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
    for (a_spans, a_counts, a_cls), (b_spans, b_counts, b_cls) in zip(
        full.forward_batch(encoded, st), half.forward_batch(encoded, st)
    ):
        assert a_counts == b_counts
        for name in a_spans:
            a, b = sig(a_spans[name]), sig(b_spans[name])
            np.testing.assert_allclose(b, a, atol=1e-3, rtol=0)
        for name in a_cls:
            np.testing.assert_allclose(
                decoding.label_probs(b_cls[name], False), decoding.label_probs(a_cls[name], False), atol=1e-3, rtol=0
            )
