"""Fixtures of the console tests: an app on a private seeded SQLite copy, signed-in clients per role.

``console_client(role)`` gives a ``TestClient`` signed in through the real login form (no shortcut
around the session code under test), with ``.csrf`` for the forms it posts. All clients of one
test share one app, one database and one clock (``console_clock``, which tests move forward).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.deps import Runtime
from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.staff.auth import add_user

PASSWORD = "correct horse battery staple"


@dataclass
class ConsoleClock:
    """The app's "now": starts at the real time, moves only when a test says so."""

    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move on, e.g. ``advance(minutes=31)``."""
        self.now += timedelta(**delta)


class ConsoleClient(TestClient):
    """A client signed in to the console: ``username``, ``role`` and the session's ``csrf`` token."""

    username: str = ""
    role: str = ""
    csrf: str = ""

    def form(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form with this session's CSRF token (no redirect followed)."""
        kwargs.setdefault("follow_redirects", False)
        return self.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)


def login_token_of(html: str) -> str:
    """The hidden login-form token of the login page."""
    found = re.search(r'name="login_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def csrf_of(html: str) -> str:
    """The session's CSRF token as a page carries it (the hidden field of its forms)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD, next_path: str = "/staff/") -> Any:
    """Fill in and send the real login form; returns the POST's response (303 on success)."""
    page = client.get("/staff/login")
    return client.post(
        "/staff/login",
        data={"username": username, "password": password, "login_token": login_token_of(page.text), "next": next_path},
        follow_redirects=False,
    )


@pytest.fixture()
def console_clock() -> ConsoleClock:
    """The clock of the console app of this test."""
    return ConsoleClock()


@pytest.fixture()
def console_settings(kb_settings: Settings) -> Settings:
    """The settings of the console app (lexical search, private seeded SQLite copy)."""
    return kb_settings


@pytest.fixture()
def console_app(console_settings: Settings, console_clock: ConsoleClock) -> Iterator[FastAPI]:
    """One app per test; its lifespan (schema, index) runs once, for all its clients."""
    app = create_app(console_settings, clock=console_clock)
    with TestClient(app):
        yield app


@pytest.fixture()
def console_runtime(console_app: FastAPI) -> Runtime:
    """The app's runtime: ``console_runtime.sessions()`` opens the test's database."""
    runtime: Runtime = console_app.state.runtime
    return runtime


@pytest.fixture()
def console_client(console_app: FastAPI, console_runtime: Runtime) -> Iterator[Callable[..., ConsoleClient]]:
    """``console_client(role, username=None)`` -> a new account of that role, signed in via the form."""
    clients: list[ConsoleClient] = []

    def make(role: str = "editor", username: str | None = None) -> ConsoleClient:
        name = username or f"{role}-{len(clients) + 1}"
        with console_runtime.sessions() as db:
            add_user(db, name, PASSWORD, role)
        client = ConsoleClient(console_app)
        done = sign_in(client, name)
        assert done.status_code == 303, done.text
        client.username, client.role = name, role
        client.csrf = csrf_of(client.get("/staff/").text)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture()
def anonymous_client(console_app: FastAPI) -> Iterator[ConsoleClient]:
    """A client of the console app without a session."""
    with ConsoleClient(console_app) as client:
        yield client
