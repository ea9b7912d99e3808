"""The knowledge pages of the staff console in real Chromium against the real running stack.

An editor signs in, opens an office, types wrong opening hours and sees the live check name the
problem, types right ones and sees the next 14 days as the bot will say them, saves, and the bot's
answer states the new hours at once. axe-core finds no serious or critical violation on the list,
edit and history pages; each page is kept as a screenshot in docs/screenshots/.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from kumpel_knowledge.core.db import make_engine, make_session_factory
from kumpel_knowledge.staff.auth import add_user
from kumpel_stack.launcher import ROOT, Stack

pytestmark = pytest.mark.browser

AXE_JS = ROOT / "webchat" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "a-long-enough-password-for-the-console"
OFFICE = "off-buergerbuero"
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def editor_name(stack: Stack) -> str:
    engine = make_engine(f"sqlite:///{stack.state_dir / 'kumpel.db'}")
    with make_session_factory(engine)() as session:
        add_user(session, "kai.knowledge", PASSWORD, "editor")
    engine.dispose()
    return "kai.knowledge"


@pytest.fixture()
def staff_page(browser: Any, stack: Stack, editor_name: str) -> Iterator[Any]:
    # The console's CSP forbids injected scripts; axe is test tooling, so the test bypasses it.
    context = browser.new_context(viewport=DESKTOP, locale="de-DE", bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(stack.knowledge_url + "/staff/login")
    page.locator("input[name=username]").fill(editor_name)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/?$"))
    try:
        yield page
    finally:
        context.close()


def axe(page: Any) -> list[dict[str, Any]]:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci` in webchat/")
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"console-{name}.png"), full_page=True)


def answer(stack: Stack, question: str) -> str:
    body = json.dumps({"question": question, "topic": "opening_hours"}).encode()
    request = urllib.request.Request(
        stack.knowledge_url + "/api/v1/answer", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # 127.0.0.1 only
        return str(json.load(response)["text"])


def type_hours(page: Any, text: str) -> None:
    field = page.locator("#opening_hours")
    field.fill(text)
    field.press("End")  # a real key: the live check listens for keyup


def test_list_page_has_search_and_no_accessibility_violation(staff_page: Any, stack: Stack) -> None:
    page = staff_page
    page.goto(stack.knowledge_url + "/staff/services")
    expect(page.get_by_role("heading", level=1)).to_have_text("Leistungen")
    page.get_by_label("Suchen in Leistungen").fill("Hund")
    page.get_by_role("button", name="Suchen").click()
    expect(page.get_by_role("link", name=re.compile("Hundesteuer"))).not_to_have_count(0)
    assert axe(page) == [], "services list"
    page.goto(stack.knowledge_url + "/staff/services")
    shoot(page, "services")


def test_editor_changes_hours_with_live_check_and_the_bot_says_them(staff_page: Any, stack: Stack) -> None:
    page = staff_page
    page.goto(stack.knowledge_url + f"/staff/offices/{OFFICE}")
    check = page.locator("#hours-check")
    expect(check.locator("table tbody tr")).to_have_count(14)  # the current hours, previewed on load
    type_hours(page, "Mo-Fr 08:00-16:00\nMi. 10:00-13:00")
    expect(check).to_contain_text("Zeile 2: unbekannter Wochentag „Mi.“")
    type_hours(page, "Mo-Fr 08:00-16:00\nSa 10:00-13:00\nPH off")
    expect(check.locator("table tbody tr")).to_have_count(14)
    expect(check).to_contain_text("von 10:00 bis 13:00 Uhr geöffnet")
    assert axe(page) == [], "office edit page with the 14-day preview"
    shoot(page, "office-edit")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("status").first).to_contain_text("Gespeichert")
    assert "10:00 bis 13:00 Uhr" in answer(stack, "Wann hat das Bürgerbüro am Samstag geöffnet?")


def test_history_page_shows_the_change_and_has_no_accessibility_violation(staff_page: Any, stack: Stack) -> None:
    page = staff_page
    page.goto(stack.knowledge_url + f"/staff/offices/{OFFICE}")
    type_hours(page, "Mo-Fr 08:00-15:00\nSa 10:00-13:00\nPH off")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("status").first).to_contain_text("Gespeichert")
    page.get_by_role("link", name="Verlauf und frühere Fassungen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Verlauf")
    expect(page.get_by_role("button", name=re.compile("wiederherstellen")).first).to_be_visible()
    assert axe(page) == [], "history page"
    shoot(page, "history")
