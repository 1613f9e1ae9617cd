"""Relations and records of the boundary architecture.

A relation type has a head and a tail query; its arguments are those queries' own candidates, paired and
scored by ``RelationScorer`` (spec 4.11). ``RecordDecoder`` holds the record (instance formation) head's
parameters, so that checkpoints with ``enable_records`` load; record decoding is not implemented here.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class RecordDecoder(nn.Module):
    """The parameters of the record head (spec 2.3)."""

    def __init__(self, hidden: int, config):
        super().__init__()
        r = config.record_dim
        self.null_embed = nn.Parameter(torch.zeros(r))
        self.instance_embed = nn.Parameter(torch.zeros(config.record_instance_queries, hidden))
        self.inst_proj, self.field_proj, self.cand_proj = (
            nn.Linear(hidden, r),
            nn.Linear(hidden, r),
            nn.Linear(hidden, r),
        )
        self.q_proj, self.k_proj, self.v_proj = nn.Linear(hidden, r), nn.Linear(hidden, r), nn.Linear(hidden, hidden)
        self.object_head, self.latent_seed_head = nn.Linear(hidden, 1), nn.Linear(hidden, 1)


class RelationScorer(nn.Module):
    """The edge logit of a (head span, tail span) pair:
    ``MLP([x_hs, x_he-1, x_ts, x_te-1, r, sign(ts - hs), |ts - hs| / L])`` over word states ``x`` and the
    relation state ``r`` (``L``: the padded word length). With biaffine content, plus
    ``(h . sigmoid(W_g r) . t) / sqrt(H) + w . [h ; t ; r]``, ``h``/``t`` projected mean word states of the spans."""

    def __init__(self, hidden: int, config):
        super().__init__()
        relation = 2 * hidden if config.directional_relation_states else hidden
        self.mlp = nn.Sequential(
            nn.Linear(4 * hidden + relation + 2, hidden), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(hidden, 1)
        )
        if config.relation_biaffine_content:
            self.head_content_projection = nn.Linear(hidden, hidden)
            self.tail_content_projection = nn.Linear(hidden, hidden)
            self.relation_content_gate = nn.Linear(relation, hidden)
            self.content_linear = nn.Linear(2 * hidden + relation, 1)

    def forward(self, words: torch.Tensor, relation: torch.Tensor, pairs, padded_len: int) -> torch.Tensor:
        """Logits ``[K]`` for ``pairs`` (as ``propose_relation_pairs`` returns) over ``words`` ``[L, H]``."""
        spans = torch.tensor([[*h, *t] for h, t, _, _ in pairs])  # [K, 4]: hs, he, ts, te
        hs, he, ts, te = spans.unbind(-1)
        distance = (ts - hs).float()
        r = relation.expand(len(pairs), -1)
        features = [words[hs], words[he - 1], words[ts], words[te - 1], r]
        features += [distance.sign()[:, None], (distance.abs() / padded_len)[:, None]]
        logits = self.mlp(torch.cat(features, dim=-1)).squeeze(-1)
        if hasattr(self, "head_content_projection"):
            prefix = nn.functional.pad(words.cumsum(0), (0, 0, 1, 0))

            def mean(s, e):
                return (prefix[e] - prefix[s]) / (e - s).clamp(min=1)[:, None].float()

            head = self.head_content_projection(mean(hs, he))
            tail = self.tail_content_projection(mean(ts, te))
            gate = torch.sigmoid(self.relation_content_gate(r))
            logits = logits + (head * gate * tail).sum(-1) / math.sqrt(words.shape[-1])
            logits = logits + self.content_linear(torch.cat([head, tail, r], dim=-1)).squeeze(-1)
        return logits


def relation_arguments(out, query: int, threshold: float, keep: int):
    """A query's valid candidates with ``sigmoid(logit) >= threshold``, best first (ties: start, end, slot)."""
    probs = torch.sigmoid(out.pair_logits[0, query])
    spans, valid = out.spans[0, query].tolist(), out.valid[0, query].tolist()
    items = [
        (p, s, e, c) for c, (p, (s, e), ok) in enumerate(zip(probs.tolist(), spans, valid)) if ok and p >= threshold
    ]
    items.sort(key=lambda item: (-item[0], item[1], item[2], item[3]))
    return [(probs[c], (s, e)) for _, s, e, c in items[:keep]]


def propose_relation_pairs(out, head_query: int, tail_query: int, config):
    """Head x tail argument pairs with different spans, ranked by ``p_head * p_tail`` (ties: head rank, then
    tail rank), at most ``relation_pair_cap``: ``[(head span, tail span, p_head, p_tail)]``."""
    threshold = config.relation_argument_proposal_threshold
    heads = relation_arguments(out, head_query, threshold, config.relation_heads_per_type)
    tails = relation_arguments(out, tail_query, threshold, config.relation_tails_per_type)
    pairs = [(h, t, ph, pt) for ph, h in heads for pt, t in tails if h != t]
    if not pairs:
        return []
    products = torch.stack([ph * pt for _, _, ph, pt in pairs])
    order = torch.argsort(products, descending=True, stable=True)[: config.relation_pair_cap]
    return [(pairs[i][0], pairs[i][1], float(pairs[i][2]), float(pairs[i][3])) for i in order.tolist()]
