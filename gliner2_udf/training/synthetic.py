"""Template-generated training records: open-type NER, nested structures, relations, classification.

Typed values come from ``faker`` (many locales; drawn once into seeded pools) and from WordNet
(named instances and hyponyms of a class). Every generator is an endless iterator driven by a
``random.Random``, so output is deterministic given the seed.

Example::

    >>> gen = Synthetic(seed=0)                      # doctest: +SKIP
    >>> next(gen.nested())["structures"][0]["name"]  # doctest: +SKIP
    'invoice'
"""

from __future__ import annotations

import datetime
import random
import re
from collections.abc import Callable, Iterator

from . import tables
from .records import make_record

_data = tables.load("synthetic")  # the vocabulary below: data/synthetic.yaml

LOCALES = _data["LOCALES"]  # faker locales of the value pools
EN = ("en_US", "en_GB", "en_AU", "en_CA")


# ---------------------------------------------------------------- typed value pools
# Dates and times are drawn here, not by faker: faker's are relative to today, so not reproducible.
WEEKDAYS = _data["WEEKDAYS"]
MONTHS = _data["MONTHS"]


def _date(f):
    d = datetime.date.fromordinal(
        random.randint(datetime.date(1990, 1, 1).toordinal(), datetime.date(2030, 12, 31).toordinal())
    )
    month = MONTHS[d.month - 1]
    return random.choice(
        (
            f"{d.day:02d} {month} {d.year}",
            f"{month} {d.day}, {d.year}",
            d.isoformat(),
            f"{d.day:02d}/{d.month:02d}/{d.year}",
            f"{d.day} {month[:3]} {d.year}",
            f"{month} {d.day}",
        )
    )


def _time(f):
    h, m = random.randrange(24), random.randrange(0, 60, random.choice((1, 5, 15)))
    return f"{h:02d}:{m:02d}" if random.random() < 0.6 else f"{(h % 12) or 12}:{m:02d} {'am' if h < 12 else 'pm'}"


def _money(f):
    sym = random.choice(("$", "€", "£", "USD ", "EUR "))
    amount = random.choice(
        (
            f"{random.randint(1, 999)}",
            f"{random.randint(1, 99999) / 100:.2f}",
            f"{random.randint(1, 9999):,}.{random.randint(0, 99):02d}",
        )
    )
    return f"{sym}{amount}" if random.random() < 0.8 else f"{amount} {random.choice(('dollars', 'euros', 'pounds'))}"


def _code(prefix, digits=5):
    return lambda f: f"{random.choice(prefix)}{random.randint(10 ** (digits - 1), 10**digits - 1)}"


def _measure(lo: int, hi: int, units: tuple[str, ...], sep: str = " "):
    return lambda f: f"{random.randint(lo, hi)}{sep}{random.choice(units)}"


def _flight(f):
    airline = random.choice(("LH", "BA", "AF", "UA", "KL", "DL", "EK", "QF"))
    return f"{airline}{random.choice(('', ' '))}{random.randint(10, 9999)}"


def _version(f):
    patch = f".{random.randint(0, 20)}" if random.random() < 0.6 else ""
    return f"{random.choice(('', 'v', 'version '))}{random.randint(0, 12)}.{random.randint(0, 30)}{patch}"


PRODUCT_NOUNS = _data["PRODUCT_NOUNS"]
MODEL_WORDS = _data["MODEL_WORDS"]
COINED_NAMES = _data["COINED_NAMES"]
GOODS = _data["GOODS"]
INDUSTRIES = _data["INDUSTRIES"]


def _product(f):
    """A branded model ("Weber Air 120 laptop"), a coined name and a noun, or plain goods."""
    form = random.random()
    if form < 0.3:
        return random.choice(GOODS)
    if form < 0.6:
        number = f" {random.randint(2, 30)}" if random.random() < 0.4 else ""
        return f"{random.choice(COINED_NAMES)}{number} {random.choice(PRODUCT_NOUNS + GOODS)}"
    brand = f.last_name() if random.random() < 0.5 else f.company().split()[0].strip(",")
    model = (
        f"{random.choice(MODEL_WORDS)} {random.randint(2, 990)}"
        if random.random() < 0.7
        else f"{random.choice('XZSTQ')}{random.randint(10, 99)}"
    )
    return f"{brand} {model} {random.choice(PRODUCT_NOUNS)}"


def _company(f):
    """A faker company ("Weber LLC", "Smith-Jones") or a name and an industry without a legal form ("Halo
    Logistics", "Brandt Foods"): sellers and buyers on invoices are companies, never people (issue 20)."""
    if random.random() < 0.6:
        return f.company()
    name = random.choice(COINED_NAMES) if random.random() < 0.5 else f.last_name()
    return f"{name} {random.choice(INDUSTRIES)}"


