"""The task families of the cache workload: what agent pipelines and document batches send.

Each family is one kind of request: an intent, 7 paraphrases (a plain instruction, a terse
pipeline label, a polite question, another wording, one with a typo, German, French), an
input generator, and a reference implementation written as a seglam procedure (source
defining `solve(...)`, runnable in the sandbox) with its params, returns type and 3 tests.

`sibling` names a near-miss: a family an embedding model rates close to this one that needs
different code, with the SAME input names and types, so the signature filter cannot tell them
apart (the hard case for a semantic cache).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from . import inputs as gen


# What each of a family's paraphrases is, in order.
PARAPHRASE_KINDS = ["plain", "terse label", "polite question", "other wording", "typo", "German", "French"]


@dataclass(frozen=True)
class Family:
    name: str
    intent: str
    params: dict[str, str]  # input name -> JSON type, as a procedure declares them
    returns: str  # JSON type of the answer
    code: str  # the reference procedure: source defining solve(...)
    tests: list[tuple[dict[str, Any], Any]]  # (inputs, expected), written by hand
    paraphrases: list[str]
    make_inputs: Callable  # rng -> the request's inputs
    sibling: str | None = None


def one(name: str, make: Callable) -> Callable:
    """An input generator for a single-input family."""
    return lambda rng: {name: make(rng)}


T1 = "id,vendor,amount\n1,Acme,10.50\n2,Kito,4.25\n3,Acme,20.00\n"
T2 = "amount,qty,vendor\n99.99,2,Nordwind\n"
T3 = "vendor,date,amount,id\nA,2024-01-01,1200.00,7\nB,2024-01-02,0.01,8\nB,2024-02-01,300.50,9\n"

COLUMN = '''import csv
import io


def solve(table):
    values = [float(row["amount"]) for row in csv.DictReader(io.StringIO(table)) if (row.get("amount") or "").strip()]
    {body}
'''

INVOICE_1 = "Acme GmbH\nInvoice No: INV-2024-0042\nSubtotal: EUR 1,000.00\nVAT (19%): EUR 190.00\nTotal: EUR 1,190.00\n"
INVOICE_2 = "Kito\nInvoice # F-2023-0007\nSubtotal: $80.00\nSales tax: $8.00\nAmount due: $88.00\n"
INVOICE_3 = "Blue Fern Ltd\nINVOICE NO. RE-2025-1234\nSubtotal: 2,500.50 USD\nTax 20%: 500.10 USD\nTOTAL DUE: 3,000.60 USD\n"

INVOICE_AMOUNT = '''import re


def solve(invoice):
    for line in invoice.splitlines():
        label = line.split(":")[0].lower()
        if {test}:
            found = re.findall(r"\\d[\\d,]*\\.\\d{{2}}", line)
            if found:
                return float(found[-1].replace(",", ""))
    return None
'''

EMAIL_1 = "From: Anna Berg <anna.berg@example.com>\nTo: ops@acme.io\nSubject: Report\n\nHi"
EMAIL_2 = "Subject: Budget\nTo: Luis Ortega <luis.ortega@mail.fr>\nFrom: mei.tanaka@kito.co.uk\n\nHello"
EMAIL_3 = "Date: 2024-01-01\nTo: a@b.io\nFrom: Tom <tom.okafor@orbital.net>\n\nx"

EMAIL_HEADER = '''import re


def solve(email):
    for line in email.splitlines():
        if line.lower().startswith("{header}:"):
            found = re.search(r"[\\w.+-]+@[\\w-]+(?:\\.[\\w-]+)+", line)
            return found.group(0) if found else None
    return None
'''

LOG_1 = "2024-01-01 10:00:00 ERROR [db] timeout\n2024-01-01 10:00:01 INFO [api] ok\n2024-01-01 10:00:02 WARN [db] slow\n"
LOG_2 = "2024-01-01 10:00:00 WARN [api] retry\n2024-01-01 10:00:01 WARN [api] retry\n"
LOG_3 = "2024-01-01 10:00:00 ERROR [a] x\n2024-01-01 10:00:01 ERROR [b] y\n2024-01-01 10:00:02 DEBUG [c] error count\n"

LOG_LEVEL = '''def solve(log):
    return sum(1 for line in log.splitlines() if len(line.split()) > 2 and line.split()[2] in {levels})
'''

CONVERT = '''def solve(value):
    return round({formula}, 2)
'''

SHIFT_DATE = '''import datetime


def solve(date, days):
    return (datetime.date.fromisoformat(date) {sign} datetime.timedelta(days=days)).isoformat()
'''

TEXT_1 = "The invoice is late. The client asked again."
TEXT_2 = "ok"
TEXT_3 = "Delivery  delivery,   DELIVERY! Then the report."


FAMILIES: list[Family] = [
    # -- table aggregates over a CSV `table` ---------------------------------------------
    Family(
        "sum_amount", "Sum the values of the 'amount' column of a CSV table and return the total.",
        {"table": "string"}, "number", COLUMN.format(body="return round(sum(values), 2)"),
        [({"table": T1}, 34.75), ({"table": T2}, 99.99), ({"table": T3}, 1500.51)],
        ["sum the amount column", "sum:amount", "Could you please add up all the amounts in this table?",
         "what is the total of the amount column", "sum teh amount colum",
         "Summe der Spalte amount berechnen", "calcule la somme de la colonne amount"],
        one("table", gen.csv_table), sibling="mean_amount",
    ),
    Family(
        "mean_amount", "Compute the arithmetic mean of the 'amount' column of a CSV table.",
        {"table": "string"}, "number",
        COLUMN.format(body="return round(sum(values) / len(values), 2) if values else None"),
        [({"table": T1}, 11.58), ({"table": T2}, 99.99), ({"table": T3}, 500.17)],
        ["average of the amount column", "mean:amount", "Could you please tell me the average amount in this table?",
         "what is the mean amount per row", "averge amount", "Durchschnitt der Spalte amount",
         "calcule la moyenne de la colonne amount"],
        one("table", gen.csv_table), sibling="sum_amount",
    ),
    Family(
        "max_amount", "Return the largest value of the 'amount' column of a CSV table.",
        {"table": "string"}, "number", COLUMN.format(body="return max(values) if values else None"),
        [({"table": T1}, 20.0), ({"table": T2}, 99.99), ({"table": T3}, 1200.0)],
        ["largest amount in the table", "max:amount", "Could you find the highest amount in this table, please?",
         "what is the maximum of the amount column", "maximun amount", "größter Betrag in der Spalte amount",
         "quel est le montant maximal de la colonne amount"],
        one("table", gen.csv_table), sibling="min_amount",
    ),
    Family(
        "min_amount", "Return the smallest value of the 'amount' column of a CSV table.",
        {"table": "string"}, "number", COLUMN.format(body="return min(values) if values else None"),
        [({"table": T1}, 4.25), ({"table": T2}, 99.99), ({"table": T3}, 0.01)],
        ["smallest amount in the table", "min:amount", "Could you find the lowest amount in this table, please?",
         "what is the minimum of the amount column", "minimun amount", "kleinster Betrag in der Spalte amount",
         "quel est le montant minimal de la colonne amount"],
        one("table", gen.csv_table), sibling="max_amount",
    ),
    Family(
        "count_rows", "Count the data rows of a CSV table (the header is not a row).",
        {"table": "string"}, "integer",
        "import csv\nimport io\n\n\ndef solve(table):\n    return len(list(csv.DictReader(io.StringIO(table))))\n",
        [({"table": T1}, 3), ({"table": T2}, 1), ({"table": "a,b\n"}, 0)],
        ["count the rows of the table", "count:rows", "How many rows does this table have, please?",
         "number of records in the csv", "cuont rows", "Anzahl der Zeilen der Tabelle",
         "combien de lignes contient ce tableau"],
        one("table", gen.csv_table), sibling="distinct_vendors",
    ),
    Family(
        "distinct_vendors", "Count the distinct values of the 'vendor' column of a CSV table.",
        {"table": "string"}, "integer",
        "import csv\nimport io\n\n\ndef solve(table):\n"
        "    return len({row['vendor'].strip() for row in csv.DictReader(io.StringIO(table))})\n",
        [({"table": T1}, 2), ({"table": T2}, 1), ({"table": T3}, 2)],
        ["count the distinct vendors in the table", "count_distinct:vendor",
         "How many different vendors appear in this table, please?", "number of unique vendors in the csv",
         "cuont unique vendors", "Anzahl der verschiedenen Lieferanten (Spalte vendor)",
         "combien de fournisseurs distincts dans ce tableau"],
        one("table", gen.csv_table), sibling="count_rows",
    ),
    # -- lists ---------------------------------------------------------------------------
    Family(
        "sort_ascending", "Sort a list of numbers in ascending order (smallest first).",
        {"numbers": "array"}, "array", "def solve(numbers):\n    return sorted(numbers)\n",
        [({"numbers": [3, 1, 2]}, [1, 2, 3]), ({"numbers": [-1.5, 10, 0]}, [-1.5, 0, 10]), ({"numbers": []}, [])],
        ["sort the numbers in ascending order", "sort:asc", "Could you sort these numbers from smallest to largest?",
         "order the list low to high", "sort ascnding", "Zahlen aufsteigend sortieren",
         "trie les nombres par ordre croissant"],
        one("numbers", gen.numbers), sibling="sort_descending",
    ),
    Family(
        "sort_descending", "Sort a list of numbers in descending order (largest first).",
        {"numbers": "array"}, "array", "def solve(numbers):\n    return sorted(numbers, reverse=True)\n",
        [({"numbers": [3, 1, 2]}, [3, 2, 1]), ({"numbers": [-1.5, 10, 0]}, [10, 0, -1.5]), ({"numbers": []}, [])],
        ["sort the numbers in descending order", "sort:desc", "Could you sort these numbers from largest to smallest?",
         "order the list high to low", "sort decsending", "Zahlen absteigend sortieren",
         "trie les nombres par ordre décroissant"],
        one("numbers", gen.numbers), sibling="sort_ascending",
    ),
    Family(
        "first_item", "Return the first element of a list of strings.",
        {"items": "array"}, "string", "def solve(items):\n    return items[0] if items else None\n",
        [({"items": ["a", "b"]}, "a"), ({"items": ["only"]}, "only"), ({"items": ["x", "y", "z"]}, "x")],
        ["return the first item of the list", "first:item", "Could you give me the first entry of this list?",
         "which element comes first", "frist item", "das erste Element der Liste", "le premier élément de la liste"],
        one("items", gen.items), sibling="last_item",
    ),
    Family(
        "last_item", "Return the last element of a list of strings.",
        {"items": "array"}, "string", "def solve(items):\n    return items[-1] if items else None\n",
        [({"items": ["a", "b"]}, "b"), ({"items": ["only"]}, "only"), ({"items": ["x", "y", "z"]}, "z")],
        ["return the last item of the list", "last:item", "Could you give me the last entry of this list?",
         "which element comes last", "lasst item", "das letzte Element der Liste", "le dernier élément de la liste"],
        one("items", gen.items), sibling="first_item",
    ),
    # -- units ---------------------------------------------------------------------------
    Family(
        "celsius_to_fahrenheit", "Convert a temperature from degrees Celsius to degrees Fahrenheit.",
        {"value": "number"}, "number", CONVERT.format(formula="value * 9 / 5 + 32"),
        [({"value": 100}, 212.0), ({"value": -40}, -40.0), ({"value": 36.6}, 97.88)],
        ["convert celsius to fahrenheit", "c_to_f", "What is this Celsius temperature in Fahrenheit, please?",
         "°C -> °F", "convert celcius to farenheit", "Celsius in Fahrenheit umrechnen",
         "convertis des degrés Celsius en Fahrenheit"],
        one("value", gen.measurement), sibling="fahrenheit_to_celsius",
    ),
    Family(
        "fahrenheit_to_celsius", "Convert a temperature from degrees Fahrenheit to degrees Celsius.",
        {"value": "number"}, "number", CONVERT.format(formula="(value - 32) * 5 / 9"),
        [({"value": 212}, 100.0), ({"value": -40}, -40.0), ({"value": 98.6}, 37.0)],
        ["convert fahrenheit to celsius", "f_to_c", "What is this Fahrenheit temperature in Celsius, please?",
         "°F -> °C", "convert farenheit to celcius", "Fahrenheit in Celsius umrechnen",
         "convertis des degrés Fahrenheit en Celsius"],
        one("value", gen.measurement), sibling="celsius_to_fahrenheit",
    ),
    Family(
        "km_to_miles", "Convert a distance from kilometres to miles.",
        {"value": "number"}, "number", CONVERT.format(formula="value / 1.609344"),
        [({"value": 1.609344}, 1.0), ({"value": 100}, 62.14), ({"value": 0}, 0.0)],
        ["convert kilometers to miles", "km_to_mi", "How many miles is this distance in km, please?",
         "km -> miles", "convert kilometres to mlies", "Kilometer in Meilen umrechnen",
         "convertis des kilomètres en miles"],
        one("value", gen.measurement), sibling="miles_to_km",
    ),
    Family(
        "miles_to_km", "Convert a distance from miles to kilometres.",
        {"value": "number"}, "number", CONVERT.format(formula="value * 1.609344"),
        [({"value": 1}, 1.61), ({"value": 100}, 160.93), ({"value": 0}, 0.0)],
        ["convert miles to kilometers", "mi_to_km", "How many kilometres is this distance in miles, please?",
         "miles -> km", "convert mlies to kilometres", "Meilen in Kilometer umrechnen",
         "convertis des miles en kilomètres"],
        one("value", gen.measurement), sibling="km_to_miles",
    ),
    # -- text statistics -----------------------------------------------------------------
    Family(
        "word_count", "Count the words (whitespace-separated tokens) of a text.",
        {"text": "string"}, "integer", "def solve(text):\n    return len(text.split())\n",
        [({"text": TEXT_1}, 8), ({"text": TEXT_2}, 1), ({"text": "  "}, 0)],
        ["count the words in the text", "count:words", "How many words are in this text, please?",
         "word count", "cont the wrods", "Wörter im Text zählen", "compte les mots du texte"],
        one("text", gen.sentence_text), sibling="char_count",
    ),
    Family(
        "char_count", "Count the characters of a text, spaces and punctuation included.",
        {"text": "string"}, "integer", "def solve(text):\n    return len(text)\n",
        [({"text": TEXT_1}, 44), ({"text": TEXT_2}, 2), ({"text": "  "}, 2)],
        ["count the characters in the text", "count:chars", "How many characters are in this text, please?",
         "character count", "cont the charactres", "Zeichen im Text zählen", "compte les caractères du texte"],
        one("text", gen.sentence_text), sibling="word_count",
    ),
    Family(
        "most_common_word", "Return the most frequent word of a text, lower-cased, ignoring punctuation "
        "(ties: the word that occurs first).",
        {"text": "string"}, "string",
        "import collections\nimport re\n\n\ndef solve(text):\n    words = re.findall(r\"[^\\W\\d_]+\", text.lower())\n"
        "    if not words:\n        return None\n    counts = collections.Counter(words)\n"
        "    best = max(counts.values())\n    return next(w for w in words if counts[w] == best)\n",
        [({"text": TEXT_1}, "the"), ({"text": TEXT_3}, "delivery"), ({"text": "b a a b"}, "b")],
        ["most common word in the text", "top:word", "Which word appears most often in this text, please?",
         "the most frequent word", "most comon word", "häufigstes Wort im Text", "le mot le plus fréquent du texte"],
        one("text", gen.sentence_text),
    ),
    # -- dates ---------------------------------------------------------------------------
    Family(
        "days_between", "Number of days from the start date to the end date (ISO dates; end minus start).",
        {"end": "string", "start": "string"}, "integer",
        "import datetime\n\n\ndef solve(start, end):\n"
        "    return (datetime.date.fromisoformat(end) - datetime.date.fromisoformat(start)).days\n",
        [({"start": "2024-01-01", "end": "2024-03-01"}, 60), ({"start": "2023-12-31", "end": "2024-01-01"}, 1),
         ({"start": "2024-05-05", "end": "2024-05-05"}, 0)],
        ["how many days between the two dates", "days_between", "Could you tell me how many days lie between start and end?",
         "number of days from start to end", "days betwen dates", "Anzahl der Tage zwischen den beiden Daten",
         "nombre de jours entre les deux dates"],
        gen.date_range,
    ),
    Family(
        "weekday", "Return the English weekday name (e.g. 'Monday') of an ISO date.",
        {"date": "string"}, "string",
        "import datetime\n\n\ndef solve(date):\n    return datetime.date.fromisoformat(date).strftime('%A')\n",
        [({"date": "2024-01-01"}, "Monday"), ({"date": "2023-12-31"}, "Sunday"), ({"date": "2024-02-29"}, "Thursday")],
        ["which day of the week is this date", "weekday", "Could you tell me what weekday this date falls on?",
         "day name of the date", "wich weekday is it", "Wochentag des Datums", "quel jour de la semaine est cette date"],
        one("date", gen.iso_date),
    ),
    Family(
        "us_date_to_iso", "Reformat a US date MM/DD/YYYY as an ISO date YYYY-MM-DD.",
        {"date": "string"}, "string",
        "def solve(date):\n    month, day, year = date.strip().split('/')\n"
        "    return f'{int(year):04d}-{int(month):02d}-{int(day):02d}'\n",
        [({"date": "03/14/2024"}, "2024-03-14"), ({"date": "12/01/1999"}, "1999-12-01"), ({"date": "1/2/2023"}, "2023-01-02")],
        ["convert the date to ISO format", "date:iso", "Could you rewrite this US date as YYYY-MM-DD, please?",
         "MM/DD/YYYY to ISO 8601", "convrt date to iso", "Datum ins ISO-Format umwandeln",
         "convertis la date au format ISO"],
        one("date", gen.us_date),
    ),
    Family(
        "date_plus_days", "Add a number of days to an ISO date and return the resulting ISO date.",
        {"date": "string", "days": "number"}, "string", SHIFT_DATE.format(sign="+"),
        [({"date": "2024-01-30", "days": 2}, "2024-02-01"), ({"date": "2023-12-31", "days": 1}, "2024-01-01"),
         ({"date": "2024-03-01", "days": 0}, "2024-03-01")],
        ["add the days to the date", "date_add", "What date is it this many days after the given date, please?",
         "date plus n days", "add dyas to the date", "Tage zum Datum addieren", "ajoute les jours à la date"],
        gen.date_and_days, sibling="date_minus_days",
    ),
    Family(
        "date_minus_days", "Subtract a number of days from an ISO date and return the resulting ISO date.",
        {"date": "string", "days": "number"}, "string", SHIFT_DATE.format(sign="-"),
        [({"date": "2024-02-01", "days": 2}, "2024-01-30"), ({"date": "2024-01-01", "days": 1}, "2023-12-31"),
         ({"date": "2024-03-01", "days": 0}, "2024-03-01")],
        ["subtract the days from the date", "date_sub", "What date was it this many days before the given date, please?",
         "date minus n days", "subtact dyas from the date", "Tage vom Datum abziehen", "retire les jours de la date"],
        gen.date_and_days, sibling="date_plus_days",
    ),
    # -- field extraction: invoices, emails, logs ----------------------------------------
    Family(
        "invoice_total", "Extract the total amount due of an invoice (not the subtotal) as a number.",
        {"invoice": "string"}, "number",
        INVOICE_AMOUNT.format(test='"total" in label and "subtotal" not in label or "amount due" in label'),
        [({"invoice": INVOICE_1}, 1190.0), ({"invoice": INVOICE_2}, 88.0), ({"invoice": INVOICE_3}, 3000.6)],
        ["extract the invoice total", "invoice:total", "Could you tell me the total amount due on this invoice?",
         "how much do we have to pay in total", "invocie total", "Gesamtbetrag der Rechnung",
         "montant total de la facture"],
        one("invoice", gen.invoice), sibling="invoice_tax",
    ),
    Family(
        "invoice_tax", "Extract the tax (VAT / sales tax) amount of an invoice as a number.",
        {"invoice": "string"}, "number", INVOICE_AMOUNT.format(test='"vat" in label or "tax" in label'),
        [({"invoice": INVOICE_1}, 190.0), ({"invoice": INVOICE_2}, 8.0), ({"invoice": INVOICE_3}, 500.1)],
        ["extract the tax amount of the invoice", "invoice:vat", "Could you tell me how much VAT is on this invoice?",
         "how much tax is charged", "invocie tax", "Mehrwertsteuerbetrag der Rechnung", "montant de la TVA de la facture"],
        one("invoice", gen.invoice), sibling="invoice_total",
    ),
    Family(
        "invoice_number", "Extract the invoice number (e.g. INV-2024-0042) of an invoice.",
        {"invoice": "string"}, "string",
        "import re\n\n\ndef solve(invoice):\n"
        "    found = re.search(r\"invoice\\s*(?:no\\.?|number|#)\\s*:?\\s*([A-Z]+-\\d{4}-\\d{4})\", invoice, re.IGNORECASE)\n"
        "    return found.group(1) if found else None\n",
        [({"invoice": INVOICE_1}, "INV-2024-0042"), ({"invoice": INVOICE_2}, "F-2023-0007"),
         ({"invoice": INVOICE_3}, "RE-2025-1234")],
        ["extract the invoice number", "invoice:number", "Could you find the invoice number on this document?",
         "what is the invoice id", "invoice numbr", "Rechnungsnummer auslesen", "numéro de la facture"],
        one("invoice", gen.invoice),
    ),
    Family(
        "email_sender", "Extract the sender's email address (the From header) of an email.",
        {"email": "string"}, "string", EMAIL_HEADER.format(header="from"),
        [({"email": EMAIL_1}, "anna.berg@example.com"), ({"email": EMAIL_2}, "mei.tanaka@kito.co.uk"),
         ({"email": EMAIL_3}, "tom.okafor@orbital.net")],
        ["extract the sender's email address", "email:from", "Who sent this email? Please give me their address.",
         "from address of the message", "sender adress", "Absenderadresse der E-Mail",
         "adresse de l'expéditeur du mail"],
        one("email", gen.email), sibling="email_recipient",
    ),
    Family(
        "email_recipient", "Extract the recipient's email address (the To header) of an email.",
        {"email": "string"}, "string", EMAIL_HEADER.format(header="to"),
        [({"email": EMAIL_1}, "ops@acme.io"), ({"email": EMAIL_2}, "luis.ortega@mail.fr"), ({"email": EMAIL_3}, "a@b.io")],
        ["extract the recipient's email address", "email:to", "Who is this email addressed to? Please give me their address.",
         "to address of the message", "recipent adress", "Empfängeradresse der E-Mail",
         "adresse du destinataire du mail"],
        one("email", gen.email), sibling="email_sender",
    ),
    Family(
        "log_errors", "Count the log lines whose level is ERROR.",
        {"log": "string"}, "integer", LOG_LEVEL.format(levels="('ERROR',)"),
        [({"log": LOG_1}, 1), ({"log": LOG_2}, 0), ({"log": LOG_3}, 2)],
        ["count the error lines in the log", "log:errors", "How many errors are in this log, please?",
         "number of ERROR entries", "count erors in log", "Anzahl der Fehler im Log", "nombre d'erreurs dans le journal"],
        one("log", gen.log), sibling="log_warnings",
    ),
    Family(
        "log_warnings", "Count the log lines whose level is WARN (warnings).",
        {"log": "string"}, "integer", LOG_LEVEL.format(levels="('WARN', 'WARNING')"),
        [({"log": LOG_1}, 1), ({"log": LOG_2}, 2), ({"log": LOG_3}, 0)],
        ["count the warning lines in the log", "log:warnings", "How many warnings are in this log, please?",
         "number of WARN entries", "count warnigns in log", "Anzahl der Warnungen im Log",
         "nombre d'avertissements dans le journal"],
        one("log", gen.log), sibling="log_errors",
    ),
    # -- JSON reshaping ------------------------------------------------------------------
    Family(
        "records_to_map", "Turn a list of records with 'id' and 'name' into an object mapping each id "
        "(as a string) to its name.",
        {"records": "array"}, "object", "def solve(records):\n    return {str(r['id']): r['name'] for r in records}\n",
        [({"records": [{"id": 1, "name": "a"}]}, {"1": "a"}), ({"records": []}, {}),
         ({"records": [{"id": 7, "name": "x", "status": "open"}, {"id": 9, "name": "y"}]}, {"7": "x", "9": "y"})],
        ["map each id to its name", "records:id->name", "Could you turn these records into an id-to-name lookup?",
         "build a dictionary from id to name", "map ids to nmaes", "Zuordnung von id zu name erstellen",
         "construis un dictionnaire id vers nom"],
        one("records", gen.records),
    ),
    Family(
        "count_by_status", "Count the records per value of their 'status' field, as an object status -> count.",
        {"records": "array"}, "object",
        "import collections\n\n\ndef solve(records):\n    return dict(collections.Counter(r['status'] for r in records))\n",
        [({"records": [{"status": "open"}, {"status": "open"}]}, {"open": 2}), ({"records": []}, {}),
         ({"records": [{"status": "a", "id": 1}, {"status": "b"}, {"status": "a"}]}, {"a": 2, "b": 1})],
        ["count the records by status", "group_count:status", "How many records are there for each status, please?",
         "number of items per status", "cuont by staus", "Datensätze pro Status zählen",
         "compte les enregistrements par statut"],
        one("records", gen.records),
    ),
    # -- validation ----------------------------------------------------------------------
    Family(
        "valid_email", "Check whether a string is a syntactically valid email address (local@domain.tld).",
        {"address": "string"}, "boolean",
        "import re\n\n\ndef solve(address):\n"
        "    return re.fullmatch(r\"[\\w.+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}\", address.strip()) is not None\n",
        [({"address": "anna.berg@example.com"}, True), ({"address": "anna.berg@@example.com"}, False),
         ({"address": "ops@localhost"}, False)],
        ["is this a valid email address", "validate:email", "Could you check whether this email address is valid?",
         "email address syntax check", "is this a vaild email", "ist das eine gültige E-Mail-Adresse",
         "cette adresse e-mail est-elle valide"],
        one("address", gen.email_address),
    ),
    Family(
        "iban_valid", "Check whether an IBAN has valid check digits (ISO 13616 mod-97 rule; spaces ignored).",
        {"iban": "string"}, "boolean",
        "def solve(iban):\n    text = iban.replace(' ', '').upper()\n"
        "    if len(text) < 5 or not text.isalnum():\n        return False\n"
        "    moved = text[4:] + text[:4]\n    return int(''.join(str(int(ch, 36)) for ch in moved)) % 97 == 1\n",
        [({"iban": "GB82 WEST 1234 5698 7654 32"}, True), ({"iban": "GB82 WEST 1234 5698 7654 33"}, False),
         ({"iban": "DE89370400440532013000"}, True)],
        ["validate the IBAN checksum", "validate:iban", "Could you check whether this IBAN is valid, please?",
         "is the IBAN correct", "check the iban chekcsum", "IBAN-Prüfziffer prüfen", "vérifie la clé de contrôle de l'IBAN"],
        one("iban", gen.iban),
    ),
]

BY_NAME: dict[str, Family] = {family.name: family for family in FAMILIES}


def near_miss_pairs() -> list[tuple[str, str]]:
    """Each sibling pair once, in the order the families are listed."""
    return [(f.name, f.sibling) for f in FAMILIES if f.sibling and f.name < f.sibling]
