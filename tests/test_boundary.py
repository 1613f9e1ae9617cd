"""GLiNER2.5 (boundary architecture) checkpoints end to end: parity with the reference on decoded results,
checkpoints in both directions, the quirks we decided on (README "Differences from the reference"),
long texts, and the Spark job.

Checkpoints are the tiny boundary models of conftest.py, built and saved by the reference
(``gliner2==2.1.0``, test-only oracle) with sharpened heads, so decisions sit far from the thresholds.
The numeric core (candidates, logits) is pinned to the reference in test_boundary_model.py.
"""

import itertools
import json
import math
import os
import random

import numpy as np
import pytest
import torch
from compare import label_ties, same
from schemas import boundary_spec_schema as build

from gliner2_udf import GLiNER2, Schema
from gliner2_udf.boundary_decoding import relation_edges, resolve

TEXTS = [
    "Apple CEO Tim Cook announced the iPhone 15 in Cupertino on Tuesday for $799.",
    "Satya Nadella leads Microsoft, which is based in Redmond and sells Azure cloud services.",
]  # both end in punctuation: the reference's appended "." (README difference 6) is pinned separately below
CHECKPOINTS = ["boundary_checkpoint", "boundary_shared_checkpoint", "boundary_deberta_checkpoint"]


def reference(path):
    from gliner2 import AutoExtractor

    return AutoExtractor.from_pretrained(path).eval()


@pytest.fixture(scope="module", params=CHECKPOINTS)
def pair(request):
    path = request.getfixturevalue(request.param)
    return path, GLiNER2.from_pretrained(path), reference(path)


@pytest.mark.parametrize("confidence,spans", [(False, False), (True, False), (True, True)])
def test_extract_and_batch_extract_equal_the_reference(pair, confidence, spans):
    _, ours, ref = pair
    ref_schema, our_schema = build(ref.create_schema()), build(Schema())
    for text in TEXTS:
        expected = ref.extract(text, ref_schema, include_confidence=confidence, include_spans=spans)
        same(ours.extract(text, our_schema, include_confidence=confidence, include_spans=spans), expected)
    # relation confidences are compared with extract's: the reference's batch ones depend on the batch (below)
    got = ours.batch_extract(TEXTS, our_schema, batch_size=8, include_confidence=confidence, include_spans=spans)
    for text, result in zip(TEXTS, got):
        same(result, ref.extract(text, ref_schema, include_confidence=confidence, include_spans=spans))


def test_results_are_not_empty(pair):
    """The parity above compares something: every task finds something on these checkpoints."""
    _, ours, _ = pair
    got = ours.extract(TEXTS[0], build(Schema()), include_confidence=True)
    assert sum(len(v) for v in got["entities"].values()) >= 3
    assert got["deal"] and got["deal"][0]["items"]
    assert got["sentiment"]["label"] in ("positive", "negative", "neutral")


def test_token_ids_and_routing_equal_the_reference(boundary_checkpoint):
    from gliner2.training.trainer import ExtractorCollator

    ours, ref = GLiNER2.from_pretrained(boundary_checkpoint), reference(boundary_checkpoint)
    sdicts, _ = ref._build_schema_dicts_and_metadata([build(ref.create_schema())] * 2)
    batch = ExtractorCollator(ref.processor, is_training=False, architecture="boundary")(list(zip(TEXTS, sdicts)))
    compiled = ours.compile(build(Schema()))
    windows = [ours.windows(i, t, compiled)[0] for i, t in enumerate(TEXTS)]
    for i, w in enumerate(windows):
        ref_ids = [int(x) for x in batch.input_ids[i] if int(x) != 0]
        assert w.encoded.ids == ref_ids
    core = ref._encode_core(batch)
    st = ours.processor.schema_tokens(compiled)
    ours_batch = ours.processor.collate([w.encoded for w in windows], st.tasks)
    states = ours.network.encode(torch.from_numpy(ours_batch.input_ids), torch.from_numpy(ours_batch.attention_mask))
    q = states[0, ours_batch.tasks.field_pos[0]]
    np.testing.assert_allclose(q.detach().numpy(), core["query_states"][0, : q.shape[0]].detach().numpy(), atol=1e-5)


