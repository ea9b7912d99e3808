"""Chat forms with the real trained bot over the REST channel, as a citizen would fill them in.

The submission lands in the stack's real knowledge service; the tests read its database to check
the record a form leaves (exactly one, complete, with the reference the citizen was shown).
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

import pytest

from kumpel_stack.testing import Conversation

pytestmark = pytest.mark.integration

REFERENCE = re.compile(r"\b(HST|HSA|WZS)-\d{4}-\d{6}\b")


def records(conversation: Conversation) -> list[dict[str, Any]]:
    """Submissions stored by the stack's knowledge service (its SQLite file in the state folder)."""
    path = conversation.stack.state_dir / "kumpel.db"
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT reference, form, idempotency_key, data FROM submissions").fetchall()
    return [
        {"reference": r[0], "form": r[1], "key": r[2], "data": json.loads(r[3])}
        for r in rows
        if r[2].startswith(conversation.sender + ":")
    ]


def start_dog_tax(conversation: Conversation) -> None:
    conversation.say("Ich möchte meinen Hund anmelden")
    assert "Datenschutzhinweis" in conversation.text, conversation.text
    assert [b["payload"] for b in conversation.buttons] == ["Ja", "Nein"]
    conversation.say("Ja")
    assert "Vor- und Nachname" in conversation.text, conversation.text


def fill_until_summary(conversation: Conversation) -> None:
    start_dog_tax(conversation)
    for message, next_question in [
        ("Erika Mustermann", "Anschrift"),
        ("Ostwall 12, 47798 Krefeld", "E-Mail"),
        ("erika@example.de", "Wie heißt Ihr Hund"),
        ("Bello, ein Labrador, Chip 276098100123456", "Landeshundegesetz"),
        ("Nein", "geboren"),
        ("03.04.2024", "Seit wann"),
        ("15.11.2026", "bereits zur Hundesteuer angemeldet"),
        ("0", "Ermäßigung oder Befreiung"),
        ("Nein, keine", "SEPA-Lastschrift"),
        ("Nein", "Bitte prüfen Sie Ihre Angaben"),
    ]:
        conversation.say(message)
        assert next_question in conversation.text, f"after {message!r}: {conversation.text}"


def test_happy_path_stores_one_complete_record_and_shows_its_reference(conversation: Conversation) -> None:
    fill_until_summary(conversation)
    summary = conversation.text
    for value in (
        "Erika Mustermann",
        "Ostwall 12",
        "47798",
        "Bello",
        "Labrador",
        "276098100123456",
        "03.04.2024",
        "15.11.2026",
    ):
        assert value in summary
    assert "111,32 EUR" in summary and "Quelle:" in summary
    conversation.say("Ja, absenden")
    match = REFERENCE.search(conversation.text)
    assert match and match.group(1) == "HST", conversation.text
    [record] = records(conversation)
    assert record["reference"] == match.group(0)
    assert record["form"] == "dog_tax_registration"
    assert record["data"]["Hund.Transpondernummer"] == "276098100123456"
    assert record["data"]["Halter.Kommunikation.EMail"] == "erika@example.de"
    assert record["data"]["Hund.Haltungsbeginn"] == "2026-11-15"
    assert "Zahlung.IBAN" not in record["data"]


