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
from typing import Callable, Iterator

from .records import make_record

# it_IT is left out: its city provider depends on PYTHONHASHSEED, which would break determinism.
LOCALES = ("en_US", "en_GB", "en_AU", "en_IN", "en_IE", "de_DE", "fr_FR", "es_ES", "pt_PT", "nl_NL", "pt_BR",
           "pl_PL", "sv_SE", "da_DK", "fi_FI", "cs_CZ", "tr_TR", "id_ID", "no_NO", "ro_RO")
EN = ("en_US", "en_GB", "en_AU", "en_CA")


# ---------------------------------------------------------------- typed value pools
# Dates and times are drawn here, not by faker: faker's are relative to today, so not reproducible.
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def _date(f):
    d = datetime.date.fromordinal(random.randint(datetime.date(1990, 1, 1).toordinal(),
                                                 datetime.date(2030, 12, 31).toordinal()))
    month = MONTHS[d.month - 1]
    return random.choice((f"{d.day:02d} {month} {d.year}", f"{month} {d.day}, {d.year}", d.isoformat(),
                          f"{d.day:02d}/{d.month:02d}/{d.year}", f"{d.day} {month[:3]} {d.year}", f"{month} {d.day}"))


def _time(f):
    h, m = random.randrange(24), random.randrange(0, 60, random.choice((1, 5, 15)))
    return f"{h:02d}:{m:02d}" if random.random() < 0.6 else f"{(h % 12) or 12}:{m:02d} {'am' if h < 12 else 'pm'}"


def _money(f):
    sym = random.choice(("$", "€", "£", "USD ", "EUR "))
    amount = random.choice((f"{random.randint(1, 999)}", f"{random.randint(1, 99999) / 100:.2f}",
                            f"{random.randint(1, 9999):,}.{random.randint(0, 99):02d}"))
    return f"{sym}{amount}" if random.random() < 0.8 else f"{amount} {random.choice(('dollars', 'euros', 'pounds'))}"


def _code(prefix, digits=5):
    return lambda f: f"{random.choice(prefix)}{random.randint(10 ** (digits - 1), 10 ** digits - 1)}"


def _measure(lo: int, hi: int, units: tuple[str, ...], sep: str = " "):
    return lambda f: f"{random.randint(lo, hi)}{sep}{random.choice(units)}"


def _flight(f):
    airline = random.choice(("LH", "BA", "AF", "UA", "KL", "DL", "EK", "QF"))
    return f"{airline}{random.choice(('', ' '))}{random.randint(10, 9999)}"


def _version(f):
    patch = f".{random.randint(0, 20)}" if random.random() < 0.6 else ""
    return f"{random.choice(('', 'v', 'version '))}{random.randint(0, 12)}.{random.randint(0, 30)}{patch}"


PRODUCT_NOUNS = ("laptop", "phone", "tablet", "headphones", "monitor", "keyboard", "camera", "printer", "router",
                 "smartwatch", "speaker", "drone", "vacuum cleaner", "coffee maker", "blender", "backpack",
                 "running shoes", "desk lamp", "office chair", "e-reader")
MODEL_WORDS = ("Pro", "Air", "Max", "Lite", "Ultra", "Mini", "Plus", "Neo", "One", "Go", "Studio", "Edge")


def _product(f):
    brand = f.last_name() if random.random() < 0.5 else f.company().split()[0].strip(",")
    model = f"{random.choice(MODEL_WORDS)} {random.randint(2, 990)}" if random.random() < 0.7 else \
        f"{random.choice('XZSTQ')}{random.randint(10, 99)}"
    return f"{brand} {model} {random.choice(PRODUCT_NOUNS)}"


