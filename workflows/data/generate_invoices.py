"""Generates the demo's invoices (run once; the output is committed, so the demo never changes).

    python workflows/data/generate_invoices.py

48 invoices in four layouts, from vendors in several countries, with 1-8 line items, tax,
some discounts, payment terms and notes. Every invoice states its grand total on a line that
starts with "Total" (after any "Subtotal" line, which a careless procedure would pick up) and
its due date on a line starting with "Due date:" or "Payment due:", in ISO form. Expected
answers are computed here and written beside the documents.
"""
from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261122

VENDORS = [
    ("Northwind Traders Ltd.", "14 Harbour Road, Leith, Edinburgh EH6 6QT, United Kingdom", "GBP", "£"),
    ("Contoso Office Supply Inc.", "2100 Lakeview Ave, Suite 400, Chicago, IL 60614, USA", "USD", "$"),
    ("Blauberg Maschinenbau GmbH", "Industriestraße 12, 70565 Stuttgart, Germany", "EUR", "€"),
    ("Fabrikam Cloud Services LLC", "500 Pine Street, Seattle, WA 98101, USA", "USD", "$"),
    ("Maple Leaf Logistics Corp.", "88 Front St W, Toronto, ON M5J 2W3, Canada", "CAD", "CA$"),
    ("Tailspin Print & Design", "3 Rue des Arts, 69002 Lyon, France", "EUR", "€"),
    ("Kestrel Analytics Pty Ltd", "Level 9, 120 Collins St, Melbourne VIC 3000, Australia", "AUD", "A$"),
    ("Helvetia Precision AG", "Bahnhofstrasse 45, 8001 Zürich, Switzerland", "CHF", "CHF "),
    ("Wide World Importers", "77 Market Street, San Francisco, CA 94105, USA", "USD", "$"),
    ("Nordlys Energi AS", "Karl Johans gate 22, 0159 Oslo, Norway", "NOK", "NOK "),
]
CUSTOMERS = [
    "Adventure Works Cycles, 1 Microsoft Way, Redmond, WA 98052",
    "Alpine Ski House, Via Roma 8, 39100 Bolzano, Italy",
    "Coho Winery, 12 Vineyard Lane, Napa, CA 94558",
    "Lucerne Publishing, Haldenstrasse 4, 6006 Luzern",
    "Proseware Inc., 9 King Street, Manchester M2 4LQ",
    "Trey Research, 410 Terry Ave N, Seattle, WA 98109",
    "Woodgrove Bank, 1 Canada Square, London E14 5AB",
    "Graphic Design Institute, Keizersgracht 126, 1015 CW Amsterdam",
]
ITEMS = [
    ("A4 copy paper, 80 gsm (box of 5 reams)", 18, 42),
    ("Toner cartridge TN-2420", 45, 89),
    ("Ergonomic office chair", 180, 420),
    ("Cloud compute, vCPU-hours", 0.04, 0.09),
    ("Managed database, GB-month", 0.2, 0.45),
    ("Consulting, senior engineer (hour)", 120, 210),
    ("On-site installation (day)", 650, 1200),
    ("Freight, pallet Rotterdam-Hamburg", 240, 380),
    ("Annual software licence, per seat", 95, 310),
    ("Hydraulic pump HP-300", 1450, 2300),
    ("Brochure print run, 1,000 copies", 380, 720),
    ("Support retainer (month)", 900, 1800),
    ("USB-C docking station", 120, 260),
    ("Translation, per 1,000 words", 90, 160),
]
NOTES = [
    "Thank you for your business.",
    "Please quote the invoice number with your payment.",
    "Late payments incur interest of 1.5% per month.",
    "Goods remain our property until paid in full.",
    "Questions about this invoice? Write to billing@example.com.",
]
RATES_TO_EUR = {"GBP": 1.17, "USD": 0.92, "EUR": 1.0, "CAD": 0.68, "AUD": 0.61, "CHF": 1.05, "NOK": 0.086}


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def cents(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def invoice(number: int, rng: random.Random) -> dict:
    vendor, address, currency, symbol = rng.choice(VENDORS)
    customer = rng.choice(CUSTOMERS)
    issued = date(2026, 1, 5) + timedelta(days=rng.randint(0, 300))
    terms = rng.choice([14, 30, 30, 45, 60])
    due = issued + timedelta(days=terms)
    lines = []
    for _ in range(rng.randint(1, 8)):
        name, low, high = rng.choice(ITEMS)
        quantity = rng.choice([1, 1, 2, 3, 5, 10, 24, 120, 1500]) if low < 1 else rng.choice([1, 1, 2, 3, 4, 6, 12])
        unit = cents(rng.uniform(low, high)) if low >= 1 else Decimal(str(round(rng.uniform(low, high), 3)))
        lines.append((name, quantity, unit, cents(unit * quantity)))
    subtotal = sum((line[3] for line in lines), Decimal("0"))
    discount = cents(subtotal * Decimal("0.05")) if rng.random() < 0.3 else Decimal("0")
    tax_rate = Decimal(rng.choice(["0", "7", "8.1", "19", "20", "25"]))
    tax = cents((subtotal - discount) * tax_rate / 100)
    total = subtotal - discount + tax
    layout = number % 4
    invoice_no = f"{vendor.split()[0][:3].upper()}-{issued.year}-{1000 + number}"
    rate = RATES_TO_EUR[currency]
    text = [classic, email, two_column, remittance][layout](
        invoice_no, vendor, address, customer, issued, due, terms, lines, subtotal, discount, tax_rate, tax,
        total, currency, symbol, rng.choice(NOTES), rng,
    )
    return {
        "id": f"inv-{number:03d}",
        "text": text,
        "currency": currency,
        "rate": rate,
        "expected": {
            "total": float(total),
            "due_date": due.isoformat(),
            "total_eur": float(cents(total * Decimal(str(rate)))),
        },
    }


def items_table(lines, symbol) -> list[str]:
    rows = [f"{'Description':44} {'Qty':>6} {'Unit price':>14} {'Amount':>14}", "-" * 81]
    for name, quantity, unit, amount in lines:
        rows.append(f"{name:44} {quantity:>6} {symbol}{unit:>12,} {symbol}{money(amount):>12}")
    return rows


def classic(no, vendor, address, customer, issued, due, terms, lines, subtotal, discount, tax_rate, tax, total,
            currency, symbol, note, rng):
    out = [vendor.upper(), address, "", f"INVOICE {no}", f"Invoice date: {issued.isoformat()}",
           f"Due date: {due.isoformat()}", f"PO number: PO-{rng.randint(10000, 99999)}", "", "Bill to:", customer, ""]
    out += items_table(lines, symbol)
    out += ["", f"Subtotal: {symbol}{money(subtotal)}"]
    if discount:
        out.append(f"Discount (5%): -{symbol}{money(discount)}")
    out += [f"Tax ({tax_rate}%): {symbol}{money(tax)}", f"Total: {symbol}{money(total)} {currency}", "",
            f"Payment terms: net {terms} days.", note]
    return "\n".join(out) + "\n"


def email(no, vendor, address, customer, issued, due, terms, lines, subtotal, discount, tax_rate, tax, total,
          currency, symbol, note, rng):
    contact = customer.split(",")[0]
    out = [f"Subject: Invoice {no} from {vendor}", "", f"Dear {contact} team,", "",
           f"please find below our invoice {no}, issued {issued.strftime('%d %B %Y')}.", ""]
    for name, quantity, unit, amount in lines:
        out.append(f"  * {quantity} x {name} @ {currency} {unit:,} = {currency} {money(amount)}")
    out += ["", f"Subtotal {currency} {money(subtotal)}"]
    if discount:
        out.append(f"Loyalty discount {currency} -{money(discount)}")
    out += [f"VAT {tax_rate}% {currency} {money(tax)}", f"TOTAL DUE {currency} {money(total)}", "",
            f"Payment due: {due.isoformat()}", f"Bank transfer within {terms} days, reference {no}.", "",
            note, "", "Kind regards,", f"Accounts Receivable, {vendor}", address]
    return "\n".join(out) + "\n"


def two_column(no, vendor, address, customer, issued, due, terms, lines, subtotal, discount, tax_rate, tax, total,
               currency, symbol, note, rng):
    left = [vendor, *address.split(", ")[:2]]
    right = [f"Invoice no.   {no}", f"Issued        {issued.isoformat()}", f"Currency      {currency}",
             f"Customer ref. C{rng.randint(1000, 9999)}"]
    out = [f"{(left[i] if i < len(left) else ''):40}{(right[i] if i < len(right) else '')}"
           for i in range(max(len(left), len(right)))]
    out += ["", f"Customer: {customer}", ""]
    out += items_table(lines, symbol)
    out += ["", f"{'Subtotal':>66} {symbol}{money(subtotal):>12}"]
    if discount:
        out.append(f"{'Discount':>66} -{symbol}{money(discount):>11}")
    out += [f"{'Tax ' + str(tax_rate) + '%':>66} {symbol}{money(tax):>12}", "",
            f"Invoice Total {symbol}{money(total)}".rjust(81), "", f"Due date: {due.isoformat()}",
            f"Terms: {terms} days net from the invoice date.", note]
    # "Invoice Total" does not start the line; state it again as the payable line.
    out.insert(-3, f"Total payable: {symbol}{money(total)}")
    return "\n".join(out) + "\n"


def remittance(no, vendor, address, customer, issued, due, terms, lines, subtotal, discount, tax_rate, tax, total,
               currency, symbol, note, rng):
    out = [f"{vendor} | {address}", f"Tax invoice {no} · {issued.isoformat()}", "", f"To: {customer}", ""]
    out += items_table(lines, symbol)
    out += ["", f"Subtotal {symbol}{money(subtotal)}"]
    if discount:
        out.append(f"Early-order discount -{symbol}{money(discount)}")
    out += [f"Sales tax {tax_rate}% {symbol}{money(tax)}", f"Total {symbol}{money(total)}", "", note, "",
            "- - - - - - - - - - - - - - - - detach and return with payment - - - - - - - - - - - - - - - -",
            "REMITTANCE ADVICE", f"Invoice: {no}", f"Payment due: {due.isoformat()} (net {terms} days)",
            f"Amount enclosed: ____________ ({currency})"]
    return "\n".join(out) + "\n"


def main() -> None:
    rng = random.Random(SEED)
    documents = [invoice(number, rng) for number in range(1, 49)]
    with (HERE / "invoices.jsonl").open("w", encoding="utf-8") as out:
        for document in documents:
            out.write(json.dumps(document, ensure_ascii=False) + "\n")
    print(f"wrote {len(documents)} invoices to {HERE / 'invoices.jsonl'}")


if __name__ == "__main__":
    main()