def test_our_checkpoint_loads_in_the_reference_with_equal_results(boundary_shared_checkpoint, tmp_path):
    ours = GLiNER2.from_pretrained(boundary_shared_checkpoint)
    ours.save_pretrained(str(tmp_path / "ours"))
    ref = reference(str(tmp_path / "ours"))
    schema = build(Schema())
    expected = reference(boundary_shared_checkpoint).extract(TEXTS[0], build(ref.create_schema()), include_spans=True)
    same(ref.extract(TEXTS[0], build(ref.create_schema()), include_spans=True), expected)
    same(GLiNER2.from_pretrained(str(tmp_path / "ours")).extract(TEXTS[0], schema, include_spans=True), expected)
    cfg = json.load(open(tmp_path / "ours" / "config.json"))
    assert cfg["architecture"] == "boundary" and cfg["boundary_head"]["candidate_pool"] == "shared"


def test_relation_confidence_does_not_depend_on_the_batch(boundary_checkpoint):
    """Quirk: the reference scales the argument distance by the batch's padded length, so its relation
    confidences in ``batch_extract`` depend on the other texts; ours use the text's own length."""
    ours = GLiNER2.from_pretrained(boundary_checkpoint)
    schema = Schema().relations(["works_for"])
    alone = [ours.extract(t, schema, include_confidence=True) for t in TEXTS]
    together = ours.batch_extract(TEXTS, schema, include_confidence=True)
    assert alone[0]["relation_extraction"]["works_for"]
    same(together, alone, tol=1e-6)  # the padded batch sums in another order: 1e-7, not the reference's scale


def test_appended_period_never_leaks(boundary_checkpoint):
    ours = GLiNER2.from_pretrained(boundary_checkpoint)
    text = TEXTS[1].rstrip(".")
    got = ours.extract(text, build(Schema()), include_spans=True, threshold=0.3)
    spans = [s for v in got["entities"].values() for s in v]
    assert any(s["end"] == len(text) for s in spans)  # spans reach the end of the text, never past it
    assert all(text[s["start"] : s["end"]] == s["text"] and s["text"] != "." for s in spans)


def test_nothing_found_keeps_every_key(boundary_checkpoint):
    """Quirk: the reference leaves a structure with nothing found out of the result; ours keeps ``[]``."""
    ours = GLiNER2.from_pretrained(boundary_checkpoint)
    got = ours.extract(TEXTS[0], build(Schema()), threshold=1.0)
    assert got["deal"] == [] and got["entities"] == {"person": [], "company": [], "location": []}
    assert got["relation_extraction"] == {"works_for": []}


def test_long_text_windows_and_offsets_index_the_callers_text(boundary_checkpoint):
    ours = GLiNER2.from_pretrained(boundary_checkpoint, max_tokens=128)
    text = " ".join(TEXTS * 6)
    compiled = ours.compile(Schema().entities(["person", "company"]).structure("deal").field("items"))
    assert len(ours.windows(0, text, compiled)) > 2
    got = ours.extract(text, compiled, include_spans=True, include_confidence=True)
    spans = [s for v in got["entities"].values() for s in v] + got["deal"][0]["items"]
    assert spans
    for s in spans:
        assert text[s["start"] : s["end"]] == s["text"]
    for label in got["entities"].values():  # overlaps resolved across windows too
        ordered = sorted(label, key=lambda s: s["start"])
        assert all(a["end"] <= b["start"] for a, b in zip(ordered, ordered[1:]))


def test_flat_overlap_keeps_the_set_of_maximum_total_probability():
    items = [(0.9, 0, 3), (0.6, 0, 1), (0.6, 1, 3), (0.5, 3, 4)]
    assert resolve(items, "flat") == [(0.6, 0, 1), (0.6, 1, 3), (0.5, 3, 4)]  # 1.7 beats 0.9 + 0.5
    assert resolve(items, "longest") == [(0.9, 0, 3), (0.5, 3, 4)]
    assert resolve([(0.5, 0, 2), (0.5, 1, 3)], "nested") == [(0.5, 0, 2)]


def test_flat_overlap_matches_every_subset_tried_including_ties():
    """``flat`` against brute force over all subsets: the largest total, then more spans, then the ranks
    (by probability, start, end) that come first; probabilities from a small set so totals tie often."""
    rng = random.Random(7)
    for _ in range(400):
        items = []
        for _ in range(rng.randint(1, 8)):
            s = rng.randint(0, 5)
            items.append((rng.choice([0.25, 0.5, 0.75, 1.0]), s, s + rng.randint(1, 3)))
        ranked = sorted(set(items), key=lambda x: (-x[0], x[1], x[2]))
        best = None
        for k in range(len(ranked) + 1):
            for subset in itertools.combinations(range(len(ranked)), k):
                spans = [ranked[i] for i in subset]
                if any(a[2] > b[1] and b[2] > a[1] for a, b in itertools.combinations(spans, 2)):
                    continue
                key = (sum(x[0] for x in spans), len(spans), tuple(-i for i in subset))
                best = max(best, key) if best is not None else key
        assert resolve(items, "flat") == [ranked[-r] for r in best[2]]  # best[2] holds negated ranks


