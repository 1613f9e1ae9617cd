"""Our plain-torch DeBERTa-v2/v3 encoder against transformers' DebertaV2Model on the same weights."""

import copy
import functools
import warnings

import pytest
import torch
from conftest import _tiny_deberta_config

from gliner2_udf import GLiNER2
from gliner2_udf.checkpoint import load_checkpoint
from gliner2_udf.model import deberta


def config(kind: str):
    from transformers import DebertaV2Config

    if kind == "tiny":  # tests/conftest.py's tiny DeBERTa: share_att_key and norm_rel_ebd left at their defaults
        return _tiny_deberta_config(300)
    return DebertaV2Config(  # DeBERTa-v3-xsmall's shape (gliner2.5-small-v1), a small vocabulary
        vocab_size=1000,
        hidden_size=384,
        num_hidden_layers=12,
        num_attention_heads=6,
        intermediate_size=1536,
        relative_attention=True,
        position_buckets=256,
        max_relative_positions=-1,
        pos_att_type=["p2c", "c2p"],
        position_biased_input=False,
        type_vocab_size=0,
        max_position_embeddings=512,
        share_att_key=True,
        norm_rel_ebd="layer_norm",
    )


@functools.cache
def xsmall():
    return _pair("xsmall")


def pair(kind: str):
    """(transformers, ours) with the same random weights; biases and LayerNorms moved off their init values
    (the xsmall pair is built once: tests leave it unchanged)."""
    return xsmall() if kind == "xsmall" else _pair(kind)


def _pair(kind: str):
    from transformers import DebertaV2Model

    torch.manual_seed(0)
    cfg = config(kind)
    theirs = DebertaV2Model(cfg).eval()
    with torch.no_grad():
        for name, t in theirs.named_parameters():
            if name.endswith("bias") or "LayerNorm" in name:
                t.add_(0.1 * torch.randn_like(t))
    with torch.device("meta"):
        ours = deberta.DebertaEncoder(cfg)
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    return theirs, ours.eval()


def batch(vocab: int, lengths: list[int], seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (len(lengths), max(lengths)), generator=g)
    mask = (torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]).long()
    return ids * mask, mask


def hf_twin(encoder):
    from transformers import AutoModel

    twin = AutoModel.from_config(encoder.config)
    twin.load_state_dict(encoder.state_dict(), strict=True)
    return twin.eval()


def int8(module):
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor")
    spec = {torch.nn.Linear: per_channel_dynamic_qconfig}
    return quantize_dynamic(copy.deepcopy(module), spec, dtype=torch.qint8, inplace=True).eval()


def test_same_state_dict_names_as_transformers():
    for kind in ("tiny", "xsmall"):
        theirs, ours = pair(kind)
        assert deberta.supports(theirs.config)
        assert set(ours.state_dict()) == set(theirs.state_dict())
    assert any("pos_key_proj" in k for k in pair("tiny")[1].state_dict())  # share_att_key=False: own projections


