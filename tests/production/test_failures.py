"""Kumpel as in production on one machine, and what a citizen notices when parts of it fail.

One topology for the module (stack/kumpel_stack/topology.py): Redis with its append-only file,
PostgreSQL, the knowledge service, two action servers and two Rasa instances behind HAProxy. Every
citizen talks to HAProxy over the REST channel, as a messenger or the widget would; the tests read
what was stored (the trackers in Redis, the submissions in PostgreSQL) to check nothing was lost or
doubled. The test that kills a Rasa instance runs last: the others need both.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
import redis

from kumpel_stack.testing import FIXED_NOW
from kumpel_stack.topology import Topology

pytestmark = pytest.mark.integration

REFERENCE = re.compile(r"\bHST-\d{4}-\d{6}\b")
APOLOGY = "technisches Problem"
# The dog-tax form, answer by answer, with the words of the question each answer leads to
# (tests/integration/test_forms.py has the same walk through it).
FORM_START = [("Ich möchte meinen Hund anmelden", "Datenschutzhinweis"), ("Ja", "Vor- und Nachname")]
FORM_ANSWERS = [
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
]
FORM_STEPS = FORM_START + FORM_ANSWERS
SUBMIT = "Ja, absenden"
RETRY_SUBMISSION = "/retry_form_submission"  # the payload of the "Erneut senden" button


class Citizen:
    """One person talking to the bot through the load balancer."""

    def __init__(self, topology: Topology, name: str = "") -> None:
        self.url = f"{topology.rasa_url}/webhooks/rest/webhook"
        self.sender = f"{name or 'citizen'}-{uuid.uuid4().hex[:10]}"
        self.status = 0
        self.text = ""

    def say(self, message: str, timeout: float = 120.0) -> str:
        """Send one message; keeps the HTTP status and returns all bot texts of the reply."""
        body = json.dumps({"sender": self.sender, "message": message}).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                self.status = int(response.status)
                replies = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            self.status, replies = int(error.code), []
        self.text = "\n".join(str(m.get("text", "")) for m in replies)
        return self.text

    def expect(self, message: str, words: str) -> None:
        self.say(message)
        assert self.status == 200, f"{self.sender} after {message!r}: HTTP {self.status}"
        assert words in self.text, f"{self.sender} after {message!r}: {self.text!r}"


def run_all(jobs: list[Callable[[], Any]], workers: int) -> list[Any]:
    """Run the jobs on a bounded thread pool; re-raise the first failure after all have ended."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(job) for job in jobs]
        return [future.result() for future in futures]


def user_texts(client: redis.Redis, sender: str) -> list[str]:
    """What the stored conversation says the citizen wrote, in order (the tracker in Redis)."""
    raw = client.get(f"kumpel:tracker:{sender}")
    assert raw is not None, f"no tracker for {sender}"
    events = json.loads(raw)["events"]
    return [str(e.get("text")) for e in events if e.get("event") == "user"]


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    started = time.monotonic()
    with Topology(state_dir=tmp_path_factory.mktemp("topology"), extra_env={"KUMPEL_FIXED_NOW": FIXED_NOW}) as running:
        print(f"topology ready after {time.monotonic() - started:.0f} s")
        yield running


@pytest.fixture
def store(topology: Topology) -> Iterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=topology.redis_port)
    yield client
    client.close()


# Ten turns whose texts differ, so that the stored order can be compared with the sent order.
QUESTIONS = [
    "Hallo",
    "Wann hat das Bürgerbüro geöffnet?",
    "Und am Samstag?",
    "Was kostet ein Personalausweis?",
    "Welche Unterlagen brauche ich für den Personalausweis?",
    "Wie ist die Telefonnummer des Bürgerbüros?",
    "Wo ist das Standesamt?",
    "Was kostet die Hundesteuer?",
    "Bist du ein Mensch?",
    "Danke, tschüss",
]
DOUBLE_SEND_AT = 5  # this turn goes out twice at once (a double click): two instances, one conversation


def test_200_conversations_over_both_instances_lose_double_and_reorder_nothing(
    topology: Topology, store: redis.Redis
) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def conversation(n: int) -> tuple[str, list[str]]:
        citizen = Citizen(topology, f"load{n}")
        sent: list[str] = []
        for index, question in enumerate(QUESTIONS):
            text = f"{question}" if index else f"{question} ({n})"
            if index == DOUBLE_SEND_AT:
                twin = Citizen(topology)
                twin.sender = citizen.sender
                first, second = f"{text} (1)", f"{text} (2)"
                thread = threading.Thread(target=twin.say, args=(second,))
                thread.start()
                citizen.say(first)
                thread.join(timeout=180)
                with lock:
                    statuses.extend([citizen.status, twin.status])
                sent.extend([first, second])
                continue
            citizen.say(text)
            with lock:
                statuses.append(citizen.status)
            assert citizen.text, f"{citizen.sender}: no reply to {text!r}"
            sent.append(text)
        return citizen.sender, sent

    started = time.monotonic()
    results = run_all([partial(conversation, n) for n in range(200)], workers=200)
    elapsed = time.monotonic() - started
    turns = sum(len(sent) for _, sent in results)
    print(f"{turns} turns of 200 conversations in {elapsed:.0f} s ({turns / elapsed:.1f} turns/s)")
    sessions = topology.balancer_sessions("rasa_rest")
    print(f"requests per Rasa instance: {sessions}")
    assert min(sessions.values()) > turns / 4, f"both instances must serve: {sessions}"
    assert [s for s in statuses if s >= 500] == [], "no citizen may see a server error"
    assert set(statuses) == {200}
    for sender, sent in results:
        stored = user_texts(store, sender)
        doubled = sent[DOUBLE_SEND_AT : DOUBLE_SEND_AT + 2]
        # The double send may be stored in either order; every other turn exactly in the sent order.
        assert sorted(stored[DOUBLE_SEND_AT : DOUBLE_SEND_AT + 2]) == sorted(doubled), (sender, stored)
        assert stored[:DOUBLE_SEND_AT] == sent[:DOUBLE_SEND_AT], (sender, stored)
        assert stored[DOUBLE_SEND_AT + 2 :] == sent[DOUBLE_SEND_AT + 2 :], (sender, stored)