def test_relation_edges_take_the_longest_mention_and_one_edge_per_texts():
    tim = ("Tim", 0.9, 0, 3)
    tim_cook = ("Tim Cook", 0.8, 0, 8)
    apple, apple2 = ("Apple", 0.9, 12, 17), ("Apple", 0.7, 30, 35)
    edges = relation_edges([(tim, apple, 0.9), (tim_cook, apple, 0.6), (tim_cook, apple2, 0.95)])
    assert edges == [(tim_cook, apple, 0.9)]  # Tim -> Tim Cook; the closer Apple wins over the better one


@pytest.mark.parametrize("precision,backend,field", [("int8", "onnx", "backend"), ("bf16", "torch", "precision")])
def test_boundary_model_refuses_what_no_runtime_runs_for_it(precision, backend, field):
    from gliner2_udf.errors import FieldError
    from gliner2_udf.runtime import load_runner

    class Net:
        architecture = "boundary"

    with pytest.raises(FieldError, match=f"^{field}: .*'fp32' or 'int8' on backend 'torch'"):
        load_runner(Net(), None, precision, backend, "v")


def test_int8_boundary_model_agrees_with_fp32(boundary_deberta_checkpoint):
    """int8 quantizes the encoder's Linear layers only; the heads (candidate proposal, reranker) stay fp32."""
    fp32 = GLiNER2.from_pretrained(boundary_deberta_checkpoint)
    int8 = GLiNER2.from_pretrained(boundary_deberta_checkpoint, precision="int8")
    assert int8.precision == "int8" and int8._runner.runtime.encoder is not fp32.network.encoder
    schema = build(Schema())
    a = fp32.batch_extract(TEXTS, schema, include_spans=True)
    b = int8.batch_extract(TEXTS, schema, include_spans=True)
    spans = [{(label, s["start"], s["end"]) for label, v in r["entities"].items() for s in v} for r in a]
    found = [{(label, s["start"], s["end"]) for label, v in r["entities"].items() for s in v} for r in b]
    assert sum(len(x) for x in spans) >= 6
    assert sum(len(x & y) for x, y in zip(spans, found)) >= 0.8 * sum(len(x) for x in spans)
    # (labels are not compared: the tiny heads multiply the classifier by 20, int8 noise flips them)


