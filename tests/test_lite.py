"""The lite runtime (backend onnx): ONNX Runtime + numpy heads, and Python workers without torch."""

import json
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
from schemas import small_schema

from gliner2_udf import GLiNER2
from gliner2_udf.checkpoint import load_tokenizer
from gliner2_udf.processor import SPECIAL_TOKENS
from gliner2_udf.runtime.lite import WordPieceTokenizer, is_lite_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTS = [
    "Tim Cook met Angela Merkel in Berlin on Monday.",
    "Acme Corp bought 3 trucks from Volvo for 2 million euros.",
    "A naïve café owner in Zürich sued Ünïcödé Ltd.",
    "",
    "东京 is large; e-mail me at 3.14 o'clock!",
]


@pytest.mark.parametrize("name", ["tiny_checkpoint", "minilm_checkpoint"])
def test_tokenizer_without_transformers_matches(name, request, tmp_path):
    path = request.getfixturevalue(name)
    model = GLiNER2.from_pretrained(path, backend="onnx")
    ours = WordPieceTokenizer(os.path.join(model.export_lite(str(tmp_path / "lite")), "tokenizer.json"))
    hf = load_tokenizer(path)
    words = list(SPECIAL_TOKENS) + " ".join(TEXTS).split() + ["[UNK]", "internationalisation", "😀"]
    for w in words:
        assert ours.convert_tokens_to_ids(ours.tokenize(w)) == hf.convert_tokens_to_ids(hf.tokenize(w)), w


def test_lite_folder_loads_and_matches_the_model_it_came_from(tiny_checkpoint, tmp_path):
    model = GLiNER2.from_pretrained(tiny_checkpoint, precision="int8", backend="onnx")
    folder = model.export_lite(str(tmp_path / "lite"))
    assert is_lite_folder(folder)
    assert json.load(open(os.path.join(folder, "lite.json")))["precision"] == "int8"
    again = GLiNER2.from_pretrained(folder)
    assert again.network is None and again.precision == "int8"
    assert again.batch_extract(TEXTS, small_schema(), include_confidence=True) == model.batch_extract(
        TEXTS, small_schema(), include_confidence=True
    )
    with pytest.raises(ValueError, match="lite model"):
        again.save_pretrained(str(tmp_path / "ckpt"))


def test_lite_model_windows_long_texts_like_the_model_it_came_from(tiny_checkpoint, tmp_path):
    model = GLiNER2.from_pretrained(tiny_checkpoint, backend="onnx")
    again = GLiNER2.from_pretrained(model.export_lite(str(tmp_path / "lite")))
    long_text = " ".join(TEXTS[:3] * 120)  # several windows of the 512-token encoder
    assert again.batch_extract([long_text], small_schema(), include_spans=True) == model.batch_extract(
        [long_text], small_schema(), include_spans=True
    )


