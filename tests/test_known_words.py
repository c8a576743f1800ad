"""known_words: which words of a request nothing known about a procedure explains; and the
agreement zone's text rule built on it (guards.words_agree)."""
from orchestrator.matching.guards import words_agree
from orchestrator.matching.known_words import unexplained_words

ADD_DAYS = ["add the days to the date", "Add a number of days to an ISO date"]


def test_a_word_outside_the_term_lexicon_that_no_text_uses_is_unexplained():
    assert unexplained_words("add weeks to the date", ADD_DAYS) == ["weeks"]
    assert unexplained_words("extract the tax rate of the invoice", ["extract the tax amount of the invoice"]) == [
        "rate"]


def test_function_words_generic_words_and_the_words_the_term_guard_compares_explain_themselves():
    assert unexplained_words("Could you please give me the date after adding the days?", ADD_DAYS) == []
    assert unexplained_words("Summe der Spalte amount", ["sum the amount column"]) == []  # "Summe": sum


def test_function_words_that_tell_tasks_apart_and_the_rest_of_a_compound_need_a_text():
    assert unexplained_words("email:to", ["email:from"]) == ["to"]
    assert unexplained_words("convert miles to km", ["convert km to miles"]) == []  # the term guard's to compare
    assert unexplained_words("Steuersatz der Rechnung", ["Mehrwertsteuerbetrag der Rechnung"]) == ["steuersatz"]
    assert unexplained_words("Rechnungsnummer auslesen", ["Nummer der Rechnung auslesen"]) == []


def test_a_word_in_another_language_is_explained_where_a_text_says_it_in_english():
    assert unexplained_words("die Tage zum Datum", ["add the days to the date"]) == []
    assert unexplained_words("montant de la facture", ["the amount of the invoice"]) == []
    assert unexplained_words("Datum der Rechnung", ["the amount of the invoice"]) == ["datum"]


def test_typos_inflections_and_data_names_are_not_new_words():
    assert unexplained_words("cuont by staus", ["Count the records by status"]) == []
    assert unexplained_words("add dyas to the dates", ADD_DAYS) == []
    assert unexplained_words("sum the qty column", ["sum the column"], data_names=["qty"]) == []
    assert unexplained_words("sum the qty column", ["sum the column"]) == ["qty"]


def test_each_unexplained_word_is_named_once_in_order():
    assert unexplained_words("business days and business weeks", ADD_DAYS) == ["business", "weeks"]


def test_with_no_term_named_the_words_must_agree_both_ways():
    weekday = ["Return the English weekday name of an ISO date."]
    assert not words_agree("date:iso", weekday, weekday)
    assert words_agree("is this a vaild email", ["is this email valid"], ["is this email valid"])
    # With a term the term guard compares, the words need only be explained.
    assert words_agree("Summe der Spalte amount", ["sum the amount column"], ["sum the amount column"])
