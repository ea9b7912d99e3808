"""Import and export of the knowledge base interchange format (kumpel-kb/1, YAML or JSON).

Import is validated against the JSON Schema and for references between entries; every error names
file, entry and field. It runs in one transaction (all or nothing) and upserts by id, so importing
the same files twice leaves the same state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..answers.hours import validate_opening_hours
from ..core.settings import SCHEMA_PATH
from .models import Faq, Municipality, Notice, Office, Responsibility, Service, column_default

FORMAT = "kumpel-kb/1"
SECTIONS = ("offices", "services", "faqs", "notices")
SERVICE_FIELDS = (
    "leika_key",
    "name",
    "synonyms",
    "summary",
    "description",
    "prerequisites",
    "documents",
    "fees",
    "deadlines",
    "processing_time",
    "legal_basis",
    "online_services",
    "source_url",
)
OFFICE_FIELDS = (
    "name",
    "name_in_sentence",
    "synonyms",
    "description",
    "addresses",
    "phone",
    "email",
    "web",
    "appointment_url",
    "accessibility",
    "opening_hours",
    "opening_hours_note",
    "regional_key",
    "source_url",
)
DEFAULT_ROLE = "zustaendige_stelle"


class KbValidationError(ValueError):
    """The files do not form a valid knowledge base; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class KbBundle:
    """Entries read from one or more files, by section, each remembered with its file."""

    entries: dict[str, list[tuple[str, dict[str, Any]]]] = field(
        default_factory=lambda: {section: [] for section in SECTIONS}
    )
    # The town's profile, from the one document that has a municipality section.
    municipality: dict[str, Any] | None = None

    def items(self, section: str) -> list[dict[str, Any]]:
        """The plain entries of one section."""
        return [entry for _, entry in self.entries[section]]


