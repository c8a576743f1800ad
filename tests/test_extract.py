"""sandbox/extract.py: the labelled-value reader procedures import, on the host and in the sandbox."""
from __future__ import annotations

import pytest

from sandbox import Sandbox
from sandbox.extract import amount, field

INVOICE = ("Helix & Sons\nInvoice # RE-2022-5483\nDate: 2024-09-20\n\n7 x order service\n\n"
           "Subtotal: £2,143.97\nVAT (10%): £214.40\nTOTAL DUE: £2,358.37\n")


@pytest.mark.parametrize("text, value", [
    ("USD 1,012.40", 1012.4),
    ("1.234,50 €", 1234.5),
    ("EUR 3 000", 3000.0),
    ("$0.92", 0.92),
    ("no figures here", None),
])
def test_an_amount_without_labels_is_read_in_its_usual_spellings(text, value):
    assert amount(text) == value


@pytest.mark.parametrize("line, total", [
    ("Total payable: 5,559.21 USD", 5559.21),
    ("TOTAL DUE: $5,559.21", 5559.21),
    ("Amount due: 5.559,21 €", 5559.21),
    ("Total 5,559.21", 5559.21),  # no colon: the value follows the label
])
def test_amount_finds_the_labelled_line_in_any_layout(line, total):
    assert amount(f"Subtotal: 5,053.83\nVAT (10%): 505.38\n{line}\n", "total", "amount due") == total


def test_a_label_matches_whole_words_only():
    assert amount("Subtotal: 100.00\nShipping: 5.00\n", "total") is None  # "total" is not "Subtotal"
    assert amount(INVOICE, "vat", "tax") == 214.4  # the value after the colon, not the 10 of "(10%)"


def test_a_labelled_line_without_a_figure_is_passed_over():
    assert amount("Total: see below\nTotal payable: 12.00", "total") == 12.0
    assert amount("free delivery", "delivery") is None


def test_field_gives_the_text_after_the_label():
    assert field(INVOICE, "invoice no", "invoice number", "invoice #") == "RE-2022-5483"
    assert field("INVOICE NO. F-2023-1975\n", "invoice no") == "F-2023-1975"
    assert field("From: Anna Berg <anna@example.org>", "from") == "Anna Berg <anna@example.org>"
    assert field("To: someone", "from") is None


def test_an_empty_label_is_a_clear_error():
    with pytest.raises(ValueError, match="a label must have a word"):
        amount("Total: 1", " ")


def test_procedures_import_it_in_the_sandbox():
    code = ("import extract\n\n\ndef solve(invoice):\n"
            "    return [extract.amount(invoice, 'total', 'amount due'), extract.field(invoice, 'invoice #')]\n")
    with Sandbox(workers=1) as sandbox:
        assert sandbox.run(code, {"invoice": INVOICE}) == [2358.37, "RE-2022-5483"]


# --- dates ---------------------------------------------------------------------------------

from sandbox.extract import company, date, dates, total  # noqa: E402


@pytest.mark.parametrize("written, iso", [
    ("25/12/2018", "2018-12-25"), ("25-12-2018", "2018-12-25"), ("25.12.2018", "2018-12-25"),
    ("2018-01-09", "2018-01-09"), ("2018/02/22 13 : 34 : 14", "2018-02-22"),
    ("09 JAN 2018", "2018-01-09"), ("09-JAN-2018", "2018-01-09"), ("9 January 2018", "2018-01-09"),
    ("January 9, 2018", "2018-01-09"), ("August 3 , 2014", "2014-08-03"), ("OCT 3, 2016", "2016-10-03"),
    ("3 août 2014", "2014-08-03"), ("3. März 2024", "2024-03-03"), ("3 de agosto de 2014", "2014-08-03"),
    ("5 maja 2023", "2023-05-05"), ("12 DEC 17", "2017-12-12"), ("11.02.18", "2018-02-11"),
    ("25/12/2018 8:13:39 PM", "2018-12-25"), ("12-01-19 21:13 SH01", "2019-01-12"),
])
def test_a_date_is_read_in_its_common_written_forms(written, iso):
    assert date(f"RECEIPT\n{written}\nTOTAL 9.00") == iso


