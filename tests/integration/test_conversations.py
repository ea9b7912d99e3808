"""Conversations with the real trained bot over the REST channel, as a citizen would have them."""

from __future__ import annotations

import re
import sqlite3

import pytest

from kumpel_stack.testing import Conversation

pytestmark = pytest.mark.integration

CITATION = re.compile(r"Quelle: .+ – https?://\S+ \(Stand: \d\d\.\d\d\.\d{4}\)")


def kumpel_payload(conversation: Conversation) -> dict:
    payloads = [c["kumpel"] for c in conversation.custom if "kumpel" in c]
    assert payloads, f"no machine-readable payload in {conversation.last}"
    return payloads[-1]


def test_opening_hours_of_the_buergerbuero_come_from_the_knowledge_base(conversation: Conversation) -> None:
    conversation.say("Wann hat das Bürgerbüro geöffnet?")
    assert "Bürgerbüro" in conversation.text
    assert re.search(r"\d{1,2}:\d\d Uhr", conversation.text), conversation.text
    assert CITATION.search(conversation.text), conversation.text
    payload = kumpel_payload(conversation)
    assert payload["entry"]["type"] == "office"
    assert payload["source"]["url"].startswith("http")


def test_question_without_umlauts_and_in_du_form_finds_the_same_office(conversation: Conversation) -> None:
    conversation.say("Wann hat das Bürgerbüro geöffnet?")
    office = kumpel_payload(conversation)["entry"]["id"]
    other = Conversation(conversation.stack)
    other.say("wann hat das buergerbuero offen")
    assert kumpel_payload(other)["entry"]["id"] == office


def test_follow_up_about_saturday_keeps_the_office(conversation: Conversation) -> None:
    conversation.say("Wann hat das Bürgerbüro geöffnet?")
    office = kumpel_payload(conversation)["entry"]["id"]
    conversation.say("Und am Samstag?")
    assert "Samstag" in conversation.text, conversation.text
    assert kumpel_payload(conversation)["entry"]["id"] == office


def test_fee_follow_up_stays_with_the_service(conversation: Conversation) -> None:
    conversation.say("Was brauche ich für einen neuen Personalausweis?")
    service = kumpel_payload(conversation)["entry"]
    assert service["type"] == "service"
    conversation.say("Und was kostet das?")
    assert re.search(r"\d+,\d\d\s?(Euro|EUR|€)", conversation.text), conversation.text
    assert kumpel_payload(conversation)["entry"]["id"] == service["id"]
    assert CITATION.search(conversation.text)


def test_greeting_and_help_explain_what_the_bot_does(conversation: Conversation) -> None:
    conversation.say("Hallo")
    assert "Kumpel" in conversation.text
    conversation.say("Was kannst du alles?")
    assert "Hundesteuer" in conversation.text or "Hund" in conversation.text
    assert conversation.buttons


def test_the_bot_says_it_is_a_bot(conversation: Conversation) -> None:
    conversation.say("Bist du ein Mensch?")
    assert "Chatbot" in conversation.text and "115" in conversation.text


def test_out_of_scope_is_declined_honestly_without_a_made_up_source(conversation: Conversation) -> None:
    conversation.say("Wie wird das Wetter morgen in Krefeld?")
    assert "Quelle:" not in conversation.text
    assert "115" in conversation.text


def test_a_refusal_is_recorded_for_the_staff(conversation: Conversation) -> None:
    conversation.say("Wer gewinnt die Champions League?")
    assert "Dabei kann ich leider nicht helfen" in conversation.text
    with sqlite3.connect(conversation.stack.state_dir / "kumpel.db") as db:
        recorded = [row[0] for row in db.execute("SELECT question FROM unanswered_questions")]
    assert "Wer gewinnt die Champions League?" in recorded


