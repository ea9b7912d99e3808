"""When the action server is down, the citizen gets an apology, not silence (real trained bot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kumpel_stack.launcher import Process, Stack, free_port
from kumpel_stack.testing import make_stack

pytestmark = pytest.mark.integration


class RasaAlone(Stack):
    """Only Rasa runs; nothing listens where the action server should be."""

    def _build(self) -> list[Process]:
        return [p for p in super()._build() if p.name == "rasa"]


def test_questions_needing_the_action_server_get_a_polite_german_apology(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/webhook"
    stack = make_stack(tmp_path, KUMPEL_ACTION_ENDPOINT_URL=nowhere)
    with RasaAlone(ports=stack.ports, state_dir=tmp_path, extra_env=stack.extra_env) as rasa:
        reply = rasa.send("Wann hat das Bürgerbüro geöffnet?", "citizen-1")
        assert len(reply) == 1
        assert "nicht erreichbar" in str(reply[0]["text"])
        assert "115" in str(reply[0]["text"])

        # Small talk needs no action server: action_small_talk fails, and the engine says the intent's
        # own reply instead of the apology; the conversation goes on. (The greeting names the town from
        # the knowledge base, so it needs the action server now.)
        greeting = rasa.send("Bist du ein Mensch?", "citizen-1")
        assert greeting and "Kumpel" in " ".join(str(m.get("text")) for m in greeting)
        thanks = rasa.send("Danke", "citizen-1")
        assert [str(m.get("text")) for m in thanks] == ["Gern geschehen! Kann ich sonst noch etwas für Sie tun?"]
