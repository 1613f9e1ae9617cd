"""GLiNER2's heads, in the order of the paper's Method section.

* ``SpanMarker`` (``span_rep.span_rep_layer``) - a representation for every span of up to ``max_width``
  words, scored against a query: ``logit = query . span[i, w]``;
* the count head (``count_pred``, an ``mlp``) - how many instances of a task the text holds (0..19);
* ``CountEmbedding`` (``count_embed``) - turns each field's marker embedding into one query per instance
  (a GRU over learned occurrence embeddings, then a projector);
* the classifier (``classifier``, an ``mlp``) - one logit per classification label.

Module and parameter names match the upstream state dict (``span_rep.span_rep_layer.project_start.0``...).
``span.GLiNER2Network`` puts them together in one forward pass.
"""

from __future__ import annotations

import torch
from torch import nn

MAX_COUNT = 20  # the count head's classes: 0 .. 19 instances
MAX_INSTANCES = MAX_COUNT - 1  # the most instances a task is queried for, in inference and in training


def mlp(d_in: int, d_hidden: int, d_out: int, dropout: float = 0.0) -> nn.Sequential:
    """Linear -> ReLU [-> Dropout] -> Linear (indices 0 and 2, or 0 and 3 with dropout)."""
    layers: list[nn.Module] = [nn.Linear(d_in, d_hidden), nn.ReLU()]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(d_hidden, d_out))
    return nn.Sequential(*layers)


class SpanMarker(nn.Module):
    """The logit of query ``q`` for the span of width ``w`` starting at word ``i``:
    ``q . out_project(relu([project_start(x_i); project_end(x_{i+w})]))``."""

    def __init__(self, hidden: int, max_width: int, dropout: float = 0.1):
        super().__init__()
        self.max_width = max_width
        self.project_start = mlp(hidden, 4 * hidden, hidden, dropout)
        self.project_end = mlp(hidden, 4 * hidden, hidden, dropout)
        self.out_project = mlp(2 * hidden, 4 * hidden, hidden, dropout)

    def project_words(self, words: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each word's share of out_project's hidden layer, as a start and as an end: ``[B, L, 4H]`` each.

        out_project's first layer is split into its start and end halves so each word is projected once,
        not once per span (identical to concatenating, up to float rounding). The int8 runtime sets
        ``out_halves`` (``start``/``end``: the two halves as quantized Linear layers).
        """
        start, end = torch.relu(self.project_start(words)), torch.relu(self.project_end(words))
        halves = getattr(self, "out_halves", None)
        if halves is not None:
            return halves.start(start), halves.end(end)
        first, h = self.out_project[0], words.shape[-1]
        return start @ first.weight[:, :h].T, end @ first.weight[:, h:].T + first.bias

    def forward(self, words: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, Q, L, W]`` of queries ``[B, Q, H]`` against every span of words ``[B, L, H]``.

        out_project's last layer is folded into the queries, ``q . (A h + b) = (A^T q) . h + q . b``, and
        spans are scored one width at a time, so the ``[B, L, W, 4H]`` hidden layer is never held whole
        (under ``no_grad`` each width's scores are written into one preallocated block).
        """
        last = self.out_project[-1]
        start, end = self.project_words(words)  # [B, L, 4H]
        end = nn.functional.pad(end, (0, 0, 0, self.max_width))  # [B, L + W, 4H]
        q = queries @ last.weight  # [B, Q, 4H]
        b, length = start.shape[:2]
        if torch.is_grad_enabled():  # training: every width's hidden layer is kept for backward anyway
            out = torch.stack(
                [
                    torch.bmm(q, torch.relu(start + end[:, w : w + length]).transpose(1, 2))
                    for w in range(self.max_width)
                ]
            )
        else:
            out = q.new_empty(self.max_width, b, q.shape[1], length)  # one contiguous block per width
            hidden = torch.empty_like(start)
            for w in range(self.max_width):
                torch.add(start, end[:, w : w + length], out=hidden).relu_()
                torch.bmm(q, hidden.transpose(1, 2), out=out[w])
        return out.permute(1, 2, 3, 0) + (queries @ last.bias)[..., None, None]


class SpanRep(nn.Module):
    def __init__(self, hidden: int, max_width: int):
        super().__init__()
        self.span_rep_layer = SpanMarker(hidden, max_width)


class CountEmbedding(nn.Module):
    """Field embedding -> one query per instance: GRU over occurrence embeddings, then a projector."""

    def __init__(self, hidden: int, max_count: int = MAX_COUNT):
        super().__init__()
        self.max_count = max_count
        self.pos_embedding = nn.Embedding(max_count, hidden)
        self.gru = nn.GRU(hidden, hidden)
        self.projector = mlp(2 * hidden, 4 * hidden, hidden)

    def forward(self, fields: torch.Tensor, count: int) -> torch.Tensor:
        """Queries ``[count, M, H]`` for field embeddings ``[M, H]``."""
        count = min(count, self.max_count)
        if count <= 0:
            return fields.new_zeros(0, *fields.shape)
        m = fields.shape[0]
        states = torch.stack(self._gru(fields, count))  # [count, M, H]
        return self.projector(torch.cat([states, fields.unsqueeze(0).expand(count, m, -1)], dim=-1))

    def _gru(self, fields: torch.Tensor, count: int) -> list[torch.Tensor]:
        """``nn.GRU`` over the occurrence embeddings, written out: every field sees the same inputs, so
        their projection is computed once per step rather than once per field (gate order r, z, n)."""
        gru = self.gru
        gx = torch.nn.functional.linear(self.pos_embedding.weight[:count], gru.weight_ih_l0, gru.bias_ih_l0)
        h, out = fields, []
        for k in range(count):
            gh = torch.nn.functional.linear(h, gru.weight_hh_l0, gru.bias_hh_l0)  # [M, 3H]
            xr, xz, xn = gx[k].chunk(3)
            hr, hz, hn = gh.chunk(3, dim=-1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            h = (1 - z) * torch.tanh(xn + r * hn) + z * h
            out.append(h)
        return out
