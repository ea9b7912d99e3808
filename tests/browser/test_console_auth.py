"""Signing in to the staff console and managing accounts, in real Chromium against the running stack.

A member of staff opens the console, is sent to the login form, mistypes the password and reads
why, signs in and comes back to the page they wanted; an admin adds an account on the users page
and sees a mistake explained at the field. axe-core finds no serious or critical violation on the
login and users pages; the console runs under its strict Content-Security-Policy without a single
refused script or style. The pages are kept as docs/screenshots/console-login.png, console-users.png and console-home.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from kumpel_stack.launcher import Stack

from .console_session import (
    DESKTOP,
    PASSWORD,
    add_staff_user,
    axe_serious,
    console_context,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser
ADMIN = "c1.admin"


@pytest.fixture(scope="module")
def admin_account(stack: Stack) -> str:
    add_staff_user(stack, ADMIN, "admin")
    return ADMIN


@pytest.fixture()
def console_page(browser: Any) -> Iterator[Any]:
    context = console_context(browser)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_login_page_is_accessible_and_explains_a_wrong_password(
    console_page: Any, stack: Stack, admin_account: str
) -> None:
    page = console_page
    page.goto(f"{stack.knowledge_url}/staff/users")
    page.wait_for_url("**/staff/login?next=/staff/users")
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    assert axe_serious(page) == []
    screenshot(page, "console-login.png")

    page.keyboard.press("Tab")  # the first stop is the skip link
    expect(page.get_by_role("link", name="Zum Inhalt springen")).to_be_focused()

    page.get_by_label("Benutzername").fill(admin_account)
    page.get_by_label("Passwort").fill("not the password")
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("alert")).to_contain_text("Benutzername oder Passwort ist falsch.")
    expect(page.get_by_label("Passwort")).to_have_attribute("aria-describedby", "login-error")
    assert axe_serious(page) == []

    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url("**/staff/users")
    expect(page.get_by_role("heading", name="Benutzer", exact=True)).to_be_visible()


def test_users_page_adds_an_account_and_names_the_wrong_field(
    console_page: Any, stack: Stack, admin_account: str
) -> None:
    page = console_page
    sign_in(page, stack, admin_account, "/staff/users")
    assert axe_serious(page) == []

    page.get_by_label("Benutzername").fill("neu dabei")  # a space: not allowed
    page.get_by_label("Rolle").select_option("editor")
    page.get_by_label("Erstes Passwort").fill("kurz")
    page.get_by_role("button", name="Zugang anlegen").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Benutzername: 1 bis 80 Zeichen")
    expect(summary).to_contain_text("Erstes Passwort: Bitte mindestens 12 Zeichen eingeben.")
    assert axe_serious(page) == []

    page.get_by_label("Benutzername").fill("r.redaktion")
    page.get_by_label("Erstes Passwort").fill("ein gutes erstes Passwort")
    page.get_by_role("button", name="Zugang anlegen").click()
    expect(page.get_by_role("status")).to_contain_text("Der Zugang „r.redaktion“ ist angelegt.")
    expect(page.get_by_role("rowheader", name="r.redaktion")).to_be_visible()
    page.set_viewport_size(DESKTOP)
    screenshot(page, "console-users.png")

    page.get_by_role("link", name="Übersicht").click()
    expect(page.get_by_role("heading", name=f"Guten Tag, {admin_account}")).to_be_visible()
    expect(page.get_by_role("link", name="Übersicht")).to_have_attribute("aria-current", "page")
    assert axe_serious(page) == []
    screenshot(page, "console-home.png")


def test_console_runs_under_its_csp_without_refusals(browser: Any, stack: Stack, admin_account: str) -> None:
    # No CSP bypass here: every refused script, style or eval would show up as a console error.
    context = browser.new_context(viewport=DESKTOP, locale="de-DE")
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        sign_in(page, stack, admin_account, "/staff/users")
        assert page.evaluate("() => typeof window.htmx === 'object' && htmx.config.allowEval === false")
        page.goto(f"{stack.knowledge_url}/staff/")
        expect(page.get_by_role("navigation", name="Hauptmenü")).to_be_visible()
        assert [e for e in errors if "Content Security Policy" in e or "Refused" in e] == []
        page.get_by_role("button", name="Abmelden").click()
        page.wait_for_url("**/staff/login?logged_out=true")
        expect(page.get_by_role("status")).to_contain_text("Sie wurden abgemeldet.")
    finally:
        context.close()
