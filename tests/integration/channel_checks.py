"""What the messenger channels' integration tests share: the stack with a channel on, the tracker, the logs.

Each channel's test (tests/integration/test_channel_*.py) plays its messenger against the real trained
bot; they start the stack the same way, look into the same tracker table to prove a refused request
left nothing behind, scan the same log files for personal data and walk the same dog-tax form.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from kumpel_stack.launcher import Stack
from kumpel_stack.testing import make_stack

ID_SECRET = "integration-channel-id-secret-0123456789abcdef"
REFERENCE = re.compile(r"\b(HST|HSA|WZS)-\d{4}-\d{6}\b")
# The dog-tax registration after "Ja" to the privacy notice: what the citizen types, and the question that follows.
DOG_TAX_STEPS = [
    ("Erika Mustermann", "Anschrift"),
    ("Ostwall 12, 47798 Krefeld", "E-Mail"),
    ("erika@example.de", "Wie heißt Ihr Hund"),
    ("Bello, ein Labrador, Chip 276098100123456", "Landeshundegesetz"),
    ("Nein", "geboren"),
    ("03.04.2024", "Seit wann"),
    ("15.11.2026", "bereits zur Hundesteuer angemeldet"),
    ("0", "Ermäßigung oder Befreiung"),
    ("Nein, keine", "SEPA-Lastschrift"),
    ("Nein", "Bitte prüfen Sie Ihre Angaben"),
]


@contextmanager
def channel_stack(
    tmp_path_factory: pytest.TempPathFactory, channel: str, env: dict[str, str], *, id_secret: str = ID_SECRET
) -> Iterator[Stack]:
    """The whole stack in its own folder, with ``env`` (the channel's variables) and the channel-ID secret."""
    with make_stack(tmp_path_factory.mktemp(channel), **env, KUMPEL_CHANNEL_ID_SECRET=id_secret) as stack:
        yield stack


def tracker_senders(stack: Stack) -> set[str]:
    """Every conversation ID the tracker store holds events for."""
    with sqlite3.connect(stack.state_dir / "tracker.db") as db:
        return {row[0] for row in db.execute("SELECT DISTINCT sender_id FROM events")}


def user_texts(stack: Stack, sender_id: str) -> list[str]:
    """The texts of the user turns stored for ``sender_id``, oldest first."""
    with sqlite3.connect(stack.state_dir / "tracker.db") as db:
        rows = db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (sender_id,)
        ).fetchall()
    return [json.loads(row[0]).get("text") for row in rows]


def tracker_dump(stack: Stack) -> str:
    """The tracker database as SQL, every table and row: to show what it does not contain."""
    with sqlite3.connect(stack.state_dir / "tracker.db") as db:
        return "\n".join(db.iterdump())


def log_text(stack: Stack, name: str = "rasa.log") -> str:
    """One of the stack's log files (``rasa.log``, ``actions.log``, ``knowledge.log``)."""
    return (stack.state_dir / name).read_text(encoding="utf-8", errors="replace")


def all_logs(stack: Stack) -> str:
    """Every log file in the stack's folder, one after the other."""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in stack.state_dir.rglob("*.log"))
