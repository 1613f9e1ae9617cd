"""Inference settings: fp32 ONNX gives the torch scores, int8 stays close, settings survive pickling."""

import pickle

import numpy as np
import pytest
from compare import same
from schemas import small_schema

from gliner2_udf import GLiNER2
from gliner2_udf.text import normalize, split_words

TEXTS = [
    "Apple CEO Tim Cook announced the iPhone 15 in Cupertino on Tuesday for $799.",
    "Acme paid 5 usd to tim cook in Berlin, then the deal closed.",
]


@pytest.fixture(autouse=True)
def onnx_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GLINER2_UDF_CACHE", str(tmp_path / "cache"))


def raw(model):
    compiled = model.compile(small_schema())
    st = model.processor.schema_tokens(compiled)
    return model.forward_batch([model.processor.encode(compiled, split_words(normalize(t)).tokens) for t in TEXTS], st)


@pytest.mark.parametrize(
    "precision,backend,tol",
    [("fp32", "onnx", 1e-4), ("int8", "onnx", 0.5), ("int8", "torch", 0.5), ("bf16", "torch", 0.5)],
)
def test_settings_against_fp32(tiny_checkpoint, precision, backend, tol):
    """Every output of every text: span logits per span task (the same spans valid), the count head's instances,
    label logits per classification."""
    exact = raw(GLiNER2.from_pretrained(tiny_checkpoint))
    fast = raw(GLiNER2.from_pretrained(tiny_checkpoint, precision=precision, backend=backend))
    assert len(exact) == len(fast) == len(TEXTS)
    for (s0, c0, k0), (s1, c1, k1) in zip(exact, fast):
        assert c1 == c0 and set(c0) == {"entities", "deal"}
        assert set(k1) == set(k0) == {"sentiment"}
        for name in k0:
            np.testing.assert_allclose(k1[name], k0[name], atol=tol)
        assert set(s1) == set(s0) and s0
        for name in s0:
            finite = np.isfinite(s0[name])
            assert (np.isfinite(s1[name]) == finite).all() and finite.any()
            np.testing.assert_allclose(s1[name][finite], s0[name][finite], atol=tol * 10)


def test_settings_survive_pickling(tiny_checkpoint):
    model = GLiNER2.from_pretrained(tiny_checkpoint, precision="int8", backend="onnx")
    again = pickle.loads(pickle.dumps(model))
    assert (again.precision, again.backend) == ("int8", "onnx")
    assert again.batch_extract(TEXTS, small_schema(), include_confidence=True) == model.batch_extract(
        TEXTS, small_schema(), include_confidence=True
    )


def test_unknown_settings_are_refused(tiny_checkpoint):
    with pytest.raises(ValueError, match="precision"):
        GLiNER2.from_pretrained(tiny_checkpoint, precision="fp8")
    with pytest.raises(ValueError, match="backend"):
        GLiNER2.from_pretrained(tiny_checkpoint, backend="tensorrt")


def test_auto_backend_is_the_lite_runtime_for_bert_and_torch_for_deberta_and_boundary(
    tiny_checkpoint, tiny_deberta_checkpoint, boundary_deberta_checkpoint
):
    for path, precision, want in (
        (tiny_checkpoint, "int8", "onnx"),  # BERT family (the default model's): fused ONNX export
        (tiny_checkpoint, "fp32", "onnx"),
        (tiny_checkpoint, "bf16", "torch"),  # bf16 is a torch setting
        (tiny_deberta_checkpoint, "int8", "torch"),
        (boundary_deberta_checkpoint, "int8", "torch"),
    ):
        model = GLiNER2.from_pretrained(path, precision=precision, backend="auto")
        assert (model.precision, model.backend) == (precision, want), path
    assert model.batch_extract(TEXTS, small_schema())  # it runs