@pytest.mark.parametrize(
    "kind,lengths",
    [("tiny", [20, 7, 13]), ("tiny", [600, 300, 41]), ("xsmall", [200, 95, 20])],
)
def test_same_hidden_states_as_transformers(kind, lengths):
    """Lengths across the exact (< 128) and the logarithmic distance buckets, beyond 512 (clamped) for tiny."""
    theirs, ours = pair(kind)
    ids, mask = batch(theirs.config.vocab_size, lengths)
    with torch.inference_mode():
        want = theirs(input_ids=ids, attention_mask=mask).last_hidden_state
        got = ours(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    assert (got[real] - want[real]).abs().max() <= 1e-4
    # each sequence alone (no padding) gives its padded-batch hidden states
    with torch.inference_mode():
        alone = ours(input_ids=ids[-1:, : lengths[-1]], attention_mask=mask[-1:, : lengths[-1]]).last_hidden_state
    torch.testing.assert_close(alone[0], got[-1, : lengths[-1]], atol=1e-4, rtol=1e-4)


def test_long_sequences_in_row_blocks_give_the_same_hidden_states(monkeypatch):
    _, ours = pair("tiny")
    ids, mask = batch(300, [70, 33, 50])
    with torch.inference_mode():
        monkeypatch.setattr(deberta, "BLOCK", 128)  # 70 rows: one product over all of them
        whole = ours(input_ids=ids, attention_mask=mask).last_hidden_state
        monkeypatch.setattr(deberta, "BLOCK", 16)  # 70 rows: blocks of 16, the last one short
        blocked = ours(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    torch.testing.assert_close(blocked[real], whole[real], atol=1e-6, rtol=1e-6)


def test_far_pairs_filled_without_products_give_transformers_hidden_states(monkeypatch):
    """8 distance buckets reaching 16 positions: beyond a few tokens every pair is far (one bucket per side),
    so the blocked bias is mostly filled from one product per query and key, padding keys included."""
    from transformers import DebertaV2Config, DebertaV2Model

    cfg = DebertaV2Config(
        **{**_tiny_deberta_config(300).to_dict(), "position_buckets": 8, "max_relative_positions": 16}
    )
    torch.manual_seed(0)
    theirs = DebertaV2Model(cfg).eval()
    with torch.no_grad():  # attention that the position terms move (random init attends almost uniformly)
        for name, t in theirs.named_parameters():
            if name.endswith(("query_proj.weight", "key_proj.weight")) or "rel_embeddings" in name:
                t.mul_(6.0)
    with torch.device("meta"):
        ours = deberta.DebertaEncoder(cfg)
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    ours.eval()
    (ahead, _), (behind, _) = ours._far()
    assert ahead < 20 and behind < 20
    ids, mask = batch(300, [90, 61, 20])
    monkeypatch.setattr(deberta, "BLOCK", 16)  # blocks of 16 rows: far keys on both sides of most blocks
    with torch.inference_mode():
        want = theirs(input_ids=ids, attention_mask=mask).last_hidden_state
        got = ours(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    assert (got[real] - want[real]).abs().max() <= 1e-5


def test_reference_path_matches_padding_rows_too():
    """With gradients on (training, export) the literal formulation runs: same as transformers everywhere."""
    theirs, ours = pair("tiny")
    ids, mask = batch(300, [40, 25])
    with torch.no_grad():
        want = theirs(input_ids=ids, attention_mask=mask).last_hidden_state
    got = ours(input_ids=ids, attention_mask=mask).last_hidden_state
    assert got.requires_grad
    torch.testing.assert_close(got.detach(), want, atol=1e-5, rtol=1e-5)


def test_length_cache_is_bounded_and_reused():
    _, ours = pair("tiny")
    with torch.inference_mode():
        for t in range(5, 5 + deberta.LENGTH_CACHE + 4):
            ids, mask = batch(300, [t])
            ours(input_ids=ids, attention_mask=mask)
        first = ours._relative(30, torch.device("cpu"))
        assert ours._relative(30, torch.device("cpu"))[0] is first[0]
    assert len(ours._lengths) == deberta.LENGTH_CACHE
    assert (5, "cpu") not in ours._lengths  # least recently used went first
    descending, ascending = first
    assert descending.shape == (59,) and torch.equal(ascending, descending.flip(0))
    assert descending[29] == 256  # distance 0 is the middle row of rel_embeddings


def test_position_projections_follow_weight_changes():
    theirs, ours = pair("tiny")
    ids, mask = batch(300, [30, 12])
    with torch.no_grad():
        for m in (theirs, ours):
            m.encoder.layer[0].attention.self.pos_key_proj.weight.mul_(3.0)
            m.encoder.rel_embeddings.weight.add_(0.5)
        want = theirs(input_ids=ids, attention_mask=mask).last_hidden_state
        got = ours(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    assert (got[real] - want[real]).abs().max() <= 1e-5


def test_int8_quantizes_every_linear_and_stays_close_to_transformers_int8():
    theirs, ours = pair("xsmall")
    q_ours, q_theirs = int8(ours), int8(theirs)
    assert not any(isinstance(m, torch.nn.Linear) for m in q_ours.modules())
    att = q_ours.encoder.layer[0].attention.self
    assert torch.equal(att.pos_key, ours.encoder.layer[0].attention.self.pos_key)  # the fp32 products, kept
    ids, mask = batch(1000, [120, 64])
    with torch.inference_mode():
        fp32 = theirs(input_ids=ids, attention_mask=mask).last_hidden_state
        ours8 = q_ours(input_ids=ids, attention_mask=mask).last_hidden_state
        theirs8 = q_theirs(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    err_ours, err_theirs = (ours8[real] - fp32[real]).abs().mean(), (theirs8[real] - fp32[real]).abs().mean()
    assert err_ours < 0.05 and err_theirs < 0.05
    assert err_ours <= 1.5 * err_theirs  # int8 position projections (theirs) are no better than fp32 ones (ours)
    assert (ours8[real] - theirs8[real]).abs().mean() < 0.05


def test_supports_only_what_is_implemented():
    cfg = config("xsmall")
    assert deberta.supports(cfg)
    for change in (
        {"relative_attention": False},
        {"position_biased_input": True},
        {"position_buckets": -1},
        {"pos_att_type": ["p2c", "c2p", "p2p"]},
        {"hidden_act": "gelu_new"},
        {"conv_kernel_size": 3},
        {"type_vocab_size": 2},
        {"embedding_size": 128},
        {"norm_rel_ebd": "other"},
    ):
        other = copy.deepcopy(cfg)
        for k, v in change.items():
            setattr(other, k, v)
        assert not deberta.supports(other), change
    from transformers import BertConfig

    assert not deberta.supports(BertConfig())


@pytest.mark.parametrize("name", ["tiny_deberta_checkpoint", "boundary_deberta_checkpoint"])
def test_checkpoint_loads_strictly_and_matches_transformers(name, request):
    path = request.getfixturevalue(name)
    net, _ = load_checkpoint(path)
    assert isinstance(net.encoder, deberta.DebertaEncoder)
    twin = hf_twin(net.encoder)
    ids, mask = batch(net.encoder.config.vocab_size, [37, 20, 5])
    with torch.inference_mode():
        got = net.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        want = twin(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    assert (got[real] - want[real]).abs().max() <= 1e-5


TEXTS = [
    "Apple CEO Tim Cook announced the iPhone 15 in Cupertino on Tuesday for $799.",
    "Acme paid 5 usd to tim cook in Berlin, then the deal closed.",
    "Paris.",
]


@pytest.mark.parametrize("name", ["tiny_deberta_checkpoint", "boundary_deberta_checkpoint"])
def test_extract_results_equal_those_with_the_transformers_encoder(name, request):
    path = request.getfixturevalue(name)
    ours = GLiNER2.from_pretrained(path)
    assert isinstance(ours.network.encoder, deberta.DebertaEncoder)
    theirs = GLiNER2.from_pretrained(path)
    theirs.network.encoder = hf_twin(ours.network.encoder)
    assert theirs._runner.runtime.encoder is theirs.network.encoder
    labels = ["person", "company", "location"]
    got = ours.batch_extract_entities(TEXTS, labels, threshold=0.0, include_confidence=True)
    want = theirs.batch_extract_entities(TEXTS, labels, threshold=0.0, include_confidence=True)
    assert _close(got, want)
    assert any(v for r in got for v in r["entities"].values())  # something was extracted to compare


def _close(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return abs(a - b) <= 1e-4
    return a == b


def test_int8_deberta_checkpoint_runs_close_to_fp32(tiny_deberta_checkpoint):
    fp32 = GLiNER2.from_pretrained(tiny_deberta_checkpoint)
    q = GLiNER2.from_pretrained(tiny_deberta_checkpoint, precision="int8")
    encoder = q._runner.runtime.encoder
    assert isinstance(encoder, deberta.DebertaEncoder) and encoder is not q.network.encoder
    assert not any(isinstance(m, torch.nn.Linear) for m in encoder.modules())
    labels = ["person", "company", "location"]
    got = q.batch_extract_entities(TEXTS, labels, threshold=0.0, include_confidence=True)
    want = fp32.batch_extract_entities(TEXTS, labels, threshold=0.0, include_confidence=True)
    scores = lambda r: [e["confidence"] for x in r for v in x["entities"].values() for e in v]  # noqa: E731
    assert scores(want) and len(scores(got)) > 0
    assert abs(sum(scores(got)) / len(scores(got)) - sum(scores(want)) / len(scores(want))) < 0.1


def test_onnx_export_keeps_lengths_dynamic(tmp_path):
    """Tracing takes the literal formulation: the exported graph is right at lengths other than the traced one."""
    ort = pytest.importorskip("onnxruntime")
    from gliner2_udf.runtime.onnx_export import export

    _, ours = pair("tiny")
    session = ort.InferenceSession(export(ours, str(tmp_path / "encoder.onnx"), "fp32"))
    ids, mask = batch(300, [150, 37, 5])  # traced at 2 x 16
    with torch.inference_mode():
        want = ours(input_ids=ids, attention_mask=mask).last_hidden_state
    got = torch.from_numpy(session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0])
    real = mask.bool()
    assert (got[real] - want[real]).abs().max() <= 1e-4
