"""What a client and an operator see of the cheaper answer path (issue 15).

``POST /api/v1/answer`` runs as one coroutine that hands the search and the recording to one worker
thread and sends pydantic's JSON as it is; the SQLite knowledge base writes a WAL with full sync.
These tests pin what must not change with that: the status codes, the headers, the body a client
parses, the rows stored, and that a committed answer is synced to disk.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.settings import Settings

NOW = "2026-11-19T10:00:00+01:00"
CONTRACT_KEYS = {
    "status",
    "text",
    "choices",
    "source",
    "entry",
    "context",
    "confidence",
    "unanswered",
    "form_match",
    "message_id",
}


def database_file(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


def test_an_answer_is_utf8_json_in_the_contract_shape(kb_client: TestClient) -> None:
    response = kb_client.post(
        "/api/v1/answer", json={"question": "Wann hat das Bürgerbüro geöffnet?", "topic": "auto", "now": NOW}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    body = response.json()
    assert set(body) == CONTRACT_KEYS
    assert body["status"] == "answer" and body["entry"] == {"type": "office", "id": "off-buergerbuero"}
    assert body["context"] == {"service_id": None, "office_id": "off-buergerbuero"}
    assert body["form_match"] is None and isinstance(body["confidence"], float)
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", body["message_id"])
    assert "Bürgerbüro".encode() in response.content  # German as UTF-8, not as \\u escapes


def test_before_the_index_is_built_an_answer_is_503_with_retry_after(kb_settings: Settings) -> None:
    client = TestClient(create_app(kb_settings))  # no lifespan run: nothing indexed yet
    response = client.post("/api/v1/answer", json={"question": "Hundesteuer"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"detail": "search index is starting"}


def test_an_invalid_question_is_still_a_422_naming_the_field(kb_client: TestClient) -> None:
    response = kb_client.post("/api/v1/answer", json={"question": "x" * 2001})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "question"]


def test_an_answer_and_its_records_are_in_the_database_once_it_is_sent(
    kb_client: TestClient, kb_settings: Settings
) -> None:
    answered = kb_client.post("/api/v1/answer", json={"question": "Was kostet die Hundesteuer?", "now": NOW}).json()
    unknown = kb_client.post("/api/v1/answer", json={"question": "Wie hoch ist der Mount Everest?", "now": NOW}).json()
    assert answered["status"] == "answer" and unknown["status"] == "unknown"
    # Read by another connection, as staff's console or a second replica would.
    with sqlite3.connect(database_file(kb_settings)) as other:
        rateable = other.execute("SELECT message_id, entry_id FROM inbox_rateable_answers").fetchall()
        events = other.execute("SELECT kind FROM answer_events ORDER BY id").fetchall()
        inbox = other.execute("SELECT kind, question FROM inbox_items").fetchall()
    assert rateable == [(answered["message_id"], answered["entry"]["id"])]
    assert events == [("answered",), ("unknown",)]
    assert inbox == [("unknown", "Wie hoch ist der Mount Everest?")]


def test_the_knowledge_base_syncs_every_commit_to_disk(kb_client: TestClient, kb_settings: Settings) -> None:
    kb_client.post("/api/v1/answer", json={"question": "Hundesteuer", "now": NOW})
    runtime = kb_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        # 2 = FULL: a committed form submission survives a power cut, unlike the tracker store's NORMAL
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2
    with sqlite3.connect(database_file(kb_settings)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # kept in the file itself
