"""Editing the knowledge in the staff console: what an editor, a viewer, an attacker and a citizen notice.

An editor changes an office's opening hours on its page and the bot states the new hours at once;
invalid hours are refused with a German message naming the field and nothing is saved; the history
shows the change and restoring the old version brings the old hours back. A viewer cannot save
(403), a form without its CSRF token is refused (403). The JSON API's PUT writes the same versions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from kumpel_knowledge.app import create_app
from kumpel_knowledge.console.knowledge_forms import entry_to_form, form_to_entry
from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.kb.interchange import export_document
from kumpel_knowledge.staff.auth import add_user

PASSWORD = "correct horse battery staple"
OFFICE = "off-buergerbuero"
QUESTION = "Wann hat das Bürgerbüro am Samstag geöffnet?"
NOW = "2026-11-19T10:00:00+01:00"  # a Thursday; the Saturday asked about is 21.11.


@pytest.fixture()
def app_client(kb_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(kb_settings)) as client:
        yield client


def _login(client: TestClient, username: str, role: str) -> None:
    with client.app.state.runtime.sessions() as db:  # type: ignore[attr-defined]
        add_user(db, username, PASSWORD, role)
    page = client.get("/staff/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token, page.text
    done = client.post(
        "/staff/login",
        data={"username": username, "password": PASSWORD, "login_token": token.group(1), "next": "/staff/"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


@pytest.fixture()
def console(kb_settings: Settings) -> Iterator[Callable[[str], TestClient]]:
    """console(role) -> a TestClient signed in through the real login form with that role."""
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        client = TestClient(create_app(kb_settings))
        client.__enter__()
        clients.append(client)
        _login(client, f"{role}-{len(clients)}", role)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def office_form(client: TestClient) -> tuple[dict[str, Any], str]:
    page = client.get(f"/staff/offices/{OFFICE}")
    assert page.status_code == 200
    values: dict[str, Any] = {}
    for name, value in re.findall(
        r'<input id="([a-z_]+)" name="[a-z_]+" type="(?:text|date)" value="([^"]*)"', page.text
    ):
        values[name] = value.replace("&amp;", "&").replace("&#34;", '"').replace("&#39;", "'")
    for name, value in re.findall(
        r'<textarea id="([a-z_]+)" name="[a-z_]+" rows="\d+"[^>]*>(.*?)</textarea>', page.text, re.S
    ):
        values[name] = (
            value.replace("&amp;", "&")
            .replace("&#34;", '"')
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
        )
    return values, csrf_of(page.text)


def ask(client: TestClient) -> str:
    response = client.post("/api/v1/answer", json={"question": QUESTION, "topic": "opening_hours", "now": NOW})
    assert response.status_code == 200
    return str(response.json()["text"])


def save_hours(client: TestClient, hours: str) -> Any:
    values, token = office_form(client)
    return client.post(
        f"/staff/offices/{OFFICE}",
        data={**values, "opening_hours": hours, "csrf_token": token},
        follow_redirects=False,
    )


def test_editor_changes_hours_and_the_bot_states_them_at_once(console: Callable[[str], TestClient]) -> None:
    editor = console("editor")
    assert "Samstag" in ask(editor) and "10:00 bis 13:00" not in ask(editor)
    saved = save_hours(editor, "Mo-Fr 08:00-16:00\nSa 10:00-13:00\nPH off")
    assert saved.status_code == 303
    page = editor.get(saved.headers["location"])
    assert "Gespeichert" in page.text
    assert "von 10:00 bis 13:00 Uhr geöffnet" in ask(editor)


def test_invalid_hours_are_refused_naming_the_field_and_nothing_is_saved(console: Callable[[str], TestClient]) -> None:
    editor = console("editor")
    before = ask(editor)
    refused = save_hours(editor, "Mo-Fr 08:00-16:00\nMi. 10:00-13:00")
    assert refused.status_code == 422
    assert "Öffnungszeiten: Zeile 2: unbekannter Wochentag „Mi.“" in refused.text
    assert 'aria-invalid="true"' in refused.text and "Bitte prüfen Sie Ihre Eingaben" in refused.text
    assert ask(editor) == before
    assert editor.get(f"/api/v1/kb/offices/{OFFICE}").status_code in (401, 403)  # the page is no API login


def test_the_live_check_names_the_problem_or_previews_fourteen_days(console: Callable[[str], TestClient]) -> None:
    viewer = console("viewer")
    token = csrf_of(viewer.get(f"/staff/offices/{OFFICE}").text)
    headers = {"X-CSRF-Token": token, "HX-Request": "true"}
    wrong = viewer.post(
        "/staff/hours/check", data={"opening_hours": "Mo-Fr 8-12", "office_id": OFFICE}, headers=headers
    )
    assert wrong.status_code == 200 and "unvollständige Uhrzeit" in wrong.text
    right = viewer.post(
        "/staff/hours/check",
        data={"opening_hours": "Mo-Fr 08:00-12:00\nPH off", "name_in_sentence": "das Bürgerbüro", "office_id": OFFICE},
        headers=headers,
    )
    assert right.status_code == 200
    assert right.text.count("<tr") == 15  # header + 14 days
    assert "Das Bürgerbüro hat" in right.text


def test_viewer_cannot_save_and_a_form_without_csrf_is_refused(console: Callable[[str], TestClient]) -> None:
    viewer = console("viewer")
    before = ask(viewer)
    assert save_hours(viewer, "Mo-Su 00:00-24:00").status_code == 403
    editor = console("editor")
    values, _token = office_form(editor)
    forged = editor.post(f"/staff/offices/{OFFICE}", data={**values, "opening_hours": "Mo-Su 00:00-24:00"})
    assert forged.status_code == 403 and "Sicherheitsprüfung fehlgeschlagen" in forged.text
    assert ask(editor) == before


def test_history_shows_the_change_and_restoring_brings_the_old_hours_back(console: Callable[[str], TestClient]) -> None:
    editor = console("editor")
    original = ask(editor)
    assert save_hours(editor, "Sa 10:00-13:00").status_code == 303
    history = editor.get(f"/staff/history/offices/{OFFICE}")
    assert history.status_code == 200
    assert "Geändert" in history.text and "Öffnungszeiten" in history.text and "Sa 10:00-13:00" in history.text
    # The only version is the edit itself; what can be restored is the state before it (the seed).
    assert "Stand vor dieser Änderung wiederherstellen" in history.text
    restore = re.search(rf'action="(/staff/history/offices/{OFFICE}/(\d+)/restore)"', history.text)
    assert restore, history.text
    done = editor.post(
        restore.group(1), data={"csrf_token": csrf_of(history.text), "state": "before"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert ask(editor) == original
    assert "Wiederhergestellt" in editor.get(f"/staff/history/offices/{OFFICE}").text


def test_the_json_api_put_writes_a_version_too(console: Callable[[str], TestClient], kb_settings: Settings) -> None:
    editor = console("editor")
    with editor.app.state.runtime.sessions() as db:  # type: ignore[attr-defined]
        add_user(db, "api-editor", PASSWORD, "editor")
    token = editor.post("/api/v1/auth/token", data={"username": "api-editor", "password": PASSWORD}).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    entry = editor.get(f"/api/v1/kb/offices/{OFFICE}", headers=bearer).json()
    put = editor.put(f"/api/v1/kb/offices/{OFFICE}", json={**entry, "phone": "02151 99999"}, headers=bearer)
    assert put.status_code == 200
    history = editor.get(f"/staff/history/offices/{OFFICE}").text
    assert "api-editor" in history and "02151 99999" in history


def test_a_new_faq_is_answered_at_once_and_a_deleted_one_can_be_restored(console: Callable[[str], TestClient]) -> None:
    editor = console("editor")
    token = csrf_of(editor.get("/staff/faqs/new").text)
    faq = {
        "id": "faq-laternenfest",
        "questions": "Wann ist das Laternenfest am Rathaus?\nWann findet der Laternenumzug statt?",
        "answer": "Das Laternenfest am Rathaus ist am 11. November ab 17 Uhr.",
        "links": "Veranstaltungen | https://www.krefeld.de/de/veranstaltungen/",
        "source_url": "https://www.krefeld.de/de/veranstaltungen/",
        "last_reviewed": "2026-11-30",
        "csrf_token": token,
    }
    created = editor.post("/staff/faqs/new", data=faq, follow_redirects=False)
    assert created.status_code == 303, created.text
    question = {"question": "Wann ist das Laternenfest am Rathaus?", "topic": "auto", "now": NOW}
    assert "17 Uhr" in editor.post("/api/v1/answer", json=question).json()["text"]
    again = editor.post("/staff/faqs/new", data=faq)
    assert again.status_code == 422 and "Kennung: „faq-laternenfest“ ist schon vergeben." in again.text

    deleted = editor.post("/staff/faqs/faq-laternenfest/delete", data={"csrf_token": token}, follow_redirects=False)
    assert deleted.status_code == 303
    assert "17 Uhr" not in editor.post("/api/v1/answer", json=question).json()["text"]
    history = editor.get("/staff/history/faqs/faq-laternenfest").text
    assert "Gelöscht" in history and "Dieser Eintrag ist zurzeit gelöscht." in history
    restore = re.search(r'action="(/staff/history/faqs/faq-laternenfest/\d+/restore)"', history)
    assert restore
    assert editor.post(restore.group(1), data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert "17 Uhr" in editor.post("/api/v1/answer", json=question).json()["text"]


def test_a_wrong_link_and_regional_key_are_named_in_german(console: Callable[[str], TestClient]) -> None:
    editor = console("editor")
    page = editor.get("/staff/municipality")
    assert page.status_code == 200 and "Stadt Krefeld" in page.text
    refused = editor.post(
        "/staff/municipality",
        data={
            "name": "Stadt Krefeld",
            "regional_key": "0511",
            "web": "http://krefeld.de",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert refused.status_code == 422
    assert "Regionalschlüssel: hat nicht das erwartete Format." in refused.text
    assert "Webseite: muss mit https:// beginnen." in refused.text
    assert "Stadt Krefeld" in editor.get("/api/v1/municipality").text


def test_saving_an_untouched_form_changes_nothing_for_every_entry(app_client: TestClient) -> None:
    """Opening any entry's form and saving it as it is must not alter the entry (no silent loss)."""
    with app_client.app.state.runtime.sessions() as db:  # type: ignore[attr-defined]
        document = export_document(db)
    for kind in ("services", "offices", "faqs", "notices"):
        for entry in document[kind]:
            values = entry_to_form(kind, entry)
            posted = {k: ("true" if v is True else "" if v is False else v) for k, v in values.items()}
            roles = values.get("_roles", {})
            back, errors = form_to_entry(kind, posted, roles)
            assert errors == {}, (entry["id"], errors)
            assert back == entry, entry["id"]
    values = entry_to_form("municipality", document["municipality"])
    back, errors = form_to_entry("municipality", {k: ("true" if v is True else v) for k, v in values.items()}, {})
    assert errors == {} and back == document["municipality"]


