"""XZuFi sync: import, re-import, updates, deletions, local overrides that win, errors that write nothing.

Most tests run against exports built here (the reader's output shape, ``reader.XzufiExport``), so
each one shows exactly the official change it syncs; the fixture tests at the end read X1's files
through the real reader. The knowledge base is a private copy of the seeded one (Krefeld's profile,
regional key 051140000000), and every edit goes through the same save path as the console.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kumpel_knowledge.core.db import make_engine, make_session_factory
from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.kb import editing, interchange
from kumpel_knowledge.kb.index import KnowledgeIndex
from kumpel_knowledge.kb.models import EntryOverride, ImportedEntry, Municipality, Office, Service
from kumpel_knowledge.kb.versions import EntryVersion, history
from kumpel_knowledge.kb.xzufi.sync import (
    MissingRegionalKey,
    XzufiSyncError,
    apply_sync,
    plan_sync,
    read_export,
    regional_key,
)
from kumpel_knowledge.staff.auth import StaffIdentity, add_user

EDITOR = StaffIdentity("erika", "editor")
IMPORTER = StaffIdentity("xzufi-import", "editor")
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "xzufi"


@dataclass(frozen=True)
class Export:
    """An export as ``read_xzufi`` returns it (same fields as ``reader.XzufiExport``)."""

    services: list[dict[str, Any]]
    offices: list[dict[str, Any]]
    deletions: list[tuple[str, str]] = field(default_factory=list)
    complete: bool = False
    skipped_outside_region: int = 0
    sources: list[str] = field(default_factory=lambda: ["test-export.xml"])


def office(number: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"xzufi-o-{number}",
        "external_id": str(number),
        "name": f"Bürgeramt Musterau {number}",
        "name_in_sentence": f"das Bürgeramt Musterau {number}",
        "phone": "02151 123-0",
        "opening_hours": "Mo-Fr 08:00-12:00",
        "regional_key": "051140000000",
        "source_url": f"https://pvog.example/organisationseinheit/{number}",
        "last_reviewed": "2026-10-01",
    } | changes


def service(number: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"xzufi-l-{number}",
        "external_id": str(number),
        "leika_key": f"99{number:012d}",
        "name": f"Leistung Nummer {number} beantragen",
        "summary": f"Kurztext der Leistung {number}.",
        "description": f"Volltext der Leistung {number}.",
        "documents": ["Personalausweis"],
        "fees": [{"label": "Gebühr", "amount_eur": 10.0 + number}],
        "responsible": [{"office": "xzufi-o-1", "role": "zustaendige_stelle"}],
        "source_url": f"https://pvog.example/leistung/{number}",
        "last_reviewed": "2026-10-01",
    } | changes


def first_export() -> Export:
    return Export(services=[service(n) for n in (1, 2, 3)], offices=[office(1), office(2)], complete=True)


@pytest.fixture()
def session(kb_settings: Settings) -> Iterator[Session]:
    engine = make_engine(kb_settings.database_url)
    with make_session_factory(engine)() as db:
        yield db
    engine.dispose()


def served(session: Session, entry_id: str) -> dict[str, Any] | None:
    session.expire_all()
    return editing.current_entry(session, "services", entry_id)


def staff_edit(session: Session, entry_id: str, **changes: Any) -> None:
    """What the console's and the API's save does: the whole entry, some fields changed."""
    entry = served(session, entry_id)
    assert entry is not None
    editing.save_entry(session, _lexical_index(session), EDITOR, "services", {**entry, **changes})


_INDEXES: dict[int, KnowledgeIndex] = {}


def _lexical_index(session: Session) -> KnowledgeIndex:
    key = id(session)
    if key not in _INDEXES:
        index = KnowledgeIndex(Settings(env="test", search_mode="lexical", database_url="sqlite://"))
        index.rebuild(session)
        _INDEXES[key] = index
    return _INDEXES[key]


def counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(Service)) or 0,
        session.scalar(select(func.count()).select_from(Office)) or 0,
        session.scalar(select(func.count()).select_from(EntryVersion)) or 0,
    )


# ---- import and re-import ----------------------------------------------------------------------


def test_an_import_adds_services_and_offices_with_their_provenance_and_versions(session: Session) -> None:
    local_before = counts(session)
    report = apply_sync(session, first_export(), IMPORTER)

    assert report.counts["add"] == 5 and report.counts["remove"] == 0
    entry = served(session, "xzufi-l-2")
    assert entry is not None
    assert entry["fees"] == [{"label": "Gebühr", "amount_eur": 12.0}]
    assert entry["responsible"] == [{"office": "xzufi-o-1", "role": "zustaendige_stelle"}]
    provenance = session.get(ImportedEntry, ("services", "xzufi-l-2"))
    assert provenance is not None and provenance.source == "xzufi" and provenance.external_id == "2"
    assert provenance.official["summary"] == "Kurztext der Leistung 2."
    assert [v.action for v in history(session, "services", "xzufi-l-2")] == ["create"]
    assert history(session, "services", "xzufi-l-2")[0].username == "xzufi-import"
    after = counts(session)
    assert (after[0] - local_before[0], after[1] - local_before[1]) == (3, 2)


def test_a_reimport_of_the_same_export_changes_nothing(session: Session) -> None:
    apply_sync(session, first_export(), IMPORTER)
    versions_before = counts(session)[2]

    plan = plan_sync(session, first_export())
    report = apply_sync(session, first_export(), IMPORTER)

    assert plan.counts["unchanged"] == 5 and not plan.writes
    assert report.counts | {"unchanged": 0} == {
        "add": 0,
        "change": 0,
        "remove": 0,
        "unchanged": 0,
        "shadowed": 0,
        "deleted_locally": 0,
        "skipped_outside_region": 0,
    }
    assert counts(session)[2] == versions_before


def test_a_dry_run_reports_and_writes_nothing(session: Session) -> None:
    before = counts(session)
    plan = plan_sync(session, first_export())
    assert [e.id for e in plan.of("add")] == ["xzufi-o-1", "xzufi-o-2", "xzufi-l-1", "xzufi-l-2", "xzufi-l-3"]
    assert counts(session) == before
    assert session.scalar(select(func.count()).select_from(ImportedEntry)) == 0


def test_an_update_writes_the_new_fee_and_text(session: Session) -> None:
    apply_sync(session, first_export(), IMPORTER)
    newer = replace(
        first_export(),
        services=[
            service(1, fees=[{"label": "Gebühr", "amount_eur": 37.0}]),
            service(2, summary="Neuer amtlicher Kurztext."),
            service(3),
        ],
    )

    plan = plan_sync(session, newer)
    apply_sync(session, newer, IMPORTER)

    assert {(e.id, e.fields) for e in plan.of("change")} == {("xzufi-l-1", ("fees",)), ("xzufi-l-2", ("summary",))}
    assert served(session, "xzufi-l-1")["fees"] == [{"label": "Gebühr", "amount_eur": 37.0}]  # type: ignore[index]
    assert served(session, "xzufi-l-2")["summary"] == "Neuer amtlicher Kurztext."  # type: ignore[index]
    assert history(session, "services", "xzufi-l-1")[0].changed == ["fees"]


def test_loesche_removes_the_deleted_object_only(session: Session) -> None:
    apply_sync(session, first_export(), IMPORTER)
    partial = Export(services=[], offices=[], deletions=[("service", "3")], complete=False)

    report = apply_sync(session, partial, IMPORTER)

    assert [e.id for e in report.plan.of("remove")] == ["xzufi-l-3"]
    assert served(session, "xzufi-l-3") is None and served(session, "xzufi-l-1") is not None
    assert session.get(ImportedEntry, ("services", "xzufi-l-3")) is None
    assert history(session, "services", "xzufi-l-3")[0].action == "delete"  # restorable from the history


def test_a_full_export_removes_missing_imported_entries_and_never_local_ones(session: Session) -> None:
    apply_sync(session, first_export(), IMPORTER)
    local_services = {s for s in session.scalars(select(Service.id)) if not s.startswith("xzufi-")}
    full = replace(first_export(), services=[service(1), service(2)], complete=True)

    report = apply_sync(session, full, IMPORTER)

    assert [e.id for e in report.plan.of("remove")] == ["xzufi-l-3"]
    assert {s for s in session.scalars(select(Service.id)) if not s.startswith("xzufi-")} == local_services
    assert served(session, "svc-personalausweis") is not None  # a seeded, local entry


def test_a_partial_export_keeps_entries_it_does_not_mention(session: Session) -> None:
    apply_sync(session, first_export(), IMPORTER)
    report = apply_sync(session, Export(services=[service(1)], offices=[office(1)], complete=False), IMPORTER)
    assert report.counts["remove"] == 0
    assert served(session, "xzufi-l-3") is not None


# ---- local overrides ----------------------------------------------------------------------------


def test_a_staff_edit_is_recorded_as_override_and_setting_it_back_drops_it(session: Session) -> None:
    apply_sync(session, first_export(), IMPORTER)

    staff_edit(session, "xzufi-l-1", summary="Unser eigener Kurztext.", synonyms=["Nummer eins"])
    overrides = {o.field: o.value for o in session.scalars(select(EntryOverride))}
    assert overrides == {"summary": "Unser eigener Kurztext.", "synonyms": ["Nummer eins"]}

    staff_edit(session, "xzufi-l-1", summary="Kurztext der Leistung 1.")
    session.expire_all()
    assert {o.field for o in session.scalars(select(EntryOverride))} == {"synonyms"}


def test_overrides_win_and_a_changed_official_text_is_reported_as_shadowed(session: Session) -> None:
    apply_sync(session, first_export(), IMPORTER)
    staff_edit(session, "xzufi-l-1", summary="Unser eigener Kurztext.", synonyms=["Nummer eins"])
    newer = replace(
        first_export(),
        services=[
            service(1, summary="Amtlich geänderter Kurztext.", fees=[{"label": "Gebühr", "amount_eur": 50.0}]),
            service(2),
            service(3),
        ],
    )

    plan = plan_sync(session, newer)
    apply_sync(session, newer, IMPORTER)

    assert [(s.id, s.field, s.old_official, s.new_official, s.local) for s in plan.shadowed] == [
        ("xzufi-l-1", "summary", "Kurztext der Leistung 1.", "Amtlich geänderter Kurztext.", "Unser eigener Kurztext.")
    ]
    entry = served(session, "xzufi-l-1")
    assert entry is not None
    assert entry["summary"] == "Unser eigener Kurztext."  # the local text wins
    assert entry["synonyms"] == ["Nummer eins"]  # staff's synonyms survive the import
    assert entry["fees"] == [{"label": "Gebühr", "amount_eur": 50.0}]  # the official change still arrives
    provenance = session.get(ImportedEntry, ("services", "xzufi-l-1"))
    assert provenance is not None and provenance.official["summary"] == "Amtlich geänderter Kurztext."


def test_an_override_the_official_text_catches_up_with_is_dropped(session: Session) -> None:
    apply_sync(session, first_export(), IMPORTER)
    staff_edit(session, "xzufi-l-2", summary="Der richtige Text.")
    caught_up = replace(first_export(), services=[service(1), service(2, summary="Der richtige Text."), service(3)])

    plan = plan_sync(session, caught_up)
    apply_sync(session, caught_up, IMPORTER)

    assert plan.shadowed == [] and plan.of("change") == []
    session.expire_all()
    assert session.scalars(select(EntryOverride)).all() == []
    later = replace(first_export(), services=[service(1), service(2, summary="Wieder amtlich."), service(3)])
    apply_sync(session, later, IMPORTER)
    assert served(session, "xzufi-l-2")["summary"] == "Wieder amtlich."  # type: ignore[index]


def test_local_entries_are_untouched_by_a_sync(session: Session) -> None:
    before = interchange.export_document(session)
    apply_sync(session, first_export(), IMPORTER)
    after = interchange.export_document(session)
    for section in ("services", "offices", "faqs"):
        imported = [e for e in after[section] if e["id"].startswith("xzufi-")]
        assert [e for e in after[section] if e not in imported] == before[section]


# ---- errors ---------------------------------------------------------------------------------------


def test_an_invalid_object_is_named_and_nothing_is_written(session: Session) -> None:
    apply_sync(session, first_export(), IMPORTER)
    state = interchange.export_document(session)
    broken = replace(
        first_export(),
        services=[
            service(1, fees=[{"label": "Gebühr", "amount_eur": -5}]),
            service(2, summary="Geändert, darf aber nicht ankommen."),
        ],
    )

    with pytest.raises(XzufiSyncError) as raised:
        apply_sync(session, broken, IMPORTER)

    assert [e.split(":")[0] for e in raised.value.errors] == ["service xzufi-l-1 (XZuFi 1)"]
    assert "field fees/0/amount_eur" in raised.value.errors[0]
    session.expire_all()
    assert interchange.export_document(session) == state


def test_a_service_naming_an_unknown_office_is_refused(session: Session) -> None:
    before = counts(session)
    dangling = Export(services=[service(4, responsible=[{"office": "xzufi-o-99"}])], offices=[office(1)])
    with pytest.raises(XzufiSyncError) as raised:
        apply_sync(session, dangling, IMPORTER)
    assert raised.value.errors == [
        "service xzufi-l-4 (XZuFi 4): field responsible/0/office: unknown office 'xzufi-o-99'"
    ]
    assert counts(session) == before


def test_an_export_may_not_take_the_id_of_a_local_entry(session: Session) -> None:
    taken = Export(services=[service(1, id="svc-personalausweis")], offices=[office(1)])
    with pytest.raises(XzufiSyncError) as raised:
        plan_sync(session, taken)
    assert raised.value.errors == ["service svc-personalausweis (XZuFi 1): the id is taken by a local entry"]


def test_objects_outside_the_region_are_counted(session: Session) -> None:
    plan = plan_sync(session, replace(first_export(), skipped_outside_region=4))
    assert plan.counts["skipped_outside_region"] == 4


def test_without_a_regional_key_the_import_is_refused_clearly(session: Session) -> None:
    assert regional_key(session) == "051140000000"
    town = session.get(Municipality, 1)
    assert town is not None
    town.regional_key = ""
    session.commit()
    with pytest.raises(MissingRegionalKey) as raised:
        regional_key(session)
    assert "regional key" in raised.value.errors[0]


# ---- live search ----------------------------------------------------------------------------------


def test_an_import_is_searchable_at_once(session: Session) -> None:
    index = _lexical_index(session)
    export = copy.deepcopy(first_export())
    export.services.append(service(7, name="Sondernutzungserlaubnis für Umzugskartons", summary="Kartons."))

    apply_sync(session, export, IMPORTER, index)

    assert index.search.search("Sondernutzungserlaubnis Umzugskartons").hits[0].id == "xzufi-l-7"


# ---- X1's fixtures through the real reader, the CLI and the staff API ---------------------------


@pytest.fixture()
def musterau(session: Session) -> Session:
    """The knowledge base with Musterau's profile (its regional key) instead of Krefeld's."""
    interchange.import_path(session, FIXTURES / "musterau-municipality.yaml")
    return session


def read(session: Session, *names: str) -> Any:
    return read_export(session, [FIXTURES / name for name in names])


def official_service(export: Any, entry_id: str) -> dict[str, Any]:
    return next(s for s in export.services if s["id"] == entry_id)


def test_the_fixture_imports_once_and_reimports_as_unchanged(musterau: Session) -> None:
    first = apply_sync(musterau, read(musterau, "musterau-xzufi.xml"), IMPORTER)
    again = plan_sync(musterau, read(musterau, "musterau-xzufi.xml"))

    assert first.counts["add"] >= 25 and first.counts["skipped_outside_region"] >= 1
    assert again.counts["unchanged"] == first.counts["add"] and not again.writes


def test_pvog_pages_delete_and_a_later_full_export_updates_fee_and_text(musterau: Session) -> None:
    apply_sync(musterau, read(musterau, "musterau-xzufi.xml"), IMPORTER)
    pages = apply_sync(musterau, read(musterau, "pvog-page1.json", "pvog-page2.json"), IMPORTER)
    assert [(e.kind, e.id) for e in pages.plan.of("remove")] == [("services", "xzufi-l-l100019")]

    before = {e: served(musterau, e) for e in ("xzufi-l-l100001", "xzufi-l-l100003")}
    update = read(musterau, "pvog-update.json")
    report = apply_sync(musterau, update, IMPORTER)

    changed = {e.id: e.fields for e in report.plan.of("change")}
    assert "fees" in changed["xzufi-l-l100001"] and "summary" in changed["xzufi-l-l100003"]
    fee_now = served(musterau, "xzufi-l-l100001")["fees"]  # type: ignore[index]
    assert fee_now == official_service(update, "xzufi-l-l100001")["fees"] != before["xzufi-l-l100001"]["fees"]  # type: ignore[index]
    assert report.counts["remove"] >= 1 and report.counts["add"] >= 1
    assert all(e.id.startswith("xzufi-") for e in report.plan.of("remove"))


def test_a_staff_text_shadows_the_official_update_of_the_fixture(musterau: Session) -> None:
    apply_sync(musterau, read(musterau, "pvog-page1.json", "pvog-page2.json"), IMPORTER)
    staff_edit(musterau, "xzufi-l-l100003", summary="Anmelden: bitte mit Termin im Bürgerbüro.")
    update = read(musterau, "pvog-update.json")

    plan = plan_sync(musterau, update)
    apply_sync(musterau, update, IMPORTER)

    assert [(s.id, s.field) for s in plan.shadowed] == [("xzufi-l-l100003", "summary")]
    assert plan.shadowed[0].new_official == official_service(update, "xzufi-l-l100003")["summary"]
    assert served(musterau, "xzufi-l-l100003")["summary"] == "Anmelden: bitte mit Termin im Bürgerbüro."  # type: ignore[index]


def run_cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KUMPEL_DATABASE_URL=f"sqlite:///{db}")
    return subprocess.run(
        [sys.executable, "-m", "kumpel_knowledge", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_cli_dry_run_reports_and_the_import_writes(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    assert run_cli("kb", "import", str(FIXTURES / "musterau-municipality.yaml"), db=db).returncode == 0
    pages = [str(FIXTURES / "pvog-page1.json"), str(FIXTURES / "pvog-page2.json")]

    dry = run_cli("kb", "import-xzufi", *pages, "--dry-run", db=db)
    assert dry.returncode == 0, dry.stderr
    assert "+ services/xzufi-l-l100001" in dry.stdout and "dry run, nothing was written" in dry.stdout
    done = run_cli("kb", "import-xzufi", *pages, db=db)
    assert done.returncode == 0, done.stderr
    again = run_cli("kb", "import-xzufi", *pages, "--dry-run", db=db)
    assert "0 added, 0 changed, 0 removed" in again.stdout


def test_the_cli_refuses_a_malformed_file_naming_the_line(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    run_cli("kb", "import", str(FIXTURES / "musterau-municipality.yaml"), db=db)
    broken = tmp_path / "broken.xml"
    broken.write_text((FIXTURES / "musterau-xzufi.xml").read_text(encoding="utf-8")[:3000], encoding="utf-8")

    result = run_cli("kb", "import-xzufi", str(broken), db=db)

    assert result.returncode == 1
    assert "refused, nothing was written" in result.stderr and "broken.xml:" in result.stderr


def test_the_cli_without_a_regional_key_says_so(tmp_path: Path) -> None:
    result = run_cli("kb", "import-xzufi", str(FIXTURES / "musterau-xzufi.xml"), db=tmp_path / "empty.db")
    assert result.returncode == 1 and "regional key" in result.stderr


def editor_headers(client: TestClient, settings: Settings, role: str = "editor") -> dict[str, str]:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as db:
        add_user(db, f"api-{role}", "a-long-enough-password", role)
        interchange.import_path(db, FIXTURES / "musterau-municipality.yaml")
    engine.dispose()
    token = client.post("/api/v1/auth/token", data={"username": f"api-{role}", "password": "a-long-enough-password"})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def upload(*names: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, (FIXTURES / name).read_bytes(), "application/octet-stream")) for name in names]


def test_the_api_dry_run_then_import_is_live_at_once(kb_client: TestClient, kb_settings: Settings) -> None:
    headers = editor_headers(kb_client, kb_settings)

    dry = kb_client.post(
        "/api/v1/kb/import-xzufi", headers=headers, files=upload("musterau-xzufi.xml"), data={"dry_run": "true"}
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and {"kind": "services", "id": "xzufi-l-l100001"} in [
        {"kind": e["kind"], "id": e["id"]} for e in dry.json()["added"]
    ]
    assert kb_client.get("/api/v1/kb/services/xzufi-l-l100001", headers=headers).status_code == 404

    done = kb_client.post("/api/v1/kb/import-xzufi", headers=headers, files=upload("musterau-xzufi.xml"))
    assert done.status_code == 200 and done.json()["counts"]["add"] == dry.json()["counts"]["add"]
    answer = kb_client.post("/api/v1/answer", json={"question": "Was kostet ein Fischereischein?", "topic": "fees"})
    assert answer.status_code == 200
    assert answer.json()["entry"]["id"] == "xzufi-l-l100020" and "24" in answer.json()["text"]


def test_the_api_refuses_bad_files_viewers_and_strangers(kb_client: TestClient, kb_settings: Settings) -> None:
    headers = editor_headers(kb_client, kb_settings)
    bad = [("files", ("kaputt.xml", b"<xzufi:leistung xmlns:xzufi='http://xoev.de/schemata/xzufi/2_2_0'>", "text/xml"))]

    refused = kb_client.post("/api/v1/kb/import-xzufi", headers=headers, files=bad)
    assert refused.status_code == 422
    assert all(error.startswith("kaputt.xml") for error in refused.json()["detail"])

    viewer = editor_headers(kb_client, kb_settings, "viewer")
    assert (
        kb_client.post("/api/v1/kb/import-xzufi", headers=viewer, files=upload("musterau-xzufi.xml")).status_code == 403
    )
    assert kb_client.post("/api/v1/kb/import-xzufi", files=upload("musterau-xzufi.xml")).status_code == 401


def test_an_imported_entry_staff_deleted_stays_deleted_until_restored(session: Session) -> None:
    apply_sync(session, first_export(), IMPORTER)
    assert editing.delete_entry(session, _lexical_index(session), EDITOR, "services", "xzufi-l-2")

    plan = plan_sync(session, first_export())
    apply_sync(session, first_export(), IMPORTER)

    assert [e.id for e in plan.of("deleted_locally")] == ["xzufi-l-2"] and plan.of("add") == []
    assert not plan.writes and served(session, "xzufi-l-2") is None
    restored = history(session, "services", "xzufi-l-2")[0]  # the deletion keeps the last state
    editing.save_entry(session, _lexical_index(session), EDITOR, "services", restored.before, reverted_from=restored.id)  # type: ignore[arg-type]
    newer = replace(first_export(), services=[service(1), service(2, summary="Amtlich neu."), service(3)])
    apply_sync(session, newer, IMPORTER)
    assert served(session, "xzufi-l-2")["summary"] == "Amtlich neu."  # type: ignore[index]
