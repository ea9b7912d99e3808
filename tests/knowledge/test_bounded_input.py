"""Bounded, clean input on every route of the knowledge service: 413, 422, never a 500.

Through the real app (TestClient) on the seeded knowledge base; the 413 tests also talk to a real
uvicorn on a loopback port, so that a client announcing 2 MB gets its answer before sending them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.settings import Settings

JSON = {"content-type": "application/json"}
LIMIT = 1024 * 1024


def post(client: TestClient, path: str, body: bytes, **headers: str) -> tuple[int, object]:
    response = client.post(path, content=body, headers={**JSON, **headers})
    return response.status_code, response.json()


@pytest.fixture()
def client(kb_settings: Settings) -> Iterator[TestClient]:
    # raise_server_exceptions=False: a 500 shows up as the status an attacker would get.
    with TestClient(create_app(kb_settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_oversized_body_with_content_length_gets_413(client: TestClient) -> None:
    status, body = post(client, "/api/v1/answer", b'{"question": "' + b"x" * (LIMIT + 1) + b'"}')
    assert status == 413
    assert body == {"detail": f"request body too large: at most {LIMIT} bytes are accepted"}


def test_oversized_chunked_body_without_content_length_gets_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(30):
            yield b"x" * 50_000

    response = client.post("/api/v1/answer", content=chunks(), headers=JSON)
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/feedback", "application/json"),
        ("/api/v1/auth/token", "application/x-www-form-urlencoded"),
        ("/api/v1/submissions", "application/json"),
    ],
)
def test_every_route_is_bounded(client: TestClient, path: str, content_type: str) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(30):
            yield b"a" * 50_000

    response = client.post(path, content=chunks(), headers={"content-type": content_type})
    assert response.status_code == 413


def test_a_large_but_allowed_entry_is_still_read(client: TestClient) -> None:
    # 200 KiB of text (more than any service description) passes the limit and is validated as usual.
    status, _ = post(client, "/api/v1/answer", b'{"question": "' + b"x" * 200_000 + b'"}')
    assert status == 422  # the question's own limit of 2,000 characters, not the body limit


@pytest.mark.parametrize(
    "body",
    [
        b'{"question": "Was kostet die Hundesteuer? \\ud800"}',
        b'{"question": "Was kostet die Hundesteuer? \\udfff\\u0000"}',
        b'{"question": "Was kostet die Hundesteuer? \xed\xa0\x80"}',  # a surrogate as raw bytes
    ],
)
def test_a_lone_surrogate_is_dropped_and_the_question_answered(client: TestClient, body: bytes) -> None:
    status, answer = post(client, "/api/v1/answer", body)
    assert status == 200
    assert isinstance(answer, dict)
    assert "111,32" in answer["text"]


def test_a_valid_surrogate_pair_is_kept(client: TestClient) -> None:
    status, answer = post(client, "/api/v1/answer", b'{"question": "\\ud83d\\udc15 Was kostet die Hundesteuer?"}')
    assert status == 200
    assert isinstance(answer, dict)
    assert "111,32" in answer["text"]


def test_a_question_of_only_a_surrogate_gets_a_precise_422(client: TestClient) -> None:
    status, body = post(client, "/api/v1/answer", b'{"question": "\\ud800"}')
    assert status == 422
    assert isinstance(body, dict)
    assert body["detail"][0]["loc"] == ["body", "question"]


@pytest.mark.parametrize("body", [b"[1, 2]", b'"Hallo"', b"42", b"null", b'{"question": 5}', b'{"question": ["a"]}'])
def test_arrays_and_wrong_types_get_422(client: TestClient, body: bytes) -> None:
    status, detail = post(client, "/api/v1/answer", body)
    assert status == 422
    assert isinstance(detail, dict) and detail["detail"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/api/v1/feedback",
            b'{"rating": "up", "entry_type": "service", "entry_id": "\\ud800", "message_id": "\\ud800"}',
        ),
        ("/api/v1/feedback", b"[1]"),
        ("/api/v1/submissions/estimate", b'{"form": "\\ud800", "data": {"\\udc00": "\\ud800"}}'),
        ("/api/v1/submissions/estimate", b'["dog_tax_registration"]'),
    ],
)
def test_other_json_routes_never_500(client: TestClient, path: str, body: bytes) -> None:
    status, _ = post(client, path, body)
    assert 400 <= status < 500


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def served(kb_settings: Settings) -> Iterator[int]:
    """The app on a real uvicorn (loopback), as ``kumpel-knowledge serve`` runs it."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(kb_settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def test_a_client_announcing_2_mb_gets_413_before_sending_them(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/answer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2097152\r\n\r\n"
        )
        started = time.monotonic()
        head = sock.recv(4096)
        elapsed = time.monotonic() - started
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert b"request body too large" in head
    assert elapsed < 5
