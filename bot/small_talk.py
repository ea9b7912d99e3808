"""The small-talk replies by intent, shared by ``action_small_talk`` and the engine.

The action (actions/small_talk.py) says them unless the knowledge base answers the message; the
engine (bot/patches.py, ``action_unavailable_apology``) says them itself while the action server is
down, so that thanks, goodbye or "are you a bot?" never depend on it. No Rasa import: the action
server reads this module too.
"""

from __future__ import annotations

SMALL_TALK_ACTION = "action_small_talk"
REPLIES = {
    "affirm": "utter_ok_anything_else",
    "deny": "utter_ok_anything_else",
    "stop": "utter_stopped",
    "goodbye": "utter_goodbye",
    "thank": "utter_you_are_welcome",
    "bot_challenge": "utter_iamabot",
    "help": "utter_help",
}
DEFAULT_REPLY = "utter_ok_anything_else"


def small_talk_reply(intent: object) -> str:
    """The response name for a small-talk intent (any other: "Alles klar. Kann ich sonst ...")."""
    return REPLIES.get(str(intent), DEFAULT_REPLY)
