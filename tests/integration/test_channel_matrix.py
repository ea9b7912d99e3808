"""Matrix over a real homeserver: Synapse (its own venv, SQLite, loopback), the bridge process, the real bot.

The citizen is a plain client of Matrix's client-server API (httpx): the test does not share the
bridge's client library, so a bug in how the bridge uses matrix-nio cannot hide in the test too.
One homeserver, one bridge and one stack for the whole module.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kumpel_stack.launcher import Stack, free_port
from kumpel_stack.testing import make_stack

from .channel_checks import DOG_TAX_STEPS, REFERENCE, tracker_dump

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SYNAPSE_PYTHON = ROOT / ".venv" / "synapse" / "bin" / "python"
BRIDGE = ROOT / ".venv" / "matrix" / "bin" / "kumpel-matrix-bridge"
SERVER_NAME = "kumpel.test"
SHARED_SECRET = uuid.uuid4().hex
CITATION = re.compile(r"Quelle: .+ – https?://\S+ \(Stand: \d\d\.\d\d\.\d{4}\)")
# No rate limit for the test users: a form is a dozen messages in a few seconds.
UNLIMITED = {"per_second": 1000, "burst_count": 1000}


def _wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _synapse_config(folder: Path, port: int) -> Path:
    config = folder / "homeserver.yaml"
    subprocess.run(
        [str(SYNAPSE_PYTHON), "-m", "synapse.app.homeserver", "--server-name", SERVER_NAME,
         "--config-path", str(config), "--data-directory", str(folder), "--generate-config", "--report-stats=no"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    settings = yaml.safe_load(config.read_text())
    settings.update(
        {
            "listeners": [
                {"port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                 "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}]}
            ],
            "database": {"name": "sqlite3", "args": {"database": str(folder / "homeserver.db")}},
            "registration_shared_secret": SHARED_SECRET,
            "enable_registration": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "report_stats": False,
            "encryption_enabled_by_default_for_room_type": "off",
            **{name: UNLIMITED for name in ("rc_message", "rc_registration", "rc_joins", "rc_invites")},
            "rc_login": {"address": UNLIMITED, "account": UNLIMITED, "failed_attempts": UNLIMITED},
        }
    )  # fmt: skip
    config.write_text(yaml.safe_dump(settings))
    return config


def _register(homeserver: str, user: str) -> str:
    """A new user via the shared-secret admin API; returns its access token."""
    nonce = httpx.get(f"{homeserver}/_synapse/admin/v1/register", timeout=10).json()["nonce"]
    password = uuid.uuid4().hex
    mac = hmac.new(SHARED_SECRET.encode(), "\0".join([nonce, user, password, "notadmin"]).encode(), hashlib.sha1)
    answer = httpx.post(
        f"{homeserver}/_synapse/admin/v1/register",
        json={"nonce": nonce, "username": user, "password": password, "admin": False, "mac": mac.hexdigest()},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@dataclass
class Homeserver:
    url: str
    bot_user: str
    bot_token: str


@pytest.fixture(scope="module")
def homeserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    if not SYNAPSE_PYTHON.exists() or not BRIDGE.exists():
        pytest.fail(".venv/synapse or .venv/matrix is missing: run make setup (bot/setup.sh makes both)")
    folder = tmp_path_factory.mktemp("synapse")
    port = free_port()
    config = _synapse_config(folder, port)
    log = (folder / "synapse.out").open("wb")
    process = subprocess.Popen(
        [str(SYNAPSE_PYTHON), "-m", "synapse.app.homeserver", "--config-path", str(config)],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: _answers(f"{url}/_matrix/client/versions"), 120, "Synapse to start")
        yield Homeserver(url, f"@kumpel:{SERVER_NAME}", _register(url, "kumpel"))
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with make_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture(scope="module")
def bridge(homeserver: Homeserver, stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("bridge")
    env = {
        **os.environ,
        "KUMPEL_MATRIX_HOMESERVER": homeserver.url,
        "KUMPEL_MATRIX_USER": homeserver.bot_user,
        "KUMPEL_MATRIX_ACCESS_TOKEN": homeserver.bot_token,
        "KUMPEL_RASA_URL": stack.rasa_url,
        "KUMPEL_CHANNEL_ID_SECRET": "test-channel-id-secret",
    }
    log_path = folder / "bridge.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([str(BRIDGE)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until(lambda: "bridge ready" in log_path.read_text(), 60, "the bridge's first sync")
            yield log_path
        finally:
            process.terminate()
            process.wait(timeout=30)


@dataclass
class Citizen:
    """A citizen's Matrix account talking to the bot in one direct chat."""

    homeserver: Homeserver
    token: str
    room_id: str = ""
    since: str = ""
    last: list[str] = field(default_factory=list)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = httpx.request(
            method, f"{self.homeserver.url}/_matrix/client/v3{path}",
            headers={"Authorization": f"Bearer {self.token}"}, timeout=60, **kwargs,
        )  # fmt: skip
        answer.raise_for_status()
        return dict(answer.json())

    def open_chat(self, *, encrypted: bool = False, direct: bool = True) -> str:
        initial_state = (
            [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]
            if encrypted
            else []
        )
        self.room_id = self._call(
            "POST", "/createRoom",
            json={"invite": [self.homeserver.bot_user], "is_direct": direct, "preset": "trusted_private_chat",
                  "initial_state": initial_state},
        )["room_id"]  # fmt: skip
        self.since = self._call("GET", "/sync", params={"timeout": 0})["next_batch"]
        return self.room_id

    def bot_joined(self) -> bool:
        members = self._call("GET", f"/rooms/{self.room_id}/joined_members")["joined"]
        return self.homeserver.bot_user in members

    def say(self, text: str, quiet: float = 2.0, timeout: float = 90.0) -> list[str]:
        """Send ``text``; returns the bodies of the bot's replies (until it is quiet for ``quiet`` s)."""
        self._call(
            "PUT", f"/rooms/{self.room_id}/send/m.room.message/{uuid.uuid4().hex}",
            json={"msgtype": "m.text", "body": text},
        )  # fmt: skip
        self.last = self.read_replies(quiet, timeout)
        return self.last

    def read_replies(self, quiet: float = 2.0, timeout: float = 90.0) -> list[str]:
        replies: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            wait_ms = int(quiet * 1000) if replies else 10_000
            answer = self._call("GET", "/sync", params={"since": self.since, "timeout": wait_ms})
            self.since = answer["next_batch"]
            room = answer.get("rooms", {}).get("join", {}).get(self.room_id, {})
            new = [
                event["content"].get("body", "")
                for event in room.get("timeline", {}).get("events", [])
                if event["type"] == "m.room.message" and event["sender"] == self.homeserver.bot_user
            ]
            if not new and replies:
                return replies
            replies.extend(new)
        if not replies:
            raise AssertionError("the bot did not answer")
        return replies

    @property
    def text(self) -> str:
        return "\n".join(self.last)