# key: (paraphrased type names, value function, locales). Keys in one CONFLICT group never meet in a record
# as positive + negative (a person name contains a first name, a city is a location...).
VALUE_TYPES: dict[str, tuple[tuple[str, ...], Callable, tuple[str, ...]]] = {
    "person": (("person", "person name", "full name", "individual", "human"),
               lambda f: f"{f.first_name()} {f.last_name()}", LOCALES),
    "first_name": (("first name", "given name", "forename"), lambda f: f.first_name(), LOCALES),
    "last_name": (("last name", "surname", "family name"), lambda f: f.last_name(), LOCALES),
    "company": (("company", "organization", "organisation", "firm", "business", "corporation", "company name"),
                lambda f: f.company(), LOCALES),
    "job": (("job title", "occupation", "profession", "position", "job role"), lambda f: f.job(), EN),
    "city": (("city", "town", "city name"), lambda f: f.city(), LOCALES),
    "country": (("country", "nation", "country name"), lambda f: f.country(), EN),
    "address": (("street address", "address", "postal address"), lambda f: f.street_address(), LOCALES),
    "postcode": (("postal code", "zip code", "postcode"), lambda f: f.postcode(), LOCALES),
    "date": (("date", "calendar date"), _date, EN),
    "time": (("time", "time of day", "clock time"), _time, EN),
    "weekday": (("day of the week", "weekday"), lambda f: random.choice(WEEKDAYS), EN),
    "year": (("year",), lambda f: str(random.randint(1950, 2030)), EN),
    "phone": (("phone number", "telephone number", "contact number", "mobile number"),
              lambda f: f.phone_number(), LOCALES),
    "email": (("email address", "email", "e-mail address"), lambda f: f.email(), LOCALES),
    "url": (("url", "website", "web address", "link"), lambda f: f.url(), LOCALES),
    "ip": (("ip address", "ipv4 address"), lambda f: f.ipv4(), EN),
    "money": (("amount of money", "price", "amount", "monetary value", "cost", "sum of money"), _money, EN),
    "currency": (("currency", "currency name"), lambda f: f.currency_name(), EN),
    "card": (("credit card number", "card number", "payment card number"), lambda f: f.credit_card_number(), EN),
    "iban": (("iban", "bank account number", "international bank account number"), lambda f: f.iban(), LOCALES),
    "plate": (("license plate", "licence plate", "vehicle registration number", "number plate"),
              lambda f: f.license_plate(), LOCALES),
    "color": (("color", "colour"), lambda f: f.color_name().lower(), EN),
    "file": (("file name", "filename", "document name"), lambda f: f.file_name(), EN),
    "username": (("username", "user name", "account handle"), lambda f: f.user_name(), LOCALES),
    "domain": (("domain name", "internet domain"), lambda f: f.domain_name(), LOCALES),
    "isbn": (("isbn", "book number"), lambda f: f.isbn13(), EN),
    "language": (("language", "spoken language"), lambda f: f.language_name(), EN),
    "swift": (("swift code", "bic code", "bank identifier code"), lambda f: f.swift(), EN),
    "timezone": (("time zone", "timezone"), lambda f: f.timezone(), EN),
    "product": (("product", "product name", "item"), _product, LOCALES),
    "order_id": (("order number", "order id", "order reference"), _code(("ORD-", "#", "PO-", "SO-")), EN),
    "invoice_id": (("invoice number", "invoice id", "bill number"), _code(("INV-", "INV-2024-", "F-", "BILL-"), 4), EN),
    "ticket_id": (("ticket number", "case number", "support ticket id"), _code(("TCK-", "CASE-", "#", "SR-"), 6), EN),
    "tracking": (("tracking number", "shipment tracking code"), _code(("1Z", "JD", "TRK"), 9), EN),
    "flight_no": (("flight number", "flight code"), _flight, EN),
    "version": (("version number", "software version", "release version"), _version, EN),
    "percent": (("percentage", "percent value", "rate"), _measure(1, 99, ("%", " percent", ".5%"), ""), EN),
    "quantity": (("quantity", "measurement", "amount with unit"),
                 _measure(1, 500, ("kg", "g", "ml", "litres", "km", "miles", "metres", "tons", "boxes", "units")), EN),
    "duration": (("duration", "time period", "length of time"),
                 _measure(2, 48, ("minutes", "hours", "days", "weeks", "months", "years")), EN),
    "age": (("age",), _measure(18, 95, ("years old",)), EN),
    "temperature": (("temperature",), _measure(-20, 40, ("°C", "degrees", "degrees Celsius", "°F")), EN),
}
CONFLICT = ({"person", "first_name", "last_name", "username"}, {"city", "country", "address", "postcode"},
            {"date", "weekday", "year", "time", "duration", "age"}, {"money", "currency", "percent", "quantity"},
            {"email", "url", "domain", "username", "file"}, {"order_id", "invoice_id", "ticket_id", "tracking", "isbn"},
            {"company", "product"})
