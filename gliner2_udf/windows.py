"""Texts -> the windows the encoder reads, in batches.

A text whose words fit beside the schema prompt is one window; a longer one becomes several overlapping
windows (``text.token_windows``), each decoded on its own and merged back per text (``decoding.merge``).
Windows of all texts are sorted by length and cut into batches (``batch_bounds``), so batches carry
little padding.
"""

from __future__ import annotations

from dataclasses import dataclass

from .decoding import WindowView
from .processor import Encoded, Processor
from .schema import CompiledSchema
from .text import is_blank, normalize, split_words, token_windows

# A batch holds at most this many attention cells (windows x tokens^2): 16 short texts of up to 181 tokens,
# but only 2 windows of 512. Long windows in big batches thrash the cache with their [B, heads, T, T]
# scores: on 4 long documents, 2 windows per batch instead of 16 ran 1.2x faster on int8/torch, and 1.8x
# on the lite int8 runtime when its ONNX attention was still unfused (measured before onnx_export._fuse).
MAX_ATTENTION_CELLS = 1 << 19


@dataclass
class Window:
    text_index: int
    view: WindowView
    encoded: Encoded


def text_windows(
    processor: Processor, compiled: CompiledSchema, index: int, text, max_tokens: int, overlap: int
) -> list[Window]:
    """The windows of text number ``index`` (none for a blank text), each at most ``max_tokens`` with the
    schema prompt, consecutive windows sharing ``overlap`` words."""
    if is_blank(text):
        return []
    words = split_words(normalize(text))
    st = processor.schema_tokens(compiled)
    budget = max_tokens - processor.schema_length(compiled)  # >= MIN_TEXT_TOKENS by passes.plan_passes
    counts = [min(len(x), budget) for x in processor.word_ids(words.tokens)]
    spans = [(0, len(words))] if sum(counts) <= budget else token_windows(counts, budget, overlap)
    out = []
    for a, b in spans:
        view = WindowView(text, words.starts[a:b], words.ends[a:b], len(st.prefix_words), list(st.prefix_words))
        out.append(Window(index, view, processor.encode(compiled, words.tokens[a:b], budget)))
    return out


def batch_bounds(lengths: list[int], batch_size: int, max_cells: int = MAX_ATTENTION_CELLS) -> list[tuple[int, int]]:
    """``[a, b)`` batches over windows sorted by ``lengths`` (ascending): at most ``batch_size`` windows,
    and at most ``max_cells`` attention cells (windows x longest^2), but always at least one window."""
    out, a = [], 0
    while a < len(lengths):
        b = a + 1
        while b < len(lengths) and b - a < batch_size and (b + 1 - a) * lengths[b] ** 2 <= max_cells:
            b += 1
        out.append((a, b))
        a = b
    return out
