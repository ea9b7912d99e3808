"""The XZuFi / PVOG import in the staff console, as an editor sees it.

What an editor notices: the import page takes XZuFi XML and PVOG JSON pages; the dry run lists what
would be added, changed, removed and which of the town's own texts now hide a changed official text,
and changes nothing; "Abgleich übernehmen" applies it and the bot finds the entries at once; an
imported entry's page says where it came from and marks the fields changed locally. What an
attacker notices: a viewer or a form without the CSRF token changes nothing.
"""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kumpel_knowledge.console.knowledge_forms import entry_to_form
from kumpel_knowledge.core.deps import Runtime
from kumpel_knowledge.kb import editing, interchange
from kumpel_knowledge.kb.models import Municipality

from .conftest import ConsoleClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "xzufi"
PAGES = ("pvog-page1.json", "pvog-page2.json")
FISHING = "xzufi-l-l100020"  # Fischereischein beantragen: no such service in the seed
REGISTRATION = "xzufi-l-l100003"  # Wohnsitz anmelden: pvog-update.json changes its Kurztext


@pytest.fixture()
def musterau(console_runtime: Runtime) -> Runtime:
    """The console's knowledge base with Musterau's profile (its regional key)."""
    with console_runtime.sessions() as db:
        interchange.import_path(db, FIXTURES / "musterau-municipality.yaml")
    return console_runtime


def files(*names: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, (FIXTURES / name).read_bytes(), "application/octet-stream")) for name in names]


def dry_run(client: ConsoleClient, *names: str) -> Any:
    return client.post("/staff/import/xzufi", data={"csrf_token": client.csrf}, files=files(*names))


def apply_form(page: str) -> dict[str, list[str]]:
    """The hidden fields of the page's "Abgleich übernehmen" form (the CSRF token among them)."""
    form = re.search(r'<form method="post" action="/staff/import/xzufi/apply".*?</form>', page, re.S)
    assert form, page
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form.group(0)):
        fields.setdefault(name, []).append(html_module.unescape(value))
    return fields


def apply(client: ConsoleClient, page: str) -> Any:
    return client.post("/staff/import/xzufi/apply", data=apply_form(page), follow_redirects=False)


def served(runtime: Runtime, entry_id: str) -> dict[str, Any] | None:
    with runtime.sessions() as db:
        return editing.current_entry(db, "services", entry_id)


def ask(client: TestClient, question: str) -> dict[str, Any]:
    response = client.post("/api/v1/answer", json={"question": question, "topic": "fees"})
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def test_the_import_page_offers_xzufi_files(console_client: Callable[..., ConsoleClient]) -> None:
    page = console_client("editor").get("/staff/import").text
    assert 'action="/staff/import/xzufi"' in page and 'accept=".xml,.json"' in page and " multiple" in page
    assert '<label for="files">' in page  # the file field has its label


def test_the_dry_run_lists_the_changes_and_writes_nothing(
    console_client: Callable[..., ConsoleClient], musterau: Runtime
) -> None:
    editor = console_client("editor")

    page = dry_run(editor, *PAGES)

    assert page.status_code == 200, page.text
    assert "Probelauf: Das würde der Abgleich ändern" in page.text
    assert re.search(r'data-count="add">(\d+)<', page.text).group(1) != "0"  # type: ignore[union-attr]
    assert f"<td>{FISHING}</td>" in page.text
    assert "Objekte anderer Gebiete übersprungen" in page.text
    assert served(musterau, FISHING) is None


def test_applying_makes_the_entries_live_and_the_entry_page_names_the_source(
    console_client: Callable[..., ConsoleClient], musterau: Runtime
) -> None:
    editor = console_client("editor")
    page = dry_run(editor, *PAGES)

    done = apply(editor, page.text)

    assert done.status_code == 303 and done.headers["location"] == "/staff/import"
    assert "XZuFi-Import übernommen" in editor.get("/staff/import").text
    answer = ask(editor, "Was kostet ein Fischereischein?")
    assert answer["entry"]["id"] == FISHING and "24" in answer["text"]
    entry_page = editor.get(f"/staff/services/{FISHING}").text
    assert "Importiert aus XZuFi (Stand " in entry_page
    assert "Lokal geändert:" not in entry_page


