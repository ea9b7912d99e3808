"""Import with a dry run and export of the whole knowledge base (/staff/import, /staff/export; CLI --dry-run).

What an editor notices: the export is a file the import takes back; a modified export's dry run lists
exactly what was added, changed (which fields) and removed, and changes nothing; applying changes the
bot's answer at once and leaves a version and an audit entry; a broken file is refused with the entry
and the field named. What an attacker notices: a viewer cannot import, a form without the CSRF token
is refused, nothing changes.
"""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from kumpel_knowledge import cli
from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.settings import Settings, get_settings
from kumpel_knowledge.kb.models import Faq, Service
from kumpel_knowledge.kb.versions import EntryVersion
from kumpel_knowledge.staff.auth import add_user
from kumpel_knowledge.staff.models import AuditLog

PASSWORD = "correct horse battery staple"
UNKNOWN_WORD = "Fellnasenabgabe"
UNKNOWN_QUESTION = f"Wo mache ich die {UNKNOWN_WORD}?"
DOG_TAX = "svc-hundesteuer-anmeldung"
NEW_FAQ = {
    "id": "faq-fundhund",
    "questions": ["Ich habe einen Hund gefunden, was tun?"],
    "answer": "Bringen Sie den Hund bitte zum Tierheim oder melden Sie ihn beim Ordnungsamt.",
    "source_url": "https://www.krefeld.de/de/ordnungsamt/fundtiere/",
    "last_reviewed": "2026-11-01",
}


@pytest.fixture()
def client(kb_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(kb_settings)) as test_client:
        with test_client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
            add_user(session, "erika.editor", PASSWORD, "editor")
            add_user(session, "vera.viewer", PASSWORD, "viewer")
        yield test_client


