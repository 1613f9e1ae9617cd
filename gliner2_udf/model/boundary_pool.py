"""Pieces of the boundary architecture shared by both candidate modes, and the shared document pool.

A span is a half-open pair of word boundaries ``[s, e)``. Helpers here read span features off per-boundary
or per-word tensors; ``SharedPoolBuilder`` and ``SharedPoolScorer`` implement ``candidate_pool = "shared"``:
one pool of candidates per document, proposed from the union of every query's marginals and scored
against each query (spec section 4.6-4.7).
"""

from __future__ import annotations

import math

import torch
from torch import nn

MASK = -1e4  # the finite "invalid" sentinel of every score
QUOTA_PRIORITY = 5000.0  # a query's guaranteed pool entries rank above any real score
INJECTED_PRIORITY = 1e4  # explicitly requested spans rank above everything


def take(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[b, index[b, ...]]``: rows ``[B, M, D]`` at ``index`` ``[B, ...]`` -> ``[B, ..., D]``."""
    flat = index.reshape(index.shape[0], -1, 1).expand(-1, -1, values.shape[-1])
    return values.gather(1, flat).view(*index.shape, values.shape[-1])


def take_per_query(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[b, q, index[b, q, ...]]``: ``[B, Q, M]`` at ``[B, Q, ...]`` -> ``[B, Q, ...]``."""
    return values.gather(2, index.reshape(*index.shape[:2], -1)).view(index.shape)


def length_features(starts: torch.Tensor, ends: torch.Tensor, n_words: torch.Tensor) -> torch.Tensor:
    """``[ln(1 + l), l / max(n, 1), 1 / sqrt(l)]`` of spans of length ``l`` (at least 1) in a text of ``n``
    words; ``n_words`` ``[B]`` broadcasts over the span dimensions."""
    length = (ends - starts).clamp(min=1).float()
    n = n_words.clamp(min=1).float().view(-1, *([1] * (length.dim() - 1)))
    return torch.stack([torch.log1p(length), length / n, length.rsqrt()], dim=-1)


def inside_prefix(inside: torch.Tensor, word_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean-centred prefix sums of the per-word inside scores ``[B, Q, L]``: ``([B, Q, L+1], mean [B, Q])``.
    The sum over ``[s, e)`` is ``prefix[e] - prefix[s] + mean * (e - s)``."""
    valid = word_mask[:, None, :].expand_as(inside)
    mean = torch.where(valid, inside, 0.0).sum(-1) / valid.sum(-1).clamp(min=1)
    centred = torch.where(valid, inside - mean[..., None], 0.0)
    return nn.functional.pad(centred.cumsum(-1), (1, 0)), mean


def inside_sum(prefix: tuple[torch.Tensor, torch.Tensor], starts: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
    """The summed inside scores of spans ``[B, Q, ...]`` (see ``inside_prefix``)."""
    sums, mean = prefix
    shape = [*mean.shape] + [1] * (starts.dim() - 2)
    return take_per_query(sums, ends) - take_per_query(sums, starts) + mean.view(shape) * (ends - starts)


class ContentPooler(nn.Module):
    """What a span says: the mean of its projected words, and (``soft_max``) a per-channel log-sum-exp.

    Both come from prefixes over the words, the log-sum-exp as a difference of ``logcumsumexp`` prefixes
    ``P_e + log1p(-exp(min(P_s - P_e, -1e-6)))`` (the empty prefix at ``float32.min / 4``, non-finite -> 0),
    then ``LayerNorm`` over ``[mean ; soft max]``."""

    def __init__(self, hidden: int, dim: int, soft_max: bool):
        super().__init__()
        self.soft_max = soft_max
        self.value_projection = nn.Linear(hidden, dim)
        self.layer_norm = nn.LayerNorm(2 * dim if soft_max else dim)

    def prefixes(self, words: torch.Tensor, word_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        values = self.value_projection(words) * word_mask[..., None]
        sums = nn.functional.pad(values.cumsum(1), (0, 0, 1, 0))
        if not self.soft_max:
            return sums, None
        empty = values.new_full((values.shape[0], 1, values.shape[2]), torch.finfo(torch.float32).min / 4)
        return sums, torch.cat([empty, values.logcumsumexp(1)], dim=1)

    def forward(self, prefixes, starts: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
        """Content ``[B, ..., D]`` of spans ``starts``/``ends`` ``[B, ...]``, from ``prefixes(words, mask)``."""
        sums, logs = prefixes
        length = (ends - starts).clamp(min=1)[..., None].float()
        parts = [(take(sums, ends) - take(sums, starts)) / length]
        if logs is not None:
            at_end = take(logs, ends)
            soft = at_end + torch.log1p(-torch.exp(torch.clamp(take(logs, starts) - at_end, max=-1e-6)))
            parts.append(torch.where(torch.isfinite(soft), soft, 0.0))
        return self.layer_norm(torch.cat(parts, dim=-1))


def dedupe_and_rank(keys: torch.Tensor, scores: torch.Tensor, valid: torch.Tensor, keep: int):
    """Per row: drop repeated keys (keeping the highest score), order by score descending then key
    ascending, keep ``keep``. Returns ``(keys, scores, valid)`` ``[..., keep]``; padding is invalid, key 0."""
    scores = torch.where(valid, scores, -math.inf)
    keys = torch.where(valid, keys, torch.iinfo(torch.long).max)
    by_score = torch.argsort(scores, dim=-1, descending=True, stable=True)
    keys, scores = keys.gather(-1, by_score), scores.gather(-1, by_score)
    by_key = torch.argsort(keys, dim=-1, stable=True)
    keys, scores = keys.gather(-1, by_key), scores.gather(-1, by_key)
    repeat = torch.zeros_like(keys, dtype=torch.bool)
    repeat[..., 1:] = keys[..., 1:] == keys[..., :-1]
    scores = scores.masked_fill(repeat, -math.inf)
    order = torch.argsort(scores, dim=-1, descending=True, stable=True)[..., :keep]
    keys, scores = keys.gather(-1, order), scores.gather(-1, order)
    valid = torch.isfinite(scores)
    if keys.shape[-1] < keep:
        pad = keep - keys.shape[-1]
        keys = nn.functional.pad(keys, (0, pad))
        scores = nn.functional.pad(scores, (0, pad), value=-math.inf)
        valid = nn.functional.pad(valid, (0, pad))
    return torch.where(valid, keys, 0), scores, valid


class SharedPoolBuilder(nn.Module):
    """One candidate pool per document (spec 4.6).

    The best ``pool_boundary_top_k`` starts and ends by the union marginals ``max_q S`` / ``max_q E`` are
    paired (start-major, ``e > s``); each pair's prior is ``c0 = (W_s z_s) . (W_e z_e) / sqrt(d)``. Every
    valid query is guaranteed its own ``min_pool_per_query`` best pairs (by ``S + E + c0``); the rest are
    ranked by ``c0 + max S + max E``; the first ``pool_size`` distinct pairs form the pool."""

    def __init__(self, dim: int):
        super().__init__()
        self.start_projection = nn.Linear(dim, dim)
        self.end_projection = nn.Linear(dim, dim)

    def forward(self, z, boundary_mask, starts, ends, query_mask, top_k, quota, size, injected=None):
        """``z`` ``[B, N, d]``, marginals ``starts``/``ends`` ``[B, Q, N]`` -> pool ``(index [B, C, 2], valid
        [B, C], prior [B, C])``. ``injected`` ``[B, K, 2]`` (with validity): spans put first in the pool."""
        b, n, d = z.shape
        union_start, union_end = starts.max(1).values, ends.max(1).values  # [B, N]
        k = min(top_k, n)
        top_s = torch.argsort(union_start, dim=-1, descending=True, stable=True)[:, :k]
        top_e = torch.argsort(union_end, dim=-1, descending=True, stable=True)[:, :k]
        s = top_s[:, :, None].expand(b, k, k).reshape(b, k * k)
        e = top_e[:, None, :].expand(b, k, k).reshape(b, k * k)
        valid = boundary_mask.gather(1, s) & boundary_mask.gather(1, e) & (e > s)
        pair_prior = self.pair_priors(z)  # [B, N * N]
        keys = s * n + e
        prior = pair_prior.gather(1, keys)
        overall = prior + union_start.gather(1, s) + union_end.gather(1, e)
        per_query = take_per_query(starts, s[:, None].expand(-1, starts.shape[1], -1))
        per_query = per_query + take_per_query(ends, e[:, None].expand(-1, ends.shape[1], -1)) + prior[:, None]
        per_query = per_query.masked_fill(~valid[:, None], -math.inf)
        counts = valid.sum(-1)  # [B]
        q_quota = torch.minimum(counts, torch.tensor(quota))[:, None]  # [B, 1]
        ranked = torch.argsort(per_query, dim=-1, descending=True, stable=True)[..., :quota]  # [B, Q, quota]
        rank = torch.arange(ranked.shape[-1])
        quota_priority = QUOTA_PRIORITY + (q_quota[..., None] - rank).float()
        quota_valid = (rank < q_quota[..., None]) & query_mask[..., None]
        all_keys = [keys, keys.gather(1, ranked.reshape(b, -1))]
        all_scores = [overall, quota_priority.expand_as(ranked).reshape(b, -1)]
        all_valid = [valid, quota_valid.expand_as(ranked).reshape(b, -1)]
        if injected is not None:
            spans, ok = injected
            all_keys.append(spans[..., 0] * n + spans[..., 1])
            all_scores.append(torch.full(ok.shape, INJECTED_PRIORITY))
            all_valid.append(ok)
        keys, _, valid = dedupe_and_rank(
            torch.cat(all_keys, 1), torch.cat(all_scores, 1), torch.cat(all_valid, 1), size
        )
        index = torch.stack([keys // n, keys % n], dim=-1)
        prior = torch.where(valid, pair_prior.gather(1, keys), 0.0)
        return index, valid, prior

    def pair_priors(self, z: torch.Tensor) -> torch.Tensor:
        """``c0`` of every (start, end) pair, ``[B, N * N]`` at ``s * N + e``: one product of the projections
        instead of gathering a pair of vectors for each of the ``top_k ** 2`` pairs."""
        left, right = self.start_projection(z), self.end_projection(z)
        return (left @ right.transpose(1, 2)).flatten(1) / math.sqrt(z.shape[-1])


def overlap_buckets(index: torch.Tensor) -> torch.Tensor:
    """How candidate i relates to candidate j, ``[B, C, C]``: 0 same span, 5 same end, 4 same start,
    2 i contains j, 1 i inside j, 7 j ends before i starts, 6 i ends before j starts, 3 crossing."""
    s, e = index[..., 0], index[..., 1]
    si, ei, sj, ej = s[:, :, None], e[:, :, None], s[:, None, :], e[:, None, :]
    bucket = torch.full(si.shape[:1] + (s.shape[1], s.shape[1]), 3, dtype=torch.long)
    rules = [
        (ei <= sj, 6),
        (ej <= si, 7),
        ((sj <= si) & (ei <= ej), 1),
        ((si <= sj) & (ej <= ei), 2),
        (si == sj, 4),
        (ei == ej, 5),
        ((si == sj) & (ei == ej), 0),
    ]
    for condition, value in rules:  # lowest precedence first: later rules overwrite
        bucket = torch.where(condition, value, bucket)
    return bucket


class CandidateLayer(nn.Module):
    """Pre-norm multi-head self-attention over the pool, biased by how two candidates overlap, then a
    pre-norm GELU feed-forward; both residual."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.relative_bias = nn.Parameter(torch.zeros(8, heads))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.output = nn.Linear(dim, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ffn = feed_forward(dim, dropout)

    def forward(self, r: torch.Tensor, valid: torch.Tensor, buckets: torch.Tensor) -> torch.Tensor:
        b, c, p = r.shape
        q, k, v = self.qkv(self.norm1(r)).view(b, c, 3, self.heads, p // self.heads).permute(2, 0, 3, 1, 4)
        logits = q @ k.transpose(-1, -2) / math.sqrt(p // self.heads)
        logits = logits + self.relative_bias[buckets].permute(0, 3, 1, 2)
        weights = logits.masked_fill(~valid[:, None, None, :], MASK).softmax(-1)
        weights = weights * valid[:, None, :, None]
        r = r + self.output((weights @ v).transpose(1, 2).reshape(b, c, p))
        return (r + self.ffn(self.norm2(r))) * valid[..., None]


class QueryLayer(nn.Module):
    """Each query reads its evidence (a softmax over candidates of ``r_c . y_q``), then the queries attend
    to one another (``nn.MultiheadAttention``), then a feed-forward; pre-norm, residual."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.query_in, self.evidence_in = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ffn = feed_forward(dim, dropout)

    def forward(self, y, query_mask, r, valid):
        weights = (y @ r.transpose(1, 2)).masked_fill(~valid[:, None, :], MASK).softmax(-1)
        x = self.query_in(y) + self.evidence_in(weights @ r)
        padding = ~query_mask
        padding[:, 0] &= query_mask.any(-1)  # a sample without queries keeps its first one unmasked
        h = self.norm1(x)
        x = x + self.attention(h, h, h, key_padding_mask=padding, need_weights=False)[0]
        return (x + self.ffn(self.norm2(x))) * query_mask[..., None]


def feed_forward(dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * dim, dim))


class SharedPoolScorer(nn.Module):
    """Scores every pool candidate against every query (spec 4.7).

    Candidate ``r = LN(W_s z_s + W_e z_e + W_len f(l) + W_prior c0 [+ W_content c])``, refined by
    ``CandidateLayer``s; query ``y = W_q q``, refined by ``QueryLayer``s. The logit is
    ``r . y / sqrt(P) + MLP(r * (1 + gamma_q) + beta_q) + S[q, s] + E[q, e] + inside / sqrt(l)``, with
    ``[gamma; beta] = W_film y``."""

    def __init__(self, config, hidden: int):
        super().__init__()
        d, p = config.boundary_dim, config.pair_dim
        self.start_projection, self.end_projection = nn.Linear(d, p), nn.Linear(d, p)
        self.length_projection, self.prior_projection = nn.Linear(3, p), nn.Linear(1, p)
        if config.enable_span_content:
            self.content_pooler = ContentPooler(hidden, config.content_dim, config.content_soft_max_pool)
            self.content_projection = nn.Linear(self.content_pooler.layer_norm.normalized_shape[0], p)
        self.candidate_norm = nn.LayerNorm(p)
        heads = config.candidate_attention_heads
        self.candidate_layers = nn.ModuleList(
            CandidateLayer(p, heads, config.dropout) for _ in range(config.candidate_attention_layers)
        )
        self.query_projection = nn.Linear(hidden, p)
        self.query_layers = nn.ModuleList(
            QueryLayer(p, heads, config.dropout) for _ in range(config.query_attention_layers)
        )
        self.film = nn.Linear(p, 2 * p)
        self.film_output = nn.Sequential(nn.Linear(p, 64), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(64, 1))

    def forward(self, z, words, word_mask, n_words, queries, query_mask, marginals, pool):
        """Logits ``[B, Q, C]``. ``marginals`` = ``(S, E, inside prefix)``; ``pool`` = ``(index, valid, prior)``."""
        (starts, ends, inside), (index, valid, prior) = marginals, pool
        s, e = index[..., 0], index[..., 1]
        r = self.start_projection(take(z, s)) + self.end_projection(take(z, e))
        r = r + self.length_projection(length_features(s, e, n_words)) + self.prior_projection(prior[..., None])
        if hasattr(self, "content_pooler"):
            r = r + self.content_projection(self.content_pooler(self.content_pooler.prefixes(words, word_mask), s, e))
        r = self.candidate_norm(r) * valid[..., None]
        if len(self.candidate_layers):
            buckets = overlap_buckets(index)
            for layer in self.candidate_layers:
                r = layer(r, valid, buckets)
        y = self.query_projection(queries)
        for layer in self.query_layers:
            y = layer(y, query_mask, r, valid)
        gamma, beta = self.film(y).chunk(2, dim=-1)
        film = self.film_output(r[:, None] * (1 + gamma[:, :, None]) + beta[:, :, None]).squeeze(-1)
        qs, qe = s[:, None].expand(-1, queries.shape[1], -1), e[:, None].expand(-1, queries.shape[1], -1)
        logits = (y @ r.transpose(1, 2)) / math.sqrt(r.shape[-1]) + film
        logits = logits + take_per_query(starts, qs) + take_per_query(ends, qe)
        logits = logits + inside_sum(inside, qs, qe) / (qe - qs).clamp(min=1).float().sqrt()
        return logits.masked_fill(~(valid[:, None] & query_mask[..., None]), MASK)
