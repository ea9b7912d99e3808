"""axe-core on every page of the staff console that a member of staff can reach by following links.

An admin signs in and walks the console's links breadth-first (the menu, then the first links of each
list: an edit page of each kind, a history, a submission ...). Every page must load with 200 and have no
serious or critical WCAG 2.1 A/AA violation. Downloads (CSV, JSON, YAML exports) are not pages.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from kumpel_stack.launcher import Stack
from kumpel_stack.testing import Conversation

from .console_session import add_staff_user, axe_serious, console_context, sign_in

pytestmark = pytest.mark.browser

ADMIN = "alle.seiten"
MAX_PAGES = 60
PER_SHAPE = 2  # pages of one shape ("/staff/services/<id>") checked: two of each, not all 80 entries
# Links that are not pages: downloads, and a logout that would end the walk.
NOT_PAGES = (".csv", ".json", ".yaml", ".yml", "/logout", "/export/", "download")


def _links(page: Any) -> list[str]:
    hrefs = page.eval_on_selector_all(
        "main a[href]:not([download]), nav a[href]:not([download])", "els => els.map(e => e.getAttribute('href'))"
    )
    paths = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.netloc or not parts.path.startswith("/staff/") or parts.path.startswith("/staff/static/"):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not any(marker in path for marker in NOT_PAGES):
            paths.append(path)
    return paths


def _shape(path: str) -> str:
    """``/staff/services/svc-x`` -> ``/staff/services/*``; a page's kind, whatever entry it shows."""
    parts = path.split("?")[0].rstrip("/").split("/")
    fixed = {"new", "faq", "login", "users", "status"}
    return "/".join(part if i < 3 or part in fixed else "*" for i, part in enumerate(parts))


def test_every_console_page_passes_axe(browser: Any, stack: Stack) -> None:
    add_staff_user(stack, ADMIN, "admin")
    citizen = Conversation(stack)  # so that the inbox and the dashboard have something to show
    citizen.say("Wer gewinnt die Bundesliga?")
    citizen.say("Wann hat das Bürgerbüro geöffnet?")
    context = console_context(browser)
    try:
        page = context.new_page()
        sign_in(page, stack, ADMIN, "/staff/")
        queue: list[str] = ["/staff/"]
        seen: set[str] = set()
        failures: dict[str, list[dict[str, Any]]] = {}
        shapes: dict[str, int] = {}
        while queue and len(seen) < MAX_PAGES:
            path = queue.pop(0)
            if path in seen or shapes.get(_shape(path), 0) >= PER_SHAPE:
                continue
            seen.add(path)
            shapes[_shape(path)] = shapes.get(_shape(path), 0) + 1
            response = page.goto(f"{stack.knowledge_url}{path}")
            assert response is not None and response.status == 200, f"{path}: {response and response.status}"
            violations = axe_serious(page)
            if violations:
                failures[path] = violations
            # The menu everywhere, and from each list only its first few links (one of each kind).
            queue.extend(link for link in _links(page)[:25] if link not in seen)
        print(f"axe checked {len(seen)} console pages of {len(shapes)} kinds: {sorted(shapes)}")
        assert len(seen) >= 15, f"only {len(seen)} pages reached: {sorted(seen)}"
        assert failures == {}, failures
    finally:
        context.close()