def login(client: TestClient, username: str) -> str:
    """Sign in through the real login form; returns the session's CSRF token."""
    form = client.get("/staff/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token, form.text
    response = client.post(
        "/staff/login",
        data={"username": username, "password": PASSWORD, "login_token": token.group(1), "next": "/staff/export"},
    )
    assert response.status_code == 200, response.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/staff/export").text)
    assert csrf
    return csrf.group(1)


def exported(client: TestClient) -> dict[str, Any]:
    response = client.get("/staff/export/download?format=yaml")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    document: dict[str, Any] = yaml.safe_load(response.text)
    return document


def modified(document: dict[str, Any]) -> dict[str, Any]:
    """The export with one service changed (summary, synonyms), one FAQ added and one FAQ left out."""
    for service in document["services"]:
        if service["id"] == DOG_TAX:
            service["summary"] = "Neue Hunde bitte binnen 2 Wochen anmelden."
            service["synonyms"] = [*service["synonyms"], UNKNOWN_WORD]
    document["faqs"] = [*document["faqs"][1:], NEW_FAQ]
    return document


def upload(client: TestClient, csrf: str, document: dict[str, Any] | str, mode: str = "merge") -> Any:
    text = document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    return client.post(
        "/staff/import",
        data={"csrf_token": csrf, "mode": mode},
        files={"file": ("kumpel-kb.yaml", text.encode("utf-8"), "application/yaml")},
    )


def report_rows(html: str, action: str) -> list[list[str]]:
    table = re.search(rf'<table class="table import-report" data-action="{action}">(.*?)</table>', html, re.S)
    if table is None:
        return []
    body = table.group(1).split("<tbody>")[1]
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def hidden(html: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert found, name
    return html_module.unescape(found.group(1))


def entry_state(client: TestClient) -> tuple[list[str], int]:
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        service = session.get(Service, DOG_TAX)
        assert service is not None
        return list(service.synonyms), len(session.scalars(select(Faq.id)).all())


def test_dry_run_of_a_modified_export_lists_changes_and_writes_nothing(client: TestClient) -> None:
    csrf = login(client, "erika.editor")
    document = exported(client)
    removed_faq = document["faqs"][0]["id"]
    before = entry_state(client)

    page = upload(client, csrf, modified(document), mode="replace")
    assert page.status_code == 200, page.text
    assert report_rows(page.text, "add") == [["Häufige Frage", "faq-fundhund"]]
    assert report_rows(page.text, "change") == [["Leistung", DOG_TAX, "Kurztext, Andere Wörter dafür"]]
    assert report_rows(page.text, "remove") == [["Häufige Frage", removed_faq]]
    assert "Noch ist nichts geändert" in page.text

    # Merge keeps what the file leaves out: nothing to remove.
    merged = upload(client, csrf, modified(exported(client)))
    assert report_rows(merged.text, "remove") == []
    assert entry_state(client) == before  # the dry runs wrote nothing
    assert client.post("/api/v1/answer", json={"question": UNKNOWN_QUESTION}).json()["status"] == "unknown"


def test_apply_changes_the_bots_answer_with_version_and_audit(client: TestClient) -> None:
    csrf = login(client, "erika.editor")
    assert client.post("/api/v1/answer", json={"question": UNKNOWN_QUESTION}).json()["status"] == "unknown"
    page = upload(client, csrf, modified(exported(client)))
    form = {name: hidden(page.text, name) for name in ("content", "filename", "mode", "digest")}

    applied = client.post("/staff/import/apply", data={"csrf_token": csrf, **form}, follow_redirects=False)
    assert applied.status_code == 303
    assert "Import übernommen: 1 neu, 1 geändert, 0 entfernt." in client.get("/staff/import").text

    answer = client.post("/api/v1/answer", json={"question": UNKNOWN_QUESTION}).json()
    assert answer["status"] == "answer" and answer["entry"]["id"] == DOG_TAX
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        version = session.scalars(select(EntryVersion).where(EntryVersion.entry_id == DOG_TAX)).one()
        assert version.username == "erika.editor" and version.changed == ["summary", "synonyms"]
        assert UNKNOWN_WORD not in version.before["synonyms"] and UNKNOWN_WORD in version.after["synonyms"]
        imports = session.scalars(select(AuditLog).where(AuditLog.action == "import")).all()
        assert [(a.username, a.detail["counts"]["add"]) for a in imports] == [("erika.editor", 1)]

    # The same form again: the knowledge base has changed since, so a new report instead of a second apply.
    again = client.post("/staff/import/apply", data={"csrf_token": csrf, **form})
    assert "seit der Prüfung geändert" in again.text
    assert "Die Datei enthält nichts Neues" in again.text


def test_invalid_file_names_entry_and_field_and_writes_nothing(client: TestClient) -> None:
    csrf = login(client, "erika.editor")
    document = modified(exported(client))
    position = next(n for n, s in enumerate(document["services"]) if s["id"] == DOG_TAX)
    document["services"][position]["fees"] = [{"label": "Steuer", "amount_eur": "teuer"}]
    before = entry_state(client)

    page = upload(client, csrf, document)
    assert page.status_code == 422
    errors = re.findall(r"<li>(.*?)</li>", page.text.split('class="import-errors"')[1].split("</ul>")[0])
    assert any(f"Leistung „{DOG_TAX}“ (Nr. {position + 1})" in e and "Kosten: Zeile 1" in e for e in errors), errors
    assert "Import übernehmen" not in page.text
    assert entry_state(client) == before

    unreadable = upload(client, csrf, "format: kumpel-kb/1\nservices: [unclosed")
    assert unreadable.status_code == 422 and "cannot read" in unreadable.text


def test_viewer_can_export_but_not_import(client: TestClient) -> None:
    csrf = login(client, "vera.viewer")
    assert exported(client)["format"] == "kumpel-kb/1"
    assert client.get("/staff/import").status_code == 403
    before = entry_state(client)
    assert upload(client, csrf, modified(exported(client))).status_code == 403
    assert entry_state(client) == before


def test_import_without_csrf_token_is_refused(client: TestClient) -> None:
    login(client, "erika.editor")
    response = client.post(
        "/staff/import", files={"file": ("kb.yaml", b"format: kumpel-kb/1\n", "application/yaml")}, data={}
    )
    assert response.status_code == 403 and "Sicherheitsprüfung fehlgeschlagen" in response.text


def test_import_takes_a_file_larger_than_the_general_body_limit(client: TestClient) -> None:
    csrf = login(client, "erika.editor")
    padding = "# " + "x" * 1000 + "\n"
    big = yaml.safe_dump(exported(client), allow_unicode=True) + padding * 1500  # ~1.5 MiB
    page = upload(client, csrf, big)
    assert page.status_code == 200, page.text[:300]
    assert "Die Datei enthält nichts Neues" in page.text
    # Every other route keeps the 1 MiB limit.
    refused = client.post("/api/v1/answer", content=b"{" + b" " * (1024 * 1024 + 1) + b"}")
    assert refused.status_code == 413


def test_cli_dry_run_reports_and_writes_nothing(
    client: TestClient, kb_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    login(client, "vera.viewer")
    path = tmp_path / "kb.yaml"
    path.write_text(yaml.safe_dump(modified(exported(client)), allow_unicode=True), encoding="utf-8")
    before = entry_state(client)
    monkeypatch.setenv("KUMPEL_DATABASE_URL", kb_settings.database_url)
    monkeypatch.setenv("KUMPEL_ENV", "test")
    get_settings.cache_clear()
    try:
        assert cli.main(["kb", "import", "--dry-run", str(path)]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert f"~ services/{DOG_TAX} (summary, synonyms)" in out
    assert "+ faqs/faq-fundhund" in out
    assert "dry run, nothing was written: 1 to add, 1 to change" in out
    assert entry_state(client) == before