@pytest.mark.slow
def test_spark_job_runs_a_boundary_checkpoint_parquet_to_delta_merge(spark, boundary_checkpoint, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gliner2_udf.config import from_dict
    from gliner2_udf.spark import run

    docs = {f"doc-{i}": t for i, t in enumerate(TEXTS * 3)} | {"bad": None}
    inp = str(tmp_path / "docs.parquet")
    pq.write_table(pa.table({"id": list(docs), "text": list(docs.values())}), inp)
    schema = {
        "entities": ["person", "company"],
        "classifications": [{"name": "sentiment", "labels": ["positive", "negative"]}],
        "structures": [
            {"name": "deal", "fields": [{"name": "items"}, {"name": "cur", "dtype": "str", "choices": ["usd", "eur"]}]}
        ],
        "relations": ["works_for"],
    }
    cfg = from_dict(
        {
            "input": {"format": "parquet", "path": inp},
            "schema": schema,
            "model": {"path": boundary_checkpoint},
            "output": {"format": "delta", "path": str(tmp_path / "out"), "mode": "merge"},
            "batch_size": 4,
        }
    )
    summary = run(cfg, spark)
    assert summary.status_counts == {"ok": 6, "empty": 1}
    rows = {r["id"]: r for r in spark.read.format("delta").load(cfg.output.path).collect()}
    expected = GLiNER2.from_pretrained(boundary_checkpoint).extract(TEXTS[0], schema, include_spans=True)
    assert rows["bad"]["status"] == "empty"
    assert sorted(rows["doc-0"]["person"]) == sorted(e["text"] for e in expected["entities"]["person"])
    assert rows["doc-0"]["person"]
    assert run(cfg, spark).rows == 0  # merge: a rerun adds nothing


def _edited(path, out, weights=None, head=None):
    """The checkpoint at ``path`` with some weights (``weights(model)``) or ``boundary_head`` settings changed,
    saved by the reference."""
    ref = reference(path)
    with torch.no_grad():
        (weights or (lambda m: None))(ref)
    ref.save_pretrained(out)
    with open(os.path.join(out, "config.json")) as fh:
        cfg = json.load(fh)
    cfg["boundary_head"].update(head or {})
    with open(os.path.join(out, "config.json"), "w") as fh:
        json.dump(cfg, fh)
    return out


def test_abstention_gate_empties_entity_labels_like_the_reference(boundary_checkpoint, tmp_path):
    path = _edited(
        boundary_checkpoint, str(tmp_path / "ckpt"), lambda m: m.boundary_head.null_projection.bias.fill_(5.0)
    )
    ours, ref = GLiNER2.from_pretrained(path).extract(TEXTS[0], build(Schema())), reference(path)
    same(ours, ref.extract(TEXTS[0], build(ref.create_schema())))
    assert ours["entities"] == {"person": [], "company": [], "location": []} and ours["deal"]  # structures unaffected


def test_adaptive_threshold_lets_the_count_heads_top_candidates_through_like_the_reference(
    boundary_checkpoint, tmp_path
):
    path = _edited(
        boundary_checkpoint,
        str(tmp_path / "ckpt"),
        lambda m: m.boundary_head.count_head.bias.fill_(math.log(2)),
        {"adaptive_threshold": True},
    )
    ref = reference(path)
    assert ref.boundary_settings.adaptive_threshold
    schema = Schema().entities(["person", "company", "location"])
    ours = GLiNER2.from_pretrained(path).extract(TEXTS[0], schema, threshold=0.99, include_confidence=True)
    same(
        ours,
        ref.extract(
            TEXTS[0],
            ref.create_schema().entities(["person", "company", "location"]),
            threshold=0.99,
            include_confidence=True,
        ),
    )
    assert all(1 <= len(v) <= 2 for v in ours["entities"].values())


@pytest.mark.parametrize(
    "method,arg",
    [
        ("extract_entities", ["person", "company", "location"]),
        ("classify_text", {"sentiment": ["positive", "negative", "neutral"]}),
        ("extract_relations", ["works_for"]),
    ],
)
def test_upstream_convenience_methods_equal_the_reference(pair, method, arg):
    _, ours, ref = pair
    kw = {"include_confidence": True, "include_spans": True}
    batch = getattr(ours, "batch_" + method)(TEXTS, arg)
    batch_full = getattr(ours, "batch_" + method)(TEXTS, arg, **kw)
    for text, got, got_full in zip(TEXTS, batch, batch_full):
        full = getattr(ours, method)(text, arg, **kw), getattr(ref, method)(text, arg, **kw)
        same(*full)
        same(got_full, full[1])
        # without confidences a tie is invisible: leave out the tasks whose labels tied with them
        ties = label_ties(*full) | label_ties(got_full, full[1]) if method == "classify_text" else set()
        expected = {k: v for k, v in getattr(ref, method)(text, arg).items() if k not in ties}
        same({k: v for k, v in getattr(ours, method)(text, arg).items() if k not in ties}, expected)
        same({k: v for k, v in got.items() if k not in ties}, expected)


def test_extract_json_gives_the_one_instance_structure_of_extract(pair):
    """Difference B5: on a boundary checkpoint the reference's ``extract_json`` forms records (its
    instance-formation head: many instances from these heads) and can fail on a choice field (its spec's quirk 4);
    ours gives what
    ``extract`` gives for the same structure."""
    _, ours, ref = pair
    fields = {"deal": ["buyer::str", "items::list"]}
    assert len(ref.extract_json(TEXTS[0], fields)["deal"]) > 1
    structure = ref.create_schema().structure("deal").field("buyer", dtype="str").field("items", dtype="list")
    same(ours.extract_json(TEXTS[0], fields), ref.extract(TEXTS[0], structure))
    with_choice = {"deal": ["buyer::str", "currency::[usd|eur]::str"]}
    assert ours.extract_json(TEXTS[0], with_choice)["deal"][0]["currency"] in ("usd", "eur")


def test_job_with_backend_onnx_names_the_field_and_exits_2(boundary_checkpoint, tmp_path):
    """A boundary model on the onnx backend (the shipped configuration's ``auto`` picks torch for it) is one
    configuration line, exit 2, before Spark starts."""
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = [
        sys.executable,
        os.path.join(root, "jobs", "extract.py"),
        "--config",
        os.path.join(root, "conf", "local.yaml"),
    ]
    cmd += ["--set", f"model.path={boundary_checkpoint}", "--set", f"output.path={tmp_path / 'out'}"]
    cmd += ["--set", "model.backend=onnx"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=300)
    assert done.returncode == 2
    assert "model.backend: a boundary (GLiNER2.5) checkpoint runs with precision 'fp32' or 'int8'" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()
