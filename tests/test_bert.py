"""Our plain-torch BERT encoder against transformers' BertModel on the same weights."""

import os
import subprocess
import sys

import pytest
import torch

from gliner2_udf.checkpoint import load_checkpoint
from gliner2_udf.model import bert


def hf_twin(encoder):
    """transformers' BertModel with the weights of our encoder."""
    from transformers import AutoModel

    twin = AutoModel.from_config(encoder.config, attn_implementation="eager")
    twin.load_state_dict(encoder.state_dict(), strict=True)
    return twin.eval()


@pytest.mark.parametrize("name", ["tiny_checkpoint", "minilm_checkpoint"])
def test_same_hidden_states_as_transformers(name, request):
    net, _ = load_checkpoint(request.getfixturevalue(name))
    assert isinstance(net.encoder, bert.BertEncoder)
    twin = hf_twin(net.encoder)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, net.encoder.config.vocab_size, (3, 37), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 20:] = 0
    mask[2, 5:] = 0
    with torch.no_grad():
        ours = net.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        theirs = twin(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    torch.testing.assert_close(ours[real], theirs[real], atol=1e-5, rtol=1e-5)


def test_trains_like_any_module(tiny_checkpoint):
    net, _ = load_checkpoint(tiny_checkpoint)
    enc = net.encoder.train()
    ids = torch.randint(5, enc.config.vocab_size, (2, 12))
    out = enc(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    out.pow(2).mean().backward()
    grads = [p.grad for p in enc.encoder.layer[0].parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_other_encoders_still_load_through_transformers(tiny_checkpoint, tmp_path):
    """An encoder variant neither ``bert`` nor ``deberta`` implements (here BERT with the tanh GELU) is built
    by transformers, from the same tensors."""
    import json
    import shutil

    from transformers import BertModel

    folder = str(tmp_path / "ckpt")
    shutil.copytree(tiny_checkpoint, folder)
    enc = os.path.join(folder, "encoder_config", "config.json")
    with open(enc) as fh:
        cfg = json.load(fh)
    with open(enc, "w") as fh:
        json.dump({**cfg, "hidden_act": "gelu_new"}, fh)
    net, _ = load_checkpoint(folder)
    assert isinstance(net.encoder, BertModel)


def test_loading_a_bert_checkpoint_imports_no_transformers_modeling_code(tiny_checkpoint):
    code = (
        "import sys; from gliner2_udf.checkpoint import load_checkpoint; load_checkpoint(sys.argv[1]); "
        "print(sorted(m for m in sys.modules if m.startswith('transformers.models.') and 'modeling' in m "
        "and not m.startswith('transformers.models.auto.')))"
    )  # the auto name tables are light
    out = subprocess.run(
        [sys.executable, "-c", code, str(tiny_checkpoint)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        check=True,
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_onnx_form_gives_the_same_hidden_states(tiny_checkpoint):
    """The export's explicit attention with an additive mask computes what the fused kernel does."""
    net, _ = load_checkpoint(tiny_checkpoint)
    ids = torch.randint(5, net.encoder.config.vocab_size, (3, 21), generator=torch.Generator().manual_seed(3))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    with torch.no_grad():
        fused = net.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        net.encoder.onnx_form = True
        explicit = net.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    torch.testing.assert_close(explicit[real], fused[real], atol=1e-5, rtol=1e-5)
