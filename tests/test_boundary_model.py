"""The boundary network's numeric core against the reference (``gliner2==2.1.0``, a test-only oracle).

The reference encodes a batch (two texts of different lengths, the schema of the boundary spec's section 9.1);
our ``BoundaryNetwork``, loaded strictly from the same ``model.safetensors``, scores the reference's encoder
states. Candidate sets and their order must be identical, logits within 1e-5.
"""

import json
import os

import pytest
import torch
from schemas import boundary_spec_schema

from gliner2_udf.errors import CheckpointError
from gliner2_udf.model.boundary import MASK, BoundaryConfig, BoundaryNetwork, BoundaryOutput

TEXTS = [
    "Apple CEO Tim Cook announced the iPhone 15 in Cupertino on Tuesday for $799.",
    "Satya Nadella leads Microsoft, which is based in Redmond and sells Azure cloud services",
]
TOL = 1e-5
ALL_FLAGS = {
    "boundary_attention_layers": 1,
    "boundary_attention_window": 2,
    "enable_rotary_endpoints": True,
    "enable_span_content": True,
    "content_soft_max_pool": True,
    "query_conditioned_inside_weight": True,
    "endpoint_difference_features": True,
    "directional_relation_states": True,
    "relation_biaffine_content": True,
    "boundary_top_k_alpha": 1.0,  # length-adaptive top-k: 32 starts and ends, capped by the boundary count
}
ALL_FLAGS_SHARED = dict(
    ALL_FLAGS, candidate_pool="shared", pool_size=96, candidate_attention_layers=2, query_attention_layers=1
)


def _schema(model):
    return boundary_spec_schema(model.create_schema())


