"""The GLiNER2 span architecture: one encoder pass over schema prompt and text, then the heads (``heads``).

The encoder reads the schema prompt and the text as one sequence. Words are represented by their first
sub-token, schema slots by their marker tokens. One forward pass, in the paper's order:

1. the count head reads each span task's ``[P]`` marker: how many instances the text holds;
2. instances: that count (one at most for an entity task), or the number given (training: the gold count);
3. the count embedding turns each field's marker into one query per instance;
4. each query scores every span of up to ``max_width`` words: ``sigmoid(query[k, m] . span[i, w])``;
5. the classifier scores each classification label's marker.

``forward`` is the computation inference (``runtime.torch_runner``) and training (``training.objective``)
both run; the lite runtime (``runtime.lite``) mirrors it in numpy and ONNX, pinned to it by a parity test.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..processor import Output, Tasks
from .heads import MAX_COUNT, MAX_INSTANCES, CountEmbedding, SpanMarker, mlp


@dataclass
class Config:
    max_width: int = 8
    counting_layer: str = "count_lstm"
    token_pooling: str = "first"


def instances_from_counts(count_logits: torch.Tensor, entities: torch.Tensor) -> torch.Tensor:
    """Inference: the count head's most likely count, one instance at most for an entity task."""
    counts = count_logits.argmax(-1)
    return torch.where(entities, counts.clamp(max=1), counts)


def gather(states: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """``states[b, positions[b, j]]``: ``[B, J, H]``."""
    return states.gather(1, positions.unsqueeze(-1).expand(-1, -1, states.shape[-1]))


class SpanRep(nn.Module):
    def __init__(self, hidden: int, max_width: int):
        super().__init__()
        self.span_rep_layer = SpanMarker(hidden, max_width)


class GLiNER2Network(nn.Module):
    architecture = "span"

    def __init__(self, encoder: nn.Module, config: Config):
        super().__init__()
        hidden = encoder.config.hidden_size
        self.config = config
        self.encoder = encoder
        self.span_rep = SpanRep(hidden, config.max_width)
        self.classifier = mlp(hidden, 2 * hidden, 1)
        self.count_pred = mlp(hidden, 2 * hidden, MAX_COUNT)
        self.count_embed = CountEmbedding(hidden)

    @property
    def max_width(self) -> int:
        return self.config.max_width

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        word_pos: torch.Tensor,
        tasks: Tasks,
        instances: torch.Tensor | None = None,
    ) -> Output:
        """One pass over a batch. ``word_pos`` ``[B, L]``: each word's first sub-token; ``tasks``: where the
        schema's slots sit (``processor.Tasks``, as tensors). ``instances`` ``[B, T]``: how many instances of
        each span task to query (training: from the gold counts); ``None`` (inference): as many as the
        count head predicts."""
        states = self.encode(input_ids, attention_mask)  # [B, S, H]
        count_logits = self.count_pred(gather(states, tasks.prompt_pos))  # [B, T, MAX_COUNT]
        if instances is None:
            instances = instances_from_counts(count_logits, tasks.entities)
        k = min(int(instances.max()), MAX_INSTANCES) if instances.numel() else 0
        span_logits = None
        if k > 0 and tasks.field_pos.shape[1]:
            fields = gather(states, tasks.field_pos)  # [B, N, H]
            b, n, h = fields.shape
            queries = self.count_embed(fields.reshape(b * n, h), k)  # [K, B*N, H]
            queries = queries.view(k, b, n, h).transpose(0, 1).reshape(b, k * n, h)  # [B, K*N, H]
            logits = self.span_rep.span_rep_layer(gather(states, word_pos), queries)  # [B, K*N, L, W]
            span_logits = logits.view(b, k, n, *logits.shape[-2:])
        class_logits = self.classifier(gather(states, tasks.label_pos)).squeeze(-1)  # [B, C]
        return Output(count_logits, instances, span_logits, class_logits)