@dataclass(frozen=True)
class ImportReport:
    """How many entries of each kind an import wrote."""

    counts: dict[str, int]


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def _plain(value: Any) -> Any:
    """YAML turns 2026-10-01 into a date; the schema speaks ISO strings."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml", ".json"})
    return [path]


def _describe(doc: dict[str, Any], error_path: list[str | int]) -> str:
    """'services[3] (svc-foo), field fees/0/amount_eur' for a schema error path."""
    if len(error_path) >= 2 and isinstance(error_path[1], int):
        section, index = str(error_path[0]), error_path[1]
        entries = doc.get(section) or []
        entry_id = entries[index].get("id") if index < len(entries) and isinstance(entries[index], dict) else None
        rest = "/".join(str(p) for p in error_path[2:]) or "(entry)"
        return f"{section}[{index}] ({entry_id or 'no id'}), field {rest}"
    return "field " + ("/".join(str(p) for p in error_path) or "(top level)")


def read_bundle(
    path: Path, known_office_ids: frozenset[str] = frozenset(), known_service_ids: frozenset[str] = frozenset()
) -> KbBundle:
    """Read and validate files (a file or a folder of them).

    Raises:
        KbValidationError: with every schema, syntax and reference error found.
    """
    files = _files(path)
    if not files:
        raise KbValidationError([f"{path}: no .yaml, .yml or .json file found"])
    errors: list[str] = []
    documents: list[tuple[str, Any]] = []
    for file in files:
        try:
            with file.open(encoding="utf-8") as handle:
                raw = json.load(handle) if file.suffix == ".json" else yaml.safe_load(handle)
        except (OSError, yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            errors.append(f"{file.name}: cannot read: {exc}")
            continue
        documents.append((file.name, raw))
    return validate_documents(documents, known_office_ids, known_service_ids, errors)


def validate_documents(
    documents: list[tuple[str, Any]],
    known_office_ids: frozenset[str] = frozenset(),
    known_service_ids: frozenset[str] = frozenset(),
    errors: list[str] | None = None,
) -> KbBundle:
    """Validate parsed documents (name, content) against the schema and each other.

    Raises:
        KbValidationError: with every error found, each naming document, entry and field.
    """
    errors = list(errors or [])
    bundle = KbBundle()
    for name, raw in documents:
        doc = _plain(raw)
        if not isinstance(doc, dict):
            errors.append(f"{name}: top level must be a mapping with 'format: {FORMAT}'")
            continue
        schema_errors = sorted(_validator().iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
        for err in schema_errors:
            errors.append(f"{name}: {_describe(doc, list(err.absolute_path))}: {err.message}")
        if schema_errors:
            continue
        for section in SECTIONS:
            for index, entry in enumerate(doc.get(section) or []):
                bundle.entries[section].append((f"{name}: {section}[{index}] ({entry['id']})", entry))
        if "municipality" in doc:
            if bundle.municipality is not None:
                errors.append(f"{name}: field municipality: the town is described in another file already")
            bundle.municipality = doc["municipality"]
    if not errors:
        errors.extend(_semantic_errors(bundle, known_office_ids, known_service_ids))
    if errors:
        raise KbValidationError(errors)
    return bundle


def _semantic_errors(
    bundle: KbBundle, known_office_ids: frozenset[str], known_service_ids: frozenset[str]
) -> list[str]:
    errors: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    for section in SECTIONS:
        for where, entry in bundle.entries[section]:
            key = (section, entry["id"])
            if key in seen:
                errors.append(f"{where}, field id: duplicate id, already defined at {seen[key]}")
            seen[key] = where
    # References may point into the same import or at entries already in the database.
    office_ids = {entry["id"] for entry in bundle.items("offices")} | known_office_ids
    service_ids = {entry["id"] for entry in bundle.items("services")} | known_service_ids
    for where, office in bundle.entries["offices"]:
        if office.get("opening_hours"):
            problem = validate_opening_hours(office["opening_hours"])
            if problem:
                errors.append(f"{where}, field opening_hours: {problem}")
    for where, service in bundle.entries["services"]:
        for i, resp in enumerate(service.get("responsible") or []):
            if resp["office"] not in office_ids:
                errors.append(f"{where}, field responsible/{i}/office: unknown office '{resp['office']}'")
    for where, faq in bundle.entries["faqs"]:
        if faq.get("service") and faq["service"] not in service_ids:
            errors.append(f"{where}, field service: unknown service '{faq['service']}'")
        if faq.get("office") and faq["office"] not in office_ids:
            errors.append(f"{where}, field office: unknown office '{faq['office']}'")
    for where, notice in bundle.entries["notices"]:
        if notice.get("office") and notice["office"] not in office_ids:
            errors.append(f"{where}, field office: unknown office '{notice['office']}'")
        start, end = _notice_start(notice["starts_at"]), _notice_end(notice["ends_at"])
        if end <= start:
            errors.append(f"{where}, field ends_at: must be after starts_at")
    return errors


def _notice_start(value: str) -> datetime:
    return datetime.fromisoformat(value) if len(value) > 10 else datetime.combine(date.fromisoformat(value), time())


def _notice_end(value: str) -> datetime:
    if len(value) > 10:
        return datetime.fromisoformat(value)
    # A bare end date includes that whole day.
    return datetime.combine(date.fromisoformat(value) + timedelta(days=1), time())


def _assign(obj: Service | Office | Municipality, entry: dict[str, Any], fields: tuple[str, ...]) -> None:
    """Copy fields from the entry; a field missing in the file gets the column's default (a re-import resets it)."""
    for name in fields:
        value = entry[name] if name in entry else column_default(type(obj), name)
        if getattr(obj, name, None) != value:
            setattr(obj, name, value)


def upsert_office(session: Session, entry: dict[str, Any]) -> Office:
    """Create or update one office from an interchange entry."""
    office = session.get(Office, entry["id"]) or Office(id=entry["id"])
    _assign(office, entry, OFFICE_FIELDS)
    office.last_reviewed = date.fromisoformat(entry["last_reviewed"])
    session.add(office)
    return office