@pytest.mark.parametrize("kind", ["services", "offices", "faqs", "notices"])
def test_a_viewer_reads_every_kind_but_gets_no_save_button(console: Callable[[str], TestClient], kind: str) -> None:
    viewer = console("viewer")
    listing = viewer.get(f"/staff/{kind}")
    assert listing.status_code == 200
    first = re.search(rf'<td><a href="(/staff/{kind}/[a-z0-9-]+)">', listing.text)
    assert first, listing.text
    page = viewer.get(first.group(1))
    assert page.status_code == 200
    assert "<fieldset disabled>" in page.text and ">Speichern</button>" not in page.text
    assert viewer.get(f"/staff/{kind}/new").status_code == 403
    assert viewer.get(f"/staff/{kind}/no-such-entry").status_code == 404


def test_the_preview_includes_a_closing_notice_saved_on_the_notices_page(console: Callable[[str], TestClient]) -> None:
    editor = console("editor")
    token = csrf_of(editor.get("/staff/notices/new").text)
    tomorrow = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=1)).date()
    notice = {
        "id": "ntc-betriebsausflug",
        "title": "Betriebsausflug",
        "office": OFFICE,
        "starts_at": f"{tomorrow.isoformat()}T00:00",
        "ends_at": f"{(tomorrow + timedelta(days=1)).isoformat()}T00:00",
        "closed": "true",
        "csrf_token": token,
    }
    assert editor.post("/staff/notices/new", data=notice, follow_redirects=False).status_code == 303
    preview = editor.post(
        "/staff/hours/check",
        data={"opening_hours": "Mo-Su 08:00-16:00", "name_in_sentence": "das Bürgerbüro", "office_id": OFFICE},
        headers={"X-CSRF-Token": token},
    )
    assert "Das Bürgerbüro hat morgen" not in preview.text
    assert "Das Bürgerbüro ist morgen geschlossen (Betriebsausflug)." in preview.text
    backwards = {**notice, "id": "ntc-rueckwaerts", "ends_at": notice["starts_at"], "starts_at": notice["ends_at"]}
    refused = editor.post("/staff/notices/new", data=backwards)
    assert refused.status_code == 422 and "Bis: muss nach dem Beginn liegen." in refused.text