# key: (value function, locales). Keys in one CONFLICT group never meet in a record as positive + negative
# (a person name contains a first name, a city is a location...). The order seeds the value pools.
_value_fns: dict[str, tuple[Callable, tuple[str, ...]]] = {
    "person": (lambda f: f"{f.first_name()} {f.last_name()}", LOCALES),
    "first_name": (lambda f: f.first_name(), LOCALES),
    "last_name": (lambda f: f.last_name(), LOCALES),
    "company": (_company, LOCALES),
    "job": (lambda f: f.job(), EN),
    "city": (lambda f: f.city(), LOCALES),
    "country": (lambda f: f.country(), EN),
    "address": (lambda f: f.street_address(), LOCALES),
    "postcode": (lambda f: f.postcode(), LOCALES),
    "date": (_date, EN),
    "time": (_time, EN),
    "weekday": (lambda f: random.choice(WEEKDAYS), EN),
    "year": (lambda f: str(random.randint(1950, 2030)), EN),
    "phone": (lambda f: f.phone_number(), LOCALES),
    "email": (lambda f: f.email(), LOCALES),
    "url": (lambda f: f.url(), LOCALES),
    "ip": (lambda f: f.ipv4(), EN),
    "money": (_money, EN),
    "currency": (lambda f: f.currency_name(), EN),
    "card": (lambda f: f.credit_card_number(), EN),
    "iban": (lambda f: f.iban(), LOCALES),
    "plate": (lambda f: f.license_plate(), LOCALES),
    "color": (lambda f: f.color_name().lower(), EN),
    "file": (lambda f: f.file_name(), EN),
    "username": (lambda f: f.user_name(), LOCALES),
    "domain": (lambda f: f.domain_name(), LOCALES),
    "isbn": (lambda f: f.isbn13(), EN),
    "language": (lambda f: f.language_name(), EN),
    "swift": (lambda f: f.swift(), EN),
    "timezone": (lambda f: f.timezone(), EN),
    "product": (_product, LOCALES),
    "order_id": (_code(("ORD-", "#", "PO-", "SO-")), EN),
    "invoice_id": (_code(("INV-", "INV-2024-", "F-", "BILL-"), 4), EN),
    "ticket_id": (_code(("TCK-", "CASE-", "#", "SR-"), 6), EN),
    "tracking": (_code(("1Z", "JD", "TRK"), 9), EN),
    "flight_no": (_flight, EN),
    "version": (_version, EN),
    "percent": (_measure(1, 99, ("%", " percent", ".5%"), ""), EN),
    "quantity": (_measure(1, 500, ("kg", "g", "ml", "litres", "km", "miles", "metres", "tons", "boxes", "units")), EN),
    "duration": (_measure(2, 48, ("minutes", "hours", "days", "weeks", "months", "years")), EN),
    "age": (_measure(18, 95, ("years old",)), EN),
    "temperature": (_measure(-20, 40, ("°C", "degrees", "degrees Celsius", "°F")), EN),
}
if set(_value_fns) != set(_data["VALUE_TYPE_NAMES"]):
    raise ValueError("synthetic.yaml: VALUE_TYPE_NAMES must name exactly the value types")
# key: (paraphrased type names, value function, locales)
VALUE_TYPES: dict[str, tuple[tuple[str, ...], Callable, tuple[str, ...]]] = {
    key: (_data["VALUE_TYPE_NAMES"][key], fn, locales) for key, (fn, locales) in _value_fns.items()
}
CONFLICT = (
    {"person", "first_name", "last_name", "username"},
    {"city", "country", "address", "postcode"},
    {"date", "weekday", "year", "time", "duration", "age"},
    {"money", "currency", "percent", "quantity"},
    {"email", "url", "domain", "username", "file"},
    {"order_id", "invoice_id", "ticket_id", "tracking", "isbn"},
    {"company", "product"},
)
# WordNet lexicographer files whose hyponyms make sensible "entities" (not feelings, attributes, relations...).
CONCRETE = frozenset((4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 17, 18, 20, 21, 26, 27))
FAR_TYPES = _data["FAR_TYPES"]


class ValuePools:
    """``faker`` values per type, drawn once per locale with a fixed seed."""

    def __init__(self, seed: int = 0, per_locale: int = 40):
        from faker import Faker

        state, fakers = random.getstate(), {}
        self.pools: dict[str, list[str]] = {}
        for k, (key, (_, fn, locales)) in enumerate(VALUE_TYPES.items()):
            values = []
            for j, loc in enumerate(locales):
                if loc not in fakers:
                    fakers[loc] = Faker(loc)
                fake = fakers[loc]
                fake.seed_instance(seed * 1000 + k * 50 + j)
                random.seed(seed * 1000 + k * 50 + j)  # the lambdas above also use module-level random
                n = per_locale * (4 if len(locales) == len(EN) else 1)
                for _ in range(n):
                    v = re.sub(r"\s+", " ", str(fn(fake)).replace("\n", ", ")).strip()
                    if v:
                        values.append(v)
            self.pools[key] = sorted(set(values))
        random.setstate(state)

    def sample(self, key: str, rng: random.Random, k: int = 1) -> list[str]:
        pool = self.pools[key]
        return rng.sample(pool, k)


def conflicts(key: str, keys) -> bool:
    return any(key in g and set(keys) & g for g in CONFLICT) or key in keys