def upsert_service(session: Session, entry: dict[str, Any]) -> Service:
    """Create or update one service and its responsibilities from an interchange entry."""
    service = session.get(Service, entry["id"]) or Service(id=entry["id"])
    _assign(service, entry, SERVICE_FIELDS)
    service.last_reviewed = date.fromisoformat(entry["last_reviewed"])
    session.add(service)
    wanted = {(r["office"], r.get("role", DEFAULT_ROLE)) for r in entry.get("responsible") or []}
    existing = {(r.office_id, r.role): r for r in service.responsibilities}
    for key, resp in existing.items():
        if key not in wanted:
            service.responsibilities.remove(resp)
    for office_id, role in sorted(wanted - existing.keys()):
        service.responsibilities.append(Responsibility(office_id=office_id, role=role))
    return service


def upsert_faq(session: Session, entry: dict[str, Any]) -> Faq:
    """Create or update one FAQ entry."""
    faq = session.get(Faq, entry["id"]) or Faq(id=entry["id"])
    faq.questions = entry["questions"]
    faq.answer = entry["answer"]
    faq.links = entry.get("links", [])
    faq.service_id = entry.get("service")
    faq.office_id = entry.get("office")
    faq.source_url = entry["source_url"]
    faq.last_reviewed = date.fromisoformat(entry["last_reviewed"])
    session.add(faq)
    return faq


def upsert_notice(session: Session, entry: dict[str, Any]) -> Notice:
    """Create or update one notice."""
    notice = session.get(Notice, entry["id"]) or Notice(id=entry["id"])
    notice.office_id = entry.get("office")
    notice.title = entry["title"]
    notice.text = entry.get("text", "")
    notice.starts_at = _notice_start(entry["starts_at"])
    notice.ends_at = _notice_end(entry["ends_at"])
    notice.closed = entry.get("closed", True)
    notice.source_url = entry.get("source_url", "")
    notice.last_reviewed = date.fromisoformat(entry["last_reviewed"]) if entry.get("last_reviewed") else None
    session.add(notice)
    return notice


MUNICIPALITY_FIELDS = (
    "name",
    "name_in_sentence",
    "city",
    "phone",
    "email",
    "web",
    "regional_key",
    "privacy_url",
    "line_115",
    "postcodes",
)


def upsert_municipality(session: Session, entry: dict[str, Any]) -> Municipality:
    """Create or replace the town's profile (there is one)."""
    town = session.get(Municipality, 1) or Municipality(id=1)
    _assign(town, entry, MUNICIPALITY_FIELDS)
    session.add(town)
    return town


def municipality_to_entry(town: Municipality) -> dict[str, Any]:
    """The town's profile in interchange shape."""
    entry: dict[str, Any] = {name: getattr(town, name) for name in MUNICIPALITY_FIELDS}
    return {name: value for name, value in entry.items() if value not in (None, "", []) and name != "line_115"} | {
        "line_115": town.line_115
    }


def import_bundle(session: Session, bundle: KbBundle) -> ImportReport:
    """Write a validated bundle in the caller's transaction (commit or rollback is the caller's)."""
    for entry in bundle.items("offices"):
        upsert_office(session, entry)
    session.flush()
    for entry in bundle.items("services"):
        upsert_service(session, entry)
    session.flush()
    for entry in bundle.items("faqs"):
        upsert_faq(session, entry)
    for entry in bundle.items("notices"):
        upsert_notice(session, entry)
    if bundle.municipality is not None:
        upsert_municipality(session, bundle.municipality)
    session.flush()
    return ImportReport(counts={section: len(bundle.entries[section]) for section in SECTIONS})


def import_path(session: Session, path: Path) -> ImportReport:
    """Validate and import files in one transaction: all or nothing.

    Raises:
        KbValidationError: nothing was written.
    """
    bundle = read_bundle(
        path,
        known_office_ids=frozenset(session.scalars(select(Office.id))),
        known_service_ids=frozenset(session.scalars(select(Service.id))),
    )
    try:
        report = import_bundle(session, bundle)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return report


# ---- dry run: what an import would change ---------------------------------------------------

MUNICIPALITY_SECTION = "municipality"