def test_int8_runtime_shares_the_fp32_tensors_and_leaves_them_unchanged(tiny_checkpoint):
    import torch

    from gliner2_udf.checkpoint import load_checkpoint

    model = GLiNER2.from_pretrained(tiny_checkpoint, precision="int8")
    model.batch_extract(TEXTS, small_schema())
    network, runtime = model.network, model._runner.runtime
    fresh, _ = load_checkpoint(tiny_checkpoint)
    for name, tensor in fresh.state_dict().items():
        torch.testing.assert_close(network.state_dict()[name], tensor, atol=0, rtol=0)
    ours = {t.data_ptr() for t in network.parameters()}
    assert all(p.data_ptr() in ours for p in runtime.encoder.parameters())  # no fp32 copies of the encoder
    assert runtime.encoder is not network.encoder


@pytest.mark.parametrize(
    "precision,attention,gelu", [("fp32", "Attention", "BiasGelu"), ("int8", "QAttention", "FastGelu")]
)
def test_exported_bert_encoder_has_fused_attention(tiny_checkpoint, tmp_path, precision, attention, gelu):
    import onnx

    from gliner2_udf.checkpoint import load_checkpoint
    from gliner2_udf.runtime.onnx_export import export

    net, _ = load_checkpoint(tiny_checkpoint)
    path = export(net.encoder, str(tmp_path / "encoder.onnx"), precision)
    ops = [node.op_type for node in onnx.load(path).graph.node]
    assert ops.count(attention) == net.encoder.config.num_hidden_layers
    assert "Softmax" not in ops
    assert ops.count(gelu) == net.encoder.config.num_hidden_layers  # int8: GELU's tanh approximation
    assert "SkipLayerNormalization" not in ops  # slow in ONNX Runtime 1.31's int8 graph (onnx_export._fuse)
    assert not net.encoder.onnx_form  # the export leaves the torch encoder as it was


def test_exported_span_words_are_int8_like_the_encoder(tiny_checkpoint, tmp_path):
    import onnx

    from gliner2_udf.checkpoint import load_checkpoint
    from gliner2_udf.runtime.onnx_export import export_span_words

    net, _ = load_checkpoint(tiny_checkpoint)
    ops = [
        node.op_type
        for node in onnx.load(
            export_span_words(net.span_rep.span_rep_layer, str(tmp_path / "span_words.onnx"), "int8")
        ).graph.node
    ]
    # project_start and project_end (two layers each) and the two halves of out_project's first layer
    assert ops.count("MatMulInteger") == 6 and "MatMul" not in ops


def test_exported_span_queries_are_int8_like_the_encoder(tiny_checkpoint, tmp_path):
    import onnx

    from gliner2_udf.checkpoint import load_checkpoint
    from gliner2_udf.runtime.onnx_export import export_span_queries

    net, _ = load_checkpoint(tiny_checkpoint)
    ops = [
        node.op_type
        for node in onnx.load(
            export_span_queries(
                net.count_embed.projector,
                net.span_rep.span_rep_layer.out_project[-1],
                str(tmp_path / "span_queries.onnx"),
                "int8",
            )
        ).graph.node
    ]
    # the projector's two layers and out_project's last layer folded into the query
    assert ops.count("MatMulInteger") == 3 and "MatMul" not in ops


def test_int8_stores_word_embeddings_in_bf16_and_looks_them_up_within_bf16_rounding():
    import torch

    from gliner2_udf.runtime.precision import Bf16Embedding

    weight = torch.randn(20_000, 48) * torch.linspace(0.01, 10, 20_000)[:, None]
    table = Bf16Embedding(weight)
    assert table.rows.dtype == torch.bfloat16 and table.rows.nelement() == 20_000 * 48
    ids = torch.tensor([[0, 9_999, 19_999], [5, 5, 12_345]])
    got = table(ids)
    assert got.dtype == torch.float32
    assert ((got - weight[ids]).abs() <= weight[ids].abs() * 2**-8).all()  # 8 significant bits: half a step