class Parity:
    """The reference's tensors and ours for one checkpoint folder."""

    def __init__(self, path):
        from gliner2 import AutoExtractor
        from gliner2.training.trainer import ExtractorCollator
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel

        torch.manual_seed(0)
        self.ref = AutoExtractor.from_pretrained(path).eval()
        schemas, _ = self.ref._build_schema_dicts_and_metadata([_schema(self.ref)] * len(TEXTS))
        collate = ExtractorCollator(self.ref.processor, is_training=False, architecture="boundary")
        self.batch = collate(list(zip(TEXTS, schemas)))
        with torch.no_grad():
            self.core = self.ref._encode_core(self.batch)
            c = self.core
            self.expected = self.ref.boundary_head(c["text_states"], c["text_mask"], c["query_states"], c["query_mask"])
        with open(os.path.join(path, "config.json")) as fh:
            config = BoundaryConfig.from_config_json(json.load(fh))
        encoder = AutoModel.from_config(AutoConfig.from_pretrained(os.path.join(path, "encoder_config")))
        self.net = BoundaryNetwork(encoder, config)
        self.net.load_state_dict(load_file(os.path.join(path, "model.safetensors")), strict=True)
        self.net.eval()
        with torch.no_grad():
            self.out = self.net.score(c["text_states"], c["text_mask"], c["query_states"], c["query_mask"])

    def candidates(self) -> float:
        """Asserts identical candidates; returns the largest pair logit difference."""
        want = self.expected.candidates
        valid = want.valid_mask
        assert torch.equal(self.out.valid, valid)
        assert torch.equal(self.out.spans[valid], want.indices[valid].long())
        assert self.out.spans.shape == want.indices.shape
        got, ref = self.out.pair_logits, want.pair_logits
        assert torch.equal(got <= MASK / 2, ref <= MASK / 2)
        return float((got - ref)[valid].abs().max())

    def gates(self) -> float:
        mask = self.core["query_mask"]
        null = (self.out.null_logits - self.expected.null_logits)[mask].abs().max()
        count = (self.out.count_log_rates - self.expected.count_log_rates)[mask].abs().max()
        return float(max(null, count))

    def classification(self) -> float:
        worst = 0.0
        for specs in self.core["cls_specs"]:
            for spec in specs:
                with torch.no_grad():
                    want = self.ref.classifier(spec["choice_states"]).squeeze(-1)
                    want = want / self.ref.boundary_settings.classification_temperature
                    got = self.net.classify(spec["choice_states"][None])[0]
                assert torch.equal(got.argmax(), want.argmax())
                worst = max(worst, float((got - want).abs().max()))
        return worst

    def relations(self) -> float:
        """Pairs proposed from the reference's candidates must come in the same order (from ours, products of
        probabilities an ulp apart may swap near-ties, so only the same set); edge logits within 1e-5."""
        from gliner2.models.base import QueryLayout

        worst, total, c, cands = 0.0, 0, self.core, self.expected.candidates
        for i, specs in enumerate(c["rel_specs"]):
            theirs_out = BoundaryOutput(
                cands.indices[i : i + 1].long(), cands.valid_mask[i : i + 1], cands.pair_logits[i : i + 1], None, None
            )
            with torch.no_grad():
                one = self.ref._single_sample_candidates(cands, i)
                pairs = self.ref.relation_pair_generator.generate(
                    one, [QueryLayout(queries=())], [e["spec"] for e in specs]
                )
                states = torch.stack([e["query_state"] for e in specs])[None]
                want = self.ref.relation_scorer(c["text_states"][i : i + 1], states, one, pairs).reshape(-1)
            for r, entry in enumerate(specs):
                head_q, tail_q = entry["spec"].head_query_ids[0], entry["spec"].tail_query_ids[0]
                state = self.net.relation_state(c["query_states"][i, head_q], c["query_states"][i, tail_q])
                keep = pairs.pair_mask & (pairs.relation_index == r)  # compact: one flat list of pairs
                heads = zip(pairs.head_start[keep].tolist(), pairs.head_end[keep].tolist())
                theirs = list(zip(heads, zip(pairs.tail_start[keep].tolist(), pairs.tail_end[keep].tolist())))
                args = (c["text_states"][i : i + 1], theirs_out, head_q, tail_q, state, c["text_states"].shape[1])
                with torch.no_grad():
                    ours, logits = self.net.relation_pairs(*args)
                    mine, _ = self.net.relation_pairs(args[0], self._sample(i), *args[2:])
                assert [(h, t) for h, t, _, _ in ours] == theirs
                assert sorted((h, t) for h, t, _, _ in mine) == sorted(theirs)
                assert torch.allclose(torch.tensor([p for _, _, p, _ in ours]), pairs.head_prob[keep], atol=TOL)
                total += len(ours)
                if ours:
                    worst = max(worst, float((logits - want[keep]).abs().max()))
        assert total > 0
        return worst

    def explicit_spans(self) -> float:
        """A query's explicit spans: the choice words, its own best candidates and some illegal spans."""
        c, worst = self.core, 0.0
        encoded = self.ref.encode(self.batch)
        for i in range(len(TEXTS)):
            n = int(c["text_mask"][i].sum())
            spans = torch.tensor([[0, 1], [3, 5], [n - 2, n], [4, 4], [2, n + 1], [n - 1, n], [1, 9]])
            for query in (1, 3):
                index = torch.zeros(len(TEXTS), c["query_states"].shape[1], len(spans), 2, dtype=torch.long)
                index[i, query] = spans
                mask = torch.zeros(index.shape[:3], dtype=torch.bool)
                mask[i, query] = True
                with torch.no_grad():
                    want = self.ref.score_explicit_spans(encoded, index, mask)[i, query]
                    one = self._sample(i, states=True)
                    got = self.net.score_spans(*one, query, spans)
                legal = want > MASK / 2
                assert torch.equal(legal, got > MASK / 2)
                assert not legal.all() and legal.any()
                worst = max(worst, float((got - want)[legal].abs().max()))
        return worst

    def _sample(self, i, states=False):
        c = self.core
        args = (c["text_states"][i : i + 1], c["text_mask"][i : i + 1], c["query_states"][i : i + 1])
        args = args + (c["query_mask"][i : i + 1],)
        if states:
            return args
        with torch.no_grad():
            return self.net.score(*args)


_CACHE = {}


def _parity(path):
    if path not in _CACHE:
        _CACHE[path] = Parity(path)
    return _CACHE[path]


