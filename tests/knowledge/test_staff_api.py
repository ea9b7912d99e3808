"""Staff authentication and curation: roles, audit, live search updates, production safety."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.db import make_engine, make_session_factory
from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.staff.auth import add_user

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-enough-password"
NEW_SERVICE = {
    "name": "Baumfällgenehmigung beantragen",
    "synonyms": ["Baum fällen", "Baumschutzsatzung", "Baum im Garten entfernen"],
    "summary": "Geschützte Bäume dürfen nur mit Genehmigung gefällt werden.",
    "fees": [{"label": "Genehmigung", "amount_eur": 25.0}],
    "responsible": [{"office": "off-bauaufsicht"}],
    "source_url": "https://www.krefeld.de/de/umwelt/",
    "last_reviewed": "2026-11-01",
}


def login(client: TestClient, settings: Settings, username: str, role: str) -> dict[str, str]:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        add_user(session, username, PASSWORD, role)
    engine.dispose()
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def ask(client: TestClient, question: str, topic: str = "auto") -> dict[str, Any]:
    response = client.post(
        "/api/v1/answer", json={"question": question, "topic": topic, "now": "2026-11-19T10:00:00+01:00"}
    )
    assert response.status_code == 200
    return response.json()


def test_wrong_password_and_unknown_user_get_the_same_401(kb_client: TestClient, kb_settings: Settings) -> None:
    login(kb_client, kb_settings, "anna", "editor")
    wrong = kb_client.post("/api/v1/auth/token", data={"username": "anna", "password": "nope-nope-nope"})
    unknown = kb_client.post("/api/v1/auth/token", data={"username": "nobody", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer forged.token.value"}, {"Authorization": "Basic YW5uYTpwdw=="}]
)
def test_data_changing_endpoints_refuse_without_a_valid_token(kb_client: TestClient, headers: dict[str, str]) -> None:
    assert kb_client.put("/api/v1/kb/services/svc-x", json=NEW_SERVICE, headers=headers).status_code == 401
    assert kb_client.delete("/api/v1/kb/services/svc-personalausweis", headers=headers).status_code == 401
    assert kb_client.get("/api/v1/staff/unanswered", headers=headers).status_code == 401
    assert ask(kb_client, "Was kostet ein Personalausweis?", "fees")["entry"]["id"] == "svc-personalausweis"


def test_a_viewer_reads_but_cannot_change(kb_client: TestClient, kb_settings: Settings) -> None:
    viewer = login(kb_client, kb_settings, "vera", "viewer")
    listed = kb_client.get("/api/v1/kb/services", headers=viewer).json()
    assert listed["total"] >= 40
    assert (
        kb_client.get("/api/v1/kb/offices/off-buergerbuero", headers=viewer).json()["name"] == "Bürgerbüro im Rathaus"
    )
    assert kb_client.put("/api/v1/kb/services/svc-baumfaellung", json=NEW_SERVICE, headers=viewer).status_code == 403
    assert kb_client.get("/api/v1/staff/audit", headers=viewer).status_code == 403


def test_a_new_service_is_found_by_the_next_search_within_one_second(
    kb_client: TestClient, kb_settings: Settings
) -> None:
    editor = login(kb_client, kb_settings, "erik", "editor")
    assert ask(kb_client, "Darf ich den Baum im Garten fällen?")["entry"] != {
        "type": "service",
        "id": "svc-baumfaellung",
    }
    start = time.perf_counter()
    created = kb_client.put("/api/v1/kb/services/svc-baumfaellung", json=NEW_SERVICE, headers=editor)
    answer = ask(kb_client, "Was kostet die Genehmigung, einen Baum im Garten zu fällen?", "fees")
    elapsed = time.perf_counter() - start
    assert created.status_code == 201
    assert answer["entry"] == {"type": "service", "id": "svc-baumfaellung"}
    assert "25,00 EUR" in answer["text"]
    assert elapsed < 1.0


def test_an_edited_fee_changes_the_answer_and_the_audit_log_says_who(
    kb_client: TestClient, kb_settings: Settings
) -> None:
    editor = login(kb_client, kb_settings, "erik", "editor")
    admin = login(kb_client, kb_settings, "ada", "admin")
    entry = kb_client.get("/api/v1/kb/services/svc-personalausweis", headers=editor).json()
    entry["fees"][0]["amount_eur"] = 38.5
    assert kb_client.put("/api/v1/kb/services/svc-personalausweis", json=entry, headers=editor).status_code == 200
    assert "38,50 EUR" in ask(kb_client, "Was kostet ein Personalausweis?", "fees")["text"]
    audit = kb_client.get("/api/v1/staff/audit", headers=admin).json()["items"]
    assert audit[0]["username"] == "erik" and audit[0]["action"] == "update"
    assert audit[0]["entity_id"] == "svc-personalausweis" and audit[0]["detail"] == {"fields": ["fees"]}


def test_an_invalid_entry_is_refused_precisely_and_changes_nothing(
    kb_client: TestClient, kb_settings: Settings
) -> None:
    editor = login(kb_client, kb_settings, "erik", "editor")
    bad = dict(NEW_SERVICE, responsible=[{"office": "off-nowhere"}], fees=[{"label": "x", "amount_eur": -3}])
    response = kb_client.put("/api/v1/kb/services/svc-baumfaellung", json=bad, headers=editor)
    assert response.status_code == 422
    assert any("field fees/0/amount_eur" in e for e in response.json()["detail"])
    assert kb_client.get("/api/v1/kb/services/svc-baumfaellung", headers=editor).status_code == 404
    mismatch = kb_client.put("/api/v1/kb/services/svc-a", json=dict(NEW_SERVICE, id="svc-b"), headers=editor)
    assert mismatch.status_code == 422
    hours = kb_client.get("/api/v1/kb/offices/off-buergerbuero", headers=editor).json()
    hours["opening_hours"] = "Montag bis Freitag"
    assert kb_client.put("/api/v1/kb/offices/off-buergerbuero", json=hours, headers=editor).status_code == 422


def test_a_deleted_service_is_no_longer_answered(kb_client: TestClient, kb_settings: Settings) -> None:
    editor = login(kb_client, kb_settings, "erik", "editor")
    assert ask(kb_client, "Ich möchte ein Wunschkennzeichen reservieren")["entry"]["id"] == "svc-wunschkennzeichen"
    assert kb_client.delete("/api/v1/kb/services/svc-wunschkennzeichen", headers=editor).status_code == 204
    assert ask(kb_client, "Ich möchte ein Wunschkennzeichen reservieren")["entry"] != {
        "type": "service",
        "id": "svc-wunschkennzeichen",
    }
    assert kb_client.delete("/api/v1/kb/services/svc-wunschkennzeichen", headers=editor).status_code == 404


def test_a_closure_notice_added_by_staff_closes_the_office(kb_client: TestClient, kb_settings: Settings) -> None:
    editor = login(kb_client, kb_settings, "erik", "editor")
    notice = {
        "office": "off-buergerbuero",
        "title": "Personalversammlung",
        "starts_at": "2026-11-19",
        "ends_at": "2026-11-19",
    }
    assert kb_client.put("/api/v1/kb/notices/ntc-personalversammlung", json=notice, headers=editor).status_code == 201
    answer = ask(kb_client, "Wann hat das Bürgerbüro geöffnet?", "opening_hours")
    assert answer["text"].startswith("Das Bürgerbüro ist heute geschlossen (Personalversammlung).")


def test_staff_see_unanswered_questions_without_personal_data(kb_client: TestClient, kb_settings: Settings) -> None:
    ask(kb_client, "Kann ich bei euch Fahrräder leihen? Meine IBAN ist DE89 3704 0044 0532 0130 00")
    viewer = login(kb_client, kb_settings, "vera", "viewer")
    items = kb_client.get("/api/v1/staff/unanswered", headers=viewer).json()["items"]
    assert items[0]["question"] == "Kann ich bei euch Fahrräder leihen? Meine IBAN ist [IBAN]"


def test_production_refuses_a_placeholder_secret(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'p.db'}"
    with pytest.raises(RuntimeError, match="KUMPEL_SECRET_KEY"):
        create_app(Settings(env="production", database_url=database, secret_key="change-me", action_token="x" * 32))
    create_app(Settings(env="production", database_url=database, secret_key="s" * 32, action_token="t" * 32))
    env = dict(os.environ, KUMPEL_ENV="production", KUMPEL_DATABASE_URL=database)
    env.pop("KUMPEL_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "kumpel_knowledge", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "placeholder secret" in result.stderr


def test_users_add_cli_sets_a_password_that_logs_in(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'u.db'}"
    env = dict(os.environ, KUMPEL_DATABASE_URL=database, KUMPEL_SEED_ON_START="false")
    command = [sys.executable, "-m", "kumpel_knowledge", "users", "add", "clara", "--role", "admin", "--password-stdin"]
    short = subprocess.run(command, env=env, input="kurz\n", capture_output=True, text=True, timeout=60)
    assert short.returncode == 1 and "at least 12" in short.stderr
    ok = subprocess.run(command, env=env, input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    settings = Settings(
        env="test", database_url=database, search_mode="lexical", seed_on_start=False, secret_key="k" * 32
    )
    with TestClient(create_app(settings)) as client:
        token = client.post("/api/v1/auth/token", data={"username": "clara", "password": PASSWORD}).json()[
            "access_token"
        ]
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"username": "clara", "role": "admin"}


def test_an_edit_through_one_replica_reaches_the_other(kb_settings: Settings) -> None:
    fast = kb_settings.model_copy(update={"index_refresh_seconds": 0.2})
    with TestClient(create_app(fast)) as replica_a, TestClient(create_app(fast)) as replica_b:
        editor = login(replica_a, fast, "erik", "editor")
        assert (
            replica_a.put("/api/v1/kb/services/svc-baumfaellung", json=NEW_SERVICE, headers=editor).status_code == 201
        )
        question = "Was kostet die Genehmigung, einen Baum im Garten zu fällen?"
        deadline = time.monotonic() + 5
        while ask(replica_b, question, "fees")["entry"] != {"type": "service", "id": "svc-baumfaellung"}:
            assert time.monotonic() < deadline, "replica B never saw the new service"
            time.sleep(0.1)
        assert replica_a.delete("/api/v1/kb/services/svc-baumfaellung", headers=editor).status_code == 204
        deadline = time.monotonic() + 5
        while ask(replica_b, question, "fees")["entry"] == {"type": "service", "id": "svc-baumfaellung"}:
            assert time.monotonic() < deadline, "replica B still answers with the deleted service"
            time.sleep(0.1)


HELLBACH = {
    "name": "Stadt Hellbach",
    "name_in_sentence": "die Stadt Hellbach",
    "phone": "09999 555-0",
    "web": "https://www.hellbach.example",
    "regional_key": "091620000000",  # a Bavarian key: the state's holidays apply
}


def test_the_town_profile_fills_the_contact_text_and_its_state_sets_the_holidays(
    kb_client: TestClient, kb_settings: Settings
) -> None:
    question = "Hat das Bürgerbüro am 06.01. geöffnet?"
    assert "Heilige Drei Könige" not in ask(kb_client, question, "opening_hours")["text"]  # NRW: a working day
    editor = login(kb_client, kb_settings, "erik", "editor")
    saved = kb_client.put("/api/v1/kb/municipality", json=HELLBACH, headers=editor)
    assert saved.status_code == 200, saved.text  # the seed's profile is replaced
    assert kb_client.get("/api/v1/municipality").json()["name"] == "Stadt Hellbach"

    assert "Feiertag: Heilige Drei Könige" in ask(kb_client, question, "opening_hours")["text"]
    unknown = ask(kb_client, "Wer gewinnt die Champions League?")["text"]
    assert "die Stadt Hellbach (Telefon 09999 555-0, https://www.hellbach.example)" in unknown
    assert "Krefeld" not in unknown and "115" in unknown


def test_the_town_profile_is_validated_and_only_editors_change_it(kb_client: TestClient, kb_settings: Settings) -> None:
    viewer = login(kb_client, kb_settings, "vera", "viewer")
    editor = login(kb_client, kb_settings, "erik", "editor")
    assert kb_client.put("/api/v1/kb/municipality", json=HELLBACH, headers=viewer).status_code == 403
    bad = kb_client.put("/api/v1/kb/municipality", json=dict(HELLBACH, regional_key="5114"), headers=editor)
    assert bad.status_code == 422
    assert any("field municipality/regional_key" in error for error in bad.json()["detail"]), bad.json()
    assert kb_client.get("/api/v1/municipality").json()["name"] == "Stadt Krefeld"
