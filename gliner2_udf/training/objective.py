"""The multi-task objective (spec section 7), vectorised over a batch.

* span: BCE-with-logits over every valid (instance, child, start, width) of every span task whose gold
  count is > 0, queries built from the **gold** count; negatives are randomly masked (50 %);
* count: cross-entropy of the count head on each span task's ``[P]`` (entities included: 1 when any
  asked type is present, else 0 - so the count gate that upstream applies to entities is trained);
* classification: BCE-with-logits on each label marker (also for single-label tasks, as upstream).
Losses are summed per example and averaged over the batch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..model import GLiNER2Network
from ..processor import Processor
from .examples import Example

MAX_INSTANCES = 19


def collate(examples: list[Example]):
    """Examples -> a processor batch plus flat index tensors for the three losses."""
    batch = Processor.collate([e.encoded for e in examples], ())
    count_b, count_pos, count_y = [], [], []
    field_b, field_pos, field_count = [], [], []
    query_owner: list[tuple[int, int, int]] = []  # (sample, field row, instance)
    gold: list[tuple[int, int, int, int]] = []     # (sample, query index in sample, start, width)
    per_sample_q = [0] * len(examples)
    cls_b, cls_pos, cls_y = [], [], []
    for b, ex in enumerate(examples):
        for t in ex.span_tasks:
            count_b.append(b)
            count_pos.append(t.prompt_pos)
            count_y.append(min(t.count, MAX_INSTANCES))
            n_inst = max(t.count, 1) if t.always_query else t.count
            n_inst = min(n_inst, MAX_INSTANCES)
            if n_inst == 0:
                continue
            base_field = len(field_b)
            for pos in t.child_pos:
                field_b.append(b)
                field_pos.append(pos)
                field_count.append(n_inst)
            q0 = per_sample_q[b]
            m_count = len(t.child_pos)
            for k in range(n_inst):
                for m in range(m_count):
                    query_owner.append((b, base_field + m, k))
            for k, m, start, width in t.gold:
                if k < n_inst:
                    gold.append((b, q0 + k * m_count + m, start, width))
            per_sample_q[b] += n_inst * m_count
        for positions, targets in ex.cls_tasks:
            for pos, y in zip(positions, targets):
                cls_b.append(b)
                cls_pos.append(pos)
                cls_y.append(y)
    long = lambda x: torch.tensor(x, dtype=torch.long)
    return {
        "batch": batch,
        "count": (long(count_b), long(count_pos), long(count_y)),
        "fields": (long(field_b), long(field_pos), max(field_count, default=0)),
        "queries": query_owner, "per_sample_q": per_sample_q, "gold": gold,
        "cls": (long(cls_b), long(cls_pos), torch.tensor(cls_y, dtype=torch.float)),
    }


def compute_loss(net: GLiNER2Network, data: dict, device, neg_keep: float = 0.5,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    batch = data["batch"]
    ids, mask = torch.from_numpy(batch.input_ids).to(device), torch.from_numpy(batch.attention_mask).to(device)
    states = net.encode(ids, mask)
    n_batch = ids.shape[0]
    parts = {}

    cb, cp, cy = (x.to(device) for x in data["count"])
    parts["count"] = F.cross_entropy(net.count_pred(states[cb, cp]).float(), cy, reduction="sum") if len(cb) else \
        states.new_zeros(())

    qb, qp, qy = (x.to(device) for x in data["cls"])
    parts["cls"] = F.binary_cross_entropy_with_logits(net.classifier(states[qb, qp]).squeeze(-1).float(), qy,
                                                      reduction="sum") if len(qb) else states.new_zeros(())

    fb, fp, k_max = data["fields"]
    if k_max and data["queries"]:
        fields = states[fb.to(device), fp.to(device)]                       # [Nf, H]
        with torch.autocast(device.type, enabled=False):  # the GRU stays in fp32 under bf16 autocast
            all_q = net.count_embed(fields.float(), k_max)                   # [K, Nf, H]
        q_max = max(data["per_sample_q"])
        h = fields.shape[-1]
        owners = data["queries"]
        sample = torch.tensor([o[0] for o in owners], device=device)
        frow = torch.tensor([o[1] for o in owners], device=device)
        inst = torch.tensor([o[2] for o in owners], device=device)
        slot = torch.zeros(len(owners), dtype=torch.long)
        seen = [0] * n_batch
        for i, o in enumerate(owners):
            slot[i] = seen[o[0]]
            seen[o[0]] += 1
        slot = slot.to(device)
        queries = states.new_zeros(n_batch, q_max, h)
        queries[sample, slot] = all_q[inst, frow].to(queries.dtype)
        q_valid = torch.zeros(n_batch, q_max, dtype=torch.bool, device=device)
        q_valid[sample, slot] = True

        words = net.gather_words(states, torch.from_numpy(batch.word_pos).to(device))
        span_layer = net.span_rep.span_rep_layer
        logits = span_layer.score(span_layer.hidden_states(words), queries).float()  # [B, Q, L, W]
        length, width = logits.shape[-2:]
        n_words = torch.tensor(batch.n_words, device=device)
        ends = torch.arange(length, device=device)[:, None] + torch.arange(width, device=device)[None, :]
        span_valid = ends[None] < n_words[:, None, None]                      # [B, L, W]
        valid = q_valid[:, :, None, None] & span_valid[:, None]
        labels = torch.zeros_like(logits)
        if data["gold"]:
            g = torch.tensor(data["gold"], device=device)
            labels[g[:, 0], g[:, 1], g[:, 2], g[:, 3]] = 1.0
        keep = valid & ((labels > 0) | (torch.rand(logits.shape, device=device, generator=generator) < neg_keep))
        loss = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        parts["span"] = (loss * keep).sum()
    else:
        parts["span"] = states.new_zeros(())
    total = (parts["span"] + parts["count"] + parts["cls"]) / n_batch
    return total, {k: float(v.detach()) / n_batch for k, v in parts.items()}
