"""The dashboard counts what the bot did, exactly, and keeps no conversation text.

Answers go through the real ``POST /api/v1/answer`` (seeded knowledge base, lexical search) with a
pinned clock that the test moves from day to day; ratings through ``/api/v1/feedback``; forms through
``/api/v1/events/form`` and ``/api/v1/submissions``, as the action server sends them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.stats import queries
from kumpel_knowledge.stats.models import AnswerEvent, ConversationDayKey
from kumpel_knowledge.stats.queries import Period
from kumpel_knowledge.stats.retention import purge
from kumpel_knowledge.submissions.forms import FORMS

ACTION = {"Authorization": "Bearer test-action-token-0123456789"}
BERLIN = "Europe/Berlin"
MONDAY, TUESDAY = date(2026, 11, 23), date(2026, 11, 24)
WATER_METER = {
    "Einwilligung.Datenschutz": True,
    "Eigentuemer.Name": "Erika Mustermann",
    "Grundstueck.Anschrift.StrasseHausnummer": "Ostwall 12",
    "Grundstueck.Anschrift.Postleitzahl": "47798",
    "Zaehler.Nummer": "18447321",
    "Zaehler.Stand": "1234.5",
    "Zaehler.Ablesedatum": "2026-11-20",
}
HOURS_QUESTION = "Wann hat das Bürgerbüro geöffnet?"
UNKNOWN_QUESTION = "Wer gewinnt die Champions League? Schreibt mir an erika@example.org"


@dataclass
class MovableClock:
    """The service's "now", set by the test."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def at(self, day: date, hour: int, minute: int = 0) -> None:
        """Town time ``hour:minute`` on ``day``."""
        self.now = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(BERLIN)).astimezone(
            timezone.utc
        )


@pytest.fixture()
def clock() -> MovableClock:
    return MovableClock(datetime(2026, 11, 23, 9, tzinfo=timezone.utc))


@pytest.fixture()
def console_clock(clock: MovableClock) -> MovableClock:
    """The console app of conftest.py runs on this test's clock."""
    return clock


@pytest.fixture()
def client(console_app: FastAPI) -> Iterator[TestClient]:
    """The action server's and the widget's view of the same app the console pages run in."""
    with TestClient(console_app) as test_client:
        yield test_client