def test_ambiguous_day_and_month_follow_what_the_text_proves():
    assert date("Date: 04/03/2018") == "2018-03-04"  # day first without proof
    assert date("Date: 04/03/2018\nDelivered: 25/03/2018") == "2018-03-04"
    assert date("Date: 04/03/2018\nDelivered: 03/25/2018") == "2018-04-03"  # 03/25 proves month first
    assert dates("Ordered January 9, 2018\nShipped 02/03/2018") == ["2018-01-09", "2018-02-03"]  # US style
    assert dates("12/25/2018") == ["2018-12-25"]  # unambiguous either way


def test_impossible_dates_and_codes_are_not_dates():
    assert date("31/02/2018") is None
    assert date("45/13/2018") is None
    assert dates("HD03-04-06 - 5/40/160\nTEL 03-7710 0302\n9.000") == []
    assert date("no date here") is None and date(None) is None and dates(None) == []


def test_a_labelled_date_on_its_line_or_under_its_label():
    text = "Order date: 01/01/2024\nINVOICE DATE\n15/02/2024\nDUE DATE: 15/03/2024"
    assert date(text, "invoice date") == "2024-02-15"
    assert date(text, "due date") == "2024-03-15"
    assert date(text, "order date", "date") == "2024-01-01"
    assert date("Datum: 3. März 2024", "datum") == "2024-03-03"
    assert date("Fecha: 3 de agosto de 2014", "fecha") == "2014-08-03"
    assert date("DATE/TIME\n: 20180428/191204", "date") == "2018-04-28"  # figures in a row only when labelled
    assert date("no label 20180428") is None
    assert date(text, "ship date") is None


def test_a_code_shaped_like_a_date_gives_way_to_the_date_printed_with_a_time():
    # 11-22-31 reads only month first, 19-09-17 only day first: the one beside a time is the date
    receipt = "HD03-04-06 - 5/40/160\nCK 11-22-31 - 10/400\n19-09-17 15:39 SH01 ZJ03"
    assert date(receipt) == "2017-09-19"
    assert date("CK 11-22-31\nTOTAL 5.00") == "2031-11-22"  # alone, it is still read


def test_dates_lists_every_date_in_order():
    assert dates("From 2024-01-05 to 07.02.2024, issued 9 Jan 2024") == ["2024-01-05", "2024-02-07", "2024-01-09"]


# --- totals --------------------------------------------------------------------------------

@pytest.mark.parametrize("receipt, value", [
    ("SUBTOTAL 10.00\nGST 6% 0.60\nTOTAL 10.60\nCASH 20.00\nCHANGE 9.40", 10.6),
    ("Subtotal: $1,200.00\nTax: $96.00\nTotal due: $1,296.00", 1296.0),
    ("Zwischensumme 10,00 €\nMwSt 19% 1,90 €\nSumme 11,90 €\nGegeben 20,00 €\nRückgeld 8,10 €", 11.9),
    ("Gesamtbetrag EUR 1.234,56", 1234.56),
    ("Subtotaal € 8,26\nBTW 21% € 1,74\nTotaal € 10,00\nContant € 20,00", 10.0),
    ("Total HT 100,00 €\nTVA 20 % 20,00 €\nTotal TTC 120,00 €\nNet à payer 120,00 €", 120.0),
    ("SPRZEDAŻ OPODATKOWANA A 10,00\nPTU A 23% 1,87\nSUMA PTU 1,87\nSUMA PLN 10,00\nGotówka 50,00\nReszta 40,00", 10.0),
    ("Razem netto 1 000,00 zł\nVAT 230,00 zł\nDo zapłaty: 1 230,00 zł", 1230.0),
    ("Subtotal 8,26\nIVA 21% 1,74\nTotal a pagar 10,00 €\nEfectivo 20,00\nCambio 10,00", 10.0),
    ("TOTAL QTY: 3\nTOTAL (RM): 12.50", 12.5),
])
def test_the_grand_total_in_any_language(receipt, value):
    assert total(receipt) == value


