"""What the console's browser tests share: a staff account in the running stack, signing in through the
real login form, the axe check and the screenshots for docs/.

The account is made with the real CLI (``kumpel-knowledge users add``) against the stack's database,
exactly as an operator makes the first one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from kumpel_stack.launcher import Stack

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "webchat" / "node_modules" / "axe-core" / "axe.min.js"
_TMP = Path(tempfile.gettempdir()) / "kumpel-console-screenshots"
PASSWORD = "browser test password 2026"
DESKTOP = {"width": 1280, "height": 800}


def add_staff_user(stack: Stack, username: str, role: str) -> None:
    """Create (or reset) a staff account in the stack's database with the real CLI."""
    env = dict(os.environ, KUMPEL_DATABASE_URL=stack.extra_env["KUMPEL_DATABASE_URL"])
    result = subprocess.run(
        [sys.executable, "-m", "kumpel_knowledge", "users", "add", username, "--role", role, "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def console_context(browser: Any) -> Any:
    """A fresh profile for the console; CSP bypassed only so that the test can inject axe."""
    context = browser.new_context(viewport=DESKTOP, locale="de-DE", bypass_csp=True)
    context.set_default_timeout(30_000)
    return context


def sign_in(page: Any, stack: Stack, username: str, next_path: str = "/staff/") -> None:
    """Sign in through the login form, as a member of staff does, and land on ``next_path``."""
    page.goto(f"{stack.knowledge_url}/staff/login?next={next_path}")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{stack.knowledge_url}{next_path}*")


def axe_serious(page: Any) -> list[dict[str, Any]]:
    """The serious and critical WCAG 2.1 A/AA violations axe-core finds on the page."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci` in webchat/")
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Any, name: str) -> None:
    """A full-page picture of the page; kept for the docs only with KUMPEL_SCREENSHOT_DIR=docs/screenshots
    (as the widget's tests do), so that a test run does not change tracked files."""
    target = Path(os.environ["KUMPEL_SCREENSHOT_DIR"]) if os.environ.get("KUMPEL_SCREENSHOT_DIR") else _TMP
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / name), full_page=True)
