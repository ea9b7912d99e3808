"""Try before you publish: the preview page and its JSON route (/staff/preview, /api/v1/staff/preview).

What an editor notices: the reply a citizen would read, its kind, the candidates with scores and the
reasons in plain German; an unsaved synonym already finds the entry in the preview while the live bot
does not; nothing the preview does reaches the inbox or the database. What an attacker notices: no
login, no preview; an edit posted without the CSRF token is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select

from kumpel_knowledge.answers.models import UnansweredQuestion
from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.kb.models import Service
from kumpel_knowledge.staff.auth import add_user

PASSWORD = "correct horse battery staple"
# A word no entry knows: the live bot cannot answer it.
UNKNOWN_WORD = "Fellnasenabgabe"
UNKNOWN_QUESTION = f"Wo mache ich die {UNKNOWN_WORD}?"
DOG_TAX = "services/svc-hundesteuer-anmeldung"


@pytest.fixture()
def client(kb_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(kb_settings)) as test_client:
        with test_client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
            add_user(session, "vera.viewer", PASSWORD, "viewer")
        yield test_client


def login(client: TestClient, username: str) -> str:
    """Sign in through the real login form; returns the session's CSRF token."""
    form = client.get("/staff/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token, form.text
    response = client.post(
        "/staff/login",
        data={"username": username, "password": PASSWORD, "login_token": token.group(1), "next": "/staff/preview"},
    )
    assert response.status_code == 200, response.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/staff/preview").text)
    assert csrf
    return csrf.group(1)


def bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def live_answer(client: TestClient, question: str) -> dict[str, object]:
    response = client.post("/api/v1/answer", json={"question": question})
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def unanswered_count(client: TestClient) -> int:
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(UnansweredQuestion)) or 0)


def test_explain_returns_exactly_what_search_returns(client: TestClient) -> None:
    search = client.app.state.runtime.index.search  # type: ignore[attr-defined]
    questions = [
        "Was kostet ein Personalausweis?",
        "Hund anmelden",
        "Wann hat das Bürgerbüro offen?",
        "Persoanlausweis verloren",  # a typo
        "Welche Aktie soll ich kaufen?",  # out of scope
        "Heirat",
    ]
    for question in questions:
        for types in (None, ("service", "faq")):
            plain = search.search(question, types=types, k=5)
            explained = search.explain(question, types=types, k=5)
            assert explained.result == plain, question
            # The explained candidates start with the hits, in the same order and with the same scores.
            ranked = [c.hit for c in explained.candidates]
            assert ranked[: len(plain.hits)] == plain.hits, question