# WordNet lexicographer files whose hyponyms make sensible "entities" (not feelings, attributes, relations...).
CONCRETE = frozenset((4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 17, 18, 20, 21, 26, 27))
FAR_TYPES = ("disease", "gene", "chemical", "weapon", "river", "mountain", "programming language", "sport",
             "musical instrument", "animal", "plant", "award", "political party", "religion", "planet", "novel")


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
        lit = template[last:m.start()]
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
    irregular = {"person": "people", "man": "men", "woman": "women", "child": "children", "mouse": "mice",
                 "goose": "geese", "foot": "feet", "tooth": "teeth", "ox": "oxen"}
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
FAKER_TEMPLATES = (
    "{person} joined {company} as {job} in {year}.",
    "Please send the signed contract to {email} before {date}.",
    "Our new office is at {address}, {city}, and opens at {time}.",
    "Call {person} on {phone} if the delivery to {city} is late.",
    "The payment of {money} was made from account {iban}.",
    "{company} reported revenue of {money} for {year}.",
    "Flight {flight_no} from {city} to {city2} leaves at {time} on {weekday}.",
    "{person} moved from {country} to {city} {duration} ago.",
    "Hi {first_name}, your order {order_id} has shipped; the tracking number is {tracking}.",
    "Invoice {invoice_id} for {money} is due on {date}.",
    "The car with plate {plate} was parked outside {address} all night.",
    "Log in as {username} and download {file} from {url}.",
    "The server at {ip} was upgraded to {version} of the scheduler.",
    "Support ticket {ticket_id} was opened by {person} on {date}.",
    "{person}, {age}, lives in {city} and works as {article_job}.",
    "Dear {last_name} family, the meeting is moved to {weekday} at {time}.",
    "The {product} costs {money} and is available in {color}.",
    "Prices rose by {percent} in {country} last year, according to {company}.",
    "We shipped {quantity} of spare parts to {city} in {duration}.",
    "She speaks {language} and {language2} fluently.",
    "Wire the deposit to SWIFT {swift}; the account is held in {currency}.",
    "The book with ISBN {isbn} was ordered by {person}.",
    "It was {temperature} in {city} at {time} this morning.",
    "Contact {person} ({email}, {phone}) for press enquiries.",
    "Register the domain {domain} before {date} or it will expire.",
    "Meeting notes: {person} from {company} will visit the {city} plant on {date}.",
    "The clinic in {city} is open every {weekday} from {time} to {time2}.",
    "Our servers are in the {timezone} time zone.",
    "Card ending {card} was charged {money} by {company}.",
    "Shipping to {postcode} {city} usually takes {duration}.",
)
LIST_TEMPLATES = (
    "Speakers include {xs}.", "The shortlist: {xs}.", "{xs} were mentioned in the report.",
    "Attendees: {xs}.", "We compared {xs}.", "The committee invited {xs}.", "Please check {xs} again.",
    "Entries from {xs} arrived late.", "Neither {xs} replied to the survey.", "Thanks to {xs} for their help!",
)
WORDNET_SINGLE = (
    "{x} is {a_cls}.", "{x}, {a_cls}, was mentioned in the report.", "The article describes {x} in some detail.",
    "I had never heard of {x} before yesterday.", "According to the encyclopedia, {x} is {a_cls}.",
    "Her notes on {x} were published last year.", "There is a chapter about {x} in the second volume.",
    "Is {x} really {a_cls}?", "The guide kept talking about {x}.", "{x} came up again in the discussion.",
    "The exhibition opens with a section on {x}.", "Nobody in the quiz team could say much about {x}.",
    "We watched a short documentary about {x}.", "Among all examples of {a_cls}, {x} is the one I remember.",
)
WORDNET_LIST = (
    "{xs} are all {cls_pl}.", "The list included {xs}.", "We compared {xs} in class.",
    "Questions covered {xs}.", "She mentioned {xs} and nothing else.", "Which do you prefer: {xs}?",
    "{xs} were discussed at length.", "Students had to write about {xs}.",
    "Typical {cls_pl} include {xs}.", "The catalogue lists {xs}.", "Examples: {xs}.",
)


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
        names = {key: rng.choice(VALUE_TYPES[key][0]) for key in ents}
        rec["entities"] = {names[k]: sorted(v) for k, v in ents.items()}
        cand = [k for k in VALUE_TYPES if not conflicts(k, ents)]
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
                key = rng.choice(("person", "company", "city", "country", "product", "email", "date", "language",
                                  "job", "phone", "last_name"))
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
                words = sorted({wn.synsets[m].words[0].replace("_", " ") for m in members
                                if len(wn.synsets[m].words[0]) <= 40 and wn.synsets[m].words[0].count("_") < 4})
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
        facts = (
            ("{p} works for {c}.", [("works for", "p", "c")]),
            ("{p} has been an engineer at {c} since {y}.", [("works for", "p", "c")]),
            ("{p}, the chief executive of {c}, spoke on Monday.", [("ceo of", "p", "c"), ("works for", "p", "c")]),
            ("{c} is headquartered in {t}.", [("based in", "c", "t")]),
            ("{c}, based in {t}, hired {p}.", [("based in", "c", "t"), ("works for", "p", "c")]),
            ("{p} lives in {t}.", [("lives in", "p", "t")]),
            ("{p} was born in {t} in {y}.", [("born in", "p", "t")]),
            ("{p} founded {c} in {y}.", [("founded", "p", "c")]),
            ("{c} acquired {c2} for {m}.", [("acquired", "c", "c2")]),
            ("{p} is married to {p2}.", [("married to", "p", "p2")]),
            ("{t} is a city in {n}.", [("located in", "t", "n")]),
            ("{p}, who grew up in {t}, now works at {c}.", [("lives in", "p", "t"), ("works for", "p", "c")]),
        )
        groups = ({"works for", "ceo of", "founded"}, {"lives in", "born in"}, {"acquired"}, {"married to"},
                  {"based in", "located in"})
        types = {"p": "person", "p2": "person", "c": "company", "c2": "company", "t": "city", "n": "country"}
        while True:
            chosen = rng.sample(facts, rng.randint(1, 3))
            values = {"p": self._v("person", rng)[0], "p2": self._v("person", rng)[0],
                      "c": self._v("company", rng)[0], "c2": self._v("company", rng)[0],
                      "t": self._v("city", rng)[0], "n": self._v("country", rng)[0],
                      "y": self._v("year", rng)[0], "m": self._v("money", rng)[0]}
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
        negatives = {"invoice": ("event", "person"), "line item": ("event", "person"), "product": ("event", "order"),
                     "person": ("invoice", "product", "order"), "order": ("event",),
                     "event": ("invoice", "product", "order")}
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
            items = [(self._v("product", rng)[0], rng.randint(1, 9), rng.randint(100, 50000) / 100)
                     for _ in range(rng.randint(1, 4))]
            total = sum(q * p for _, q, p in items)
            method = rng.choice(list(PAYMENT))
            num, seller, date = self._v("invoice_id", rng)[0], self._v("company", rng)[0], self._v("date", rng)[0]
            tag = f"{i}:"
            parts += [rng.choice(("Invoice ", "Invoice no. ", "Bill ")), (num, tag + "invoice number"),
                      " from ", (seller, tag + "seller"), ", dated ", (date, tag + "date"), ": "]
            for j, (name, q, p) in enumerate(items):
                parts += [("; " if j else ""), f"{q} x ", (name, tag + "line item"), f" at {_fmt(p, cur)}"]
            parts += [". Total ", (_fmt(total, cur), tag + "total"), ", ", rng.choice(PAYMENT[method]), ". "]
            insts.append({"currency": cur[0], "payment method": method})
        text, spans = self._compose(parts, rng)
        fields = ["invoice number", "seller", "date", "line item", "total", "currency", "payment method"]
        for i, inst in enumerate(insts):
            for f in fields[:5]:
                inst[f] = spans.get(f"{i}:{f}", [])
        st = {"name": "invoice", "fields": fields, "choices": {"currency": [c[0] for c in CURRENCIES],
                                                              "payment method": list(PAYMENT)}, "instances": insts}
        return self._nested_record(text.strip(), [st])

    def _line_items(self, rng) -> dict:
        cur = rng.choice(CURRENCIES)
        n = rng.randint(1, 5)
        parts = [rng.choice(("Order summary:\n", "Items purchased:\n", "Receipt\n", "Your basket:\n"))]
        for j in range(n):
            name, q, p = self._v("product", rng)[0], rng.randint(1, 12), rng.randint(100, 99900) / 100
            parts += ["- ", (str(q), f"{j}:quantity"), " x ", (name, f"{j}:product"), " @ ",
                      (_fmt(p, cur), f"{j}:unit price"), "\n"]
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
            weight = f"{rng.randint(1, 3000)} {rng.choice(('g', 'grams'))}" if rng.random() < 0.5 else \
                f"{rng.randint(1, 30) / 2} kg"
            t = f"{j}:"
            parts += [rng.choice(("The ", "")), (brand, t + "brand"), " ", (model, t + "model"), f" {noun} ",
                      rng.choice(("costs ", "sells for ", "is priced at ")), (price, t + "price"),
                      rng.choice((", weighs ", " and weighs ")), (weight, t + "weight"),
                      rng.choice((" and comes in ", ", available in ")), (color, t + "color"), ". "]
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
            parts += [sep, (self._v("person", rng)[0], t + "name"), ", ", (self._v("job", rng)[0], t + "role"),
                      rng.choice((" at ", " with ", " of ")), (self._v("company", rng)[0], t + "employer")]
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
            parts += ["Order ", (self._v("order_id", rng)[0], t + "order number"), " for ",
                      (self._v("person", rng)[0], t + "customer"), " ("]
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
            parts += [("; " if j else ""), (name, t + "name"), " on ", (self._v("date", rng)[0], t + "date"),
                      " at ", (venue, t + "venue"), rng.choice((", ", " in ")), (city, t + "city")]
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
        makers = (self._sentiment, self._sentiment, self._critic, self._critic, self._topic, self._ticket,
                  self._register, self._spam, self._sentence_type)
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
        opener = rng.choice(("", f"I bought the {thing} last week. ", f"Review of the {thing}: ",
                             f"About this {thing}: ", "Update: ", "Honestly? "))
        text = opener + body[0].upper() + body[1:]
        labels = list(labels)
        rng.shuffle(labels)
        return self._cls(text, [{"task": rng.choice(("sentiment", "review sentiment", "opinion", "polarity")),
                                 "labels": labels, "true": [true], "multi_label": False}], rng)

    def _critic(self, rng) -> dict:
        """A critic's one-line verdict on a film, book, album or show: evaluative adjectives, sometimes
        negated ("never dull") or conceded ("beautifully shot, but tedious": the second clause wins)."""
        polarity = rng.choice((1, -1))
        work = rng.choice(CRITIC_WORKS)

        def adj(p):
            return rng.choice(CRITIC_ADJ[p]) if rng.random() < 0.8 else "not " + rng.choice(CRITIC_ADJ[-p]) \
                if p < 0 else "never " + rng.choice(CRITIC_ADJ[-p])

        form = rng.randrange(4)
        if form == 0:
            text = f"a {adj(polarity)} and {adj(polarity)} {work}"
        elif form == 1:
            text = " ".join(filter(None, ("the", work, "is", rng.choice(CRITIC_DEGREE), adj(polarity))))
        elif form == 2:
            text = f"{rng.choice(CRITIC_PARTS)} {rng.choice(('is', 'feels', 'seems'))} {adj(-polarity)}, " \
                   f"but the {work} as a whole is {adj(polarity)}"
        else:
            text = " ".join(filter(None, (rng.choice(CRITIC_OPENERS[polarity]), rng.choice(CRITIC_DEGREE),
                                          adj(polarity), work)))
        text += rng.choice((" .", ".", "", " !"))
        labels = list(rng.choice(BINARY_SENTIMENT[:4] + (("positive", "negative"),) * 4))
        true = labels[0] if polarity > 0 else labels[1]
        rng.shuffle(labels)
        return self._cls(text, [{"task": rng.choice(("sentiment", "review sentiment", "polarity")),
                                 "labels": labels, "true": [true], "multi_label": False}], rng)

    def _topic(self, rng) -> dict:
        topics = rng.sample(sorted(TOPICS), 2 if rng.random() < 0.3 else 1)
        sents = []
        for t in topics:
            tpl = rng.choice(TOPICS[t][1])
            sents.append(render(tpl, {"p": self._v("person", rng)[0], "c": self._v("company", rng)[0],
                                      "t": self._v("city", rng)[0], "n": self._v("percent", rng)[0]}, rng)[0])
        names = {t: rng.choice(TOPICS[t][0]) for t in TOPICS}
        others = [t for t in sorted(TOPICS) if t not in topics]
        label_topics = topics + rng.sample(others, rng.randint(2, 7))
        labels = [names[t] for t in label_topics]
        rng.shuffle(labels)
        multi = len(topics) > 1 or rng.random() < 0.3
        task = {"task": rng.choice(("topic", "category", "news topic", "subject")), "labels": labels,
                "true": sorted(names[t] for t in topics), "multi_label": multi}
        return self._cls(" ".join(sents), [task], rng)

    def _ticket(self, rng) -> dict:
        cat = rng.choice(sorted(TICKETS))
        urgency = rng.choice(sorted(TICKETS[cat]))
        text = render(rng.choice(TICKETS[cat][urgency]), {"o": self._v("order_id", rng)[0],
                                                          "p": self._v("product", rng)[0]}, rng)[0]
        if rng.random() < 0.5:
            text = rng.choice(("Hi, ", "Hello team, ", "Dear support, ", "")) + text[0].lower() + text[1:]
        scale = rng.choice((("low", "medium", "high", "critical"), ("not urgent", "urgent")))
        true = urgency if len(scale) == 4 else ("urgent" if urgency in ("high", "critical") else "not urgent")
        tasks = [{"task": rng.choice(("urgency", "priority")), "labels": _shuffled(scale, rng), "true": [true],
                  "multi_label": False}]
        if rng.random() < 0.6:
            tasks.append({"task": rng.choice(("ticket category", "issue type", "department")),
                          "labels": _shuffled(sorted(TICKETS), rng), "true": [cat], "multi_label": False})
        rng.shuffle(tasks)
        return self._cls(text, tasks, rng)

    def _register(self, rng) -> dict:
        topic = rng.choice(REGISTER)
        formal = rng.random() < 0.5
        text = topic[0] if formal else topic[1]
        text = text.format(p=self._v("last_name", rng)[0], d=self._v("weekday", rng)[0])
        labels = rng.choice((("formal", "informal"), ("formal", "casual")))
        return self._cls(text, [{"task": rng.choice(("register", "tone", "formality")),
                                 "labels": _shuffled(labels, rng), "true": [labels[0] if formal else labels[1]],
                                 "multi_label": False}], rng)

    def _spam(self, rng) -> dict:
        spam = rng.random() < 0.5
        tpl = rng.choice(SPAM if spam else HAM)
        values = {"m": "money", "u": "url", "p": "first_name", "w": "weekday", "t": "time"}
        text = render(tpl, {k: self._v(key, rng)[0] for k, key in values.items()}, rng)[0]
        labels = rng.choice((("spam", "not spam"), ("spam", "legitimate"), ("junk", "genuine message")))
        return self._cls(text, [{"task": rng.choice(("spam detection", "message type", "spam")),
                                 "labels": _shuffled(labels, rng), "true": [labels[0] if spam else labels[1]],
                                 "multi_label": False}], rng)

    def _sentence_type(self, rng) -> dict:
        kind = rng.choice(sorted(SENTENCE_TYPES))
        text = rng.choice(SENTENCE_TYPES[kind]).format(c=self._v("city", rng)[0], p=self._v("first_name", rng)[0])
        return self._cls(text, [{"task": "sentence type", "labels": _shuffled(sorted(SENTENCE_TYPES), rng),
                                 "true": [kind], "multi_label": False}], rng)


