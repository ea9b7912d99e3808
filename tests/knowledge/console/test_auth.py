"""Signing in to the console, sessions, CSRF and the users page: what staff and an attacker notice.

Staff without a session land on the login form and come back where they wanted to go; a wrong pair
gets one German message whether or not the account exists; after five wrong passwords even the
right one is refused for a while (429, "Zu viele Fehlversuche ..."); sessions end when idle, after
eight hours, at logout and when an admin locks the account or changes its role. A form posted
without the session's CSRF token changes nothing. Admins manage the accounts and cannot lock
themselves out.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.deps import Runtime
from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.staff.auth import add_user
from kumpel_knowledge.staff.models import AuditLog, StaffSession, StaffUser

from .conftest import PASSWORD, ConsoleClient, ConsoleClock, csrf_of, login_token_of, sign_in

MakeClient = Callable[..., ConsoleClient]


def _user(runtime: Runtime, username: str) -> StaffUser | None:
    with runtime.sessions() as db:
        return db.scalar(select(StaffUser).where(StaffUser.username == username))


def _audit(runtime: Runtime, action: str) -> list[AuditLog]:
    with runtime.sessions() as db:
        return list(db.scalars(select(AuditLog).where(AuditLog.action == action)))


def _signed_in(client: ConsoleClient) -> bool:
    response = client.get("/staff/", follow_redirects=False)
    return response.status_code == 200


# --- getting in --------------------------------------------------------------------------------


def test_without_a_session_the_console_redirects_to_the_login_and_back(
    anonymous_client: ConsoleClient, console_runtime: Runtime
) -> None:
    response = anonymous_client.get("/staff/users?page=2", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=/staff/users%3Fpage%3D2"

    login = anonymous_client.get(response.headers["location"])
    assert login.status_code == 200
    assert "Anmelden" in login.text and 'lang="de"' in login.text

    with console_runtime.sessions() as db:
        add_user(db, "anna", PASSWORD, "admin")
    done = sign_in(anonymous_client, "anna", next_path="/staff/users?page=2")
    assert done.status_code == 303
    assert done.headers["location"] == "/staff/users?page=2"
    assert anonymous_client.get("/staff/users").status_code == 200


def test_htmx_request_without_session_gets_401_with_a_way_to_the_login(anonymous_client: ConsoleClient) -> None:
    response = anonymous_client.get("/staff/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/staff/login?next=")


def test_wrong_pair_gets_the_same_german_message_for_known_and_unknown_accounts(
    console_client: MakeClient, anonymous_client: ConsoleClient
) -> None:
    console_client("editor", username="bert")
    known = sign_in(anonymous_client, "bert", "not the password at all")
    unknown = sign_in(anonymous_client, "nobody-here", "not the password at all")
    assert known.status_code == unknown.status_code == 401
    message = "Benutzername oder Passwort ist falsch."
    assert message in known.text and message in unknown.text
    assert "kumpel_staff=" not in known.headers.get("set-cookie", "").replace("kumpel_staff_login", "")


def test_login_form_without_its_signed_token_is_refused(
    console_client: MakeClient, console_app: FastAPI, console_runtime: Runtime
) -> None:
    console_client("editor", username="carla")
    with ConsoleClient(console_app) as attacker_page:  # a form posted from another site: no login cookie
        response = attacker_page.post(
            "/staff/login",
            data={"username": "carla", "password": PASSWORD, "login_token": "forged", "next": "/staff/"},
            follow_redirects=False,
        )
    assert response.status_code == 403
    assert "Sicherheitsprüfung fehlgeschlagen" in response.text
    assert "kumpel_staff=" not in response.headers.get("set-cookie", "").replace("kumpel_staff_login", "")


def test_lockout_after_repeated_failures_even_for_the_right_password(
    console_client: MakeClient, anonymous_client: ConsoleClient, console_runtime: Runtime, console_clock: ConsoleClock
) -> None:
    console_client("editor", username="dora")
    for _ in range(5):
        assert sign_in(anonymous_client, "dora", "wrong password, again").status_code == 401
    locked = sign_in(anonymous_client, "dora", PASSWORD)
    assert locked.status_code == 429
    assert "Zu viele Fehlversuche. Bitte versuchen Sie es in 15 Minuten erneut." in locked.text
    assert int(locked.headers["Retry-After"]) == 15 * 60
    assert not _signed_in(anonymous_client)
    assert {entry.username for entry in _audit(console_runtime, "login_locked")} == {"dora"}

    console_clock.advance(minutes=16)
    assert sign_in(anonymous_client, "dora", PASSWORD).status_code == 303
    assert _signed_in(anonymous_client)


def test_failures_through_the_api_lock_the_console_form_too(
    console_client: MakeClient, anonymous_client: ConsoleClient
) -> None:
    console_client("editor", username="dirk")
    for _ in range(5):
        wrong = anonymous_client.post("/api/v1/auth/token", data={"username": "dirk", "password": "guessing again"})
        assert wrong.status_code == 401
    locked = sign_in(anonymous_client, "dirk", PASSWORD)
    assert locked.status_code == 429
    assert "Zu viele Fehlversuche." in locked.text


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/staff/",
        "//evil.example/staff/",
        "/\\evil.example",
        "/api/v1/staff/audit",
        "/staffing",
        "javascript:alert(1)",
    ],
)
def test_no_open_redirect_after_login(
    next_path: str, console_runtime: Runtime, anonymous_client: ConsoleClient
) -> None:
    with console_runtime.sessions() as db:
        add_user(db, "emil", PASSWORD, "viewer")
    done = sign_in(anonymous_client, "emil", next_path=next_path)
    assert done.status_code == 303
    assert done.headers["location"] == "/staff/"


# --- the cookie and the session ------------------------------------------------------------------


def test_session_cookie_flags_and_only_a_hash_in_the_database(
    console_runtime: Runtime, anonymous_client: ConsoleClient
) -> None:
    with console_runtime.sessions() as db:
        add_user(db, "frida", PASSWORD, "viewer")
    done = sign_in(anonymous_client, "frida")
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("kumpel_staff="))
    token = cookie.split(";")[0].removeprefix("kumpel_staff=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/staff"} <= flags
    assert "secure" not in flags  # plain http in the test: a Secure cookie would never come back
    assert len(token) >= 43
    with console_runtime.sessions() as db:
        stored = db.scalars(select(StaffSession.token_hash)).all()
    assert len(stored) == 1 and token not in stored[0]


def test_session_cookie_is_secure_over_https(console_app: FastAPI, console_runtime: Runtime) -> None:
    with console_runtime.sessions() as db:
        add_user(db, "gero", PASSWORD, "viewer")
    with ConsoleClient(console_app, base_url="https://testserver") as client:
        done = sign_in(client, "gero")
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("kumpel_staff="))
    assert "secure" in cookie.lower()


def test_cookies_are_secure_when_configured_behind_tls(kb_settings: Settings) -> None:
    # TLS ended where uvicorn cannot see it: the request looks like http, the cookies are Secure anyway.
    app = create_app(kb_settings.model_copy(update={"console_cookie_secure": True}))
    with ConsoleClient(app) as client:
        page = client.get("/staff/login")
    cookie = next(c for c in page.headers.get_list("set-cookie") if c.startswith("kumpel_staff_login="))
    assert "secure" in cookie.lower()


def test_session_ends_when_idle(console_client: MakeClient, console_clock: ConsoleClock) -> None:
    client = console_client("viewer")
    console_clock.advance(minutes=20)
    assert _signed_in(client)  # a request keeps it alive ...
    console_clock.advance(minutes=20)
    assert _signed_in(client)
    console_clock.advance(minutes=31)  # ... 31 minutes without one end it
    response = client.get("/staff/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/staff/login")


def test_session_ends_after_eight_hours_however_busy(console_client: MakeClient, console_clock: ConsoleClock) -> None:
    client = console_client("viewer")
    for _ in range(16):  # 16 x 29 minutes = 7 h 44 min: always active, still signed in
        console_clock.advance(minutes=29)
        assert _signed_in(client)
    console_clock.advance(minutes=20)
    assert not _signed_in(client)


def test_logout_ends_the_session_and_the_old_cookie_is_refused(
    console_client: MakeClient, console_app: FastAPI
) -> None:
    client = console_client("editor")
    old_cookie = client.cookies.get("kumpel_staff")
    assert old_cookie
    done = client.form("/staff/logout")
    assert done.status_code == 303 and done.headers["location"].startswith("/staff/login")
    assert "Sie wurden abgemeldet." in client.get(done.headers["location"]).text
    with ConsoleClient(console_app, cookies={"kumpel_staff": old_cookie}) as replay:
        assert replay.get("/staff/", follow_redirects=False).status_code == 303


def test_logout_needs_the_csrf_token(console_client: MakeClient) -> None:
    client = console_client("editor")
    refused = client.post("/staff/logout", follow_redirects=False)
    assert refused.status_code == 403
    assert _signed_in(client)


# --- roles and CSRF ------------------------------------------------------------------------------


def test_wrong_role_gets_a_403_page(console_client: MakeClient) -> None:
    editor = console_client("editor")
    response = editor.get("/staff/users")
    assert response.status_code == 403
    assert "Kein Zugriff" in response.text and "Verwalten" in response.text
    assert "/staff/users" not in editor.get("/staff/").text  # no menu entry either


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_post_without_or_with_wrong_csrf_token_is_refused_and_changes_nothing(
    token: str | None, console_client: MakeClient, console_runtime: Runtime
) -> None:
    admin = console_client("admin")
    data = {"username": "intruder", "role": "admin", "password": "a long enough password"}
    if token is not None:
        data["csrf_token"] = token
    response = admin.post("/staff/users", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "Sicherheitsprüfung fehlgeschlagen" in response.text
    assert _user(console_runtime, "intruder") is None


def test_csrf_token_in_the_htmx_header_is_accepted(console_client: MakeClient, console_runtime: Runtime) -> None:
    admin = console_client("admin")
    response = admin.post(
        "/staff/users",
        data={"username": "hanna", "role": "viewer", "password": "a long enough password"},
        headers={"X-CSRF-Token": admin.csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert _user(console_runtime, "hanna") is not None


def test_security_headers_on_console_pages(anonymous_client: ConsoleClient) -> None:
    page = anonymous_client.get("/staff/login")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["Cache-Control"] == "no-store"
    assert '"allowEval": false' in page.text


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/staff/static/vendor/htmx.min.js", "text/javascript"),
        ("/staff/static/vendor/chart.umd.min.js", "text/javascript"),
        ("/staff/static/console.css", "text/css"),
    ],
)
def test_static_files_are_served_with_their_content_types(
    path: str, content_type: str, anonymous_client: ConsoleClient
) -> None:
    response = anonymous_client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- the users page ------------------------------------------------------------------------------


def test_admin_adds_an_account_that_can_sign_in(
    console_client: MakeClient, console_runtime: Runtime, console_app: FastAPI
) -> None:
    admin = console_client("admin", username="ida")
    done = admin.form("/staff/users", {"username": "j.neu", "role": "editor", "password": "ein langes Passwort"})
    assert done.status_code == 303
    page = admin.get("/staff/users")
    assert "j.neu" in page.text and "ist angelegt" in page.text
    entry = _audit(console_runtime, "user_created")[0]
    assert (entry.username, entry.entity_id, entry.detail["after"]["role"]) == ("ida", "j.neu", "editor")
    assert "ein langes Passwort" not in str(entry.detail)
    with ConsoleClient(console_app) as newcomer:
        assert sign_in(newcomer, "j.neu", "ein langes Passwort").status_code == 303


def test_invalid_new_account_is_refused_with_messages_naming_the_fields(
    console_client: MakeClient, console_runtime: Runtime
) -> None:
    admin = console_client("admin", username="jana")
    response = admin.form("/staff/users", {"username": "jana", "role": "boss", "password": "short"})
    assert response.status_code == 422
    assert "Benutzername: Diesen Namen gibt es schon." in response.text
    assert "Rolle: Bitte wählen Sie" in response.text
    assert "Erstes Passwort: Bitte mindestens 12 Zeichen eingeben." in response.text
    assert 'aria-describedby="password-help password-error"' in response.text
    assert _audit(console_runtime, "user_created") == []


def test_role_change_ends_the_accounts_sessions(console_client: MakeClient, console_runtime: Runtime) -> None:
    admin = console_client("admin")
    editor = console_client("editor", username="kai")
    target = _user(console_runtime, "kai")
    assert target is not None
    assert admin.form(f"/staff/users/{target.id}/role", {"role": "viewer"}).status_code == 303
    assert not _signed_in(editor)
    assert _user(console_runtime, "kai").role == "viewer"  # type: ignore[union-attr]
    entry = _audit(console_runtime, "user_role_changed")[0]
    assert entry.detail == {"before": {"role": "editor"}, "after": {"role": "viewer"}}


def test_deactivation_ends_sessions_and_refuses_the_login(
    console_client: MakeClient, console_runtime: Runtime, console_app: FastAPI
) -> None:
    admin = console_client("admin")
    editor = console_client("editor", username="lena")
    target = _user(console_runtime, "lena")
    assert target is not None
    assert admin.form(f"/staff/users/{target.id}/active", {"active": "false"}).status_code == 303
    assert not _signed_in(editor)
    with ConsoleClient(console_app) as again:
        assert sign_in(again, "lena").status_code == 401
    assert admin.form(f"/staff/users/{target.id}/active", {"active": "true"}).status_code == 303
    with ConsoleClient(console_app) as again:
        assert sign_in(again, "lena").status_code == 303
    assert [e.action for e in _audit(console_runtime, "user_deactivated")] == ["user_deactivated"]
    assert [e.action for e in _audit(console_runtime, "user_reactivated")] == ["user_reactivated"]


def test_password_reset_ends_other_sessions_and_the_old_password(
    console_client: MakeClient, console_runtime: Runtime, console_app: FastAPI
) -> None:
    admin = console_client("admin")
    editor = console_client("editor", username="mia")
    target = _user(console_runtime, "mia")
    assert target is not None
    done = admin.form(f"/staff/users/{target.id}/password", {"new_password": "ganz neues Passwort"})
    assert done.status_code == 303
    assert not _signed_in(editor)
    with ConsoleClient(console_app) as again:
        assert sign_in(again, "mia", PASSWORD).status_code == 401
        assert sign_in(again, "mia", "ganz neues Passwort").status_code == 303


def test_password_changed_elsewhere_ends_the_session(console_client: MakeClient, console_runtime: Runtime) -> None:
    editor = console_client("editor", username="nils")
    with console_runtime.sessions() as db:  # the CLI's `users add` resets the password
        add_user(db, "nils", "set from the command line", "editor")
    assert not _signed_in(editor)


def test_admin_cannot_remove_their_own_admin_role_or_lock_themself_out(
    console_client: MakeClient, console_runtime: Runtime
) -> None:
    admin = console_client("admin", username="olga")
    me = _user(console_runtime, "olga")
    assert me is not None
    demoted = admin.form(f"/staff/users/{me.id}/role", {"role": "editor"})
    assert demoted.status_code == 422
    assert "Rolle: Sie können Ihre eigene Rolle „Verwalten“ nicht abgeben." in demoted.text
    locked = admin.form(f"/staff/users/{me.id}/active", {"active": "false"})
    assert locked.status_code == 422
    assert "Sie können sich nicht selbst sperren." in locked.text
    still = _user(console_runtime, "olga")
    assert still is not None and (still.role, still.active) == ("admin", True)
    assert _signed_in(admin)


def test_own_password_reset_keeps_this_session(console_client: MakeClient, console_runtime: Runtime) -> None:
    admin = console_client("admin", username="paul")
    me = _user(console_runtime, "paul")
    assert me is not None
    assert admin.form(f"/staff/users/{me.id}/password", {"new_password": "mein neues Passwort"}).status_code == 303
    page = admin.get(f"/staff/users/{me.id}")
    assert page.status_code == 200 and "ist neu gesetzt" in page.text
    assert csrf_of(page.text) == admin.csrf


def test_login_page_token_is_fresh_per_visit(anonymous_client: ConsoleClient) -> None:
    first = login_token_of(anonymous_client.get("/staff/login").text)
    second = login_token_of(anonymous_client.get("/staff/login").text)
    assert first != second
