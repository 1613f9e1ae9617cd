"""A hostile document corpus, generated here (nothing is downloaded), and the checks every row must pass.

Used by ``test_hostile_input.py`` (engine and UDF core, no Spark) and ``test_faults.py`` (the Spark job).
"""

from __future__ import annotations

import json
import random

SCHEMA = {
    "entities": ["person", "company"],
    "classifications": [{"name": "sentiment", "labels": ["positive", "negative", "neutral"]}],
    "structures": [
        {
            "name": "deal",
            "fields": [
                {"name": "buyer", "dtype": "str"},
                {"name": "items", "dtype": "list"},
                {"name": "currency", "dtype": "str", "choices": ["usd", "eur"]},
            ],
        }
    ],
}
WORDS = "Tim Cook Apple Acme Berlin Paris invoice total price deal buyer items sold".split()
MB = 1_000_000


def _words(n_chars: int, seed: int) -> str:
    rnd = random.Random(seed)
    out, size = [], 0
    while size < n_chars:
        w = rnd.choice(WORDS) + rnd.choice(" " * 12 + ".,\n")
        out.append(w)
        size += len(w)
    return "".join(out)[:n_chars]


def _random_unicode(rnd: random.Random, n: int) -> str:
    """Code points from every plane, no surrogates (a Parquet string cannot hold them)."""
    chars = []
    for _ in range(n):
        plane = rnd.choice([0x7F, 0x800, 0x10000, 0x30000, 0x110000])
        c = rnd.randrange(plane)
        chars.append(chr(c) if not 0xD800 <= c <= 0xDFFF else "?")
    return "".join(chars)


def corpus(big: bool = True) -> dict[str, str | bytes | None]:
    """id -> text (str), raw bytes (possibly not UTF-8) or None. ``big`` adds the 1 MB and 10 MB documents."""
    rnd = random.Random(7)
    docs: dict[str, str | bytes | None] = {
        "null": None,
        "empty": "",
        "whitespace": " \t\n\r  \u00a0\u2003\u3000\u2028\u2029 ",
        "control-only": "\x00\x01\x02\x1b\x7f\x08\x0c",
        "control-mixed": "Tim\x00Cook of\x07Apple met\x1b[31m Acme\x7f in Berlin.",
        "zero-width-only": "\u200b\u200c\u200d\ufeff\u2060",
        "zero-width-mixed": "Tim\u200bCook works at Ap\u200dple and \ufeffAcme.",
        "combining": "Te\u0301st Zu\u0308rich Cafe\u0301 " + "Z" + "\u0336\u0321\u034e" * 60 + " Apple",
        "rtl": "\u202eTim Cook\u202c works at \u05d0\u05e4\u05dc Apple. "
        "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 Acme",
        "cjk": "\u6771\u4eac\u3067\u30a2\u30c3\u30d7\u30eb\u306e"
        "\u30c6\u30a3\u30e0\u30fb\u30af\u30c3\u30af\u306b\u4f1a\u3063\u305f\u3002"
        "\u5317\u4eac\u5e02\u671d\u9633\u533a\u3002\uc11c\uc6b8\uc5d0\uc11c \ub9cc\ub0ac\ub2e4. Tim Cook",
        "emoji": "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 Tim \U0001f3f3\ufe0f\u200d\U0001f308 Cook "
        "\U0001f44d\U0001f3fd Apple \U0001f1e9\U0001f1ea " * 20,
        "html": "<html><head><script>alert('x')</script></head><body><p class=\"a\">Tim Cook &amp; Apple</p>"
        + "<div><span>" * 300
        + "Acme"
        + "</span></div>" * 300
        + "</body></html>",
        "json": json.dumps(
            {
                "person": "Tim Cook",
                "company": ["Apple", "Acme"],
                "nested": [[[{"k": None}]]] * 50,
                "escaped": '\u0000\u001f"\\',
            }
        ),
        "long-word": "a" * 200_000,
        "punctuation": "!?.,;:()[]{}-\u2013\u2014\u2026'\"/\\|@#$%^&*" * 1000,
        "private-use": "\ue000\uf8ff\U000f0000\U0010fffd Tim Cook \uffff\ufffe",
        "many-tiny-words": "a b c " * 10_000,
        "crlf-tabs": "Tim Cook\r\n\tApple\r\n\r\n\t\tAcme\rBerlin",
        "binary-latin1": bytes(range(256)).decode("latin-1") * 40,
        "binary-not-utf8": bytes(rnd.randrange(256) for _ in range(4000)) + b"\xff\xfe\xed\xa0\x80",
        "utf8-bom-bytes": "\ufeffTim Cook sold Apple.".encode("utf-8"),
        "normal": "Tim Cook of Apple sold 3 chips to Acme in Berlin for $5.",
    }
    for i in range(10):
        docs[f"random-unicode-{i}"] = _random_unicode(rnd, rnd.randrange(1, 3000))
    if big:
        docs["doc-1mb"] = _words(MB, seed=1)
        docs["doc-10mb"] = _words(10 * MB, seed=2)
    return docs


def as_text(value) -> str | None:
    """What the job stores and offsets refer to: the UTF-8 decoding of bytes, else the value."""
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return value


def spans_of(row: dict) -> list[dict]:
    """Every span with offsets in an output row (entities, structure fields, relations)."""
    out = list(row.get("entities") or [])
    for value in row.values():
        if isinstance(value, list):
            for inst in value:
                if isinstance(inst, dict) and "label" not in inst:
                    for leaf in inst.values():
                        for s in leaf if isinstance(leaf, list) else [leaf]:
                            if isinstance(s, dict) and "start" in s:
                                out.append(s)
    return [s for s in out if s.get("start") is not None]


def check_row(value, row: dict) -> int:
    """A row's status and message are set, and every offset points into its text. Returns the spans checked."""
    assert row["status"] in ("ok", "empty", "truncated", "error"), row["status"]
    if row["status"] != "ok":
        assert isinstance(row["error"], str) and row["error"], row
    else:
        assert row["error"] is None
    text = as_text(value)
    spans = spans_of(row)
    for s in spans:
        assert text is not None
        assert 0 <= s["start"] < s["end"] <= len(text), (s, len(text))
        assert text[s["start"] : s["end"]] == s["text"], (s, text[s["start"] : s["end"]])
    return len(spans)
