"""Hostile input without Spark: the engine and the UDF's row builder never raise and never emit a bad offset.

The Spark job over the same corpus (rows in = rows out) is in ``test_faults.py``.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml
from hostile import MB, SCHEMA, check_row, corpus, spans_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def model(tiny_checkpoint):
    from gliner2_udf import GLiNER2

    m = GLiNER2.from_pretrained(tiny_checkpoint)
    m.set_threads(1)
    return m


@pytest.fixture(scope="module")
def rows_for(model):
    from gliner2_udf import compile_schema
    from gliner2_udf.options import ExtractOptions
    from gliner2_udf.rows import Layout
    from gliner2_udf.spark.udf import extract_rows

    compiled = compile_schema(SCHEMA)
    layout = Layout.build(compiled, "id")

    def run(values, **opts):
        return extract_rows(model, compiled, layout, list(values), ExtractOptions(batch_size=4, **opts))

    return run


def test_hostile_corpus_gives_one_row_with_a_status_per_document(rows_for):
    docs = corpus(big=False)
    docs["lone-surrogate"] = "Tim \ud800 Cook"  # not encodable as UTF-8
    docs["bytes-surrogate"] = b"Tim \xed\xa0\x80 Cook"  # a UTF-8-encoded surrogate: not valid UTF-8
    values = list(docs.values())
    rows = rows_for(values, max_chars=100_000)
    assert len(rows) == len(values)
    by_id = dict(zip(docs, rows))
    spans = sum(check_row(v, r) for v, r in zip(values, rows))
    assert spans > 0
    expect = {
        "null": "empty",
        "empty": "empty",
        "whitespace": "empty",
        "control-only": "empty",
        "binary-not-utf8": "error",
        "lone-surrogate": "error",
        "bytes-surrogate": "error",
        "long-word": "truncated",
        "many-tiny-words": "ok",
        "normal": "ok",
        "control-mixed": "ok",
        "emoji": "ok",
        "cjk": "ok",
        "rtl": "ok",
        "html": "ok",
        "json": "ok",
        "zero-width-mixed": "ok",
    }
    assert {k: by_id[k]["status"] for k in expect} == expect
    assert by_id["binary-not-utf8"]["error"].startswith("text is not valid UTF-8")
    assert by_id["lone-surrogate"]["error"].startswith("text is not encodable as UTF-8")
    assert by_id["long-word"]["error"] == (
        "text has 200000 characters; extracted from the first 100000 (max_chars=100000)"
    )


def test_control_characters_keep_the_stored_text_under_every_span(rows_for):
    """Controls are blanked for the model, but spans are cut from the stored text."""
    text = "Tim\x00Cook of\x07Apple met\x1b Acme\x7f in Berlin with Tim\x01Cook."
    (row,) = rows_for([text], threshold=0.0)
    assert row["status"] == "ok" and spans_of(row)
    check_row(text, row)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.text(max_size=400), min_size=1, max_size=4), threshold=st.sampled_from([0.0, 0.3, 0.5]))
def test_engine_offsets_are_valid_for_any_unicode_text(model, texts, threshold):
    results = model.batch_extract(
        texts, SCHEMA, batch_size=3, threshold=threshold, include_confidence=True, include_spans=True
    )
    assert len(results) == len(texts)
    for text, result in zip(texts, results):
        assert set(result) == {"entities", "sentiment", "deal"}
        leaves = [s for v in result["entities"].values() for s in v]
        for inst in result["deal"]:
            for v in inst.values():
                leaves += v if isinstance(v, list) else [v] if v else []
        for s in leaves:
            if s.get("start") is None:
                continue
            assert 0 <= s["start"] < s["end"] <= len(text)
            assert text[s["start"] : s["end"]] == s["text"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.text(max_size=300),
            st.binary(max_size=300),
            st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
        ),
        min_size=1,
        max_size=6,
    ),
    max_chars=st.sampled_from([5, 50, 1000]),
)
def test_udf_rows_for_any_value_have_a_status_and_valid_offsets(rows_for, values, max_chars):
    rows = rows_for(values, max_chars=max_chars, threshold=0.0)
    assert len(rows) == len(values)
    for v, r in zip(values, rows):
        check_row(v, r)


MEMORY_PROBE = r"""
import json, re, sys
sys.path.insert(0, {tests!r})
from hostile import SCHEMA, _words
from gliner2_udf import GLiNER2, compile_schema
from gliner2_udf.rows import Layout
from gliner2_udf.options import ExtractOptions
from gliner2_udf.spark.udf import extract_rows

def status(key):  # kB -> bytes, from /proc/self/status (VmRSS: now, VmHWM: peak since the last reset)
    with open("/proc/self/status") as fh:
        return int(re.search(key + r":\s+(\d+) kB", fh.read()).group(1)) * 1024

def reset_peak():  # Linux >= 4.0: writing 5 to clear_refs resets VmHWM to the current RSS
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")

model = GLiNER2.from_pretrained({ckpt!r}, precision={precision!r}, backend={backend!r})
model.set_threads(1)
compiled = compile_schema(SCHEMA)
layout = Layout.build(compiled, "id")
extract_rows(model, compiled, layout, ["Tim Cook of Apple."], ExtractOptions())   # warm up: lazy allocations
out = {{}}
for size in {sizes!r}:
    text = _words(size, seed=size)
    reset_peak()
    base = status("VmRSS")
    options = ExtractOptions(batch_size=16, max_chars=20_000_000)  # the default threshold, 0.5
    (row,) = extract_rows(model, compiled, layout, [text], options)
    assert row["status"] == "ok", row["error"]
    out[str(size)] = {{"base": base, "peak": status("VmHWM"), "entities": len(row["entities"])}}
    del row
print(json.dumps(out))
"""


@pytest.mark.slow
def test_memory_for_a_10mb_document_grows_linearly(tiny_checkpoint):
    """Peak RSS of a worker-like process extracting a 1 MB and then a whole 10 MB document (no max_chars cut) on
    the shipped inference setting (conf/local.yaml) at the default threshold 0.5: each window resolves its own
    overlapping candidates, so memory grows with the answers, not with the candidates (10x the text, under 12x the
    memory; quadratic would be 100x). The random tiny model scores nearly every span at about 0.5, so it finds
    about one entity per word (1.7 million in 10 MB), far more than a trained model."""
    with open(os.path.join(ROOT, "conf", "local.yaml"), encoding="utf-8") as fh:
        shipped = yaml.safe_load(fh)["model"]
    code = MEMORY_PROBE.format(
        tests=os.path.dirname(__file__),
        ckpt=tiny_checkpoint,
        sizes=[MB, 10 * MB],
        precision=shipped["precision"],
        backend=shipped["backend"],
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    one, ten = out[str(MB)], out[str(10 * MB)]
    grow1, grow10 = one["peak"] - one["base"], ten["peak"] - ten["base"]
    print(
        f"\nmemory: RSS {one['base'] / 2**20:.0f} MiB before; peak +{grow1 / 2**20:.0f} MiB for the 1 MB document, "
        f"+{grow10 / 2**20:.0f} MiB for the 10 MB document; entities {one['entities']} / {ten['entities']}"
    )
    assert grow1 > 0
    assert out[str(10 * MB)]["entities"] > 5 * out[str(MB)]["entities"]  # the whole document was read
    assert grow10 < 12 * grow1
    assert grow10 < 2 * 2**30
