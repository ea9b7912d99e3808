"""No personal data in the logs of the three processes (DSGVO), at the stack's default level (INFO).

A citizen registers a dog with everything the form asks (name, street, e-mail, chip number, birth
date, IBAN), sends a message starting with "/" that carries an IBAN and a name (Rasa's own parser
warns about it, quoting the line), and asks a question the knowledge base cannot answer, with a
name and a phone number. Then the log files the stack wrote (knowledge.log, actions.log,
rasa.log) must name none of those values, in any casing and also without spaces.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from kumpel_stack.launcher import Stack
from kumpel_stack.testing import Conversation

pytestmark = pytest.mark.integration

NAME = "Erika Mustermann"
STREET = "Ostwall 12"
EMAIL = "erika.mustermann@example.de"
CHIP = "276098100123456"
BIRTH_DATE = "03.04.2024"
IBAN = "DE89 3704 0044 0532 0130 00"
PHONE = "0151 23456789"
PERSONAL_VALUES = (NAME, "Mustermann", STREET, EMAIL, CHIP, BIRTH_DATE, IBAN, PHONE, "Hansi")
LOG_FILES = ("knowledge.log", "actions.log", "rasa.log")


def forms_of(value: str) -> set[str]:
    """The value as written, lower-cased and with its spaces removed: how a log might carry it."""
    return {value, value.lower(), value.replace(" ", ""), value.lower().replace(" ", "")}


def register_a_dog_with_sepa(conversation: Conversation) -> None:
    conversation.say("Ich möchte meinen Hund anmelden")
    assert "Datenschutzhinweis" in conversation.text, conversation.text
    for message, next_question in [
        ("Ja", "Vor- und Nachname"),
        (NAME, "Anschrift"),
        (f"{STREET}, 47798 Krefeld", "E-Mail"),
        (EMAIL, "Wie heißt Ihr Hund"),
        (f"Bello, ein Labrador, Chip {CHIP}", "Landeshundegesetz"),
        ("Nein", "geboren"),
        (BIRTH_DATE, "Seit wann"),
        ("15.11.2026", "bereits zur Hundesteuer angemeldet"),
        ("0", "Ermäßigung oder Befreiung"),
        ("Nein, keine", "SEPA-Lastschrift"),
        ("Ja", "IBAN"),
        (IBAN, "Bitte prüfen Sie Ihre Angaben"),
        ("Ja, absenden", "Aktenzeichen"),
    ]:
        conversation.say(message)
        assert next_question in conversation.text, f"after {message!r}: {conversation.text}"


def unanswered_questions(stack: Stack) -> list[str]:
    with sqlite3.connect(stack.state_dir / "kumpel.db") as db:
        return [row[0] for row in db.execute("SELECT question FROM unanswered_questions")]


def test_no_personal_value_reaches_any_log_file(stack: Stack) -> None:
    register_a_dog_with_sepa(Conversation(stack))

    slash = Conversation(stack)
    for message in (
        f"/meine IBAN {IBAN.replace(' ', '')} {NAME}",
        f'/choose_entry{{"nachname": "{NAME}", "{CHIP}": "x"}}',  # an entity the domain does not know
        f"/choose_entry{{kaputt {NAME}",  # no JSON after the intent
    ):
        slash.say(message)
        assert slash.text  # the citizen still gets an answer

    asking = Conversation(stack)
    asking.say(f"Ich heiße {NAME}, Telefon {PHONE}: darf mein Papagei Hansi auf dem Hausboot im Hafen singen?")
    assert asking.text
    stored = unanswered_questions(stack)
    assert any("Papagei" in question for question in stored), stored  # the question did reach the knowledge service

    leaks = []
    for log_name in LOG_FILES:
        text = (stack.state_dir / log_name).read_text("utf-8", "replace")
        squeezed = re.sub(r"\s+", "", text)
        for value in PERSONAL_VALUES:
            for form in forms_of(value):
                if form in text or form in squeezed or form.lower() in text.lower():
                    leaks.append(f"{log_name}: {form!r}")
    assert not leaks, leaks


def test_the_logs_still_say_what_happened(stack: Stack) -> None:
    """Redaction keeps the lines: Rasa's warning about the "/" message is there, without its text."""
    conversation = Conversation(stack)
    conversation.say(f"/meine IBAN {IBAN.replace(' ', '')} {NAME}")
    rasa_log = (stack.state_dir / "rasa.log").read_text("utf-8", "replace")
    assert "Failed to parse arguments in line '[redacted: 51 chars]'" in rasa_log
