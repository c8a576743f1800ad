"""Intent-discriminating terms: the few words that make two close-sounding tasks need other code.

Sentence embeddings rate "sum the amount column" and "average of the amount column" as near
neighbours (cosine ~0.8), and "Celsius to Fahrenheit" and "Fahrenheit to Celsius" as almost the
same text. Running the neighbour's procedure would return a plausible wrong answer: the worst
failure a cache of procedures can have. So a procedure remembers, from the task texts verified
to map to it, which operation, order, position, counting unit and conversion direction they
name; a request that names another value on the same axis is not its hit, however close its
embedding. The check is a few regular expressions: it costs nothing at run time.

Each axis lists its values with the words that express them (English, German, French,
Spanish, as requests arrive in several languages). A text that names no value of an axis says
nothing about it: only a value named on both sides, and different, is a conflict.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

Terms = dict[str, frozenset[str]]

AXES: dict[str, dict[str, tuple[str, ...]]] = {
    "operation": {
        "sum": ("sum", "sums", "summe", "somme", "suma", "add up", "adds up", "added up", "summieren",
                "additionner", "sumar"),
        "mean": ("mean", "average", "avg", "durchschnitt", "mittelwert", "moyenne", "promedio", "media"),
        "median": ("median", "médiane", "mediana"),
        "max": ("max", "maximum", "largest", "highest", "biggest", "greatest", "größte", "grösste",
                "höchste", "maximal", "plus grand", "plus élevé", "mayor"),
        "min": ("min", "minimum", "smallest", "lowest", "least", "kleinste", "niedrigste", "minimal",
                "plus petit", "menor"),
        "count": ("count", "how many", "number of", "anzahl", "wie viele", "nombre de", "combien",
                  "cuántos", "cuantos"),
    },
    "order": {
        "ascending": ("ascending", "increasing", "smallest first", "lowest first", "aufsteigend",
                      "croissant", "ascendente"),
        "descending": ("descending", "decreasing", "largest first", "highest first", "reverse order",
                       "absteigend", "décroissant", "descendente"),
    },
    "position": {
        "first": ("first", "earliest", "oldest", "erste", "ersten", "früheste", "premier", "première",
                  "primero", "primera"),
        "last": ("last", "latest", "newest", "most recent", "letzte", "letzten", "neueste", "dernier",
                 "dernière", "último", "última"),
    },
    "unit of text": {
        "words": ("word", "words", "wörter", "wort", "mots", "mot", "palabras"),
        "characters": ("character", "characters", "chars", "letters", "zeichen", "buchstaben",
                       "caractères", "caracteres"),
        "lines": ("line", "lines", "zeilen", "lignes", "líneas"),
        "sentences": ("sentence", "sentences", "sätze", "phrases", "oraciones"),
    },
}

# Units a conversion goes between. The target is the unit after "to", "into", "in", "->"...,
# the source the one after "from"; else, of two units named, the first is the source.
UNITS: dict[str, tuple[str, ...]] = {
    "celsius": ("celsius", "°c", "degc", "c"),
    "fahrenheit": ("fahrenheit", "°f", "degf", "f"),
    "kelvin": ("kelvin",),
    "kilometres": ("km", "kilometer", "kilometers", "kilometre", "kilometres", "kilometern"),
    "miles": ("mile", "miles", "mi", "meilen"),
    "kilograms": ("kg", "kilogram", "kilograms", "kilogramm", "kilos"),
    "pounds": ("lb", "lbs", "pound", "pounds", "pfund"),
    "metres": ("m", "meter", "meters", "metre", "metres"),
    "feet": ("ft", "foot", "feet", "fuß"),
    "euros": ("eur", "euro", "euros", "€"),
    "dollars": ("usd", "dollar", "dollars", "$"),
}
TARGET_MARKERS = ("to", "into", "in", "->", "→", "nach", "en")
SOURCE_MARKERS = ("from", "von", "aus", "de", "depuis")


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _phrase_pattern(phrases: tuple[str, ...]) -> str:
    # Longest first so "add up" wins over a shorter overlapping phrase; boundaries that also
    # work for symbols such as "€" and "°c".
    ordered = sorted(phrases, key=len, reverse=True)
    return r"(?<![\w°])(?:" + "|".join(re.escape(p) for p in ordered) + r")(?!\w)"


@lru_cache(maxsize=None)
def _axis_patterns() -> dict[str, dict[str, re.Pattern]]:
    return {axis: {value: re.compile(_phrase_pattern(words)) for value, words in values.items()}
            for axis, values in AXES.items()}


@lru_cache(maxsize=None)
def _unit_pattern() -> re.Pattern:
    alternatives = [f"(?P<{unit}>{_phrase_pattern(words)})" for unit, words in UNITS.items()]
    return re.compile("|".join(alternatives))


def _marker_before(markers: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"(?:^|\s)(?:" + "|".join(re.escape(m) for m in markers) + r")\s*$")


_TARGET_BEFORE, _SOURCE_BEFORE = _marker_before(TARGET_MARKERS), _marker_before(SOURCE_MARKERS)


def _conversion(text: str) -> Terms:
    mentions = [(match.lastgroup, text[: match.start()]) for match in _unit_pattern().finditer(text)]
    units = list(dict.fromkeys(unit for unit, _ in mentions))
    targets = [unit for unit, before in mentions if _TARGET_BEFORE.search(before)]
    sources = [unit for unit, before in mentions if _SOURCE_BEFORE.search(before)]
    target = targets[-1] if targets else None
    source = sources[0] if sources else None
    others = [unit for unit in units if unit not in (target, source)]
    if target is None and source is None and len(units) == 2:
        source, target = units
    elif target is None and source is not None and len(others) == 1:
        target = others[0]
    elif source is None and target is not None and len(others) == 1:
        source = others[0]
    terms: Terms = {}
    if source:
        terms["conversion source"] = frozenset([source])
    if target:
        terms["conversion target"] = frozenset([target])
    return terms


def intent_terms(text: str) -> Terms:
    """The values each axis takes in `text`: {"operation": {"sum"}, "order": {"descending"}, ...}."""
    normal = _normalise(text)
    terms: Terms = {}
    for axis, values in _axis_patterns().items():
        found = frozenset(value for value, pattern in values.items() if pattern.search(normal))
        if found:
            terms[axis] = found
    terms.update(_conversion(normal))
    return terms


def merge(*texts: str) -> dict[str, list[str]]:
    """The terms of several texts that map to one procedure, as JSON (axis -> sorted values)."""
    merged: dict[str, set[str]] = {}
    for text in texts:
        for axis, values in intent_terms(text).items():
            merged.setdefault(axis, set()).update(values)
    return {axis: sorted(values) for axis, values in sorted(merged.items())}


def conflict(request_task: str, procedure_terms: dict[str, list[str]]) -> str | None:
    """Why the request asks for something else than the procedure's texts say, or None.

    A conflict is an axis on which both name values and share none: "mean" against "sum",
    "descending" against "ascending", a conversion into Celsius against one into Fahrenheit.
    """
    for axis, values in intent_terms(request_task).items():
        known = procedure_terms.get(axis)
        if known and not values & set(known):
            return f"{axis}: the task says {'/'.join(sorted(values))}, the procedure {'/'.join(known)}"
    return None
