"""Form submissions for staff: the console's pages (/staff/submissions) and the JSON API they share code with.

What an editor notices: the list filtered by form, day and status, newest first and paged; one submission
with every field under its label; export files identical to the API's; "mark as processed" that sticks.
What an attacker notices: a viewer gets 403, a form without the CSRF token 403, nothing changes. What
the data protection officer notices: every view and export is in the audit log, with references only.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.staff.auth import add_user
from kumpel_knowledge.staff.models import AuditLog

ACTION_TOKEN = "test-action-token-0123456789"
PASSWORD = "correct horse battery staple"

# A complete dog-tax registration as the dialogue exports it (actions/forms/engine.py::export_data).
DOG_TAX: dict[str, Any] = {
    "Einwilligung.Datenschutz": True,
    "Halter.Name": "Erika Mustermann",
    "Halter.Anschrift.StrasseHausnummer": "Ostwall 12",
    "Halter.Anschrift.Postleitzahl": "47798",
    "Halter.Kommunikation.EMail": "",
    "Hund.Name": "Rex",
    # The breed is free text: a formula passes the form's checks, so the export must defuse it.
    "Hund.Rasse": '=HYPERLINK("http://evil.example")',
    "Hund.GefaehrlicherHund": False,
    "Hund.Geburtsdatum": "2024-04-03",
    "Hund.Haltungsbeginn": "2024-06-01",
    "Hund.Transpondernummer": "276098100123456",
    "Haushalt.AnzahlAngemeldeteHunde": 0,
    "Antrag.ErmaessigungBefreiung": "keine",
    "Zahlung.SEPALastschriftmandat": True,
    "Zahlung.IBAN": "DE89370400440532013000",
}
WATER_METER: dict[str, Any] = {
    "Einwilligung.Datenschutz": True,
    "Eigentuemer.Name": "Max Muster",
    "Grundstueck.Anschrift.StrasseHausnummer": "Ostwall 12",
    "Grundstueck.Anschrift.Postleitzahl": "47798",
    "Zaehler.Nummer": "18447321",
    "Zaehler.Stand": "1234.5",
    "Zaehler.Ablesedatum": "2026-11-02",
}
# Citizen data that must never reach the audit log.
PERSONAL = ("Erika", "Mustermann", "Max Muster", "Ostwall", "DE89370400440532013000", "276098100123456")


class StepClock:
    """The service's clock, moved by the test (submissions on different days, no sleeping)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 3, 9, 30, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock() -> StepClock:
    return StepClock()


@pytest.fixture()
def client(kb_settings: Settings, clock: StepClock) -> Iterator[TestClient]:
    with TestClient(create_app(kb_settings, clock=clock)) as test_client:
        with test_client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
            add_user(session, "erika.editor", PASSWORD, "editor")
            add_user(session, "vera.viewer", PASSWORD, "viewer")
        yield test_client


def bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def submit(client: TestClient, form: str, data: dict[str, Any], key: str) -> str:
    response = client.post(
        "/api/v1/submissions",
        json={"form": form, "data": data, "language": "de"},
        headers={"Idempotency-Key": key, "Authorization": f"Bearer {ACTION_TOKEN}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["reference"])


@pytest.fixture()
def references(client: TestClient, clock: StepClock) -> dict[str, str]:
    """Three submissions: a dog tax on 3 Nov, a water meter on 5 Nov, a dog tax on 9 Nov (2026)."""
    made = {"dog_early": submit(client, "dog_tax_registration", DOG_TAX, "c1:dog:1")}
    clock.now += timedelta(days=2)
    made["water"] = submit(client, "water_meter_reading", WATER_METER, "c2:water:1")
    clock.now += timedelta(days=4)
    made["dog_late"] = submit(client, "dog_tax_registration", dict(DOG_TAX, **{"Hund.Name": "Bello"}), "c3:dog:1")
    return made


def audit_entries(client: TestClient) -> list[AuditLog]:
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        rows = session.scalars(select(AuditLog).where(AuditLog.entity_type == "submission").order_by(AuditLog.id)).all()
        session.expunge_all()
        return list(rows)


def assert_no_personal_data(entries: list[AuditLog]) -> None:
    text = json.dumps([[e.username, e.action, e.entity_id, e.detail] for e in entries], ensure_ascii=False)
    for value in PERSONAL:
        assert value not in text


# --- the JSON API: filters, the processed field and its route -------------------------------------------


def test_api_filters_by_form_day_and_status_newest_first(client: TestClient, references: dict[str, str]) -> None:
    editor = bearer(client, "erika.editor")

    def listed(query: str) -> list[str]:
        response = client.get(f"/api/v1/submissions?{query}", headers=editor)
        assert response.status_code == 200, response.text
        return [item["reference"] for item in response.json()["items"]]

    assert listed("") == [references["dog_late"], references["water"], references["dog_early"]]
    assert listed("form=dog_tax_registration") == [references["dog_late"], references["dog_early"]]
    assert listed("from=2026-11-05&to=2026-11-05") == [references["water"]]
    assert listed("from=2026-11-04") == [references["dog_late"], references["water"]]
    assert listed("to=2026-11-03") == [references["dog_early"]]
    assert listed("processed=true") == []
    assert client.get("/api/v1/submissions?from=yesterday", headers=editor).status_code == 422


def test_api_marks_processed_once_and_the_field_shows_it(
    client: TestClient, references: dict[str, str], clock: StepClock
) -> None:
    editor = bearer(client, "erika.editor")
    reference = references["water"]
    first = client.post(f"/api/v1/submissions/{reference}/processed", headers=editor)
    assert first.status_code == 200, first.text
    assert first.json()["processed_by"] == "erika.editor"
    assert first.json()["processed_at"] == clock.now.isoformat()
    assert "data" not in first.json()
    clock.now += timedelta(hours=1)
    again = client.post(f"/api/v1/submissions/{reference}/processed", headers=editor)
    assert again.json()["processed_at"] == first.json()["processed_at"]  # the first mark stays
    one = client.get(f"/api/v1/submissions/{reference}", headers=editor).json()
    assert one["processed_by"] == "erika.editor"
    open_ones = client.get("/api/v1/submissions?processed=false", headers=editor).json()["items"]
    assert reference not in [item["reference"] for item in open_ones]
    done = client.get("/api/v1/submissions?processed=true", headers=editor).json()["items"]
    assert [item["reference"] for item in done] == [reference]
    marks = [entry for entry in audit_entries(client) if entry.action == "processed"]
    assert len(marks) == 1 and marks[0].entity_id == reference and marks[0].username == "erika.editor"
    assert marks[0].detail["before"]["processed_at"] is None


def test_api_processed_needs_an_editor_and_a_known_reference(client: TestClient, references: dict[str, str]) -> None:
    reference = references["water"]
    assert client.post(f"/api/v1/submissions/{reference}/processed").status_code == 401
    assert (
        client.post(f"/api/v1/submissions/{reference}/processed", headers=bearer(client, "vera.viewer")).status_code
        == 403
    )
    editor = bearer(client, "erika.editor")
    assert client.post("/api/v1/submissions/WZS-2026-999999/processed", headers=editor).status_code == 404
    assert client.post("/api/v1/submissions/..%2Fetc/processed", headers=editor).status_code == 404
    listing = client.get("/api/v1/submissions?processed=true", headers=editor).json()
    assert listing["total"] == 0


# --- the console pages -----------------------------------------------------------------------------------

CSRF_IN_PAGE = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_login(client: TestClient, username: str) -> str:
    """Sign in through the real login form; returns the session's CSRF token (from a page's form)."""
    form = client.get("/staff/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token, form.text
    response = client.post(
        "/staff/login",
        data={"username": username, "password": PASSWORD, "login_token": token.group(1), "next": "/staff/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/staff/")
    csrf_token = CSRF_IN_PAGE.search(home.text)
    assert csrf_token, home.text
    return csrf_token.group(1)


def listed_references(html: str) -> list[str]:
    return re.findall(r'<a href="/staff/submissions/([A-Z]+-\d{4}-\d+)">', html)


@pytest.fixture()
def editor_csrf(client: TestClient) -> str:
    return console_login(client, "erika.editor")


def test_the_list_shows_newest_first_and_filters_by_form_day_and_status(
    client: TestClient, references: dict[str, str], editor_csrf: str
) -> None:
    page = client.get("/staff/submissions")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert listed_references(page.text) == [references["dog_late"], references["water"], references["dog_early"]]
    assert "3 Eingänge" in page.text and "Hundesteuer" in page.text
    assert "Mustermann" not in page.text  # the list names no citizen

    dogs = client.get("/staff/submissions", params={"form": "dog_tax_registration"})
    assert listed_references(dogs.text) == [references["dog_late"], references["dog_early"]]
    # The date field sends ISO days; typed German days work too.
    one_day = client.get("/staff/submissions", params={"from": "2026-11-05", "to": "05.11.2026"})
    assert listed_references(one_day.text) == [references["water"]]
    assert listed_references(client.get("/staff/submissions", params={"status": "processed"}).text) == []
    assert len(listed_references(client.get("/staff/submissions", params={"status": "open"}).text)) == 3


def test_a_wrong_filter_is_named_in_german_and_lists_nothing(
    client: TestClient, references: dict[str, str], editor_csrf: str
) -> None:
    page = client.get("/staff/submissions", params={"from": "gestern", "to": "2026-11-01", "form": "zauberei"})
    assert page.status_code == 422
    assert "Eingegangen ab: Bitte geben Sie ein Datum ein" in page.text
    assert "Formular: Dieses Formular gibt es nicht" in page.text
    assert 'aria-describedby="from-help from-error"' in page.text
    assert listed_references(page.text) == []
    backwards = client.get("/staff/submissions", params={"from": "2026-11-09", "to": "2026-11-01"})
    assert "Eingegangen bis: Das Datum liegt vor „Eingegangen ab“" in backwards.text


def test_the_list_pages_through_many_submissions(client: TestClient, editor_csrf: str) -> None:
    made = [
        submit(client, "dog_tax_registration", dict(DOG_TAX, **{"Hund.Name": f"Hund{chr(65 + n % 26)}"}), f"k{n}")
        for n in range(30)
    ]
    first = client.get("/staff/submissions")
    assert listed_references(first.text) == made[::-1][:25]
    assert "Seite 1 von 2" in first.text and 'rel="next"' in first.text
    second = client.get("/staff/submissions", params={"page": 2})
    assert listed_references(second.text) == made[::-1][25:]
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text


def test_one_submission_shows_every_field_under_its_label_and_the_view_is_audited(
    client: TestClient, references: dict[str, str], editor_csrf: str
) -> None:
    reference = references["dog_early"]
    page = client.get(f"/staff/submissions/{reference}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    fields = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]*)</dd>", page.text))
    assert fields["Aktenzeichen"] == reference
    assert fields["Eingegangen"] == "03.11.2026, 10:30 Uhr"  # city time (CET)
    assert "Erika Mustermann" in fields.values()
    assert fields["Ermäßigung oder Befreiung"] == "Nein, keine"  # the choice's label, not its value
    assert fields["Im Haushalt seit"] == "01.06.2024"
    assert "Nein" in fields.values() and "keine Angabe" in fields.values()
    views = [entry for entry in audit_entries(client) if entry.action == "view"]
    assert [(v.username, v.entity_id, v.detail) for v in views] == [
        ("erika.editor", reference, {"references": [reference]})
    ]
    missing = client.get("/staff/submissions/HST-2026-999999")
    assert missing.status_code == 404 and "nicht gefunden" in missing.text


def test_mark_as_processed_from_the_page(client: TestClient, references: dict[str, str], editor_csrf: str) -> None:
    reference = references["water"]
    done = client.post(f"/staff/submissions/{reference}/processed", data={"csrf_token": editor_csrf})
    assert done.status_code == 200  # followed the redirect back to the submission
    assert f"{reference} ist als bearbeitet markiert." in done.text
    assert "Bearbeitet</span> am 09.11.2026, 10:30 Uhr von erika.editor" in done.text
    assert "Als bearbeitet markieren" not in done.text
    assert listed_references(client.get("/staff/submissions", params={"status": "processed"}).text) == [reference]
    api = client.get(f"/api/v1/submissions/{reference}", headers=bearer(client, "erika.editor")).json()
    assert api["processed_by"] == "erika.editor"


def test_mark_as_processed_without_the_csrf_token_is_refused(
    client: TestClient, references: dict[str, str], editor_csrf: str
) -> None:
    reference = references["water"]
    for data in ({}, {"csrf_token": "forged-token"}):
        refused = client.post(f"/staff/submissions/{reference}/processed", data=data)
        assert refused.status_code == 403 and "Sicherheitsprüfung fehlgeschlagen" in refused.text
    assert listed_references(client.get("/staff/submissions", params={"status": "processed"}).text) == []


def test_a_viewer_gets_403_and_nobody_signed_out_gets_in(client: TestClient, references: dict[str, str]) -> None:
    reference = references["water"]
    paths = ["/staff/submissions", f"/staff/submissions/{reference}", "/staff/submissions/export?format=csv"]
    for path in paths:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/staff/login?next=")
    viewer_csrf = console_login(client, "vera.viewer")
    for path in paths:
        assert client.get(path).status_code == 403
    refused = client.post(f"/staff/submissions/{reference}/processed", data={"csrf_token": viewer_csrf})
    assert refused.status_code == 403
    assert "Formulareingänge" not in client.get("/staff/").text  # no menu entry for a viewer
    assert audit_entries(client) == []


@pytest.mark.parametrize("format", ["csv", "json"])
def test_the_export_is_the_apis_file_for_the_same_filter(
    client: TestClient, references: dict[str, str], editor_csrf: str, format: str
) -> None:
    query = {"format": format, "form": "dog_tax_registration", "from": "2026-11-01", "to": "2026-11-30"}
    page_file = client.get("/staff/submissions/export", params=query)
    api_file = client.get("/api/v1/submissions/export", params=query, headers=bearer(client, "erika.editor"))
    assert page_file.status_code == api_file.status_code == 200
    assert page_file.content == api_file.content
    assert page_file.headers["content-disposition"] == f'attachment; filename="kumpel-submissions.{format}"'
    assert page_file.headers["cache-control"] == "no-store"
    if format == "csv":
        rows = list(csv.DictReader(io.StringIO(page_file.text.lstrip("\ufeff")), delimiter=";"))
        assert [row["Aktenzeichen"] for row in rows] == [references["dog_early"], references["dog_late"]]
        assert rows[0]["Hund.Rasse"].startswith("'=")  # the formula is defused
    else:
        items = json.loads(page_file.text)["items"]
        assert [item["reference"] for item in items] == [references["dog_early"], references["dog_late"]]
    exports = [entry for entry in audit_entries(client) if entry.action == "export"]
    assert [(e.username, e.detail["references"]) for e in exports] == [
        ("erika.editor", [references["dog_early"], references["dog_late"]])
    ] * 2
    assert_no_personal_data(audit_entries(client))


def test_the_list_page_links_the_export_of_its_filter(
    client: TestClient, references: dict[str, str], editor_csrf: str
) -> None:
    page = client.get("/staff/submissions", params={"form": "water_meter_reading", "status": "open"})
    assert 'href="/staff/submissions/export?form=water_meter_reading&amp;status=open&amp;format=csv"' in page.text
    exported = client.get("/staff/submissions/export?form=water_meter_reading&status=open&format=csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff")), delimiter=";"))
    assert [row["Aktenzeichen"] for row in rows] == [references["water"]]


def test_no_audit_entry_holds_citizen_data(client: TestClient, references: dict[str, str], editor_csrf: str) -> None:
    for reference in references.values():
        client.get(f"/staff/submissions/{reference}")
    client.post(f"/staff/submissions/{references['water']}/processed", data={"csrf_token": editor_csrf})
    client.get("/staff/submissions/export?format=json")
    entries = audit_entries(client)
    assert sorted({entry.action for entry in entries}) == ["export", "processed", "view"]
    assert_no_personal_data(entries)
