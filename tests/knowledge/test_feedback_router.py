"""Thumbs up/down: stored anonymously once per answer; bad input gets a precise 4xx."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.feedback import router as feedback
from kumpel_knowledge.feedback.models import Feedback
from kumpel_knowledge.staff.auth import add_user

STAFF_PASSWORD = "correct-horse-battery-staple"


PROXY = "10.20.0.2"


def feedback_settings(tmp_path: Path, trusted_proxies: str = "") -> Settings:
    return Settings(
        env="test",
        database_url=f"sqlite:///{tmp_path / 'kb.db'}",
        search_mode="lexical",
        seed_on_start=False,
        secret_key="test-secret-key-0123456789",
        action_token="test-action-token-0123456789",
        trusted_proxies=trusted_proxies,
    )


@pytest.fixture()
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(feedback, "limiter", feedback.SlidingWindowLimiter(5, 60))
    monkeypatch.setenv("KUMPEL_CORS_ORIGINS", "https://www.krefeld.de http://127.0.0.1:8000")
    with TestClient(create_app(feedback_settings(tmp_path)), client=("127.0.0.1", 50000)) as test_client:
        yield test_client


@pytest.fixture()
def behind_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The service behind the city's reverse proxy (10.20.0.0/16), which all requests come from."""
    monkeypatch.setattr(feedback, "limiter", feedback.SlidingWindowLimiter(5, 60))
    settings = feedback_settings(tmp_path, trusted_proxies="10.20.0.0/16, 2001:db8::1")
    with TestClient(create_app(settings), client=(PROXY, 50000)) as test_client:
        yield test_client


def rating(**overrides: Any) -> dict[str, Any]:
    body = {"rating": "up", "entry_type": "service", "entry_id": "svc-hundesteuer", "message_id": uuid.uuid4().hex}
    body.update(overrides)
    return body


def stored(client: TestClient) -> list[Feedback]:
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        return list(session.scalars(select(Feedback)))


def test_rating_is_stored_without_anything_that_identifies_the_citizen(client: TestClient) -> None:
    body = rating(rating="down")
    response = client.post("/api/v1/feedback", json=body)
    assert response.status_code == 201
    [row] = stored(client)
    assert (row.rating, row.entry_type, row.entry_id, row.message_id) == (
        "down",
        "service",
        "svc-hundesteuer",
        body["message_id"],
    )
    assert set(Feedback.__table__.columns.keys()) == {
        "id",
        "rating",
        "entry_type",
        "entry_id",
        "message_id",
        "created_at",
    }


def test_the_same_answer_is_rated_once(client: TestClient) -> None:
    body = rating()
    assert client.post("/api/v1/feedback", json=body).status_code == 201
    assert client.post("/api/v1/feedback", json=dict(body, rating="down")).status_code == 409
    assert [r.rating for r in stored(client)] == ["up"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        rating(rating="meh"),
        rating(rating=""),
        rating(entry_type="user"),
        rating(entry_id=""),
        rating(entry_id="<script>alert(1)</script>"),
        rating(entry_id="x'; DROP TABLE feedback; --"),
        rating(entry_id="x" * 10_000),
        rating(message_id="short"),
        rating(message_id="🐶" * 20),
        rating(session_id="a" * 32),
    ],
)
def test_bad_input_is_refused_without_a_record(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/api/v1/feedback", json=body).status_code == 422
    assert stored(client) == []


def test_not_json_is_refused(client: TestClient) -> None:
    response = client.post("/api/v1/feedback", content=b"rating=up", headers={"Content-Type": "text/plain"})
    assert response.status_code == 422


def test_flooding_is_rate_limited(client: TestClient) -> None:
    codes = [client.post("/api/v1/feedback", json=rating()).status_code for _ in range(7)]
    assert codes == [201] * 5 + [429] * 2
    assert len(stored(client)) == 5


def test_a_made_up_forwarded_for_does_not_escape_the_limit(client: TestClient) -> None:
    # Loopback is no proxy unless configured: each request claiming to come from someone else.
    codes = [
        client.post("/api/v1/feedback", json=rating(), headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(7)
    ]
    assert codes == [201] * 5 + [429] * 2


def test_behind_a_trusted_proxy_each_citizen_has_their_own_limit(behind_proxy: TestClient) -> None:
    def rate_as(forwarded_for: str) -> int:
        return behind_proxy.post(
            "/api/v1/feedback", json=rating(), headers={"X-Forwarded-For": forwarded_for}
        ).status_code

    assert [rate_as("198.51.100.7") for _ in range(5)] == [201] * 5
    assert rate_as("198.51.100.7") == 429
    # Whatever the citizen writes in front, the proxy's own entry (right-most) counts.
    assert rate_as("192.0.2.1, 198.51.100.7") == 429
    assert rate_as(f"198.51.100.7, {PROXY}") == 429  # a chain of our own proxies is looked through
    assert rate_as("198.51.100.8") == 201
    assert rate_as("[2001:db8::7]:443") == 201


def test_embedding_site_may_post_other_sites_may_not(client: TestClient) -> None:
    allowed = client.options(
        "/api/v1/feedback", headers={"Origin": "https://www.krefeld.de", "Access-Control-Request-Method": "POST"}
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://www.krefeld.de"
    other = client.options(
        "/api/v1/feedback", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in other.headers


def test_report_needs_staff_login(client: TestClient) -> None:
    assert client.get("/api/v1/feedback/report").status_code == 401
    bad = client.get("/api/v1/feedback/report", headers={"Authorization": "Bearer forged"})
    assert bad.status_code == 401


def test_staff_report_counts_per_entry_most_down_votes_first(client: TestClient) -> None:
    for entry, vote in [("svc-a", "up"), ("svc-b", "down"), ("svc-b", "down"), ("svc-a", "down")]:
        assert client.post("/api/v1/feedback", json=rating(entry_id=entry, rating=vote)).status_code == 201
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        add_user(session, "vera", STAFF_PASSWORD, "viewer")
        session.commit()
    token = client.post("/api/v1/auth/token", data={"username": "vera", "password": STAFF_PASSWORD}).json()[
        "access_token"
    ]
    response = client.get("/api/v1/feedback/report", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    result = response.json()
    assert (result["total"], result["up"], result["down"]) == (4, 1, 3)
    assert [(e["entry_id"], e["up"], e["down"]) for e in result["entries"]] == [("svc-b", 0, 2), ("svc-a", 1, 1)]