# ---------------------------------------------------------------- vocabulary for the generators
CURRENCIES = (("usd", "$"), ("eur", "€"), ("gbp", "£"))
PAYMENT = {"card": ("paid by card", "settled by credit card", "card payment received"),
           "cash": ("paid in cash", "cash payment on delivery", "settled in cash"),
           "transfer": ("payable by bank transfer", "to be paid by wire transfer", "paid via bank transfer")}
STATUS = {"pending": ("is awaiting dispatch since", "was placed on"),
          "shipped": ("was shipped on", "left our warehouse on"),
          "delivered": ("was delivered on", "arrived on"), "cancelled": ("was cancelled on", "was called off on")}
EVENT_KINDS = {"concert": ("Symphony Night", "Jazz Concert", "Rock Concert"),
               "conference": ("Tech Conference", "Medical Conference", "Data Summit Conference"),
               "festival": ("Film Festival", "Food Festival", "Music Festival"),
               "exhibition": ("Art Exhibition", "Photo Exhibition", "Design Exhibition"),
               "workshop": ("Pottery Workshop", "Coding Workshop", "Writing Workshop")}
NEG_FIELDS = {"invoice": ("invoice number", "seller", "total"), "event": ("name", "date", "venue"),
              "person": ("name", "role", "employer"), "product": ("brand", "model", "price"),
              "order": ("order number", "customer", "items")}