def new_citizen(homeserver: Homeserver, bridge: Path, **chat: bool) -> Citizen:
    citizen = Citizen(homeserver, _register(homeserver.url, f"buerger{uuid.uuid4().hex[:8]}"))
    citizen.open_chat(**chat)
    _wait_until(citizen.bot_joined, 30, "the bot to accept the invite")
    return citizen


@pytest.fixture
def citizen(homeserver: Homeserver, bridge: Path) -> Citizen:
    return new_citizen(homeserver, bridge)


def test_a_knowledge_question_is_answered_with_its_source(citizen: Citizen) -> None:
    citizen.say("Wann hat das Bürgerbüro geöffnet?")
    assert CITATION.search(citizen.text), citizen.text
    assert "Traceback" not in citizen.text


def test_a_meinten_sie_option_is_picked_by_its_number(citizen: Citizen) -> None:
    citizen.say("Ich habe eine Frage zu meinem Auto")
    assert "Meinten Sie" in citizen.text, citizen.text
    options = re.findall(r"^(\d+)\) (.+)$", citizen.text, re.MULTILINE)
    assert options, citizen.text
    number = next(n for n, title in options if "außer Betrieb" in title)
    citizen.say(number)
    assert "außer Betrieb" in citizen.text and CITATION.search(citizen.text), citizen.text


def test_a_dog_tax_registration_is_completed_to_its_reference_number(citizen: Citizen) -> None:
    citizen.say("Ich möchte meinen Hund anmelden")
    assert "Datenschutzhinweis" in citizen.text, citizen.text
    assert "1) " in citizen.text, citizen.text  # Ja / Nein as numbered options
    citizen.say("1")
    assert "Vor- und Nachname" in citizen.text, citizen.text
    for message, next_question in DOG_TAX_STEPS:
        citizen.say(message)
        assert next_question in citizen.text, f"after {message!r}: {citizen.text}"
    assert "111,32 EUR" in citizen.text
    citizen.say("Ja, absenden")
    match = REFERENCE.search(citizen.text)
    assert match and match.group(1) == "HST", citizen.text


def test_an_encrypted_chat_gets_one_plain_notice_instead_of_silence(homeserver: Homeserver, bridge: Path) -> None:
    citizen = new_citizen(homeserver, bridge, encrypted=True)
    # An encrypted event as a client would send it; the bridge cannot decrypt it (no libolm).
    citizen._call(
        "PUT", f"/rooms/{citizen.room_id}/send/m.room.encrypted/{uuid.uuid4().hex}",
        json={"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEn", "sender_key": "x", "session_id": "y",
              "device_id": "CITIZEN"},
    )  # fmt: skip
    replies = citizen.read_replies()
    assert len(replies) == 1 and "Verschlüsselte Nachrichten kann ich leider noch nicht lesen" in replies[0]


def test_an_invite_to_a_group_room_is_declined(homeserver: Homeserver, bridge: Path) -> None:
    citizen = Citizen(homeserver, _register(homeserver.url, f"buerger{uuid.uuid4().hex[:8]}"))
    citizen.open_chat(direct=False)
    path = f"/rooms/{citizen.room_id}/state/m.room.member/{homeserver.bot_user}"
    _wait_until(lambda: citizen._call("GET", path)["membership"] == "leave", 30, "the bot to decline")


def test_neither_the_log_nor_the_tracker_has_the_message_sender_or_room(
    citizen: Citizen, bridge: Path, stack: Stack
) -> None:
    citizen.say("Wann hat das Bürgerbüro geöffnet?")
    log = bridge.read_text()
    assert "Bürgerbüro" not in log and "@buerger" not in log and citizen.room_id not in log, log
    tracker = tracker_dump(stack)
    assert "matrix-" in tracker  # the conversation is there, under its keyed hash
    assert "@buerger" not in tracker and SERVER_NAME not in tracker and citizen.room_id not in tracker
