"""The BERT encoder (all-MiniLM-L6-v2 and every other absolute-position BERT) in plain torch.

Parameter names are those of Hugging Face's ``BertModel`` (``embeddings.word_embeddings.weight``,
``encoder.layer.0.attention.self.query.weight``, ...), so upstream checkpoints load unchanged and
``checkpoint.save_checkpoint`` writes what the reference reads. Loading through this module instead
of ``transformers.AutoModel`` keeps transformers' modeling code out of the process: about 170 MiB less
resident memory in every Spark Python worker, and no random initialisation (the network is built
on the meta device and the checkpoint's tensors are assigned). Other architectures (DeBERTa-v2, ...)
load through transformers.

Each layer: ``x = LN(x + Attention(x))``, ``x = LN(x + W2 gelu(W1 x))``; outputs match ``BertModel``
to float rounding (``tests/test_bert.py``).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import torch
from torch import nn
from torch.nn import functional as F


def supports(config) -> bool:
    """Whether ``config`` (a transformers config) describes an encoder this module implements."""
    return (
        getattr(config, "model_type", None) == "bert"
        and not getattr(config, "is_decoder", False)
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
        and getattr(config, "hidden_act", None) == "gelu"
    )


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = self.position_embeddings.weight[: input_ids.shape[1]]
        x = self.word_embeddings(input_ids) + positions + self.token_type_embeddings.weight[0]
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c.num_attention_heads
        self.dropout = c.attention_probs_dropout_prob
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape

        def split(y):  # [B, T, H] -> [B, heads, T, H / heads]
            return y.view(b, t, self.heads, h // self.heads).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        if mask.dtype != torch.bool:  # an additive mask: the ONNX export's form (BertEncoder.onnx_form)
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(h // self.heads) + mask
            out = torch.matmul(torch.softmax(scores, dim=-1), v)
        else:
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
            )
        return out.transpose(1, 2).reshape(b, t, h)


class Residual(nn.Module):
    """``LayerNorm(x + dropout(dense(y)))``: BERT's ``*Output`` blocks."""

    def __init__(self, d_in: int, c):
        super().__init__()
        self.dense = nn.Linear(d_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(x + self.dropout(self.dense(y)))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = Residual(c.hidden_size, c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, mask), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = Residual(c.intermediate_size, c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.attention(x, mask)
        return self.output(self.intermediate(x), x)


class Stack(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c.num_hidden_layers))


class Pooler(nn.Module):
    """Kept for the state dict (upstream checkpoints carry it); GLiNER2 never reads it."""

    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)


class BertEncoder(nn.Module):
    """Called like a Hugging Face encoder: ``encoder(input_ids=..., attention_mask=...).last_hidden_state``.

    ``onnx_form`` (set while exporting to ONNX) writes attention as explicit products with an additive
    ``-10000`` mask: the pattern ONNX Runtime's BERT optimizer fuses into its ``Attention`` operator.
    """

    onnx_form = False

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Stack(config)
        self.pooler = Pooler(config)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        x = self.embeddings(input_ids)
        # which keys each query may attend to, [B, 1, 1, T]: a boolean mask lets torch pick its fused
        # (flash) CPU kernel, which never holds the [B, heads, T, T] probabilities in memory
        mask = attention_mask[:, None, None, :]
        mask = (1.0 - mask.to(x.dtype)) * -10000.0 if self.onnx_form else mask.bool()
        for layer in self.encoder.layer:
            x = layer(x, mask)
        return SimpleNamespace(last_hidden_state=x)