UNRELATED = {"recipe": ("dish", "ingredients", "cooking time"),
             "weather report": ("location", "temperature", "conditions"),
             "flight booking": ("passenger", "origin", "destination", "departure date"),
             "medical prescription": ("drug", "dosage", "patient"), "sports match": ("home team", "away team", "score"),
             "real estate listing": ("address", "price", "number of bedrooms")}


def _fmt(amount: float, cur) -> str:
    return f"{cur[1]}{amount:,.2f}"


def _shuffled(labels, rng) -> list[str]:
    labels = list(labels)
    rng.shuffle(labels)
    return labels


BINARY_SENTIMENT = (("positive", "negative"), ("good", "bad"), ("satisfied", "dissatisfied"), ("happy", "unhappy"),
                    ("recommend", "do not recommend"), ("favorable", "unfavorable"), ("praise", "complaint"),
                    ("liked it", "disliked it"), ("thumbs up", "thumbs down"))
REVIEW_DOMAINS = (
    ("restaurant", ["the food", "the service", "the waiter", "the dessert", "the atmosphere", "the wine list"]),
    ("hotel", ["the room", "the staff", "the breakfast", "the location", "the bed", "the check-in"]),
    ("phone", ["the battery", "the screen", "the camera", "the price", "the speaker", "the software"]),
    ("film", ["the plot", "the acting", "the soundtrack", "the ending", "the dialogue", "the pacing"]),
    ("book", ["the story", "the characters", "the writing", "the ending", "the translation", "the first chapter"]),
    ("app", ["the interface", "the latest update", "the sync feature", "the notifications", "the login", "support"]),
    ("delivery", ["the courier", "the packaging", "the tracking", "the delivery time", "the driver", "the refund"]),
    ("headphones", ["the sound", "the noise cancelling", "the fit", "the battery life", "the case", "the microphone"]),
)
CRITIC_WORKS = ("film", "movie", "comedy", "thriller", "drama", "documentary", "novel", "album", "series",
                "sequel", "debut", "remake", "picture", "story", "performance", "script", "production")
