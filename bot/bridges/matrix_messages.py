"""What the Matrix bridge sends and understands, without the Matrix client library.

Kept apart from :mod:`bot.bridges.matrix_bridge` (which needs matrix-nio, installed only in
``.venv/matrix``) so that the rules can be tested in the Rasa venv: the bot's replies rendered for
Matrix (numbered options, an HTML body beside the plain one), a numbered reply mapped back to its
button, and the settings read from the environment.
"""

from __future__ import annotations

import html
import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from bot.channels.messenger.choices import pick_numbered
from bot.channels.messenger.rendering import MATRIX, render

# What a citizen in an encrypted room reads: the bridge cannot decrypt (no libolm, see the bridge's
# docstring), so it says so once instead of staying silent.
ENCRYPTED_NOTICE = (
    "Verschlüsselte Nachrichten kann ich leider noch nicht lesen. Bitte schreiben Sie mir in einem "
    "neuen Direktchat ohne Ende-zu-Ende-Verschlüsselung; dort beantworte ich Ihre Fragen gern."
)
FAILURE_NOTICE = (
    "Entschuldigung, gerade gibt es eine technische Störung. Bitte versuchen Sie es in ein paar Minuten "
    "noch einmal oder rufen Sie die Behördennummer 115 an."
)

_LINK = re.compile(r'<a\s+href="(?P<url>[^"]*)"[^>]*>(?P<title>.*?)</a>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")

# Rooms whose last options the bridge remembers; older rooms fall out (a "2" there then goes to the
# NLU as text, which asks back). Bounded so that many conversations cannot grow the process.
MAX_REMEMBERED_ROOMS = 10_000


@dataclass(frozen=True)
class BridgeSettings:
    """The bridge's settings, all from the environment (no secret in a file of the repo)."""

    homeserver: str
    user_id: str
    access_token: str
    rasa_url: str

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> BridgeSettings:
        """Read ``KUMPEL_MATRIX_*`` and ``KUMPEL_RASA_URL``; a missing one is a ``SystemExit`` naming it."""
        env = dict(os.environ if environ is None else environ)
        missing = [
            name
            for name in ("KUMPEL_MATRIX_HOMESERVER", "KUMPEL_MATRIX_USER", "KUMPEL_MATRIX_ACCESS_TOKEN")
            if not env.get(name, "").strip()
        ]
        if missing:
            raise SystemExit(f"kumpel-matrix-bridge: set {', '.join(missing)} (see README, Matrix)")
        return cls(
            homeserver=env["KUMPEL_MATRIX_HOMESERVER"].strip().rstrip("/"),
            user_id=env["KUMPEL_MATRIX_USER"].strip(),
            access_token=env["KUMPEL_MATRIX_ACCESS_TOKEN"].strip(),
            rasa_url=env.get("KUMPEL_RASA_URL", "http://127.0.0.1:5005").strip().rstrip("/"),
        )

    @property
    def rest_webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"


def plain_body(formatted: str) -> str:
    """The plain ``body`` beside an HTML ``formatted_body`` (clients without HTML, notifications)."""
    linked = _LINK.sub(lambda match: f"{match.group('title')} – {html.unescape(match.group('url'))}", formatted)
    return html.unescape(_TAG.sub("", linked))


def matrix_contents(bot_messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The ``m.room.message`` contents for one turn's replies from the REST channel, in order."""
    contents = []
    # Element shows neither buttons nor quick replies: MATRIX numbers every option in the text.
    for part in render(bot_messages, MATRIX):
        if part.text.strip():
            contents.append(
                {
                    "msgtype": "m.text",
                    "body": plain_body(part.text),
                    "format": "org.matrix.custom.html",
                    # HTML ignores line breaks; the numbered options need theirs.
                    "formatted_body": part.text.replace("\n", "<br>"),
                }
            )
    return contents


def notice(text: str) -> dict[str, str]:
    """A notice (shown greyed, never answered by other bots) with the given German text."""
    return {"msgtype": "m.notice", "body": text}


def last_options(bot_messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The buttons of the turn's last message with buttons: the list a "2" answers (numbered from 1)."""
    for message in reversed(bot_messages):
        buttons = [button for button in message.get("buttons") or [] if isinstance(button, dict)]
        if buttons:
            return buttons
    return []


class RememberedOptions:
    """The last numbered options shown in each room, so that "2" can pick the second.

    In memory, by design: one Matrix account is served by exactly one bridge process (two
    processes syncing the same account would both answer every message), so there is no second
    instance to share with; after a restart a bare "2" is sent on as text and the bot asks back.
    """

    def __init__(self, limit: int = MAX_REMEMBERED_ROOMS) -> None:
        self._limit = limit
        self._by_room: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

    def remember(self, room_id: str, buttons: list[dict[str, Any]]) -> None:
        self._by_room.pop(room_id, None)
        if buttons:
            self._by_room[room_id] = buttons
            while len(self._by_room) > self._limit:
                self._by_room.popitem(last=False)

    def resolve(self, room_id: str, text: str) -> str:
        """The payload of the option ``text`` picks in this room, else ``text`` itself."""
        payload = pick_numbered(text, self._by_room.get(room_id, []))
        return payload if payload is not None else text
