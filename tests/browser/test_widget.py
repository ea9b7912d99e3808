"""What a citizen notices in the web widget, in real Chromium against the real trained bot.

Run in .venv/knowledge: .venv/knowledge/bin/python -m pytest tests/browser
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from kumpel_stack.launcher import ROOT, Stack

pytestmark = pytest.mark.browser

AXE_JS = ROOT / "webchat" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}
# Generous: the shared 2-core test machine can be very busy; a real answer is far faster.
REPLY_TIMEOUT_MS = 60_000
HOST = "document.querySelector('#kumpel-webchat').shadowRoot"
SCREENSHOT_DIR = os.environ.get("KUMPEL_SCREENSHOT_DIR")


def sql_rows(db_path: Path, query: str, *params: object) -> list[tuple[Any, ...]]:
    """Read what a test left in one of the stack's SQLite databases."""
    with sqlite3.connect(db_path) as connection:
        return list(connection.execute(query, params))


class Chat:
    """The widget as a visitor of the demo city website uses it."""

    def __init__(self, page: Any, stack: Stack) -> None:
        self.page = page
        self.stack = stack

    def visit(self, path: str = "/demo/") -> Chat:
        self.page.goto(self.stack.knowledge_url + path)
        expect(self.launcher).to_be_visible()
        return self

    @property
    def launcher(self) -> Any:
        return self.page.get_by_role("button", name=re.compile("^(Chat mit Kumpel|Chat with Kumpel)$"))

    @property
    def panel(self) -> Any:
        return self.page.locator("#kumpel-panel")

    @property
    def input(self) -> Any:
        return self.page.locator("#kumpel-input")

    @property
    def bot_messages(self) -> Any:
        return self.page.locator(".message.bot")

    @property
    def user_messages(self) -> Any:
        return self.page.locator(".message.user p")

    @property
    def status(self) -> Any:
        return self.page.locator("p.status")

    def open(self) -> Chat:
        self.launcher.click()
        self.wait_online()
        return self

    def wait_online(self) -> None:
        expect(self.panel).to_be_visible()
        expect(self.panel).to_have_attribute("data-connection", "online")

    def wait_for_reply(self, bots_before: int) -> str:
        """Wait until the bot finished its turn; return the text of its last message."""
        self.page.wait_for_function(
            f"n => {HOST}.querySelectorAll('.message.bot').length > n"
            f" && !{HOST}.querySelector('#kumpel-panel').hasAttribute('data-busy')",
            arg=bots_before,
            timeout=REPLY_TIMEOUT_MS,
        )
        return str(self.bot_messages.last.inner_text())

    def wait_until_still(self) -> None:
        """Wait until the panel's slide-in has ended, so what is measured is where it rests.

        On a busy machine the 160 ms animation can outlast a whole bot turn; the endless typing
        dots are not waited for.
        """
        self.page.evaluate(
            f"() => Promise.all({HOST}.getAnimations()"
            ".filter(a => a.effect && a.effect.getTiming().iterations !== Infinity)"
            ".map(a => a.finished))"
        )

    def ask(self, text: str) -> str:
        before = self.bot_messages.count()
        self.input.fill(text)
        self.input.press("Enter")
        return self.wait_for_reply(before)

    def active_element(self) -> str:
        """What has keyboard focus inside the widget (id, or tag.class)."""
        return str(
            self.page.evaluate(
                f"() => {{ const a = {HOST}.activeElement; return a ? (a.id || a.tagName.toLowerCase() + '.' + a.className) : 'none' }}"
            )
        )

    def session_id(self) -> str | None:
        value = self.page.evaluate("() => sessionStorage.getItem('kumpel.session')")
        return str(value) if value else None


@pytest.fixture()
def chat(page: Any, stack: Stack) -> Chat:
    return Chat(page, stack)


def test_nothing_is_loaded_connected_or_stored_before_the_chat_is_opened(page: Any, stack: Stack) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    chat = Chat(page, stack).visit()
    page.wait_for_load_state("networkidle")
    assert page.context.cookies() == []
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    rasa = urlsplit(stack.rasa_url).netloc
    assert not [url for url in requests if rasa in url or "socket.io" in url]

    chat.open()
    # After opening: only a random session id, never the conversation text.
    assert re.fullmatch(r"[0-9a-f]{32}", chat.session_id() or "")
    assert page.evaluate("() => Object.keys(sessionStorage).sort()") == ["kumpel.open", "kumpel.session"]
    assert page.context.cookies() == []
    knowledge = urlsplit(stack.knowledge_url).netloc
    assert {urlsplit(url).netloc for url in requests if not url.startswith("data:")} <= {knowledge, rasa}


