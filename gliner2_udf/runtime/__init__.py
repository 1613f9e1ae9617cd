"""How the network runs on a CPU: the runtimes and the one check of their settings.

* ``torch_runner`` - ``model.GLiNER2Network`` in torch, in fp32, int8 (``precision``) or bf16, and
  ``model.BoundaryNetwork`` (GLiNER2.5) in fp32;
* ``lite`` - the same forward pass in ONNX Runtime and numpy, no torch in the process; ``lite_export`` and
  ``onnx_export`` write the lite folder it runs, from a loaded network;
* ``workers`` - ``batch_extract`` in forked single-threaded processes.

``backend="auto"`` (the shipped job's setting) picks the faster runtime for the checkpoint (``fastest_backend``).

This module imports nothing heavy: the configuration checks settings with it on a driver without torch.
"""

from __future__ import annotations

from ..errors import FieldError

PRECISIONS = ("fp32", "int8", "bf16")  # fp32: exact; int8: dynamic quantization; bf16: CPU autocast (torch)
BACKENDS = ("torch", "onnx", "auto")  # onnx: the lite runtime (fp32 or int8); auto: fastest_backend


def check_setting(precision: str, backend: str, where: str = "") -> None:
    """Raise a ``FieldError`` (a ``ValueError``) naming ``<where>precision`` or ``<where>backend`` unless the
    pair is one a runtime runs."""
    if precision not in PRECISIONS:
        raise FieldError(f"{where}precision", f"expected one of {', '.join(map(repr, PRECISIONS))}, got {precision!r}")
    if backend not in BACKENDS:
        raise FieldError(f"{where}backend", f"expected one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
    if backend == "onnx" and precision == "bf16":
        raise FieldError(
            f"{where}precision", "bf16 is a torch-backend setting; use 'fp32' or 'int8' with backend 'onnx'"
        )


def fastest_backend(network, precision: str) -> str:
    """What ``backend="auto"`` runs ``network`` on at ``precision``: the lite runtime (onnx) for span checkpoints
    on our BERT-family encoder, whose export fuses attention (MiniLM, int8, 2 one-thread processes: 97 docs/s
    against torch's 83, docs/benchmarks.md run U); torch for everything else: DeBERTa encoders (int8,
    ``gliner2-base-v1`` shape: torch 9.5 docs/s against onnx 8.2, run AB), boundary checkpoints (torch only) and
    bf16 (a torch setting)."""
    from ..model.bert import BertEncoder

    lite = network.architecture == "span" and isinstance(network.encoder, BertEncoder) and precision != "bf16"
    return "onnx" if lite else "torch"


def load_runner(
    network, tokenizer, precision: str, backend: str, model_version: str, storage_dtype=None, inference_only=False
):
    """The runner for a loaded torch ``network``: ``torch_runner.TorchRunner``, or for ``backend="onnx"`` a
    ``lite.LiteRunner`` on the network's lite folder (exported to the cache on first use); ``backend="auto"``
    is ``fastest_backend``'s choice. ``inference_only``: a torch runner converts ``network`` itself instead of
    a copy (``precision.runtime_network``) and keeps no fp32 network."""
    check_setting(precision, backend)
    if backend == "auto":
        backend = fastest_backend(network, precision)
    if getattr(network, "architecture", "span") == "boundary":
        if backend != "torch" or precision == "bf16":
            raise FieldError(
                "precision" if backend == "torch" else "backend",
                f"a boundary (GLiNER2.5) checkpoint runs with precision 'fp32' or 'int8' on backend 'torch' for "
                f"now; got {precision!r} on {backend!r}",
            )
        from .torch_runner import BoundaryRunner

        return BoundaryRunner(network, precision, keep_fp32=not inference_only)
    if backend == "onnx":
        from .lite import LiteRunner
        from .lite_export import cached_lite

        runner = LiteRunner(cached_lite(network, tokenizer, precision, model_version, storage_dtype))
        runner.network = network.eval()  # kept for save_pretrained; inference never touches it
        return runner
    from .torch_runner import TorchRunner

    return TorchRunner(network, precision, keep_fp32=not inference_only)
