"""Realistic, varied inputs for the workload's task families, drawn from a seeded `random.Random`.

Every generator takes the stream's rng, so the whole workload is reproducible from one seed.
The documents vary the way real ones do: column order, labels, currencies, header order,
display names, lengths.
"""
from __future__ import annotations

import random
import string
from datetime import date, timedelta

VENDORS = ["Acme GmbH", "Nordwind AG", "Blue Fern Ltd", "Café Lumière", "Kito Supplies",
           "Orbital Parts", "Helix & Sons", "Maple Office"]
PEOPLE = [("Anna", "Berg"), ("Luis", "Ortega"), ("Mei", "Tanaka"), ("Omar", "Haddad"),
          ("Chloé", "Martin"), ("Jonas", "Weber"), ("Priya", "Nair"), ("Tom", "Okafor")]
DOMAINS = ["example.com", "acme.io", "nordwind.de", "mail.fr", "kito.co.uk", "orbital.net"]
WORDS = ("the invoice order client report server batch payment account delivery shipment "
         "customer ticket update review budget meeting schedule contract").split()
FILLER = "a of to and in for on with at by from is was it this that".split()
ITEMS = ["INV-1042", "order 88", "pallet B7", "Kiwi", "Lisbon", "ticket #311", "SKU-55-RED",
         "Mango", "Berlin", "job-2024-17", "Oslo", "crate 12", "Banana", "PO-7781"]
CURRENCY = ["EUR {}", "${}", "{} USD", "£{}", "CHF {}", "{} EUR"]
LOG_MESSAGES = ["db connection timeout", "user login ok", "cache miss for key 42", "disk at 91%",
                "retrying request", "payment declined", "job finished", "config reloaded",
                "slow query 2300 ms", "token expired"]
STATUSES = ["open", "closed", "pending", "shipped"]


def money(rng: random.Random, low: float = 1, high: float = 2500) -> float:
    return round(rng.uniform(low, high), 2)


def day(rng: random.Random, start: date = date(2023, 1, 1), span: int = 900) -> date:
    return start + timedelta(days=rng.randrange(span))


def csv_table(rng: random.Random) -> str:
    """A CSV export with an amount, a vendor and a quantity column, in a shuffled column order."""
    columns = ["id", "vendor", "amount", "qty", "date"]
    rng.shuffle(columns)
    rows = []
    for number in range(rng.randint(2, 9)):
        cell = {"id": str(1000 + number), "vendor": rng.choice(VENDORS).replace(",", ""),
                "amount": f"{money(rng):.2f}", "qty": str(rng.randint(1, 20)),
                "date": day(rng).isoformat()}
        rows.append(",".join(cell[c] for c in columns))
    return "\n".join([",".join(columns), *rows]) + "\n"


def numbers(rng: random.Random) -> list:
    count = rng.randint(3, 9)
    if rng.random() < 0.5:
        return [rng.randint(-50, 500) for _ in range(count)]
    return [round(rng.uniform(-20, 200), 1) for _ in range(count)]


def items(rng: random.Random) -> list[str]:
    return rng.sample(ITEMS, rng.randint(2, 7))


def measurement(rng: random.Random) -> float | int:
    return rng.randint(-30, 120) if rng.random() < 0.4 else round(rng.uniform(-40, 250), 1)


def sentence_text(rng: random.Random) -> str:
    """A few sentences in which one content word clearly occurs most often."""
    winner = rng.choice(WORDS)
    others = [w for w in WORDS if w != winner]
    words = [winner] * rng.randint(3, 5)
    words += rng.sample(others, rng.randint(2, 6))  # each at most once
    words += [rng.choice(FILLER) for _ in range(rng.randint(0, 2))]
    rng.shuffle(words)
    cut = rng.randint(2, max(2, len(words) - 2))
    text = " ".join(words[:cut]).capitalize() + ". " + " ".join(words[cut:]).capitalize() + "."
    return text


def iso_date(rng: random.Random) -> str:
    return day(rng).isoformat()


def us_date(rng: random.Random) -> str:
    when = day(rng)
    return f"{when.month:02d}/{when.day:02d}/{when.year}"


def date_range(rng: random.Random) -> dict:
    start = day(rng)
    return {"start": start.isoformat(), "end": (start + timedelta(days=rng.randint(0, 400))).isoformat()}


def date_and_days(rng: random.Random) -> dict:
    return {"date": iso_date(rng), "days": rng.randint(1, 120)}