def test_the_total_under_its_label_in_ocr_order():
    assert total("TOTAL:\n9.00\nCASH\n10.00\nCHANGE\n1.00") == 9.0
    # labels one under the other, their values in a run below them, in the same order
    assert total("TOTAL\nCASH\n22.60\n30.00") == 22.6
    assert total("SUB TOTAL\nROUNDING\nRM8.60\nRM0.00\nTOTAL SALES INCL GST @ 6%\nRM8.60\nCASH\nTENDERED") == 8.6


def test_a_rounded_total_wins():
    assert total("TOTAL:\nROUNDING ADJUSTMENT:\n0.00\nROUNDED TOTAL (RM):\n9.00\nCASH\n10.00") == 9.0
    assert total("TOTAL 60.31\nROUNDING ADJ -0.01\nROUNDED TOTAL 60.30\nCASH 70.30\nCHANGE 10.00") == 60.3
    assert total("SUB TOTAL 21.00\nGST 6% 1.26\nROUNDING ADJ -0.01\nNET TOTAL 22.25") == 22.25


def test_the_amount_paid_with_tax_is_the_total_and_a_points_total_is_not():
    # SROIE receipt 397: "TOTAL EV" counts loyalty points, the paid amount with GST is the total
    receipt = "AMT PAID INCL. GST : RM78.30\nAMT PALD EXCL. GST :RM 73.87\nGST AMT : RM4.43\nTOTAL EV :2.10"
    assert total(receipt) == 78.3
    assert total("PAID 50.00\nTOTAL 45.00") == 45.0  # paid alone is the cash tendered


def test_no_subtotal_tax_cash_or_tax_table_row_is_a_total():
    assert total("SUBTOTAL 10.00\nGST 0.60") is None
    assert total("CASH 20.00\nCHANGE 9.40") is None
    assert total("TOTAL ITEMS 3\nDISCOUNT 1.00") is None
    # a GST summary row (amount, tax) after the total is not the total
    assert total("TOTAL INCL. GST 10.60\nCASH 20.00\nGST SUMMARY\nTOTAL : 10.00 0.60") == 10.6
    assert total("TOTAL\n10.00\n0.60") is None  # a row of a table: unsure


def test_disagreeing_totals_give_none_unless_the_payment_decides():
    assert total("TOTAL 10.00\nTOTAL 12.00") is None
    assert total("TOTAL 10.00\nTOTAL 12.00\nCASH 20.00\nCHANGE 8.00") == 12.0
    assert total("no total at all") is None and total(None) is None


def test_scanned_columns_the_payment_settles():
    # labels in one column, amounts in another: total + change = paid names the total
    assert total("TAKEOUT TOTAL (INCL GST)\nTOTAL ROUNDED\nCASH TENDERED\nCHANGE\n"
                 "11.00\n5.60\n26.60\n26.60\n100.00\n73.40\n1.51") == 26.6
    assert total("SUBTOTAL:\n28.60\nTL:RM\n28.60\nCASH\n100.00\nCASH CHANGE\n71.40") == 28.6
    # paid exactly: the last such row is the payment, the rows above are sums
    assert total("TOTAL :\nCHANGE :\n78.00\n78.00\n0.00\n82.68\n82.68\n0.00") == 82.68
    assert total("SUBTOTAL\n5.00\n7.00\nCHANGE\n12.00\n19.00\n7.00\n20.00\n27.00\n7.00") is None


def test_a_rounding_adjustment_under_its_label_and_the_rounded_total_it_makes():
    assert total("TOTAL AMT.......... RM\n60.31\nROUNDING ADJ.......\n-0.01\nRM\n60.30\n"
                 "CASH.......... RM\n70.30") == 60.3
    assert total("TOTAL SALES (INCLUSIVE GST) RM\n45.34\nROUNDING ADJUSTMENT RM\n.01\n"
                 "ROUNDING RM\n45.35\nCHANGE RM\n.00") == 45.35
    assert total("TOTAL WITH GST @ 6%\n6.83\nROUNDING\n0.02\nTOTAL SAVING: 0.00\nTOTAL\n6.85") == 6.85


def test_cash_tendered_is_not_the_rounded_total():
    # paid exactly in cash: 1.40 is the payment, not a total printed after the rounding line
    assert total("TOTAL\nRM1.38\nROUNDING\nRM0.02\nCASH\nRM1.40\nTAX INVOICE OF GST") == 1.38


