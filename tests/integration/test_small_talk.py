"""Small talk gets its small-talk reply; a request the NLU took for small talk gets its answer.

Through the real trained bot: the NLU's small-talk familiarity (bot/nlu_components.py), the
small-talk action (actions/small_talk.py) and the knowledge service. The small talk is
bench/data/small_talk_holdout.yml, written before the check was built and not in the NLU's
training data.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from kumpel_stack.testing import Conversation

pytestmark = pytest.mark.integration

HOLDOUT = Path(__file__).resolve().parents[2] / "bench" / "data" / "small_talk_holdout.yml"
MESSAGES = [
    (intent, text)
    for intent, texts in yaml.safe_load(HOLDOUT.read_text(encoding="utf-8"))["messages"].items()
    for text in texts
]
# What the citizen reads for small talk (domain.yml): one of these, and no answer from the knowledge base.
SMALL_TALK_REPLIES = (
    "Alles klar. Kann ich sonst noch etwas für Sie tun?",
    "In Ordnung, ich habe abgebrochen.",
    "Auf Wiedersehen",
    "Gern geschehen!",
    "Ich bin Kumpel, ein Chatbot",
    "Ich kann Ihnen zum Beispiel sagen",
)


def _answered_from_the_knowledge_base(conversation: Conversation) -> bool:
    return any((c.get("kumpel") or {}).get("status") == "answer" for c in conversation.custom)


def _unanswered(conversation: Conversation) -> int:
    with sqlite3.connect(conversation.stack.state_dir / "kumpel.db") as db:
        return int(db.execute("SELECT count(*) FROM unanswered_questions").fetchone()[0])


@pytest.mark.parametrize(("intent", "text"), MESSAGES, ids=[text for _, text in MESSAGES])
def test_small_talk_gets_a_small_talk_reply(conversation: Conversation, intent: str, text: str) -> None:
    before = _unanswered(conversation)
    conversation.say(text)
    assert any(reply in conversation.text for reply in SMALL_TALK_REPLIES), (intent, conversation.text)
    assert not _answered_from_the_knowledge_base(conversation), conversation.text
    assert "Quelle:" not in conversation.text
    # Small talk is no question the bot missed: the staff's list of unanswered questions stays as it was.
    assert _unanswered(conversation) == before


@pytest.mark.parametrize(
    ("message", "entry_id"),
    [
        # Each of these was taken for small talk (stop 0.91, stop, stop, stop) and got "abgebrochen".
        ("Ich will einen Imbiss aufmachen", "svc-gewerbe-anmelden"),
        ("abendkurs buchen", "svc-vhs-kurs"),
        ("Auto stilllegen über den Winter", "svc-fahrzeug-abmelden"),
        ("geburtsurkunde neu ausstellen", "svc-geburtsurkunde"),
    ],
)
def test_a_request_taken_for_small_talk_is_answered(conversation: Conversation, message: str, entry_id: str) -> None:
    conversation.say(message)
    assert "abgebrochen" not in conversation.text, conversation.text
    payloads = [c["kumpel"] for c in conversation.custom if "kumpel" in c]
    assert payloads and payloads[-1]["status"] == "answer", conversation.text
    assert payloads[-1]["entry"]["id"] == entry_id
    assert "Quelle:" in conversation.text


def test_stop_in_a_form_still_stops_it(conversation: Conversation) -> None:
    conversation.say("Ich möchte meinen Hund anmelden")
    assert "Datenschutz" in conversation.text, conversation.text
    conversation.say("Abbrechen")
    assert "abgebrochen" in conversation.text.lower(), conversation.text
    conversation.say("Danke")
    assert "Gern geschehen" in conversation.text
