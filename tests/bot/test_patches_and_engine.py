"""Kumpel's Rasa patches are installed explicitly, once, only on the Rasa they were written for."""

from __future__ import annotations

import logging
import sys

import pytest
import rasa
import rasa.__main__
from rasa.core.actions.action import RemoteAction

from bot import engine, patches
from bot.channels.kumpel_socketio import KumpelSocketIOInput
from bot.settings import EngineSettings

ALL = [
    "remote_action_validation",
    "event_type_lookup",
    "action_payload_bounded",
    "action_unavailable_apology",
    "tracker_store_errors_raised",
    "resent_turn_answered_once",
    "store_unavailable_apology",
]


def test_apply_installs_each_patch_once_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bot.patches"):
        assert patches.apply() == ALL
        run_after_first = RemoteAction.run
        assert patches.apply() == ALL
    assert RemoteAction.run is run_after_first  # not wrapped twice
    applied = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(applied) <= len(ALL)  # one line per patch, none for the second call
    assert all(line.startswith("Rasa patch ") for line in applied)


def test_another_rasa_gets_no_patch_and_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(patches, "_applied", set())
    monkeypatch.setattr(patches, "_skipped", set())
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    run_before = RemoteAction.run
    with caplog.at_level(logging.WARNING, logger="bot.patches"):
        assert patches.apply() == []
        assert patches.apply() == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(ALL)
    assert all("skipped" in w and "3.7.0" in w for w in warnings)
    assert RemoteAction.run is run_before


def test_the_engine_patches_then_hands_the_same_arguments_to_rasa(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_rasa_cli() -> None:
        seen.append(list(sys.argv[1:]))
        assert patches.apply() == ALL  # already in when Rasa's CLI starts

    monkeypatch.setattr(rasa.__main__, "main", fake_rasa_cli)
    monkeypatch.setattr(sys, "argv", ["kumpel-rasa"])
    engine.main(["run", "--model", "models", "--port", "5005"])
    assert seen == [["run", "--model", "models", "--port", "5005"]]


def test_the_socket_channel_takes_its_origins_from_the_settings() -> None:
    channel = KumpelSocketIOInput(settings=EngineSettings(cors_origins="https://www.krefeld.de/", env="production"))
    assert channel.cors_allowed_origins == ["https://www.krefeld.de"]
    with pytest.raises(ValueError, match="refused in production"):
        KumpelSocketIOInput(settings=EngineSettings(cors_origins="*", env="production"))
    development = KumpelSocketIOInput(settings=EngineSettings())
    assert development.cors_allowed_origins == ["http://127.0.0.1:8000", "http://localhost:8000"]
