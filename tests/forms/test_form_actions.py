"""The Rasa actions of the forms: what they send to the knowledge service and what the citizen reads.

The knowledge service (another process) is replaced by an httpx transport that behaves like its
API and records requests; the actions and the engine are the real code under test.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.forms.actions import (  # type: ignore[attr-defined]  # Validate*Form: made from the specs at import
    ActionFinishForm,
    ValidateDogTaxRegistrationForm,
    ValidateWaterMeterReadingForm,
)
from actions.forms.engine import CONFIRM
from actions.knowledge_client import KnowledgeClient

LOOP = "dog_tax_registration_form"
STARTED_AT = 1_763_750_000.25


KREFELD = {
    "town": "die Stadtverwaltung Krefeld",
    "state": "NW",
    "city": "Krefeld",
    "postcodes": ["47798", "47799", "47800", "47802", "47803", "47804", "47805", "47807", "47809", "47829", "47839"],
    "email": "hundesteuer@krefeld.de",
    "office": "die Abteilung Steuern und Abgaben",
}


class FakeKnowledgeService:
    """Answers like the knowledge service's API; stores submissions once per Idempotency-Key.

    ``requests`` records what the actions send; the town look-ups (``GET /api/v1/forms/<form>/town``,
    read when a form starts) are recorded apart in ``town_requests``. ``town``: what the seed says.
    """

    def __init__(self, down: bool = False, town: dict[str, Any] | None = None) -> None:
        self.down = down
        self.town = KREFELD if town is None else town
        self.requests: list[httpx.Request] = []
        self.town_requests: list[httpx.Request] = []
        self.stored: dict[str, dict[str, Any]] = {}
        self.form_events: list[dict[str, Any]] = []  # started / cancelled, for the dashboard

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/events/form" and not self.down:
            self.form_events.append(json.loads(request.content))
            return httpx.Response(204)
        is_town = request.url.path.startswith("/api/v1/forms/") and request.url.path.endswith("/town")
        (self.town_requests if is_town else self.requests).append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if is_town:
            return httpx.Response(200, json=self.town)
        body = json.loads(request.content or b"{}")
        if request.url.path == "/api/v1/answer":
            return httpx.Response(
                200,
                json={
                    "status": "answer",
                    "text": "Das Bürgerbüro hat heute bis 18:00 Uhr geöffnet.",
                    "choices": [{"type": "office", "id": "off-x", "title": "X"}],
                    "source": {
                        "title": "Bürgerbüro Krefeld",
                        "url": "https://www.krefeld.de/bb",
                        "last_reviewed": "2026-10-01",
                    },
                    "entry": {"type": "office", "id": "off-buergerbuero"},
                    "context": {"service_id": None, "office_id": "off-buergerbuero"},
                    "confidence": 0.9,
                },
            )
        if request.url.path == "/api/v1/submissions/estimate":
            return httpx.Response(
                200, json={"text": "Voraussichtliche Hundesteuer für einen Hund: 111,32 EUR im Jahr."}
            )
        if request.url.path == "/api/v1/submissions":
            key = request.headers["Idempotency-Key"]
            if key in self.stored:
                return httpx.Response(200, json=self.stored[key]["response"])
            response = {"reference": f"HST-2026-{len(self.stored) + 1:06d}", "form": body["form"], "created_at": "x"}
            self.stored[key] = {"response": response, "data": body["data"]}
            return httpx.Response(201, json=response)
        return httpx.Response(404, json={"detail": "not found"})


def client_for(service: FakeKnowledgeService) -> KnowledgeClient:
    return KnowledgeClient(base_url="http://knowledge.test", token="t", transport=httpx.MockTransport(service))


def tracker(
    text: str,
    *,
    slots: dict[str, Any] | None = None,
    active: bool = True,
    intent: str = "nlu_fallback",
    confidence: float = 0.4,
    loop: str = LOOP,
) -> Tracker:
    events = [
        {"event": "user", "text": "Ich möchte meinen Hund anmelden", "timestamp": STARTED_AT - 1},
        {"event": "active_loop", "name": loop, "timestamp": STARTED_AT},
        {"event": "user", "text": text, "timestamp": STARTED_AT + 60},
    ]
    return Tracker(
        sender_id="citizen-42",
        slots=slots or {},
        latest_message={"text": text, "intent": {"name": intent, "confidence": confidence}},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": loop} if active else {},
        latest_action_name="action_listen",
    )


def run(action: Any, track: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, track, {}))
    return dispatcher.messages, events


def slot(events: list[Any], name: str) -> Any:
    values = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name]
    assert values, f"{name} not set in {events}"
    return values[-1]


def state_at(pending: str, **values: Any) -> dict[str, Any]:
    return {
        "form": "dog_tax_registration",
        "values": {"privacy_consent": True, **values},
        "pending": pending,
        "last_text": "",
        "last_at": 0.0,
    }


FULL = {
    "owner_name": "Erika Mustermann",
    "owner_street": "Ostwall 12",
    "owner_postcode": "47798",
    "owner_email": "",
    "dog_name": "Bello",
    "dog_breed": "Labrador",
    "dog_dangerous": False,
    "dog_birth_date": "2024-04-03",
    "dog_joined_date": "2026-11-01",
    "dog_chip": "276098100123456",
    "dogs_already_registered": 0,
    "tax_relief": "keine",
    "sepa_mandate": False,
}


def test_activation_starts_a_fresh_form_even_if_an_old_state_is_left() -> None:
    service = FakeKnowledgeService()
    old = state_at("dog_chip", owner_name="Someone Else")
    messages, events = run(
        ValidateDogTaxRegistrationForm(client_for(service)),
        tracker("Ich möchte meinen Hund anmelden", slots={"form_data": old}, active=False),
    )
    state = slot(events, "form_data")
    assert state["values"] == {} and state["pending"] == "privacy_consent"
    assert slot(events, "requested_slot") == "form_status"
    assert len(messages) == 1 and "Datenschutzhinweis" in messages[0]["text"]
    assert service.requests == []


def test_a_value_fills_the_form_and_the_next_question_is_asked_with_buttons() -> None:
    service = FakeKnowledgeService()
    messages, events = run(
        ValidateDogTaxRegistrationForm(client_for(service)),
        tracker(
            "Bello, ein Labrador, Chip 276098100123456",
            slots={
                "form_data": state_at(
                    "dog_name", **{k: FULL[k] for k in ("owner_name", "owner_street", "owner_postcode", "owner_email")}
                )
            },
        ),
    )
    state = slot(events, "form_data")
    assert state["values"]["dog_chip"] == "276098100123456" and state["pending"] == "dog_dangerous"
    assert slot(events, "requested_slot") == "form_status"
    assert "Landeshundegesetz" in messages[-1]["text"]
    assert [b["payload"] for b in messages[-1]["buttons"]] == ["Ja", "Nein"]


def test_a_knowledge_question_is_answered_and_the_form_is_not_rejected() -> None:
    service = FakeKnowledgeService()
    before = state_at("owner_street", owner_name="Erika Mustermann")
    messages, events = run(
        ValidateDogTaxRegistrationForm(client_for(service)),
        tracker(
            "Wann hat das Bürgerbüro offen?", slots={"form_data": before}, intent="ask_opening_hours", confidence=0.95
        ),
    )
    texts = [m.get("text") or "" for m in messages]
    assert any("18:00 Uhr" in t and "Quelle: Bürgerbüro Krefeld" in t for t in texts)
    assert texts[-2].startswith("Weiter mit Ihrer Hundesteuer-Anmeldung")
    assert "Anschrift in Krefeld" in texts[-1]  # the same question again
    assert not any(m.get("buttons") for m in messages)
    sent = json.loads(service.requests[0].content)
    assert sent["topic"] == "opening_hours" and sent["question"] == "Wann hat das Bürgerbüro offen?"
    assert slot(events, "form_data")["pending"] == "owner_street"
    assert slot(events, "requested_slot") == "form_status"


def test_the_knowledge_service_down_during_a_question_still_keeps_the_form() -> None:
    _, events = run(
        ValidateDogTaxRegistrationForm(client_for(FakeKnowledgeService(down=True))),
        tracker("Wann hat das Bürgerbüro offen?", slots={"form_data": state_at("owner_street")}),
    )
    assert slot(events, "requested_slot") == "form_status"


def test_confirming_the_summary_ends_the_form_as_confirmed() -> None:
    _, events = run(
        ValidateDogTaxRegistrationForm(client_for(FakeKnowledgeService())),
        tracker("Ja, absenden", slots={"form_data": state_at(CONFIRM, **FULL)}, intent="affirm", confidence=0.99),
    )
    assert slot(events, "form_status") == "confirmed"
    assert slot(events, "requested_slot") is None


def test_cancelling_forgets_the_data_at_once() -> None:
    messages, events = run(
        ValidateDogTaxRegistrationForm(client_for(FakeKnowledgeService())),
        tracker("abbrechen", slots={"form_data": state_at("dog_chip", owner_name="Erika Mustermann")}, intent="stop"),
    )
    assert slot(events, "form_status") == "cancelled"
    assert slot(events, "form_data") is None and slot(events, "requested_slot") is None
    assert "abgebrochen" in messages[0]["text"]


def summary_turn(service: FakeKnowledgeService) -> list[dict[str, Any]]:
    before = {k: v for k, v in FULL.items() if k != "sepa_mandate"}
    messages, _ = run(
        ValidateDogTaxRegistrationForm(client_for(service)),
        tracker("Nein", slots={"form_data": state_at("sepa_mandate", **before)}, intent="deny", confidence=0.99),
    )
    return messages


def test_the_summary_shows_every_value_and_the_estimate_from_the_knowledge_service() -> None:
    service = FakeKnowledgeService()
    text = summary_turn(service)[-1]["text"]
    for expected in ("Erika Mustermann", "Ostwall 12", "276098100123456", "03.04.2024", "111,32 EUR"):
        assert expected in text
    estimate_request = json.loads(service.requests[0].content)
    assert estimate_request["data"]["Hund.GefaehrlicherHund"] is False
    assert estimate_request["data"]["Haushalt.AnzahlAngemeldeteHunde"] == 0


def test_the_summary_without_the_knowledge_service_has_no_invented_amount() -> None:
    text = summary_turn(FakeKnowledgeService(down=True))[-1]["text"]
    assert "EUR" not in text and "Bescheid" in text and "276098100123456" in text


def finished(service: FakeKnowledgeService) -> tuple[list[dict[str, Any]], list[Any]]:
    slots = {"form_data": state_at(CONFIRM, **FULL), "form_status": "confirmed"}
    return run(ActionFinishForm(client_for(service)), tracker("Ja", slots=slots, active=False))


def test_a_confirmed_form_is_submitted_once_with_its_reference_shown() -> None:
    service = FakeKnowledgeService()
    messages, events = finished(service)
    assert "HST-2026-000001" in messages[0]["text"]
    assert "Ordnungsamt" in messages[0]["text"]  # large dogs need a separate notice (LHundG NRW)
    assert slot(events, "form_data") is None and slot(events, "form_status") is None
    request = service.requests[0]
    assert request.headers["Idempotency-Key"] == f"citizen-42:dog_tax_registration:{STARTED_AT}"
    assert request.headers["Authorization"] == "Bearer t"
    assert json.loads(request.content)["data"]["Hund.Transpondernummer"] == "276098100123456"
    # Rasa retries the action (timeout, duplicate message): the same key, the same reference, one record.
    again, _ = finished(service)
    assert "HST-2026-000001" in again[0]["text"]
    assert len(service.stored) == 1


def test_a_failed_submission_keeps_the_data_and_offers_to_send_again() -> None:
    messages, events = finished(FakeKnowledgeService(down=True))
    assert "nicht übermitteln" in messages[0]["text"]
    assert messages[0]["buttons"][0]["payload"] == "/retry_form_submission"
    assert events == []


def test_a_cancelled_form_is_never_submitted() -> None:
    service = FakeKnowledgeService()
    _, events = run(
        ActionFinishForm(client_for(service)), tracker("abbrechen", slots={"form_status": "cancelled"}, active=False)
    )
    assert service.requests == []
    assert slot(events, "form_status") is None


def test_the_water_meter_validation_uses_its_own_spec() -> None:
    action = ValidateWaterMeterReadingForm(client_for(FakeKnowledgeService()))
    assert action.name() == "validate_water_meter_reading_form"
    _, events = run(action, tracker("Hallo", active=False, loop="water_meter_reading_form"))
    assert slot(events, "form_data")["form"] == "water_meter_reading"


def test_a_starting_form_reads_the_town_once_and_keeps_it_in_its_state() -> None:
    hellbach = {"town": "die Stadt Hellbach", "city": "Hellbach", "postcodes": ["99001"], "email": "", "office": ""}
    service = FakeKnowledgeService(town=hellbach)
    action = ValidateDogTaxRegistrationForm(client_for(service))
    messages, events = run(action, tracker("Ich möchte meinen Hund anmelden", active=False))
    assert [r.url.path for r in service.town_requests] == ["/api/v1/forms/dog_tax_registration/town"]
    assert "Die Stadt Hellbach (Steueramt)" in messages[0]["text"]
    state = slot(events, "form_data")
    assert state["town"]["postcodes"] == ["99001"]
    state = {**state, "values": {"privacy_consent": True, "owner_name": "Erika Mustermann"}, "pending": "owner_street"}
    messages, events = run(action, tracker("Ostwall 12, 47798 Krefeld", slots={"form_data": state}))
    assert len(service.town_requests) == 1  # not read again while the form runs
    assert any("47798 liegt nicht in Hellbach" in (m.get("text") or "") for m in messages)


def test_without_the_knowledge_service_a_form_starts_in_neutral_words() -> None:
    service = FakeKnowledgeService(down=True)
    messages, events = run(
        ValidateDogTaxRegistrationForm(client_for(service)), tracker("Ich möchte meinen Hund anmelden", active=False)
    )
    assert "Ihre Stadtverwaltung (Steueramt)" in messages[0]["text"] and "{" not in messages[0]["text"]
    assert slot(events, "form_data")["town"] == {} and slot(events, "requested_slot") == "form_status"