def invoice(rng: random.Random) -> str:
    """An invoice as text: number, date, lines, subtotal, VAT and total, labels varying."""
    vendor = rng.choice(VENDORS)
    currency = rng.choice(CURRENCY)
    lines = [f"{rng.randint(1, 9)} x {rng.choice(WORDS)} service" for _ in range(rng.randint(1, 3))]
    subtotal = money(rng, 50, 9000)
    rate = rng.choice([7, 10, 19, 20])
    tax = round(subtotal * rate / 100, 2)
    total = round(subtotal + tax, 2)
    show = lambda value: currency.format(f"{value:,.2f}")  # noqa: E731 - a local formatter
    number_label = rng.choice(["Invoice No:", "Invoice number:", "Invoice #", "INVOICE NO."])
    number = f"{rng.choice(['INV', 'RE', 'F'])}-{rng.randint(2022, 2025)}-{rng.randint(1, 9999):04d}"
    tax_label = rng.choice([f"VAT ({rate}%):", f"Tax {rate}%:", "VAT:", "Sales tax:"])
    total_label = rng.choice(["Total:", "TOTAL DUE:", "Amount due:", "Total payable:"])
    return "\n".join([
        vendor, f"{number_label} {number}", f"Date: {day(rng).isoformat()}", "", *lines, "",
        f"Subtotal: {show(subtotal)}", f"{tax_label} {show(tax)}", f"{total_label} {show(total)}",
        rng.choice(["Thank you for your business.", "Payment within 30 days.", ""]),
    ]).rstrip() + "\n"


def address(person: tuple[str, str], rng: random.Random) -> str:
    first, last = person
    plain = first.lower().replace("é", "e").replace("ö", "o")
    return f"{plain}.{last.lower()}@{rng.choice(DOMAINS)}"


def email(rng: random.Random) -> str:
    """An email with From, To, Subject and Date headers in a varying order."""
    sender, recipient = rng.sample(PEOPLE, 2)
    headers = [
        f"From: {' '.join(sender)} <{address(sender, rng)}>" if rng.random() < 0.7 else f"From: {address(sender, rng)}",
        f"To: {' '.join(recipient)} <{address(recipient, rng)}>" if rng.random() < 0.5 else f"To: {address(recipient, rng)}",
        f"Subject: {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}",
        f"Date: {day(rng).isoformat()}",
    ]
    rng.shuffle(headers)
    body = f"Hi {recipient[0]},\nplease see the {rng.choice(WORDS)} attached.\nBest, {sender[0]}"
    return "\n".join(headers) + "\n\n" + body + "\n"


def log(rng: random.Random) -> str:
    """Application log lines with levels ERROR, WARN, INFO and DEBUG in random proportions."""
    levels = rng.choices(["ERROR", "WARN", "INFO", "DEBUG"], weights=[2, 2, 5, 2], k=rng.randint(3, 12))
    start = day(rng)
    return "\n".join(
        f"{start.isoformat()} {10 + i // 6:02d}:{(i * 7) % 60:02d}:{(i * 13) % 60:02d} {level} "
        f"[{rng.choice(['api', 'worker', 'db', 'auth'])}] {rng.choice(LOG_MESSAGES)}"
        for i, level in enumerate(levels)
    ) + "\n"


def records(rng: random.Random) -> list[dict]:
    names = rng.sample([p[0] for p in PEOPLE] + VENDORS, rng.randint(2, 6))
    return [{"id": rng.randint(1, 999), "name": name, "status": rng.choice(STATUSES)} for name in names]


def email_address(rng: random.Random) -> str:
    good = address(rng.choice(PEOPLE), rng)
    broken = [good.replace("@", ""), good.replace("@", "@@"), good.split("@")[0] + "@localhost",
              "@" + good.split("@")[1], good.replace(".", " ", 1), good.rsplit(".", 1)[0] + "."]
    return good if rng.random() < 0.5 else rng.choice(broken)


def iban_check_digits(country: str, bban: str) -> str:
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{98 - int(digits) % 97:02d}"


def iban(rng: random.Random) -> str:
    """An IBAN with correct check digits, or one with a digit changed (about half of them)."""
    country, length = rng.choice([("DE", 18), ("FR", 23), ("GB", 18), ("NL", 14)])
    if country in ("GB", "NL"):
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4))
        bban += "".join(rng.choice(string.digits) for _ in range(length - 4))
    else:
        bban = "".join(rng.choice(string.digits) for _ in range(length))
    text = country + iban_check_digits(country, bban) + bban
    if rng.random() < 0.5:
        position = rng.randrange(4, len(text))
        wrong = str((int(text[position], 36) + rng.randint(1, 8)) % 10)
        text = text[:position] + wrong + text[position + 1:]
    if rng.random() < 0.5:
        text = " ".join(text[i:i + 4] for i in range(0, len(text), 4))
    return text
