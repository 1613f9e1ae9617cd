"""Inference precision on the torch runtime (the settings themselves: ``runtime.check_setting``).

* ``int8`` on torch quantizes the weights of the encoder's Linear layers (and for span models of the span
  start/end projections and of the two halves of the span MLP's first layer) to int8 with dynamic (per-batch)
  activation scales: fbgemm's VNNI kernels on x86. On onnx the encoder and the span graphs are int8
  (ONNX Runtime's dynamic quantization, see ``lite``); the other heads stay fp32. Both use one weight scale
  per output channel: with one scale per matrix the default model lost 1.8 (onnx) and 2.8 (torch) CrossNER
  points, with one per channel about 0.0-0.1. The span MLP's last layer stays fp32 because span scoring
  folds it into the queries (factorised). The encoder's word-embedding table is stored in bfloat16
  (``Bf16Embedding``): a DeBERTa-v3 table has 128k rows, 375 MiB in fp32 at base size.
* Activation scales on torch use all 256 levels where fbgemm accumulates without int16 saturation (AVX512-VNNI,
  ``full_range``), and 128 elsewhere, as torch does everywhere (``reduce_range``: two u8 x s8 products must fit
  an int16). On our trained default model 256 levels took int8/torch from 95.5 % of the fp32 spans and 57.8 %
  of the classification labels to 98.0 % and 85.9 %, ONNX Runtime's figures (it uses 256), at the same speed
  (docs/benchmarks.md, run AF).
* ``bf16`` runs the encoder and heads under CPU autocast in bfloat16 (useful where the CPU has
  AVX512-BF16 or AMX); decoding always sees fp32 scores.
"""

from __future__ import annotations

import contextlib
import gc
import os

import torch
from torch import nn
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear


def runtime_network(network: nn.Module, precision: str, keep_fp32: bool = True) -> nn.Module:
    """The torch network inference runs: ``network`` itself for fp32/bf16; for int8 a copy whose encoder and
    span projections are int8 (its word embeddings bf16) while ``network`` stays fp32 for saving, or with
    ``keep_fp32=False`` ``network`` itself converted module by module, so that the fp32 weights are released
    as their replacements appear (a worker that only runs inference never keeps both)."""
    if precision in ("fp32", "bf16"):
        return network
    import copy
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor")  # deprecated, still the fbgemm path
    spec = {nn.Linear: per_channel_dynamic_qconfig}  # one scale per output row: see the module docstring
    mapping = int8_linear_mapping()  # read the CPU's flags once, not once per converted module

    def int8(module: nn.Module) -> nn.Module:
        """An int8 version of ``module`` (a word-embedding table in it: bf16): in place, or new modules around
        the same fp32 tensors (not copies of them), so quantizing adds only the int8 weights to the process."""
        if keep_fp32:
            shared = {id(t): t for t in (*module.parameters(), *module.buffers())}
            module = copy.deepcopy(module, shared)
        embeddings = getattr(module, "embeddings", None)
        if isinstance(getattr(embeddings, "word_embeddings", None), nn.Embedding):
            embeddings.word_embeddings = Bf16Embedding(embeddings.word_embeddings.weight)
        return quantize_dynamic(module, spec, dtype=torch.qint8, mapping=mapping, inplace=True)

    if keep_fp32:
        runtime = copy.copy(network)
        runtime._modules = dict(network._modules)  # replace submodules on the copy only
    else:
        runtime = network
        own_tensors(network, weights=False)  # the biases int8 layers take must not be views of the file either
    runtime.encoder = int8(network.encoder)
    if network.architecture == "span":  # the boundary heads stay fp32: their cost is small beside the encoder
        span = network.span_rep.span_rep_layer
        if keep_fp32:
            span = copy.copy(span)
            span._modules = dict(span._modules)
            runtime.span_rep = copy.copy(network.span_rep)
            runtime.span_rep._modules = {"span_rep_layer": span}
        span.project_start, span.project_end = int8(span.project_start), int8(span.project_end)
        span.out_halves = int8(out_halves(span.out_project[0]))
    if not keep_fp32:
        own_tensors(runtime)
        gc.collect()  # the replaced fp32 modules sit in reference cycles until the collector runs
    return runtime