@pytest.fixture(scope="module")
def flag_checkpoints(tmp_path_factory):
    from conftest import _tiny_bert_config, _tiny_tokenizer, save_boundary_oracle

    out = {}
    for name, head in (("per_query", ALL_FLAGS), ("shared", ALL_FLAGS_SHARED)):
        base = tmp_path_factory.mktemp(f"boundary_flags_{name}")
        tok = _tiny_tokenizer(str(base / "enc"))
        out[name] = save_boundary_oracle(
            _tiny_bert_config(len(tok)), tok, str(base / "enc"), str(base / "ckpt"), head, seed=2
        )
    return out


@pytest.fixture(params=["per_query", "shared", "deberta", "flags_per_query", "flags_shared"])
def parity(request, flag_checkpoints):
    name = request.param
    if name.startswith("flags_"):
        return _parity(flag_checkpoints[name[len("flags_") :]])
    fixture = {"per_query": "boundary_checkpoint", "shared": "boundary_shared_checkpoint"}.get(
        name, "boundary_deberta_checkpoint"
    )
    return _parity(request.getfixturevalue(fixture))


def test_candidates_and_pair_logits_match_the_reference(parity):
    assert parity.out.valid.any()
    assert parity.candidates() < TOL


def test_abstention_count_and_classification_match(parity):
    assert parity.gates() < TOL
    assert parity.classification() < TOL


def test_relation_pairs_match(parity):
    assert parity.relations() < TOL


def test_explicit_spans_match(parity):
    assert parity.explicit_spans() < TOL


def test_forward_gathers_the_same_states(boundary_checkpoint):
    p = _parity(boundary_checkpoint)
    b = p.batch
    word_pos = b.text_word_indices if hasattr(b, "text_word_indices") else None
    assert word_pos is not None
    out = p.net(
        b.input_ids,
        b.attention_mask,
        word_pos.clamp(min=0),
        b.text_word_mask.bool(),
        b.query_marker_indices.clamp(min=0),
        b.query_marker_mask.bool(),
        b.cls_marker_indices.clamp(min=0),
    )
    with torch.no_grad():
        assert torch.allclose(out.words, p.core["text_states"], atol=TOL)
        assert torch.allclose(out.queries, p.core["query_states"], atol=TOL)
        assert torch.equal(out.spans, p.out.spans)
        for i, specs in enumerate(p.core["cls_specs"]):
            labels = specs[0]["choice_states"].shape[0]
            want = p.net.classify(specs[0]["choice_states"][None])[0]
            assert torch.allclose(out.class_logits[i, :labels], want, atol=TOL)


def test_shared_pool_rejects_more_explicit_spans_than_it_holds(boundary_shared_checkpoint):
    p = _parity(boundary_shared_checkpoint)
    n = int(p.core["text_mask"][0].sum())
    spans = torch.tensor([[s, e] for s in range(n) for e in range(s + 1, n + 1)])
    assert len(spans) > p.net.config.pool_size
    with pytest.raises(ValueError, match="pool"):
        p.net.score_spans(*p._sample(0, states=True), 3, spans)


def test_config_round_trips_and_migrates():
    config = BoundaryConfig.from_config_json({"config_version": 3, "boundary_head": {"pool_size": "192", "x": 1}})
    assert config.pool_size == 192 and config.enable_records and config.enable_relations
    assert BoundaryConfig.from_config_json({"config_version": 3, "boundary_head": config.to_dict()}) == config
    assert len(config.to_dict()) == 83
    old = BoundaryConfig.from_config_json({"boundary_head": {}})
    assert not old.enable_records and not old.enable_relations
    kept = BoundaryConfig.from_config_json({"config_version": 2, "boundary_head": {"enable_relations": True}})
    assert kept.enable_relations and not kept.enable_records


@pytest.mark.parametrize(
    "field, value",
    [
        ("pair_dim", "wide"),
        ("multihead_pair_compat_heads", 5),
        ("overlap_policy", "greedy"),
        ("abstention_threshold", 1.5),
        ("enable_span_content", "maybe"),
        ("candidate_budget", 200),
    ],
)
def test_bad_boundary_head_value_names_the_field(field, value):
    expected = "training_candidate_budget" if field == "candidate_budget" else field
    with pytest.raises(CheckpointError, match=f"boundary_head.{expected}"):
        BoundaryConfig.from_config_json({"config_version": 3, "boundary_head": {field: value}})