def test_citizen_asks_and_gets_the_cited_knowledge_answer(chat: Chat, stack: Stack) -> None:
    chat.visit().open()
    expect(chat.page.locator("#kumpel-notice")).to_contain_text("keine persönlichen Daten")
    chat.page.evaluate(
        f"""() => {{ window.__statuses = []; new MutationObserver(() => window.__statuses.push({HOST}.querySelector('p.status').textContent))
            .observe({HOST}.querySelector('p.status'), {{childList: true, characterData: true, subtree: true}}); }}"""
    )
    answer = chat.ask("Wann hat das Bürgerbüro geöffnet?")
    assert "Bürgerbüro" in answer
    assert re.search(r"\d{1,2}:\d{2}", answer), answer
    assert "Quelle:" in answer
    last = chat.bot_messages.last
    expect(last.locator("a[href^='https://']").first).to_be_visible()
    expect(last.get_by_role("button", name="Vorlesen")).to_be_visible()
    expect(last.get_by_role("button", name="War diese Antwort hilfreich? Ja")).to_be_visible()
    assert "Kumpel schreibt …" in chat.page.evaluate("() => window.__statuses")
    expect(chat.status).to_have_text("")
    expect(chat.user_messages.last).to_have_text("Wann hat das Bürgerbüro geöffnet?")


def test_bot_buttons_can_be_clicked(chat: Chat) -> None:
    chat.visit().open()
    chat.ask("Was kannst du?")
    buttons = chat.bot_messages.last.locator(".quick-reply")
    assert buttons.count() >= 2
    title = buttons.first.inner_text()
    before = chat.bot_messages.count()
    buttons.first.click()
    chat.wait_for_reply(before)
    # The citizen sees the button's title as their message, never a raw payload.
    expect(chat.user_messages.last).to_have_text(title)
    assert not chat.user_messages.last.inner_text().startswith("/")
    # Buttons of an answered question disappear, so an old choice cannot be sent twice.
    expect(chat.page.locator(".quick-reply", has_text=title)).to_have_count(0)


def test_history_survives_reload_and_navigation(chat: Chat) -> None:
    chat.visit().open()
    answer = chat.ask("Was kostet die Hundesteuer?")
    assert "111,32" in answer
    session = chat.session_id()

    chat.page.reload()
    chat.wait_online()  # the chat was open: it opens again by itself
    expect(chat.user_messages.last).to_have_text("Was kostet die Hundesteuer?")
    expect(chat.bot_messages.filter(has_text="111,32")).to_have_count(1)
    assert chat.session_id() == session

    chat.page.get_by_role("link", name="Bürgerservice").first.click()
    chat.wait_online()
    expect(chat.bot_messages.filter(has_text="111,32")).to_have_count(1)
    assert "Kumpel schreibt" not in chat.status.inner_text()


def test_keyboard_only_open_ask_pick_a_button_and_close(chat: Chat) -> None:
    chat.visit()
    page = chat.page
    for _ in range(40):  # tab through the city page until the launcher has focus
        page.keyboard.press("Tab")
        if page.evaluate(
            f"() => document.activeElement.id === 'kumpel-webchat' && {HOST}.activeElement?.classList.contains('launcher')"
        ):
            break
    else:
        pytest.fail("the launcher cannot be reached with Tab")
    page.keyboard.press("Enter")
    chat.wait_online()
    assert chat.active_element() == "kumpel-input"  # focus moved into the widget

    before = chat.bot_messages.count()
    page.keyboard.type("Was kannst du?")
    page.keyboard.press("Enter")
    chat.wait_for_reply(before)
    assert chat.active_element() == "kumpel-input"

    # Shift+Tab from the input reaches the answer's buttons (the last focusable things in the log).
    for _ in range(10):
        page.keyboard.press("Shift+Tab")
        if "quick-reply" in chat.active_element():
            break
    else:
        pytest.fail("no button of the answer is reachable with the keyboard")
    picked = page.evaluate(f"() => {HOST}.activeElement.textContent")
    before = chat.bot_messages.count()
    page.keyboard.press("Enter")
    chat.wait_for_reply(before)
    expect(chat.user_messages.last).to_have_text(picked)

    # Focus is visible: the focused control draws an outline.
    page.keyboard.press("Shift+Tab")
    outline = page.evaluate(f"() => getComputedStyle({HOST}.activeElement).outlineStyle")
    assert outline == "solid"

    page.keyboard.press("Escape")
    expect(chat.panel).to_be_hidden()
    assert "launcher" in chat.active_element()  # focus back where it was


def test_html_and_script_input_is_shown_as_text(chat: Chat) -> None:
    chat.visit().open()
    attack = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>fett</b> 🐶'
    chat.ask(attack)
    expect(chat.user_messages.last).to_have_text(attack)
    assert chat.page.evaluate(f"() => {HOST}.querySelectorAll('.log img, .log script, .log b').length") == 0
    assert chat.page.evaluate("() => window.__pwned") is None


