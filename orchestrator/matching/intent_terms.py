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
nothing about it, except on the narrowing axis ("per", "above", a number): a request that
narrows the task asks for more than texts that do not. The module also reads the column and
field names of a request's data, which a task may name ("sum the qty column").

The lexicon is the guard's limit: a distinguishing word outside it ("tax rate" against "tax
amount") passes unseen. bench/results/calibration.md measures how often, on requests for
tasks the workload does not have.
"""
from __future__ import annotations

import ast
import json
import re
import unicodedata
from functools import lru_cache

Terms = dict[str, frozenset[str]]

AXES: dict[str, dict[str, tuple[str, ...]]] = {
    "operation": {
        "sum": ("sum", "sums", "summe", "somme", "suma", "add up", "adds up", "added up", "total of",
                "summieren", "additionner", "sumar"),
        "mean": ("mean", "average", "avg", "durchschnitt", "mittelwert", "moyenne", "promedio", "media"),
        "median": ("median", "médiane", "mediana"),
        "max": ("max", "maximum", "largest", "highest", "biggest", "greatest", "größte", "grösste",
                "höchste", "maximal", "maximale", "plus grand", "plus élevé", "mayor"),
        "min": ("min", "minimum", "smallest", "lowest", "least", "kleinste", "niedrigste", "minimal",
                "minimale", "plus petit", "menor"),
        "count": ("count", "how many", "number of", "anzahl", "zählen", "wie viele", "compte", "compter",
                  "nombre de", "combien", "contar", "cuántos", "cuantos"),
        "distinct": ("distinct", "unique", "different", "verschiedene", "verschiedenen", "eindeutige",
                     "distincts", "distinctes", "différents", "différentes", "distintos", "únicos"),
        "mode": ("most common", "most frequent", "most often", "commonest", "plus fréquent", "plus courant", "häufigste",
                 "häufigsten", "más frecuente"),
    },
    "order": {
        "ascending": ("ascending", "increasing", "smallest first", "lowest first", "smallest to largest",
                      "lowest to highest", "low to high", "small to large", "asc", "aufsteigend", "croissant",
                      "ascendente"),
        "descending": ("descending", "decreasing", "largest first", "highest first", "largest to smallest",
                       "highest to lowest", "high to low", "large to small", "desc", "reverse order", "absteigend",
                       "décroissant", "descendente"),
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
    "shift in time": {
        "later": ("after", "later", "plus", "add", "adds", "addieren", "hinzufügen", "ajouter", "ajoute",
                  "après", "sumar"),
        "earlier": ("before", "earlier", "ago", "minus", "subtract", "subtracts", "abziehen", "subtrahieren",
                    "soustraire", "retirer", "retire", "avant", "restar", "sub"),
    },
    "party": {
        "sender": ("sender", "sent", "from address", "from header", "from field", "absender", "expéditeur",
                   "remitente"),
        "recipient": ("recipient", "recipients", "addressed", "to address", "to header", "to field",
                      "empfänger", "destinataire", "destinatario"),
    },
    "selection": {
        "drop": ("drop", "remove", "delete", "exclude", "omit", "strip", "without", "entfernen", "löschen",
                 "weglassen", "ohne", "supprimer", "enlever", "sans", "eliminar", "quitar", "sin"),
        "keep": ("keep", "keep only", "select", "only the", "behalten", "nur die", "garder", "conserver",
                 "seulement", "mantener", "solo"),
    },
    "severity": {
        "errors": ("error", "errors", "fehler", "erreur", "erreurs", "errores"),
        "warnings": ("warning", "warnings", "warn", "warnung", "warnungen", "avertissement",
                     "avertissements", "advertencias"),
    },
    "document field": {
        "total": ("total", "grand total", "amount due", "total due", "gesamtbetrag", "gesamtsumme",
                  "montant total", "importe total"),
        "tax": ("tax", "vat", "mwst", "mehrwertsteuer", "steuer", "tva", "taxe", "iva", "impuesto"),
        "subtotal": ("subtotal", "net amount", "zwischensumme", "nettobetrag", "sous-total"),
        "document number": ("invoice number", "invoice no", "number of the invoice", "order number",
                            "rechnungsnummer", "numéro de facture", "numéro de la facture", "número de factura"),
    },
    # Words that narrow a task to another one: "per vendor", "above 100", "the first three".
    # The texts verified to map to a procedure rarely name these; a request that does asks
    # for something its procedure may not do, however close the rest ("tax per line").
    "qualifier": {
        "per group": ("per", "for each", "for every", "pro", "je", "jeder", "pour chaque", "chaque", "por cada",
                      "cada"),
        "a number": ("two", "three", "four", "five", "ten", "zwei", "drei", "vier", "fünf", "deux", "trois",
                     "quatre", "cinq", "dos", "tres", "cuatro", "cinco", "top", "above", "below", "more than",
                     "less than", "longer than", "shorter than", "greater than", "at least", "at most", "mehr als",
                     "weniger als", "länger als", "plus de", "moins de", "más de", "menos de"),
    },
}
# Axes on which a request may name nothing the procedure's texts do not: "count the words"
# texts do not cover "count the words longer than 5 characters".
NARROWING_AXES = ("qualifier",)
# Phrases that name no term between these words (the word before, the word after): "a number
# of days" is some days and "the invoice number of an invoice" an identifier, while "the number
# of rows" and "number of WARN lines" count.
NOT_NAMING: dict[tuple[str, ...], tuple[frozenset[str], frozenset[str]]] = {
    ("number", "of"): (frozenset({"a"}), frozenset({"a", "an", "the", "this", "that", "each", "every"})),
}
DIGIT = re.compile(r"\d")
PARENTHESIS = re.compile(r"\s*\([^()]*\)")  # a remark in parentheses, read apart by agreement

# Units a conversion goes between, by the words that name them.
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
# The unit after one of these is the target ("how many miles is 5 km": miles) ...
STRONG_TARGET = ("to", "into", "->", "→", "how many", "wie viele", "combien de")
# ... else the one after one of these ("temperature in Fahrenheit", "en miles", "in Meilen")...
WEAK_TARGET = ("in", "en", "nach", "auf")
# ... and the source the one after these; of two units named without markers, the first.
SOURCE = ("from", "von", "aus", "de", "depuis", "desde")

CONVERSION = "conversion"  # the axis of units and their markers, in compared_words

# Words that name no task of their own: verbs of asking and courtesy, and words for the input
# itself ("this table", "the given list", "la colonne"). A conversion's verb is here too: its
# direction is the term guard's to compare ("umrechnen" says nothing about from and to).
GENERIC_WORDS = frozenset({
    # asking, courtesy
    "please", "kindly", "thanks", "thank", "give", "tell", "show", "return", "returns", "compute", "calculate",
    "find", "get", "extract", "output", "provide", "report", "need", "want", "let", "know", "work", "out",
    "determine", "much", "bitte", "gib", "gebe", "geben", "nenne", "berechne", "berechnen", "ermittle",
    "ermitteln", "finde", "zeige", "liefere", "gibt", "svp", "plaît", "plait", "donne", "donner", "donnez",
    "calcule", "calculer", "calculez", "trouve", "trouver", "renvoie", "renvoyer", "extrais", "extraire",
    "indique", "favor", "dame", "calcula", "calcular", "encuentra", "devuelve", "extrae", "dime",
    # the input itself
    "given", "input", "data", "value", "values", "entry", "entries", "element", "elements", "item", "items",
    "document", "table", "row", "rows", "column", "list", "field", "tabelle", "spalte", "liste", "eintrag",
    "einträge", "wert", "werte", "tableau", "colonne", "valeur", "valeurs", "élément", "éléments", "tabla",
    "columna", "lista", "valor", "valores", "elemento", "elementos",
    # converting (the units say which way)
    "convert", "conversion", "umrechnen", "umwandeln", "konvertieren", "convertis", "convertir", "convertissez",
    "convierte",
})

# Words, unit symbols and arrows; digits are dropped so "30°C" and "5km" name their units.
TOKEN = re.compile(r"->|→|°[^\W\d_]|[€$]|[^\W\d_]+")
FUZZY_MIN_CHARS = 5  # words this long also match with one typo ("celcius", "mlies", "wrods")
PREFIX_MIN_CHARS = 6  # ...and as the start of a compound ("Mehrwertsteuer|betrag", "Absender|adresse")


def tokens_of(text: str) -> tuple[str, ...]:
    """The words, unit symbols and arrows of a text, casefolded."""
    return tuple(TOKEN.findall(unicodedata.normalize("NFC", text).casefold()))


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether a and b differ by at most one substitution, insertion, deletion or swap of
    neighbours. (A dozen lines here rather than a fuzzy-matching dependency for one check.)"""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1 or (len(diffs) == 2 and diffs[1] == diffs[0] + 1
                                   and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]])
    short, long = sorted((a, b), key=len)
    i = next((i for i in range(len(short)) if short[i] != long[i]), len(short))
    return short[i:] == long[i + 1:]