def test_every_validation_branch_reprompts_politely_and_stores_nothing_wrong(conversation: Conversation) -> None:
    start_dog_tax(conversation)
    conversation.say("Erika Mustermann")
    conversation.say("Ostwall 12, 47051 Duisburg")
    assert "47051 liegt nicht in Krefeld" in conversation.text, conversation.text
    assert "Postleitzahl" in conversation.text
    conversation.say("47798")
    conversation.say("keine")
    conversation.say("Bello, ein Dackel")
    conversation.say("nein")
    assert "geboren" in conversation.text
    conversation.say("31.02.2024")
    assert "gibt es nicht im Kalender" in conversation.text, conversation.text
    conversation.say("01.05.2027")
    assert "Zukunft" in conversation.text, conversation.text
    conversation.say("03.04.2024")
    conversation.say("01.03.2024")
    assert "vor seiner Geburt" in conversation.text, conversation.text
    conversation.say("01.09.2026")
    assert "zwei Wochen" in conversation.text and "Frist" in conversation.text, conversation.text
    assert "Chipnummer" in conversation.text
    conversation.say("27609810012345")
    assert "14 Ziffern" in conversation.text and "15 Ziffern" in conversation.text, conversation.text
    conversation.say("276098100123456")
    conversation.say("1")
    conversation.say("keine")
    conversation.say("Ja")
    assert "IBAN" in conversation.text
    conversation.say("DE89 3704 0044 0532 0130 01")
    assert "IBAN ist ungültig" in conversation.text, conversation.text
    conversation.say("DE89 3704 0044 0532 0130 00")
    assert "Bitte prüfen Sie Ihre Angaben" in conversation.text
    assert "DE89 **** **** **** **** 00" in conversation.text
    assert "129,47 EUR" in conversation.text  # the second dog in the household
    assert records(conversation) == []


def test_correction_in_words_asks_again_and_the_record_has_the_new_value(conversation: Conversation) -> None:
    fill_until_summary(conversation)
    conversation.say("Die Chipnummer ist falsch")
    assert "Chipnummer" in conversation.text and "15-stellige" in conversation.text, conversation.text
    conversation.say("276098100654321")
    assert "Bitte prüfen Sie Ihre Angaben" in conversation.text and "276098100654321" in conversation.text
    conversation.say("Der Name des Hundes ist falsch, er heißt Rex")
    assert "Name des Hundes: Rex" in conversation.text, conversation.text
    conversation.say("Ja")
    [record] = records(conversation)
    assert record["data"]["Hund.Transpondernummer"] == "276098100654321"
    assert record["data"]["Hund.Name"] == "Rex"


@pytest.mark.parametrize("stop_word", ["abbrechen", "Stopp"])
def test_cancel_in_the_middle_discards_everything(conversation: Conversation, stop_word: str) -> None:
    start_dog_tax(conversation)
    conversation.say("Erika Mustermann")
    conversation.say(stop_word)
    assert "abgebrochen" in conversation.text, conversation.text
    conversation.say("Wann hat das Bürgerbüro geöffnet?")
    # Out of the form: the question goes to the knowledge actions (an answer, or their polite
    # "knowledge base unavailable" on an overloaded machine), not into the form's next field.
    assert "Bürgerbüro" in conversation.text or "Wissensdatenbank" in conversation.text, conversation.text
    assert "Anschrift" not in conversation.text and "Hundesteuer-Anmeldung" not in conversation.text
    assert records(conversation) == []


def test_cancel_at_the_summary_stores_nothing(conversation: Conversation) -> None:
    fill_until_summary(conversation)
    conversation.say("abbrechen")
    assert "abgebrochen" in conversation.text
    conversation.say("Ja")
    assert not REFERENCE.search(conversation.text)
    assert records(conversation) == []


def test_declined_consent_asks_no_personal_question(conversation: Conversation) -> None:
    conversation.say("Ich möchte meinen Hund anmelden")
    conversation.say("Nein")
    assert "Einwilligung" in conversation.text and "hundesteuer@krefeld.de" in conversation.text
    assert "Name" not in conversation.text


def test_a_knowledge_question_is_answered_and_the_form_resumes_at_the_same_question(conversation: Conversation) -> None:
    start_dog_tax(conversation)
    conversation.say("Erika Mustermann")
    assert "Anschrift" in conversation.text
    conversation.say("Wann hat das Bürgerbüro offen?")
    assert "Bürgerbüro" in conversation.text and re.search(r"\d{1,2}:\d\d Uhr", conversation.text), conversation.text
    assert "Quelle:" in conversation.text
    assert "Anschrift in Krefeld" in conversation.text  # the same question again
    conversation.say("Ostwall 12, 47798 Krefeld")
    assert "E-Mail" in conversation.text


