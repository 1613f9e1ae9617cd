"""Write the embedded sample document table: news, product reviews, support tickets and invoices.

All text is generated here from templates (names, companies and places from ``faker`` when it is
installed, from small built-in lists otherwise), seeded, so the file is reproducible.

    python jobs/make_sample_data.py [--n 1200] [--out data/samples/documents.parquet] [--seed 7]

Columns: ``id`` (string, ``doc-00001``), ``source`` (news | review | support_ticket | invoice),
``text`` (string), ``created_at`` (date).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random

SOURCES = ("news", "review", "support_ticket", "invoice")

_PEOPLE = [
    "Maria Lopez",
    "James Carter",
    "Aiko Tanaka",
    "Olivia Brown",
    "Lukas Meyer",
    "Priya Nair",
    "Daniel Kim",
    "Sofia Rossi",
    "Ahmed Hassan",
    "Emma Wilson",
    "Noah Schmidt",
    "Chloe Martin",
]
_COMPANIES = [
    "Northwind Traders",
    "Acme Robotics",
    "Bluefin Analytics",
    "Contoso Energy",
    "Globex Foods",
    "Initech Software",
    "Umbrella Logistics",
    "Stark Mobility",
    "Wayne Textiles",
    "Hooli Cloud",
]
_CITIES = ["Berlin", "Lisbon", "Toronto", "Osaka", "Nairobi", "Austin", "Melbourne", "Lyon", "Denver", "Oslo"]
_PRODUCTS = [
    "AeroBook 14 laptop",
    "Pulse X2 headphones",
    "Nimbus smart speaker",
    "TrailRunner 5 shoes",
    "Vista 27 monitor",
    "BrewMaster coffee grinder",
    "Orbit fitness tracker",
    "Quill e-reader",
    "Glide electric scooter",
    "Lumen desk lamp",
    "Atlas backpack",
    "Echo Mini router",
]
_ITEMS = [
    ("USB-C cable", 9.5),
    ("wireless mouse", 24.0),
    ("laptop stand", 39.9),
    ("HDMI adapter", 15.0),
    ("office chair", 189.0),
    ("printer paper (box)", 32.5),
    ("toner cartridge", 74.0),
    ("webcam", 59.0),
    ("mechanical keyboard", 99.0),
    ("desk lamp", 45.0),
    ("SSD 1 TB", 89.0),
]
_TOPICS = [
    "opens a new factory",
    "announces a merger",
    "reports record quarterly revenue",
    "cuts 300 jobs",
    "launches a recycling program",
    "wins a government contract",
    "delays its product launch",
    "raises new funding",
]
_ISSUES = [
    "cannot log in after the last update",
    "was charged twice",
    "received a damaged package",
    "has not received the refund",
    "sees the app crash on start",
    "needs to change the delivery address",
    "reports that the device does not charge",
    "wants to cancel the subscription",
]


class _Names:
    """People, companies and cities from faker when available, from the lists above otherwise."""

    def __init__(self, rng: random.Random, seed: int):
        self.rng = rng
        try:
            from faker import Faker

            self.fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR"])
            self.fake.seed_instance(seed)
        except ImportError:  # faker is optional
            self.fake = None

    def person(self) -> str:
        return self.fake.name() if self.fake and self.rng.random() < 0.7 else self.rng.choice(_PEOPLE)

    def company(self) -> str:
        return self.fake.company() if self.fake and self.rng.random() < 0.5 else self.rng.choice(_COMPANIES)

    def city(self) -> str:
        return self.fake.city() if self.fake and self.rng.random() < 0.5 else self.rng.choice(_CITIES)


def _date(rng: random.Random) -> dt.date:
    return dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(600))


def _money(rng: random.Random, lo: float, hi: float) -> str:
    cur = rng.choice(["$", "EUR ", "£"])
    return f"{cur}{rng.uniform(lo, hi):,.2f}"


def news(rng, names) -> str:
    org, city, person, day = names.company(), names.city(), names.person(), _date(rng)
    topic = rng.choice(_TOPICS)
    amount = _money(rng, 1e6, 9e8)
    return (
        f"{city}, {day:%B %d, %Y} - {org} {topic}, chief executive {person} said on {day:%A}. "
        f"The deal is valued at {amount} and is expected to close by {(_date(rng)):%B %Y}. "
        f"Analysts at {names.company()} said the move could bring about {rng.randrange(50, 900)} jobs to "
        f"{names.city()}. {names.person()}, a spokesperson, declined to comment further."
    )


def review(rng, names) -> str:
    product, stars = rng.choice(_PRODUCTS), rng.randint(1, 5)
    mood = {
        1: "Terrible purchase.",
        2: "Disappointing.",
        3: "It is okay.",
        4: "Really good.",
        5: "Absolutely love it!",
    }[stars]
    detail = rng.choice(["battery life", "build quality", "sound", "screen", "delivery", "price", "setup"])
    verdict = "great" if stars >= 4 else "poor" if stars <= 2 else "average"
    return (
        f"{mood} I bought the {product} from {names.company()} for {_money(rng, 20, 1500)} on "
        f"{_date(rng):%d %B %Y}. The {detail} is {verdict}. {rng.choice(['Would', 'Would not'])} "
        f"recommend it. - {names.person()}, {names.city()} ({stars}/5)"
    )


def support_ticket(rng, names) -> str:
    person, product, ticket = names.person(), rng.choice(_PRODUCTS), rng.randrange(10000, 99999)
    return (
        f"Ticket #{ticket}: Customer {person} from {names.city()} {rng.choice(_ISSUES)} with the {product}. "
        f"Order placed on {_date(rng):%Y-%m-%d} for {_money(rng, 20, 900)}. "
        f"Assigned to {names.person()} at {names.company()} support. Priority: "
        f"{rng.choice(['low', 'normal', 'high', 'urgent'])}."
    )


def invoice(rng, names) -> str:
    seller, buyer, number, day = names.company(), names.company(), rng.randrange(1000, 9999), _date(rng)
    lines, total = [], 0.0
    for item, price in rng.sample(_ITEMS, rng.randint(2, 5)):
        qty = rng.randint(1, 12)
        total += qty * price
        lines.append(f"{qty} x {item} at ${price:,.2f}")
    return (
        f"Invoice INV-{number} issued by {seller}, {names.city()}, to {buyer} on {day:%B %d, %Y}. "
        f"Items: {'; '.join(lines)}. Total due: ${total:,.2f} by {(day + dt.timedelta(days=30)):%B %d, %Y}. "
        f"Contact: {names.person()}."
    )


def generate(n: int, seed: int = 7) -> list[dict]:
    """``n`` documents, sources in rotation, reproducible for a given seed."""
    rng = random.Random(seed)
    names = _Names(rng, seed)
    makers = {"news": news, "review": review, "support_ticket": support_ticket, "invoice": invoice}
    rows = []
    for i in range(n):
        source = SOURCES[i % len(SOURCES)]
        rows.append(
            {"id": f"doc-{i + 1:05d}", "source": source, "text": makers[source](rng, names), "created_at": _date(rng)}
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1200)
    ap.add_argument("--out", default="data/samples/documents.parquet")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = generate(args.n, args.seed)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    table = pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [("id", pa.string()), ("source", pa.string()), ("text", pa.string()), ("created_at", pa.date32())]
        ),
    )
    pq.write_table(table, args.out, compression="zstd")
    print(f"wrote {len(rows)} documents to {args.out} ({os.path.getsize(args.out) / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