def word_matches(token: str, word: str, compounds: bool = True) -> bool:
    """Whether `token` of a text names `word`: the same word, a compound that starts with it
    (unless `compounds` is off), or, for longer ASCII words, the word with one typo."""
    if token == word or (compounds and len(word) >= PREFIX_MIN_CHARS and token.startswith(word)):
        return True
    # Typos are forgiven in ASCII words only: in German "zahlen" (to pay) is not "zählen" (to
    # count). A word spelled right is no typo of another: "compute" is not the French "compte"
    # (count), "last" is not "least" (the minimum).
    return (len(word) >= FUZZY_MIN_CHARS and word.isascii() and token[:1] == word[:1]
            and token not in _spelled_right() and _one_edit_apart(token, word))


def _phrase_at(tokens: tuple[str, ...], index: int, phrase: tuple[str, ...], compounds: bool = True) -> bool:
    return (index + len(phrase) <= len(tokens)
            and all(word_matches(tokens[index + k], word, compounds) for k, word in enumerate(phrase)))


@lru_cache(maxsize=None)
def _spelled_right() -> frozenset[str]:
    """Words known to be spelled right: every word of the lexicon and the generic words."""
    lexicons = [*AXES.values(), UNITS]
    return GENERIC_WORDS | {word for lexicon in lexicons for words in lexicon.values()
                            for phrase in _phrases(words) for word in phrase}


