"""Inference precision on the torch runtime (the settings themselves: ``runtime.check_setting``).

* ``int8`` on torch quantizes the weights of the encoder's Linear layers (and for span models of the span
  start/end projections and of the two halves of the span MLP's first layer) to int8 with dynamic (per-batch)
  activation scales: fbgemm's VNNI kernels on x86. On onnx the encoder and the span graphs are int8
  (ONNX Runtime's dynamic quantization, see ``lite``); the other heads stay fp32. Both use one weight scale
  per output channel: with one scale per matrix the default model lost 1.8 (onnx) and 2.8 (torch) CrossNER
  points, with one per channel about 0.0-0.1. The span MLP's last layer stays fp32 because span scoring
  folds it into the queries (factorised).
* ``bf16`` runs the encoder and heads under CPU autocast in bfloat16 (useful where the CPU has
  AVX512-BF16 or AMX); decoding always sees fp32 scores.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn


def runtime_network(network: nn.Module, precision: str) -> nn.Module:
    """The torch network inference runs: ``network`` itself for fp32/bf16, otherwise a copy whose encoder
    and span projections are int8; ``network`` itself stays fp32 for saving."""
    if precision in ("fp32", "bf16"):
        return network
    import copy
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    runtime = copy.copy(network)
    runtime._modules = dict(network._modules)  # replace submodules on the copy only
    warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor")  # deprecated, still the fbgemm path
    spec = {nn.Linear: per_channel_dynamic_qconfig}  # one scale per output row: see the module docstring

    def int8(module: nn.Module) -> nn.Module:
        """An int8 copy of ``module``: new modules around the same fp32 tensors (not copies of them), so
        quantizing adds only the int8 weights to the process."""
        shared = {id(t): t for t in (*module.parameters(), *module.buffers())}
        return quantize_dynamic(copy.deepcopy(module, shared), spec, dtype=torch.qint8, inplace=True)

    runtime.encoder = int8(network.encoder)
    if network.architecture == "span":  # the boundary heads stay fp32: their cost is small beside the encoder
        span = copy.copy(network.span_rep.span_rep_layer)
        span._modules = dict(span._modules)
        runtime.span_rep = copy.copy(network.span_rep)
        runtime.span_rep._modules = {"span_rep_layer": span}
        span.project_start, span.project_end = int8(span.project_start), int8(span.project_end)
        span.out_halves = int8(out_halves(span.out_project[0]))
    return runtime


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
