"""Staff login under attack: lockout per account and per address, the same answers for unknown
accounts, state shared by replicas, audited without passwords; secrets that are never placeholders.

Time comes from an injected clock, so a 15-minute lockout needs no sleeping.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response  # what starlette's TestClient answers with
from pydantic import ValidationError
from sqlalchemy import select

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.staff.auth import add_user
from kumpel_knowledge.staff.models import AuditLog, LoginThrottle

PASSWORD = "the-right-password-42"
WRONG = "a-wrong-password-00"
CITIZEN_A, CITIZEN_B = "198.51.100.7", "198.51.100.8"


class FakeClock:
    """A clock that stands still until the test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": f"sqlite:///{tmp_path / 'staff.db'}",
        "search_mode": "lexical",
        "seed_on_start": False,
        "index_refresh_seconds": 0,
        "secret_key": "test-secret-key-0123456789",
        "action_token": "test-action-token-0123456789",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def app(tmp_path: Path, clock: FakeClock) -> Iterator[FastAPI]:
    application = create_app(make_settings(tmp_path), clock=clock)
    with TestClient(application):  # runs the start-up: migrations to the head, including login_throttle
        with application.state.runtime.sessions() as session:
            add_user(session, "anna", PASSWORD, "editor")
        yield application


@pytest.fixture()
def client(app: FastAPI) -> TestClient:
    return TestClient(app, client=(CITIZEN_A, 50000))


def log_in(client: TestClient, username: str, password: str, **headers: str) -> Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password}, headers=headers)


def audit_entries(app: FastAPI) -> list[AuditLog]:
    with app.state.runtime.sessions() as session:
        return list(session.scalars(select(AuditLog).order_by(AuditLog.id)))


def test_the_sixth_wrong_password_is_refused_until_the_lock_ends_even_with_the_right_one(
    client: TestClient, clock: FakeClock
) -> None:
    assert [log_in(client, "anna", WRONG).status_code for _ in range(5)] == [401] * 5
    sixth = log_in(client, "anna", WRONG)
    assert sixth.status_code == 429
    assert sixth.headers["Retry-After"] == "900"
    assert sixth.json() == {"detail": "too many failed logins; try again in 900 seconds"}
    clock.advance(600)
    right_but_locked = log_in(client, "anna", PASSWORD)
    assert right_but_locked.status_code == 429
    assert right_but_locked.headers["Retry-After"] == "300"
    assert "access_token" not in right_but_locked.json()
    clock.advance(300)
    after = log_in(client, "anna", PASSWORD)
    assert after.status_code == 200
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {after.json()['access_token']}"})
    assert me.json() == {"username": "anna", "role": "editor"}


def test_an_unknown_account_gets_exactly_the_same_answers(client: TestClient, clock: FakeClock) -> None:
    def attack(username: str) -> list[tuple[int, str | None, object]]:
        answers = [log_in(client, username, WRONG) for _ in range(6)] + [log_in(client, username, PASSWORD)]
        return [(r.status_code, r.headers.get("Retry-After"), r.json()) for r in answers]

    existing = attack("anna")
    unknown = attack("nobody")
    assert existing == unknown
    assert [status for status, _, _ in existing] == [401] * 5 + [429, 429]


def test_a_repeated_lockout_lasts_longer(client: TestClient, clock: FakeClock) -> None:
    for _ in range(5):
        log_in(client, "anna", WRONG)
    assert log_in(client, "anna", WRONG).headers["Retry-After"] == "900"
    clock.advance(900)
    assert [log_in(client, "anna", WRONG).status_code for _ in range(5)] == [401] * 5
    assert log_in(client, "anna", PASSWORD).headers["Retry-After"] == "1800"
    clock.advance(1800)
    for _ in range(5):
        log_in(client, "anna", WRONG)
    assert log_in(client, "anna", PASSWORD).headers["Retry-After"] == "3600"