def test_a_header_total_above_the_real_one_is_not_read():
    receipt = ("TOTAL:\n3.45\nITEM\nHOES SET\nTOTAL SALES (EXCLUDING GST) :\nDISCOUNT :\n"
               "TOTAL SALES (INCLUSIVE OF GST) :\nCASH :\nCHANGE :\n57.50\nTAX CODE\n"
               "60.95\n57.50\n0.00\n0.00\n60.95\n60.95\n0.00")
    assert total(receipt) == 60.95


def test_included_tax_lines_and_accepted_cash_are_no_totals():
    # "TOTAL INCLUDES 6% GST 3.98" states the tax inside the total
    assert total("TAKEOUT TOTAL (INCL GST)\nCHANGE\n70.30\n70.30\n0.00\nTOTAL INCLUDES 6% GST\n3.98") == 70.3
    assert total("AMOUNT INCL. GST\n5.00 RM\nACCEPTED TOTAL\n10.00 RM\nCHANGE\n5.00 RM") == 5.0
    assert total("TOTAL (GST INCL)\nCASH\n12.00\n12.00") == 12.0
    assert total("SUB TOTAL\n129.30\nAMT DUE\n129.30\nGST @6%\n7.30") == 129.3


def test_amount_takes_the_value_under_a_label_standing_alone():
    assert amount("TOTAL:\n9.00\nCASH\n10.00", "total") == 9.0
    assert amount("Amount due\n\nRM 1,234.50", "amount due") == 1234.5
    assert amount("TOTAL:\nCASH 10.00", "total") is None  # the next line has a label of its own
    assert amount("Total: see below\nTotal payable: 12.00", "total") == 12.0


def test_the_new_readers_run_in_the_sandbox():
    code = ("import extract\n\n\ndef solve(text):\n"
            "    return [extract.date(text, 'date'), extract.dates(text), extract.total(text)]\n")
    receipt = "DATE:\n3. März 2024\nSumme 11,90 €\nGegeben 20,00 €"
    with Sandbox(workers=1) as sandbox:
        assert sandbox.run(code, {"text": receipt}) == ["2024-03-03", ["2024-03-03"], 11.9]


@pytest.mark.parametrize("line, label, value", [
    ("INVOICE NO. F-2022-8914", "invoice", "F-2022-8914"),  # a model's label was the first word only
    ("Order # 77 shipped", "order", "77 shipped"),
    ("Rechnung Nr 2291", "rechnung", "2291"),
    ("Subject No news today", "subject", "No news today"),  # "No" before no figure is the value's
    ("Invoice number: INV-7", "invoice", "INV-7"),
])
def test_field_passes_over_the_number_word_that_ends_a_label(line, label, value):
    assert field(line, label) == value


@pytest.mark.parametrize("line, labels", [
    ("INVOICE NO. F-2022-8914", ("invoice number", "number")),  # the 1.5B's labels for this line
    ("Invoice # F-2022-8914", ("invoice no",)),
    ("Rechnung Nr. F-2022-8914", ("rechnung number",)),
    ("Invoice Number: F-2022-8914", ("invoice #",)),
])
def test_a_label_ending_in_a_number_word_matches_every_spelling_of_it(line, labels):
    assert field(line, *labels) == "F-2022-8914"


def test_a_number_word_alone_is_still_a_word_of_its_own():
    assert field("No. of items: 4\nNumber: 7", "number") == "7"


def test_field_walks_a_parsed_json_document_by_its_labels_as_keys():
    order = {"id": "SO-1", "customer": {"Full Name": "Mei Tanaka", "address": {"city": "Recife"}},
             "lines": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}]}
    assert field(order, "customer", "address", "city") == "Recife"
    assert field(order, "customer", "full_name") == "Mei Tanaka"
    assert (field(order, "lines", "-1", "sku"), field(order, "lines", 0, "qty")) == ("B-7", 2)
    assert field(order, "customer", "address", "zip") is None
    assert field(order, "lines", "5", "sku") is None and field(order, "id", "x") is None
    assert field([{"a": 1}], "0", "a") == 1