def test_preview_page_shows_reply_candidates_and_reasons(client: TestClient) -> None:
    login(client, "vera.viewer")
    question = "Was kostet ein Personalausweis?"
    page = client.get("/staff/preview", params={"q": question})
    assert page.status_code == 200
    live = live_answer(client, question)
    assert live["status"] == "answer"
    # The reply exactly as the citizen reads it (HTML-escaped on the page).
    first_line = str(live["text"]).splitlines()[0]
    assert str(escape(first_line)) in page.text
    assert 'data-status="answer"' in page.text
    assert "Personalausweis beantragen" in page.text  # the top candidate's title
    assert "Wort „personalausweis“ gefunden in Bezeichnung" in page.text
    assert "Sicherheit des besten Treffers" in page.text and "Antwort ab" in page.text
    # An htmx request gets the result alone, without the page around it.
    partial = client.get("/staff/preview", params={"q": question}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text and "Gefundene Einträge" in partial.text


def test_preview_records_nothing_in_the_inbox(client: TestClient) -> None:
    login(client, "vera.viewer")
    before = unanswered_count(client)
    page = client.get("/staff/preview", params={"q": UNKNOWN_QUESTION})
    assert page.status_code == 200 and 'data-status="unknown"' in page.text
    assert "themenfremd" in page.text  # what the citizen gets when the NLU took it for out of scope
    assert unanswered_count(client) == before
    live_answer(client, UNKNOWN_QUESTION)  # the real bot does record it
    assert unanswered_count(client) == before + 1


def test_unsaved_synonym_finds_the_entry_in_the_preview_only(client: TestClient) -> None:
    csrf = login(client, "vera.viewer")
    assert live_answer(client, UNKNOWN_QUESTION)["status"] == "unknown"

    page = client.post(
        f"/staff/preview?entry={DOG_TAX}",
        data={"csrf_token": csrf, "question": UNKNOWN_QUESTION, "add_synonyms": UNKNOWN_WORD},
        headers={"HX-Request": "true"},
    )
    assert page.status_code == 200, page.text
    assert 'data-status="answer"' in page.text
    assert "Hundesteuer" in page.text and f"Mit ungespeicherter Änderung an {DOG_TAX}" in page.text
    assert f"Wort „{UNKNOWN_WORD.lower()}“ gefunden in Andere Wörter dafür" in page.text

    # Nothing was saved: the live bot still does not know the word, the entry is unchanged.
    assert live_answer(client, UNKNOWN_QUESTION)["status"] == "unknown"
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        service = session.get(Service, "svc-hundesteuer-anmeldung")
        assert service is not None and UNKNOWN_WORD not in service.synonyms


def test_unsaved_edit_without_csrf_token_is_refused(client: TestClient) -> None:
    login(client, "vera.viewer")
    response = client.post(
        f"/staff/preview?entry={DOG_TAX}", data={"question": UNKNOWN_QUESTION, "add_synonyms": UNKNOWN_WORD}
    )
    assert response.status_code == 403
    assert "Sicherheitsprüfung fehlgeschlagen" in response.text


def test_invalid_unsaved_edit_names_the_field(client: TestClient) -> None:
    csrf = login(client, "vera.viewer")
    response = client.post(
        "/staff/preview?entry=offices/off-buergerbuero",
        data={"csrf_token": csrf, "question": "Wann hat das Bürgerbüro offen?", "opening_hours": "Mi. 8-12"},
    )
    assert response.status_code == 422
    assert "Ungespeicherte Änderung – Öffnungszeiten" in response.text


def test_preview_page_needs_a_login(client: TestClient) -> None:
    response = client.get("/staff/preview", params={"q": "Hund anmelden"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login?next=")


def test_json_preview_explains_and_tries_an_edit(client: TestClient) -> None:
    assert client.post("/api/v1/staff/preview", json={"question": "Hund anmelden"}).status_code == 401
    viewer = bearer(client, "vera.viewer")

    live = client.post("/api/v1/staff/preview", json={"question": UNKNOWN_QUESTION}, headers=viewer)
    assert live.status_code == 200, live.text
    assert live.json()["answer"]["status"] == "unknown"
    assert live.json()["refused_if_out_of_scope"] is True

    service = client.get("/api/v1/kb/services/svc-hundesteuer-anmeldung", headers=viewer).json()
    edited = dict(service, synonyms=[*service["synonyms"], UNKNOWN_WORD])
    tried = client.post(
        "/api/v1/staff/preview",
        json={"question": UNKNOWN_QUESTION, "edit": {"kind": "services", "entry": edited}},
        headers=viewer,
    )
    assert tried.status_code == 200, tried.text
    body = tried.json()
    assert body["answer"]["status"] == "answer"
    assert body["answer"]["entry"] == {"type": "service", "id": "svc-hundesteuer-anmeldung"}
    top = body["explanation"]["candidates"][0]
    assert top["hit"]["id"] == "svc-hundesteuer-anmeldung"
    assert any(term["fields"] == ["synonym"] for term in top["terms"])
    assert set(top["signals"]) == {"dense", "bm25", "char"}
    assert body["explanation"]["answer_threshold"] > body["explanation"]["clarify_threshold"]

    broken = dict(service, fees=[{"label": "Gebühr", "amount_eur": "teuer"}])
    refused = client.post(
        "/api/v1/staff/preview",
        json={"question": "Hund anmelden", "edit": {"kind": "services", "entry": broken}},
        headers=viewer,
    )
    assert refused.status_code == 422
    assert "fees/0/amount_eur" in refused.text