@lru_cache(maxsize=None)
def _phrases(words: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(tokens_of(phrase)) for phrase in words)


@lru_cache(maxsize=None)
def _lexicon(axis: str) -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """The (value, phrase) pairs of an axis (UNITS for CONVERSION) by the first letter of the
    phrase: a text is read for all of an axis's values in one pass over its tokens."""
    values = UNITS if axis == CONVERSION else AXES[axis]
    grouped: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for value, words in values.items():
        for phrase in _phrases(words):
            if phrase:
                grouped.setdefault(phrase[0][:1], []).append((value, phrase))
    return {initial: tuple(group) for initial, group in grouped.items()}


def _mentions(tokens: tuple[str, ...], axis: str) -> list[tuple[str, int]]:
    """(value, position) of each value of the axis the tokens name, in text order (at one
    position, in the lexicon's order)."""
    lexicon = _lexicon(axis)
    return list(dict.fromkeys((value, i) for i, token in enumerate(tokens) for value, phrase in lexicon.get(token[:1], ())
                              if _phrase_at(tokens, i, phrase) and not _names_otherwise(tokens, i, phrase)))


def _names_otherwise(tokens: tuple[str, ...], index: int, phrase: tuple[str, ...]) -> bool:
    """Whether the words around a phrase give it another sense (NOT_NAMING)."""
    if phrase not in NOT_NAMING:
        return False
    before, after = NOT_NAMING[phrase]
    end = index + len(phrase)
    return (index > 0 and tokens[index - 1] in before) or (end < len(tokens) and tokens[end] in after)


def _marked(tokens: tuple[str, ...], index: int, markers: tuple[str, ...]) -> bool:
    """Whether the words just before tokens[index] are one of the markers."""
    return any(tokens[max(0, index - len(m)):index] == m for m in _phrases(markers))


def _conversion(tokens: tuple[str, ...]) -> Terms:
    mentions = _mentions(tokens, CONVERSION)
    units = list(dict.fromkeys(unit for unit, _ in mentions))
    strong = [unit for unit, i in mentions if _marked(tokens, i, STRONG_TARGET)]
    weak = [unit for unit, i in mentions if _marked(tokens, i, WEAK_TARGET)]
    target = (strong or weak or [None])[-1]
    source = next((unit for unit, i in mentions
                   if unit != target and _marked(tokens, i, SOURCE) and not _marked(tokens, i, STRONG_TARGET)), None)
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


