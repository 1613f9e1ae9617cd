"""Export one of our GLiNER2 checkpoints to the ONNX layout ``fast_gliner`` (PyPI ``fast-gliner==0.3.2``) loads.

What ``fast_gliner.FastGLiNER2`` loads (found by probing the 0.3.2 wheel with stand-in graphs; its error
messages name the inputs, see README "Benchmarks"):

* ``<dir>/tokenizer.json`` and ``<dir>/model.onnx`` (``GLiNER2::from_dir``: "supports only the default ONNX
  layout"); no config file is required.
* one graph, called once per text and task with batch size 1 ("GLiNER2 runtime expects a batch size of 1
  per ONNX invocation"), inputs (all int64)::

      input_ids        [1, T]   "( [P] <task> ( [E] label1 [E] label2 ... ) ) [SEP_TEXT] word word ..."
      attention_mask   [1, T]   (no [CLS]/[SEP]: the same sequence our processor builds for an entity task)
      text_positions   [W]      first sub-token of every text word
      schema_positions [1 + L]  the [P] token, then each label's [E] token
      span_idx         [1, W*max_width, 2]  (start, end) word of every span, (0, 0) past the text

  and one output ``span_scores`` ``[1, L, W, max_width]``, read as probabilities (a 0.5 threshold and
  greedy flat decoding happen in Rust).

The graph written here is our network's exact entity path on that input: encoder, first-sub-token
pooling, the count head on [P] (no instance -> all scores 0, as our engine and the reference do for an
entity task whose count is 0), one count-embedding query per label, the span marker and
``sigmoid(query . span)``; spans past the last word score 0. ``span_idx`` is accepted (fast_gliner
insists on the input) but not needed: spans are enumerated in the same (start, width) order.

Limits that no export can lift (the runtime, not the graph, decides them):

* classification and structure tasks are sent as the same ``[E]`` entity prompt ("( [P] classification
  ( [E] positive [E] negative ) )", "( [P] deal ( [E] buyer [E] price ) )") and scored from span scores;
  a GLiNER2 checkpoint classifies with its ``classifier`` head on ``[L]`` tokens and fills structures from
  ``[C]`` field tokens with one query per predicted instance, and neither token type nor the task name
  reaches the graph in a form that would let it switch heads. Only entity results are comparable.
* no windowing: a text plus prompt longer than the encoder's 512 positions fails; one text per call.
* the tokenizer's fixed 128-token padding/truncation (as the reference writes tokenizer.json) would cut
  every text to 128 tokens, so the exported tokenizer.json has padding and truncation removed.

Usage (the project venv exports; fast_gliner runs in its own venv, see ``fast_gliner_run.py``)::

    .venv/bin/python benchmarks/fast_gliner_export.py CHECKPOINT OUT_DIR [--int8]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

INPUTS = ["input_ids", "attention_mask", "text_positions", "schema_positions", "span_idx"]


class FastGlinerGraph(nn.Module):
    """Our GLiNER2 network's entity scoring, with fast_gliner's inputs and output."""

    def __init__(self, network):
        super().__init__()
        self.net = network
        self.width = network.max_width

    def forward(self, input_ids, attention_mask, text_positions, schema_positions, span_idx):
        net, width = self.net, self.width
        states = net.encode(input_ids, attention_mask)[0]  # [T, H]
        words = states[text_positions]  # [W, H]
        prompt, fields = states[schema_positions[:1]], states[schema_positions[1:]]
        present = (net.count_pred(prompt).argmax(-1) > 0).float()  # [1]: the count head says >= 1
        queries = net.count_embed(fields, 1)[0]  # [L, H], instance 0

        marker = net.span_rep.span_rep_layer
        first, last = marker.out_project[0], marker.out_project[-1]
        h, n = words.shape[-1], words.shape[0]
        start = torch.relu(marker.project_start(words)) @ first.weight[:, :h].T  # [W, 4H]
        end = torch.relu(marker.project_end(words)) @ first.weight[:, h:].T + first.bias  # [W, 4H]
        offsets = torch.arange(width, device=words.device)
        index = torch.arange(n, device=words.device)[:, None] + offsets[None, :]  # [W, width]
        valid = index < n
        ends = nn.functional.pad(end, (0, 0, 0, width))[index]  # [W, width, 4H]
        hidden = torch.relu(start[:, None, :] + ends)  # [W, width, 4H]
        q = queries @ last.weight  # [L, 4H]
        logits = torch.einsum("ld,nwd->lnw", q, hidden) + (queries @ last.bias)[:, None, None]
        scores = torch.sigmoid(logits) * valid[None].float() * present
        return (scores + 0.0 * span_idx.sum().float())[None]  # [1, L, W, width]


def export(checkpoint: str, out_dir: str, int8: bool = False, network=None) -> str:
    """Write ``out_dir/model.onnx`` and ``out_dir/tokenizer.json``; ``network`` overrides the checkpoint's
    weights (e.g. the benchmark's forced count head)."""
    from gliner2_udf.checkpoint import load_checkpoint

    net, _ = load_checkpoint(checkpoint)
    if network is not None:
        net = network
    net = net.eval().float()
    os.makedirs(out_dir, exist_ok=True)
    graph = FastGlinerGraph(net).eval()
    ids = torch.tensor([[1006, 30524, 11422, 1006, 30526, 2711, 30526, 2194, 1007, 1007, 30523, 5199, 5660, 3216]])
    n_words = 3
    example = (
        ids,
        torch.ones_like(ids),
        torch.tensor([11, 12, 13]),
        torch.tensor([1, 4, 6]),
        torch.zeros(1, n_words * net.max_width, 2, dtype=torch.long),
    )
    path = os.path.join(out_dir, "model.onnx")
    fp32 = path if not int8 else os.path.join(out_dir, "model.fp32.onnx")
    with torch.no_grad():
        torch.onnx.export(
            graph,
            example,
            fp32,
            input_names=INPUTS,
            output_names=["span_scores"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={
                "input_ids": {1: "seq"},
                "attention_mask": {1: "seq"},
                "text_positions": {0: "words"},
                "schema_positions": {0: "labels1"},
                "span_idx": {1: "spans"},
                "span_scores": {1: "labels", 2: "words"},
            },
        )
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(fp32, path, weight_type=QuantType.QInt8)
        os.remove(fp32)
    with open(os.path.join(checkpoint, "tokenizer.json"), encoding="utf-8") as fh:
        tok = json.load(fh)
    tok["padding"] = None
    tok["truncation"] = None
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as fh:
        json.dump(tok, fh)
    return out_dir


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("out_dir")
    ap.add_argument("--int8", action="store_true", help="ONNX Runtime dynamic int8 quantization of the graph")
    a = ap.parse_args(argv)
    print(export(a.checkpoint, a.out_dir, a.int8))
    return 0


if __name__ == "__main__":
    sys.exit(main())
