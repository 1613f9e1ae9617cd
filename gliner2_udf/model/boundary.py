"""The GLiNER2.5 "boundary" architecture: spans as pairs of word boundaries, proposed sparsely, then reranked.

After the encoder (one pass over schema prompt and text, as in ``span``), per document:

1. boundary states: the ``L + 1`` gaps between words (BOS/EOS at the ends), each built from its left and
   right word, layer-normed and refined (optional local self-attention, SwiGLU blocks);
2. per query (a child marker: an entity label, a structure field, a relation's head or tail), start and
   end scores over boundaries and inside scores over words;
3. candidates ``[s, e)``: per query, the best starts paired with their best ends (and the reverse),
   ``candidate_budget`` kept; or (``candidate_pool = "shared"``) one pool per document (``boundary_pool``);
4. a reranker logit per (query, candidate): endpoint compatibility, the marginals, inside evidence, length
   and (optional) span content;
5. per query an abstention logit and a count log-rate; the classifier scores each ``[L]`` marker.

Relations (``boundary_relations``) pair the candidates of a relation's head and tail queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .boundary_config import BoundaryConfig
from .boundary_pool import (
    MASK,
    ContentPooler,
    SharedPoolBuilder,
    SharedPoolScorer,
    dedupe_and_rank,
    inside_prefix,
    inside_sum,
    length_features,
    take,
    take_per_query,
)
from .boundary_relations import RecordDecoder, RelationScorer, propose_relation_pairs
from .span import gather

__all__ = ["MASK", "BoundaryConfig", "BoundaryNetwork", "BoundaryOutput"]


@dataclass
class BoundaryOutput:
    """Scores of one batch. ``spans`` ``[B, Q, C, 2]``: half-open word boundaries (invalid slots ``(0, 0)``)."""

    spans: torch.Tensor
    valid: torch.Tensor  # [B, Q, C]
    pair_logits: torch.Tensor  # [B, Q, C], before pair_temperature
    null_logits: torch.Tensor  # [B, Q]
    count_log_rates: torch.Tensor  # [B, Q]
    class_logits: torch.Tensor | None = None  # [B, C_labels], after classification_temperature
    words: torch.Tensor | None = None  # [B, L, H]
    queries: torch.Tensor | None = None  # [B, Q, H]


def rotate(x: torch.Tensor, base: float) -> torch.Tensor:
    """Rotary position of each row ``i`` of ``x`` ``[B, N, D]``: channel pairs ``(2t, 2t+1)`` turned by
    ``i * base^(-2t/D)``."""
    n, dim = x.shape[-2:]
    angle = torch.arange(n, dtype=torch.float32)[:, None] * base ** (
        -torch.arange(0, dim, 2, dtype=torch.float32) / dim
    )
    cos, sin = angle.cos(), angle.sin()
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).flatten(-2)


def query_gate(linear: nn.Linear, queries: torch.Tensor, rotary: bool) -> torch.Tensor:
    """``sigmoid(W q)``; with rotary endpoints the gate has half the outputs, each used twice in place."""
    gate = torch.sigmoid(linear(queries))
    return gate.repeat_interleave(2, dim=-1) if rotary else gate


class AttentionBlock(nn.Module):
    """Pre-norm self-attention over boundaries: valid keys within ``window`` (0: all), the diagonal always."""

    def __init__(self, dim: int, heads: int, window: int):
        super().__init__()
        self.heads, self.window = heads, window
        self.norm = nn.LayerNorm(dim)
        self.qkv_projection = nn.Linear(dim, 3 * dim)
        self.output_projection = nn.Linear(dim, dim)

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, d = z.shape
        q, k, v = self.qkv_projection(self.norm(z)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        allowed = mask[:, None, :].expand(b, n, n)
        if self.window:
            pos = torch.arange(n)
            allowed = allowed & ((pos[:, None] - pos[None, :]).abs() <= self.window)
        allowed = allowed | torch.eye(n, dtype=torch.bool)
        logits = (q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)).masked_fill(~allowed[:, None], MASK)
        out = (logits.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        return (z + self.output_projection(out)) * mask[..., None]


class RefinementBlock(nn.Module):
    """SwiGLU: ``z + W_out(a * silu(g))`` with ``[a ; g] = W_in LN(z)``."""

    def __init__(self, dim: int, multiplier: float):
        super().__init__()
        inner = int(dim * multiplier)
        self.norm = nn.LayerNorm(dim)
        self.input_projection = nn.Linear(dim, 2 * inner)
        self.output_projection = nn.Linear(inner, dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        value, gate = self.input_projection(self.norm(z)).chunk(2, dim=-1)
        return z + self.output_projection(value * nn.functional.silu(gate))


class BoundaryEncoder(nn.Module):
    """Boundary ``i`` (between words ``i - 1`` and ``i``): ``LN(W_out [W_l left_i ; W_r right_i])``, where
    the left of boundary 0 is a learned BOS state and the right of boundary ``n`` a learned EOS state."""

    def __init__(self, hidden: int, config: BoundaryConfig):
        super().__init__()
        d = config.boundary_dim
        self.bos_state, self.eos_state = nn.Parameter(torch.zeros(hidden)), nn.Parameter(torch.zeros(hidden))
        self.left_projection, self.right_projection = nn.Linear(hidden, d), nn.Linear(hidden, d)
        self.output_projection = nn.Linear(2 * d, d)
        self.layer_norm = nn.LayerNorm(d)
        heads, window = config.boundary_attention_heads, config.boundary_attention_window
        self.attention_blocks = nn.ModuleList(
            AttentionBlock(d, heads, window) for _ in range(config.boundary_attention_layers)
        )
        self.refinement_blocks = nn.ModuleList(
            RefinementBlock(d, config.boundary_ffn_multiplier) for _ in range(config.boundary_refinement_layers)
        )

    def forward(self, words: torch.Tensor, n_words: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Boundary states ``[B, L+1, d]`` and their mask (``i <= n``)."""
        b, length, h = words.shape
        left = torch.cat([self.bos_state.expand(b, 1, h), words], dim=1)
        right = torch.cat([words, words.new_zeros(b, 1, h)], dim=1)
        position = torch.arange(length + 1)
        right = torch.where((position[None, :] == n_words[:, None])[..., None], self.eos_state, right)
        mask = position[None, :] <= n_words[:, None]
        z = self.layer_norm(
            self.output_projection(torch.cat([self.left_projection(left), self.right_projection(right)], -1))
        )
        for block in self.attention_blocks:
            z = block(z, mask)
        for block in self.refinement_blocks:
            z = block(z)
        return z * mask[..., None], mask


