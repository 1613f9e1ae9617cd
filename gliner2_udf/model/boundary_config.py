"""The ``boundary_head`` settings of a GLiNER2.5 ("boundary") checkpoint, as ``config.json`` stores them.

Every field the reference writes is kept, training-only ones included, so that a checkpoint saved from this
configuration round-trips. ``from_config_json`` reads the whole ``config.json``: unknown keys are ignored,
values are coerced to the field's type and validated; a bad value raises ``CheckpointError`` naming
``boundary_head.<field>``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import CheckpointError

CURRENT_CONFIG_VERSION = 3  # older configs (or none) predate records and relations: both default to off


@dataclass(frozen=True)
class BoundaryConfig:
    boundary_dim: int = 128
    pair_dim: int = 128
    boundary_refinement_layers: int = 1
    boundary_ffn_multiplier: float = 2.0
    start_top_k: int = 16
    end_top_k: int = 16
    ends_per_start: int = 8
    starts_per_end: int = 8
    candidate_budget: int = 128
    training_candidate_budget: int = 160
    max_gold_per_query: int = 32
    end_block_size: int = 256
    bidirectional_proposals: bool = True
    use_inside_evidence: bool = True
    dropout: float = 0.1
    export_mode: str = "auto"
    vectorized_pair_elements: int = 16777216
    boundary_negative_weight: float = 1.0
    boundary_marginal_loss: str = "bce"
    loss_reduction: str = "global"
    boundary_focal_gamma_positive: float = 0.0
    boundary_focal_gamma_negative: float = 2.0
    boundary_focal_clip: float = 0.05
    hard_negatives_per_positive: int = 5
    minimum_hard_negatives: int = 8
    hard_negative_keep_all_when_absent: bool = False
    enable_span_content: bool = False
    content_dim: int = 64
    content_soft_max_pool: bool = False
    enable_rotary_endpoints: bool = False
    rotary_base: float = 10000.0
    boundary_attention_layers: int = 0
    boundary_attention_heads: int = 4
    boundary_attention_window: int = 0
    query_conditioned_inside_weight: bool = False
    endpoint_difference_features: bool = False
    reranker_endpoint_compat: bool = True
    multihead_pair_compat_heads: int = 8
    boundary_top_k_alpha: float = 0.0
    boundary_top_k_max: int = 128
    boundary_top_k_bucket: int = 8
    candidate_pool: str = "per_query"
    pool_boundary_top_k: int = 64
    pool_size: int = 384
    min_pool_per_query: int = 8
    candidate_attention_layers: int = 2
    candidate_attention_heads: int = 4
    query_attention_layers: int = 1
    enable_abstention: bool = True
    abstention_threshold: float = 0.5
    proposal_loss_weight: float = 0.3
    consistency_loss_weight: float = 0.1
    rerank_listwise_weight: float = 0.3
    soft_iou_aux_weight: float = 0.2
    soft_iou_anneal_steps: int = 20000
    abstention_loss_weight: float = 0.2
    consistency_warmup_steps: int = 2000
    enable_count_head: bool = True
    count_loss_weight: float = 0.2
    adaptive_threshold: bool = False
    overlap_policy: str = "flat"
    pair_temperature: float = 1.0
    relation_temperature: float = 1.0
    record_temperature: float = 1.0
    classification_temperature: float = 1.0
    negative_query_ratio: float = 0.5
    max_negative_queries_per_batch: int = 64
    classification_loss_weight: float = 1.0
    enable_records: bool = True
    record_dim: int = 128
    record_instance_queries: int = 32
    record_anchor_proposal_threshold: float = 0.2
    record_anchor_threshold: float = 0.5
    record_field_threshold: float = 0.5
    record_loss_weight: float = 1.0
    enable_relations: bool = True
    relation_heads_per_type: int = 32
    relation_tails_per_type: int = 32
    relation_pair_cap: int = 128
    relation_loss_weight: float = 1.0
    relation_argument_proposal_threshold: float = 0.0
    directional_relation_states: bool = False
    relation_biaffine_content: bool = False

    @classmethod
    def from_config_json(cls, raw: dict) -> BoundaryConfig:
        """The settings of a parsed ``config.json``; see the module docstring."""
        head = raw.get("boundary_head") or {}
        if not isinstance(head, dict):
            raise CheckpointError(f"boundary_head: expected an object, got {type(head).__name__}")
        values = {}
        version = raw.get("config_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < CURRENT_CONFIG_VERSION:
            values = {"enable_records": False, "enable_relations": False}
        for field in dataclasses.fields(cls):
            if field.name in head:
                values[field.name] = _coerce(field.name, field.type, head[field.name])
        config = cls(**values)
        config.validate()
        return config

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def pool_attention(self) -> bool:
        """Whether the shared scorer's candidate or query attention is on."""
        return self.candidate_attention_layers > 0 or self.query_attention_layers > 0

    def validate(self) -> None:
        checks = [
            (
                "multihead_pair_compat_heads",
                self.pair_dim % self.multihead_pair_compat_heads == 0,
                f"a divisor of pair_dim ({self.pair_dim})",
            ),
            (
                "training_candidate_budget",
                self.training_candidate_budget >= self.candidate_budget,
                f">= candidate_budget ({self.candidate_budget})",
            ),
            ("max_gold_per_query", self.max_gold_per_query >= 1, "a positive integer"),
            ("overlap_policy", self.overlap_policy in ("flat", "nested", "longest"), "one of flat, nested, longest"),
            ("candidate_pool", self.candidate_pool in ("per_query", "shared"), "one of per_query, shared"),
            (
                "export_mode",
                self.export_mode in ("auto", "streaming", "vectorized"),
                "one of auto, streaming, vectorized",
            ),
            (
                "boundary_dim",
                not self.enable_rotary_endpoints or self.boundary_dim % 2 == 0,
                "an even number with enable_rotary_endpoints",
            ),
            (
                "pair_dim",
                not self.enable_rotary_endpoints or self.pair_dim % 2 == 0,
                "an even number with enable_rotary_endpoints",
            ),
            (
                "boundary_attention_heads",
                self.boundary_attention_layers == 0 or self.boundary_dim % self.boundary_attention_heads == 0,
                f"a divisor of boundary_dim ({self.boundary_dim})",
            ),
            (
                "candidate_attention_heads",
                not self.pool_attention or self.pair_dim % self.candidate_attention_heads == 0,
                f"a divisor of pair_dim ({self.pair_dim})",
            ),
            (
                "boundary_top_k_alpha",
                self.boundary_top_k_alpha >= 0
                and not (self.export_mode == "vectorized" and self.boundary_top_k_alpha > 0),
                "0 with export_mode 'vectorized', else >= 0",
            ),
        ]
        for name in (
            "abstention_threshold",
            "record_anchor_proposal_threshold",
            "record_anchor_threshold",
            "record_field_threshold",
            "relation_argument_proposal_threshold",
            "dropout",
        ):
            checks.append((name, 0.0 <= getattr(self, name) <= 1.0, "a number in [0, 1]"))
        for name in (
            "boundary_dim",
            "pair_dim",
            "start_top_k",
            "end_top_k",
            "ends_per_start",
            "starts_per_end",
            "candidate_budget",
            "end_block_size",
            "content_dim",
            "multihead_pair_compat_heads",
            "boundary_attention_heads",
            "boundary_top_k_max",
            "boundary_top_k_bucket",
            "pool_boundary_top_k",
            "pool_size",
            "candidate_attention_heads",
            "record_dim",
            "record_instance_queries",
            "relation_heads_per_type",
            "relation_tails_per_type",
            "relation_pair_cap",
            "vectorized_pair_elements",
        ):
            checks.append((name, getattr(self, name) >= 1, "a positive integer"))
        for name in (
            "boundary_refinement_layers",
            "boundary_attention_layers",
            "boundary_attention_window",
            "min_pool_per_query",
            "candidate_attention_layers",
            "query_attention_layers",
        ):
            checks.append((name, getattr(self, name) >= 0, "a non-negative integer"))
        for name in (
            "pair_temperature",
            "relation_temperature",
            "record_temperature",
            "classification_temperature",
            "boundary_ffn_multiplier",
            "rotary_base",
        ):
            checks.append((name, getattr(self, name) > 0, "a positive number"))
        for name, ok, expected in checks:
            if not ok:
                raise CheckpointError(f"boundary_head.{name}: expected {expected}, got {getattr(self, name)!r}")


def _coerce(name: str, kind: str, value):
    """``value`` as the field's type (``int``, ``float``, ``bool`` or ``str``), else ``CheckpointError``."""
    expected = {"int": "an integer", "float": "a number", "bool": "a boolean", "str": "a string"}[kind]
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
    elif kind == "str":
        if isinstance(value, str):
            return value.strip().lower()
    elif not isinstance(value, bool):
        try:
            number = float(value)
            if kind == "float":
                return number
            if number.is_integer():
                return int(number)
        except (TypeError, ValueError, OverflowError):
            pass
    raise CheckpointError(f"boundary_head.{name}: expected {expected}, got {value!r}")