# ---------------------------------------------------------------- rendering
SLOT = re.compile(r"\{(\w+)\}")


def coordinate(items: list[str], rng: random.Random) -> list[tuple[str, bool]]:
    """Pieces of a coordinated list: (text, is_item). ``A, B and C``, ``A; B; C``, ``both A and B``..."""
    n = len(items)
    if n == 1:
        return [(items[0], True)]
    style = rng.randrange(6)
    out: list[tuple[str, bool]] = []
    for i, it in enumerate(items):
        if i:
            last = i == n - 1
            if style == 0:
                sep = " and " if last else ", "
            elif style == 1:
                sep = ", and " if last and n > 2 else (" and " if last else ", ")
            elif style == 2:
                sep = "; "
            elif style == 3:
                sep = " or " if last else ", "
            elif style == 4:
                sep = ", " if not last else rng.choice((" as well as ", " plus ", " & "))
            else:
                sep = " / " if n <= 3 else ", "
            out.append((sep, False))
        out.append((it, True))
    return out


def render(template: str, values: dict, rng: random.Random) -> tuple[str, dict[str, list[list[int]]]]:
    """Fill ``{slot}`` markers; a list value becomes a coordinated list. Returns text and slot -> spans."""
    out, spans, pos, last = [], {}, 0, 0
    for m in SLOT.finditer(template):
        lit = template[last : m.start()]
        out.append(lit)
        pos += len(lit)
        v = values[m.group(1)]
        for piece, is_item in coordinate(v if isinstance(v, list) else [v], rng):
            if is_item:
                spans.setdefault(m.group(1), []).append([pos, pos + len(piece)])
            out.append(piece)
            pos += len(piece)
        last = m.end()
    out.append(template[last:])
    text = "".join(out)
    return text[0].upper() + text[1:] if text[0].islower() and template[0] != "{" else text, spans


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def plural(noun: str) -> str:
    head, _, last = noun.rpartition(" ")
    irregular = {
        "person": "people",
        "man": "men",
        "woman": "women",
        "child": "children",
        "mouse": "mice",
        "goose": "geese",
        "foot": "feet",
        "tooth": "teeth",
        "ox": "oxen",
    }
    if last in irregular:
        p = irregular[last]
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        p = last + "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        p = last[:-1] + "ies"
    else:
        p = last + "s"
    return f"{head} {p}" if head else p


# ---------------------------------------------------------------- (i) open-type NER templates
FAKER_TEMPLATES = _data["FAKER_TEMPLATES"]
LIST_TEMPLATES = _data["LIST_TEMPLATES"]
WORDNET_SINGLE = _data["WORDNET_SINGLE"]
WORDNET_LIST = _data["WORDNET_LIST"]


