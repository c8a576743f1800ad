"""extract.date and extract.total on the SROIE receipts: right / wrong / None, on the
development receipts (sroie-000..299) and held out (sroie-300..625).

    .venv/bin/python bench/documents/extract_accuracy.py [--show wrong|none]

The ground truth date is written as on the receipt (25/12/2018, 2018-01-09, 09 JAN 2018,
OCT 3, 2016, 20180428, 25032018); it is read here on its own, without extract: year first
when it starts with four figures, else day first unless that is impossible (the receipts are
Malaysian), two-digit years in 2000-2099. The ground truth total is compared as a number.
"""
from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.documents.truth import company_key  # noqa: E402
from sandbox import extract  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "sroie" / "receipts.jsonl"
MONTHS = {name: number for number, name in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}


def truth_date(written: str) -> str | None:
    text = written.strip().strip("()").strip()
    try:
        if re.fullmatch(r"\d{8}", text):
            if text[:2] in ("19", "20"):
                return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
            return datetime.date(int(text[4:]), int(text[2:4]), int(text[:2])).isoformat()
        parts = re.split(r"\s*[-/. ,]\s*", text)
        parts = [part for part in parts if part]
        if len(parts) != 3:
            return None
        if parts[0].isalpha():  # OCT 3, 2016
            parts = [parts[1], parts[0], parts[2]]
        if len(parts[0]) == 4:
            year, month, day = parts
        else:
            day, month, year = parts
        month = MONTHS[month[:3].lower()] if month.isalpha() else int(month)
        year = int(year) + (2000 if len(year) == 2 else 0)
        day = int(day)
        if month > 12 and day <= 12:
            day, month = month, day
        return datetime.date(year, month, day).isoformat()
    except (ValueError, KeyError):
        return None


def truth_total(written: str) -> float | None:
    found = re.sub(r"[^\d.,-]", "", written).replace(",", "")
    try:
        return abs(float(found))
    except ValueError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show", choices=["wrong", "none"], help="list these answers")
    parser.add_argument("--only", choices=["dev", "held-out"])
    arguments = parser.parse_args()
    receipts = [json.loads(line) for line in DATA.read_text().splitlines()]
    readers = {
        "date(text)": (lambda text: extract.date(text), lambda r: truth_date(r["expected"]["date"])),
        "date(text, 'date')": (lambda text: extract.date(text, "date") or extract.date(text),
                               lambda r: truth_date(r["expected"]["date"])),
        "total(text)": (extract.total, lambda r: truth_total(r["expected"]["total"])),
        "company(text)": (lambda text: company_key(extract.company(text)), lambda r: company_key(r["expected"]["company"])),
    }
    for part, chosen in (("dev", receipts[:300]), ("held-out", receipts[300:])):
        if arguments.only and part != arguments.only:
            continue
        for name, (read, truth) in readers.items():
            right = wrong = none = unknown = 0
            for receipt in chosen:
                expected = truth(receipt)
                if expected is None:
                    unknown += 1
                    continue
                got = read(receipt["text"])
                if got is None:
                    none += 1
                    shown = arguments.show == "none"
                elif got == expected:
                    right += 1
                    shown = False
                else:
                    wrong += 1
                    shown = arguments.show == "wrong"
                if shown:
                    print(f"  {receipt['id']} {name}: got {got!r}, expected {expected!r}")
            counted = right + wrong + none
            print(f"{part:9} {name:20} right {right:3} ({100 * right / counted:.1f}%)  wrong {wrong:2}  "
                  f"None {none:2}  of {counted}" + (f"  (ground truth unreadable: {unknown})" if unknown else ""))


if __name__ == "__main__":
    main()
