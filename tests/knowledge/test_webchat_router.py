"""The knowledge service serves the widget and the demo city page, and nothing else from webchat/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.settings import Settings


@pytest.fixture()
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("KUMPEL_RASA_URL", "http://127.0.0.1:19005")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'kb.db'}", search_mode="lexical", seed_on_start=False)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_root_shows_the_demo_city_page_with_the_widget(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Stadt Musterstadt" in page.text
    assert 'src="/webchat/kumpel-widget.js"' in page.text
    assert 'data-server-url="http://127.0.0.1:19005"' in page.text


def test_demo_page_allows_no_third_party_host(client: TestClient) -> None:
    csp = client.get("/demo/").headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "connect-src 'self' http://127.0.0.1:19005 ws://127.0.0.1:19005" in csp


def test_english_interface_on_request(client: TestClient) -> None:
    assert 'data-language="en"' in client.get("/demo/?lang=en").text


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/webchat/kumpel-widget.js", "text/javascript"),
        ("/webchat/kumpel-widget.css", "text/css"),
        ("/webchat/vendor/socket.io.min.js", "text/javascript"),
    ],
)
def test_widget_files_are_served(client: TestClient, path: str, media: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/webchat/package.json",
        "/webchat/../knowledge/kumpel_knowledge/settings.py",
        "/webchat/%2e%2e/credentials.yml",
        "/webchat/node_modules/axe-core/axe.min.js",
        "/demo/../../credentials.yml",
        "/demo/nonexistent.html",
    ],
)
def test_nothing_else_is_served(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404
