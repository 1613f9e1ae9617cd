"""A deterministic generator of short English news and review texts for benchmarks and tests.

Texts are assembled from sentence templates written for this project and filled with invented people,
companies, places, products, dates and prices. The same seed always gives the same texts, so timings
from different runs (and different machines) see exactly the same input.

Example::

    from benchmarks.texts import generate
    texts = generate(256, seed=0)            # 256 texts of 60-120 words
"""

from __future__ import annotations

import random

PEOPLE = [
    "Maria Lopez",
    "James Okafor",
    "Chen Wei",
    "Anna Schmidt",
    "Rahul Mehta",
    "Sofia Rossi",
    "David Kim",
    "Laura Bennett",
    "Tomasz Nowak",
    "Aisha Bello",
    "Peter Lindqvist",
    "Hannah Cole",
    "Kenji Sato",
    "Olivia Grant",
    "Mateo Fernandez",
    "Nadia Haddad",
]
COMPANIES = [
    "Northwind Systems",
    "Bluefield Energy",
    "Orbital Foods",
    "Kestrel Motors",
    "Harbor Bank",
    "Lumen Health",
    "Granite Telecom",
    "Vireo Robotics",
    "Summit Airlines",
    "Copperleaf Media",
    "Atlas Logistics",
    "Riverstone Pharma",
]
PLACES = [
    "Berlin",
    "Lagos",
    "Toronto",
    "Osaka",
    "Madrid",
    "Chicago",
    "Nairobi",
    "Melbourne",
    "Lyon",
    "Sao Paulo",
    "Mumbai",
    "Oslo",
    "Denver",
    "Krakow",
]
PRODUCTS = [
    "the Aero X2 headphones",
    "the Nimbus 7 laptop",
    "the Vela smartwatch",
    "the Terra e-bike",
    "the Pulse 3 phone",
    "the Arc coffee grinder",
    "the Quill tablet",
    "the Drift robot vacuum",
    "the Halo desk lamp",
    "the Summit hiking boots",
]
DATES = [
    "on Monday",
    "on Tuesday",
    "on Wednesday",
    "on Thursday",
    "on Friday",
    "last week",
    "on March 3",
    "on June 14",
    "in early September",
    "on November 21",
    "earlier this year",
    "late on Sunday",
]
PRICES = [
    "$49",
    "$129",
    "$399",
    "$1,250",
    "12 million dollars",
    "3.5 billion euros",
    "450 pounds",
    "$18.99",
    "2 million yen",
    "75 euros",
]
ROLES = [
    "chief executive",
    "spokesperson",
    "head of research",
    "finance director",
    "founder",
    "regional manager",
    "lead engineer",
]

NEWS = [
    "{company} announced {date} that it will open a new office in {place}.",
    "{person}, the {role} of {company}, said the move would create about {number} jobs.",
    "Shares of {company} rose {number} percent after the company reported stronger sales.",
    "{company} agreed to buy {company2} for {price}, according to people familiar with the deal.",
    "The deal is expected to close {date}, pending approval from regulators in {place}.",
    "{person} told reporters in {place} that demand had recovered faster than expected.",
    "Analysts said the results showed {company} was gaining ground on {company2}.",
    "The company also said it would cut prices on {product} to {price}.",
    "{person} joined {company} as {role} {date} after several years at {company2}.",
    "Local officials in {place} welcomed the investment but asked for more details.",
    "Critics argued that the plan did little to address rising costs for customers.",
    "A spokesperson for {company2} declined to comment on the report.",
    "The new factory near {place} will produce {product} starting {date}.",
    "{company} said quarterly revenue reached {price}, up from a year earlier.",
    "Workers at the {place} site voted {date} to accept a new contract.",
]
REVIEWS = [
    "I bought {product} {date} from a shop in {place} for {price}.",
    "The build quality is excellent and it feels much more solid than I expected.",
    "Battery life was disappointing, lasting barely a day with normal use.",
    "Setup took less than ten minutes, and the instructions were clear.",
    "Customer support at {company} answered my question within an hour.",
    "After {number} weeks of daily use, the hinge started to make a clicking noise.",
    "For {price} it is hard to find anything better in this category.",
    "My partner {person} prefers the older model, which was lighter.",
    "The app that comes with it crashes often and needs a serious update.",
    "Compared with the version sold by {company2}, this one is quieter and faster.",
    "Shipping to {place} was quick, although the box arrived slightly damaged.",
    "I would recommend it to anyone who needs something reliable for work.",
    "The colours look great, but the screen is hard to read in bright sunlight.",
    "{person} from {company} contacted me {date} to offer a free replacement.",
    "Overall it is a good purchase, even if a few details could be improved.",
]


def _fill(template: str, rng: random.Random) -> str:
    company, company2 = rng.sample(COMPANIES, 2)
    return template.format(
        person=rng.choice(PEOPLE),
        company=company,
        company2=company2,
        place=rng.choice(PLACES),
        product=rng.choice(PRODUCTS),
        date=rng.choice(DATES),
        price=rng.choice(PRICES),
        role=rng.choice(ROLES),
        number=rng.randint(2, 40),
    )


def generate_one(rng: random.Random, min_words: int = 60, max_words: int = 120) -> str:
    """One news story or product review of ``min_words``..``max_words`` whitespace-separated words."""
    templates = NEWS if rng.random() < 0.5 else REVIEWS
    target = rng.randint(min_words, max_words)
    sentences: list[str] = []
    words = 0
    pool = list(templates)
    rng.shuffle(pool)
    while True:
        if not pool:
            pool = list(templates)
            rng.shuffle(pool)
        sentence = _fill(pool.pop(), rng)
        n = len(sentence.split())
        if words + n > max_words:
            if words >= min_words:
                break
            continue
        sentences.append(sentence)
        words += n
        if words >= target:
            break
    return " ".join(sentences)


def generate(n: int = 256, seed: int = 0, min_words: int = 60, max_words: int = 120) -> list[str]:
    """``n`` texts, identical for the same arguments."""
    rng = random.Random(seed)
    return [generate_one(rng, min_words, max_words) for _ in range(n)]


# The schema every engine is asked (5 entity types, a 3-label classification, a 3-field structure).
ENTITIES = ["person", "company", "location", "product", "date"]
SENTIMENT = ["positive", "negative", "neutral"]
DEAL = [("buyer", "str"), ("price", "str"), ("items", "list")]


def our_schema(entities_only: bool = False):
    from gliner2_udf import Schema

    s = Schema().entities(ENTITIES)
    if entities_only:
        return s
    s = s.classification("sentiment", SENTIMENT).structure("deal")
    for name, dtype in DEAL:
        s = s.field(name, dtype=dtype)
    return s


def reference_schema(ref):
    s = ref.create_schema().entities(ENTITIES).classification("sentiment", SENTIMENT).structure("deal")
    for name, dtype in DEAL:
        s = s.field(name, dtype=dtype)
    return s


if __name__ == "__main__":
    texts = generate()
    lengths = [len(t.split()) for t in texts]
    print(f"{len(texts)} texts, {min(lengths)}-{max(lengths)} words (mean {sum(lengths) / len(lengths):.1f})")
    print(texts[0])