def test_empty_and_overlong_input_get_a_polite_answer(chat: Chat) -> None:
    chat.visit().open()
    users_before = chat.user_messages.count()
    chat.input.fill("   ")
    chat.input.press("Enter")
    expect(chat.status).to_have_text("Bitte geben Sie zuerst eine Frage ein.")
    assert chat.user_messages.count() == users_before
    chat.input.fill("Hundesteuer " * 1000)
    assert len(chat.input.input_value()) == 1000  # the field itself stops at 1,000 characters
    before = chat.bot_messages.count()
    chat.input.press("Enter")
    assert chat.wait_for_reply(before)


def test_read_aloud_speaks_the_answer_in_german(chat: Chat) -> None:
    chat.visit().open()
    answer = chat.ask("Was kostet die Hundesteuer?")
    # Record what the widget hands to the browser's speech synthesis (the real call still happens).
    chat.page.evaluate(
        """() => { window.__spoken = []; const speak = speechSynthesis.speak.bind(speechSynthesis);
                   speechSynthesis.speak = u => { window.__spoken.push([u.text, u.lang]); speak(u); }; }"""
    )
    button = chat.bot_messages.last.get_by_role("button", name="Vorlesen")
    button.click()
    [[text, lang]] = chat.page.evaluate("() => window.__spoken")
    assert lang == "de-DE"
    assert "111,32" in text and "111,32" in answer


def test_thumbs_up_is_stored_anonymously(chat: Chat, stack: Stack) -> None:
    chat.visit().open()
    chat.ask("Was kostet die Hundesteuer?")
    up = chat.bot_messages.last.get_by_role("button", name="War diese Antwort hilfreich? Ja")
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(chat.status).to_have_text("Danke für Ihre Rückmeldung.")
    rows = sql_rows(
        stack.state_dir / "kumpel.db",
        "SELECT rating, entry_type, entry_id, message_id FROM feedback ORDER BY id DESC LIMIT 1",
    )
    assert rows and rows[0][0] == "up" and rows[0][1] == "service" and "hundesteuer" in rows[0][2]
    assert rows[0][3] != chat.session_id()


def test_delete_my_conversation_removes_it_on_the_server(chat: Chat, stack: Stack) -> None:
    chat.visit().open()
    chat.ask("Wann hat das Bürgerbüro geöffnet?")
    old_session = chat.session_id()
    tracker_db = stack.state_dir / "tracker.db"
    assert sql_rows(tracker_db, "SELECT count(*) FROM events WHERE sender_id = ?", old_session)[0][0] > 0

    chat.page.get_by_role("button", name="Unterhaltung löschen").click()
    chat.page.get_by_role("button", name="Ja, löschen").click()
    expect(chat.status).to_have_text("Ihre Unterhaltung wurde gelöscht.")
    expect(chat.user_messages).to_have_count(0)
    assert sql_rows(tracker_db, "SELECT count(*) FROM events WHERE sender_id = ?", old_session)[0][0] == 0
    chat.wait_online()  # a new, empty session
    chat.page.wait_for_function(
        "old => sessionStorage.getItem('kumpel.session') && sessionStorage.getItem('kumpel.session') !== old",
        arg=old_session,
    )

    chat.page.reload()
    chat.wait_online()
    expect(chat.user_messages).to_have_count(0)


def test_english_interface_texts(chat: Chat) -> None:
    chat.visit("/demo/?lang=en").open()
    expect(chat.page.get_by_role("button", name="Delete conversation")).to_be_visible()
    expect(chat.page.get_by_label("Your message")).to_be_visible()
    expect(chat.page.locator("#kumpel-notice")).to_contain_text("personal data")


def _axe(page: Any) -> list[dict[str, Any]]:
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


@pytest.mark.parametrize("language", ["de", "en"])
def test_axe_finds_no_serious_or_critical_violation(browser: Any, stack: Stack, language: str) -> None:
    # CSP of the demo page forbids injected scripts; axe is test tooling, so the test bypasses it.
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    try:
        page = context.new_page()
        chat = Chat(page, stack).visit(f"/demo/?lang={language}")
        assert _axe(page) == [], "closed widget"
        chat.open()
        chat.ask("Was kostet die Hundesteuer?")
        chat.ask("Was kannst du?")
        assert _axe(page) == [], "open widget with answers and buttons"
        page.get_by_role("button", name=re.compile("Unterhaltung löschen|Delete conversation")).click()
        assert _axe(page) == [], "delete confirmation"
    finally:
        context.close()