@dataclass(frozen=True)
class EntryChange:
    """One entry an import adds, changes or removes, with its state before and after (interchange shape)."""

    section: str  # "offices", "services", "faqs", "notices" or "municipality"
    id: str
    action: str  # "add", "change" or "remove"
    fields: tuple[str, ...]  # the fields that differ (all of them for an added or removed entry)
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class ImportPlan:
    """What an import does to the knowledge base, entry by entry (the dry-run report)."""

    changes: tuple[EntryChange, ...]
    unchanged: int
    # Replace: entries missing from the file are removed. Otherwise (merge) they are kept.
    replace: bool

    def of(self, action: str) -> list[EntryChange]:
        """The changes of one action ("add", "change", "remove")."""
        return [change for change in self.changes if change.action == action]

    @property
    def counts(self) -> dict[str, int]:
        return {action: len(self.of(action)) for action in ("add", "change", "remove")} | {"unchanged": self.unchanged}


def _state(session: Session) -> dict[tuple[str, str], dict[str, Any]]:
    document = export_document(session)
    state = {(section, entry["id"]): entry for section in SECTIONS for entry in document[section]}
    if "municipality" in document:
        state[(MUNICIPALITY_SECTION, "1")] = document["municipality"]
    return state


def _differing(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[str, ...]:
    before, after = old or {}, new or {}
    return tuple(sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)))


def _remove_missing(session: Session, bundle: KbBundle) -> None:
    """Delete the entries the bundle does not contain (replace mode); dependants first."""
    models: dict[str, type[Notice | Faq | Service | Office]] = {
        "notices": Notice,
        "faqs": Faq,
        "services": Service,
        "offices": Office,
    }
    for section, model in models.items():
        wanted = {entry["id"] for entry in bundle.items(section)}
        for entry_id in session.scalars(select(model.id)):
            if entry_id not in wanted:
                session.delete(session.get(model, entry_id))
        session.flush()


def plan_bundle(session: Session, bundle: KbBundle, *, replace: bool = False) -> ImportPlan:
    """Write a validated bundle in the caller's transaction and report exactly what changed.

    The report compares the knowledge base before and after the very writes an import makes
    (``import_bundle``), so the dry run cannot disagree with the real import. The caller rolls
    back (dry run) or commits (apply).
    """
    before = _state(session)
    import_bundle(session, bundle)
    if replace:
        _remove_missing(session, bundle)
    session.expire_all()  # read back what the database now holds, relationships included
    after = _state(session)
    changes: list[EntryChange] = []
    unchanged = 0
    order = {section: n for n, section in enumerate((*SECTIONS, MUNICIPALITY_SECTION))}
    for key in sorted(before.keys() | after.keys(), key=lambda k: (order[k[0]], k[1])):
        old, new = before.get(key), after.get(key)
        fields = _differing(old, new)
        if not fields:
            unchanged += 1
            continue
        action = "add" if old is None else "remove" if new is None else "change"
        changes.append(EntryChange(key[0], key[1], action, fields, old, new))
    return ImportPlan(tuple(changes), unchanged, replace)


def read_documents(session: Session, documents: list[tuple[str, Any]], *, replace: bool = False) -> KbBundle:
    """Validate parsed documents for an import into this database.

    References may point at entries already stored, except in replace mode (those that the
    file does not contain are removed).

    Raises:
        KbValidationError: with every error found.
    """
    known_offices = frozenset() if replace else frozenset(session.scalars(select(Office.id)))
    known_services = frozenset() if replace else frozenset(session.scalars(select(Service.id)))
    return validate_documents(documents, known_offices, known_services)


