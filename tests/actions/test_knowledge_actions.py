"""Knowledge actions: what they send to the knowledge service and what the citizen gets back.

The knowledge service is replaced by an httpx transport that records the request; the action,
its reply formatting and its slot events are the real code under test.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_actions import (
    ActionAnswerChoice,
    ActionAnswerOutOfScope,
    ActionGetContact,
    ActionGetFees,
    ActionGetOpeningHours,
    ActionGetServiceInfo,
)
from actions.knowledge_client import KnowledgeClient

from .knowledge_fake import recording_client

OPENING_HOURS_ANSWER = {
    "status": "answer",
    "text": "Das Bürgerbüro hat heute bis 18:00 Uhr geöffnet.",
    "choices": [],
    "source": {
        "title": "Bürgerbüro Krefeld",
        "url": "https://www.krefeld.de/buergerbuero",
        "last_reviewed": "2026-10-01",
    },
    "entry": {"type": "office", "id": "off-buergerbuero"},
    "context": {"service_id": None, "office_id": "off-buergerbuero"},
    "confidence": 0.95,
}


def tracker(text: str, slots: dict[str, Any] | None = None) -> Tracker:
    return Tracker(
        sender_id="t1",
        slots=slots or {},
        latest_message={"text": text, "intent": {"name": "x", "confidence": 1.0}, "entities": []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


client_answering = recording_client


def run(action: Any, t: Tracker) -> tuple[CollectingDispatcher, list[Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher, events


def test_opening_hours_reply_cites_source_and_keeps_office_context() -> None:
    sent: list[dict[str, Any]] = []
    action = ActionGetOpeningHours(client_answering(OPENING_HOURS_ANSWER, sent))
    dispatcher, events = run(action, tracker("Wann hat das Bürgerbüro geöffnet?"))

    assert sent[0]["topic"] == "opening_hours"
    assert sent[0]["question"] == "Wann hat das Bürgerbüro geöffnet?"
    message = dispatcher.messages[0]
    assert message["text"].startswith("Das Bürgerbüro hat heute bis 18:00 Uhr geöffnet.")
    assert "Quelle: Bürgerbüro Krefeld – https://www.krefeld.de/buergerbuero (Stand: 01.10.2026)" in message["text"]
    assert message["custom"]["kumpel"]["entry"] == {"type": "office", "id": "off-buergerbuero"}
    assert message["custom"]["kumpel"]["source"]["url"] == "https://www.krefeld.de/buergerbuero"
    assert SlotSet("office_id", "off-buergerbuero") in events


def test_follow_up_sends_the_conversation_context() -> None:
    sent: list[dict[str, Any]] = []
    action = ActionGetFees(client_answering(OPENING_HOURS_ANSWER | {"context": {"service_id": "svc-perso"}}, sent))
    run(action, tracker("Und was kostet das?", {"service_id": "svc-perso", "office_id": None}))
    assert sent[0]["topic"] == "fees"
    assert sent[0]["context"] == {"service_id": "svc-perso", "office_id": None}


def test_clarify_offers_at_most_three_buttons_that_name_the_entry() -> None:
    sent: list[dict[str, Any]] = []
    choices = [{"type": "service", "id": f"svc-{i}", "title": f"Leistung {i}"} for i in range(5)]
    body = {"status": "clarify", "text": "Meinten Sie eine dieser Leistungen?", "choices": choices, "source": None}
    dispatcher, _ = run(ActionGetFees(client_answering(body, sent)), tracker("Ausweis"))
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == ["Leistung 0", "Leistung 1", "Leistung 2"]
    assert buttons[0]["payload"] == '/choose_entry{"entity_id": "svc-0", "entity_topic": "fees"}'
    assert "Quelle" not in dispatcher.messages[0]["text"]


def test_choice_asks_about_exactly_the_chosen_entry_and_clears_the_choice() -> None:
    sent: list[dict[str, Any]] = []
    action = ActionAnswerChoice(client_answering(OPENING_HOURS_ANSWER, sent))
    _, events = run(action, tracker("/choose_entry", {"entity_id": "svc-3", "entity_topic": "fees"}))
    assert sent[0]["entity_id"] == "svc-3" and sent[0]["topic"] == "fees"
    assert SlotSet("entity_id", None) in events


def test_unreachable_knowledge_service_gets_a_polite_german_apology() -> None:
    dispatcher, events = run(ActionGetOpeningHours(client_answering(None, [])), tracker("Wann offen?"))
    assert dispatcher.messages[0]["response"] == "utter_knowledge_unavailable"
    assert events == []


def test_knowledge_service_error_status_is_not_shown_as_an_answer() -> None:
    dispatcher, _ = run(ActionGetOpeningHours(client_answering({"detail": "boom"}, [], status=500)), tracker("x"))
    assert dispatcher.messages[0]["response"] == "utter_knowledge_unavailable"


def test_a_10000_character_question_is_cut_not_refused() -> None:
    sent: list[dict[str, Any]] = []
    run(ActionGetOpeningHours(client_answering(OPENING_HOURS_ANSWER, sent)), tracker("Bürgerbüro " * 1000))
    assert 0 < len(sent[0]["question"]) <= 2000


def test_one_client_keeps_answering_across_event_loops_and_a_service_restart() -> None:
    """The pooled HTTP client must not break when a loop ends (tests) or the service restarts."""
    import contextlib
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    open_connections: list[socket.socket] = []

    class KnowledgeStub(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so the client really reuses a connection

        def do_POST(self) -> None:
            open_connections.append(self.connection)
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps(OPENING_HOURS_ANSWER).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    def serve(port: int = 0) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), KnowledgeStub)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    server = serve()
    port = server.server_address[1]
    client = KnowledgeClient(base_url=f"http://127.0.0.1:{port}", token="t")
    action = ActionGetOpeningHours(client=client)
    try:
        for _ in range(2):  # two event loops, one after the other
            dispatcher, _events = run(action, tracker("Wann hat das Bürgerbüro geöffnet?"))
            assert "18:00 Uhr" in dispatcher.messages[0]["text"]

        async def two_turns_around_a_restart() -> list[str]:
            nonlocal server
            texts = []
            for restart in (False, True):
                if restart:  # the service goes away with the pooled connection, then comes back
                    for connection in open_connections:
                        with contextlib.suppress(OSError):  # those of ended loops are closed already
                            connection.shutdown(socket.SHUT_RDWR)
                    server.shutdown()
                    server.server_close()
                    server = serve(port)
                dispatcher = CollectingDispatcher()
                await action.run(dispatcher, tracker("Wann hat das Bürgerbüro geöffnet?"), {})
                texts.append(dispatcher.messages[0].get("text") or dispatcher.messages[0].get("response"))
            return texts

        assert all("18:00 Uhr" in str(t) for t in asyncio.run(two_turns_around_a_restart()))
    finally:
        server.shutdown()
        server.server_close()


UNKNOWN_ANSWER: dict[str, Any] = {
    "status": "unknown",
    "text": "Dazu habe ich leider keine gesicherte Information.",
    "choices": [],
    "source": None,
    "entry": None,
    "context": {"service_id": None, "office_id": None},
    "confidence": 0.1,
    "unanswered": True,
}


def test_out_of_scope_asks_the_knowledge_base_and_relays_what_it_knows() -> None:
    sent: list[dict[str, Any]] = []
    action = ActionAnswerOutOfScope(client_answering(OPENING_HOURS_ANSWER, sent))
    dispatcher, events = run(action, tracker("Wie werde ich mein altes Sofa los?"))

    assert sent[0] == {**sent[0], "question": "Wie werde ich mein altes Sofa los?", "topic": "auto"}
    assert "Quelle:" in dispatcher.messages[0]["text"]
    assert SlotSet("office_id", "off-buergerbuero") in events


def test_out_of_scope_refuses_only_when_the_knowledge_base_does_not_know_either() -> None:
    sent: list[dict[str, Any]] = []
    action = ActionAnswerOutOfScope(client_answering(UNKNOWN_ANSWER, sent))
    dispatcher, _ = run(action, tracker("Wer gewinnt die Champions League?"))

    assert len(sent) == 1  # the knowledge service was asked (and recorded the question for staff)
    assert dispatcher.messages[0]["response"] == "utter_out_of_scope"


def test_out_of_scope_with_candidates_offers_them_and_says_plainly_what_else_to_do() -> None:
    clarify = {
        **UNKNOWN_ANSWER,
        "unanswered": False,
        "confidence": 0.63,
        "status": "clarify",
        "text": "Meinten Sie „Sperrmüll anmelden“? Bitte wählen Sie aus.",
        "choices": [{"type": "service", "id": "svc-sperrmuell", "title": "Sperrmüll anmelden"}],
    }
    action = ActionAnswerOutOfScope(client_answering(clarify, []))
    dispatcher, _ = run(action, tracker("Wohin mit dem alten Schrank?"))

    assert dispatcher.messages[0]["text"].startswith("Meinten Sie „Sperrmüll anmelden“?")
    assert "svc-sperrmuell" in dispatcher.messages[0]["buttons"][0]["payload"]
    assert dispatcher.messages[1]["response"] == "utter_out_of_scope_unless_chosen"


def test_out_of_scope_with_only_unlikely_candidates_is_declined() -> None:
    unlikely = {
        **UNKNOWN_ANSWER,
        "status": "clarify",
        "text": "Meinten Sie „Wohnsitz anmelden“? Bitte wählen Sie aus.",
        "choices": [{"type": "service", "id": "svc-wohnsitz-anmelden", "title": "Wohnsitz anmelden"}],
        "confidence": 0.23,
    }
    action = ActionAnswerOutOfScope(client_answering(unlikely, []))
    dispatcher, _ = run(action, tracker("Wie wird das Wetter morgen?"))

    assert [m.get("response") for m in dispatcher.messages] == ["utter_out_of_scope"]


def test_a_question_back_remembers_its_candidates_and_a_follow_up_sends_them() -> None:
    clarify = {
        **UNKNOWN_ANSWER,
        "status": "clarify",
        "unanswered": False,
        "text": "Meinten Sie „Gewerbe anmelden“ oder „Gewerbe abmelden“? Bitte wählen Sie aus.",
        "choices": [
            {"type": "service", "id": "svc-gewerbe-anmelden", "title": "Gewerbe anmelden"},
            {"type": "service", "id": "svc-gewerbe-abmelden", "title": "Gewerbe abmelden"},
        ],
    }
    _, events = run(ActionGetServiceInfo(client_answering(clarify, [])), tracker("Wo melde ich ein Gewerbe an?"))
    assert SlotSet("candidates", ["svc-gewerbe-anmelden", "svc-gewerbe-abmelden"]) in events

    sent: list[dict[str, Any]] = []
    slots = {"candidates": ["svc-gewerbe-anmelden", "svc-gewerbe-abmelden"]}
    _, events = run(ActionGetContact(client_answering(OPENING_HOURS_ANSWER, sent)), tracker("Und die Nummer?", slots))
    assert sent[0]["context"]["candidates"] == ["svc-gewerbe-anmelden", "svc-gewerbe-abmelden"]
    assert SlotSet("candidates", None) in events  # answered: nothing left to choose from