def test_a_local_text_wins_is_marked_and_shadows_the_official_update(
    console_client: Callable[..., ConsoleClient], musterau: Runtime
) -> None:
    editor = console_client("editor")
    apply(editor, dry_run(editor, *PAGES).text)
    entry = served(musterau, REGISTRATION)
    assert entry is not None
    official_summary = entry["summary"]
    form = entry_to_form("services", entry)
    form.pop("_roles", None)
    # What the browser sends back: every field, textareas with CRLF line ends, one text changed.
    form = {key: value.replace("\n", "\r\n") if isinstance(value, str) else value for key, value in form.items()}
    form["summary"] = "Bitte vereinbaren Sie vorher einen Termin im Bürgerbüro."

    saved = editor.form(f"/staff/services/{REGISTRATION}", form)

    assert saved.status_code == 303, saved.text
    entry_page = editor.get(f"/staff/services/{REGISTRATION}").text
    assert "Lokal geändert: 1 Feld" in entry_page  # only the text staff changed, not the CRLF fields
    assert 'id="summary-help"' in entry_page and 'aria-describedby="summary-help"' in entry_page
    assert html_module.escape(official_summary[:40]) in entry_page  # the official text is shown beside it

    update = dry_run(editor, "pvog-update.json")

    assert update.status_code == 200
    shadowed = re.search(r'<table class="table import-report" data-action="shadowed">.*?</table>', update.text, re.S)
    assert shadowed, update.text
    assert REGISTRATION in shadowed.group(0) and "Kurztext" in shadowed.group(0)
    assert "Bitte vereinbaren Sie vorher einen Termin" in shadowed.group(0)
    apply(editor, update.text)
    assert served(musterau, REGISTRATION)["summary"] == form["summary"]  # type: ignore[index]


def test_a_broken_file_is_refused_with_the_file_named(
    console_client: Callable[..., ConsoleClient], musterau: Runtime
) -> None:
    editor = console_client("editor")
    broken = [
        ("files", ("kaputt.xml", b"<xzufi:leistung xmlns:xzufi='http://xoev.de/schemata/xzufi/2_2_0'>", "text/xml"))
    ]

    page = editor.post("/staff/import/xzufi", data={"csrf_token": editor.csrf}, files=broken)

    assert page.status_code == 422
    assert "Die Dateien können so nicht übernommen werden" in page.text and "kaputt.xml" in page.text
    assert "Es wurde nichts geändert." in page.text


def test_without_a_regional_key_the_editor_is_told_where_to_set_it(
    console_client: Callable[..., ConsoleClient], console_runtime: Runtime
) -> None:
    with console_runtime.sessions() as db:
        town = db.get(Municipality, 1)
        assert town is not None
        town.regional_key = ""
        db.commit()
    page = dry_run(console_client("editor"), *PAGES)
    assert page.status_code == 422 and "Im Stadtprofil fehlt der Regionalschlüssel" in page.text


def test_a_viewer_and_a_form_without_csrf_change_nothing(
    console_client: Callable[..., ConsoleClient], musterau: Runtime
) -> None:
    editor = console_client("editor")
    page = dry_run(editor, *PAGES).text
    viewer = console_client("viewer")

    as_viewer = viewer.post("/staff/import/xzufi/apply", data=apply_form(page) | {"csrf_token": [viewer.csrf]})
    without_token = {name: values for name, values in apply_form(page).items() if name != "csrf_token"}
    forged = editor.post("/staff/import/xzufi/apply", data=without_token, follow_redirects=False)

    assert as_viewer.status_code == 403 and forged.status_code == 403
    assert served(musterau, FISHING) is None