def ask(client: TestClient, question: str, topic: str = "auto", **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/answer", json={"question": question, "topic": topic, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def sessions(client: TestClient) -> Any:
    return client.app.state.runtime.sessions()  # type: ignore[attr-defined]


def a_morning_of_questions(client: TestClient, clock: MovableClock) -> None:
    """Monday: two conversations; Tuesday: one of them again and a new one. 9 answers in all.

    Monday 09:10  conv-a  answered (Bürgerbüro)        Tuesday 10:05  conv-a  answered (Bürgerbüro)
    Monday 09:20  conv-a  answered (Bürgerbüro)        Tuesday 10:15  conv-c  clarify (3 candidates)
    Monday 09:40  conv-b  unknown                      Tuesday 10:30  conv-c  refused (out of scope)
    Monday 14:00  conv-b  refused (out of scope)       Tuesday 18:45  conv-c  answered (Eheurkunde, chosen)
    Monday 14:10  (no conversation id) unknown
    """
    clock.at(MONDAY, 9, 10)
    assert ask(client, HOURS_QUESTION, "opening_hours", conversation_id="conv-a")["status"] == "answer"
    clock.at(MONDAY, 9, 20)
    ask(client, HOURS_QUESTION, "opening_hours", conversation_id="conv-a")
    clock.at(MONDAY, 9, 40)
    assert ask(client, UNKNOWN_QUESTION, conversation_id="conv-b")["status"] == "unknown"
    clock.at(MONDAY, 14, 0)
    assert ask(client, UNKNOWN_QUESTION, conversation_id="conv-b", out_of_scope=True)["status"] == "unknown"
    clock.at(MONDAY, 14, 10)
    ask(client, UNKNOWN_QUESTION)
    clock.at(TUESDAY, 10, 5)
    ask(client, HOURS_QUESTION, "opening_hours", conversation_id="conv-a")
    clock.at(TUESDAY, 10, 15)
    offered = ["svc-gewerbe-anmelden", "svc-gewerbe-ummelden", "svc-gewerbe-abmelden"]
    clarify = ask(
        client, "Und wie ist die Telefonnummer?", "contact", context={"candidates": offered}, conversation_id="conv-c"
    )
    assert clarify["status"] == "clarify"
    clock.at(TUESDAY, 10, 30)
    ask(client, UNKNOWN_QUESTION, conversation_id="conv-c", out_of_scope=True)
    clock.at(TUESDAY, 18, 45)
    chosen = ask(client, "Eheurkunde", "fees", entity_id="svc-eheurkunde", conversation_id="conv-c")
    assert chosen["entry"] == {"type": "service", "id": "svc-eheurkunde"}


def test_answers_are_counted_per_day_kind_entry_and_hour(client: TestClient, clock: MovableClock) -> None:
    a_morning_of_questions(client, clock)
    period = Period(MONDAY, TUESDAY, BERLIN)
    with sessions(client) as session:
        traffic = queries.traffic_per_day(session, period)
        outcomes = queries.outcomes_per_day(session, period)
        top = queries.top_entries(session, period)
        hours = {(c.weekday, c.hour): c.questions for c in queries.busiest_hours(session, period) if c.questions}
    # Monday: conv-a and conv-b (the answer without an id is a question, not a conversation).
    assert [(t.day, t.conversations, t.questions) for t in traffic] == [(MONDAY, 2, 5), (TUESDAY, 2, 4)]
    assert [(o.answered, o.clarify, o.unknown, o.refused) for o in outcomes] == [(2, 0, 2, 1), (2, 1, 0, 1)]
    assert [(e.entry_type, e.entry_id, e.title, e.questions) for e in top] == [
        ("office", "off-buergerbuero", "Bürgerbüro im Rathaus", 3),
        ("service", "svc-eheurkunde", "Eheurkunde beantragen", 1),
    ]
    assert hours == {(0, 9): 3, (0, 14): 2, (1, 10): 3, (1, 18): 1}  # town time, Monday = 0


def test_no_question_text_and_no_conversation_id_is_stored(client: TestClient, clock: MovableClock) -> None:
    a_morning_of_questions(client, clock)
    with sessions(client) as session:
        rows = [tuple(str(v) for v in row) for row in session.execute(text("SELECT * FROM answer_events")).all()]
    assert len(rows) == 9
    stored = " ".join(" ".join(row) for row in rows).lower()
    for fragment in ("champions", "erika", "example.org", "bürgerbüro", "telefonnummer", "conv-a", "conv-c"):
        assert fragment not in stored


def test_the_conversation_key_changes_with_the_day_and_is_not_the_id(client: TestClient, clock: MovableClock) -> None:
    a_morning_of_questions(client, clock)
    with sessions(client) as session:
        keys = session.execute(
            select(AnswerEvent.day, AnswerEvent.conversation_key).where(AnswerEvent.entry_id == "off-buergerbuero")
        ).all()
        day_keys = session.scalars(select(ConversationDayKey.day)).all()
    monday = {key for day, key in keys if day == MONDAY}
    tuesday = {key for day, key in keys if day == TUESDAY}
    assert len(monday) == 1 and len(tuesday) == 1  # conv-a is one conversation on each day ...
    assert monday != tuesday  # ... and cannot be followed from Monday to Tuesday
    assert "conv-a" not in monday | tuesday and all(re.fullmatch(r"[0-9a-f]{32}", k) for k in monday | tuesday)
    assert day_keys == [TUESDAY]  # Monday's key is gone: Monday's keys cannot be recomputed


def test_a_count_that_fails_to_write_costs_no_answer(client: TestClient, clock: MovableClock) -> None:
    with sessions(client) as session:
        session.execute(text("DROP TABLE answer_events"))
        session.commit()
    assert ask(client, HOURS_QUESTION, "opening_hours", conversation_id="conv-a")["status"] == "answer"


def test_form_events_need_the_action_token_and_valid_input(client: TestClient) -> None:
    body = {"form": "water_meter_reading", "event": "started"}
    assert client.post("/api/v1/events/form", json=body).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token-0123456789"}
    assert client.post("/api/v1/events/form", json=body, headers=wrong).status_code == 401
    for bad in (
        {"form": "water_meter_reading", "event": "exploded"},
        {"form": "no_such_form", "event": "started"},
        {"form": "water_meter_reading"},
        {"form": "water_meter_reading", "event": "started", "conversation_id": "conv-a"},
    ):
        response = client.post("/api/v1/events/form", json=bad, headers=ACTION)
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"][0] == "body"
    assert client.post("/api/v1/events/form", json=body, headers=ACTION).status_code == 204


def forms_and_ratings(client: TestClient, clock: MovableClock) -> None:
    """Water meter: 3 started, 1 cancelled, 1 submitted on Monday; ratings for two entries (today)."""
    clock.at(MONDAY, 11)
    for event in ("started", "started", "started", "cancelled"):
        assert (
            client.post(
                "/api/v1/events/form", json={"form": "water_meter_reading", "event": event}, headers=ACTION
            ).status_code
            == 204
        )
    assert (
        client.post(
            "/api/v1/events/form", json={"form": "dog_tax_registration", "event": "started"}, headers=ACTION
        ).status_code
        == 204
    )
    submitted = client.post(
        "/api/v1/submissions",
        json={"form": "water_meter_reading", "data": WATER_METER},
        headers={**ACTION, "Idempotency-Key": "conv-a:water_meter_reading:1"},
    )
    assert submitted.status_code == 201, submitted.text
    for n, (rating, entry) in enumerate(
        [
            ("up", "off-buergerbuero"),
            ("down", "off-buergerbuero"),
            ("down", "off-buergerbuero"),
            ("up", "svc-eheurkunde"),
        ]
    ):
        entry_type = "office" if entry.startswith("off-") else "service"
        body = {"rating": rating, "entry_type": entry_type, "entry_id": entry, "message_id": f"message-{n:012d}"}
        assert client.post("/api/v1/feedback", json=body).status_code == 201


def test_forms_and_ratings_are_counted(client: TestClient, clock: MovableClock) -> None:
    forms_and_ratings(client, clock)
    today = datetime.now(ZoneInfo(BERLIN)).date()  # ratings are stamped by the database's clock
    with sessions(client) as session:
        forms = {
            f.form: (f.started, f.submitted, f.cancelled)
            for f in queries.forms_per_form(session, Period(MONDAY, MONDAY, BERLIN))
        }
        ratings = queries.ratings_per_entry(session, Period(MONDAY, today, BERLIN))
    assert forms == {
        "water_meter_reading": (3, 1, 1),
        "dog_tax_registration": (1, 0, 0),
        "dog_tax_deregistration": (0, 0, 0),
    }
    assert [(r.entry_id, r.title, r.up, r.down) for r in ratings] == [
        ("off-buergerbuero", "Bürgerbüro im Rathaus", 1, 2),
        ("svc-eheurkunde", "Eheurkunde beantragen", 1, 0),
    ]


def test_events_past_their_retention_are_purged(
    client: TestClient, clock: MovableClock, kb_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_morning_of_questions(client, clock)
    monkeypatch.setenv("KUMPEL_DATABASE_URL", kb_settings.database_url)
    monkeypatch.setenv("KUMPEL_STATS_RETENTION_DAYS", "7")
    from kumpel_knowledge.core.settings import get_settings

    get_settings.cache_clear()
    try:
        on_tuesday_next_week = MovableClock(datetime(2026, 12, 1, 9, tzinfo=timezone.utc))
        assert purge(dry_run=True, clock=on_tuesday_next_week) == "5 dashboard events would be deleted"
        assert purge(clock=on_tuesday_next_week) == "deleted 5 dashboard events"
    finally:
        get_settings.cache_clear()
    with sessions(client) as session:
        assert {day for (day,) in session.execute(select(AnswerEvent.day))} == {TUESDAY}


# ---- the page and its CSV downloads (viewer and up) -------------------------------------------------


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("\ufeff")  # so that spreadsheet programs read UTF-8
    return list(csv.reader(io.StringIO(response.text.removeprefix("\ufeff")), delimiter=";"))


@pytest.fixture()
def viewer(client: TestClient, clock: MovableClock, console_client: Any) -> Any:
    """After Monday's and Tuesday's questions, forms and ratings: a viewer signed in on Tuesday evening."""
    a_morning_of_questions(client, clock)
    forms_and_ratings(client, clock)
    clock.at(TUESDAY, 19)
    return console_client("viewer")


def test_the_page_shows_every_chart_with_its_table_csv_link_and_inbox_links(viewer: Any) -> None:
    page = viewer.get("/staff/dashboard", params={"period": "custom", "from": "2026-11-23", "to": "2026-11-24"})
    assert page.status_code == 200
    html = page.text
    assert "Zeitraum: 23.11.2026 bis 24.11.2026" in html
    for chart in ("gespraeche", "antworten", "top-themen", "formulare", "uhrzeiten"):
        assert f'<canvas id="{chart}-chart"' in html
        assert f'href="/staff/dashboard/{chart}.csv?from=2026-11-23&amp;to=2026-11-24"' in html
    assert html.count("<table") == 5  # no ratings were given on these two days: no empty table
    assert "Im gewählten Zeitraum gibt es dazu noch keine Zahlen." in html
    for kind, day in (
        ("unknown", "2026-11-23"),
        ("refused", "2026-11-23"),
        ("clarify", "2026-11-24"),
        ("refused", "2026-11-24"),
    ):
        assert f'href="/staff/inbox?kind={kind}&amp;day={day}"' in html
    assert "/staff/inbox?kind=unknown&amp;day=2026-11-24" not in html  # no unknown on Tuesday: no link
    assert "Champions" not in html and "erika" not in html.lower() and "conv-a" not in html
    assert '<a href="/staff/dashboard" aria-current="page">Auswertung</a>' in html


def test_each_csv_has_exactly_the_numbers(viewer: Any) -> None:
    period = {"from": "2026-11-23", "to": "2026-11-24"}

    def get(chart: str, **params: str) -> list[list[str]]:
        return csv_rows(viewer.get(f"/staff/dashboard/{chart}.csv", params=params or period))

    assert get("gespraeche") == [["Tag", "Gespräche", "Fragen"], ["2026-11-23", "2", "5"], ["2026-11-24", "2", "4"]]
    assert get("antworten") == [
        ["Tag", "Beantwortet", "Rückfrage", "Unbekannt", "Abgelehnt"],
        ["2026-11-23", "2", "0", "2", "1"],
        ["2026-11-24", "2", "1", "0", "1"],
    ]
    assert get("top-themen") == [
        ["Eintrag", "Art", "Kennung", "Fragen"],
        ["Bürgerbüro im Rathaus", "Amt", "off-buergerbuero", "3"],
        ["Eheurkunde beantragen", "Leistung", "svc-eheurkunde", "1"],
    ]
    assert get("formulare") == [
        ["Formular", "Begonnen", "Abgeschickt", "Abgebrochen"],
        [FORMS["dog_tax_deregistration"].title, "0", "0", "0"],
        [FORMS["dog_tax_registration"].title, "1", "0", "0"],
        [FORMS["water_meter_reading"].title, "3", "1", "1"],
    ]
    hours = get("uhrzeiten")
    assert hours[0] == ["Uhrzeit", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
    assert len(hours) == 25
    busy = {
        (row[0], day): int(n) for row in hours[1:] for day, n in zip(hours[0][1:], row[1:], strict=True) if n != "0"
    }
    assert busy == {("09:00", "Montag"): 3, ("14:00", "Montag"): 2, ("10:00", "Dienstag"): 3, ("18:00", "Dienstag"): 1}
    today = datetime.now(ZoneInfo(BERLIN)).date().isoformat()  # ratings carry the database's time
    assert get("bewertungen", **{"from": "2026-11-23", "to": today}) == [
        ["Eintrag", "Kennung", "Daumen hoch", "Daumen runter"],
        ["Bürgerbüro im Rathaus", "off-buergerbuero", "1", "2"],
        ["Eheurkunde beantragen", "svc-eheurkunde", "1", "0"],
    ]


def test_a_wrong_period_is_named_on_the_page_and_in_the_csv(viewer: Any) -> None:
    page = viewer.get("/staff/dashboard", params={"period": "custom", "from": "2026-11-30", "to": "2026-11-01"})
    assert page.status_code == 422
    assert "Bis: Das Datum liegt vor dem Von-Datum." in page.text
    assert 'aria-describedby="to-error' in page.text or 'aria-describedby="to-help to-error' in page.text
    broken = viewer.get("/staff/dashboard/antworten.csv", params={"from": "gestern", "to": "2026-11-24"})
    assert broken.status_code == 422 and broken.text.startswith("Von: Bitte ein Datum angeben")
    too_long = viewer.get("/staff/dashboard/antworten.csv", params={"from": "2024-01-01", "to": "2026-11-24"})
    assert too_long.status_code == 422 and "höchstens 400 Tage" in too_long.text
    assert viewer.get("/staff/dashboard/passwoerter.csv").status_code == 404


def test_the_presets_count_back_from_today_in_the_town(viewer: Any) -> None:
    page = viewer.get("/staff/dashboard", params={"period": "30"})
    assert page.status_code == 200 and "Zeitraum: 26.10.2026 bis 24.11.2026" in page.text
    assert "Zeitraum: 18.11.2026 bis 24.11.2026" in viewer.get("/staff/dashboard").text  # 7 days by default


def test_without_a_session_the_dashboard_and_its_csv_go_to_the_login(anonymous_client: Any) -> None:
    for path in ("/staff/dashboard", "/staff/dashboard/antworten.csv?from=2026-11-23&to=2026-11-24"):
        response = anonymous_client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/staff/login?next=")