def test_a_duplicated_message_fills_one_field_and_a_duplicated_confirmation_stores_once(
    conversation: Conversation,
) -> None:
    start_dog_tax(conversation)
    conversation.say("Erika Mustermann")
    conversation.say("Erika Mustermann")  # sent twice (double click, network retry)
    conversation.say("Ostwall 12")
    assert "Postleitzahl" in conversation.text, conversation.text
    conversation.say("47798")
    for message in [
        "keine",
        "Bello, ein Labrador, Chip 276098100123456",
        "Nein",
        "unbekannt",
        "15.11.2026",
        "0",
        "keine",
        "Nein",
    ]:
        conversation.say(message)
    assert "Bitte prüfen Sie Ihre Angaben" in conversation.text, conversation.text
    conversation.say("Ja")
    first = REFERENCE.search(conversation.text)
    conversation.say("Ja")
    assert first and not REFERENCE.search(conversation.text)
    [record] = records(conversation)
    assert record["reference"] == first.group(0)
    assert record["data"]["Halter.Anschrift.StrasseHausnummer"] == "Ostwall 12"
    assert record["data"]["Hund.Geburtsdatum"] == ""


def test_dog_tax_deregistration_is_a_spec_only_form(conversation: Conversation) -> None:
    conversation.say("Ich möchte meinen Hund abmelden")
    assert "Datenschutzhinweis" in conversation.text, conversation.text
    for message in ["Ja", "Max Muster", "Dionysiusstraße 5, 47798 Krefeld", "Bello", "Marke 4711", "verstorben"]:
        conversation.say(message)
    conversation.say("01.11.2026")
    assert "Bitte prüfen Sie Ihre Angaben zur Hundesteuer-Abmeldung" in conversation.text, conversation.text
    conversation.say("Ja")
    match = REFERENCE.search(conversation.text)
    assert match and match.group(1) == "HSA"
    [record] = records(conversation)
    assert record["data"]["Abmeldung.Grund"] == "verstorben" and record["data"]["Hund.Steuermarkennummer"] == "4711"


def test_water_meter_reading_is_a_spec_only_form(conversation: Conversation) -> None:
    conversation.say("Ich möchte meinen Zählerstand melden")
    assert "Datenschutzhinweis" in conversation.text, conversation.text
    for message in ["Ja", "Max Muster", "Dionysiusstraße 5, 47798 Krefeld", "Zählernummer 18-447321, Stand 1234,5"]:
        conversation.say(message)
    assert "abgelesen" in conversation.text, conversation.text
    conversation.say("heute")
    assert "1234,5 m³" in conversation.text, conversation.text
    conversation.say("Ja")
    match = REFERENCE.search(conversation.text)
    assert match and match.group(1) == "WZS"
    [record] = records(conversation)
    assert record["data"]["Zaehler.Stand"] == "1234.5" and record["data"]["Zaehler.Nummer"] == "18447321"


@pytest.mark.parametrize(
    "bad",
    ["<script>alert('x')</script>", "'; DROP TABLE submissions; --", "🐶🐶🐶", "R2D2"],
)
def test_bad_input_in_a_form_gets_a_polite_answer_and_the_same_question(conversation: Conversation, bad: str) -> None:
    start_dog_tax(conversation)
    conversation.say(bad)
    assert conversation.last, "no answer"
    assert "Vor- und Nachname" in conversation.text, conversation.text
    assert "<script>" not in conversation.text
    conversation.say("Erika Mustermann")
    assert "Anschrift" in conversation.text
    assert records(conversation) == []


def test_an_overlong_answer_in_a_form_is_refused_and_the_form_goes_on(conversation: Conversation) -> None:
    start_dog_tax(conversation)
    conversation.say("x" * 10_000)
    assert "zu lang" in conversation.text, conversation.text
    conversation.say("Erika Mustermann")
    assert "Anschrift" in conversation.text, conversation.text
    assert records(conversation) == []


