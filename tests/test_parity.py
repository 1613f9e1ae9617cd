"""Our engine against the reference package (gliner2==2.1.0, test-only oracle) on the same checkpoints.

Random heads give scores near 0.5 and arbitrary counts, so each test shapes the count head first
(spec section 10): a large bias on class 1 or 2 makes every task predict one or two instances.
Raw tensors are compared at 1e-5; decoded outputs with thresholds chosen inside the score mass.
"""

import math

import numpy as np
import pytest
import torch

from gliner2_udf import GLiNER2, Schema, compile_schema

TEXTS = [
    "Apple CEO Tim Cook announced the iPhone 15 in Cupertino on Tuesday for $799.",
    "Acme paid 5 usd to tim cook in Berlin, then the deal closed.",
    "Paris.",
    "tim cook and apple, deal with company person and a much longer tail of words to pad the batch!",
]


def build(schema):
    return (
        schema.entities(["person", "company", "location"])
        .classification("sentiment", ["positive", "negative", "neutral"])
        .classification("topics", ["tech", "money", "travel"], multi_label=True, cls_threshold=0.3)
        .structure("deal")
        .field("buyer", dtype="str")
        .field("price", dtype="str")
        .field("items", dtype="list")
        .field("currency", dtype="str", choices=["usd", "eur"])
    )


def load_pair(path, instances=1, spread=1.0):
    """Reference and ours on one checkpoint; ``spread`` scales the span queries so scores are not ties."""
    from gliner2 import GLiNER2 as Reference

    ref = Reference.from_pretrained(path).eval()
    ours = GLiNER2.from_pretrained(path)
    with torch.no_grad():
        for net in (ref, ours.network):
            net.count_pred[2].bias[instances] += 100.0
            net.count_embed.projector[2].weight.mul_(spread)
            net.count_embed.projector[2].bias.mul_(spread)
    return ref, ours


def reference_raw(ref, texts, schema_dict):
    """The reference's own internals, as its spec section 10 describes them."""
    from gliner2.training.trainer import ExtractorCollator

    batch = ExtractorCollator(ref.processor, is_training=False)([(t, schema_dict) for t in texts])
    with torch.inference_mode():
        tokens = ref.encode_tokens(batch)
        word_embs, schema_embs = ref.processor.extract_embeddings_from_batch(tokens, batch.input_ids, batch)
        logits, counts = ref._compute_direct_span_logits_batched(batch, word_embs, schema_embs)
        cls = [
            [
                ref.classifier(torch.stack(schema_embs[i][t][1:])).squeeze(-1)
                for t, kind in enumerate(batch.task_types[i])
                if kind == "classifications"
            ]
            for i in range(len(texts))
        ]
    return batch, logits, counts, cls


@pytest.mark.parametrize("which", ["tiny_checkpoint", "tiny_deberta_checkpoint", "minilm_checkpoint"])
@pytest.mark.parametrize("instances", [1, 2])
def test_raw_tensors_match_reference(request, which, instances):
    ref, ours = load_pair(request.getfixturevalue(which), instances)
    compiled = compile_schema(build(Schema()))
    batch, ref_logits, ref_counts, ref_cls = reference_raw(ref, TEXTS, build(ref.create_schema()).build())

    st = ours.processor.schema_tokens(compiled)
    from gliner2_udf.text import normalize, split_words

    encoded = [ours.processor.encode(compiled, split_words(normalize(t)).tokens) for t in TEXTS]
    outs = ours.forward_batch(encoded, st)
    for i, (enc, (span_logits, counts, cls_logits)) in enumerate(zip(encoded, outs)):
        ids = batch.input_ids[i][batch.attention_mask[i].bool()].tolist()
        assert enc.ids == ids, "token serialization differs"
        n = int(batch.text_word_counts[i]) if hasattr(batch, "text_word_counts") else len(enc.word_pos)
        assert enc.word_pos == batch.text_word_indices[i][:n].tolist(), "word routing differs"
        assert [counts[name] for name in ("deal", "entities")] == ref_counts[i][:2] == [instances, instances]
        for t_i, name in enumerate(["deal", "entities"]):
            r = ref_logits[i][t_i].numpy()
            o = span_logits[name]
            assert o.shape == r.shape
            valid = np.isfinite(o)
            assert np.isfinite(r[valid]).all()
            np.testing.assert_allclose(o[valid], r[valid], atol=1e-5, rtol=0)
            assert not np.isfinite(r[~valid]).any() or (r[~valid] < -1e8).all()
        for c_i, name in enumerate(["sentiment", "topics"]):
            np.testing.assert_allclose(cls_logits[name], ref_cls[i][c_i].numpy(), atol=1e-5, rtol=0)