@lru_cache(maxsize=4096)
def compared_words(text: str) -> dict[int, str]:
    """Which tokens of the text (by index in tokens_of) the terms are read from, and the axis of
    each: the words of each lexicon phrase the text names, each unit and the marker before it
    ("to" in "to miles"; axis CONVERSION). A lone "to" elsewhere the term guard does not read,
    nor the rest of a compound it reads by its head ("Steuer|satz" names the tax, not the rate)."""
    tokens = tokens_of(text)
    compared: dict[int, str] = {}
    markers = _phrases((*STRONG_TARGET, *WEAK_TARGET, *SOURCE))
    for i, token in enumerate(tokens):
        for axis in AXES:
            for _, phrase in _lexicon(axis).get(token[:1], ()):
                if _phrase_at(tokens, i, phrase, compounds=False):
                    compared.update(dict.fromkeys(range(i, i + len(phrase)), axis))
        if any(_phrase_at(tokens, i, phrase, compounds=False) for _, phrase in _lexicon(CONVERSION).get(token[:1], ())):
            compared[i] = CONVERSION
            for marker in markers:
                if tokens[max(0, i - len(marker)):i] == marker:
                    compared.update(dict.fromkeys(range(i - len(marker), i), CONVERSION))
    return compared


@lru_cache(maxsize=4096)
def intent_terms(text: str) -> Terms:
    """The values each axis takes in `text`: {"operation": {"sum"}, "order": {"descending"}, ...}."""
    tokens = tokens_of(text)
    terms: Terms = {}
    for axis in AXES:
        found = frozenset(value for value, _ in _mentions(tokens, axis))
        if found:
            terms[axis] = found
    terms.update(_conversion(tokens))
    if DIGIT.search(text):
        terms["qualifier"] = terms.get("qualifier", frozenset()) | {"a number"}
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

    A conflict is a value the request names on an axis where the texts name others: "mean"
    against "sum", "descending" against "ascending", a conversion into Celsius against one into
    Fahrenheit, "count distinct" against "count"; or any narrowing word ("per", "above", a
    number) the texts do not name.
    """
    for axis, values in intent_terms(request_task).items():
        known = procedure_terms.get(axis)
        if known and not values <= set(known):
            return f"{axis}: the task says {'/'.join(sorted(values))}, the procedure {'/'.join(known)}"
        if axis in NARROWING_AXES and not known:
            return f"{axis}: the task says {'/'.join(sorted(values))}, the procedure's texts do not"
    return None


def contradiction(task: str, intent: str) -> str | None:
    """Where a draft's intent says it does something else than the task asks, on an axis both
    name ("count the warnings", an intent that counts the errors), or None. Narrowing words the
    intent leaves out are not a contradiction: an intent is a summary."""
    said = intent_terms(intent)
    for axis, values in intent_terms(task).items():
        known = said.get(axis)
        if axis not in NARROWING_AXES and known and not values <= known:
            return f"{axis}: the task asks for {'/'.join(sorted(values))}, the intent says {'/'.join(sorted(known))}"
    return None


# Axes whose values a procedure's code spells out in its text literals: a log level it looks for.
LITERAL_AXES = ("severity",)
REGEX_ESCAPE = re.compile(r"\\[A-Za-z]")  # \b, \s, \d...: "\bWARN" reads as WARN


def code_contradiction(task: str, code: str) -> str | None:
    """Where a procedure's text literals look for something else than the task asks, on an axis
    whose values code spells out (LITERAL_AXES), or None. A model answering "how many warnings"
    counted 'ERROR' under an intent that said warnings, and its tests, as wrong as the code,
    agreed with it (a model run of issue 25)."""
    try:
        literals = [node.value for node in ast.walk(ast.parse(code))
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    except SyntaxError:
        return None
    looked_for = intent_terms(REGEX_ESCAPE.sub(" ", " ".join(literals)))
    asked = intent_terms(task)
    for axis in LITERAL_AXES:
        if asked.get(axis) and looked_for.get(axis) and not asked[axis] <= looked_for[axis]:
            return (f"{axis}: the task asks for {'/'.join(sorted(asked[axis]))}, the code's texts look for "
                    f"{'/'.join(sorted(looked_for[axis]))}")
    return None


# Terms that ask for a figure: a sum, a mean, a count, an invoice's total or tax.
NUMERIC_TERMS = {"operation": {"sum", "mean", "median", "count"}, "document field": {"total", "tax", "subtotal"}}


def asks_for_a_figure(task: str) -> str | None:
    """The term by which the task asks for a number (or a number per group), or None."""
    terms = intent_terms(task)
    named = sorted(value for axis, values in NUMERIC_TERMS.items() for value in terms.get(axis, ()) if value in values)
    return named[0] if named else None


def agreement(request_task: str, texts: list[str]) -> bool:
    """Whether the request names exactly what one of the texts names, axis by axis.

    "Summe der Spalte amount" agrees with "sum the amount column", though MiniLM (an English
    model) puts the two far apart. Stronger than the absence of a `conflict`: a request that
    names one axis fewer or a value fewer ("count the rows" against "count the distinct
    vendors") does not agree. Texts that name no axis agree with a request that names none:
    what then tells the tasks apart is the rest of the words (known_words), which the
    agreement zone checks as well. A text is also read without its remarks in parentheses,
    which a person's intent adds to say how ("sort in ascending order (smallest first)"), not
    what: a request that names the order alone agrees with it.
    """
    terms = intent_terms(request_task)
    return any(intent_terms(text) == terms or ("(" in text and intent_terms(PARENTHESIS.sub("", text)) == terms)
               for text in texts)


# Names of columns and fields: the cells of a CSV header, the keys of JSON objects.
HEADER_CELL = re.compile(r"[^\W\d][\w .-]*")
CELL_SEPARATOR = re.compile(r"[,;\t]")


def data_names(inputs: dict) -> frozenset[str]:
    """The column and field names the inputs hold (casefolded), which a task may name.

    Only structure counts: the header of a CSV-like text (a first line of two or more names
    split by commas, semicolons or tabs, and a second line with as many cells), and the keys of JSON objects, also inside lists
    and inside texts that parse as JSON. Words of free text are not names: "the" and "total"
    occur in any invoice.
    """
    names: set[str] = set()
    for value in inputs.values():
        _collect_names(value, names)
    return frozenset(names)


def _collect_names(value, names: set[str], depth: int = 0) -> None:
    if depth > 3:
        return
    if isinstance(value, dict):
        names.update(str(key).strip().casefold() for key in value if str(key).strip())
        for item in value.values():
            _collect_names(item, names, depth + 1)
    elif isinstance(value, list):
        for item in value[:20]:
            _collect_names(item, names, depth + 1)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text[0] in "[{":
            try:
                _collect_names(json.loads(text), names, depth + 1)
            except ValueError:
                pass
            return
        lines = text.splitlines()
        cells = [cell.strip().strip('"').strip() for cell in CELL_SEPARATOR.split(lines[0])]
        is_table = len(lines) >= 2 and len(CELL_SEPARATOR.split(lines[1])) == len(cells) >= 2
        if is_table and all(HEADER_CELL.fullmatch(cell) for cell in cells):
            names.update(cell.casefold() for cell in cells)


def names_in(text: str, names: frozenset[str]) -> frozenset[str]:
    """Which of the data names `text` mentions, as whole words ("unit_price", not "price")."""
    folded = unicodedata.normalize("NFC", text).casefold()
    return frozenset(name for name in names
                     if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", folded))


# How the synthesis prompt spells a term a task names, for the axes where the 1.5B model took
# the task for its sibling: it counted ERROR lines for "how many warnings", converted kilometres
# into miles for "how many kilometres is this distance in miles", and kept the fields it was
# asked to remove (model runs of issue 25). Each value is said with the one it is not.
READINGS: dict[str, dict[str, str]] = {
    "severity": {"errors": "the errors (ERROR lines), not the warnings",
                 "warnings": "the warnings (WARN/WARNING lines), not the errors"},
    "selection": {"drop": "remove the named ones and keep the rest",
                  "keep": "keep only the named ones and drop the rest"},
    "order": {"ascending": "ascending (smallest first)", "descending": "descending (largest first)"},
    "position": {"first": "the first one, not the last", "last": "the last one, not the first"},
    "party": {"sender": "the sender (From), not the recipient", "recipient": "the recipient (To), not the sender"},
    "shift in time": {"later": "later in time (add)", "earlier": "earlier in time (subtract)"},
}


def task_reading(task: str) -> str | None:
    """What the task's own words settle, spelt out for the model ("from miles to kilometres";
    "the warnings (WARN/WARNING lines), not the errors"), or None when they settle nothing the
    model is known to turn around. An axis whose task names both values says nothing."""
    terms = intent_terms(task)
    said = []
    source, target = terms.get("conversion source"), terms.get("conversion target")
    if source and target:
        said.append(f"convert from {next(iter(source))} to {next(iter(target))}")
    for axis, spelt in READINGS.items():
        values = terms.get(axis, frozenset())
        if len(values) == 1:
            said.append(spelt[next(iter(values))])
    return "; ".join(said) or None
