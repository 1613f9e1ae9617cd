"""Fine-grained role typing records (issue 20): who a name is, read from its context.

CrossNER's errors are coarse types winning: a writer, a musical artist or a politician typed ``person``, a party
typed ``organization``. The labelled sets type people ``person`` about 70k times and WordNet has few bands, parties,
albums or journals, so the model rarely sees a finer type beside its coarse one. Each record here puts coined or
faker names in a sentence that says what they are (``{writer}'s novel {book} ...``) and asks their types:

* a mention's gold type is the finest asked type it has: its kind's name (``writer``) if asked, else its coarse
  type (``person``) if asked, else none; a plain ``{person}`` in the same sentence stays ``person``;
* sibling kinds (``poet``, ``politician``) and other kinds of the domain are asked as negatives; in some records
  every kind of the template's domain is asked at once, as a benchmark asks a domain's whole label set.

The tables (kinds, name patterns, word lists, templates) are in ``data/roles.yaml``. None of the names or sentences
comes from an evaluation set.

Example::

    >>> from gliner2_udf.training.synthetic import ValuePools
    >>> rec = next(Roles(0, ValuePools(0)).records())   # doctest: +SKIP
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from . import tables
from .records import make_record
from .synthetic import SLOT, ValuePools, render

_data = tables.load("roles")

KINDS = _data["KINDS"]
PATTERNS = _data["PATTERNS"]
WORDS = _data["WORDS"]
LISTS = _data["LISTS"]
TEMPLATES = _data["TEMPLATES"]
FAKER_KEYS = ("person", "company", "city", "country")
FILLERS = {"year": lambda rng: str(rng.randint(1890, 2024))}


def slot_kind(slot: str) -> str:
    """``musical_artist2`` -> ``musical artist``."""
    return slot.rstrip("0123456789").replace("_", " ")


class Roles:
    """Endless role-typing records, deterministic given the seed."""

    def __init__(self, seed: int, pools: ValuePools):
        self.seed = seed
        self.pools = pools
        bad = (
            {slot_kind(s) for ts in TEMPLATES.values() for t in ts for s in SLOT.findall(t)} - set(KINDS) - set(FILLERS)
        )
        if bad:
            raise ValueError(f"roles.yaml: template slots without a kind: {sorted(bad)}")
        # the kinds each domain's templates use, asked together in some records
        self.packs = {
            d: sorted({slot_kind(s) for t in ts for s in SLOT.findall(t)} - set(FILLERS)) for d, ts in TEMPLATES.items()
        }

    def value(self, kind: str, rng: random.Random) -> str:
        maker = KINDS[kind]["value"]
        if maker in FAKER_KEYS:
            return self.pools.sample(maker, rng)[0]
        if maker in LISTS:
            return rng.choice(LISTS[maker])
        return SLOT.sub(lambda m: self._word(m.group(1), rng), rng.choice(PATTERNS[maker]))

    def _word(self, key: str, rng: random.Random) -> str:
        if key in WORDS:
            return rng.choice(WORDS[key])
        name = self.pools.sample("person", rng)[0].split()
        return {
            "First": lambda: name[0],
            "Last": lambda: name[-1],
            "City": lambda: self.pools.sample("city", rng)[0],
            "Country": lambda: self.pools.sample("country", rng)[0],
            "Year": lambda: FILLERS["year"](rng),
        }[key]()

    def records(self) -> Iterator[dict]:
        rng = random.Random(f"{self.seed}:roles")
        domains = sorted(TEMPLATES)
        while True:
            domain = rng.choice(domains)
            yield self.record(rng.choice(TEMPLATES[domain]), domain, rng)

    def record(self, template: str, domain: str, rng: random.Random) -> dict:
        values, kinds, seen = {}, {}, set()
        for slot in dict.fromkeys(SLOT.findall(template)):
            kind = slot_kind(slot)
            if kind in FILLERS:
                values[slot] = FILLERS[kind](rng)
                continue
            v = self.value(kind, rng)
            while v in seen:  # two slots of one kind never share a value
                v = self.value(kind, rng)
            seen.add(v)
            values[slot], kinds[slot] = v, kind
        text, spans = render(template, values, rng)
        rec = make_record(text, "roles")
        rec["entities"] = self.typed(spans, kinds, domain, rng)
        return rec

    def typed(self, spans: dict, kinds: dict[str, str], domain: str, rng: random.Random) -> dict:
        """Asked type names -> gold spans (the finest asked type of each mention)."""
        present = set(kinds.values())
        if rng.random() < 0.4:
            asked = set(self.packs[domain])  # the domain's whole label set
        else:
            asked = {k for k in present if rng.random() < 0.85}
            coarse = {KINDS[k]["coarse"] for k in present if KINDS[k]["coarse"]}
            asked |= {c for c in coarse if c in KINDS and rng.random() < 0.75}
            siblings = [k for k in KINDS if KINDS[k]["coarse"] in coarse and k not in present]
            asked |= set(rng.sample(siblings, min(len(siblings), rng.randint(1, 3))))
        asked |= {c for c in (KINDS[k]["coarse"] for k in present) if c and c not in KINDS and rng.random() < 0.5}
        if not asked:
            asked = {rng.choice(sorted(present))}
        names = {
            k: (KINDS[k]["names"][0] if rng.random() < 0.6 else rng.choice(KINDS[k]["names"]))
            for k in asked
            if k in KINDS
        }
        names.update({c: c for c in asked if c not in KINDS})  # coarse types without a kind: creative work, event...
        ents: dict[str, list] = {names[k]: [] for k in asked}
        for slot, kind in kinds.items():
            gold = kind if kind in asked else KINDS[kind]["coarse"] if KINDS[kind]["coarse"] in asked else None
            if gold is not None:
                ents[names[gold]].extend(spans.get(slot, []))
        return {t: sorted(v) for t, v in ents.items()}
