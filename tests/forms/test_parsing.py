"""Every validator of the form fields: what a citizen types, what is stored, what they are told."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kumpel_forms import parsing
from kumpel_forms.parsing import Invalid, Valid

TODAY = date(2026, 11, 21)
KREFELD = frozenset({"47798", "47799", "47800", "47802", "47803", "47804", "47805", "47807", "47809", "47829", "47839"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14.03.2024", date(2024, 3, 14)),
        ("1.6.24", date(2024, 6, 1)),
        ("am 03. 04. 2025", date(2025, 4, 3)),
        ("2025-07-09", date(2025, 7, 9)),
        ("3. März 2024", date(2024, 3, 3)),
        ("12 maerz 2023", date(2023, 3, 12)),
        ("heute", TODAY),
        ("gestern", date(2026, 11, 20)),
        ("vor 3 Wochen", date(2026, 10, 31)),
    ],
)
def test_german_dates_are_understood(text: str, expected: date) -> None:
    assert parsing.parse_date(text, TODAY) == Valid(expected)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("31.02.2024", "gibt es nicht"),
        ("30.2.2025", "gibt es nicht"),
        ("12.13.2024", "gibt es nicht"),
        ("22.11.2026", "Zukunft"),
        ("01.01.2030", "Zukunft"),
        ("01.01.1950", "zu weit zurück"),
        ("irgendwann letztes Jahr", "nicht als Datum erkannt"),
        ("", "nicht als Datum erkannt"),
    ],
)
def test_impossible_future_and_unreadable_dates_are_refused_politely(text: str, says: str) -> None:
    result = parsing.parse_date(text, TODAY)
    assert isinstance(result, Invalid) and says in result.message


def test_future_dates_only_where_the_field_allows_them() -> None:
    assert parsing.parse_date("01.12.2026", TODAY, allow_future=True) == Valid(date(2026, 12, 1))


@pytest.mark.parametrize("text", ["276098100123456", "276 098 100 123 456", "Chip 276098100123456", "985112003456789"])
def test_chip_numbers_with_15_digits_are_accepted(text: str) -> None:
    result = parsing.parse_chip_number(text)
    assert isinstance(result, Valid) and len(result.value) == 15 and result.value.isdigit()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("27609810012345", "14 Ziffern"),
        ("2760981001234567", "16 Ziffern"),
        ("276O98100123456", "nur aus Ziffern"),
        ("999098100123456", "ungültig"),
        ("000098100123456", "ungültig"),
        ("keine Ahnung", "15 Ziffern"),
    ],
)
def test_wrong_chip_numbers_are_explained(text: str, says: str) -> None:
    result = parsing.parse_chip_number(text)
    assert isinstance(result, Invalid) and says in result.message


@pytest.mark.parametrize(
    "text", ["DE89 3704 0044 0532 0130 00", "de89370400440532013000", "DE89-3704-0044-0532-0130-00"]
)
def test_valid_ibans_are_stored_compact(text: str) -> None:
    assert parsing.parse_iban(text) == Valid("DE89370400440532013000")


@pytest.mark.parametrize(
    "text", ["DE89 3704 0044 0532 0130 01", "DE8937040044053201300", "1234", "", "NL00ABNA0417164300"]
)
def test_invalid_ibans_are_refused(text: str) -> None:
    assert isinstance(parsing.parse_iban(text), Invalid)


def test_iban_is_masked_in_summaries() -> None:
    assert parsing.format_iban("DE89370400440532013000", masked=True) == "DE89 **** **** **** **** 00"


@pytest.mark.parametrize("text", ["47798", "47798 Krefeld", "PLZ 47839", "47829 Krefeld-Uerdingen"])
def test_krefeld_postcodes_are_accepted(text: str) -> None:
    assert isinstance(parsing.parse_postcode(text, KREFELD, "Krefeld"), Valid)


@pytest.mark.parametrize(
    ("text", "says"),
    [("47051", "nicht in Krefeld"), ("40213 Düsseldorf", "nicht in Krefeld"), ("4779", "fünfstellige")],
)
def test_postcodes_outside_the_city_are_refused(text: str, says: str) -> None:
    result = parsing.parse_postcode(text, KREFELD, "Krefeld")
    assert isinstance(result, Invalid) and says in result.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ostwall 12", "Ostwall 12"),
        ("von-der-Leyen-Platz 1", "Von-der-Leyen-Platz 1"),
        ("Uerdinger Str. 5 a", "Uerdinger Str. 5a"),
    ],
)
def test_street_and_house_number(text: str, expected: str) -> None:
    assert parsing.parse_street(text) == Valid(expected)


@pytest.mark.parametrize("text", ["Ostwall", "12", "<script>alert(1)</script> 1", "x" * 200 + " 1"])
def test_street_without_number_or_with_markup_is_refused(text: str) -> None:
    assert isinstance(parsing.parse_street(text), Invalid)


@pytest.mark.parametrize(
    ("text", "expected"), [("erika mustermann", "Erika Mustermann"), ("Jean-Luc O'Neill", "Jean-Luc O'Neill")]
)
def test_person_names(text: str, expected: str) -> None:
    assert parsing.parse_person_name(text) == Valid(expected)


@pytest.mark.parametrize(
    "text", ["Erika", "R2D2 Droid", "<b>Erika</b> Muster", "'; DROP TABLE submissions; --", "a " * 80]
)
def test_implausible_person_names_are_refused(text: str) -> None:
    assert isinstance(parsing.parse_person_name(text), Invalid)


def test_dog_names_and_free_text() -> None:
    assert parsing.parse_short_name("bello") == Valid("Bello")
    assert isinstance(parsing.parse_short_name("Bello123"), Invalid)
    assert parsing.parse_text("Labrador-Mischling") == Valid("Labrador-Mischling")
    assert isinstance(parsing.parse_text("<img src=x onerror=alert(1)>"), Invalid)
    assert isinstance(parsing.parse_text("x" * 201), Invalid)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("erika@example.de", "erika@example.de"),
        ("Meine Mail: Erika.M+hund@Example.DE", "erika.m+hund@example.de"),
        ("keine", ""),
    ],
)
def test_email_is_optional_and_checked(text: str, expected: str) -> None:
    assert parsing.parse_email(text) == Valid(expected)


@pytest.mark.parametrize("text", ["erika@", "erika at example.de", "<script>@x.de"])
def test_invalid_email_addresses_are_refused(text: str) -> None:
    assert isinstance(parsing.parse_email(text), Invalid)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ja", True),
        ("ja, einverstanden", True),
        ("Okay", True),
        ("Nein", False),
        ("nee", False),
        ("lieber nicht", False),
    ],
)
def test_yes_and_no(text: str, expected: bool) -> None:
    assert parsing.parse_yes_no(text) == Valid(expected)


def test_neither_yes_nor_no_is_asked_again() -> None:
    assert isinstance(parsing.parse_yes_no("vielleicht"), Invalid)


@pytest.mark.parametrize(
    ("text", "expected"), [("0", 0), ("keinen", 0), ("zwei", 2), ("wir haben 3 Hunde", 3), ("nein", 0)]
)
def test_counts(text: str, expected: int) -> None:
    assert parsing.parse_count(text) == Valid(expected)


def test_counts_out_of_range_or_missing() -> None:
    assert isinstance(parsing.parse_count("500"), Invalid)
    assert isinstance(parsing.parse_count("viele"), Invalid)


def test_choice_by_label_or_word() -> None:
    options = [
        {"value": "keine", "label": "Nein, keine", "words": ["nein", "keine"]},
        {"value": "befreiung", "label": "Befreiung", "words": ["assistenzhund"]},
    ]
    assert parsing.parse_choice("Befreiung", options) == Valid("befreiung")
    assert parsing.parse_choice("ist ein Assistenzhund", options) == Valid("befreiung")
    assert parsing.parse_choice("nein", options) == Valid("keine")
    assert isinstance(parsing.parse_choice("Rabatt", options), Invalid)


def test_tag_numbers() -> None:
    assert parsing.parse_tag_number("Marke Nr. 4711") == Valid("4711")
    assert isinstance(parsing.parse_tag_number("keine Marke"), Invalid)
    assert isinstance(parsing.parse_tag_number("123456789"), Invalid)


def test_meter_numbers_and_readings() -> None:
    assert parsing.parse_meter_number("Zählernummer 18-447321") == Valid("18447321")
    assert isinstance(parsing.parse_meter_number("abc"), Invalid)
    assert parsing.parse_meter_reading("1234,5 m³") == Valid(str(Decimal("1234.5")))
    assert parsing.parse_meter_reading("Stand: 987") == Valid("987")
    assert isinstance(parsing.parse_meter_reading("viel"), Invalid)
    assert isinstance(parsing.parse_meter_reading("12345678"), Invalid)


@pytest.mark.parametrize("text", ["276-098-100-123-456", "die Nummer ist 276.098.100.123.456"])
def test_chip_numbers_grouped_with_dashes_or_dots(text: str) -> None:
    assert parsing.parse_chip_number(text) == Valid("276098100123456")


def test_family_name_first_with_a_comma() -> None:
    assert parsing.parse_person_name("Mustermann, Erika") == Valid("Erika Mustermann")
