"""Words of a request that nothing known about a procedure explains.

The intent-term guard (intent_terms.py) compares the few words its lexicon knows: operation,
order, position, field... A request whose distinguishing word lies outside the lexicon passes
it: "add weeks to the date" names the shift and the date exactly as "add days to the date"
does, and "extract the tax rate of the invoice" the tax field as "extract the tax amount".
Measured on requests for tasks a cache does not have (bench/cache/outsiders.py), this is how
procedures got answers they should not give.

The remedy reads the whole request instead of the lexicon's words: a word is explained when a
text the procedure is known by uses it (its intent, the requests verified to map to it, the
other wordings its author proposed), when it names the request's data (a column, a field), when
the term guard compares it ("Summe" is the sum), or when it carries no task of its own: a
function word of English, German, French or Spanish (the `stop-words` package's lists, less
the few that tell tasks apart: "to", "from", "not", "each"...) or a generic word ("please",
"compute", "gib", "the given table"). One typo in a longer ASCII word, two swapped letters and
an inflected ending ("dates", "Tage") make no new word; a compound is explained by its parts
("Rechnungs|nummer"), never by its head alone ("Steuer|satz" is a tax rate).

A request with an unexplained word asks for something its procedure's texts never said: lookup
does not run that procedure without asking. The model's proposed wordings explain words here,
but the term guard reads the verified texts alone.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from stop_words import get_stop_words

from .intent_terms import CONVERSION, GENERIC_WORDS, compared_words, intent_terms, tokens_of, word_matches

LANGUAGES = ("english", "german", "french", "spanish")  # as intent_terms' lexicon
# The German, French and Spanish words for the things requests are about (dates, documents,
# their parts and fields, what is done to them), by the English word known texts use: a word is
# explained where its English word is. Terms the term guard compares (sum, first, tax...) are
# not here: intent_terms' lexicon reads them in every language.
TRANSLATIONS: dict[str, tuple[str, ...]] = {
    "date": ("datum", "fecha"),
    "day": ("tag", "jour", "día", "dia"),
    "week": ("woche", "semaine", "semana"),
    "month": ("monat", "mois", "mes"),
    "year": ("jahr", "année", "annee", "año"),
    "weekday": ("wochentag",),
    "invoice": ("rechnung", "facture", "factura"),
    "amount": ("betrag", "montant", "importe", "monto"),
    "number": ("nummer", "numéro", "numero", "número"),
    "numbers": ("zahlen", "nombres", "números", "numeros"),
    "email": ("mail", "courriel", "correo"),
    "address": ("adresse", "dirección", "direccion"),
    "message": ("nachricht", "mensaje"),
    "log": ("protokoll", "journal", "registro"),
    "line": ("zeile", "ligne", "línea", "linea"),
    "word": ("wort", "wörter", "mot", "palabra"),
    "text": ("texte", "texto"),
    "character": ("zeichen", "caractère", "caractere", "carácter", "caracter"),
    "sort": ("sortieren", "sortiere", "trier", "triez", "ordenar", "ordena"),
    "temperature": ("temperatur", "température", "temperatura"),
    "distance": ("entfernung", "distanz", "distancia"),
    "valid": ("gültig", "gültige", "gültiges", "valide", "válido", "valido"),
    "check": ("prüfen", "prüfe", "vérifier", "vérifie", "verifica", "verificar", "comprueba"),
    "record": ("datensatz", "enregistrement"),
    "name": ("nom",),
    "key": ("schlüssel", "clé", "clave"),
}
ENGLISH_OF = {word: english for english, words in TRANSLATIONS.items() for word in words}


def _by_letters(words) -> dict[str, tuple[str, ...]]:
    """The words by each of their first two letters: a token is one of them, a typo of it or
    an inflection only if it starts with its first letter, or (two letters swapped) its second."""
    grouped: dict[str, list[str]] = {}
    for word in words:
        for letter in set(word[:2]):
            grouped.setdefault(letter, []).append(word)
    return {letter: tuple(group) for letter, group in grouped.items()}


TRANSLATED_BY_LETTER = _by_letters(ENGLISH_OF)
# Endings that inflect a word without changing what it names: "dates", "adding", "Tage", "mots".
ENDINGS = ("ing", "ed", "es", "en", "s", "e", "n")
MIN_STEM_CHARS = 3
COMPOUND_PART_CHARS = 4
# Function words that still tell tasks apart: direction, negation, comparison, quantity. A
# request must not say "to" where its procedure's texts say "from" ("email:to", "email:from").
TELLING_FUNCTION_WORDS = frozenset({
    "to", "from", "into", "not", "no", "nor", "without", "before", "after", "above", "below", "over", "under",
    "more", "less", "most", "least", "only", "each", "every", "all", "any", "both", "few", "other", "same",
    "except", "than", "up", "down", "off", "again", "first", "last",
    "nicht", "kein", "keine", "ohne", "vor", "nach", "über", "unter", "mehr", "weniger", "nur", "jede", "jeder",
    "alle", "zu", "von", "pas", "sans", "avant", "après", "plus", "moins", "seulement", "chaque", "tous",
    "toutes", "sin", "antes", "después", "más", "menos", "solo", "cada", "todos", "hacia", "desde",
})


@lru_cache(maxsize=1)
def self_explained_words() -> frozenset[str]:
    """Function words of the four languages (less the telling ones) and the generic words:
    built once, since lookup reads them for every sure-hit candidate."""
    listed = {word.casefold() for language in LANGUAGES for word in get_stop_words(language)}
    return frozenset(listed - TELLING_FUNCTION_WORDS) | GENERIC_WORDS


def _stem(word: str) -> str:
    for ending in ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM_CHARS:
            return word[: -len(ending)]
    return word


def _swapped(token: str, known: str) -> bool:
    """Two letters of a short word swapped ("dyas", "teh"): too short for intent_terms' typo rule."""
    differ = [i for i, (a, b) in enumerate(zip(token, known)) if a != b]
    return (len(token) == len(known) >= 3 and len(differ) == 2 and differ[1] == differ[0] + 1
            and token[differ[0]] == known[differ[1]] and token[differ[1]] == known[differ[0]])


