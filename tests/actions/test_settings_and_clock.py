"""The action server's settings and clock: what an operator configures and what a test pins."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clock import clock_from_settings, fixed_clock, system_clock
from actions.forms.actions import today_in_city
from actions.knowledge_actions import ActionGetOpeningHours
from actions.knowledge_client import KnowledgeClient
from actions.settings import ActionSettings

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def _no_kumpel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KNOWLEDGE_URL", "ACTION_TOKEN", "TIMEZONE", "ENV", "FIXED_NOW"):
        monkeypatch.delenv(f"KUMPEL_{name}", raising=False)


def test_defaults_are_the_local_development_stack() -> None:
    settings = ActionSettings()
    assert settings.knowledge_url == "http://127.0.0.1:8000"
    assert settings.action_token == ""
    assert settings.timezone == "Europe/Berlin"
    assert settings.fixed_now is None
    assert clock_from_settings(settings) is system_clock


def test_empty_variables_mean_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUMPEL_KNOWLEDGE_URL", "")
    monkeypatch.setenv("KUMPEL_FIXED_NOW", "")
    settings = ActionSettings()
    assert settings.knowledge_url == "http://127.0.0.1:8000"
    assert settings.fixed_now is None


def test_the_client_takes_url_and_token_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUMPEL_KNOWLEDGE_URL", "http://knowledge.internal:8000/")
    monkeypatch.setenv("KUMPEL_ACTION_TOKEN", "s3cret")
    client = KnowledgeClient(settings=ActionSettings())
    assert client.base_url == "http://knowledge.internal:8000"
    assert client._token == "s3cret"


def test_a_pinned_clock_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUMPEL_ENV", "production")
    monkeypatch.setenv("KUMPEL_FIXED_NOW", "2026-11-23T10:00:00+01:00")
    with pytest.raises(ValidationError, match="KUMPEL_FIXED_NOW .* refused with KUMPEL_ENV=production"):
        ActionSettings()


def test_a_pinned_clock_without_offset_is_read_in_the_city_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUMPEL_FIXED_NOW", "2026-07-01T10:00:00")
    now = clock_from_settings(ActionSettings())()
    assert now.utcoffset() == timedelta(hours=2)  # summer time in Berlin


def test_an_unknown_time_zone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUMPEL_TIMEZONE", "Europe/Krefeld")
    with pytest.raises(ValidationError, match="unknown time zone"):
        ActionSettings()


def test_today_is_the_city_date_not_the_utc_date() -> None:
    late_evening_utc = fixed_clock(datetime(2026, 11, 23, 23, 30, tzinfo=timezone.utc))
    assert today_in_city(late_evening_utc, BERLIN) == date(2026, 11, 24)


def test_a_fixed_clock_needs_an_offset() -> None:
    with pytest.raises(ValueError, match="aware"):
        fixed_clock(datetime(2026, 11, 23, 10, 0))


def test_the_knowledge_question_is_asked_for_the_clock_s_moment() -> None:
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"status": "unknown", "text": "Das weiß ich leider nicht."})

    client = KnowledgeClient(base_url="http://kb.test", token="t", transport=httpx.MockTransport(handler))
    monday = fixed_clock(datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN))
    action = ActionGetOpeningHours(client, clock=monday)
    tracker = Tracker("t1", {}, {"text": "Ist das Bürgerbüro jetzt offen?"}, [], False, None, {}, None)
    asyncio.run(action.run(CollectingDispatcher(), tracker, {}))
    assert datetime.fromisoformat(sent[0]["now"]) == datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