def test_failures_spread_beyond_the_window_do_not_lock(client: TestClient, clock: FakeClock) -> None:
    for _ in range(4):
        assert log_in(client, "anna", WRONG).status_code == 401
    clock.advance(15 * 60)
    for _ in range(4):
        assert log_in(client, "anna", WRONG).status_code == 401
    assert log_in(client, "anna", PASSWORD).status_code == 200


def test_a_successful_login_starts_the_account_afresh(client: TestClient) -> None:
    for _ in range(4):
        assert log_in(client, "anna", WRONG).status_code == 401
    assert log_in(client, "anna", PASSWORD).status_code == 200
    assert [log_in(client, "anna", WRONG).status_code for _ in range(4)] == [401] * 4
    assert log_in(client, "anna", PASSWORD).status_code == 200


def test_one_address_guessing_many_accounts_is_locked_out_of_all_of_them(app: FastAPI, client: TestClient) -> None:
    for n in range(20):
        assert log_in(client, f"guess-{n}", WRONG).status_code == 401
    refused = log_in(client, "anna", PASSWORD)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "900"
    colleague = TestClient(app, client=(CITIZEN_B, 50000))
    assert log_in(colleague, "anna", PASSWORD).status_code == 200


def test_the_lock_holds_on_every_replica(tmp_path: Path, clock: FakeClock) -> None:
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings, clock=clock), client=(CITIZEN_A, 1)) as replica_a:
        with replica_a.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
            add_user(session, "anna", PASSWORD, "editor")
        with TestClient(create_app(settings, clock=clock), client=(CITIZEN_B, 1)) as replica_b:
            assert [log_in(replica_a, "anna", WRONG).status_code for _ in range(3)] == [401] * 3
            assert [log_in(replica_b, "anna", WRONG).status_code for _ in range(2)] == [401] * 2
            assert log_in(replica_a, "anna", PASSWORD).status_code == 429
            assert log_in(replica_b, "anna", PASSWORD).status_code == 429


def test_failures_and_the_lock_are_audited_under_the_name_tried_never_the_password(
    app: FastAPI, client: TestClient
) -> None:
    for _ in range(6):
        log_in(client, "anna", WRONG)
    log_in(client, "mallory", WRONG)
    entries = audit_entries(app)
    assert [(e.username, e.action) for e in entries] == [("anna", "login_failed")] * 5 + [
        ("anna", "login_locked"),
        ("mallory", "login_failed"),
    ]
    lock = entries[5]
    assert lock.detail == {"scope": "account", "until": "2026-12-01T09:15:00+00:00", "lockouts": 1}
    assert lock.at.replace(tzinfo=timezone.utc) == datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    everything = repr([(e.username, e.entity_id, e.detail) for e in entries])
    assert WRONG not in everything and CITIZEN_A not in everything


def test_the_counters_store_neither_names_nor_addresses(app: FastAPI, client: TestClient) -> None:
    log_in(client, "anna", WRONG)
    with app.state.runtime.sessions() as session:
        rows = list(session.scalars(select(LoginThrottle)))
    assert sorted(row.scope for row in rows) == ["account", "address"]
    assert all("anna" not in row.key and CITIZEN_A not in row.key for row in rows)


def test_a_forged_forwarded_for_does_not_escape_the_address_lock(app: FastAPI, client: TestClient) -> None:
    for n in range(20):
        log_in(client, f"guess-{n}", WRONG, **{"X-Forwarded-For": f"203.0.113.{n}"})
    assert log_in(client, "anna", PASSWORD, **{"X-Forwarded-For": "203.0.113.99"}).status_code == 429