def _close(a, b, path=""):
    if isinstance(a, dict) and "label" in a and a.get("label") != b.get("label"):
        # a random tiny DeBERTa scores its labels within 1e-7 of each other: a float tie, not a difference
        assert math.isclose(a["confidence"], b["confidence"], abs_tol=1e-6), f"{path}: {a} vs {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{path}: keys {list(a)} vs {list(b)}"
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{path}: {a} vs {b}"
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert math.isclose(a, b, abs_tol=1e-5), f"{path}: {a} vs {b}"
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


@pytest.mark.parametrize("which", ["tiny_checkpoint", "tiny_deberta_checkpoint", "minilm_checkpoint"])
def test_decoded_results_match_reference(request, which):
    ref, ours = load_pair(request.getfixturevalue(which), spread=50.0)
    ref_schema, our_schema = build(ref.create_schema()), build(Schema())
    # thresholds around the random model's score mass, so some spans pass and some do not
    scores = [
        e["confidence"]
        for e in ref.extract(TEXTS[0], ref_schema, threshold=0.0, include_confidence=True)["entities"]["person"]
    ]
    for threshold in np.quantile(scores, [0.3, 0.7, 0.95]):
        for text in TEXTS:
            ties = set()  # entity texts whose selection is a float tie (seen with confidences and offsets)
            for flags in [(True, True), (False, False), (True, False), (False, True)]:
                expected = ref.extract(
                    text, ref_schema, threshold=float(threshold), include_confidence=flags[0], include_spans=flags[1]
                )
                got = ours.extract(
                    text, our_schema, threshold=float(threshold), include_confidence=flags[0], include_spans=flags[1]
                )
                if not flags[0]:  # labels without confidences cannot show a float tie: drop them
                    for key in ("sentiment", "topics"):
                        got.pop(key), expected.pop(key)
                if flags == (True, True):
                    ties = _entity_ties(got["entities"], expected["entities"])
                for label in got["entities"]:
                    got["entities"][label] = [x for x in got["entities"][label] if _text(x) not in ties]
                    expected["entities"][label] = [x for x in expected["entities"][label] if _text(x) not in ties]
                _close(got, expected)


def _text(span):
    return span["text"] if isinstance(span, dict) else span


def _entity_ties(ours: dict, ref: dict, tol: float = 1e-5) -> set:
    """The entity texts on which ours and the reference may differ because their scores tie within ``tol``: two
    spans listed in either order, or one kept and an overlapping one of the same score dropped by the greedy
    resolution. Every other span must be in both lists with the same score and in the same order."""
    ties = set()

    def key(x):
        return (x["text"], x["start"], x["end"])

    for label in ours:
        a = {key(x): x["confidence"] for x in ours[label]}
        b = {key(x): x["confidence"] for x in ref[label]}
        for k in a.keys() & b.keys():
            assert math.isclose(a[k], b[k], abs_tol=tol), f"{label} {k}: {a[k]} vs {b[k]}"
        both = {**b, **a}
        for k in a.keys() ^ b.keys():
            partners = [j for j in both if j != k and abs(both[j] - both[k]) <= tol and j[1] < k[2] and k[1] < j[2]]
            assert partners, f"{label}: {k} is in one list only and ties with no overlapping span"
            ties |= {k[0], *(j[0] for j in partners)}
        order_a = [k for k in a if k in b]
        order_b = [k for k in b if k in a]
        for x, y in zip(order_a, order_b):
            if x != y:
                assert abs(both[x] - both[y]) <= tol, f"{label}: {x} and {y} in another order"
                ties |= {x[0], y[0]}
    assert len(ties) <= 6, ties
    return ties


def test_batch_equals_single(minilm_checkpoint):
    _, ours = load_pair(minilm_checkpoint)
    schema = build(Schema())
    batched = ours.batch_extract(
        TEXTS * 3, schema, batch_size=5, threshold=0.5, include_confidence=True, include_spans=True
    )
    for text, got in zip(TEXTS * 3, batched):
        _close(got, ours.extract(text, schema, threshold=0.5, include_confidence=True, include_spans=True))


def test_checkpoint_saved_by_us_loads_in_reference(tmp_path, tiny_deberta_checkpoint):
    from gliner2 import GLiNER2 as Reference

    ours = GLiNER2.from_pretrained(tiny_deberta_checkpoint)
    ours.save_pretrained(str(tmp_path / "ours"))
    ref = Reference.from_pretrained(str(tmp_path / "ours"))
    original = Reference.from_pretrained(tiny_deberta_checkpoint)
    a, b = ref.state_dict(), original.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    again = GLiNER2.from_pretrained(str(tmp_path / "ours"))
    assert again.batch_extract(TEXTS, build(Schema()), include_confidence=True) == ours.batch_extract(
        TEXTS, build(Schema()), include_confidence=True
    )
