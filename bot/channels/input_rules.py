"""What a citizen's text must look like before it reaches the NLU: one rule for every channel.

The REST channel (``kumpel_rest``) and the web widget's socket channel (``kumpel_socketio``) both
call :func:`check_message`; it either gives the text to hand to Rasa or the polite German reply
to send instead, without the NLU, the tracker or the action server ever seeing the message.

Over-long text is refused, not cut. Cutting answers a question the citizen did not ask: the
part that was dropped may hold the actual question ("... und jetzt meine Frage: was kostet das?"),
so the bot would answer the first 2,000 characters of a pasted letter with confidence. A refusal
tells the citizen what to do, and a pasted letter (often full of personal data) is never stored
in the tracker. Nobody types 2,000 characters into a chat window (the widget stops at 1,000).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

# Longest text handed to the NLU. Matches the knowledge service's limit for a question
# (docs/contracts.md), so nothing the channel accepts is refused further down.
MAX_MESSAGE_CHARS = 2000
# Conversation ids of clients that choose their own (REST): letters, digits and . _ : @ -,
# so an id can be a UUID, a phone-number-free handle or "user@integration", never markup or paths.
SENDER_PATTERN = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
# Metadata a channel keeps for the tracker, each value cut to this length.
METADATA_KEYS = ("display_text", "language")
MAX_METADATA_CHARS = 200

EMPTY_MESSAGE_REPLY = (
    "Bitte schreiben Sie Ihre Frage als Text, zum Beispiel: "
    "„Wann hat das Bürgerbüro geöffnet?“ oder „Was kostet die Hundesteuer?“"
)
_MAX_IN_GERMAN = f"{MAX_MESSAGE_CHARS:,}".replace(",", ".")  # 2.000
TOO_LONG_REPLY = (
    f"Ihre Nachricht ist leider zu lang für mich (höchstens {_MAX_IN_GERMAN} Zeichen). "
    "Bitte stellen Sie Ihre Frage kürzer, am besten in ein bis zwei Sätzen, "
    "und senden Sie mir keine Briefe oder Dokumente mit persönlichen Daten."
)

# Lone UTF-16 surrogates (U+D800-U+DFFF) cannot be encoded as UTF-8: the tracker store, the
# knowledge service and every log would fail on them. JSON parsers produce them from "\\ud800".
_SURROGATES = re.compile("[\ud800-\udfff]")
# Control characters other than tab and line break: invisible, and NUL is refused by PostgreSQL.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class CheckedMessage:
    """The outcome of :func:`check_message`: exactly one of ``text`` and ``reply`` is set."""

    # The cleaned text to hand to Rasa.
    text: str | None = None
    # The reply to send instead (the NLU is not asked).
    reply: str | None = None


def clean_text(raw: str) -> str:
    """``raw`` without lone surrogates and control characters, NFC-normalised and stripped.

    NFC makes "Bürgerbüro" typed with a combining diaeresis the same word the NLU was trained on.
    """
    text = _SURROGATES.sub("", raw)
    text = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return unicodedata.normalize("NFC", text).strip()


def check_message(raw: str) -> CheckedMessage:
    """The text to hand to the NLU, or the polite reply that is sent instead.

    Args:
        raw: the text as the channel received it (already known to be a string).
    """
    # Clean first and measure the cleaned text, but refuse an absurdly long raw text at once,
    # without the regular expressions walking all of it.
    if len(raw) > 4 * MAX_MESSAGE_CHARS:
        return CheckedMessage(reply=TOO_LONG_REPLY)
    text = clean_text(raw)
    if not text:
        return CheckedMessage(reply=EMPTY_MESSAGE_REPLY)
    if len(text) > MAX_MESSAGE_CHARS:
        return CheckedMessage(reply=TOO_LONG_REPLY)
    return CheckedMessage(text=text)


def is_valid_sender(value: Any) -> bool:
    """A client-chosen conversation id of the accepted shape (:data:`SENDER_PATTERN`)."""
    return isinstance(value, str) and SENDER_PATTERN.fullmatch(value) is not None


def safe_metadata(metadata: Any) -> dict[str, str]:
    """The few metadata values the bot uses (display text of a button, language), bounded and cleaned.

    Anything else a client sends is dropped: the tracker stores metadata with every message.
    """
    if not isinstance(metadata, dict):
        return {}
    return {
        key: clean_text(value)[:MAX_METADATA_CHARS]
        for key in METADATA_KEYS
        if isinstance(value := metadata.get(key), str)
    }
