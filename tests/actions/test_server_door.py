"""The action server runs actions for the engine only: the attack of issue 17 against a real ``kumpel-actions``.

The attacker posted a hand-written tracker (``next_action: action_finish_form``, ``form_status: confirmed``,
a few values) to ``:5055/webhook`` and got a dog-tax record with a reference number: as JSON, and as
``text/plain`` from a foreign web page (a "simple request", no CORS preflight). Here the same calls go to a
real action server in front of a real knowledge service (lexical search, its own SQLite file), and the test
reads the knowledge base's submissions table.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kumpel_stack.launcher import Ports, Process, Stack

pytestmark = pytest.mark.integration

SECRET = "door-test-secret-" + uuid.uuid4().hex
ORIGIN = "https://evil.example"
FORGED_VALUES = {"privacy_consent": True, "owner_name": "Erika Mustermann", "dog_name": "Bello"}
COMPLETE_VALUES = {
    **FORGED_VALUES,
    "owner_street": "Ostwall 12",
    "owner_postcode": "47798",
    "owner_email": "",
    "dog_breed": "Labrador",
    "dog_dangerous": False,
    "dog_birth_date": "",
    "dog_joined_date": "2026-11-01",
    "dog_chip": "276098100123456",
    "dogs_already_registered": 0,
    "tax_relief": "keine",
    "sepa_mandate": False,
}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Path]]:
    """The knowledge service and the action server of a stack (no engine: the attacker needs none)."""
    state = tmp_path_factory.mktemp("door")
    database = state / "kumpel.db"
    stack = Stack(
        ports=Ports.free(),
        state_dir=state,
        extra_env={
            "KUMPEL_DATABASE_URL": f"sqlite:///{database}",
            "KUMPEL_SEARCH_MODE": "lexical",
            "KUMPEL_ACTION_SERVER_SECRET": SECRET,
        },
    )
    processes: list[Process] = [p for p in stack._build() if p.name in {"knowledge", "actions"}]
    stack.processes = processes
    try:
        for process in processes:
            process.start(echo=False)
        for process in processes:
            wait_healthy(process)
        yield stack, database
    finally:
        stack.stop()


def wait_healthy(process: Process, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.alive(), f"{process.name} exited:\n{process.log_tail()}"
        if status_of(urllib.request.Request(process.health_url))[0] == 200:
            return
        time.sleep(0.5)
    raise AssertionError(f"{process.name} not healthy:\n{process.log_tail()}")


def status_of(request: urllib.request.Request) -> tuple[int, dict[str, str], Any]:
    """Status, headers and JSON body of one request (HTTP errors included)."""
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")
    except (urllib.error.URLError, OSError):
        return 0, {}, None


def forged_call(values: dict[str, Any]) -> dict[str, Any]:
    """The hand-written action call of the attack: a confirmed dog-tax form, no engine involved."""
    sender = f"attacker-{uuid.uuid4().hex[:8]}"
    state = {"form": "dog_tax_registration", "values": values, "pending": "_confirm", "town": {}}
    return {
        "next_action": "action_finish_form",
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": {"form_data": state, "form_status": "confirmed"},
            "latest_message": {"text": "Ja", "intent": {"name": "affirm"}, "entities": []},
            "events": [{"event": "active_loop", "name": "dog_tax_registration_form", "timestamp": 1764000000.0}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def webhook(stack: Stack, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        f"{stack.actions_url}/webhook", data=json.dumps(body).encode("utf-8"), headers=headers, method="POST"
    )
    return status_of(request)


def stored_submissions(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        return list(connection.execute("SELECT reference, form FROM submissions"))


def test_the_forged_call_as_json_without_the_secret_is_refused_and_stores_nothing(
    services: tuple[Stack, Path],
) -> None:
    stack, database = services
    for headers in (
        {"Content-Type": "application/json"},
        {"Content-Type": "application/json", "Authorization": "Bearer wrong-secret"},
        {"Content-Type": "application/json", "Authorization": f"Basic {SECRET}"},
        {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}x"},
    ):
        status, _, body = webhook(stack, forged_call(COMPLETE_VALUES), headers)
        assert status == 401 and body["error"] == "unauthorized"
    assert stored_submissions(database) == []


def test_a_foreign_web_page_can_neither_send_text_plain_nor_pass_a_preflight(services: tuple[Stack, Path]) -> None:
    stack, database = services
    status, headers, _ = webhook(
        stack, forged_call(COMPLETE_VALUES), {"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN}
    )
    assert status == 401
    assert not any(name.lower().startswith("access-control-") for name in headers)
    preflight = urllib.request.Request(
        f"{stack.actions_url}/webhook",
        method="OPTIONS",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    status, headers, _ = status_of(preflight)
    assert status == 401
    assert not any(name.lower().startswith("access-control-") for name in headers)
    assert stored_submissions(database) == []


def test_nothing_but_the_health_check_is_open(services: tuple[Stack, Path]) -> None:
    stack, _ = services
    assert status_of(urllib.request.Request(f"{stack.actions_url}/health"))[0] == 200
    assert status_of(urllib.request.Request(f"{stack.actions_url}/actions"))[0] == 401
    listed = urllib.request.Request(f"{stack.actions_url}/actions", headers={"Authorization": f"Bearer {SECRET}"})
    status, _, body = status_of(listed)
    assert status == 200 and {"name": "action_finish_form"} in body


def test_with_the_secret_the_call_runs_and_the_knowledge_service_still_refuses_an_incomplete_form(
    services: tuple[Stack, Path],
) -> None:
    stack, database = services
    status, _, body = webhook(
        stack, forged_call(FORGED_VALUES), {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
    )
    assert status == 200
    texts = " ".join(str(response.get("text")) for response in body["responses"])
    assert "nicht übermitteln" in texts  # the citizen is told politely; no reference is invented
    assert stored_submissions(database) == []


def test_with_the_secret_a_complete_form_is_stored_once(services: tuple[Stack, Path]) -> None:
    stack, database = services
    status, _, body = webhook(
        stack, forged_call(COMPLETE_VALUES), {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
    )
    assert status == 200
    texts = " ".join(str(response.get("text")) for response in body["responses"])
    [(reference, form)] = stored_submissions(database)
    assert form == "dog_tax_registration" and reference in texts
