"""Words with character offsets, text normalisation, and long-document windows.

The word splitter follows the reference: URLs, e-mail addresses, @handles, word runs joined by
hyphens or underscores (letters, digits, combining marks, zero-width joiners) and otherwise single
non-space characters. Words are lower-cased after splitting; offsets are exclusive-end character
offsets into the text that was split.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache


@lru_cache(maxsize=1)
def _word_pattern() -> re.Pattern:
    marks = "".join(chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)).startswith("M"))
    w = "[\\w" + re.escape(marks) + "\u200c\u200d]"
    return re.compile(
        r"(?:https?://[^\s]+|www\.[^\s]+)"
        r"|[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}"
        r"|@[a-z0-9_]+"
        rf"|{w}+(?:[-_]{w}+)*"
        r"|\S",
        re.IGNORECASE,
    )


@dataclass(frozen=True)
class Words:
    """The words of one text: lower-cased tokens and their character spans in ``text``."""

    text: str
    tokens: list[str]
    starts: list[int]
    ends: list[int]

    def __len__(self) -> int:
        return len(self.tokens)


def split_words(text: str) -> Words:
    tokens, starts, ends = [], [], []
    for m in _word_pattern().finditer(text):
        tokens.append(m.group().lower())
        starts.append(m.start())
        ends.append(m.end())
    return Words(text, tokens, starts, ends)


def normalize(text: str | None) -> str:
    """The reference's normalisation: empty text becomes ".", a final ".", "!" or "?" is ensured.

    Offsets stay valid for the caller's text because characters are only appended.
    """
    if not text:
        return "."
    return text if text.endswith((".", "!", "?")) else text + "."


def is_blank(text: str | None) -> bool:
    return text is None or not isinstance(text, str) or not text.strip()


def token_windows(token_counts: list[int], budget: int, overlap: int) -> list[tuple[int, int]]:
    """Word windows ``[start, end)`` whose sub-tokens fit ``budget``; neighbours share ``overlap`` words.

    A single word longer than the budget gets a window of its own (the processor cuts its sub-tokens).
    """
    n = len(token_counts)
    out, start = [], 0
    while start < n:
        end, used = start, 0
        while end < n and (end == start or used + token_counts[end] <= budget):
            used += token_counts[end]
            end += 1
        out.append((start, end))
        if end == n:
            break
        start = max(end - min(overlap, (end - start) // 2), start + 1)  # a window advances by half at least
    return out or [(0, 0)]
