"""A citizen's "2" (or "2.", "Nr. 2", "zwei", "die zweite") picks option 2 of the numbered list.

Channels without buttons (Matrix, Threema, or too many options) show choices as numbered lines
(``rendering.numbered_lines``). The options of the last bot turn are read back from Rasa's tracker
store, not from the channel's memory: with several engine instances behind a load balancer the
reply may reach another instance than the one that sent the list, and they share the store.
"""

from __future__ import annotations

import re
from typing import Any

# Cardinal and ordinal German number words up to twelve (no list the bot sends is longer).
_NUMBER_WORDS = {
    "eins": 1, "ein": 1, "eine": 1, "erste": 1, "erster": 1, "erstes": 1, "ersten": 1,
    "zwei": 2, "zwo": 2, "zweite": 2, "zweiter": 2, "zweites": 2, "zweiten": 2,
    "drei": 3, "dritte": 3, "dritter": 3, "drittes": 3, "dritten": 3,
    "vier": 4, "vierte": 4, "vierter": 4, "viertes": 4, "vierten": 4,
    "fünf": 5, "fünfte": 5, "fünfter": 5, "fünftes": 5, "fünften": 5,
    "sechs": 6, "sechste": 6, "sechster": 6, "sechstes": 6, "sechsten": 6,
    "sieben": 7, "siebte": 7, "siebter": 7, "siebtes": 7, "siebten": 7,
    "acht": 8, "achte": 8, "achter": 8, "achtes": 8, "achten": 8,
    "neun": 9, "neunte": 9, "neunter": 9, "neuntes": 9, "neunten": 9,
    "zehn": 10, "zehnte": 10, "zehnter": 10, "zehntes": 10, "zehnten": 10,
    "elf": 11, "elfte": 11, "elfter": 11, "elftes": 11, "elften": 11,
    "zwölf": 12, "zwölfte": 12, "zwölfter": 12, "zwölftes": 12, "zwölften": 12,
}  # fmt: skip
# The whole reply must be the choice: "2", "2.", "2)", "Nr. 2", "Nummer 2", "Option 2", "#2",
# "die 2", "zwei", "die zweite", "Nr. zwei". "2 Hunde" or "am 2. Mai" are answers, not choices.
_CHOICE = re.compile(
    r"^(?:(?:die|der|das|den)\s+)?(?:(?:nr\.?|nummer|option|auswahl)\s*|#\s*)?"
    r"(?P<number>\d{1,2}|[a-zäöü]+)\s*[.)!]?(?:\s*(?:bitte|option))?\s*[.!]?$"
)


def chosen_number(text: str) -> int | None:
    """The number a reply chooses, or None when the reply is not just a choice."""
    match = _CHOICE.match(text.strip().lower())
    if match is None:
        return None
    token = match.group("number")
    if token.isdigit():
        return int(token)
    return _NUMBER_WORDS.get(token)


def pick_numbered(text: str, last_buttons: list[dict[str, Any]]) -> str | None:
    """The payload of the option ``text`` picks from ``last_buttons``, or None (no choice, out of range)."""
    if not last_buttons:
        return None
    number = chosen_number(text)
    if number is None or not 1 <= number <= len(last_buttons):
        return None
    payload = last_buttons[number - 1].get("payload")
    return payload if isinstance(payload, str) and payload else None


def buttons_of_last_turn(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The buttons of the bot's last turn: the last bot message with buttons after the last user message."""
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            return []
        if kind == "bot":
            data = event.get("data") or {}
            buttons = data.get("buttons") or data.get("quick_replies")
            if buttons:
                return [button for button in buttons if isinstance(button, dict)]
    return []


async def last_bot_buttons(tracker_store: Any, sender_id: str) -> list[dict[str, Any]]:
    """The buttons of the bot's last turn in conversation ``sender_id`` (``[]`` if none or no conversation).

    Args:
        tracker_store: Rasa's tracker store (``agent.tracker_store``: SQL, Redis, in memory).
        sender_id: the conversation id (``identity.conversation_id``).
    """
    if tracker_store is None:
        return []
    tracker = await tracker_store.retrieve(sender_id)
    if tracker is None:
        return []
    return buttons_of_last_turn([event.as_dict() for event in tracker.events])
