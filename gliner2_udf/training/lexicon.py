"""WordNet-typed training records: thousands of type names from the noun hierarchy.

``WordNet`` parses ``data.noun1`` + ``data.noun2`` (together the usual ``data.noun``): synset words,
hypernym (``@``) and instance-hypernym (``@i``) pointers and glosses. Named instances (Einstein,
Paris, Mississippi) get their classes at several levels (physicist, scientist, person).
``Lexicon`` finds named instances in text (exact surface, case-insensitive, word boundaries; a
capitalised name must be capitalised in the text) and builds records typed with a class name at a
random level, often with a coarser ancestor asked alongside, with sibling and random classes as
negatives. Every asked type is checked against every matched mention; a mention is labelled with the
most specific asked type it has (the convention of fine-grained NER benchmarks such as CrossNER).

Example::

    >>> wn = WordNet.load()                                    # doctest: +SKIP
    >>> [wn.name(c) for c in wn.class_levels(wn.find_instance("Einstein"))[:3]]   # doctest: +SKIP
    [['physicist'], ['scientist'], ['person']]
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from . import tables
from .converters import data_root
from .records import make_record

WORDNET_DIR = "lexicon/wordnet-3.0"
# Too generic to be useful entity types.
GENERIC = frozenset(tables.load("lexicon")["GENERIC"])  # data/lexicon.yaml
COARSE = frozenset({"person", "location", "region"})  # generic, yet the coarse types of NER label sets
GENERIC_NAMES = frozenset(g.replace("_", " ") for g in GENERIC) - {"person", "location", "region", "body", "artifact"}
TOKEN = re.compile(r"\w+|[^\w\s]")
MAX_NGRAM = 7


@dataclass
class Synset:
    words: list[str]
    lexname: int
    hypernyms: list[int] = field(default_factory=list)
    instance_of: list[int] = field(default_factory=list)
    gloss: str = ""


class WordNet:
    """The noun part of WordNet 3.0, keyed by synset offset."""

    def __init__(self, synsets: dict[int, Synset]):
        self.synsets = synsets
        self.hyponyms: dict[int, list[int]] = {}
        self.members: dict[int, list[int]] = {}  # class -> its named instances
        for off, s in synsets.items():
            for h in s.hypernyms:
                self.hyponyms.setdefault(h, []).append(off)
            for h in s.instance_of:
                self.members.setdefault(h, []).append(off)
        self.instances = [o for o, s in synsets.items() if s.instance_of]
        self._levels: dict[int, list[list[int]]] = {}

    @classmethod
    def load(cls, root: str | None = None) -> WordNet:
        folder = os.path.join(data_root(root), WORDNET_DIR)
        text = ""
        for part in ("data.noun1", "data.noun2"):  # one file split at a byte boundary: join before splitting lines
            with open(os.path.join(folder, part), encoding="utf-8", errors="replace") as f:
                text += f.read()
        return cls(dict(parse_line(ln) for ln in text.split("\n") if ln[:1].isdigit()))

    def name(self, off: int) -> str:
        """Natural-language class name: the synset's first word, underscores as spaces."""
        return self.synsets[off].words[0].replace("_", " ")

    def names(self, off: int) -> list[str]:
        """The first word and, when usable as a type name, the second (a paraphrase)."""
        words = [w.replace("_", " ") for w in self.synsets[off].words[:2]]
        return [w for i, w in enumerate(words) if i == 0 or (w.islower() and w not in GENERIC_NAMES)]

    def usable(self, off: int) -> bool:
        w = self.synsets[off].words[0]
        return (w not in GENERIC or w in COARSE) and w.islower() and len(w) <= 30 and not any(c.isdigit() for c in w)

    def class_levels(self, off: int, max_levels: int = 8) -> list[list[int]]:
        """Classes of a synset by level: direct classes (``@i``/``@``), their hypernyms, and so on."""
        if off not in self._levels:
            s = self.synsets[off]
            level, seen, out = list(s.instance_of or s.hypernyms), set(), []
            while level and len(out) < max_levels:
                level = [c for c in dict.fromkeys(level) if c not in seen]
                seen.update(level)
                if level:
                    out.append(level)
                level = [h for c in level for h in self.synsets[c].hypernyms]
            self._levels[off] = out
        return self._levels[off]

    def ancestor_names(self, off: int) -> set[str]:
        return {n for lvl in self.class_levels(off) for c in lvl for n in self.names(c)}

    def siblings(self, cls_off: int) -> list[int]:
        """Other hyponyms of the class's hypernyms (hard negatives)."""
        out = []
        for h in self.synsets[cls_off].hypernyms:
            out += [s for s in self.hyponyms.get(h, []) if s != cls_off]
        return out

    def find_instance(self, word: str) -> int | None:
        key = word.replace(" ", "_").lower()
        for off in self.instances:
            if any(w.lower() == key for w in self.synsets[off].words):
                return off
        return None

    def description(self, off: int) -> str:
        return self.synsets[off].gloss.split(";")[0].strip()