def test_200_percent_zoom_and_phone_width_lose_nothing(browser: Any, stack: Stack) -> None:
    # 1280x800 at 200 % zoom is a 640x400 CSS-pixel viewport.
    for viewport in ({"width": 640, "height": 400}, MOBILE):
        context = browser.new_context(viewport=viewport)
        try:
            page = context.new_page()
            chat = Chat(page, stack).visit().open()
            chat.ask("Was kostet die Hundesteuer?")
            chat.wait_until_still()
            box = page.locator("#kumpel-panel").bounding_box()
            assert box["x"] >= 0 and box["y"] >= 0
            assert box["x"] + box["width"] <= viewport["width"] + 1
            assert box["y"] + box["height"] <= viewport["height"] + 1
            for name in ("Chat schließen", "Unterhaltung löschen", "Senden"):
                expect(page.get_by_role("button", name=name)).to_be_in_viewport()
            expect(chat.input).to_be_in_viewport()
            no_sideways_scroll = (
                f"() => {HOST}.querySelector('.body').scrollWidth <= {HOST}.querySelector('.body').clientWidth"
            )
            assert page.evaluate(no_sideways_scroll)
        finally:
            context.close()


def test_reduced_motion_is_respected(browser: Any, stack: Stack) -> None:
    context = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    try:
        page = context.new_page()
        Chat(page, stack).visit().open()
        assert page.evaluate(f"() => getComputedStyle({HOST}.querySelector('#kumpel-panel')).animationName") == "none"
        assert page.evaluate(f"() => getComputedStyle({HOST}.querySelector('.typing span')).animationName") == "none"
    finally:
        context.close()


def test_screenshots_desktop_and_mobile(browser: Any, stack: Stack, tmp_path: Path) -> None:
    """Desktop and phone views of a real conversation (KUMPEL_SCREENSHOT_DIR=docs/screenshots keeps them)."""
    target = Path(SCREENSHOT_DIR) if SCREENSHOT_DIR else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    conversation = ["Was kostet die Hundesteuer?", "Was kannst du?"]
    shots = [
        ("webchat-privacy-notice.png", DESKTOP, []),  # first open: the notice before any message
        ("webchat-desktop.png", DESKTOP, conversation),
        ("webchat-mobile.png", MOBILE, conversation),
        ("webchat-zoom-200.png", {"width": 640, "height": 400}, conversation),  # 1280x800 at 200 %
    ]
    for name, viewport, questions in shots:
        context = browser.new_context(viewport=viewport, reduced_motion="reduce")
        try:
            page = context.new_page()
            chat = Chat(page, stack).visit().open()
            for question in questions:
                chat.ask(question)
            page.screenshot(path=str(target / name))
            assert (target / name).stat().st_size > 10_000
        finally:
            context.close()


OPEN_WEBSOCKET = """url => new Promise(resolve => {
    const socket = new WebSocket(url);
    socket.onopen = () => { socket.close(); resolve('open'); };
    socket.onerror = () => resolve('refused');
    setTimeout(() => resolve('timeout'), 8000);
})"""


def test_only_the_configured_site_may_use_the_chat_server(page: Any, stack: Stack) -> None:
    socket_url = stack.rasa_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    Chat(page, stack).visit()
    assert page.evaluate(OPEN_WEBSOCKET, socket_url) == "open"
    # The long-polling fallback is a cross-origin XHR: it needs exactly one CORS header to work.
    polled = page.evaluate(
        "url => fetch(url).then(r => r.text()).catch(e => 'blocked: ' + e)",
        stack.rasa_url + "/socket.io/?EIO=4&transport=polling",
    )
    assert polled.startswith("0{")

    # Any other website (served here by the test itself, nothing leaves the machine) is refused.
    page.route(
        "http://other-site.test/", lambda route: route.fulfill(status=200, content_type="text/html", body="<p>x</p>")
    )
    page.goto("http://other-site.test/")
    assert page.evaluate(OPEN_WEBSOCKET, socket_url) == "refused"


def test_server_down_is_shown_and_the_chat_reconnects_after_restart(chat: Chat, stack: Stack) -> None:
    """Runs last: restarts the Rasa process of the session's stack."""
    chat.visit().open()
    chat.ask("Was kostet die Hundesteuer?")
    rasa = next(p for p in stack.processes if p.name == "rasa")
    rasa.stop()
    expect(chat.status).to_contain_text("Keine Verbindung zum Server", timeout=20_000)
    expect(chat.page.get_by_role("button", name="Senden")).to_be_disabled()

    rasa.start(echo=False)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not chat.page.evaluate(
        f"() => {HOST}.querySelector('#kumpel-panel').getAttribute('data-connection') === 'online'"
    ):
        time.sleep(1)
    chat.wait_online()
    expect(chat.status).to_have_text("Verbindung wiederhergestellt.")
    expect(chat.bot_messages.filter(has_text="111,32")).to_have_count(1)  # the page kept the conversation
    assert "Bürgerbüro" in chat.ask("Wann hat das Bürgerbüro geöffnet?")
