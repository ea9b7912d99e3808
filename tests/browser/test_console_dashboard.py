"""The dashboard in real Chromium against the running stack: charts drawn, tables there, axe clean.

Citizens talk to the real trained bot over the REST channel first, so the numbers on the page come
through the whole chain (Rasa, action server, knowledge service). The page is checked with axe-core
(0 serious or critical), once more under its strict Content-Security-Policy (Chart.js must draw
without a refused script or style), and kept as docs/screenshots/console-dashboard.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from kumpel_stack.launcher import Stack
from kumpel_stack.testing import Conversation

from .console_session import DESKTOP, add_staff_user, axe_serious, console_context, screenshot, sign_in

pytestmark = pytest.mark.browser
VIEWER = "c4.viewer"
CHARTS = ("gespraeche", "antworten", "top-themen", "uhrzeiten")


@pytest.fixture(scope="module")
def viewer(stack: Stack) -> str:
    add_staff_user(stack, VIEWER, "viewer")
    # Two citizens: one asks twice about the Bürgerbüro, one asks what the town cannot answer.
    first, second = Conversation(stack), Conversation(stack)
    first.say("Wann hat das Bürgerbüro geöffnet?")
    first.say("Wo ist das Bürgerbüro?")
    second.say("Wie wird das Wetter am Wochenende?")  # not the inbox test's wording: one stack for all
    return VIEWER


@pytest.fixture()
def console_page(browser: Any) -> Iterator[Any]:
    context = console_context(browser)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_dashboard_draws_its_charts_with_tables_and_passes_axe(
    console_page: Any, stack: Stack, viewer: str
) -> None:
    page = console_page
    sign_in(page, stack, viewer, "/staff/dashboard")
    expect(page.get_by_role("heading", name="Auswertung", level=1)).to_be_visible()
    for chart in CHARTS:
        expect(page.locator(f"canvas#{chart}-chart[data-drawn='true']")).to_have_count(1)
        expect(page.locator(f"table[data-canvas='{chart}-chart']")).to_have_count(1)
    # The tables are a click away for everyone who does not see the chart.
    traffic = page.locator("section", has=page.locator("#gespraeche-chart"))
    traffic.get_by_text("Tabelle mit den Zahlen").click()
    expect(traffic.get_by_role("columnheader", name="Gespräche")).to_be_visible()
    questions = traffic.locator("tbody tr").last.locator("td").nth(1)
    assert int(questions.inner_text()) >= 3  # today's row: at least the three questions above
    assert axe_serious(page) == []
    page.get_by_label("Zeitraum", exact=True).select_option("30")
    page.get_by_role("button", name="Anzeigen").click()
    page.wait_for_url("**/staff/dashboard?period=30*")
    expect(page.locator("canvas[data-drawn='true']")).to_have_count(len(CHARTS) + 1)  # + the forms chart
    page.set_viewport_size(DESKTOP)
    screenshot(page, "console-dashboard.png")


def test_the_charts_draw_under_the_strict_csp(browser: Any, stack: Stack, viewer: str) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="de-DE")  # no CSP bypass
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        sign_in(page, stack, viewer, "/staff/dashboard")
        expect(page.locator("canvas#antworten-chart[data-drawn='true']")).to_have_count(1)
        assert [e for e in errors if "Content Security Policy" in e or "Refused" in e] == []
    finally:
        context.close()
