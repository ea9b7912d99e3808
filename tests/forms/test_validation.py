"""The knowledge service's check of a submission accepts what the dialogue exports, and nothing it would refuse.

A citizen's conversation runs through the real engine and specs; what ``export_data`` sends must pass
``validate_submission`` unchanged (the same validators on both sides), and a changed value must fail by name.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from actions.forms import engine
from kumpel_forms.spec import all_forms, load_spec
from kumpel_forms.validation import validate_submission

TODAY = date(2026, 11, 21)
KREFELD_POSTCODES = ["47798", "47799", "47800", "47802", "47803", "47804", "47805", "47807", "47809", "47829"]
KREFELD = engine.town_facts({"city": "Krefeld", "state": "NW", "postcodes": KREFELD_POSTCODES})


def exported_after(form: str, answers: list[str]) -> dict[str, Any]:
    """What the action server would submit after the citizen typed ``answers`` and confirmed."""
    spec = load_spec(form)
    state = engine.step(spec, None, "start", today=TODAY, town=KREFELD).state
    for turn, text in enumerate(["Ja", *answers]):
        state = engine.step(spec, state, text, today=TODAY, now_ts=1000.0 + 10 * turn).state
    assert state["pending"] == engine.CONFIRM, f"the form still asks for {state['pending']}"
    return engine.export_data(spec, state["values"])


def check(form: str, data: dict[str, Any]) -> dict[str, str]:
    problems = validate_submission(load_spec(form), data, today=TODAY, town_postcodes=KREFELD_POSTCODES)
    return {problem.field: problem.code for problem in problems}


DOG_TAX_ANSWERS = [
    "erika mustermann",
    "Ostwall 12, 47798 Krefeld",
    "keine",
    "Bello",
    "Labrador",
    "Nein",
    "geboren am 3.4.2024",
    "seit 1.6.2024",
    "276 098 100 123 456",
    "0",
    "Befreiung, Assistenzhund",
    "Assistenzhund",
    "Ja, DE89 3704 0044 0532 0130 00",
]


def test_a_dog_tax_registration_typed_in_the_chat_passes_the_submission_check() -> None:
    data = exported_after("dog_tax_registration", DOG_TAX_ANSWERS)
    assert data["Zahlung.IBAN"] == "DE89370400440532013000" and data["Antrag.Begruendung"] == "Assistenzhund"
    assert check("dog_tax_registration", data) == {}


def test_a_deregistration_and_a_water_meter_reading_typed_in_the_chat_pass_too() -> None:
    deregistration = exported_after(
        "dog_tax_deregistration",
        ["Max Muster", "Dionysiusstraße 5, 47798 Krefeld", "Bello", "Marke 4711", "verstorben", "am 1.11.2026"],
    )
    assert check("dog_tax_deregistration", deregistration) == {}
    reading = exported_after(
        "water_meter_reading",
        ["Max Muster", "Dionysiusstraße 5, 47798 Krefeld", "Zählernummer 18-447321, Stand 1234,5", "gestern"],
    )
    assert check("water_meter_reading", reading) == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Halter.Name", "erika mustermann"),  # the dialogue capitalises a name
        ("Hund.Transpondernummer", "276 098 100 123 456"),  # ... and compacts a chip number
        ("Halter.Anschrift.Postleitzahl", "10115"),  # not in the town
        ("Hund.Haltungsbeginn", "01.06.2024"),  # dates are exported as ISO dates
        ("Antrag.ErmaessigungBefreiung", "Befreiung"),  # a label, not the choice's value
    ],
)
def test_a_value_the_dialogue_never_exports_is_named(field: str, value: Any) -> None:
    data = exported_after("dog_tax_registration", DOG_TAX_ANSWERS)
    assert list(check("dog_tax_registration", {**data, field: value})) == [field]


def test_without_the_towns_postcodes_any_five_digit_postcode_passes_as_in_the_chat() -> None:
    data = exported_after("dog_tax_registration", DOG_TAX_ANSWERS)
    spec = load_spec("dog_tax_registration")
    other_town = {**data, "Halter.Anschrift.Postleitzahl": "10115"}
    assert validate_submission(spec, other_town, today=TODAY, town_postcodes=None) == []


def test_every_spec_has_what_the_knowledge_service_needs_to_store_it() -> None:
    for form in all_forms():
        spec = load_spec(form)
        assert str(spec.params.get("reference_prefix", "")).isalpha(), form
        assert len({spec_field.export for spec_field in spec.fields}) == len(spec.fields), form