def test_behind_a_trusted_proxy_each_citizen_is_counted_on_their_own(tmp_path: Path, clock: FakeClock) -> None:
    settings = make_settings(tmp_path, trusted_proxies="10.0.0.0/8")
    with TestClient(create_app(settings, clock=clock), client=("10.1.2.3", 1)) as proxy:
        with proxy.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
            add_user(session, "anna", PASSWORD, "editor")
        for n in range(20):
            log_in(proxy, f"guess-{n}", WRONG, **{"X-Forwarded-For": f"6.6.6.{n}, {CITIZEN_A}"})
        assert log_in(proxy, "anna", PASSWORD, **{"X-Forwarded-For": CITIZEN_A}).status_code == 429
        assert log_in(proxy, "anna", PASSWORD, **{"X-Forwarded-For": CITIZEN_B}).status_code == 200


@pytest.mark.parametrize("username", ["anna\x00", "anna\nadmin", "x" * 81])
def test_a_name_no_account_can_have_is_refused_precisely(client: TestClient, username: str) -> None:
    response = log_in(client, username, PASSWORD)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "username"]


# --- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret_key", "action_token", "named"),
    [
        ("", "t" * 32, "KUMPEL_SECRET_KEY"),
        ("s" * 32, "", "KUMPEL_ACTION_TOKEN"),
        ("dev-secret-change-me", "t" * 32, "KUMPEL_SECRET_KEY"),
        ("s" * 32, "please-change-me-before-going-live", "KUMPEL_ACTION_TOKEN"),
        ("short-secret", "t" * 32, "KUMPEL_SECRET_KEY"),
        ("s" * 32, "s" * 32, "must differ"),
    ],
)
def test_production_refuses_to_start_without_real_secrets(
    tmp_path: Path, secret_key: str, action_token: str, named: str
) -> None:
    settings = make_settings(tmp_path, env="production", secret_key=secret_key, action_token=action_token)
    with pytest.raises(RuntimeError, match=named):
        create_app(settings)


def test_empty_secrets_default_to_nothing_known(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KUMPEL_SECRET_KEY", "KUMPEL_ACTION_TOKEN", "KUMPEL_ENV"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.secret_key == "" and settings.action_token == ""


def test_development_generates_a_new_secret_per_start_and_old_tokens_die(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, env="development", secret_key="", action_token="")
    caplog.set_level(logging.INFO, logger="kumpel_knowledge")
    with TestClient(create_app(settings), client=(CITIZEN_A, 1)) as first:
        with first.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
            add_user(session, "anna", PASSWORD, "editor")
        token = log_in(first, "anna", PASSWORD).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert first.get("/api/v1/auth/me", headers=auth).status_code == 200
        first_runtime = first.app.state.runtime.settings  # type: ignore[attr-defined]
    with TestClient(create_app(settings), client=(CITIZEN_A, 1)) as second:
        second_runtime = second.app.state.runtime.settings  # type: ignore[attr-defined]
        assert second.get("/api/v1/auth/me", headers=auth).status_code == 401
    assert len(first_runtime.secret_key) >= 32 and len(first_runtime.action_token) >= 32
    assert first_runtime.secret_key != second_runtime.secret_key
    assert first_runtime.action_token != second_runtime.action_token
    assert first_runtime.secret_key != first_runtime.action_token
    messages = [record.getMessage() for record in caplog.records]
    assert messages.count("generated a random KUMPEL_SECRET_KEY for this run") == 2
    assert messages.count("generated a random KUMPEL_ACTION_TOKEN for this run") == 2
    assert not any(first_runtime.secret_key in m or second_runtime.secret_key in m for m in messages)


def test_submissions_refuse_the_old_placeholder_token_in_development(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, env="development", action_token=""))) as client:
        response = client.post(
            "/api/v1/submissions",
            json={"form": "dog_tax_registration", "data": {}, "language": "de"},
            headers={"Idempotency-Key": "k-1", "Authorization": "Bearer dev-secret-change-me"},
        )
    assert response.status_code == 401


def test_a_mistyped_trusted_proxy_stops_the_start() -> None:
    with pytest.raises(ValidationError, match="'10.0.0.300' is not an IP address or CIDR network"):
        Settings(trusted_proxies="10.0.0.1, 10.0.0.300")