def test_inference_only_int8_keeps_no_fp32_weights_and_gives_the_same_results(tiny_deberta_checkpoint):
    import torch

    from gliner2_udf.runtime.precision import Bf16Embedding

    kept = GLiNER2.from_pretrained(tiny_deberta_checkpoint, precision="int8")
    lean = GLiNER2.from_pretrained(tiny_deberta_checkpoint, precision="int8", inference_only=True)
    assert lean.network is None
    state = lean._runner.runtime.encoder.state_dict()
    tables = [k for k, t in state.items() if isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.dim() > 1]
    assert tables == ["encoder.rel_embeddings.weight"]  # no fp32 weight matrix and no fp32 word embeddings
    encoder = lean._runner.runtime.encoder
    assert isinstance(encoder.embeddings.word_embeddings, Bf16Embedding)
    assert not any(isinstance(m, torch.nn.Linear) for m in encoder.modules())
    kw = dict(include_confidence=True, include_spans=True)
    same(lean.batch_extract(TEXTS, small_schema(), **kw), kept.batch_extract(TEXTS, small_schema(), **kw), tol=1e-6)
    with pytest.raises(ValueError, match="inference_only"):
        lean.save_pretrained("unused")


SATURATION_PROBE = """
import json, torch
from torch import nn
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
from gliner2_udf.runtime.precision import full_range, int8_linear_mapping

torch.manual_seed(0)
linear = nn.Linear(512, 64)
with torch.no_grad():  # every pair of u8 x s8 products at its largest: activations and weights at the top
    linear.weight.uniform_(0.9, 1.0)
    linear.bias.zero_()
x = torch.rand(16, 512) * 0.1 + 0.9
want = linear(x).detach()
spec = {nn.Linear: per_channel_dynamic_qconfig}
chosen = quantize_dynamic(nn.Sequential(linear), spec, dtype=torch.qint8, mapping=int8_linear_mapping())[0]
packed = chosen._packed_params._packed_params
error = lambda y: ((y - want).abs() / want).max().item()
print(json.dumps(dict(
    full_range=full_range(),
    chosen=error(chosen(x)),
    levels_256=error(torch.ops.quantized.linear_dynamic(x, packed, reduce_range=False)),
)))
"""


@pytest.mark.parametrize("instructions", [None, "AVX2"])
def test_int8_activations_never_saturate(instructions):
    """fbgemm without VNNI (``FBGEMM_ENABLE_INSTRUCTIONS=AVX2`` makes any x86 CPU run those kernels) sums pairs
    of u8 x s8 products into a saturating int16: at 256 activation levels the probe's products come out near
    half their value. The int8 Linear chosen for the machine must give the fp32 product either way."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env.pop("FBGEMM_ENABLE_INSTRUCTIONS", None)
    if instructions:
        env["FBGEMM_ENABLE_INSTRUCTIONS"] = instructions
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", SATURATION_PROBE], env=env, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    probe = json.loads(run.stdout.decode().strip().splitlines()[-1])
    assert probe["chosen"] < 0.01, probe
    if instructions == "AVX2":
        assert not probe["full_range"]
        assert probe["levels_256"] > 0.3, probe  # the probe does reach the saturation it guards against
    elif probe["full_range"]:
        assert probe["levels_256"] < 0.01, probe


def test_int8_uses_all_activation_levels_where_the_cpu_allows():
    """With AVX512-VNNI the int8 Linear rounds activations to 256 levels, not torch's 128: about half the error."""
    import torch
    from torch import nn
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    from gliner2_udf.runtime.precision import DynamicLinear, FullRangeLinear, full_range, int8_linear_mapping

    torch.manual_seed(0)
    linear = nn.Linear(384, 384)
    x = torch.randn(64, 384)
    want = linear(x).detach()
    spec = {nn.Linear: per_channel_dynamic_qconfig}
    chosen = quantize_dynamic(nn.Sequential(linear), spec, dtype=torch.qint8, mapping=int8_linear_mapping())[0]
    torch_default = DynamicLinear(384, 384, dtype=torch.qint8)
    torch_default.set_weight_bias(chosen.weight(), chosen.bias())
    err, err_default = ((m(x) - want).abs().mean().item() for m in (chosen, torch_default))
    assert type(chosen) is (FullRangeLinear if full_range() else DynamicLinear)
    if full_range():
        assert err < 0.7 * err_default, (err, err_default)
    else:
        assert err == err_default
