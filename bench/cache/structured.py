"""Record-list and nested-JSON families for the model benchmark (issue 25).

A user's first 24 requests once lost 7 of 8 record-list misses to replies cut at the token
budget: the model copied the records into its tests and its answer. These families are that
kind of request: lists of records with a mapping or a field list beside them, and nested
orders. They are kept apart from FAMILIES, so the committed stream and every run without the
model stay as measured; `python -m bench.cache.run --only model --families ...` takes their
names, and sends ITEMS_PER_FAMILY requests of each, generated from SEED, after the stream's.
"""
from __future__ import annotations

import random
import re
from functools import lru_cache
from typing import Any

from .families import Family
from .inputs import PEOPLE, STATUSES, VENDORS
from .workload import Item

SEED = 25
ITEMS_PER_FAMILY = 2
FIRST_ID = 10_000  # after every id of the stream

FIELDS = ["id", "name", "status", "email", "amount", "country"]
COUNTRIES = ["DE", "FR", "US", "JP", "BR", "IN"]
CITIES = ["Lyon", "Osaka", "Recife", "Pune", "Leipzig", "Austin", "Gdansk"]
PRODUCTS = ["desk lamp", "ergo chair", "USB hub", "monitor arm", "notebook", "cable set", "webcam"]


def records(rng: random.Random) -> list[dict[str, Any]]:
    names = rng.sample([person[0] for person in PEOPLE] + VENDORS, rng.randint(3, 6))
    return [{"id": rng.randint(1, 999), "name": name, "status": rng.choice(STATUSES),
             "email": re.sub(r"[^a-z]", "", name.split()[0].lower()) + "@example.com", "amount": round(rng.uniform(1, 900), 2),
             "country": rng.choice(COUNTRIES)} for name in names]


def renaming(rng: random.Random) -> dict[str, Any]:
    renamed = rng.sample(FIELDS, rng.randint(1, 3))
    new_names = {"id": "key", "name": "full_name", "status": "state", "email": "mail", "amount": "total",
                 "country": "country_code"}
    return {"records": records(rng), "mapping": {old: new_names[old] for old in renamed}}


def dropping(rng: random.Random) -> dict[str, Any]:
    return {"records": records(rng), "fields": rng.sample(FIELDS, rng.randint(1, 3))}


def order(rng: random.Random) -> dict[str, Any]:
    person = " ".join(rng.choice(PEOPLE))
    lines = [{"sku": f"SKU-{rng.randint(100, 999)}", "product": product, "qty": rng.randint(1, 5),
              "unit_price": round(rng.uniform(2, 250), 2)}
             for product in rng.sample(PRODUCTS, rng.randint(1, 4))]
    return {"order": {"id": f"SO-{rng.randint(1000, 9999)}", "placed": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                      "customer": {"name": person, "address": {"street": f"{rng.randint(1, 99)} Main St",
                                                               "city": rng.choice(CITIES),
                                                               "country": rng.choice(COUNTRIES)}},
                      "lines": lines}}


ORDER_TEST = {"id": "SO-1", "customer": {"name": "A", "address": {"city": "Kyiv", "country": "UA"}},
              "lines": [{"sku": "X", "qty": 2, "unit_price": 1.25}, {"sku": "Y", "qty": 1, "unit_price": 10}]}

STRUCTURED: list[Family] = [
    Family(
        "rename_keys", "Rename the keys of every record by the mapping (old name -> new name); keys the mapping "
        "does not name stay as they are.",
        {"records": "array", "mapping": "object"}, "array",
        "def solve(records, mapping):\n    return [{mapping.get(k, k): v for k, v in r.items()} for r in records]\n",
        [({"records": [{"a": 1, "b": 2}], "mapping": {"a": "x"}}, [{"x": 1, "b": 2}]),
         ({"records": [], "mapping": {"a": "x"}}, []),
         ({"records": [{"id": 3}, {"id": 4, "n": "z"}], "mapping": {"n": "name"}}, [{"id": 3}, {"id": 4, "name": "z"}])],
        ["rename the record keys using the mapping", "records:rename_keys", "Could you rename these fields as the mapping says?",
         "apply the key mapping to each record", "renmae the keys per mapping", "Schlüssel der Datensätze laut Zuordnung umbenennen",
         "renomme les clés des enregistrements selon la correspondance"],
        renaming,
    ),
    Family(
        "drop_fields", "Remove the given fields from every record, keeping the other fields and the records' order.",
        {"records": "array", "fields": "array"}, "array",
        "def solve(records, fields):\n    return [{k: v for k, v in r.items() if k not in fields} for r in records]\n",
        [({"records": [{"a": 1, "b": 2}], "fields": ["b"]}, [{"a": 1}]),
         ({"records": [], "fields": ["a"]}, []),
         ({"records": [{"id": 1, "x": 0}, {"id": 2}], "fields": ["x", "y"]}, [{"id": 1}, {"id": 2}])],
        ["drop these fields from the records", "records:drop_fields", "Can you strip the listed fields from each record?",
         "remove the named keys from every record", "dorp the fields from records", "Felder aus allen Datensätzen entfernen",
         "supprime ces champs de chaque enregistrement"],
        dropping,
    ),
    Family(
        "order_total", "Compute an order's total: the sum of quantity times unit price over its lines, rounded to "
        "cents, as a number.",
        {"order": "object"}, "number",
        "def solve(order):\n    return round(sum(line['qty'] * line['unit_price'] for line in order['lines']), 2)\n",
        [({"order": ORDER_TEST}, 12.5), ({"order": {"id": "0", "lines": []}}, 0),
         ({"order": {"lines": [{"qty": 3, "unit_price": 0.1}]}}, 0.3)],
        ["total of the order", "order:total", "What does this order come to?", "add up qty times price over the order lines",
         "oder total", "Gesamtsumme der Bestellung berechnen", "calcule le total de la commande"],
        lambda rng: order(rng),
    ),
    Family(
        "order_city", "Return the city of the order's customer address.",
        {"order": "object"}, "string",
        "def solve(order):\n    return order['customer']['address']['city']\n",
        [({"order": ORDER_TEST}, "Kyiv"),
         ({"order": {"customer": {"address": {"city": "Lima"}}}}, "Lima"),
         ({"order": {"customer": {"name": "B", "address": {"street": "1 A St", "city": "Oslo"}}}}, "Oslo")],
        ["which city does the order ship to", "order:customer_city", "Which city is this customer in?",
         "get the customer's city from the order", "custmer city of the order", "Stadt des Kunden aus der Bestellung",
         "ville du client de la commande"],
        lambda rng: order(rng),
    ),
]
STRUCTURED_BY_NAME: dict[str, Family] = {family.name: family for family in STRUCTURED}


@lru_cache(maxsize=None)
def reference_solve(name: str):
    """The family's reference `solve`, compiled with plain exec: our own trusted code."""
    scope: dict[str, Any] = {}
    exec(compile(STRUCTURED_BY_NAME[name].code, f"<reference {name}>", "exec"), scope)
    return scope["solve"]


def structured_items(names: list[str], per_family: int = ITEMS_PER_FAMILY, seed: int = SEED) -> list[Item]:
    """per_family requests of each named family, round-robin, with ids from FIRST_ID."""
    rng = random.Random(seed)
    items = []
    for round_number in range(per_family):
        for name in names:
            family = STRUCTURED_BY_NAME[name]
            paraphrase = rng.randrange(len(family.paraphrases))
            inputs = family.make_inputs(rng)
            items.append(Item(FIRST_ID + len(items), name, paraphrase, family.paraphrases[paraphrase], inputs,
                              reference_solve(name)(**inputs)))
    return items