class Synthetic:
    """All template generators, sharing value pools and (optionally) a WordNet lexicon."""

    def __init__(self, seed: int = 0, lexicon=None, pools: ValuePools | None = None):
        self.seed = seed
        self.pools = pools or ValuePools(seed)
        self.lexicon = lexicon

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}:{name}")

    def _v(self, key, rng, k=1):
        return self.pools.sample(key, rng, k)

    # ---- (i) faker-typed templates
    def _typed(self, text_spans: tuple[str, dict], keys: dict[str, str], rng) -> dict:
        text, spans = text_spans
        rec = make_record(text, "synthetic_ner")
        ents: dict[str, list] = {}
        for slot, key in keys.items():
            if key in VALUE_TYPES:
                ents.setdefault(key, []).extend(spans.get(slot, []))
        present = set(ents)  # a dropped type is never asked back as a negative
        if len(ents) >= 2 and rng.random() < 0.25:
            # a present type left unasked: its mentions are context, not a reason to answer another asked type
            # (the default model labelled products "person" on the sample, issue 20)
            del ents[rng.choice(sorted(ents))]
        names = {key: rng.choice(VALUE_TYPES[key][0]) for key in ents}
        rec["entities"] = {names[k]: sorted(v) for k, v in ents.items()}
        cand = [k for k in VALUE_TYPES if not conflicts(k, present)]
        for k in rng.sample(cand, rng.randint(0, 3)):
            name = rng.choice(VALUE_TYPES[k][0])
            if name not in rec["entities"]:
                rec["entities"][name] = []
        if rng.random() < 0.3:
            far = rng.choice(FAR_TYPES)
            rec["entities"].setdefault(far, [])
        return rec

    def faker_ner(self) -> Iterator[dict]:
        rng = self.rng("faker_ner")
        while True:
            if rng.random() < 0.3:
                key = rng.choice(
                    (
                        "person",
                        "company",
                        "city",
                        "country",
                        "product",
                        "email",
                        "date",
                        "language",
                        "job",
                        "phone",
                        "last_name",
                    )
                )
                values = {"xs": self._v(key, rng, rng.randint(2, 5))}
                yield self._typed(render(rng.choice(LIST_TEMPLATES), values, rng), {"xs": key}, rng)
                continue
            tpl = rng.choice(FAKER_TEMPLATES)
            values, keys = {}, {}
            for slot in dict.fromkeys(SLOT.findall(tpl)):
                if slot == "article_job":
                    job = self._v("job", rng)[0]
                    values[slot] = job
                    tpl = tpl.replace("{article_job}", f"{article(job)} {{article_job}}")
                    keys[slot] = "job"
                    continue
                key = slot.rstrip("0123456789")
                values[slot], keys[slot] = self._v(key, rng)[0], key
                if rng.random() < 0.15 and key in ("person", "company", "city", "product"):
                    values[slot] = self._v(key, rng, rng.randint(2, 3))
            yield self._typed(render(tpl, values, rng), keys, rng)

    # ---- (i) WordNet-typed templates
    def wordnet_classes(self) -> list[tuple[int, list[str]]]:
        """Usable classes with >= 3 members (named instances, or hyponym lemmas of concrete kinds:
        artifacts, animals, plants, foods, substances, diseases, places, people, groups, documents...)."""
        if getattr(self.lexicon, "_template_classes", None) is None:  # cached on the (shared) lexicon
            wn, out = self.lexicon.wn, []
            for off in wn.synsets:
                if not wn.usable(off) or (wn.synsets[off].lexname not in CONCRETE and off not in wn.members):
                    continue
                members = wn.members.get(off, []) + wn.hyponyms.get(off, [])
                words = sorted(
                    {
                        wn.synsets[m].words[0].replace("_", " ")
                        for m in members
                        if len(wn.synsets[m].words[0]) <= 40 and wn.synsets[m].words[0].count("_") < 4
                    }
                )
                if len(words) >= 3:
                    out.append((off, words))
            self.lexicon._template_classes = out
        return self.lexicon._template_classes

    def wordnet_ner(self) -> Iterator[dict]:
        """Sentences with 1-5 members of one WordNet class, typed with that class (or an ancestor);
        sibling classes as negatives, sometimes a gloss as the type description."""
        rng, wn = self.rng("wordnet_ner"), self.lexicon.wn
        classes = self.wordnet_classes()
        while True:
            off, words = rng.choice(classes)
            k = 1 if rng.random() < 0.4 else min(len(words), rng.randint(2, 5))
            xs = rng.sample(words, k)
            names = [off] + [c for lvl in wn.class_levels(off)[:2] for c in lvl if wn.usable(c)]
            cls_off = off if rng.random() < 0.7 else rng.choice(names)
            cls = rng.choice(wn.names(cls_off))
            tpl = rng.choice(WORDNET_SINGLE if k == 1 else WORDNET_LIST)
            values = {"x": xs[0], "xs": xs, "a_cls": f"{article(cls)} {cls}", "cls_pl": plural(cls)}
            text, spans = render(tpl, values, rng)
            rec = make_record(text, "wordnet_template")
            rec["entities"] = {cls: sorted(spans.get("x", []) + spans.get("xs", []))}
            present = {n for x in xs for n in self._names_of(x)}
            for s in rng.sample(wn.siblings(off), min(3, len(wn.siblings(off)))):
                if wn.usable(s) and wn.name(s) not in present and wn.name(s) not in rec["entities"]:
                    rec["entities"][wn.name(s)] = []
            if rng.random() < 0.3 and wn.description(cls_off):
                rec["entity_descriptions"] = {cls: wn.description(cls_off)}
            yield rec

    def _names_of(self, word: str) -> set[str]:
        """Every class name any sense of ``word`` has (so a sibling negative is never a true type)."""
        wn = self.lexicon.wn
        index = getattr(self.lexicon, "_word_index", None)
        if index is None:
            index = self.lexicon._word_index = {}
            for off, s in wn.synsets.items():
                for w in s.words:
                    index.setdefault(w.replace("_", " ").lower(), []).append(off)
        out = set()
        for off in index.get(word.lower(), []):
            out |= wn.ancestor_names(off)
        return out

    # ---- relations
    def relations(self) -> Iterator[dict]:
        """Person / company / city / country facts with relation labels; absent relations as negatives."""
        rng = self.rng("relations")
        # (fact sentence, [(relation, head slot, tail slot)]): RELATION_FACTS in data/synthetic.yaml
        facts = tuple((tpl, list(rels)) for tpl, rels in _data["RELATION_FACTS"].items())
        groups = (
            {"works for", "ceo of", "founded"},
            {"lives in", "born in"},
            {"acquired"},
            {"married to"},
            {"based in", "located in"},
        )
        types = {"p": "person", "p2": "person", "c": "company", "c2": "company", "t": "city", "n": "country"}
        while True:
            chosen = rng.sample(facts, rng.randint(1, 3))
            values = {
                "p": self._v("person", rng)[0],
                "p2": self._v("person", rng)[0],
                "c": self._v("company", rng)[0],
                "c2": self._v("company", rng)[0],
                "t": self._v("city", rng)[0],
                "n": self._v("country", rng)[0],
                "y": self._v("year", rng)[0],
                "m": self._v("money", rng)[0],
            }
            if len({values[k] for k in types}) < len(types):
                continue
            texts, ents, pairs, pos = [], {}, {}, 0
            for tpl, rels in chosen:  # pairs link the mentions of one fact sentence only
                text, spans = render(tpl, values, rng)
                spans = {k: [[s + pos, e + pos] for s, e in v] for k, v in spans.items()}
                for slot, name in types.items():
                    ents.setdefault(name, []).extend(spans.get(slot, []))
                for name, h, t in rels:
                    pairs.setdefault(name, []).append([spans[h][0], spans[t][0]])
                texts.append(text)
                pos += len(text) + 1
            rec = make_record(" ".join(texts), "synthetic_relations")
            rec["entities"] = ents
            present = set(pairs)
            for g in groups:
                if not g & present and rng.random() < 0.5:
                    pairs[rng.choice(sorted(g))] = []
            rec["relations"] = [{"name": n, "pairs": p} for n, p in pairs.items()]
            yield rec

    # ---------------------------------------------------------------- (ii) nested structures
    def nested(self) -> Iterator[dict]:
        """Invoices, products, people, orders and events: 0-5 instances per asked structure."""
        rng = self.rng("nested")
        makers = (self._invoice, self._line_items, self._products, self._people, self._orders, self._events)
        negatives = {
            "invoice": ("event", "person"),
            "line item": ("event", "person"),
            "product": ("event", "order"),
            "person": ("invoice", "product", "order"),
            "order": ("event",),
            "event": ("invoice", "product", "order"),
        }
        while True:
            rec = rng.choice(makers)(rng)
            names = {s["name"] for s in rec["structures"]}
            if rng.random() < 0.3:
                neg = rng.choice(negatives[rec["structures"][0]["name"]])
                if neg not in names:
                    rec["structures"].append({"name": neg, "fields": list(NEG_FIELDS[neg]), "instances": []})
            if rng.random() < 0.15:
                name = rng.choice(sorted(UNRELATED))
                rec["structures"].append({"name": name, "fields": list(UNRELATED[name]), "instances": []})
            rng.shuffle(rec["structures"])
            yield rec

    def _compose(self, parts: list, rng) -> tuple[str, dict]:
        """``parts``: strings and (text, tag) pairs; returns text and tag -> spans."""
        out, spans, pos = [], {}, 0
        for p in parts:
            s, tag = (p, None) if isinstance(p, str) else p
            if tag is not None:
                spans.setdefault(tag, []).append([pos, pos + len(s)])
            out.append(s)
            pos += len(s)
        return "".join(out), spans

    def _invoice(self, rng) -> dict:
        n_inv = 1 if rng.random() < 0.75 else rng.randint(2, 3)
        parts, insts = [], []
        for i in range(n_inv):
            cur = rng.choice(CURRENCIES)
            items = [
                (self._v("product", rng)[0], rng.randint(1, 9), rng.randint(100, 50000) / 100)
                for _ in range(rng.randint(1, 4))
            ]
            total = sum(q * p for _, q, p in items)
            method = rng.choice(list(PAYMENT))
            num, seller, date = self._v("invoice_id", rng)[0], self._v("company", rng)[0], self._v("date", rng)[0]
            tag = f"{i}:"
            parts += [
                rng.choice(("Invoice ", "Invoice no. ", "Bill ")),
                (num, tag + "invoice number"),
                " from ",
                (seller, tag + "seller"),
                ", dated ",
                (date, tag + "date"),
                ": ",
            ]
            for j, (name, q, p) in enumerate(items):
                parts += [("; " if j else ""), f"{q} x ", (name, tag + "line item"), f" at {_fmt(p, cur)}"]
            parts += [". Total ", (_fmt(total, cur), tag + "total"), ", ", rng.choice(PAYMENT[method]), ". "]
            insts.append({"currency": cur[0], "payment method": method})
        text, spans = self._compose(parts, rng)
        fields = ["invoice number", "seller", "date", "line item", "total", "currency", "payment method"]
        for i, inst in enumerate(insts):
            for f in fields[:5]:
                inst[f] = spans.get(f"{i}:{f}", [])
        st = {
            "name": "invoice",
            "fields": fields,
            "choices": {"currency": [c[0] for c in CURRENCIES], "payment method": list(PAYMENT)},
            "instances": insts,
        }
        return self._nested_record(text.strip(), [st])

    def _line_items(self, rng) -> dict:
        cur = rng.choice(CURRENCIES)
        n = rng.randint(1, 5)
        parts = [rng.choice(("Order summary:\n", "Items purchased:\n", "Receipt\n", "Your basket:\n"))]
        for j in range(n):
            name, q, p = self._v("product", rng)[0], rng.randint(1, 12), rng.randint(100, 99900) / 100
            parts += [
                "- ",
                (str(q), f"{j}:quantity"),
                " x ",
                (name, f"{j}:product"),
                " @ ",
                (_fmt(p, cur), f"{j}:unit price"),
                "\n",
            ]
        text, spans = self._compose(parts, rng)
        fields = ["product", "quantity", "unit price"]
        insts = [{f: spans[f"{j}:{f}"] for f in fields} for j in range(n)]
        return self._nested_record(text.strip(), [{"name": "line item", "fields": fields, "instances": insts}])

    def _products(self, rng) -> dict:
        n = rng.randint(1, 3)
        parts, insts = [], []
        for j in range(n):
            noun = rng.choice(PRODUCT_NOUNS)
            brand = self._v("last_name", rng)[0]
            model = f"{rng.choice(MODEL_WORDS)} {rng.randint(2, 99)}"
            price, color = self._v("money", rng)[0], self._v("color", rng)[0]
            weight = (
                f"{rng.randint(1, 3000)} {rng.choice(('g', 'grams'))}"
                if rng.random() < 0.5
                else f"{rng.randint(1, 30) / 2} kg"
            )
            t = f"{j}:"
            parts += [
                rng.choice(("The ", "")),
                (brand, t + "brand"),
                " ",
                (model, t + "model"),
                f" {noun} ",
                rng.choice(("costs ", "sells for ", "is priced at ")),
                (price, t + "price"),
                rng.choice((", weighs ", " and weighs ")),
                (weight, t + "weight"),
                rng.choice((" and comes in ", ", available in ")),
                (color, t + "color"),
                ". ",
            ]
            insts.append({"category": noun})
        text, spans = self._compose(parts, rng)
        fields = ["brand", "model", "price", "weight", "color", "category"]
        for j, inst in enumerate(insts):
            for f in fields[:5]:
                inst[f] = spans[f"{j}:{f}"]
        st = {"name": "product", "fields": fields, "choices": {"category": list(PRODUCT_NOUNS)}, "instances": insts}
        return self._nested_record(text.strip(), [st])

    def _people(self, rng) -> dict:
        n = rng.randint(1, 5)
        parts, insts = [rng.choice(("", "Panel: ", "New appointments: ", "The board welcomed "))], []
        for j in range(n):
            t = f"{j}:"
            sep = "" if j == 0 else (" and " if j == n - 1 else "; ")
            parts += [
                sep,
                (self._v("person", rng)[0], t + "name"),
                ", ",
                (self._v("job", rng)[0], t + "role"),
                rng.choice((" at ", " with ", " of ")),
                (self._v("company", rng)[0], t + "employer"),
            ]
            if rng.random() < 0.4:
                parts += [" in ", (self._v("city", rng)[0], t + "city")]
        parts.append(".")
        text, spans = self._compose(parts, rng)
        fields = ["name", "role", "employer", "city"]
        insts = [{f: spans.get(f"{j}:{f}", []) for f in fields} for j in range(n)]
        return self._nested_record(text.strip(), [{"name": "person", "fields": fields, "instances": insts}])

    def _orders(self, rng) -> dict:
        n = rng.randint(1, 3)
        parts, insts = [], []
        for j in range(n):
            t = f"{j}:"
            status = rng.choice(list(STATUS))
            parts += [
                "Order ",
                (self._v("order_id", rng)[0], t + "order number"),
                " for ",
                (self._v("person", rng)[0], t + "customer"),
                " (",
            ]
            for k, item in enumerate(self._v("product", rng, rng.randint(1, 3))):
                parts += [", " if k else "", (item, t + "items")]
            parts += [") ", rng.choice(STATUS[status]), " ", (self._v("date", rng)[0], t + "date"), ". "]
            insts.append({"status": status})
        text, spans = self._compose(parts, rng)
        fields = ["order number", "customer", "items", "date", "status"]
        for j, inst in enumerate(insts):
            for f in fields[:4]:
                inst[f] = spans[f"{j}:{f}"]
        st = {"name": "order", "fields": fields, "choices": {"status": list(STATUS)}, "instances": insts}
        return self._nested_record(text.strip(), [st])

    def _events(self, rng) -> dict:
        n = rng.randint(1, 4)
        parts, insts = [rng.choice(("", "Upcoming: ", "This season: ", "What's on: "))], []
        for j in range(n):
            t = f"{j}:"
            kind = rng.choice(list(EVENT_KINDS))
            city = self._v("city", rng)[0]
            name = f"{city} {rng.choice(EVENT_KINDS[kind])}"
            hall = rng.choice(("Hall", "Arena", "Centre", "Theatre", "Park", "Pavilion"))
            venue = f"{self._v('last_name', rng)[0]} {hall}"
            parts += [
                ("; " if j else ""),
                (name, t + "name"),
                " on ",
                (self._v("date", rng)[0], t + "date"),
                " at ",
                (venue, t + "venue"),
                rng.choice((", ", " in ")),
                (city, t + "city"),
            ]
            insts.append({"type": kind})
        parts.append(".")
        text, spans = self._compose(parts, rng)
        fields = ["name", "date", "venue", "city", "type"]
        for j, inst in enumerate(insts):
            for f in fields[:4]:
                inst[f] = spans[f"{j}:{f}"]
        st = {"name": "event", "fields": fields, "choices": {"type": list(EVENT_KINDS)}, "instances": insts}
        return self._nested_record(text.strip(), [st])

    @staticmethod
    def _nested_record(text, structures) -> dict:
        rec = make_record(text, "synthetic_nested")
        rec["structures"] = structures
        return rec

    # ---------------------------------------------------------------- (iii) classification
    def classification(self) -> Iterator[dict]:
        rng = self.rng("classification")
        makers = (
            self._sentiment,
            self._sentiment,
            self._critic,
            self._critic,
            self._topic,
            self._ticket,
            self._register,
            self._spam,
            self._sentence_type,
        )
        while True:
            yield rng.choice(makers)(rng)

    def _cls(self, text, tasks, rng) -> dict:
        rec = make_record(text, "synthetic_classification")
        rec["classifications"] = tasks
        return rec

    def _sentiment(self, rng) -> dict:
        thing, aspects = rng.choice(REVIEW_DOMAINS)
        score = rng.choice((-2, -1, 0, 1, 2, "mixed"))
        chosen = rng.sample(aspects, 2)
        if score == "mixed":
            hi, lo = rng.sample((2, -2), 2)
            body = f"{_phrase(chosen[0], hi, rng)}, but {_phrase(chosen[1], lo, rng)}."
            labels = rng.choice((("positive", "negative", "mixed"), ("positive", "negative", "mixed", "neutral")))
            true = "mixed"
        elif score != 0 and rng.random() < 0.25:  # star rating: both aspects at the same strength
            body = f"{_phrase(chosen[0], score, rng)} and {_phrase(chosen[1], score, rng)}."
            labels = ("1 star", "2 stars", "3 stars", "4 stars", "5 stars")
            true = labels[score + 2]
        else:
            s2 = score if rng.random() < 0.7 else int(score / 2)
            body = f"{_phrase(chosen[0], score, rng)} and {_phrase(chosen[1], s2, rng)}."
            if score == 0:
                labels = rng.choice((("positive", "negative", "neutral"), ("good", "bad", "neutral")))
                true = "neutral"
            else:
                labels = rng.choice(BINARY_SENTIMENT)
                true = labels[0] if score > 0 else labels[1]
        opener = rng.choice(
            (
                "",
                f"I bought the {thing} last week. ",
                f"Review of the {thing}: ",
                f"About this {thing}: ",
                "Update: ",
                "Honestly? ",
            )
        )
        text = opener + body[0].upper() + body[1:]
        labels = list(labels)
        rng.shuffle(labels)
        return self._cls(
            text,
            [single_label(rng.choice(("sentiment", "review sentiment", "opinion", "polarity")), labels, true)],
            rng,
        )

    def _critic(self, rng) -> dict:
        """A critic's one-line verdict on a film, book, album or show: evaluative adjectives, sometimes
        negated ("never dull") or conceded ("beautifully shot, but tedious": the second clause wins)."""
        polarity = rng.choice((1, -1))
        work = rng.choice(CRITIC_WORKS)

        def adj(p):
            return (
                rng.choice(CRITIC_ADJ[p])
                if rng.random() < 0.8
                else "not " + rng.choice(CRITIC_ADJ[-p])
                if p < 0
                else "never " + rng.choice(CRITIC_ADJ[-p])
            )

        form = rng.randrange(4)
        if form == 0:
            text = f"a {adj(polarity)} and {adj(polarity)} {work}"
        elif form == 1:
            text = " ".join(filter(None, ("the", work, "is", rng.choice(CRITIC_DEGREE), adj(polarity))))
        elif form == 2:
            text = (
                f"{rng.choice(CRITIC_PARTS)} {rng.choice(('is', 'feels', 'seems'))} {adj(-polarity)}, "
                f"but the {work} as a whole is {adj(polarity)}"
            )
        else:
            text = " ".join(
                filter(None, (rng.choice(CRITIC_OPENERS[polarity]), rng.choice(CRITIC_DEGREE), adj(polarity), work))
            )
        text += rng.choice((" .", ".", "", " !"))
        labels = list(rng.choice(BINARY_SENTIMENT[:4] + (("positive", "negative"),) * 4))
        true = labels[0] if polarity > 0 else labels[1]
        rng.shuffle(labels)
        return self._cls(
            text,
            [single_label(rng.choice(("sentiment", "review sentiment", "polarity")), labels, true)],
            rng,
        )

    def _topic(self, rng) -> dict:
        topics = rng.sample(sorted(TOPICS), 2 if rng.random() < 0.3 else 1)
        sents = []
        for t in topics:
            tpl = rng.choice(TOPICS[t][1])
            sents.append(
                render(
                    tpl,
                    {
                        "p": self._v("person", rng)[0],
                        "c": self._v("company", rng)[0],
                        "t": self._v("city", rng)[0],
                        "n": self._v("percent", rng)[0],
                    },
                    rng,
                )[0]
            )
        names = {t: rng.choice(TOPICS[t][0]) for t in TOPICS}
        others = [t for t in sorted(TOPICS) if t not in topics]
        label_topics = topics + rng.sample(others, rng.randint(2, 7))
        labels = [names[t] for t in label_topics]
        rng.shuffle(labels)
        multi = len(topics) > 1 or rng.random() < 0.3
        task = {
            "task": rng.choice(("topic", "category", "news topic", "subject")),
            "labels": labels,
            "true": sorted(names[t] for t in topics),
            "multi_label": multi,
        }
        return self._cls(" ".join(sents), [task], rng)

    def _ticket(self, rng) -> dict:
        cat = rng.choice(sorted(TICKETS))
        urgency = rng.choice(sorted(TICKETS[cat]))
        text = render(
            rng.choice(TICKETS[cat][urgency]), {"o": self._v("order_id", rng)[0], "p": self._v("product", rng)[0]}, rng
        )[0]
        if rng.random() < 0.5:
            text = rng.choice(("Hi, ", "Hello team, ", "Dear support, ", "")) + text[0].lower() + text[1:]
        scale = rng.choice((("low", "medium", "high", "critical"), ("not urgent", "urgent")))
        true = urgency if len(scale) == 4 else ("urgent" if urgency in ("high", "critical") else "not urgent")
        tasks = [single_label(rng.choice(("urgency", "priority")), _shuffled(scale, rng), true)]
        if rng.random() < 0.6:
            tasks.append(
                single_label(
                    rng.choice(("ticket category", "issue type", "department")), _shuffled(sorted(TICKETS), rng), cat
                )
            )
        rng.shuffle(tasks)
        return self._cls(text, tasks, rng)

    def _register(self, rng) -> dict:
        topic = rng.choice(REGISTER)
        formal = rng.random() < 0.5
        text = topic[0] if formal else topic[1]
        text = text.format(p=self._v("last_name", rng)[0], d=self._v("weekday", rng)[0])
        labels = rng.choice((("formal", "informal"), ("formal", "casual")))
        return self._cls(
            text,
            [
                single_label(
                    rng.choice(("register", "tone", "formality")),
                    _shuffled(labels, rng),
                    labels[0] if formal else labels[1],
                )
            ],
            rng,
        )

    def _spam(self, rng) -> dict:
        spam = rng.random() < 0.5
        tpl = rng.choice(SPAM if spam else HAM)
        values = {"m": "money", "u": "url", "p": "first_name", "w": "weekday", "t": "time"}
        text = render(tpl, {k: self._v(key, rng)[0] for k, key in values.items()}, rng)[0]
        labels = rng.choice((("spam", "not spam"), ("spam", "legitimate"), ("junk", "genuine message")))
        return self._cls(
            text,
            [
                single_label(
                    rng.choice(("spam detection", "message type", "spam")),
                    _shuffled(labels, rng),
                    labels[0] if spam else labels[1],
                )
            ],
            rng,
        )

    def _sentence_type(self, rng) -> dict:
        kind = rng.choice(sorted(SENTENCE_TYPES))
        text = rng.choice(SENTENCE_TYPES[kind]).format(c=self._v("city", rng)[0], p=self._v("first_name", rng)[0])
        return self._cls(
            text,
            [single_label("sentence type", _shuffled(sorted(SENTENCE_TYPES), rng), kind)],
            rng,
        )