CRITIC_ADJ = {
    1: ("charming", "affecting", "witty", "gripping", "moving", "funny", "smart", "exhilarating", "tender",
        "inventive", "beautifully acted", "heartfelt", "compelling", "delightful", "gorgeous", "thoughtful",
        "hilarious", "haunting", "engaging", "brilliant", "warm", "refreshing", "powerful", "sharp", "enjoyable",
        "wonderful", "clever", "touching", "entertaining", "masterful", "riveting", "lovely", "superb"),
    -1: ("dull", "tedious", "bland", "clumsy", "pretentious", "lifeless", "predictable", "overlong", "incoherent",
         "mediocre", "boring", "shallow", "forgettable", "unfunny", "tiresome", "muddled", "flat", "silly",
         "lazy", "painful", "sluggish", "hollow", "formulaic", "annoying", "messy", "uninspired", "stale",
         "awkward", "cheap", "joyless", "pointless", "dreary", "wooden")}
CRITIC_DEGREE = ("", "", "often", "very", "thoroughly", "surprisingly", "consistently", "utterly", "rather",
                 "genuinely", "oddly")
CRITIC_PARTS = ("the plot", "the pacing", "the dialogue", "the second half", "the soundtrack", "the ending",
                "the cinematography", "the lead performance", "the premise", "the script")