def _same_word(token: str, known: str) -> bool:
    """The same word, one typo apart (intent_terms.word_matches, without its compound rule),
    inflected, or with two letters swapped."""
    return (token == known or word_matches(token, known, compounds=False)
            or _stem(token) == _stem(known) or _swapped(token, known))


def _known(token: str, known: set[str]) -> bool:
    return token in known or any(_same_word(token, word) for word in known)


def _said(token: str, known: set[str], ignored: frozenset[str]) -> bool:
    """Whether the token, or its English word (TRANSLATIONS), is one of the known or ignored words."""
    if token in ignored or _known(token, known):
        return True
    english = next((ENGLISH_OF[word] for word in TRANSLATED_BY_LETTER.get(token[:1], ()) if _same_word(token, word)),
                   None)
    return english is not None and _known(english, known)


def _explained(token: str, known: set[str], ignored: frozenset[str]) -> bool:
    if _said(token, known, ignored):
        return True
    # A compound is explained by its parts: "Absenderadresse" by "Absender" and "Adresse", but
    # "Steuersatz" (tax rate) not by "Steuer" alone.
    for cut in range(COMPOUND_PART_CHARS, len(token) - COMPOUND_PART_CHARS + 1):
        head = token[:cut]
        rest = token[cut:].removeprefix("s")  # the German linking s: "Rechnungs|nummer"
        if (head in known or head in ignored) and len(rest) >= COMPOUND_PART_CHARS:
            if _explained(rest, known, ignored):
                return True
    return False


def _axes(texts: list[str]) -> set[str]:
    """The axes the texts name terms on, units and their markers as intent_terms.CONVERSION."""
    axes = {axis for text in texts for axis in intent_terms(text)}
    return {CONVERSION if axis.startswith("conversion") else axis for axis in axes}


def unexplained_words(task: str, known_texts: Iterable[str], data_names: Iterable[str] = ()) -> list[str]:
    """The words of `task` (in order, once each) that none of `known_texts`, no data name, no
    function or generic word explains, and that the term guard does not compare (it compares a
    word on an axis the known texts name: "words" is new to texts about an invoice's total).
    Empty when the request says nothing new."""
    known_texts = list(known_texts)
    known = {token for text in known_texts for token in tokens_of(text)}
    known.update(token for name in data_names for token in tokens_of(name))
    ignored = self_explained_words()
    compared, axes = compared_words(task), _axes(known_texts)
    unexplained = []
    for index, token in enumerate(tokens_of(task)):
        if len(token) < 2 or token in unexplained or compared.get(index) in axes:
            continue
        if not _explained(token, known, ignored):
            unexplained.append(token)
    return unexplained