@pytest.mark.parametrize(
    ("message", "entry_id"),
    [
        ("kfz abmelden", "svc-fahrzeug-abmelden"),
        ("eheschliesung anmelden", "svc-eheschliessung-anmelden"),
    ],
)
def test_a_start_word_about_another_service_answers_it_and_starts_no_form(
    conversation: Conversation, message: str, entry_id: str
) -> None:
    conversation.say(message)
    assert "Datenschutzhinweis" not in conversation.text, conversation.text
    payloads = [c["kumpel"] for c in conversation.custom if "kumpel" in c]
    assert payloads, conversation.text
    if payloads[-1]["status"] == "clarify":  # a misspelt start word may be asked back, with its service offered
        assert any(entry_id in button["payload"] for button in conversation.buttons), conversation.buttons
    else:
        assert payloads[-1]["entry"]["id"] == entry_id
    conversation.say("Ja")  # would be the consent if a form had started
    assert not records(conversation)


def test_an_unclear_start_asks_once_and_the_button_starts_the_form(conversation: Conversation) -> None:
    conversation.say("Hundesteuer für einen Hund")
    assert "Datenschutzhinweis" not in conversation.text
    titles = [button["title"] for button in conversation.buttons]
    assert titles == ["Hund jetzt anmelden", "Nur eine Auskunft"]
    conversation.say(conversation.buttons[0]["payload"])
    assert "Datenschutzhinweis" in conversation.text, conversation.text


def test_a_question_how_the_water_meter_is_reported_starts_no_form(conversation: Conversation) -> None:
    # The water-meter form has no LeiKa-keyed service to check its start against; the question how still
    # wants to know first. The start button then starts the form.
    conversation.say("Wie gebe ich den Stand meiner Wasseruhr durch?")
    assert "Datenschutzhinweis" not in conversation.text, conversation.text
    start = [b for b in conversation.buttons if b["title"] == "Zählerstand jetzt melden"]
    assert start, conversation.buttons
    conversation.say(start[0]["payload"])
    assert "Datenschutzhinweis" in conversation.text, conversation.text


def test_a_question_whether_the_registration_can_be_mailed_starts_no_form(conversation: Conversation) -> None:
    # A yes/no question about the way ("auch per Mail") wants to know first; it started the form before.
    conversation.say("Kann ich die Anmeldung zur Hundesteuer auch per Mail schicken?")
    assert "Datenschutzhinweis" not in conversation.text, conversation.text
    assert "Hund jetzt anmelden" in [b["title"] for b in conversation.buttons], conversation.buttons


def test_the_information_button_answers_about_the_service_without_a_form(conversation: Conversation) -> None:
    conversation.say("Hundesteuer für einen Hund")
    conversation.say(conversation.buttons[1]["payload"])
    assert "Datenschutzhinweis" not in conversation.text
    assert "Hundesteuer" in conversation.text and "Quelle:" in conversation.text


def test_an_iban_typed_to_the_sepa_question_is_taken_as_yes_and_not_asked_again(conversation: Conversation) -> None:
    start_dog_tax(conversation)
    for message, next_question in [
        ("Erika Mustermann", "Anschrift"),
        ("Ostwall 12, 47798 Krefeld", "E-Mail"),
        ("keine", "Wie heißt Ihr Hund"),
        ("Bello, ein Labrador, Chip 276098100123456", "Landeshundegesetz"),
        ("Nein", "geboren"),
        ("unbekannt", "Seit wann"),
        ("15.11.2026", "bereits zur Hundesteuer angemeldet"),
        ("0", "Ermäßigung oder Befreiung"),
        ("Nein, keine", "SEPA-Lastschrift"),
    ]:
        conversation.say(message)
        assert next_question in conversation.text, f"after {message!r}: {conversation.text}"
    conversation.say("DE89 3704 0044 0532 0130 00")  # the citizen answers the yes/no question with the IBAN
    assert "Bitte prüfen Sie Ihre Angaben" in conversation.text, conversation.text
    assert "SEPA-Lastschrift: Ja" in conversation.text and "DE89 **** **** **** **** 00" in conversation.text
    assert "Wie lautet Ihre IBAN" not in conversation.text
    conversation.say("Ja")
    assert REFERENCE.search(conversation.text), conversation.text
    [record] = records(conversation)
    assert record["data"]["Zahlung.SEPALastschriftmandat"] is True
    assert record["data"]["Zahlung.IBAN"] == "DE89370400440532013000"
