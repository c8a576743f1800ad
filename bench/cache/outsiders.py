"""Requests for tasks the workload does not have, worded with its families' terms.

No cached procedure may answer any of them. They test what the agreement zone of lookup
(orchestrator/intent_terms.agreement) risks that the workload alone cannot show: a request
whose distinguishing word lies outside the term lexicon ("words longer than 5 characters",
"business days") while its other words name exactly what a cached procedure's texts name.
Keyed by the input signature they share with workload families (the only ones lookup
compares them with).
"""
from __future__ import annotations

OUTSIDERS: dict[tuple[tuple[str, str], ...], list[str]] = {
    (("table", "string"),): [
        "count the rows where the amount is above 100", "sum of the amounts per vendor",
        "average number of rows per vendor", "largest vendor by total amount", "count the empty cells",
        "minimum date in the table", "Summe der Beträge pro Lieferant", "moyenne des montants positifs",
    ],
    (("numbers", "array"),): [
        "sort the numbers and drop duplicates", "sort by absolute value, largest first",
        "sum of the numbers", "largest number", "sortiere die Zahlen absteigend nach Betrag",
    ],
    (("items", "array"),): [
        "first three items of the list", "last item that is not empty", "first item in alphabetical order",
        "die letzten zwei Einträge der Liste",
    ],
    (("value", "number"),): [
        "convert kilometres per hour to miles per hour", "convert Celsius to Kelvin",
        "convert square kilometres to square miles", "convertis des kilomètres en mètres",
    ],
    (("text", "string"),): [
        "count the words longer than 5 characters", "count the lines of the text", "most common letter in the text",
        "count the unique words", "first word of the text", "count the sentences", "Anzahl der Wörter pro Zeile",
        "compte les mots en majuscules",
    ],
    (("date", "string"),): [
        "last day of the month of the date", "first day of the month", "weekday of the date, in German",
        "ISO week number of the date",
    ],
    (("date", "string"), ("days", "number")): [
        "add business days to the date", "add weeks to the date", "subtract working days from the date",
    ],
    (("invoice", "string"),): [
        "extract the tax rate of the invoice", "number of line items in the invoice", "extract the invoice date",
        "total of the invoice in words", "extract the customer number", "Steuersatz der Rechnung",
    ],
    (("email", "string"),): [
        "the sender's name", "who was copied on this email", "subject of the email", "Name des Absenders",
    ],
    (("log", "string"),): [
        "count the lines with errors or warnings", "first error message in the log", "last warning in the log",
        "number of distinct errors", "Anzahl der Fehler pro Stunde",
    ],
    (("records", "array"),): [
        "count the records by vendor", "map each name to its id", "count the records",
    ],
}
