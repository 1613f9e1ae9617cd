"""The DeBERTa-v2/v3 encoder (gliner2-base-v1's DeBERTa-v3-base, gliner2.5-small-v1's DeBERTa-v3-xsmall, ...)
in plain torch, built for CPU inference.

Disentangled attention (He et al., DeBERTa, eq. 2-4). Each token ``i`` has a content vector ``H_i``; each
relative distance ``d`` has a position vector ``P_d`` (the rows of ``encoder.rel_embeddings``, after
``encoder.LayerNorm`` in v3). With ``Q = H Wq``, ``K = H Wk`` for content and ``Q^r = P Wq^r``, ``K^r = P Wk^r``
for positions (v3 shares the projections: ``Wq^r = Wq``, ``Wk^r = Wk``), the attention score of ``i`` on ``j`` is

    A_ij = ( Q_i . K_j             content-to-content
           + Q_i . K^r_δ(i,j)      content-to-position  (c2p)
           + K_j . Q^r_δ(i,j) )    position-to-content  (p2c)
           / sqrt(3 d)

where ``δ(i, j)`` is the bucket of the distance ``i - j``: itself up to ``buckets / 2``, logarithmic beyond,
clamped into the ``2 * buckets`` rows of ``rel_embeddings``. The output is ``softmax(A) V`` as in BERT, then the
usual residual LayerNorm blocks.

What makes this fast on CPU, against transformers' ``DebertaV2Model``:

* ``K^r`` and ``Q^r`` depend on the weights only: computed once per layer from the fp32 weights (after loading, and
  again only when a weight tensor changes) and kept as non-persistent buffers, already divided by
  ``sqrt(3 d)``. transformers recomputes them (two ``[2 * buckets, H] x [H, H]`` products) in every layer of every
  forward pass; after int8 quantization they stay the fp32 products.
* ``δ`` depends on the sequence length only: the bucket of every distance ``-(T-1) .. T-1`` is cached per length.
* c2p and p2c are computed over the ``2T - 1`` distances of the sequence (not all ``2 * buckets`` rows) and read
  back at ``[i, j]`` through a strided view (the "relative shift": row ``i`` of ``Q K^r_d`` read from column
  ``T - 1 - i``): no ``[B, heads, T, T]`` index tensor, no gather. Beyond ``BLOCK`` tokens, a block of rows
  at a time, each block of ``n`` rows needing only ``T + n - 1`` of the distances, and of those only the ones
  short of the distance from which every longer one shares a bucket (about 500 tokens in the upstream
  checkpoints): far pairs take one value per query (c2p) and per key (p2c) on each side.
* The two position terms and the padding mask become one additive bias for torch's fused
  ``scaled_dot_product_attention``, which computes the content-to-content term, the softmax and the product
  with ``V`` without holding the probabilities.

Training, and tracing for ONNX export, take the literal formulation of transformers instead
(``_reference_bias``): projections computed in the pass, so gradients reach them; lengths as tensor shapes.

Parameter names are those of ``DebertaV2Model``, so upstream checkpoints load unchanged (``supports`` lists the
configurations implemented; anything else loads through transformers). Outputs match ``DebertaV2Model`` to
float rounding at every token (``tests/test_deberta.py``); at padding positions, which nothing reads, only in the
literal formulation (see ``SelfAttention._bias``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from types import SimpleNamespace

import torch
from torch import nn
from torch.nn import functional as F

from .bert import Intermediate, Residual  # the same blocks, the same parameter names

LENGTH_CACHE = 16  # sequence lengths whose distance buckets are kept
# Longer sequences compute c2p and p2c max(BLOCK, T // 16) rows at a time (SelfAttention._blocked_bias). Int8
# DeBERTa-v3-base encoder, 2 threads, rounds alternating the order (docs/benchmarks.md, run AB): 8 x 180 tokens
# 4 % faster than one product over all rows; 2 x 512 17 % faster than 256-row blocks (30 % than one product);
# 1 x 2048 with 128-row blocks 12 % faster than with 256.
BLOCK = 64
FAR_LIMIT = 1 << 16  # distances searched for the one from which all longer ones share a bucket (``_far``)


def supports(config) -> bool:
    """Whether ``config`` (a transformers config) describes an encoder this module implements exactly."""
    heads = getattr(config, "num_attention_heads", 0) or 0
    hidden = getattr(config, "hidden_size", 0) or 0
    pos_att_type = getattr(config, "pos_att_type", None)
    if isinstance(pos_att_type, str):
        pos_att_type = [p.strip() for p in pos_att_type.lower().split("|")]
    norm_rel_ebd = [p.strip() for p in str(getattr(config, "norm_rel_ebd", None) or "none").lower().split("|")]
    head_size = getattr(config, "attention_head_size", None)
    return (
        getattr(config, "model_type", None) == "deberta-v2"
        and not getattr(config, "is_decoder", False)
        and bool(getattr(config, "relative_attention", False))
        and not getattr(config, "position_biased_input", True)
        and (getattr(config, "type_vocab_size", 0) or 0) == 0
        and (getattr(config, "position_buckets", -1) or -1) > 0
        and pos_att_type is not None
        and set(pos_att_type) <= {"p2c", "c2p"}
        and set(norm_rel_ebd) <= {"none", "layer_norm"}
        and getattr(config, "hidden_act", None) == "gelu"
        and (getattr(config, "conv_kernel_size", 0) or 0) == 0
        and getattr(config, "embedding_size", None) in (None, hidden)
        and heads > 0
        and hidden % heads == 0
        and head_size in (None, hidden // heads)
    )


def _pos_att_type(config) -> tuple[str, ...]:
    p = config.pos_att_type or []
    return tuple(x.strip() for x in p.lower().split("|")) if isinstance(p, str) else tuple(p)


def _span(config) -> tuple[int, int]:
    """``(buckets, max_position)``: half the rows of ``rel_embeddings``, and the distance the log buckets reach."""
    max_position = getattr(config, "max_relative_positions", -1)
    if max_position < 1:
        max_position = config.max_position_embeddings
    return config.position_buckets, max_position


def log_bucket(relative: torch.Tensor, buckets: int, max_position: int) -> torch.Tensor:
    """DeBERTa's distance buckets (transformers' ``make_log_bucket_position``, same float operations): exact up
    to ``buckets / 2``, logarithmic up to ``max_position``."""
    sign = torch.sign(relative)
    mid = buckets // 2
    abs_pos = torch.where(
        (relative < mid) & (relative > -mid), torch.tensor(mid - 1).type_as(relative), torch.abs(relative)
    )
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, relative.type_as(log_pos), log_pos * sign).to(torch.long)


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=getattr(c, "pad_token_id", 0))
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x = self.LayerNorm(self.word_embeddings(input_ids))
        return self.dropout(x * attention_mask[:, :, None].to(x.dtype))


class SelfAttention(nn.Module):
    """Disentangled self-attention. For inference ``pos_key``/``pos_query`` hold ``K^r``/``Q^r`` transposed,
    ``[heads, d, 2 * buckets]``, divided by ``sqrt((1 + #position terms) d)`` (``DebertaEncoder.refresh_positions``)."""

    def __init__(self, c):
        super().__init__()
        h = c.hidden_size
        self.heads = c.num_attention_heads
        self.head_size = h // self.heads
        self.query_proj = nn.Linear(h, h)
        self.key_proj = nn.Linear(h, h)
        self.value_proj = nn.Linear(h, h)
        self.share_att_key = bool(getattr(c, "share_att_key", False))
        self.pos_att_type = _pos_att_type(c)
        self.c2p, self.p2c = "c2p" in self.pos_att_type, "p2c" in self.pos_att_type
        if not self.share_att_key:
            if self.c2p:
                self.pos_key_proj = nn.Linear(h, h)
            if self.p2c:
                self.pos_query_proj = nn.Linear(h, h)
        self.scale = math.sqrt(self.head_size * (1 + self.c2p + self.p2c))
        self.buckets, self.max_position = _span(c)
        self.pos_dropout = nn.Dropout(c.hidden_dropout_prob)
        self.dropout = c.attention_probs_dropout_prob
        self.register_buffer("pos_key", None, persistent=False)
        self.register_buffer("pos_query", None, persistent=False)

    def split(self, y: torch.Tensor) -> torch.Tensor:  # [..., N, H] -> [..., heads, N, d]
        return y.view(y.size()[:-1] + (self.heads, self.head_size)).transpose(-2, -3)  # traced shapes stay dynamic

    def position_projections(self, rel: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``(K^r, Q^r) / scale``, ``[heads, 2 * buckets, d]`` each (None for an absent term)."""
        key = (self.key_proj if self.share_att_key else self.pos_key_proj) if self.c2p else None
        query = (self.query_proj if self.share_att_key else self.pos_query_proj) if self.p2c else None
        return tuple(None if m is None else self.split(m(rel)) / self.scale for m in (key, query))

    def forward(self, x: torch.Tensor, rel: SimpleNamespace) -> torch.Tensor:
        q, k, v = self.split(self.query_proj(x)), self.split(self.key_proj(x)), self.split(self.value_proj(x))
        bias = self._bias(q, k, rel) if rel.fast else self._reference_bias(q, k, rel)
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p, scale=1.0 / self.scale)
        return out.transpose(1, 2).flatten(2)

    def _bias(self, q: torch.Tensor, k: torch.Tensor, rel: SimpleNamespace) -> torch.Tensor:
        """c2p + p2c + padding mask, ``[B, heads, T, T]``, from products over the ``2T - 1`` distances of the
        sequence, read back at ``[i, j]`` by the relative shift (a strided view): row ``i`` of
        ``X[i, m] = Q_i . K^r_δ(T-1-m)`` holds the c2p term of key ``j`` at column ``m = T - 1 - i + j``; row
        ``j`` of ``Y[j, m] = K_j . Q^r_δ(m-T+1)`` the p2c term of query ``i`` at column ``T - 1 - j + i``.
        (Products over the buckets only, then a gather by ``δ(i - j)`` as transformers does, do fewer
        multiplications once ``2T - 1`` outgrows the buckets reached, but the gather cost more than they saved
        at every length measured, 180 to 2048.)

        Padding keys are masked by filling their rows of ``Y`` (every ``[i, j]`` of key ``j`` reads row ``j``),
        not the ``T x T`` bias. Padding queries then attend to the real keys, where transformers spreads them
        uniformly over every key: their (unused) outputs differ, those of real tokens do not."""
        b, heads, t, d = q.shape
        if t > BLOCK and self.c2p and self.p2c:
            return self._blocked_bias(q, k, rel)
        width = 2 * t - 1
        size, stride = (b, heads, t, t), (t * width, b * t * width, width - 1, 1)
        # heads first: [heads, B*T, d] is a view of the Linear's [B, T, H] output, one product per head
        qh, kh = (y.transpose(0, 1).reshape(heads, b * t, d) for y in (q, k))
        c2p = p2c = None
        if self.c2p:  # columns m <-> distance T-1-m
            x = torch.bmm(qh, self.pos_key.index_select(2, rel.descending))
            c2p = x.as_strided(size, stride, x.storage_offset() + t - 1)
        if self.p2c:  # columns m <-> distance m-(T-1); read as [j, i], then transposed
            y = torch.bmm(kh, self.pos_query.index_select(2, rel.ascending))
            if rel.pad is not None:
                y.index_fill_(1, rel.pad, torch.finfo(y.dtype).min)
            p2c = y.as_strided(size, stride, y.storage_offset() + t - 1).transpose(-1, -2)
        if c2p is not None and p2c is not None:
            return c2p + p2c
        if p2c is not None:
            return p2c.contiguous()
        bias = c2p.contiguous() if c2p is not None else q.new_zeros(size)
        return bias.masked_fill_(~rel.keys, torch.finfo(bias.dtype).min)

    def _blocked_bias(self, q: torch.Tensor, k: torch.Tensor, rel: SimpleNamespace) -> torch.Tensor:
        """``_bias`` a block of ``n`` rows at a time: rows ``i0 .. i1-1`` of ``X`` need only the
        ``T + (i1 - i0) - 1`` columns ``T - i1 .. 2T - 2 - i0``, so the products shrink from ``T (2T - 1)`` to
        about ``T (T + n)`` per head (c2p by query rows, p2c by key rows), and each block's part of the bias is
        added while it is in cache.

        Far pairs cost no product: every distance from ``rel.ahead`` on (``i - j``) shares one row of
        ``rel_embeddings``, and so does every distance from ``rel.behind`` on (``j - i``), so a query's c2p term
        is one value per side for all far keys, and a key's p2c term one value per side for all far queries.
        The products cover only the keys (queries) within reach of the block, the rest of its rows (columns)
        are filled with those values: on a 3,500-token window, about 40 % of the products."""
        b, heads, t, d = q.shape
        bias = q.new_empty((heads, b, t, t))  # heads first, like the products; SDPA reads it as [B, heads, T, T]
        qh, kh = q.transpose(0, 1), k.transpose(0, 1)  # [heads, B, T, d]
        fill = torch.finfo(q.dtype).min
        keys = None if rel.pad is None else rel.keys[:, 0, 0, :]  # [B, T]
        rows = max(BLOCK, t // 16)
        # the 2T - 1 distances' projections once per layer; each block multiplies a slice (a view) of them
        pos_key = self.pos_key.index_select(2, rel.descending)
        pos_query = self.pos_query.index_select(2, rel.ascending)
        (ahead, ahead_row), (behind, behind_row) = rel.ahead, rel.behind
        for i0 in range(0, t, rows):  # c2p by query rows: keys j < lo are ahead-far of every row, j >= hi behind
            i1 = min(i0 + rows, t)
            lo, hi, near, far = self._block(qh, pos_key, self.pos_key, i0, i1, ahead, behind, ahead_row, behind_row)
            bias[:, :, i0:i1, lo:hi].copy_(near)
            for cols, value in far:
                bias[:, :, i0:i1, cols].copy_(value.expand(-1, -1, -1, cols.stop - cols.start))
        for j0 in range(0, t, rows):  # p2c by key columns: queries i < lo are behind-far of every key, i >= hi ahead
            j1 = min(j0 + rows, t)
            lo, hi, near, far = self._block(kh, pos_query, self.pos_query, j0, j1, behind, ahead, behind_row, ahead_row)
            if keys is not None:  # padding keys: every query's term for them
                padding = ~keys[None, :, j0:j1, None]
                for terms in (near, *(value for _, value in far)):
                    terms.masked_fill_(padding, fill)  # in place: ``near`` is a view of its own product
            bias[:, :, lo:hi, j0:j1].add_(near.transpose(-1, -2))
            for rows_i, value in far:
                bias[:, :, rows_i, j0:j1].add_(value.transpose(-1, -2).expand(-1, -1, rows_i.stop - rows_i.start, -1))
        return bias.transpose(0, 1)

    @staticmethod
    def _block(h, table, rows, s0, s1, before, after, before_row, after_row):
        """One block of c2p (``h`` the queries ``s0 .. s1-1``, ``table`` the distances' ``K^r``) or of p2c (``h`` the
        keys, ``table`` the distances' ``Q^r``): ``(lo, hi, near, far)`` with ``near[heads, B, n, hi - lo]`` the
        terms of the positions ``lo .. hi-1`` within reach (a strided view of one product, the relative shift) and
        ``far`` the ``(positions, [heads, B, n, 1])`` pairs before ``lo`` and from ``hi`` on, where every position
        reads the bucket row ``before_row`` or ``after_row`` of ``rows``."""
        heads, b, t, d = h.shape
        n = s1 - s0
        lo, hi = max(0, s0 - before + 1), min(t, s1 - 1 + after)
        width = hi - lo + n - 1
        vectors = h[:, :, s0:s1].reshape(heads, b * n, d)
        x = torch.bmm(vectors, table[:, :, t - s1 + lo : t - 1 - s0 + hi])
        near = x.as_strided(
            (heads, b, n, hi - lo), (b * n * width, n * width, width - 1, 1), x.storage_offset() + n - 1
        )
        far = [
            (positions, torch.bmm(vectors, rows[:, :, row, None]).view(heads, b, n, 1))
            for positions, row in ((slice(0, lo), before_row), (slice(hi, t), after_row))
            if positions.start < positions.stop
        ]
        return lo, hi, near, far

    def _reference_bias(self, q: torch.Tensor, k: torch.Tensor, rel: SimpleNamespace) -> torch.Tensor | None:
        """transformers' formulation: all ``2 * buckets`` rows, then a gather by ``δ(i, j)``."""
        pos_key, pos_query = self.position_projections(self.pos_dropout(rel.embeddings))
        shape = q.shape[:-1] + (k.shape[-2],)
        bias = torch.zeros(shape, dtype=q.dtype, device=q.device)
        if self.c2p:  # [i, j] from row i, column δ(i - j)
            bias = bias + torch.gather(torch.matmul(q, pos_key.transpose(-1, -2)), -1, rel.c2p.expand(shape))
        if self.p2c:  # [j, i] from row j, column δ(i - j), transposed
            p2c = torch.gather(torch.matmul(k, pos_query.transpose(-1, -2)), -1, rel.p2c.expand(shape))
            bias = bias + p2c.transpose(-1, -2)
        return bias.masked_fill(~rel.mask, torch.finfo(bias.dtype).min)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = Residual(c.hidden_size, c)

    def forward(self, x: torch.Tensor, rel: SimpleNamespace) -> torch.Tensor:
        return self.output(self.self(x, rel), x)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = Residual(c.intermediate_size, c)

    def forward(self, x: torch.Tensor, rel: SimpleNamespace) -> torch.Tensor:
        x = self.attention(x, rel)
        return self.output(self.intermediate(x), x)


class Stack(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c.num_hidden_layers))
        self.rel_embeddings = nn.Embedding(2 * c.position_buckets, c.hidden_size)
        norm = [p.strip() for p in str(getattr(c, "norm_rel_ebd", None) or "none").lower().split("|")]
        if "layer_norm" in norm:
            self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def rel_embedding(self) -> torch.Tensor:
        rel = self.rel_embeddings.weight
        return self.LayerNorm(rel) if hasattr(self, "LayerNorm") else rel


def _refresh_after_load(module: DebertaEncoder, _incompatible) -> None:
    module.refresh_positions()


class DebertaEncoder(nn.Module):
    """Called like a Hugging Face encoder: ``encoder(input_ids=..., attention_mask=...).last_hidden_state``."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Stack(config)
        self.buckets, self.max_position = _span(config)
        self._lengths: OrderedDict[tuple[int, str], SimpleNamespace] = OrderedDict()
        self._positions_key = None
        self._far_rows = None
        self.register_load_state_dict_post_hook(_refresh_after_load)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def _position_sources(self) -> list[torch.Tensor] | None:
        """The fp32 tensors ``K^r``/``Q^r`` are computed from; None once the projections are quantized."""
        tensors = [self.encoder.rel_embeddings.weight]
        if hasattr(self.encoder, "LayerNorm"):
            tensors += [self.encoder.LayerNorm.weight, self.encoder.LayerNorm.bias]
        for layer in self.encoder.layer:
            att = layer.attention.self
            for name in ("query_proj", "key_proj", "pos_key_proj", "pos_query_proj"):
                m = getattr(att, name, None)
                if m is None:
                    continue
                w, b = getattr(m, "weight", None), getattr(m, "bias", None)
                if not isinstance(w, torch.Tensor) or not isinstance(b, torch.Tensor):
                    return None  # an int8 (dynamic quantized) Linear: keep what was computed in fp32
                tensors += [w, b]
        return tensors

    @torch.no_grad()
    def refresh_positions(self, force: bool = False) -> None:
        """(Re)compute every layer's ``K^r``/``Q^r`` buffers if a weight they come from changed (or ``force``)."""
        sources = self._position_sources()
        if sources is None:  # quantized: the buffers carried over from the fp32 module (or, lacking, int8 ones)
            if self._positions_key is not None and not force:
                return
            key = "int8"
        else:
            if any(t.is_meta for t in sources):
                return
            key = tuple((t._version, t.data_ptr(), t.device, t.dtype) for t in sources)
            if key == self._positions_key and not force:
                return
        rel = self.encoder.rel_embedding()
        for layer in self.encoder.layer:
            att = layer.attention.self
            att.pos_key, att.pos_query = (  # [heads, d, 2 * buckets]: the right operand of a product
                None if p is None else p.transpose(-1, -2).contiguous() for p in att.position_projections(rel)
            )
        self._positions_key = key

    def _relative(self, t: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The rows of ``rel_embeddings`` of the distances ``T-1 .. -(T-1)`` and ``-(T-1) .. T-1`` of a length-``t``
        sequence (cached per length)."""
        key = (t, str(device))
        rel = self._lengths.get(key)
        if rel is None:
            d = torch.arange(t - 1, -t, -1, device=device)
            descending = torch.clamp(
                log_bucket(d, self.buckets, self.max_position) + self.buckets, 0, 2 * self.buckets - 1
            )
            rel = self._lengths[key] = descending, descending.flip(0).contiguous()
            if len(self._lengths) > LENGTH_CACHE:
                self._lengths.popitem(last=False)
        else:
            self._lengths.move_to_end(key)
        return rel

    def _far(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((distance, row), (distance, row))``: from which distance ``i - j`` ahead, and ``j - i`` behind, every
        longer one reads the same row of ``rel_embeddings``, and that row (``_blocked_bias``)."""
        if self._far_rows is None:
            d = torch.arange(1, FAR_LIMIT, device="cpu")
            sides = []
            for sign in (1, -1):
                row = torch.clamp(
                    log_bucket(sign * d, self.buckets, self.max_position) + self.buckets, 0, 2 * self.buckets - 1
                )
                changes = (row != row[-1]).nonzero()
                first = int(changes[-1]) + 2 if len(changes) else 1  # d[k] = k + 1: the run after the last change
                sides.append((first, int(row[-1])) if first < FAR_LIMIT - 1 else (FAR_LIMIT, int(row[-1])))
            self._far_rows = tuple(sides)
        return self._far_rows

    def _reference_relative(self, x: torch.Tensor, keep: torch.Tensor) -> SimpleNamespace:
        """transformers' ``[1, 1, T, T]`` bucket indices and ``[B, 1, T, T]`` mask (query i attends to key j iff
        both are tokens), built from the tensor shapes (traceable)."""
        ids = torch.arange(x.size(1), device=x.device)
        relative = log_bucket(ids[:, None] - ids[None, :], self.buckets, self.max_position)[None, None]
        return SimpleNamespace(
            fast=False,
            c2p=torch.clamp(relative + self.buckets, 0, 2 * self.buckets - 1),
            p2c=torch.clamp(-relative + self.buckets, 0, 2 * self.buckets - 1),
            embeddings=self.encoder.rel_embedding(),
            mask=keep[:, None, :, None] & keep[:, None, None, :],
        )

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        x = self.embeddings(input_ids, attention_mask)
        keep = attention_mask.bool()
        if self.training or torch.is_grad_enabled() or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            rel = self._reference_relative(x, keep)
        else:
            self.refresh_positions()
            descending, ascending = self._relative(x.shape[1], x.device)
            pad = None if bool(keep.all()) else (~keep).flatten().nonzero().squeeze(1)
            rel = SimpleNamespace(
                fast=True, descending=descending, ascending=ascending, pad=pad, keys=keep[:, None, None, :]
            )
            rel.ahead, rel.behind = self._far()
        for layer in self.encoder.layer:
            x = layer(x, rel)
        return SimpleNamespace(last_hidden_state=x)
