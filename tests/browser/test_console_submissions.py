"""Form submissions in the console, in real Chromium against the running stack.

A citizen reports a water meter reading in the chat (REST channel); an editor signs in, finds it in
the list, opens it, sees every field under its label, marks it processed; axe finds no serious or
critical violation on the list and the detail page; screenshots of both go to docs/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kumpel_stack.launcher import Stack
from kumpel_stack.testing import Conversation

from .console_session import add_staff_user, axe_serious, console_context, screenshot, sign_in

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"\bWZS-\d{4}-\d{6}\b")


@pytest.fixture(scope="module")
def reference(stack: Stack) -> str:
    """A water meter reading submitted by a citizen over the real REST channel."""
    add_staff_user(stack, "edda.editor", "editor")
    citizen = Conversation(stack)
    citizen.say("Ich möchte meinen Zählerstand melden")
    assert "Datenschutzhinweis" in citizen.text, citizen.text
    for message in ["Ja", "Max Muster", "Dionysiusstraße 5, 47798 Krefeld", "Zählernummer 18-447321, Stand 1234,5"]:
        citizen.say(message)
    citizen.say("heute")
    citizen.say("Ja")
    match = REFERENCE.search(citizen.text)
    assert match, citizen.text
    return match.group(0)


@pytest.fixture()
def editor_page(browser: Any, stack: Stack, reference: str) -> Iterator[Any]:
    context = console_context(browser)
    try:
        page = context.new_page()
        sign_in(page, stack, "edda.editor", "/staff/submissions")
        yield page
    finally:
        context.close()


def test_an_editor_finds_opens_and_marks_the_citizens_submission(editor_page: Any, reference: str) -> None:
    page = editor_page
    assert page.get_by_role("heading", level=1).inner_text() == "Formulareingänge"
    page.get_by_label("Formular").select_option(label="Zählerstandsmeldung Wasser")
    page.get_by_label("Status").select_option(label="Offen")
    page.get_by_role("button", name="Filtern").click()
    page.wait_for_url("**form=water_meter_reading**")
    assert axe_serious(page) == [], "submissions list"
    screenshot(page, "console-submissions.png")

    page.get_by_role("link", name=reference).click()
    page.wait_for_url(f"**/staff/submissions/{reference}")
    fields = page.locator("dl.submission-fields")
    shown = dict(zip(fields.nth(1).locator("dt").all_inner_texts(), fields.nth(1).locator("dd").all_inner_texts()))
    assert shown["Name"] == "Max Muster" and shown["Zählernummer"] == "18447321"
    assert shown["Zählerstand"] == "1234,5" and shown["Einwilligung Datenschutz"] == "Ja"
    assert axe_serious(page) == [], "submission detail"
    screenshot(page, "console-submission.png")

    page.get_by_role("button", name="Als bearbeitet markieren").click()
    page.get_by_role("status").filter(has_text="als bearbeitet markiert").wait_for()
    assert "von edda.editor" in page.locator(".page-header").inner_text()
    assert page.get_by_role("button", name="Als bearbeitet markieren").count() == 0

    page.get_by_role("link", name="Zurück zu allen Formulareingängen").click()
    page.get_by_label("Status").select_option(label="Bearbeitet")
    page.get_by_role("button", name="Filtern").click()
    page.wait_for_url("**status=processed**")
    assert page.get_by_role("link", name=reference).count() == 1


def test_the_export_link_downloads_the_filtered_list(editor_page: Any, reference: str) -> None:
    page = editor_page
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Als CSV (Tabellenkalkulation)").click()
    download = download_info.value
    assert download.suggested_filename == "kumpel-submissions.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("Aktenzeichen;") and reference in text


def test_keyboard_only_reaches_the_filter_and_a_submission(editor_page: Any, reference: str) -> None:
    page = editor_page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Zum Inhalt springen"
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == reference:
            break
    else:
        pytest.fail("the submission's link is not reachable with the keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/staff/submissions/{reference}")


def test_200_percent_zoom_needs_no_sideways_scrolling(editor_page: Any, reference: str) -> None:
    page = editor_page
    page.set_viewport_size({"width": 640, "height": 400})  # 1280 px at 200 % zoom (WCAG 1.4.10 reflow)
    for path in ("/staff/submissions", f"/staff/submissions/{reference}"):
        page.goto(page.url.split("/staff/")[0] + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
        assert page.get_by_role("heading", level=1).is_visible()