def parse_document(name: str, content: bytes) -> Any:
    """A kumpel-kb file's content (YAML or JSON; JSON is YAML too).

    Raises:
        KbValidationError: the file is not UTF-8 or not YAML/JSON.
    """
    try:
        text = content.decode("utf-8-sig")
        return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    except (UnicodeDecodeError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise KbValidationError([f"{name}: cannot read: {exc}"]) from exc


def dry_run_path(session: Session, path: Path, *, replace: bool = False) -> ImportPlan:
    """What importing ``path`` would change; nothing is written (the transaction is rolled back).

    Raises:
        KbValidationError: the files are invalid.
    """
    bundle = read_bundle(
        path,
        known_office_ids=frozenset() if replace else frozenset(session.scalars(select(Office.id))),
        known_service_ids=frozenset() if replace else frozenset(session.scalars(select(Service.id))),
    )
    try:
        return plan_bundle(session, bundle, replace=replace)
    finally:
        session.rollback()


# ---- export ---------------------------------------------------------------------------------


def office_to_entry(office: Office) -> dict[str, Any]:
    """An office as an interchange entry."""
    entry: dict[str, Any] = {"id": office.id}
    for name in OFFICE_FIELDS:
        value = getattr(office, name)
        if value not in (None, "", []):
            entry[name] = value
    entry["last_reviewed"] = office.last_reviewed.isoformat()
    return entry


def service_to_entry(service: Service) -> dict[str, Any]:
    """A service as an interchange entry."""
    entry: dict[str, Any] = {"id": service.id}
    for name in SERVICE_FIELDS:
        value = getattr(service, name)
        if value not in (None, "", []):
            entry[name] = value
    responsible = [
        {"office": r.office_id, "role": r.role}
        for r in sorted(service.responsibilities, key=lambda r: (r.office_id, r.role))
    ]
    if responsible:
        entry["responsible"] = responsible
    entry["last_reviewed"] = service.last_reviewed.isoformat()
    return entry


def faq_to_entry(faq: Faq) -> dict[str, Any]:
    """A FAQ as an interchange entry."""
    entry: dict[str, Any] = {"id": faq.id, "questions": list(faq.questions), "answer": faq.answer}
    if faq.links:
        entry["links"] = faq.links
    if faq.service_id:
        entry["service"] = faq.service_id
    if faq.office_id:
        entry["office"] = faq.office_id
    entry["source_url"] = faq.source_url
    entry["last_reviewed"] = faq.last_reviewed.isoformat()
    return entry


def notice_to_entry(notice: Notice) -> dict[str, Any]:
    """A notice as an interchange entry."""
    entry: dict[str, Any] = {"id": notice.id}
    if notice.office_id:
        entry["office"] = notice.office_id
    entry["title"] = notice.title
    if notice.text:
        entry["text"] = notice.text
    entry["starts_at"] = notice.starts_at.isoformat(timespec="minutes")
    entry["ends_at"] = notice.ends_at.isoformat(timespec="minutes")
    entry["closed"] = notice.closed
    if notice.source_url:
        entry["source_url"] = notice.source_url
    if notice.last_reviewed:
        entry["last_reviewed"] = notice.last_reviewed.isoformat()
    return entry


def export_document(session: Session) -> dict[str, Any]:
    """The whole knowledge base as one interchange document."""
    town = session.get(Municipality, 1)
    return {
        "format": FORMAT,
        **({"municipality": municipality_to_entry(town)} if town is not None else {}),
        "offices": [office_to_entry(o) for o in session.scalars(select(Office).order_by(Office.id))],
        "services": [service_to_entry(s) for s in session.scalars(select(Service).order_by(Service.id))],
        "faqs": [faq_to_entry(f) for f in session.scalars(select(Faq).order_by(Faq.id))],
        "notices": [notice_to_entry(n) for n in session.scalars(select(Notice).order_by(Notice.id))],
    }


def export_path(session: Session, path: Path) -> dict[str, int]:
    """Write the knowledge base to one file (.yaml/.yml/.json) or a folder of one file per section."""
    document = export_document(session)
    counts = {section: len(document[section]) for section in SECTIONS}
    if path.suffix in {".yaml", ".yml", ".json"}:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, document)
        return counts
    path.mkdir(parents=True, exist_ok=True)
    if "municipality" in document:
        _write(path / "municipality.yaml", {"format": FORMAT, "municipality": document["municipality"]})
    for section in SECTIONS:
        _write(path / f"{section}.yaml", {"format": FORMAT, section: document[section]})
    return counts


def _write(path: Path, document: dict[str, Any]) -> None:
    if path.suffix == ".json":
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8")
