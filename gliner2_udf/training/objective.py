"""The multi-task objective (spec section 7) on ``GLiNER2Network.forward``, vectorised over a batch.

* span: BCE-with-logits over every valid (instance, field, start, width) of every span task whose gold
  count is > 0, queries built from the **gold** count (``forward(instances=...)``); negatives are randomly
  masked (50 %);
* count: cross-entropy of the count head on each span task's ``[P]`` (entities included: 1 when any
  asked type is present, else 0 - so the count gate that upstream applies to entities is trained);
* classification: BCE-with-logits on each label marker (also for single-label tasks, as upstream).
Losses are summed per example and averaged over the batch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..model import MAX_INSTANCES, GLiNER2Network
from ..processor import Processor, Tasks
from .examples import Example


def collate(examples: list[Example]) -> dict:
    """Examples -> a processor batch whose routing is padded to the longest example, plus the targets."""
    b = len(examples)
    n_tasks = max((len(e.span_tasks) for e in examples), default=0)
    n_fields = max((sum(len(t.child_pos) for t in e.span_tasks) for e in examples), default=0)
    n_labels = max((sum(len(p) for p, _ in e.cls_tasks) for e in examples), default=0)
    tasks = Tasks(
        np.zeros((b, n_tasks), np.int64),
        np.zeros((b, n_tasks), bool),
        np.zeros((b, n_fields), np.int64),
        np.zeros((b, n_fields), np.int64),
        np.zeros((b, n_labels), np.int64),
    )
    task_valid, field_valid = np.zeros((b, n_tasks), bool), np.zeros((b, n_fields), bool)
    instances, count_y = np.zeros((b, n_tasks), np.int64), np.zeros((b, n_tasks), np.int64)
    label_valid, label_y = np.zeros((b, n_labels), bool), np.zeros((b, n_labels), np.float32)
    gold: list[tuple[int, int, int, int, int]] = []  # (sample, instance, field column, start word, width)
    for i, ex in enumerate(examples):
        n = 0
        for j, t in enumerate(ex.span_tasks):
            tasks.prompt_pos[i, j], tasks.entities[i, j], task_valid[i, j] = t.prompt_pos, t.always_query, True
            count_y[i, j] = min(t.count, MAX_INSTANCES)
            instances[i, j] = min(max(t.count, 1) if t.always_query else t.count, MAX_INSTANCES)
            tasks.field_pos[i, n : n + len(t.child_pos)] = t.child_pos
            tasks.field_task[i, n : n + len(t.child_pos)] = j
            field_valid[i, n : n + len(t.child_pos)] = True
            gold += [(i, k, n + m, start, width) for k, m, start, width in t.gold if k < instances[i, j]]
            n += len(t.child_pos)
        c = 0
        for positions, targets in ex.cls_tasks:
            tasks.label_pos[i, c : c + len(positions)] = positions
            label_y[i, c : c + len(positions)] = targets
            label_valid[i, c : c + len(positions)] = True
            c += len(positions)
    as_tensor = torch.from_numpy
    return {
        "batch": Processor.collate([e.encoded for e in examples], tasks),
        "instances": as_tensor(instances),
        "task_valid": as_tensor(task_valid),
        "count_y": as_tensor(count_y),
        "field_valid": as_tensor(field_valid),
        "label_valid": as_tensor(label_valid),
        "label_y": as_tensor(label_y),
        "gold": gold,
    }


def compute_loss(
    net: GLiNER2Network, data: dict, device, neg_keep: float = 0.5, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, dict[str, float]]:
    batch = data["batch"]

    def on(x):
        return (torch.from_numpy(x) if isinstance(x, np.ndarray) else x).to(device)

    instances = on(data["instances"])
    out = net(on(batch.input_ids), on(batch.attention_mask), on(batch.word_pos), batch.tasks.map(on), instances)
    n_batch = batch.input_ids.shape[0]
    task_valid, label_valid = on(data["task_valid"]), on(data["label_valid"])
    parts = {
        "count": F.cross_entropy(
            out.count_logits[task_valid].float(), on(data["count_y"])[task_valid], reduction="sum"
        ),
        "cls": F.binary_cross_entropy_with_logits(
            out.class_logits[label_valid].float(), on(data["label_y"])[label_valid], reduction="sum"
        ),
    }
    if out.span_logits is not None:
        logits = out.span_logits.float()  # [B, K, N, L, W]
        k, length, width = logits.shape[1], logits.shape[-2], logits.shape[-1]
        field_instances = instances.gather(1, on(batch.tasks.field_task))  # [B, N]
        queried = (torch.arange(k, device=device)[None, :, None] < field_instances[:, None, :]) & on(
            data["field_valid"]
        )[:, None, :]  # [B, K, N]
        ends = torch.arange(length, device=device)[:, None] + torch.arange(width, device=device)[None, :]
        in_text = ends[None] < torch.tensor(batch.n_words, device=device)[:, None, None]  # [B, L, W]
        valid = queried[..., None, None] & in_text[:, None, None]
        labels = torch.zeros_like(logits)
        if data["gold"]:
            g = torch.tensor(data["gold"], device=device)
            labels[g[:, 0], g[:, 1], g[:, 2], g[:, 3], g[:, 4]] = 1.0
        keep = valid & ((labels > 0) | (torch.rand(logits.shape, device=device, generator=generator) < neg_keep))
        loss = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        parts["span"] = (loss * keep).sum()
    else:
        parts["span"] = out.count_logits.new_zeros(())
    total = (parts["span"] + parts["count"] + parts["cls"]) / n_batch
    return total, {k: float(v.detach()) / n_batch for k, v in parts.items()}
