"""Starting a form: the knowledge base must agree; a button always starts it.

The knowledge service is replaced by an httpx transport that records each request; the action
and what it sends and says are the real code under test.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms.start import ActionStartForm, start_payload
from actions.knowledge_client import KnowledgeClient

DOG_SERVICE = {"id": "svc-hundesteuer-anmeldung", "title": "Hund zur Hundesteuer anmelden"}


def answer(decision: str | None, entry_id: str | None = "svc-hundesteuer-anmeldung") -> dict[str, Any]:
    return {
        "status": "answer",
        "text": "Hund zur Hundesteuer anmelden: ...",
        "choices": [],
        "source": {"title": "Hundesteuer", "url": "https://example.org/hundesteuer", "last_reviewed": "2026-10-01"},
        "entry": {"type": "service", "id": entry_id},
        "context": {"service_id": entry_id, "office_id": "off-steueramt"},
        "confidence": 0.95,
        "unanswered": False,
        "form_match": {"decision": decision, "service": DOG_SERVICE} if decision else None,
    }


def action_with(body: dict[str, Any] | None, sent: list[dict[str, Any]]) -> ActionStartForm:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        if body is None:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=body)

    client = KnowledgeClient(base_url="http://kb.test", token="t", transport=httpx.MockTransport(handler))
    return ActionStartForm(client=client)


def run(
    action: ActionStartForm, text: str, confirmed: str | None = None, intent: str = "start_dog_tax_registration"
) -> tuple[CollectingDispatcher, list[Any]]:
    tracker = Tracker(
        sender_id="t1",
        slots={"form_confirmed": confirmed},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )
    dispatcher = CollectingDispatcher()
    return dispatcher, asyncio.run(action.run(dispatcher, tracker, {}))


def test_a_request_to_do_it_about_the_form_service_starts_the_form() -> None:
    sent: list[dict[str, Any]] = []
    dispatcher, events = run(action_with(answer("yes"), sent), "Ich möchte meinen Hund anmelden")
    assert sent[0]["form"] == "dog_tax_registration" and sent[0]["topic"] == "service"
    assert FollowupAction("dog_tax_registration_form") in events
    assert dispatcher.messages == []


def test_a_message_about_another_service_gets_that_answer_and_no_form() -> None:
    dispatcher, events = run(action_with(answer("no", "svc-fahrzeug-abmelden"), []), "kfz anmelden")
    assert FollowupAction("dog_tax_registration_form") not in events
    assert "Quelle:" in dispatcher.messages[0]["text"]
    assert SlotSet("service_id", "svc-fahrzeug-abmelden") in events


def test_without_a_verb_of_doing_the_citizen_is_asked_with_two_buttons() -> None:
    dispatcher, events = run(action_with(answer("yes"), []), "Hundesteuer für einen Hund")
    assert FollowupAction("dog_tax_registration_form") not in events
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == ["Hund jetzt anmelden", "Nur eine Auskunft"]
    assert buttons[0]["payload"] == start_payload("dog_tax_registration")
    assert "svc-hundesteuer-anmeldung" in buttons[1]["payload"]


def assert_answered_with_a_start_button(text: str, form: str = "dog_tax_registration") -> None:
    """A question about the form's service gets the knowledge base's answer (asked with topic "auto",
    so it is the fact asked for) and a button that starts the form; no form yet."""
    sent: list[dict[str, Any]] = []
    dispatcher, events = run(action_with(answer("yes"), sent), text)
    assert FollowupAction(f"{form}_form") not in events, text
    assert sent[0]["topic"] == "auto", text
    (message,) = dispatcher.messages
    assert message["text"].startswith("Hund zur Hundesteuer anmelden: ...") and "Quelle:" in message["text"], text
    assert message["buttons"] == [{"title": "Hund jetzt anmelden", "payload": start_payload(form)}], text
    assert SlotSet("service_id", "svc-hundesteuer-anmeldung") in events, text


def test_a_question_how_it_is_done_is_answered_with_a_button_to_do_it() -> None:
    # "Wie melde ich ... an?" wants to know how, not to start now.
    for text in (
        "Wie melde ich meinen Hund an?",
        "wo melde ich meinen hund an",
        "Welche Unterlagen brauche ich zum Anmelden?",
        "hundesteuer anmelden wo",  # the question word at the end
        "Ich will meinen Hund anmelden, was kostet das?",
        "Wer bekommt die Anmeldung, wenn ich meinen Hund anmelde",  # "wer", without the mark
        "Ich möchte wissen, ob ich meinen Hund anmelden muss",  # a question told as a statement
        "Ich habe eine Frage zur Anmeldung meines Hundes",
    ):
        assert_answered_with_a_start_button(text)


def test_a_question_whether_it_can_or_must_be_done_is_answered_with_a_button_to_do_it() -> None:
    for text in (
        "Kann ich die Anmeldung zur Hundesteuer auch per Mail schicken?",
        "Muss man einen Hund aus dem Tierheim anmelden?",
        "Geht die Anmeldung auch per Post?",
        "Muss der Hund angemeldet werden?",  # another subject than ich/man/wir, with the question mark
        "Ich habe einen Welpen bekommen, muss der angemeldet werden?",  # the question in the second clause
        "Unser Hund ist gestorben. Muss ich ihn anmelden",  # modal verb and "ich", without the mark
        "Was passiert, wenn ich meinen Hund nicht anmelde",  # "was" opening a clause
        "Hund anmelden Pflicht?",
        "Wenn ich meinen Hund anmelde, bekomme ich dann Geld zurück?",
    ):
        assert_answered_with_a_start_button(text)


def test_a_kind_of_fact_named_without_a_question_is_asked_back_with_both_buttons() -> None:
    for text in ("Hundesteuer anmelden Unterlagen", "Hund anmelden Nachweis Tierarzt", "Hundesteuer anmelden Strafe"):
        sent: list[dict[str, Any]] = []
        dispatcher, events = run(action_with(answer("yes"), sent), text)
        assert FollowupAction("dog_tax_registration_form") not in events, text
        assert sent[0]["topic"] == "service", text
        assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["Hund jetzt anmelden", "Nur eine Auskunft"]


def test_a_request_to_do_it_here_and_now_starts_the_form() -> None:
    for text in (
        "Kann ich meinen Hund hier im Chat anmelden?",
        "Können Sie meinen Hund anmelden?",
        "Bitte meinen Hund anmelden, wir haben ihn seit gestern.",
    ):
        dispatcher, events = run(action_with(answer("yes"), []), text)
        assert FollowupAction("dog_tax_registration_form") in events, text
        assert dispatcher.messages == []


def run_water_meter(body: dict[str, Any], text: str) -> tuple[CollectingDispatcher, list[Any]]:
    """The water-meter form: its service has no LeiKa key, so the knowledge base sends no form match."""
    return run(action_with(body, []), text, intent="start_water_meter_reading")


def test_a_form_the_knowledge_base_cannot_check_starts_on_a_request_to_do_it() -> None:
    body = {**answer(None, "svc-wasserzaehler"), "form_match": None}
    dispatcher, events = run_water_meter(body, "Ich möchte meinen Zählerstand melden")
    assert FollowupAction("water_meter_reading_form") in events
    assert dispatcher.messages == []


def test_a_question_how_an_unchecked_form_is_done_is_answered_with_a_button_to_do_it() -> None:
    # "Wie gebe ich ... durch?" started the water-meter form with its privacy notice.
    body = {**answer(None, "svc-wasserzaehler"), "form_match": None}
    dispatcher, events = run_water_meter(body, "Wie gebe ich den Stand meiner Wasseruhr durch?")
    assert FollowupAction("water_meter_reading_form") not in events
    (message,) = dispatcher.messages
    assert "Quelle:" in message["text"]
    assert message["buttons"] == [
        {"title": "Zählerstand jetzt melden", "payload": start_payload("water_meter_reading")}
    ]
    # Without an answer of the knowledge base there is nothing to inform about: only the start button.
    unknown = {**body, "status": "unknown", "entry": None}
    dispatcher, events = run_water_meter(unknown, "Wann muss ich den Zählerstand melden?")
    assert FollowupAction("water_meter_reading_form") not in events
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["Zählerstand jetzt melden"]


def test_a_button_starts_the_form_without_asking_the_knowledge_base() -> None:
    sent: list[dict[str, Any]] = []
    _, events = run(action_with(answer("no"), sent), "/start_dog_tax_registration")
    _, confirmed = run(action_with(answer("no"), sent), "Hund jetzt anmelden", confirmed="dog_tax_registration")
    assert sent == []
    assert (
        FollowupAction("dog_tax_registration_form") in events
        and FollowupAction("dog_tax_registration_form") in confirmed
    )


def test_the_form_starts_when_the_knowledge_service_is_down() -> None:
    _, events = run(action_with(None, []), "Ich möchte meinen Hund anmelden")
    assert FollowupAction("dog_tax_registration_form") in events