class BoundaryQueryHead(nn.Module):
    """Per-query marginals, scaled by ``1/sqrt(d)``: start ``S`` and end ``E`` over boundaries, inside ``I``
    over words; ``MASK`` where the boundary, word or query is invalid."""

    def __init__(self, hidden: int, dim: int):
        super().__init__()
        self.start_boundary_projection, self.end_boundary_projection = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.start_query_projection, self.end_query_projection = nn.Linear(hidden, dim), nn.Linear(hidden, dim)
        self.inside_text_projection, self.inside_query_projection = nn.Linear(hidden, dim), nn.Linear(hidden, dim)

    def forward(self, z, boundary_mask, words, word_mask, queries, query_mask):
        scale = math.sqrt(z.shape[-1])

        def score(keys, key_mask, key_proj, query_proj):
            logits = query_proj(queries) @ key_proj(keys).transpose(1, 2) / scale
            return logits.masked_fill(~(query_mask[..., None] & key_mask[:, None, :]), MASK)

        starts = score(z, boundary_mask, self.start_boundary_projection, self.start_query_projection)
        ends = score(z, boundary_mask, self.end_boundary_projection, self.end_query_projection)
        inside = score(words, word_mask, self.inside_text_projection, self.inside_query_projection)
        return starts, ends, inside