def submissions(topology: Topology) -> dict[str, list[str]]:
    """The stored submissions' references by citizen (the sender id starts the idempotency key)."""
    by_sender: dict[str, list[str]] = {}
    for reference, key in topology.sql("SELECT reference, idempotency_key FROM submissions"):
        by_sender.setdefault(key.split(":", 1)[0], []).append(reference)
    return by_sender


def test_a_knowledge_service_restart_under_load_loses_and_doubles_no_submission(topology: Topology) -> None:
    citizens = [Citizen(topology, f"restart{n}") for n in range(10)]

    def fill(citizen: Citizen) -> None:
        for message, words in FORM_STEPS:
            citizen.expect(message, words)

    run_all([partial(fill, c) for c in citizens], workers=10)

    def submit(citizen: Citizen, delay: float) -> str:
        time.sleep(delay)
        citizen.say(SUBMIT)
        # During the restart the bot says it could not send, keeps the answers and offers
        # "Erneut senden": the citizen presses it until the reference comes (bounded).
        for _ in range(60):
            if REFERENCE.search(citizen.text):
                break
            assert citizen.status == 200, citizen.status
            assert "Erneut senden" in citizen.text or "übermitteln" in citizen.text, citizen.text
            time.sleep(2)
            citizen.say(RETRY_SUBMISSION)
        match = REFERENCE.search(citizen.text)
        assert match, f"{citizen.sender} got no reference: {citizen.text!r}"
        return match.group(0)

    restarter = threading.Thread(target=topology.restart, args=("knowledge",))
    restarter.start()
    references = run_all([partial(submit, c, 0.3 * n) for n, c in enumerate(citizens)], workers=10)
    restarter.join(timeout=300)
    stored = submissions(topology)
    for citizen, reference in zip(citizens, references, strict=True):
        assert stored.get(citizen.sender) == [reference], "exactly one record, the one the citizen was shown"


def test_while_redis_is_down_the_bot_says_so_and_afterwards_the_form_goes_on(topology: Topology) -> None:
    citizen = Citizen(topology, "redis")
    for message, words in FORM_STEPS[:4]:  # name and address given; the e-mail is asked next
        citizen.expect(message, words)
    assert "E-Mail" in citizen.text

    topology.stop_member("redis")
    try:
        citizen.say("erika@example.de")
        assert citizen.status == 200, "an apology, not a server error"
        assert APOLOGY in citizen.text and "in ein paar Minuten noch einmal" in citizen.text, citizen.text
        assert "Wie heißt Ihr Hund" not in citizen.text, "the turn cannot have been stored"
    finally:
        topology.start_member("redis")

    # Redis replays its append-only file: the form resumes at the e-mail, with name and address kept.
    citizen.expect("erika@example.de", "Wie heißt Ihr Hund")
    for message, words in FORM_ANSWERS[3:]:
        citizen.expect(message, words)
    assert "Erika Mustermann" in citizen.text and "Ostwall 12" in citizen.text, citizen.text
    citizen.say(SUBMIT)
    assert REFERENCE.search(citizen.text), citizen.text


def test_kill_9_of_one_rasa_mid_form_every_form_finishes_on_the_other(topology: Topology) -> None:
    citizens = [Citizen(topology, f"kill{n}") for n in range(20)]
    halfway = threading.Barrier(len(citizens) + 1, timeout=300)

    def fill(citizen: Citizen) -> str:
        for step, (message, words) in enumerate(FORM_STEPS):
            if step == 5:
                halfway.wait()  # all forms are begun when the instance dies ...
            citizen.expect(message, words)
        # The summary holds the answers given on both sides of the kill.
        assert "Erika Mustermann" in citizen.text and "276098100123456" in citizen.text, citizen.text
        citizen.say(SUBMIT)
        match = REFERENCE.search(citizen.text)
        assert match, f"{citizen.sender}: {citizen.text!r}"
        return match.group(0)

    with ThreadPoolExecutor(max_workers=len(citizens)) as pool:
        futures = [pool.submit(fill, c) for c in citizens]
        halfway.wait()
        time.sleep(0.5)  # ... and turns are in flight on it
        topology.kill("rasa-1")
        references = [future.result(timeout=600) for future in futures]

    assert not topology.members["rasa-1"].process.alive()
    assert len(set(references)) == len(citizens), "every form has its own reference"
    stored = submissions(topology)
    for citizen, reference in zip(citizens, references, strict=True):
        assert stored.get(citizen.sender) == [reference]