# ---------------------------------------------------------------- vocabulary for the generators
CURRENCIES = _data["CURRENCIES"]
PAYMENT = _data["PAYMENT"]
STATUS = _data["STATUS"]
EVENT_KINDS = _data["EVENT_KINDS"]
NEG_FIELDS = _data["NEG_FIELDS"]
UNRELATED = _data["UNRELATED"]


def _fmt(amount: float, cur) -> str:
    return f"{cur[1]}{amount:,.2f}"


def _shuffled(labels, rng) -> list[str]:
    labels = list(labels)
    rng.shuffle(labels)
    return labels


def single_label(task: str, labels, true: str) -> dict:
    """A single-label classification task of a record: its name, label list and true label."""
    return {"task": task, "labels": labels, "true": [true], "multi_label": False}


BINARY_SENTIMENT = _data["BINARY_SENTIMENT"]
REVIEW_DOMAINS = tuple((thing, list(aspects)) for thing, aspects in _data["REVIEW_DOMAINS"].items())
CRITIC_WORKS = _data["CRITIC_WORKS"]
CRITIC_ADJ = _data["CRITIC_ADJ"]
CRITIC_DEGREE = _data["CRITIC_DEGREE"]
CRITIC_PARTS = _data["CRITIC_PARTS"]
CRITIC_OPENERS = _data["CRITIC_OPENERS"]
POLAR = _data["POLAR"]


def _phrase(aspect: str, score: int, rng) -> str:
    return f"{aspect} {rng.choice(POLAR[score])}"


TOPICS = {topic: (t["labels"], t["texts"]) for topic, t in _data["TOPICS"].items()}
TICKETS = _data["TICKETS"]
REGISTER = tuple((r["formal"], r["informal"]) for r in _data["REGISTER"])
SPAM = _data["SPAM"]
HAM = _data["HAM"]
SENTENCE_TYPES = _data["SENTENCE_TYPES"]
