"""A fake Threema Gateway on loopback and citizens' phones that write to it (tests only).

The fake serves what the channel calls (the key directory ``GET /pubkeys/<id>`` and
``POST /send_e2e``), checks our Gateway ID and API secret on every call, and records what we send.
A :class:`Citizen` encrypts and signs a callback exactly as the Gateway delivers it (form-encoded,
HMAC-SHA256 over ``from + to + messageId + date + nonce + box``) and decrypts the replies the
bot sent to them. The encryption is done here with libnacl directly, not with threema.gateway (the
library under test), so a mistake in how the channel uses the library cannot hide itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import libnacl.public

GATEWAY_ID = "*KUMPEL1"
API_SECRET = "test-api-secret-0123456789"
MAC_FIELDS = ("from", "to", "messageId", "date", "nonce", "box")
TEXT_MESSAGE = 0x01
IMAGE_MESSAGE = 0x02


def padded(message_type: int, payload: bytes) -> bytes:
    """Threema's plaintext: type byte, payload, PKCS#7-style padding (at least 32 bytes in all)."""
    length = max(1, 32 - len(payload) - 1, secrets.randbelow(16) + 1)
    return bytes([message_type]) + payload + bytes([length] * length)


def unpadded(plaintext: bytes) -> tuple[int, bytes]:
    return plaintext[0], plaintext[1 : -plaintext[-1]]


@dataclass
class Citizen:
    """A Threema user writing to the city's Gateway ID."""

    threema_id: str
    gateway: FakeThreemaGateway
    key: libnacl.public.SecretKey = field(default_factory=libnacl.public.SecretKey)

    def callback(
        self,
        text: str = "",
        *,
        message_type: int = TEXT_MESSAGE,
        payload: bytes | None = None,
        date: int | None = None,
        message_id: str | None = None,
        secret: str = API_SECRET,
        to: str = GATEWAY_ID,
    ) -> dict[str, str]:
        """The form fields of the Gateway's callback for a message of this citizen, signed with ``secret``."""
        box = libnacl.public.Box(self.key.sk, self.gateway.key.pk)
        plaintext = padded(message_type, text.encode("utf-8") if payload is None else payload)
        nonce, encrypted = box.encrypt(plaintext, pack_nonce=False)
        fields = {
            "from": self.threema_id,
            "to": to,
            "messageId": message_id or secrets.token_hex(8),
            "date": str(int(time.time()) if date is None else date),
            "nonce": nonce.hex(),
            "box": encrypted.hex(),
        }
        message = "".join(fields[name] for name in MAC_FIELDS).encode("ascii")
        fields["mac"] = hmac.new(secret.encode("ascii"), message, hashlib.sha256).hexdigest()
        fields["nickname"] = "Erika"
        return fields

    def replies(self) -> list[str]:
        """The texts the bot sent to this citizen so far, decrypted with the citizen's key."""
        box = libnacl.public.Box(self.key.sk, self.gateway.key.pk)
        texts = []
        for sent in self.gateway.sent_to(self.threema_id):
            message_type, payload = unpadded(box.decrypt(bytes.fromhex(sent["box"]), bytes.fromhex(sent["nonce"])))
            assert message_type == TEXT_MESSAGE
            texts.append(payload.decode("utf-8"))
        return texts


def encode(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode("ascii")


@dataclass
class FakeThreemaGateway:
    """The Gateway's API (key directory, send_e2e) for our Gateway ID; records every call."""

    key: libnacl.public.SecretKey = field(default_factory=libnacl.public.SecretKey)
    citizens: dict[str, Citizen] = field(default_factory=dict)
    sent: list[dict[str, str]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def private_key(self) -> str:
        """Our Gateway ID's private key as the Gateway's tool prints it: ``private:<hex>``."""
        return "private:" + self.key.sk.hex()

    def citizen(self, threema_id: str) -> Citizen:
        self.citizens[threema_id] = Citizen(threema_id, self)
        return self.citizens[threema_id]

    def sent_to(self, threema_id: str) -> list[dict[str, str]]:
        with self._lock:
            return [message for message in self.sent if message["to"] == threema_id]

    def wait_for_replies(self, citizen: Citizen, count: int, timeout: float = 60.0) -> list[str]:
        """The citizen's replies once there are at least ``count`` (bounded wait)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.sent_to(citizen.threema_id)) < count:
            time.sleep(0.05)
        return citizen.replies()

    def clear(self) -> None:
        with self._lock:
            self.sent.clear()
            self.calls.clear()

    def _answer(self, method: str, target: str, form: dict[str, str]) -> tuple[int, str]:
        url = urlsplit(target)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        with self._lock:
            self.calls.append((method, url.path))
        credentials = form if method == "POST" else query
        if credentials.get("from") != GATEWAY_ID or credentials.get("secret") != API_SECRET:
            return 401, ""
        if method == "GET" and url.path.startswith("/pubkeys/"):
            citizen = self.citizens.get(url.path.removeprefix("/pubkeys/"))
            return (200, citizen.key.pk.hex()) if citizen else (404, "")
        if method == "POST" and url.path == "/send_e2e":
            if not {"to", "nonce", "box"} <= form.keys():
                return 400, ""
            with self._lock:
                self.sent.append({name: form[name] for name in ("to", "nonce", "box")})
            return 200, secrets.token_hex(8)
        return 404, ""


@contextmanager
def running_gateway() -> Iterator[FakeThreemaGateway]:
    """A :class:`FakeThreemaGateway` served on a free loopback port for the duration of the block."""
    gateway = FakeThreemaGateway()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("ascii") if length else ""
            form = {name: values[0] for name, values in parse_qs(body).items()}
            status, text = gateway._answer(method, self.path, form)
            data = text.encode("ascii")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._reply("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._reply("POST")

        def log_message(self, *_: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
