"""Import/export of the kumpel-kb/1 interchange format: validated, all or nothing, idempotent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kumpel_knowledge.core.db import make_engine, make_session_factory
from kumpel_knowledge.core.settings import SEED_DIR
from kumpel_knowledge.kb.interchange import KbValidationError, export_document, export_path, import_path
from kumpel_knowledge.kb.models import Faq, Notice, Office, Responsibility, Service
from kumpel_knowledge.schema import create_schema

REPO = Path(__file__).resolve().parents[2]

OFFICE = {
    "id": "off-test",
    "name": "Testamt",
    "opening_hours": "Mo-Fr 08:00-12:00; PH off",
    "source_url": "https://www.krefeld.de/",
    "last_reviewed": "2026-10-01",
}
SERVICE = {
    "id": "svc-test",
    "name": "Testleistung",
    "summary": "Eine Leistung zum Testen.",
    "fees": [{"label": "Gebühr", "amount_eur": 5.5}],
    "responsible": [{"office": "off-test"}],
    "source_url": "https://www.krefeld.de/",
    "last_reviewed": "2026-10-01",
}


@pytest.fixture()
def session(tmp_path: Path) -> Session:
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    create_schema(engine)
    return make_session_factory(engine)()


def write(path: Path, **sections: object) -> Path:
    path.write_text(yaml.safe_dump({"format": "kumpel-kb/1", **sections}, allow_unicode=True), encoding="utf-8")
    return path


def counts(session: Session) -> dict[str, int]:
    return {
        m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
        for m in (Service, Office, Faq, Notice, Responsibility)
    }


def test_the_seed_is_a_valid_sample_knowledge_base_for_krefeld(session: Session) -> None:
    report = import_path(session, SEED_DIR)
    assert report.counts["services"] >= 40 and report.counts["offices"] >= 10
    assert report.counts["faqs"] >= 10 and report.counts["notices"] >= 1
    for path in SEED_DIR.glob("*.yaml"):
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["sample_data"] is True
    for entry in [*session.scalars(select(Service)), *session.scalars(select(Office))]:
        assert entry.source_url.startswith("https://www.krefeld.de/"), entry.id
        assert entry.last_reviewed is not None
    dog_tax = session.get(Service, "svc-hundesteuer-anmeldung")
    assert dog_tax is not None and dog_tax.leika_key == "99102013104000"
    assert [f["amount_eur"] for f in dog_tax.fees] == [111.32, 129.47, 147.62, 800.0, 900.0]
    # Every service has someone responsible, so each answer can name an office.
    assert all(s.responsibilities for s in session.scalars(select(Service)))


def test_schema_errors_name_file_entry_and_field_and_nothing_is_written(session: Session, tmp_path: Path) -> None:
    broken = dict(SERVICE, id="svc-broken", fees=[{"label": "Gebühr", "amount_eur": "zehn"}])
    path = write(tmp_path / "kb.yaml", offices=[OFFICE], services=[SERVICE, broken])
    with pytest.raises(KbValidationError) as caught:
        import_path(session, path)
    assert any(
        e.startswith("kb.yaml: services[1] (svc-broken), field fees/0/amount_eur:") and "'zehn'" in e
        for e in caught.value.errors
    ), caught.value.errors
    assert counts(session) == {"services": 0, "offices": 0, "faqs": 0, "notices": 0, "responsibilities": 0}


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        (
            {"services": [dict(SERVICE, responsible=[{"office": "off-nowhere"}])]},
            "services[0] (svc-test), field responsible/0/office: unknown office 'off-nowhere'",
        ),
        (
            {"offices": [dict(OFFICE, opening_hours="Mo-Fx 8-12")]},
            "offices[0] (off-test), field opening_hours: invalid OSM opening_hours syntax",
        ),
        ({"offices": [OFFICE, OFFICE]}, "offices[1] (off-test), field id: duplicate id"),
        ({"services": [dict(SERVICE, leika_key=99102013104000)]}, "services[0] (svc-test), field leika_key"),
        ({"services": [dict(SERVICE, source_url="http://evil.example/")]}, "services[0] (svc-test), field source_url"),
        (
            {"notices": [{"id": "ntc-x", "title": "x", "starts_at": "2026-12-24", "ends_at": "2026-12-23"}]},
            "notices[0] (ntc-x), field ends_at: must be after starts_at",
        ),
        (
            {"services": [{"id": "svc-test", "name": "Ohne Quelle", "summary": "x", "last_reviewed": "2026-10-01"}]},
            "services[0] (svc-test), field (entry): 'source_url' is a required property",
        ),
    ],
)
def test_each_kind_of_error_is_reported_precisely(
    session: Session, tmp_path: Path, sections: dict, expected: str
) -> None:
    with pytest.raises(KbValidationError) as caught:
        import_path(session, write(tmp_path / "bad.yaml", **sections))
    assert any(e.startswith(f"bad.yaml: {expected}") for e in caught.value.errors), caught.value.errors


def test_a_file_that_is_not_yaml_is_refused(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "kaputt.yaml"
    path.write_text("services: [unclosed", encoding="utf-8")
    with pytest.raises(KbValidationError) as caught:
        import_path(session, path)
    assert caught.value.errors[0].startswith("kaputt.yaml: cannot read")


def test_the_same_files_twice_leave_the_same_state(session: Session) -> None:
    import_path(session, SEED_DIR)
    first = export_document(session)
    first_counts = counts(session)
    responsibility_ids = sorted(session.scalars(select(Responsibility.id)))
    import_path(session, SEED_DIR)
    assert export_document(session) == first
    assert counts(session) == first_counts
    assert sorted(session.scalars(select(Responsibility.id))) == responsibility_ids


def test_reimport_updates_an_entry_and_its_responsibilities(session: Session, tmp_path: Path) -> None:
    other = dict(OFFICE, id="off-other", name="Anderes Amt")
    import_path(session, write(tmp_path / "a.yaml", offices=[OFFICE, other], services=[SERVICE]))
    changed = dict(SERVICE, summary="Neu.", responsible=[{"office": "off-other", "role": "ansprechpunkt"}])
    import_path(session, write(tmp_path / "b.yaml", services=[changed]))  # office known from the database
    service = session.get(Service, "svc-test")
    assert service is not None and service.summary == "Neu."
    assert [(r.office_id, r.role) for r in service.responsibilities] == [("off-other", "ansprechpunkt")]


def test_export_then_import_into_an_empty_database_gives_the_same_knowledge_base(
    session: Session, tmp_path: Path
) -> None:
    import_path(session, SEED_DIR)
    original = export_document(session)
    for target in (tmp_path / "export", tmp_path / "kb.json"):
        export_path(session, target)
        engine = make_engine(f"sqlite:///{tmp_path / (target.name + '.db')}")
        create_schema(engine)
        with make_session_factory(engine)() as fresh:
            import_path(fresh, target)
            assert export_document(fresh) == original


def run_cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KUMPEL_DATABASE_URL=f"sqlite:///{db}")
    return subprocess.run(
        [sys.executable, "-m", "kumpel_knowledge", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_import_refuses_bad_files_with_a_message_and_exit_code(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", services=[dict(SERVICE, responsible=[{"office": "off-nowhere"}])])
    result = run_cli("kb", "import", str(bad), db=tmp_path / "cli.db")
    assert result.returncode == 1
    assert "nothing was written" in result.stderr and "unknown office 'off-nowhere'" in result.stderr


def test_cli_import_and_export(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    imported = run_cli("kb", "import", str(SEED_DIR), db=db)
    assert imported.returncode == 0, imported.stderr
    assert "services" in imported.stdout
    exported = run_cli("kb", "export", str(tmp_path / "out.yaml"), db=db)
    assert exported.returncode == 0, exported.stderr
    document = yaml.safe_load((tmp_path / "out.yaml").read_text(encoding="utf-8"))
    assert {s["id"] for s in document["services"]} >= {"svc-hundesteuer-anmeldung", "svc-personalausweis"}