# fbgemm's instruction sets with VNNI, as its FBGEMM_ENABLE_INSTRUCTIONS names them (that variable caps the set)
VNNI_SETS = ("AVX512_E1", "AVX512_E1_256")


def full_range() -> bool:
    """Whether int8 activations may use all 256 levels: fbgemm's kernels for AVX512-VNNI accumulate u8 x s8
    products straight into int32; the others sum pairs into a saturating int16 first (on such kernels 256
    levels turn a product of 462 into 258: ``tests/test_precision.py``)."""
    if torch.backends.quantized.engine not in ("x86", "fbgemm"):
        return False
    cap = os.environ.get("FBGEMM_ENABLE_INSTRUCTIONS")
    if cap is not None and cap.upper() not in VNNI_SETS:
        return False
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512_vnni" in line for line in f)
    except OSError:
        return False


def int8_linear_mapping() -> dict:
    """``quantize_dynamic``'s mapping: which int8 module replaces ``nn.Linear`` on this machine."""
    return {nn.Linear: FullRangeLinear if full_range() else DynamicLinear}


class FullRangeLinear(DynamicLinear):
    """torch's dynamic int8 Linear with 256 activation levels (torch's own uses 128): only where ``full_range``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.ops.quantized.linear_dynamic(x, self._packed_params._packed_params, reduce_range=False)
        return y.to(x.dtype)


def own_tensors(module: nn.Module, weights: bool = True) -> None:
    """Copy the tensors ``module`` keeps (norms, biases, heads) into memory of their own. A checkpoint loads as
    views of one memory map of ``model.safetensors``; quantizing reads every page of it, and while any view
    remains the whole map stays mapped (a base-size DeBERTa-v3 file is 814 MiB), fp32 weights and all.
    ``weights=False`` leaves the weight matrices of Linear and Embedding layers (what int8 replaces) alone."""
    copies: dict[int, torch.Tensor] = {}  # a tensor two modules share stays shared

    def own(t: torch.Tensor) -> torch.Tensor:
        if id(t) not in copies:
            copies[id(t)] = (
                nn.Parameter(t.detach().clone(), t.requires_grad) if isinstance(t, nn.Parameter) else t.clone()
            )
        return copies[id(t)]

    with torch.no_grad():
        for m in module.modules():
            matrices = isinstance(m, (nn.Linear, nn.Embedding)) and not weights
            for table in (m._parameters, m._buffers):
                for name, t in table.items():
                    if t is not None and not (matrices and name == "weight"):
                        table[name] = own(t)
            if isinstance(m, nn.RNNBase):
                m._init_flat_weights()  # the GRU's own list of its parameters


class Bf16Embedding(nn.Module):
    """A word-embedding table stored in bfloat16: half of the fp32 table; a lookup widens only the rows it
    reads. int8 rows with a scale per row (a quarter) cost accuracy where bf16 does not: on the small boundary
    shape 94.4 % of the fp32 spans against 96.4 % (bf16) and 96.5 % (fp32 table), docs/benchmarks.md run AC."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.register_buffer("rows", weight.detach().to(torch.bfloat16))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.rows[ids].float()


def out_halves(first: nn.Linear) -> nn.ModuleDict:
    """out_project's first layer ``[4H, 2H]`` as two Linear layers ``H -> 4H``: the start half and the end
    half (which carries the bias), the factorisation ``SpanMarker.project_words`` computes."""
    h = first.in_features // 2
    start, end = nn.Linear(h, first.out_features, bias=False), nn.Linear(h, first.out_features)
    with torch.no_grad():
        start.weight.copy_(first.weight[:, :h])
        end.weight.copy_(first.weight[:, h:])
        end.bias.copy_(first.bias)
    return nn.ModuleDict({"start": start, "end": end})


def autocast(precision: str):
    """The context the forward pass runs in."""
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()
