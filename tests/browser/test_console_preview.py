"""The preview and import pages of the staff console in real Chromium against the real running stack.

An editor types a question and sees the bot's reply, its kind, the candidates and why; uploads a
modified export and sees the dry-run report (nothing applied: the stack is shared with other tests).
axe-core finds no serious or critical violation on either page; screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import expect

from kumpel_stack.launcher import Stack

from .console_session import add_staff_user, axe_serious, console_context, screenshot, sign_in

pytestmark = pytest.mark.browser

EDITOR = "paula.preview"
QUESTION = "Was kostet ein Personalausweis?"


@pytest.fixture(scope="module")
def editor(stack: Stack) -> str:
    add_staff_user(stack, EDITOR, "editor")
    return EDITOR


@pytest.fixture()
def staff_page(browser: Any, stack: Stack, editor: str) -> Iterator[Any]:
    context = console_context(browser)
    page = context.new_page()
    try:
        sign_in(page, stack, editor, "/staff/preview")
        yield page
    finally:
        context.close()


def test_preview_page_shows_reply_candidates_and_reasons(staff_page: Any, stack: Stack) -> None:
    page = staff_page
    page.locator("#q").fill(QUESTION)
    page.get_by_role("button", name="Antwort anzeigen").click()
    result = page.locator("#preview-result")
    expect(result.get_by_role("heading", name="Antwort des Bots")).to_be_visible()
    expect(result.locator("[data-status]")).to_have_text("Antwort")
    expect(result.locator(".preview-reply")).to_contain_text("Personalausweis")
    expect(result.locator("table.preview-candidates tbody tr").first).to_contain_text("Personalausweis")
    expect(result.get_by_text("Sicherheit des besten Treffers", exact=False)).to_be_visible()
    assert "q=" in page.url  # the address can be shared with a colleague

    assert axe_serious(page) == []
    screenshot(page, "console-preview.png")


def test_import_page_shows_the_dry_run_report(staff_page: Any, stack: Stack, tmp_path: Path) -> None:
    page = staff_page
    page.goto(f"{stack.knowledge_url}/staff/import")
    assert axe_serious(page) == []

    # The export, downloaded with the session's cookie, then edited as an editor would in a text editor.
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    request = urllib.request.Request(
        f"{stack.knowledge_url}/staff/export/download?format=yaml", headers={"Cookie": cookies}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the local test stack
        document = yaml.safe_load(response.read().decode("utf-8"))
    document["services"][0]["synonyms"] = [*document["services"][0].get("synonyms", []), "Probelaufwort"]
    path = tmp_path / "kumpel-kb.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")

    page.get_by_label("kumpel-kb-Datei", exact=False).set_input_files(str(path))
    page.get_by_role("button", name="Probelauf starten").click()
    report = page.locator("table.import-report[data-action=change]")
    expect(report).to_contain_text(document["services"][0]["id"])
    expect(report).to_contain_text("Andere Wörter dafür")
    expect(page.get_by_role("button", name="Import übernehmen")).to_be_visible()

    assert axe_serious(page) == []
    screenshot(page, "console-import.png")
