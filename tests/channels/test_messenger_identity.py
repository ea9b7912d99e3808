"""Conversation ids that reveal no phone number, signatures, channels switched on by their secrets, the fake API."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import rasa.shared.utils.io
from rasa.shared.exceptions import RasaException

from bot.channels import credentials
from bot.channels.messenger import identity, signatures
from tests.channels.fakes import RecordingServer

ROOT = Path(__file__).resolve().parents[2]
PHONE = "+4915112345678"


def test_a_conversation_id_is_stable_and_hides_the_phone_number() -> None:
    secret = "s" * 40
    first = identity.conversation_id("whatsapp", PHONE, secret=secret)
    assert first == identity.conversation_id("whatsapp", PHONE, secret=secret)
    assert first.startswith("whatsapp-") and len(first) == len("whatsapp-") + 32
    assert "4915112345678" not in first and hashlib.sha256(PHONE.encode()).hexdigest()[:32] not in first
    assert identity.conversation_id("telegram", PHONE, secret=secret) != first.replace("whatsapp", "telegram")
    assert identity.conversation_id("whatsapp", PHONE, secret="t" * 40) != first  # keyed: unguessable without it


def test_a_log_id_is_short_and_names_neither_number_nor_conversation() -> None:
    value = identity.log_id(PHONE, secret="s" * 40)
    assert len(value) == 12 and PHONE not in value
    assert value not in identity.conversation_id("whatsapp", PHONE, secret="s" * 40)


def test_development_creates_one_private_secret_file_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "var" / "channel-id-secret"
    first = identity.load_secret({}, path)
    assert len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert identity.load_secret({}, path) == first  # a restart keeps every conversation
    assert identity.load_secret({identity.SECRET_ENV: "configured"}, path) == "configured"


def test_production_requires_a_long_secret(tmp_path: Path) -> None:
    with pytest.raises(identity.ChannelSecretMissing):
        identity.load_secret({"KUMPEL_ENV": "production"}, tmp_path / "secret")
    with pytest.raises(identity.ChannelSecretMissing):
        identity.load_secret({"KUMPEL_ENV": "production", identity.SECRET_ENV: "short"}, tmp_path / "secret")
    assert not (tmp_path / "secret").exists()  # production never falls back to a file
    long = "p" * 40
    assert identity.load_secret({"KUMPEL_ENV": "production", identity.SECRET_ENV: long}, tmp_path / "secret") == long


def test_meta_signature_is_checked_on_the_raw_body() -> None:
    body = b'{"entry": []}'
    good = "sha256=" + hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert signatures.verify_hub_signature(body, good, "app-secret")
    assert signatures.verify_hub_signature(body, good.upper().replace("SHA256=", "sha256="), "app-secret")
    assert not signatures.verify_hub_signature(body + b" ", good, "app-secret")
    assert not signatures.verify_hub_signature(body, good, "other-secret")
    assert not signatures.verify_hub_signature(body, None, "app-secret")
    assert not signatures.verify_hub_signature(body, good.removeprefix("sha256="), "app-secret")
    assert not signatures.verify_hub_signature(body, "sha256=" + hmac.new(b"", body, hashlib.sha256).hexdigest(), "")


def test_constant_equal_never_accepts_an_empty_secret() -> None:
    assert signatures.constant_equal("token", "token")
    assert not signatures.constant_equal("token", "other")
    assert not signatures.constant_equal("", "")
    assert not signatures.constant_equal(None, "token")


def test_replays_older_than_five_minutes_are_not_fresh() -> None:
    now = time.time()
    assert signatures.is_fresh(now - 10, now=now)
    assert signatures.is_fresh(str(int(now)), now=now)
    assert not signatures.is_fresh(now - 301, now=now)
    assert not signatures.is_fresh(now + 3600, now=now)
    assert not signatures.is_fresh("yesterday", now=now)
    assert not signatures.is_fresh(None, now=now)


CREDENTIALS = """\
# Channels
bot.channels.kumpel_rest.KumpelRestInput:

# Telegram: on when both are set
bot.channels.telegram.TelegramInput:
  access_token: ${KUMPEL_TEST_TELEGRAM_TOKEN}
  # webhook_url: ${NOT_READ_IN_A_COMMENT}
  secret_token: ${KUMPEL_TEST_TELEGRAM_SECRET}
"""


def test_rasa_refuses_to_start_with_an_unset_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUMPEL_TEST_TELEGRAM_TOKEN", raising=False)
    source = tmp_path / "credentials.yml"
    source.write_text(CREDENTIALS, encoding="utf-8")
    with pytest.raises(RasaException, match="KUMPEL_TEST_TELEGRAM_TOKEN"):
        rasa.shared.utils.io.read_config_file(source)


def test_a_channel_is_on_only_when_all_its_variables_are_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "credentials.yml"
    source.write_text(CREDENTIALS, encoding="utf-8")
    off = credentials.generate(source, {"KUMPEL_TEST_TELEGRAM_TOKEN": "123:abc"}, tmp_path / "var")
    assert list(rasa.shared.utils.io.read_config_file(off)) == ["bot.channels.kumpel_rest.KumpelRestInput"]
    empty = credentials.generate(
        source, {"KUMPEL_TEST_TELEGRAM_TOKEN": "1", "KUMPEL_TEST_TELEGRAM_SECRET": " "}, tmp_path / "var"
    )
    assert empty == off  # an empty secret counts as unset
    environ = {"KUMPEL_TEST_TELEGRAM_TOKEN": "123:abc", "KUMPEL_TEST_TELEGRAM_SECRET": "s3cret"}
    on = credentials.generate(source, environ, tmp_path / "var")
    assert "s3cret" not in on.read_text(encoding="utf-8")  # Rasa substitutes: no secret on disk
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert rasa.shared.utils.io.read_config_file(on)["bot.channels.telegram.TelegramInput"] == {
        "access_token": "123:abc",
        "secret_token": "s3cret",
    }


def test_the_engine_passes_rasa_the_enabled_copy(tmp_path: Path) -> None:
    source = tmp_path / "credentials.yml"
    source.write_text(CREDENTIALS, encoding="utf-8")
    argv = ["kumpel-rasa", "run", "--credentials", str(source), "--port", "5005"]
    rewritten = credentials.use_enabled_channels(argv, {})
    assert rewritten[:3] == argv[:3] and rewritten[4:] == argv[4:]
    assert "TelegramInput" not in Path(rewritten[3]).read_text(encoding="utf-8")
    assert credentials.use_enabled_channels(["kumpel-rasa", "train"], {}) == ["kumpel-rasa", "train"]


def test_the_repositorys_credentials_file_starts_with_no_channel_variables_set() -> None:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("KUMPEL_")}
    text, names, _ = credentials.enabled((ROOT / "credentials.yml").read_text(encoding="utf-8"), environ)
    assert "bot.channels.kumpel_rest.KumpelRestInput" in names
    code = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not any("${" in line for line in code)
    # and what is left is a file Rasa reads
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, rasa.shared.utils.io as io; io.read_config_file(sys.argv[1])",
            "/dev/stdin",
        ],
        input=text,
        text=True,
        capture_output=True,
        timeout=120,
        env={**environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_recording_server_records_what_was_sent_and_answers_canned_json() -> None:
    with RecordingServer({"/bot1:abc/sendMessage": {"ok": True, "result": {"message_id": 7}}}) as api:
        reply = httpx.post(f"{api.url}/bot1:abc/sendMessage?x=1", json={"chat_id": 5, "text": "Hallo"}, timeout=5)
        assert reply.json() == {"ok": True, "result": {"message_id": 7}}
        assert httpx.post(f"{api.url}/other", content=b"a=1&b=2", timeout=5).json() == {"ok": True}
        (sent,) = api.wait_for(lambda request: request.path.endswith("/sendMessage"))
        assert sent.method == "POST" and sent.query == {"x": ["1"]}
        assert sent.json == {"chat_id": 5, "text": "Hallo"}
        assert json.loads(sent.body) == sent.json
        assert api.requests[1].form() == {"a": ["1"], "b": ["2"]}
        with pytest.raises(AssertionError, match="expected 1"):
            api.wait_for(lambda request: request.path == "/never", timeout=0.2)