CRITIC_OPENERS = {1: ("it 's a", "what a", "simply a", "this is a", "overall a"),
                  -1: ("it 's a", "what a", "just a", "this is a", "overall a")}
POLAR = {2: ("was absolutely fantastic", "exceeded every expectation", "was simply perfect", "was outstanding",
             "could not have been better"),
         1: ("was good", "worked well", "was pleasant", "was better than expected", "was quite nice"),
         0: ("was okay", "was average", "was neither good nor bad", "did what it says", "was as described"),
         -1: ("was disappointing", "was a bit poor", "could be better", "was below average", "felt cheap"),
         -2: ("was awful", "was a complete disaster", "was the worst I have seen", "was utterly useless",
              "was terrible")}


def _phrase(aspect: str, score: int, rng) -> str:
    return f"{aspect} {rng.choice(POLAR[score])}"


TOPICS = {
    "sports": (("sports", "sport"), ("{p} scored twice as the home side won the derby in {t}.",
                                     "The championship final went to extra time before the visitors won on penalties.",
                                     "The coach of the national team named three new players for the qualifiers.",
                                     "{p} set a new record in the 200 metres at the athletics meeting.")),
    "politics": (("politics", "government"), (
        "Parliament passed the budget bill after a long night of debate.",
        "{p} announced a run for mayor of {t} at a rally on Sunday.",
        "The opposition called for an early election after the minister resigned.",
        "Voters in {t} will decide on the new tax in a referendum.")),
    "technology": (("technology", "tech"), ("{c} released a new smartphone chip that doubles battery life.",
                                            "A software update fixed the security flaw in the company's browser.",
                                            "Engineers at {c} showed a robot that can sort recycling.",
                                            "The startup trained its language model on a cluster of graphics cards.")),
    "business": (("business", "economy", "finance"), ("Shares in {c} fell {n} after the profit warning.",
                                                     "The central bank kept interest rates unchanged.",
                                                     "{c} agreed to buy a rival retailer in a cash deal.",
                                                     "Inflation slowed to {n} in the last quarter.")),
    "health": (("health", "medicine"), ("Doctors in {t} reported a rise in flu cases this winter.",
                                        "A new study links regular exercise to better sleep.",
                                        "The hospital opened a clinic for children with asthma.",
                                        "Researchers tested a vaccine that needs only one dose.")),
    "science": (("science",), ("Astronomers observed a comet passing close to Jupiter.",
                              "The team measured how fast the glacier is losing ice.",
                              "Physicists at the lab confirmed the existence of a new particle.",
                              "Biologists discovered a species of frog in the rainforest.")),
    "entertainment": (("entertainment", "culture", "arts"), ("{p} won the award for best actress at the film festival.",
                                                            "The band announced a world tour starting in {t}.",
                                                            "The new season of the drama series premieres on Friday.",
                                                            "Critics praised the musical's first night in {t}.")),
    "travel": (("travel", "tourism"), ("Airlines added more flights to {t} for the summer holidays.",
                                      "The old town of {t} is best explored on foot.",
                                      "Travellers should book train tickets early during the festival week.",
                                      "The hotel offers free shuttles to the beach and the airport.")),
    "food": (("food", "cooking"), ("Roast the vegetables with garlic and olive oil for forty minutes.",
                                  "The bakery in {t} is famous for its sourdough bread.",
                                  "{p} opened a vegan restaurant serving dishes from her grandmother's recipes.",
                                  "Add the cream slowly and stir until the sauce thickens.")),
    "weather": (("weather",), ("Heavy rain is expected in {t} tomorrow with winds up to 80 km/h.",
                              "The heatwave will continue until the weekend.",
                              "Forecasters warned of snow on the mountain roads overnight.",
                              "Morning fog will clear to give a sunny afternoon.")),
    "crime": (("crime", "law and order"), ("Police in {t} arrested two men after a jewellery store robbery.",
                                          "The court sentenced the fraudster to six years in prison.",
                                          "Detectives are appealing for witnesses to the burglary.",
                                          "{p} was charged with money laundering on Tuesday.")),
    "environment": (("environment", "climate"), ("The city will plant ten thousand trees to cool its streets.",
                                                 "Emissions from the power sector fell {n} last year.",
                                                 "Volunteers cleared plastic waste from the river banks.",
                                                 "The new law protects wetlands from construction.")),
    "education": (("education",), ("Schools in {t} will hire more maths teachers next year.",
                                  "The university cut tuition fees for students from low-income families.",
                                  "Pupils sat their final exams this week.",
                                  "{p} was appointed head of the new primary school.")),
}
TICKETS = {
    "billing": {"low": ("Could you send me a copy of last month's invoice for my records?",
                        "Small question: can I change the billing address on my account?"),
                "medium": ("I was charged twice for order {o}, please refund one payment.",
                           "My discount code was not applied to order {o}."),
                "high": ("Your system charged my card five times for order {o} and my account is now overdrawn.",),
                "critical": ("All our customer payments are failing at checkout since the last update, "
                             "we are losing sales every minute.",)},
    "technical issue": {"low": ("The icons look slightly blurry on my second monitor.",
                                "A typo in the settings page: 'recieve' should be 'receive'."),
                        "medium": ("The {p} keeps disconnecting from wifi every few hours.",
                                   "Exports to CSV are slow when the report has many rows."),
                        "high": ("The {p} stopped working completely and I need it for work tomorrow.",
                                 "Our team cannot upload any files since this morning."),
                        "critical": ("Production is down: the whole site returns error 500 for every customer.",
                                     "The database server crashed and no one in the company can work.")},
    "account access": {"low": ("How do I change my profile picture?",),
                       "medium": ("I forgot my password and the reset email takes a long time to arrive.",),
                       "high": ("I am locked out of my account and cannot access my invoices before the deadline.",),
                       "critical": ("Someone hacked my account and is sending payments from it right now!",)},
    "shipping": {"low": ("Can I get my next order {o} delivered in plain packaging?",),
                 "medium": ("Order {o} is three days late, any update on the delivery?",),
                 "high": ("Order {o} arrived damaged and the {p} is broken.",),
                 "critical": ("The medicine in order {o} was not delivered and the patient needs it today.",)},
    "feature request": {"low": ("It would be nice to have a dark mode in the app.",
                                "Please consider adding keyboard shortcuts for the editor."),
                        "medium": ("We need an option to export reports to PDF for our monthly meetings.",)},
}
REGISTER = (
    ("Dear Mr {p}, I would be grateful if you could confirm the meeting on {d} at your earliest convenience.",
     "hey, r we still on for {d}? lmk"),
    ("We regret to inform you that your application has not been successful on this occasion.",
     "sorry mate, you didn't get the job this time"),
    ("Please find attached the requested documents for your review.", "here's the stuff u wanted, have a look"),
    ("I am writing to express my dissatisfaction with the service I received on {d}.",
     "ugh, the service on {d} was so bad tbh"),
    ("Kindly note that the office will be closed on {d} for maintenance.",
     "btw office is shut on {d}, no idea why lol"),
    ("Thank you for your prompt response; it is much appreciated.", "thx for getting back so fast!!"),
    ("Would you be available for a brief call to discuss the proposal?", "got a sec to chat about the plan?"),
    ("Mr {p} has kindly agreed to chair the committee this year.", "{p}'s gonna run the committee this year, cool huh"),
)
SPAM = ("Congratulations {p}! You have won {m}. Claim your prize now at {u}",
        "URGENT: your account will be suspended. Verify your details at {u} within 24 hours!",
        "Earn {m} a week working from home, no experience needed! Click {u}",
        "You have been selected for a FREE cruise. Reply YES to claim before {w}!",
        "Cheap meds, no prescription needed, order today at {u}",
        "Final notice: unpaid parcel fee of {m}. Pay now at {u} to release your package.")
HAM = ("Hi {p}, are we still meeting on {w} at {t}?", "Your dentist appointment is confirmed for {w} at {t}.",
       "Can you pick up some milk on the way home?", "The invoice of {m} was paid yesterday, thanks.",
       "Reminder: team lunch on {w}. Let me know if you can make it.", "Here are the slides from today's lecture: {u}",
       "{p}, the package you ordered was left with your neighbour.")
SENTENCE_TYPES = {
    "question": ("What time does the train to {c} leave?", "Have you seen {p} today?", "Why is the sky blue?",
                 "Could you tell me where the museum is?", "How many people live in {c}?"),
    "command": ("Close the door behind you.", "Send the report to {p} by noon.", "Turn left at the next corner.",
                "Please book two tickets to {c}.", "Stop the music."),
    "statement": ("The train to {c} leaves at nine.", "{p} finished the report yesterday.",
                  "Water boils at 100 degrees.", "The museum is next to the station.", "It rained all day in {c}."),
    "exclamation": ("What a beautiful day!", "I can't believe we won!", "Wow, {c} is amazing!", "That was so close!",
                    "{p}, you did it!"),
}
