"""The inbox in real Chromium against the running stack (trained bot, action server, knowledge service).

A citizen asks the bot over the real REST channel things it cannot answer; an editor signs in, finds
them grouped in the inbox, opens the prefilled FAQ form; axe finds no serious or critical violation
on either page; screenshots go to docs/screenshots/console-inbox.png and console-inbox-faq.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kumpel_stack.launcher import Stack
from kumpel_stack.testing import Conversation

from .console_session import add_staff_user, axe_serious, console_context, screenshot, sign_in

pytestmark = pytest.mark.browser

MISSED = ("Wer gewinnt die Champions League?", "wer gewinnt die champions league")


@pytest.fixture(scope="module")
def missed(stack: Stack) -> tuple[str, ...]:
    """Questions the bot does not know, asked by a citizen in the chat."""
    add_staff_user(stack, "ines.inbox", "editor")
    for question in MISSED:
        citizen = Conversation(stack)
        citizen.say(question)
    return MISSED


@pytest.fixture()
def editor_page(browser: Any, stack: Stack, missed: tuple[str, ...]) -> Iterator[Any]:
    context = console_context(browser)
    try:
        page = context.new_page()
        sign_in(page, stack, "ines.inbox", "/staff/inbox")
        yield page
    finally:
        context.close()


def test_the_inbox_groups_what_the_bot_missed_and_offers_a_prefilled_faq(editor_page: Any) -> None:
    page = editor_page
    assert page.get_by_role("heading", level=1).inner_text().startswith("Posteingang")
    group = page.locator("li.inbox-group").filter(has_text="Champions League")
    assert group.count() == 1
    assert "2 ×" in group.locator(".inbox-meta").inner_text()
    assert axe_serious(page) == [], "inbox"
    screenshot(page, "console-inbox.png")

    page.get_by_role("link", name="Häufigste zuerst").click()
    page.wait_for_url("**sort=frequent**")
    page.locator("li.inbox-group").first.get_by_role("link", name="Als FAQ anlegen").click()
    page.wait_for_url("**/staff/inbox/faq?**")
    assert "Champions League" in page.get_by_label("Fragen").input_value()
    assert axe_serious(page) == [], "FAQ form from the inbox"
    screenshot(page, "console-inbox-faq.png")
    # Sent without an answer: the error names the field and the summary links to it.
    page.get_by_role("button", name="FAQ speichern").click()
    page.get_by_role("alert").filter(has_text="Antwort:").wait_for()
    assert axe_serious(page) == [], "FAQ form with errors"