@pytest.mark.parametrize(
    ("message", "entry_id"),
    [
        ("Ich möchte Deutscher werden", "svc-einbuergerung"),
        ("Unser Sohn braucht zum ersten Mal einen Pass", "svc-reisepass"),
    ],
)
def test_the_knowledge_base_answers_what_the_nlu_took_for_small_talk(
    conversation: Conversation, message: str, entry_id: str
) -> None:
    conversation.say(message)
    assert "Dabei kann ich leider nicht helfen" not in conversation.text
    if kumpel_payload(conversation)["status"] == "clarify":
        # "Pass" written out no longer overrides a likelier candidate (the children's passport FAQ):
        # the citizen gets the choice, one click away, not a refusal.
        assert any(entry_id in button["payload"] for button in conversation.buttons), conversation.text
        return
    assert CITATION.search(conversation.text)
    assert kumpel_payload(conversation)["entry"]["id"] == entry_id


def test_likely_candidates_are_offered_with_a_plain_word_on_what_else_to_do(conversation: Conversation) -> None:
    conversation.say("Ich will mein altes Fahrrad loswerden")  # the NLU takes it for out of scope
    assert "Meinten Sie" in conversation.text
    assert any("svc-sperrmuell" in button["payload"] for button in conversation.buttons)
    assert "Wenn nichts davon passt" in conversation.text and "115" in conversation.text


@pytest.mark.parametrize(
    "message",
    [
        "",
        "x" * 10_000,
        "<script>alert('x')</script> Wann hat das Bürgerbüro offen?",
        "'; DROP TABLE services; --",
        "🐶🐶🐶",
    ],
    ids=["empty", "10000-chars", "html-script", "sql", "emoji"],
)
def test_odd_input_gets_a_polite_german_reply(conversation: Conversation, message: str) -> None:
    conversation.say(message)
    if message:  # Rasa's REST channel answers an empty message with no reply at all; nothing must break
        assert conversation.text.strip(), conversation.last
        assert "Traceback" not in conversation.text
    conversation.say("Wann hat das Bürgerbüro geöffnet?")
    assert "Bürgerbüro" in conversation.text


def test_a_message_arriving_twice_is_answered_twice_the_same(conversation: Conversation) -> None:
    first = conversation.say("Was kostet ein Reisepass?")
    second = conversation.say("Was kostet ein Reisepass?")
    assert [m.get("text") for m in first] == [m.get("text") for m in second]


def test_a_follow_up_after_a_question_back_offers_the_same_choices(conversation: Conversation) -> None:
    conversation.say("Ich habe eine Frage zu meinem Gewerbe")  # anmelden, ummelden or abmelden?
    first = [button["title"] for button in conversation.buttons]
    # The trade services come first; a third choice may be the general "Was ist die 115?" FAQ.
    assert sum("Gewerbe" in title for title in first[:2]) == 2, conversation.text
    conversation.say("Und wie ist die Telefonnummer?")
    assert [button["title"] for button in conversation.buttons] == first
    conversation.say(conversation.buttons[0]["payload"])
    assert "Telefon" in conversation.text and CITATION.search(conversation.text)


def test_after_starting_a_form_a_follow_up_is_about_its_service(conversation: Conversation) -> None:
    conversation.say("Ich möchte meinen Hund anmelden")
    assert "Datenschutzhinweis" in conversation.text
    conversation.say("Nein")  # no consent: the form ends without data
    conversation.say("Was kostet das?")
    assert "111,32 EUR" in conversation.text, conversation.text


def test_the_greeting_names_the_town_of_the_knowledge_base(conversation: Conversation) -> None:
    conversation.say("Hallo")
    assert "Kumpel, der digitale Assistent für die Stadtverwaltung Krefeld" in conversation.text


def test_a_question_about_access_gets_the_offices_accessibility(conversation: Conversation) -> None:
    conversation.say("Komme ich mit dem Rollstuhl ins Bürgerbüro?")
    assert "Barrierefreiheit (Bürgerbüro im Rathaus): Stufenloser Zugang zum Rathaus, Aufzug vorhanden." in (
        conversation.text
    ), conversation.text
    assert CITATION.search(conversation.text), conversation.text
    conversation.say("Und wann hat es geöffnet?")
    assert re.search(r"\d{1,2}:\d\d Uhr", conversation.text), conversation.text