def test_unpickled_fast_model_runs_without_torch(tiny_checkpoint, tmp_path):
    """What a Spark Python worker does with the broadcast model: no torch, no transformers."""
    model = GLiNER2.from_pretrained(tiny_checkpoint, precision="int8", backend="onnx")
    blob = tmp_path / "model.pkl"
    blob.write_bytes(pickle.dumps(model))
    expected = model.batch_extract(TEXTS, small_schema(), include_confidence=True)
    code = (
        "import json, pickle, sys; from gliner2_udf import Schema\n"
        "m = pickle.load(open(sys.argv[1], 'rb'))\n"
        "s = (Schema().entities(['person', 'company', 'location'])"
        ".classification('sentiment', ['positive', 'negative', 'neutral'])"
        ".structure('deal').field('buyer', dtype='str').field('items'))\n"
        f"out = m.batch_extract({TEXTS!r}, s, include_confidence=True)\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'transformers': 'transformers' in sys.modules,"
        " 'out': out}))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(blob)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["torch"] is False and got["transformers"] is False
    assert got["out"] == json.loads(json.dumps(expected))


def test_heads_in_numpy_equal_the_torch_heads(tiny_checkpoint):
    exact = GLiNER2.from_pretrained(tiny_checkpoint)
    lite = GLiNER2.from_pretrained(tiny_checkpoint, backend="onnx")
    compiled = exact.compile(small_schema())
    from gliner2_udf.text import normalize, split_words

    items = [exact.processor.encode(compiled, split_words(normalize(t)).tokens) for t in TEXTS if t]
    st = exact.processor.schema_tokens(compiled)
    for (s0, c0, k0), (s1, c1, k1) in zip(exact.forward_batch(items, st), lite.forward_batch(items, st)):
        assert c0 == c1
        for name in s0:
            finite = np.isfinite(s0[name])
            assert (finite == np.isfinite(s1[name])).all()
            np.testing.assert_allclose(s1[name][finite], s0[name][finite], atol=1e-4)
        for name in k0:
            np.testing.assert_allclose(k1[name], k0[name], atol=1e-4)


def test_cache_is_keyed_by_weights_not_by_version_label(tiny_checkpoint):
    """Two labels on the same weights share one export; other weights under the same label get their own export,
    which gives their own scores (the classifier's bias moved by 1: every label logit moves by 1)."""
    import torch

    from gliner2_udf.runtime.onnx_export import cache_dir

    a = GLiNER2.from_pretrained(tiny_checkpoint, backend="onnx", model_version="same-label")
    assert a._runner.path.startswith(cache_dir()) and cache_dir().startswith(os.environ["GLINER2_UDF_CACHE"])
    assert (
        GLiNER2.from_pretrained(tiny_checkpoint, backend="onnx", model_version="other")._runner.path == a._runner.path
    )
    net = GLiNER2.from_pretrained(tiny_checkpoint).network
    with torch.no_grad():
        net.classifier[-1].bias.add_(1.0)
    b = GLiNER2(net, a.tokenizer, "same-label", backend="onnx")
    assert a._runner.path != b._runner.path
    compiled = a.compile(small_schema())
    from gliner2_udf.text import normalize, split_words

    items = [a.processor.encode(compiled, split_words(normalize(t)).tokens) for t in TEXTS if t]
    st = a.processor.schema_tokens(compiled)
    for (_, _, k0), (_, _, k1) in zip(a.forward_batch(items, st), b.forward_batch(items, st)):
        np.testing.assert_allclose(k1["sentiment"], k0["sentiment"] + 1.0, atol=1e-4)


@pytest.mark.slow
def test_spark_job_runs_a_lite_folder_where_torch_is_not_installed(tiny_checkpoint, tmp_path):
    """The ``lite`` extra's promise: ``jobs/extract.py`` on a lite folder, with ``import torch`` and
    ``import transformers`` failing in the driver and in every Python worker (as where they are not
    installed), extracts every row and records the lite folder's model version."""
    import pandas as pd

    lite = GLiNER2.from_pretrained(tiny_checkpoint, precision="int8", backend="onnx")
    folder = lite.export_lite(str(tmp_path / "lite"))
    blocked = tmp_path / "blocked"
    for name in ("torch", "transformers"):
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed')\n")
    docs = str(tmp_path / "docs.parquet")
    pd.DataFrame(
        {"id": [f"d{i}" for i in range(len(TEXTS))], "text": TEXTS, "source": ["test"] * len(TEXTS)}
    ).to_parquet(docs)
    out, log = tmp_path / "out", tmp_path / "loads.log"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": f"{blocked}{os.pathsep}{ROOT}",
        "SPARK_CONF_DIR": os.path.join(ROOT, "conf", "spark"),
        "GLINER2_UDF_LOAD_LOG": str(log),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }
    cmd = [
        sys.executable,
        os.path.join(ROOT, "jobs", "extract.py"),
        "--config",
        os.path.join(ROOT, "conf", "local.yaml"),
        "--set",
        f"model.path={folder}",
        "--set",
        f"input.path={docs}",
        "--set",
        f"output.path={out}",
        "--set",
        f"schema={os.path.join(ROOT, 'conf', 'schemas', 'default.yaml')}",
        "--set",
        "output.mode=overwrite",
        "--set",
        "spark.master=local[1]",
    ]
    run = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "status:        empty=1, ok=4" in run.stdout
    loads = log.read_text().splitlines()
    assert loads and all(line.endswith("torch=0") for line in loads), loads
    assert json.load(open(os.path.join(folder, "lite.json")))["model_version"] in run.stdout


@pytest.mark.parametrize("change", ["encoder.onnx", "heads.npz", "tokenizer.json", "extra", "remote", "boundary"])
def test_a_lite_folder_runs_only_as_exported(tiny_checkpoint, tmp_path, change):
    """Every exported file's sha256 is in lite.json and checked on load; a file it does not record, remote code
    and an architecture the lite runtime does not run are refused like a checkpoint's."""
    from gliner2_udf.errors import CheckpointError

    folder = GLiNER2.from_pretrained(tiny_checkpoint, precision="int8", backend="onnx").export_lite(str(tmp_path / "l"))
    meta_file = os.path.join(folder, "lite.json")
    meta = json.load(open(meta_file))
    if change in ("remote", "boundary"):
        meta.update({"auto_map": {"AutoModel": "evil.Model"}} if change == "remote" else {"architecture": "boundary"})
        json.dump(meta, open(meta_file, "w"))
        expected = "asks for remote code" if change == "remote" else "architecture 'boundary'; the lite runtime runs"
    elif change == "extra":
        open(os.path.join(folder, "custom_op.py"), "w").write("import os\n")
        expected = "files differ from what was exported: 'custom_op.py' not recorded; refused"
    else:
        with open(os.path.join(folder, change), "ab") as fh:
            fh.write(b"\0")
        expected = f"files differ from what was exported: {change!r} changed; refused"
    with pytest.raises(CheckpointError, match=re.escape(expected)):
        GLiNER2.from_pretrained(folder)


def test_a_tampered_cached_export_is_exported_again_and_the_cache_key_covers_the_tokenizer(tiny_checkpoint):
    model = GLiNER2.from_pretrained(tiny_checkpoint, precision="int8", backend="onnx")
    expected = model.batch_extract(TEXTS, small_schema(), include_confidence=True)
    graph = os.path.join(model._runner.path, "encoder.onnx")
    good = open(graph, "rb").read()
    with open(graph, "r+b") as fh:  # a graph changed behind the cache's back
        fh.seek(len(good) // 2)
        fh.write(b"\x13\x37" * 8)
    again = GLiNER2.from_pretrained(tiny_checkpoint, precision="int8", backend="onnx")
    assert again._runner.path == model._runner.path and open(graph, "rb").read() == good
    assert again.batch_extract(TEXTS, small_schema(), include_confidence=True) == expected
    other = GLiNER2.from_pretrained(tiny_checkpoint)
    other.tokenizer.add_tokens(["zzqx"])
    assert (
        GLiNER2(other.network, other.tokenizer, "v", precision="int8", backend="onnx")._runner.path
        != graph.rsplit("/", 1)[0]
    )
