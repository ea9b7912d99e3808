"""What the action server reads about the town for a form's texts (GET /api/v1/forms/{form}/town)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.db import make_engine, make_session_factory
from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.kb.interchange import upsert_municipality

KREFELD_POSTCODES = ["47798", "47799", "47800", "47802", "47803", "47804", "47805", "47807", "47809", "47829", "47839"]


def test_a_form_gets_the_town_and_the_e_mail_of_its_services_office(kb_client: TestClient) -> None:
    response = kb_client.get("/api/v1/forms/dog_tax_registration/town")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "town": "die Stadtverwaltung Krefeld",
        "city": "Krefeld",
        "postcodes": KREFELD_POSTCODES,
        "email": "hundesteuer@krefeld.de",  # the zuständige Stelle of the service with the form's LeiKa key
        "office": "die Abteilung Steuern und Abgaben",
        "state": "NW",  # from the regional key 05...: sentences of NRW law are said
    }
    deregistration = kb_client.get("/api/v1/forms/dog_tax_deregistration/town").json()
    assert deregistration["email"] == "hundesteuer@krefeld.de" and deregistration["city"] == "Krefeld"


def test_a_form_without_a_service_gets_the_town_only_and_an_unknown_form_none(kb_client: TestClient) -> None:
    water = kb_client.get("/api/v1/forms/water_meter_reading/town").json()
    assert water["postcodes"] == KREFELD_POSTCODES and water["office"] == "" and water["email"] == ""
    assert kb_client.get("/api/v1/forms/kfz_zulassung/town").status_code == 404


def test_another_towns_profile_changes_what_the_forms_say(kb_client: TestClient, kb_settings: Settings) -> None:
    engine = make_engine(kb_settings.database_url)
    with make_session_factory(engine)() as session:
        upsert_municipality(
            session, {"name": "Stadt Hellbach", "email": "info@hellbach.example", "postcodes": ["99001", "99002"]}
        )
        session.commit()
    engine.dispose()
    town = kb_client.get("/api/v1/forms/water_meter_reading/town").json()
    # city defaults to the name without "Stadt"; without an office, the town's own e-mail.
    assert town == {"town": "Stadt Hellbach", "city": "Hellbach", "postcodes": ["99001", "99002"],
                    "email": "info@hellbach.example", "office": "", "state": ""}  # fmt: skip
    assert kb_client.get("/api/v1/municipality").json()["postcodes"] == ["99001", "99002"]


def test_the_widget_on_the_towns_own_site_may_read_the_profile_other_sites_may_not(kb_settings: Settings) -> None:
    settings = kb_settings.model_copy(update={"cors_origins": "https://www.krefeld.de"})
    with TestClient(create_app(settings)) as client:
        own = client.get("/api/v1/municipality", headers={"Origin": "https://www.krefeld.de"})
        assert own.status_code == 200 and own.json()["name"] == "Stadt Krefeld"
        assert own.headers["access-control-allow-origin"] == "https://www.krefeld.de"
        foreign = client.get("/api/v1/municipality", headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 200 and "access-control-allow-origin" not in foreign.headers