def parse_line(line: str) -> tuple[int, Synset]:
    """One ``data.noun`` line: ``offset lex_filenum ss_type w_cnt word lex_id ... p_cnt pointers | gloss``."""
    head, _, gloss = line.partition(" | ")
    f = head.split()
    off, lexname, n = int(f[0]), int(f[1]), int(f[3], 16)
    words = [re.sub(r"\(.*\)$", "", f[4 + 2 * i]) for i in range(n)]
    i = 4 + 2 * n
    s = Synset(words, lexname, gloss=gloss.strip())
    for k in range(int(f[i])):
        sym, target, pos = f[i + 1 + 4 * k : i + 4 + 4 * k]
        if pos == "n" and sym in ("@", "@i"):
            (s.hypernyms if sym == "@" else s.instance_of).append(int(target))
    return off, s


@dataclass
class Mention:
    start: int
    end: int
    synsets: tuple[int, ...]


class Lexicon:
    """Named-instance matcher and typed-record builder over a ``WordNet``.

    Single-word names that are also ordinary words are not matched: a person's bare surname when
    the person has a longer name (``French`` for Daniel Chester French, ``Louis`` for Joe Louis),
    a word that is a non-instance noun with the same capitals (``French`` the language), or an
    adjective (``french``)."""

    def __init__(self, wn: WordNet, adjectives: frozenset = frozenset()):
        self.wn = wn
        # capitalised ordinary nouns (languages, peoples); taxonomic genera (noun.animal/plant: "Paris") excluded
        common = {w for s in wn.synsets.values() if not s.instance_of and s.lexname not in (5, 20) for w in s.words}
        self.surfaces: dict[tuple[str, ...], list[int]] = {}
        for off in wn.instances:
            syn = wn.synsets[off]
            multi = any("_" in w for w in syn.words)
            for w in syn.words:
                if "_" not in w and (w in common or w.lower() in adjectives or (syn.lexname == 18 and multi)):
                    continue
                w = w.replace("_", " ")
                if len(w) >= 3 and not w.islower():
                    key = tuple(TOKEN.findall(w.lower()))
                    if len(key) <= MAX_NGRAM and off not in self.surfaces.get(key, []):
                        self.surfaces.setdefault(key, []).append(off)
        self.first = {}
        for key in self.surfaces:
            self.first[key[0]] = max(self.first.get(key[0], 0), len(key))
        self._pos: dict[tuple, set] = {}
        self._any: dict[tuple, set] = {}

    @classmethod
    def load(cls, root: str | None = None) -> Lexicon:
        with open(os.path.join(data_root(root), WORDNET_DIR, "index.adj"), encoding="utf-8", errors="replace") as f:
            adjectives = frozenset(ln.split(" ", 1)[0].replace("_", " ") for ln in f if not ln.startswith(" "))
        return cls(WordNet.load(root), adjectives)

    def match(self, text: str) -> list[Mention]:
        """Longest-first, non-overlapping named-instance mentions in ``text``."""
        toks = [(m.group().lower(), m.start(), m.end()) for m in TOKEN.finditer(text)]
        out, i = [], 0
        while i < len(toks):
            n_max = self.first.get(toks[i][0], 0)
            hit = None
            if n_max and text[toks[i][1]].isupper():
                for n in range(min(n_max, len(toks) - i), 0, -1):
                    key = tuple(t[0] for t in toks[i : i + n])
                    if key in self.surfaces:
                        s, e = toks[i][1], toks[i + n - 1][2]
                        if (s == 0 or not text[s - 1].isalnum()) and (e == len(text) or not text[e].isalnum()):
                            hit = (n, Mention(s, e, tuple(self.surfaces[key])))
                            break
            if hit:
                out.append(hit[1])
                i += hit[0]
            else:
                i += 1
        return out

    def pos_names(self, m: Mention) -> set[str]:
        """Type names every reading of the mention has."""
        if m.synsets not in self._pos:
            sets = [self.wn.ancestor_names(o) for o in m.synsets]
            self._pos[m.synsets] = set.intersection(*sets)
            self._any[m.synsets] = set.union(*sets)
        return self._pos[m.synsets]

    def any_names(self, m: Mention) -> set[str]:
        self.pos_names(m)
        return self._any[m.synsets]

    def level_of(self, m: Mention, name: str) -> int:
        """How far up the mention's class hierarchy ``name`` sits (0 = a direct class); the
        smallest over the mention's readings."""
        best = 99
        for off in m.synsets:
            for i, lvl in enumerate(self.wn.class_levels(off)):
                if i < best and any(name in self.wn.names(c) for c in lvl):
                    best = i
        return best

    def negative_pool(self) -> list[str]:
        """Usable class names that have named instances: random negatives for typed records."""
        if getattr(self, "_neg_pool", None) is None:
            self._neg_pool = sorted({self.wn.name(c) for c in self.wn.members if self.wn.usable(c)})
        return self._neg_pool

    def type_record(
        self,
        text: str,
        mentions: list[Mention],
        rng: random.Random,
        source: str,
        n_pos: int = 3,
        n_neg: int = 2,
        p_desc: float = 0.3,
        p_coarse: float = 0.6,
        max_random_neg: int = 6,
    ) -> dict | None:
        """Ask classes of 1..n_pos random mentions (a random level), often together with a coarser
        ancestor, plus sibling and random negatives. Gold follows the flat-NER convention of
        fine-grained benchmarks: a mention is labelled with the *most specific* asked type it has
        (a physicist is ``physicist`` when ``physicist`` and ``person`` are both asked, ``person``
        when only ``person`` is). Types an ambiguous mention may or may not have are never asked."""
        if not mentions:
            return None
        maybe = set().union(*(self.any_names(m) - self.pos_names(m) for m in mentions))
        present = set().union(*(self.any_names(m) for m in mentions))
        asked: dict[str, int] = {}

        def ask(name: str, off: int) -> None:
            if name not in maybe and name not in asked:
                asked[name] = off

        for m in rng.sample(mentions, min(len(mentions), rng.randint(1, n_pos))):
            off = rng.choice(m.synsets)
            levels = [[c for c in lvl if self.wn.usable(c)] for lvl in self.wn.class_levels(off)[:6]]
            levels = [lvl for lvl in levels if lvl]
            if not levels:
                continue
            depth = rng.randint(1, min(2, len(levels))) if rng.random() < 0.7 else rng.randint(1, len(levels))
            pick = rng.randrange(depth)
            cls_off = rng.choice(levels[pick])
            name = rng.choice(self.wn.names(cls_off))
            if name not in self.pos_names(m):
                continue
            ask(name, cls_off)
            if rng.random() < p_coarse and pick + 1 < len(levels):  # a coarser ancestor asked alongside
                coarse = rng.choice(rng.choice(levels[pick + 1 :]))
                if self.wn.name(coarse) in self.pos_names(m):
                    ask(self.wn.name(coarse), coarse)
            sibs = [s for s in self.wn.siblings(cls_off) if self.wn.usable(s)]
            for s in rng.sample(sibs, min(len(sibs), rng.randint(0, n_neg))):
                if self.wn.name(s) not in present:
                    ask(self.wn.name(s), s)
        if not asked:
            return None
        pool = self.negative_pool()
        for neg in rng.sample(pool, rng.randint(0, max_random_neg)):
            if neg not in present:
                ask(neg, -1)
        ents: dict[str, list] = {t: [] for t in asked}
        for m in mentions:
            has = [t for t in asked if t in self.pos_names(m)]
            if has:
                levels = {t: self.level_of(m, t) for t in has}
                low = min(levels.values())
                for t in has:
                    if levels[t] == low:
                        ents[t].append([m.start, m.end])
        if not any(ents.values()):
            return None
        rec = make_record(text, source)
        rec["entities"] = ents
        if rng.random() < p_desc:
            rec["entity_descriptions"] = {
                t: self.wn.description(o) for t, o in asked.items() if o >= 0 and self.wn.description(o)
            }
        return rec

    # ------------------------------------------------------------ record sources
    def gloss_texts(self, max_words: int = 64) -> list[tuple[str, list[Mention]]]:
        """Glosses that mention named instances; an instance's gloss is prefixed with its name,
        so that its own name is a mention too ("Albert Einstein: physicist born in Germany ...")."""
        if getattr(self, "_glosses", None) and self._glosses[0] == max_words:
            return self._glosses[1]
        out = []
        for s in self.wn.synsets.values():
            gloss = s.gloss.strip()
            if not gloss or len(gloss.split()) > max_words:
                continue
            if s.instance_of:
                names = [w.replace("_", " ") for w in s.words]
                gloss = f"{max(names, key=len) if len(names) > 1 else names[0]}: {gloss}"
            ments = self.match(gloss)
            if ments:
                out.append((gloss, ments))
        self._glosses = (max_words, out)
        return out

    def gloss_records(self, rng: random.Random, texts=None) -> Iterator[dict]:
        """Endless typed records from glosses, in random order, typed anew at every pass."""
        texts = texts or self.gloss_texts()
        while True:
            for i in rng.sample(range(len(texts)), len(texts)):
                rec = self.type_record(*texts[i], rng, "wordnet_gloss")
                if rec:
                    yield rec

    def sentence_records(self, records: Iterable[dict], rng: random.Random) -> Iterator[dict]:
        """Named instances inside labelled sentences, typed from WordNet; the sentence's own
        labels are kept (asked WordNet types with the same name are skipped)."""
        for base in records:
            ments = self.match(base["text"])
            rec = self.type_record(base["text"], ments, rng, "wordnet_" + base.get("source", "text"), n_neg=1)
            if not rec:
                continue
            # A span the sentence labels coarsely (location) but WordNet types finely (country)
            # keeps only the finer, asked type.
            own = base.get("entities", {})
            typed = {t: v for t, v in rec["entities"].items() if t not in own}
            fine = {tuple(s) for v in typed.values() for s in v}
            own = {t: [s for s in v if tuple(s) not in fine] for t, v in own.items()}
            rec["entities"] = {**typed, **own}
            yield rec