class BoundaryProposer(nn.Module):
    """The proposal compatibility ``((A_s * g_q) . K_e) / sqrt(d)`` with ``A = W_sp z``, ``K = W_ek z`` (rotated
    by boundary index with rotary endpoints) and the gate ``g_q = sigmoid(W_g q)``."""

    def __init__(self, hidden: int, config: BoundaryConfig):
        super().__init__()
        d = config.boundary_dim
        self.rotary_base = config.rotary_base if config.enable_rotary_endpoints else None
        self.start_pair_projection, self.end_key_projection = nn.Linear(d, d), nn.Linear(d, d)
        self.start_query_projection = nn.Linear(hidden, d // 2 if self.rotary_base else d)

    def project(self, z: torch.Tensor, queries: torch.Tensor):
        a, k = self.start_pair_projection(z), self.end_key_projection(z)
        if self.rotary_base:
            a, k = rotate(a, self.rotary_base), rotate(k, self.rotary_base)
        return a, k, query_gate(self.start_query_projection, queries, bool(self.rotary_base))

    @staticmethod
    def compat(a, k, gate, s, e):
        """At spans ``s``/``e`` ``[B, Q, C]``."""
        return (take(a, s) * gate[:, :, None] * take(k, e)).sum(-1) / math.sqrt(a.shape[-1])


class PairScorer(nn.Module):
    """The per-query reranker (spec 4.4): ``compat_mix`` of ``hc`` chunked products ``u_s * gamma_q * v_e``
    over ``sqrt(P)``, [endpoint differences], ``S + E + prior``, [span content], the weighted inside sum over
    ``sqrt(l)``, and length features dotted with ``W_len q``."""

    def __init__(self, hidden: int, config: BoundaryConfig):
        super().__init__()
        d, p = config.boundary_dim, config.pair_dim
        self.config = config
        self.rotary_base = config.rotary_base if config.enable_rotary_endpoints else None
        if config.query_conditioned_inside_weight:
            self.inside_weight = nn.Linear(hidden, 1)
        else:
            self.inside_weight = nn.Parameter(torch.tensor(1.0))
        self.start_endpoint_projection, self.end_endpoint_projection = nn.Linear(d, p), nn.Linear(d, p)
        self.query_gate = nn.Linear(hidden, p // 2 if self.rotary_base else p)
        self.length_query_projection = nn.Linear(hidden, 3)
        self.compat_mix = nn.Linear(config.multihead_pair_compat_heads, 1)
        if config.endpoint_difference_features:
            self.endpoint_difference_projection = nn.Linear(2 * p, 1)
        if config.enable_span_content:
            self.content_pooler = ContentPooler(hidden, config.content_dim, config.content_soft_max_pool)
            width = self.content_pooler.layer_norm.normalized_shape[0]
            self.content_query_projection = nn.Linear(hidden, width)
            self.content_bias = nn.Linear(width, 1)

    def forward(self, z, words, word_mask, n_words, queries, query_mask, marginals, spans, valid, prior):
        starts, ends, inside = marginals
        s, e = spans[..., 0], spans[..., 1]
        u, v = self.start_endpoint_projection(z), self.end_endpoint_projection(z)
        if self.rotary_base:
            u, v = rotate(u, self.rotary_base), rotate(v, self.rotary_base)
        us, ve = take(u, s), take(v, e)
        logits = torch.zeros_like(prior)
        if self.config.reranker_endpoint_compat:
            product = us * query_gate(self.query_gate, queries, bool(self.rotary_base))[:, :, None] * ve
            heads = product.view(*product.shape[:-1], self.compat_mix.in_features, -1).sum(-1)
            logits = logits + self.compat_mix(heads).squeeze(-1) / math.sqrt(u.shape[-1])
        if hasattr(self, "endpoint_difference_projection"):
            diff = us - ve
            logits = logits + self.endpoint_difference_projection(torch.cat([diff, diff.abs()], -1)).squeeze(-1)
        logits = logits + take_per_query(starts, s) + take_per_query(ends, e) + prior
        if hasattr(self, "content_pooler"):
            content = self.content_pooler(self.content_pooler.prefixes(words, word_mask), s, e)
            query = self.content_query_projection(queries)[:, :, None]
            logits = logits + (content * query).sum(-1) / math.sqrt(content.shape[-1])
            logits = logits + self.content_bias(content).squeeze(-1)
        if self.config.use_inside_evidence:
            weight = self.inside_weight
            weight = weight(queries) if isinstance(weight, nn.Linear) else weight.view(1, 1, 1)
            logits = logits + weight * inside_sum(inside, s, e) / (e - s).clamp(min=1).float().sqrt()
        coefficients = self.length_query_projection(queries)[:, :, None]
        logits = logits + (length_features(s, e, n_words) * coefficients).sum(-1)
        return logits.masked_fill(~valid, MASK)


class BoundaryHead(nn.Module):
    """The span machinery under ``boundary_head.*``; both pool modes' parameters always exist."""

    def __init__(self, hidden: int, config: BoundaryConfig):
        super().__init__()
        d = config.boundary_dim
        self.boundary_encoder = BoundaryEncoder(hidden, config)
        self.boundary_query_head = BoundaryQueryHead(hidden, d)
        self.boundary_proposer = BoundaryProposer(hidden, config)
        self.pair_scorer = PairScorer(hidden, config)
        self.null_projection, self.count_head = nn.Linear(hidden, 1), nn.Linear(hidden, 1)
        if config.enable_records:
            self.candidate_encoder = nn.Linear(2 * d, hidden)
        self.shared_pool_builder = SharedPoolBuilder(d)
        self.shared_pool_scorer = SharedPoolScorer(config, hidden)


class BoundaryNetwork(nn.Module):
    architecture = "boundary"

    def __init__(self, encoder: nn.Module, config: BoundaryConfig):
        super().__init__()
        hidden = encoder.config.hidden_size
        self.config = config
        self.encoder = encoder
        self.classifier = nn.Sequential(
            nn.Linear(hidden, 2 * hidden), nn.ReLU(), nn.Dropout(config.dropout), nn.Linear(2 * hidden, 1)
        )
        self.boundary_head = BoundaryHead(hidden, config)
        if config.enable_records:
            self.record_decoder = RecordDecoder(hidden, config)
        if config.enable_relations:
            self.relation_scorer = RelationScorer(hidden, config)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def forward(self, input_ids, attention_mask, word_pos, word_mask, query_pos, query_mask, label_pos):
        """One pass over a batch: positions of words ``[B, L]``, child markers ``[B, Q]`` and ``[L]`` markers
        ``[B, C]`` in the encoded sequence (spec section 3)."""
        states = self.encode(input_ids, attention_mask)
        words = gather(states, word_pos) * word_mask[..., None]
        queries = gather(states, query_pos) * query_mask[..., None]
        out = self.score(words, word_mask, queries, query_mask)
        out.class_logits = self.classify(gather(states, label_pos))
        out.words, out.queries = words, queries
        return out

    def classify(self, label_states: torch.Tensor) -> torch.Tensor:
        return self.classifier(label_states).squeeze(-1) / self.config.classification_temperature

    def _marginals(self, words, word_mask, queries, query_mask):
        head = self.boundary_head
        n_words = word_mask.sum(-1)
        z, boundary_mask = head.boundary_encoder(words, n_words)
        starts, ends, inside = head.boundary_query_head(z, boundary_mask, words, word_mask, queries, query_mask)
        return z, boundary_mask, n_words, (starts, ends, inside_prefix(inside, word_mask))

    def score(self, words, word_mask, queries, query_mask) -> BoundaryOutput:
        """Candidates and their logits (spec 4.1-4.7, 4.9)."""
        head, config = self.boundary_head, self.config
        if queries.shape[1] == 0:  # a schema of classifications only: no span query
            b = queries.shape[0]
            none = queries.new_zeros((b, 0))
            return BoundaryOutput(
                none.new_zeros((b, 0, 0, 2), dtype=torch.long),
                none.new_zeros((b, 0, 0), dtype=torch.bool),
                none.new_zeros((b, 0, 0)),
                none,
                none,
            )
        z, boundary_mask, n_words, marginals = self._marginals(words, word_mask, queries, query_mask)
        common = (z, words, word_mask, n_words, queries, query_mask, marginals)
        if config.candidate_pool == "shared":
            pool = self._pool(z, boundary_mask, marginals, query_mask)
            logits = head.shared_pool_scorer(*common, pool)
            q = queries.shape[1]
            spans = pool[0][:, None].expand(-1, q, -1, -1)
            valid = pool[1][:, None, :] & query_mask[..., None]
        else:
            spans, valid = self._propose(z, boundary_mask, queries, marginals)
            a, k, gate = head.boundary_proposer.project(z, queries)
            prior = torch.where(valid, head.boundary_proposer.compat(a, k, gate, spans[..., 0], spans[..., 1]), 0.0)
            logits = head.pair_scorer(*common, spans, valid, prior)
        return BoundaryOutput(
            spans=spans,
            valid=valid,
            pair_logits=logits,
            null_logits=head.null_projection(queries).squeeze(-1),
            count_log_rates=head.count_head(queries).squeeze(-1),
        )

    def _pool(self, z, boundary_mask, marginals, query_mask, injected=None):
        c = self.config
        return self.boundary_head.shared_pool_builder(
            z,
            boundary_mask,
            marginals[0],
            marginals[1],
            query_mask,
            c.pool_boundary_top_k,
            c.min_pool_per_query,
            c.pool_size,
            injected,
        )

    def _top_k(self, base: int, n: int) -> int:
        """How many starts (ends) to keep; with ``boundary_top_k_alpha`` it grows with the padded length."""
        c = self.config
        if c.boundary_top_k_alpha > 0:
            grown = max(base, min(math.ceil(c.boundary_top_k_alpha * (n - 1)), c.boundary_top_k_max))
            base = min(c.boundary_top_k_max, math.ceil(grown / c.boundary_top_k_bucket) * c.boundary_top_k_bucket)
        return min(base, n)

    def _propose(self, z, boundary_mask, queries, marginals):
        """Per-query sparse proposal (spec 4.3): each query's best starts paired with their best ends by
        ``compat + E + S`` and (bidirectional) its best ends with their best starts; pairs scoring above
        ``MASK``, deduplicated, ranked by score then ``s * N + e``. Returns spans ``[B, Q, C, 2]``, validity."""
        c = self.config
        starts, ends, _ = marginals
        b, n = boundary_mask.shape
        a, k, gate = self.boundary_head.boundary_proposer.project(z, queries)
        position = torch.arange(n)
        # anchor marginal, partner marginal, anchor and partner vectors, anchors kept, partners kept per anchor
        directions = [(starts, ends, a, k, c.start_top_k, c.ends_per_start)]
        if c.bidirectional_proposals:
            directions.append((ends, starts, k, a, c.end_top_k, c.starts_per_end))
        keys, scores, valid = [], [], []
        for forward, (anchor_scores, partner_scores, anchor, partner, top_k, per_anchor) in zip(
            (True, False), directions
        ):
            top = torch.argsort(anchor_scores, dim=-1, descending=True, stable=True)[..., : self._top_k(top_k, n)]
            live = boundary_mask.gather(1, top.reshape(b, -1)).view(top.shape)
            score = (take(anchor, top) * gate[:, :, None]) @ partner[:, None].transpose(-1, -2) / math.sqrt(a.shape[-1])
            score = score + partner_scores[:, :, None, :] + take_per_query(anchor_scores, top)[..., None]
            ordered = position > top[..., None] if forward else position < top[..., None]
            score = score.masked_fill(~(live[..., None] & boundary_mask[:, None, None, :] & ordered), MASK)
            partners = torch.argsort(score, dim=-1, descending=True, stable=True)[..., :per_anchor]
            best = score.gather(-1, partners)
            anchors = top[..., None].expand_as(partners)
            s, e = (anchors, partners) if forward else (partners, anchors)
            keys.append((s * n + e).flatten(2))
            scores.append(best.flatten(2))
            valid.append(best.flatten(2) > MASK)  # only pairs above the sentinel survive the running top-k
        keys, _, valid = dedupe_and_rank(
            torch.cat(keys, -1), torch.cat(scores, -1), torch.cat(valid, -1), c.candidate_budget
        )
        return torch.stack([keys // n, keys % n], dim=-1), valid

    def score_spans(self, words, word_mask, queries, query_mask, query: int, spans: torch.Tensor) -> torch.Tensor:
        """Logits ``[K]`` of explicit spans ``[K, 2]`` for query ``query`` of a batch of one (spec 4.8);
        illegal spans (outside ``0 <= s < e <= n``, or an invalid query) get ``MASK``."""
        head = self.boundary_head
        z, boundary_mask, n_words, marginals = self._marginals(words, word_mask, queries, query_mask)
        s, e = spans[:, 0], spans[:, 1]
        legal = (s >= 0) & (s < e) & (e <= n_words[0]) & query_mask[0, query]
        spans = torch.where(legal[:, None], spans, 0)
        common = (z, words, word_mask, n_words, queries, query_mask, marginals)
        if self.config.candidate_pool == "shared":
            if int(legal.sum()) > self.config.pool_size:
                raise ValueError(f"{int(legal.sum())} explicit spans do not fit into a pool of {self.config.pool_size}")
            index, valid, prior = self._pool(z, boundary_mask, marginals, query_mask, (spans[None], legal[None]))
            logits = head.shared_pool_scorer(*common, (index, valid, prior))[0, query]
            keys = index[0, :, 0] * z.shape[1] + index[0, :, 1]
            match = (spans[:, 0] * z.shape[1] + spans[:, 1])[:, None] == keys[None, :]
            slot = (match & valid[0][None, :]).int().argmax(-1)
            return torch.where(legal, logits[slot], MASK)
        a, k, gate = head.boundary_proposer.project(z, queries[:, query : query + 1])
        grid = spans[None, None]  # [1, 1, K, 2]
        prior = head.boundary_proposer.compat(a, k, gate, grid[..., 0], grid[..., 1])
        marginals = tuple(m[:, query : query + 1] for m in marginals[:2]) + (
            tuple(t[:, query : query + 1] for t in marginals[2]),
        )
        one = (z, words, word_mask, n_words, queries[:, query : query + 1], query_mask[:, query : query + 1])
        logits = head.pair_scorer(*one, marginals, grid, legal[None, None], prior)
        return logits[0, 0]

    def relation_state(self, head_state: torch.Tensor, tail_state: torch.Tensor) -> torch.Tensor:
        """A relation's state from its head and tail query states: their mean, or (directional) both."""
        if self.config.directional_relation_states:
            return torch.cat([head_state, tail_state], dim=-1)
        return (head_state + tail_state) / 2

    def relation_pairs(self, words_1, out_1, head_query: int, tail_query: int, relation_state, padded_len: int):
        """Spec 4.11 for one sample (``out_1``: ``score`` output with batch dimension 1). Returns the pairs
        ``[(head (s, e), tail (s, e), p_head, p_tail)]`` and their edge logits (before relation_temperature)."""
        pairs = propose_relation_pairs(out_1, head_query, tail_query, self.config)
        if not pairs:
            return [], words_1.new_zeros(0)
        return pairs, self.relation_scorer(words_1[0], relation_state, pairs, padded_len)
