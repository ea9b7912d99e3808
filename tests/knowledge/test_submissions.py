"""Form submissions: stored exactly once, only by the action server, read only by staff, deleted on expiry."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.settings import SEED_DIR, Settings
from kumpel_knowledge.staff.models import AuditLog, StaffUser
from kumpel_knowledge.submissions import retention
from kumpel_knowledge.submissions.models import Submission

ACTION_TOKEN = "test-action-token-0123456789"
PASSWORD = "correct horse battery staple"
REFERENCE = re.compile(r"^HST-\d{4}-\d{6}$")

# A complete dog-tax registration as the dialogue exports it (actions/forms/engine.py::export_data).
DOG_TAX = {
    "Einwilligung.Datenschutz": True,
    "Halter.Name": "Erika Mustermann",
    "Halter.Anschrift.StrasseHausnummer": "Ostwall 12",
    "Halter.Anschrift.Postleitzahl": "47798",
    "Halter.Kommunikation.EMail": "",
    "Hund.Name": "Bello",
    "Hund.Rasse": "Labrador",
    "Hund.GefaehrlicherHund": False,
    "Hund.Geburtsdatum": "2024-04-03",
    "Hund.Haltungsbeginn": "2024-06-01",
    "Hund.Transpondernummer": "276098100123456",
    "Haushalt.AnzahlAngemeldeteHunde": 0,
    "Antrag.ErmaessigungBefreiung": "keine",
    "Zahlung.SEPALastschriftmandat": True,
    "Zahlung.IBAN": "DE89370400440532013000",
}
WATER_METER = {
    "Einwilligung.Datenschutz": True,
    "Eigentuemer.Name": "Erika Mustermann",
    "Grundstueck.Anschrift.StrasseHausnummer": "Ostwall 12",
    "Grundstueck.Anschrift.Postleitzahl": "47798",
    "Zaehler.Nummer": "18447321",
    "Zaehler.Stand": "1234.5",
    "Zaehler.Ablesedatum": "2026-01-15",
}


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'kb.db'}",
        search_mode="lexical",
        seed_on_start=True,
        seed_path=SEED_DIR,
        action_token=ACTION_TOKEN,
        submission_retention_days=180,
    )


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def add_staff(client: TestClient, username: str, role: str) -> dict[str, str]:
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        session.add(StaffUser(username=username, password_hash=PasswordHasher().hash(PASSWORD), role=role))
        session.commit()
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def submit(client: TestClient, key: str = "conv-1:dog_tax_registration:1732212000.5", **overrides: Any):
    body = {"form": "dog_tax_registration", "data": dict(DOG_TAX), "language": "de"}
    body.update(overrides)
    headers = {"Idempotency-Key": key, "Authorization": f"Bearer {ACTION_TOKEN}"}
    return client.post("/api/v1/submissions", json=body, headers=headers)


def count(client: TestClient) -> int:
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(Submission)) or 0)


def test_a_submission_gets_a_reference_and_the_same_key_never_makes_a_second_record(client: TestClient) -> None:
    first = submit(client)
    assert first.status_code == 201
    reference = first.json()["reference"]
    assert REFERENCE.match(reference)
    again = submit(client)
    assert again.status_code == 200
    assert again.json()["reference"] == reference
    assert count(client) == 1
    other = submit(client, key="conv-2:dog_tax_registration:1732212999.1")
    assert other.status_code == 201 and other.json()["reference"] != reference
    assert count(client) == 2


def test_concurrent_retries_of_the_same_submission_store_one_record(client: TestClient) -> None:
    results: list[int] = []

    def post() -> None:
        results.append(submit(client, key="conv-race:dog_tax_registration:1.0").status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results).count(201) == 1 and all(code in {200, 201} for code in results)
    assert count(client) == 1


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Idempotency-Key": "k1"}, 401),
        ({"Idempotency-Key": "k1", "Authorization": "Bearer wrong-token"}, 401),
        ({"Idempotency-Key": "k1", "Authorization": f"Basic {ACTION_TOKEN}"}, 401),
        ({"Authorization": f"Bearer {ACTION_TOKEN}"}, 400),
        ({"Idempotency-Key": "x" * 301, "Authorization": f"Bearer {ACTION_TOKEN}"}, 400),
    ],
)
def test_only_the_action_server_with_a_key_may_store(client: TestClient, headers: dict[str, str], status: int) -> None:
    response = client.post(
        "/api/v1/submissions", json={"form": "dog_tax_registration", "data": DOG_TAX}, headers=headers
    )
    assert response.status_code == status
    assert count(client) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"form": "tax_return", "data": DOG_TAX},
        {"form": "dog_tax_registration", "data": {}},
        {"form": "dog_tax_registration", "data": {"Hund.Name": {"nested": "object"}}},
        {"form": "dog_tax_registration", "data": {"Hund.Name": "x" * 10_000}},
        {"form": "dog_tax_registration", "data": {"<script>": "x"}},
        {"form": "dog_tax_registration", "data": {"'; DROP TABLE submissions; --": "x"}},
        {"form": "dog_tax_registration", "data": DOG_TAX, "admin": True},
        {"form": "", "data": DOG_TAX},
    ],
)
def test_malformed_submissions_are_refused_with_422_and_leave_no_record(
    client: TestClient, body: dict[str, Any]
) -> None:
    response = client.post(
        "/api/v1/submissions", json=body, headers={"Idempotency-Key": "k", "Authorization": f"Bearer {ACTION_TOKEN}"}
    )
    assert response.status_code == 422
    assert count(client) == 0


def test_a_key_reused_for_another_form_is_a_conflict(client: TestClient) -> None:
    assert submit(client, key="k-shared").status_code == 201
    response = submit(client, key="k-shared", form="water_meter_reading", data=WATER_METER)
    assert response.status_code == 409
    assert count(client) == 1


def test_a_key_reused_with_other_data_is_a_conflict_and_stores_nothing(client: TestClient) -> None:
    first = submit(client, key="k-same")
    assert first.status_code == 201
    other_dog = submit(client, key="k-same", data=dict(DOG_TAX, **{"Hund.Name": "Luna"}))
    assert other_dog.status_code == 409
    assert "other data" in other_dog.json()["detail"]
    retry = submit(client, key="k-same")
    assert retry.status_code == 200 and retry.json()["reference"] == first.json()["reference"]
    assert count(client) == 1


def problems(response: Any) -> dict[str, str]:
    """The failing fields of a 422 and why (FastAPI's shape: loc ends with the field's export name)."""
    assert response.status_code == 422, response.text
    return {item["loc"][-1]: item["type"] for item in response.json()["detail"]}


def test_the_forged_incomplete_dog_tax_registration_is_refused_naming_the_missing_fields(client: TestClient) -> None:
    # What the attacker stored through the open action server: a name, a dog and a consent, no more.
    forged = {"Einwilligung.Datenschutz": True, "Halter.Name": "Erika Mustermann", "Hund.Name": "Bello"}
    response = submit(client, data=forged)
    failing = problems(response)
    assert failing["Halter.Anschrift.StrasseHausnummer"] == "missing"
    assert failing["Halter.Anschrift.Postleitzahl"] == "missing"
    assert failing["Hund.Transpondernummer"] == "missing"
    assert failing["Zahlung.SEPALastschriftmandat"] == "missing"
    assert "Halter.Kommunikation.EMail" not in failing  # optional
    assert all(item["msg"] for item in response.json()["detail"])
    assert "Erika" not in response.text  # the error names fields, never echoes a citizen's value
    assert count(client) == 0


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("Zahlung.IBAN", "DE89370400440532013001", "invalid"),  # checksum wrong
        ("Zahlung.IBAN", "de89 3704 0044 0532 0130 00", "invalid"),  # valid, but not as the dialogue exports it
        ("Antrag.ErmaessigungBefreiung", "halb", "invalid"),  # no such choice
        ("Halter.Anschrift.Postleitzahl", "10115", "not_allowed"),  # Berlin, not Krefeld
        ("Halter.Anschrift.Postleitzahl", "4779", "invalid"),
        ("Hund.Transpondernummer", "27609810012345", "invalid"),  # 14 digits
        ("Hund.Haltungsbeginn", "2099-01-01", "invalid"),  # in the future
        ("Hund.Haltungsbeginn", "2024-02-30", "invalid"),
        ("Hund.Haltungsbeginn", "2024-01-01", "invalid"),  # before the dog was born (2024-04-03)
        ("Hund.GefaehrlicherHund", "nein", "invalid"),  # a yes/no is true or false
        ("Haushalt.AnzahlAngemeldeteHunde", 99, "invalid"),
        ("Halter.Name", "Nein", "invalid"),  # no answer is no name
        ("Hund.Rasse", "<script>alert(1)</script>", "invalid"),
        ("Halter.Kommunikation.EMail", "erika(at)example.de", "invalid"),
        ("Einwilligung.Datenschutz", False, "consent_required"),
    ],
)
def test_a_value_the_dialogue_would_refuse_is_refused_by_field(
    client: TestClient, field: str, value: Any, code: str
) -> None:
    assert problems(submit(client, data=dict(DOG_TAX, **{field: value}))) == {field: code}
    assert count(client) == 0


def test_conditional_fields_are_required_exactly_when_they_apply(client: TestClient) -> None:
    without_iban = {key: value for key, value in DOG_TAX.items() if key != "Zahlung.IBAN"}
    assert problems(submit(client, data=without_iban)) == {"Zahlung.IBAN": "missing"}
    iban_without_mandate = dict(DOG_TAX, **{"Zahlung.SEPALastschriftmandat": False})
    assert problems(submit(client, data=iban_without_mandate)) == {"Zahlung.IBAN": "not_applicable"}
    relief = dict(DOG_TAX, **{"Antrag.ErmaessigungBefreiung": "befreiung"})
    assert problems(submit(client, data=relief)) == {"Antrag.Begruendung": "missing"}
    assert problems(submit(client, data=dict(DOG_TAX, **{"Hund.Farbe": "braun"}))) == {"Hund.Farbe": "unknown_field"}
    assert count(client) == 0
    with_reason = dict(relief, **{"Antrag.Begruendung": "Assistenzhund"})
    assert submit(client, key="k-relief", data=with_reason).status_code == 201
    no_sepa = {key: value for key, value in iban_without_mandate.items() if key != "Zahlung.IBAN"}
    assert submit(client, key="k-no-sepa", data=no_sepa).status_code == 201
    assert count(client) == 2


def test_a_complete_water_meter_reading_is_stored(client: TestClient) -> None:
    response = submit(client, key="k-water", form="water_meter_reading", data=WATER_METER)
    assert response.status_code == 201 and response.json()["reference"].startswith("WZS-")


def test_staff_list_view_and_export_need_an_editor(client: TestClient) -> None:
    reference = submit(client).json()["reference"]
    for path in ("/api/v1/submissions", f"/api/v1/submissions/{reference}", "/api/v1/submissions/export?format=csv"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer forged"}).status_code == 401
    viewer = add_staff(client, "vera", "viewer")
    assert client.get("/api/v1/submissions", headers=viewer).status_code == 403

    editor = add_staff(client, "emil", "editor")
    listing = client.get("/api/v1/submissions", headers=editor).json()
    assert listing["total"] == 1 and listing["items"][0]["reference"] == reference
    assert "data" not in listing["items"][0]
    one = client.get(f"/api/v1/submissions/{reference}", headers=editor)
    assert one.status_code == 200 and one.headers["cache-control"] == "no-store"
    assert one.json()["data"]["Hund.Transpondernummer"] == "276098100123456"
    assert one.json()["leika_key"] == "99102013104000"
    assert client.get("/api/v1/submissions/HST-2026-999999", headers=editor).status_code == 404
    assert client.get("/api/v1/submissions/..%2F..%2Fetc", headers=editor).status_code == 404
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        audit = session.scalars(select(AuditLog).where(AuditLog.entity_type == "submission")).all()
    assert [(row.username, row.action, row.entity_id) for row in audit] == [("emil", "view", reference)]
    assert "Erika" not in str([row.detail for row in audit])


def test_export_as_json_and_csv_uses_fim_aligned_names_and_defuses_formulas(client: TestClient) -> None:
    reference = submit(client).json()["reference"]
    # The breed is free text: a formula passes the form's checks, so the export must defuse it.
    formula = submit(client, key="k-formula", data=dict(DOG_TAX, **{"Hund.Rasse": '=HYPERLINK("http://evil")'}))
    assert formula.status_code == 201
    editor = add_staff(client, "emil", "editor")
    exported = client.get("/api/v1/submissions/export?format=json", headers=editor)
    assert exported.status_code == 200
    items = exported.json()["items"]
    assert [item["reference"] for item in items][0] == reference
    assert items[0]["data"]["Halter.Anschrift.Postleitzahl"] == "47798"

    as_csv = client.get("/api/v1/submissions/export?format=csv", headers=editor)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0]["Aktenzeichen"] == reference
    assert rows[0]["Hund.Transpondernummer"] == "276098100123456"
    assert rows[0]["Hund.GefaehrlicherHund"] == "nein"
    assert rows[1]["Hund.Rasse"].startswith("'=")
    assert client.get("/api/v1/submissions/export?format=xml", headers=editor).status_code == 422


def test_expired_submissions_are_deleted_by_the_retention_job(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = submit(client, key="k-old").json()["reference"]
    fresh = submit(client, key="k-fresh").json()["reference"]
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        row = session.scalar(select(Submission).where(Submission.reference == old))
        assert row is not None
        row.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        session.commit()
    monkeypatch.setenv("KUMPEL_DATABASE_URL", settings.database_url)
    from kumpel_knowledge.core.settings import get_settings

    get_settings.cache_clear()
    try:
        assert retention.main(["--dry-run"]) == 0
        assert "1 expired" in capsys.readouterr().out
        assert count(client) == 2
        assert retention.main([]) == 0
        assert "deleted 1" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        left = [r.reference for r in session.scalars(select(Submission))]
    assert left == [fresh]


def test_retention_period_comes_from_the_settings(client: TestClient) -> None:
    submit(client)
    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        row = session.scalars(select(Submission)).one()
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=timezone.utc)
    assert expires - created == timedelta(days=180)


@pytest.mark.parametrize(
    ("data", "amount"),
    [
        ({"Hund.GefaehrlicherHund": False, "Haushalt.AnzahlAngemeldeteHunde": 0}, "111,32 EUR"),
        ({"Hund.GefaehrlicherHund": False, "Haushalt.AnzahlAngemeldeteHunde": 1}, "129,47 EUR"),
        ({"Hund.GefaehrlicherHund": False, "Haushalt.AnzahlAngemeldeteHunde": 4}, "147,62 EUR"),
        ({"Hund.GefaehrlicherHund": True, "Haushalt.AnzahlAngemeldeteHunde": 0}, "800,00 EUR"),
    ],
)
def test_dog_tax_estimate_comes_from_the_knowledge_base_rates(
    client: TestClient, data: dict[str, Any], amount: str
) -> None:
    response = client.post("/api/v1/submissions/estimate", json={"form": "dog_tax_registration", "data": data})
    assert response.status_code == 200
    assert amount in response.json()["text"]
    assert "Quelle:" in response.json()["text"]


def test_a_dangerous_dog_with_other_dogs_names_both_rates(client: TestClient) -> None:
    data = {"Hund.GefaehrlicherHund": True, "Haushalt.AnzahlAngemeldeteHunde": 1}
    text = client.post("/api/v1/submissions/estimate", json={"form": "dog_tax_registration", "data": data}).json()[
        "text"
    ]
    assert "800,00 EUR im Jahr" in text
    assert "weiterer gefährlicher Hund" in text and "900,00 EUR je Hund" in text


def test_an_edited_rate_in_the_knowledge_base_changes_the_estimate(client: TestClient) -> None:
    from kumpel_knowledge.kb.models import Service

    with client.app.state.runtime.sessions() as session:  # type: ignore[attr-defined]
        service = session.scalar(select(Service).where(Service.leika_key == "99102013104000"))
        assert service is not None
        service.fees = [dict(fee, amount_eur=120.0) if fee["label"] == "Ein Hund" else fee for fee in service.fees]
        session.commit()
    response = client.post("/api/v1/submissions/estimate", json={"form": "dog_tax_registration", "data": {}})
    assert "120,00 EUR" in response.json()["text"]


def test_no_estimate_for_forms_without_fees(client: TestClient) -> None:
    assert (
        client.post("/api/v1/submissions/estimate", json={"form": "water_meter_reading", "data": {}}).status_code == 404
    )


def test_the_cron_entry_point_runs_as_a_module(client: TestClient, settings: Settings) -> None:
    import os
    import subprocess
    import sys

    submit(client, key="k-cron")
    env = dict(os.environ, KUMPEL_DATABASE_URL=settings.database_url)
    done = subprocess.run(
        [sys.executable, "-m", "kumpel_knowledge.submissions.retention"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "deleted 0 expired submissions"
    assert "Erika" not in done.stdout + done.stderr
    assert count(client) == 1