def test_a_procedure_reads_a_nested_order_with_extract_field():
    code = "import extract\n\ndef solve(order):\n    return extract.field(order, 'customer', 'address', 'city')\n"
    with Sandbox(workers=1) as sandbox:
        assert sandbox.run(code, {"order": {"customer": {"address": {"city": "Recife"}}}}) == "Recife"


def test_email_reads_the_address_on_the_labelled_line():
    from sandbox.extract import email

    message = "To: Jonas Weber <jonas.weber@nordwind.de>\nFrom: Omar Haddad <omar.haddad@acme.io>\nWrite to a@b.org"
    assert (email(message, "from"), email(message, "to"), email(message)) == \
        ("omar.haddad@acme.io", "jonas.weber@nordwind.de", "jonas.weber@nordwind.de")
    assert email(message, "cc") is None and email("From: nobody") is None


def test_a_csv_text_reads_as_a_table_by_column_and_row():
    from sandbox.extract import table

    rows = table('vendor,amount,date\nA,1918.28,2023-06-07\nB,"1,181.28",2024-12-03\nC,EUR 5,2023-02-12\n')
    assert rows["amount"] == [1918.28, 1181.28, 5.0] and rows["date"][0] == "2023-06-07"
    assert [row["vendor"] for row in rows] == ["A", "B", "C"] and len(rows) == 3
    assert rows.startswith("vendor,") and rows[0:6] == "vendor"


@pytest.mark.parametrize("document, name", [
    ("ACME Tools GmbH\nMusterstraße 1\n10115 Berlin", "ACME Tools GmbH"),
    ("Carrefour SA\n93 avenue de Paris", "Carrefour SA"),
    ("Rechnung\nFerrous Ltd.\n12 High St", "Ferrous Ltd."),  # a title line is no issuer
    ("TAX INVOICE\nNordwind AG\nInvoice number: RE-1", "Nordwind AG"),
    ("99 SPEED MART S/B (519537-X)\nLOT P.T. 2811", "99 SPEED MART S/B"),  # its registration number dropped
    # a person's name written above is not part of the company's
    ("TAN WOON YANN\nMR D.I.Y. (M) SDN BHD\n(CO. RFG : 860671-D)", "MR D.I.Y. (M) SDN BHD"),
])
def test_company_is_the_top_line_ending_in_a_legal_form(document, name):
    assert company(document) == name


@pytest.mark.parametrize("document, name", [
    ("YONGFATT ENTERPRISE\n(JM0517726)\nNO 122.124 JALAN DEDAP 13", "YONGFATT ENTERPRISE"),
    ("Shell Isni Petro Trading\nCompany No: 002643278-A\nJalan 1", "Shell Isni Petro Trading"),
])
def test_a_name_over_its_registration_number_is_the_company(document, name):
    assert company(document) == name


@pytest.mark.parametrize("document, name", [
    ("POPULAR BOOK\nCO. (M) SDN BHD\n(CO. NO. 113825-W)", "POPULAR BOOK CO. (M) SDN BHD"),
    ("AIK HUAT HARDWARE\nENTERPRISE (SETIA\nALAM) SDN BHD\n822737-X", "AIK HUAT HARDWARE ENTERPRISE (SETIA ALAM) SDN BHD"),
    ("THE COFFEE BEAN\n& TEA LEAF (M) SDN. BHD.\nCOMPANY NO.:441970-H", "THE COFFEE BEAN & TEA LEAF (M) SDN. BHD."),
])
def test_a_company_name_written_over_several_lines_is_joined(document, name):
    assert company(document) == name


@pytest.mark.parametrize("document", [
    "FUYI MINI MARKET\nTOTAL 9.00\nCASH 10.00",  # a shop name alone: no answer rather than a guess
    "Total incl. VAT\n9.00",  # a legal form's letters that are an everyday word
    "ORDER NO.\n1000219\nTABLE 5",  # bare digits are an order number, not a registration
    "Ltd.\nfoo",
    "",
])
def test_no_company_where_no_top_line_is_marked_as_one(document):
    assert company(document) is None


def test_company_runs_in_the_sandbox():
    code = "import extract\n\n\ndef solve(text):\n    return extract.company(text)\n"
    with Sandbox(workers=1) as sandbox:
        assert sandbox.run(code, {"text": "Blue Fern Ltd\nTotal 4.00"}) == "Blue Fern Ltd"
