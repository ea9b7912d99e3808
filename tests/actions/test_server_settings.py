"""The action server's secret: what an operator notices when it is missing or weak, and how a call proves it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from actions.server import is_authorised
from actions.settings import ActionSettings, InsecureSecretError

RANDOM_SECRET = "q3J8yV0bX2mN7tR5wK9zL4cH6fD1sA0e"  # 32 characters, as the launcher's token_urlsafe(32) or longer
KUMPEL_ACTIONS = Path(sys.executable).parent / "kumpel-actions"


@pytest.fixture(autouse=True)
def _no_kumpel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENV", "ACTION_SERVER_SECRET", "FIXED_NOW"):
        monkeypatch.delenv(f"KUMPEL_{name}", raising=False)


def test_the_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUMPEL_ACTION_SERVER_SECRET", RANDOM_SECRET)
    assert ActionSettings().server_secret() == RANDOM_SECRET


def test_without_a_secret_the_server_refuses_to_start_also_in_development() -> None:
    with pytest.raises(InsecureSecretError, match="KUMPEL_ACTION_SERVER_SECRET is not set"):
        ActionSettings().server_secret()
    with pytest.raises(InsecureSecretError):
        ActionSettings(action_server_secret="   ").server_secret()


def test_development_takes_any_secret_the_launcher_or_a_developer_sets() -> None:
    assert ActionSettings(action_server_secret="dev").server_secret() == "dev"


@pytest.mark.parametrize(
    "secret",
    ["", "short-secret", "change-me-change-me-change-me-change-me", "x" * 20, "your-secret-for-the-action-server!!"],
)
def test_production_refuses_an_empty_short_or_placeholder_secret(secret: str) -> None:
    settings = ActionSettings(env="production", action_server_secret=secret)
    with pytest.raises(InsecureSecretError):
        settings.server_secret()


def test_production_takes_a_long_random_secret() -> None:
    assert ActionSettings(env="production", action_server_secret=RANDOM_SECRET).server_secret() == RANDOM_SECRET


def test_the_real_command_exits_with_a_clear_message_instead_of_serving_an_open_door() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KUMPEL_")}
    env.update(KUMPEL_ENV="production", KUMPEL_ACTION_SERVER_SECRET="changeme", RASA_TELEMETRY_ENABLED="false")
    done = subprocess.run(
        [str(KUMPEL_ACTIONS), "--port", "1"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2
    assert "KUMPEL_ACTION_SERVER_SECRET" in done.stdout + done.stderr
    assert "changeme" not in done.stdout + done.stderr  # the refused secret is not written to the log


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        (f"Bearer {RANDOM_SECRET}", True),
        (f"bearer {RANDOM_SECRET}", True),
        (None, False),
        ("", False),
        ("Bearer", False),
        ("Bearer ", False),
        (f"Basic {RANDOM_SECRET}", False),
        (f"Bearer {RANDOM_SECRET[:-1]}", False),
        (f"Bearer {RANDOM_SECRET}0", False),
        ("Bearer ünïcödé", False),
    ],
)
def test_only_the_exact_bearer_secret_opens_the_door(header: str | None, allowed: bool) -> None:
    assert is_authorised(header, RANDOM_SECRET) is allowed
    assert is_authorised(header, "") is False  # no secret configured: nothing is allowed
