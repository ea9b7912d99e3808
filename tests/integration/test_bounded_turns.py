"""A long conversation with the real trained bot: every turn answered as before, the action server sent little.

After 100 knowledge questions a citizen fills in the dog-tax form, asks a question in the middle and one
after it. Between Rasa and the action server a pass-through recorder notes how many events each action
call carries (bot.patches ``action_payload_bounded``); the replies are what tests/integration/test_forms.py
expects of a fresh conversation, and the stored conversation is complete (bot.bounded_tracker).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from kumpel_stack.launcher import Stack
from kumpel_stack.testing import Conversation, make_stack

from .channel_checks import DOG_TAX_STEPS

pytestmark = pytest.mark.integration

REFERENCE = re.compile(r"\bHST-\d{4}-\d{6}\b")
QUESTIONS = [
    ("Wann hat das Bürgerbüro geöffnet?", "Bürgerbüro"),
    ("Was kostet die Hundesteuer?", "111,32"),
    ("Was brauche ich für einen neuen Personalausweis?", "Personalausweis"),
    ("Was kostet ein Reisepass?", "Reisepass"),
]


class Recorder:
    """Forwards Rasa's action calls to the real action server and notes each call's event count."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.event_counts: list[int] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                recorder.event_counts.append(len(json.loads(body)["tracker"]["events"]))
                forwarded = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                reply = httpx.post(recorder.target + self.path, content=body, headers=forwarded, timeout=30)
                self.send_response(reply.status_code)
                self.send_header("Content-Type", reply.headers.get("content-type", "application/json"))
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Recorder]]:
    stack = make_stack(tmp_path_factory.mktemp("bounded"))
    recorder = Recorder(stack.actions_url)
    stack.extra_env["KUMPEL_ACTION_ENDPOINT_URL"] = f"{recorder.url}/webhook"
    try:
        with stack:
            yield stack, recorder
    finally:
        recorder.server.shutdown()


def stored_events(stack: Stack, sender: str) -> int:
    with sqlite3.connect(Path(stack.state_dir) / "tracker.db") as connection:
        return int(connection.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0])


def test_after_100_questions_the_form_and_a_follow_up_are_answered_as_in_a_fresh_conversation(
    recorded: tuple[Stack, Recorder],
) -> None:
    stack, recorder = recorded
    conversation = Conversation(stack)
    for number in range(100):
        question, expected = QUESTIONS[number % len(QUESTIONS)]
        conversation.say(question)
        assert expected in conversation.text, f"turn {number + 1}: {conversation.text}"

    conversation.say("Ich möchte meinen Hund anmelden")
    assert "Datenschutzhinweis" in conversation.text, conversation.text
    conversation.say("Ja")
    assert "Vor- und Nachname" in conversation.text, conversation.text
    conversation.say("Erika Mustermann")
    assert "Anschrift" in conversation.text
    conversation.say("Wann hat das Bürgerbüro offen?")  # a question in the middle of the form
    assert "Bürgerbüro" in conversation.text and re.search(r"\d{1,2}:\d\d Uhr", conversation.text), conversation.text
    assert "Anschrift in Krefeld" in conversation.text  # the form asks the same question again
    for message, next_question in DOG_TAX_STEPS[1:]:  # the name was given before the question
        conversation.say(message)
        assert next_question in conversation.text, f"after {message!r}: {conversation.text}"
    summary = conversation.text
    for value in ("Erika Mustermann", "Ostwall 12", "Bello", "276098100123456", "03.04.2024", "15.11.2026"):
        assert value in summary
    conversation.say("Ja, absenden")
    assert REFERENCE.search(conversation.text), conversation.text
    with sqlite3.connect(Path(stack.state_dir) / "kumpel.db") as db:
        [(data,)] = db.execute(
            "SELECT data FROM submissions WHERE idempotency_key LIKE ?", (conversation.sender + ":%",)
        ).fetchall()
    assert json.loads(data)["Hund.Transpondernummer"] == "276098100123456"

    conversation.say("Was kostet die Hundesteuer?")  # the follow-up question after the form
    assert "111,32" in conversation.text, conversation.text

    # The conversation is stored whole; no action call carried more than a turn's events.
    assert stored_events(stack, conversation.sender) > 500
    assert len(recorder.event_counts) >= 115
    assert max(recorder.event_counts) <= 25, sorted(recorder.event_counts)[-5:]
