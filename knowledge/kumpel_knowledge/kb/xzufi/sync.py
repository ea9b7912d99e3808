"""Sync the knowledge base with an XZuFi / PVOG export: add, update, remove, and let local overrides win.

``plan_sync`` compares an export (``reader.read_xzufi``) with the knowledge base and writes nothing;
``apply_sync`` carries the same plan out in one transaction (all or nothing), with a version and an
audit entry per changed entry (as a save in the editor, ``kb/editing.py``), and makes the search
index pick the changes up. Per field the rule is:

- no local override: the official value is served, so an official change is written;
- an override (``overrides.py``): the local value stays served; if the official value changed
  meanwhile, the plan lists it as *shadowed* (old and new official text), so staff can decide;
- an official value that now equals the override makes the override redundant: it is dropped;
- an imported entry staff deleted stays deleted (reported as ``deleted_locally``) until restored.

Only imported entries are ever removed (the export's ``deletions``, and for a complete export those
it no longer contains); entries staff created locally are never touched.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ...staff import audit
from ...staff.auth import StaffIdentity
from .. import interchange
from ..editing import MODELS, TO_ENTRY, UPSERT, record_change
from ..index import KnowledgeIndex
from ..models import ImportedEntry, Office, Service
from ..municipality import municipality
from .overrides import SOURCE, TRACKED, as_text, deleted_locally, normalized, overridden, same

if TYPE_CHECKING:
    from .reader import XzufiExport

Kind = Literal["services", "offices"]
Key = tuple[str, str]  # (kind, entry id)
KIND_OF_OBJECT: dict[str, Kind] = {"service": "services", "office": "offices"}
# add, change (served values change), remove, official (only the official side changes, e.g. a
# shadowed field), deleted_locally (staff deleted the imported entry: it stays deleted), forget (the
# provenance of a locally deleted entry the export no longer has) or unchanged.
Action = Literal["add", "change", "remove", "official", "deleted_locally", "forget", "unchanged"]
# Offices first, so services can name them; removals the other way round.
WRITE_ORDER: tuple[Kind, ...] = ("offices", "services")


class XzufiExportLike(Protocol):
    """What the sync reads of an export (``reader.XzufiExport``)."""

    @property
    def services(self) -> list[dict[str, Any]]: ...
    @property
    def offices(self) -> list[dict[str, Any]]: ...
    @property
    def deletions(self) -> list[tuple[str, str]]: ...
    @property
    def complete(self) -> bool: ...
    @property
    def skipped_outside_region(self) -> int: ...
    @property
    def sources(self) -> list[str]: ...


class XzufiSyncError(interchange.KbValidationError):
    """The export cannot be synced into this knowledge base; ``errors`` names each object."""


class MissingRegionalKey(XzufiSyncError):
    """The town's profile has no regional key (ARS), so the export cannot be filtered to the town."""


@dataclass(frozen=True)
class Shadowed:
    """A local override whose official value changed in this export: the local value stays served."""

    kind: str
    id: str
    field: str
    old_official: str
    new_official: str
    local: str


@dataclass(frozen=True)
class PlannedEntry:
    """What the sync does to one entry; ``before``/``after`` are the served entry (interchange shape)."""

    kind: str
    id: str
    external_id: str
    action: Action  # see ``Action``
    fields: tuple[str, ...]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    official: dict[str, Any] | None
    shadowed: tuple[Shadowed, ...] = ()


@dataclass(frozen=True)
class SyncPlan:
    """The dry-run report of a sync: added, changed (with fields), removed, shadowed, skipped."""

    entries: tuple[PlannedEntry, ...]
    skipped_outside_region: int
    complete: bool
    sources: tuple[str, ...]

    def of(self, action: str) -> list[PlannedEntry]:
        """The planned entries of one action."""
        return [entry for entry in self.entries if entry.action == action]

    @property
    def shadowed(self) -> list[Shadowed]:
        """Every override that now hides a changed official value."""
        return [item for entry in self.entries for item in entry.shadowed]

    @property
    def counts(self) -> dict[str, int]:
        """How many entries are added, changed, removed, unchanged; shadowed fields; objects skipped."""
        return {
            "add": len(self.of("add")),
            "change": len(self.of("change")),
            "remove": len(self.of("remove")),
            "unchanged": len(self.of("unchanged")) + len(self.of("official")),
            "deleted_locally": len(self.of("deleted_locally")),
            "shadowed": len(self.shadowed),
            "skipped_outside_region": self.skipped_outside_region,
        }

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON for API clients (entries by kind and id, shadowed fields with both texts)."""

        def listed(action: str) -> list[dict[str, Any]]:
            return [
                {"kind": e.kind, "id": e.id, "external_id": e.external_id}
                | ({"fields": list(e.fields)} if action == "change" else {})
                for e in self.of(action)
            ]

        return {
            "complete": self.complete,
            "sources": list(self.sources),
            "counts": self.counts,
            "added": listed("add"),
            "changed": listed("change"),
            "removed": listed("remove"),
            "deleted_locally": listed("deleted_locally"),
            "shadowed": [dataclasses.asdict(item) for item in self.shadowed],
        }

    @property
    def writes(self) -> bool:
        """Whether applying the plan would change anything stored."""
        # A locally deleted entry stays deleted: its fresher official snapshot alone is no reason to apply.
        return any(entry.action not in ("unchanged", "deleted_locally") for entry in self.entries)


@dataclass(frozen=True)
class SyncReport:
    """What ``apply_sync`` wrote: the plan it carried out and the versions it recorded."""

    plan: SyncPlan
    versions: int

    @property
    def counts(self) -> dict[str, int]:
        return self.plan.counts


def regional_key(session: Session) -> str:
    """The town's regional key (ARS) from its profile in the knowledge base.

    Raises:
        MissingRegionalKey: no profile, or one without a regional key.
    """
    town = municipality(session)
    if town is None or not town.regional_key:
        raise MissingRegionalKey(
            [
                "municipality: no regional key (ARS) in the town's profile; set regional_key "
                "(12 digits) before importing XZuFi, so objects of other towns can be skipped"
            ]
        )
    return town.regional_key


def _fallback_url(session: Session) -> str | None:
    """The town's web site: the source the reader cites for an object whose export names no URL."""
    town = municipality(session)
    return town.web if town is not None and town.web.startswith("https://") else None


def read_export(session: Session, paths: Sequence[Any]) -> XzufiExportLike:
    """Read export files for this knowledge base's town (its regional key from the profile).

    Raises:
        MissingRegionalKey: the profile has no regional key.
        reader.XzufiError: a file is malformed (every error names file, line, object and element).
    """
    from .reader import read_xzufi  # lxml is loaded only for an import

    export: XzufiExportLike = read_xzufi(
        list(paths), regional_key=regional_key(session), fallback_url=_fallback_url(session)
    )
    return export


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def read_uploads(session: Session, uploads: Sequence[tuple[str, bytes]]) -> XzufiExport:
    """Read uploaded export files (name, content), e.g. several PVOG pages, as one export.

    The reader takes files: the uploads are written to a private temporary folder under a safe name
    (their order kept), and error messages name the uploaded file, not the folder.

    Raises:
        MissingRegionalKey: the profile has no regional key.
        reader.XzufiError: a file is malformed.
    """
    key = regional_key(session)  # before writing anything: the clearer error first
    with tempfile.TemporaryDirectory(prefix="kumpel-xzufi-") as folder:
        paths = []
        for number, (name, content) in enumerate(uploads):
            safe = _UNSAFE_NAME.sub("_", Path(name).name)[-100:] or "upload"
            path = Path(folder) / f"{number:03d}-{safe}"
            path.write_bytes(content)
            paths.append(path)
        from .reader import read_xzufi

        # "/tmp/kumpel-xzufi-x/001-pvog.json:3: ..." or "001-pvog.json: ..." -> "pvog.json..."
        upload_prefix = re.compile("^(?:" + re.escape(folder) + "/)?\\d{3}-")
        try:
            export = read_xzufi(paths, regional_key=key, fallback_url=_fallback_url(session))
        except ValueError as exc:
            errors = getattr(exc, "errors", None)
            if isinstance(errors, list):
                exc.errors = [upload_prefix.sub("", str(error)) for error in errors]  # type: ignore[attr-defined]
            raise
    return dataclasses.replace(export, sources=[upload_prefix.sub("", Path(source).name) for source in export.sources])


# ---- planning -------------------------------------------------------------------------------------


_ENTRY_IN_ERROR = re.compile(r"^xzufi: (?P<section>services|offices)\[(?P<index>\d+)\] \((?P<id>[^)]*)\), ?")


def _official_entries(export: XzufiExportLike) -> dict[Key, tuple[str, dict[str, Any]]]:
    """(kind, id) -> (external id, entry without ``external_id``) of every object in the export."""
    entries: dict[Key, tuple[str, dict[str, Any]]] = {}
    for kind, items in (("offices", export.offices), ("services", export.services)):
        for item in items:
            entry = {key: value for key, value in item.items() if key != "external_id"}
            entries[(kind, str(entry.get("id")))] = (str(item.get("external_id", "")), entry)
    return entries


def _validate(
    official: dict[Key, tuple[str, dict[str, Any]]], known_office_ids: frozenset[str]
) -> dict[Key, dict[str, Any]]:
    """Every official entry checked with the interchange schema and references.

    Raises:
        XzufiSyncError: each error names the object ("service xzufi-l-123 (XZuFi 123), field ...").
    """
    document: dict[str, Any] = {"format": interchange.FORMAT, "offices": [], "services": []}
    external: dict[tuple[str, str], str] = {}
    for (kind, entry_id), (external_id, entry) in official.items():
        document[kind].append(entry)
        external[(kind, entry_id)] = external_id
    try:
        bundle = interchange.validate_documents([("xzufi", document)], known_office_ids=known_office_ids)
    except interchange.KbValidationError as exc:
        raise XzufiSyncError([_name_object(error, external) for error in exc.errors]) from exc
    return {(kind, entry["id"]): entry for kind in WRITE_ORDER for entry in bundle.items(kind)}


def _name_object(error: str, external: dict[tuple[str, str], str]) -> str:
    """'xzufi: services[3] (xzufi-l-9), field fees' -> 'service xzufi-l-9 (XZuFi 9): field fees'."""
    found = _ENTRY_IN_ERROR.match(error)
    if found is None:
        return error.removeprefix("xzufi: ")
    kind, entry_id = found.group("section"), found.group("id")
    external_id = external.get((kind, entry_id), "")
    name = f"{kind[:-1]} {entry_id}" + (f" (XZuFi {external_id})" if external_id else "")
    return f"{name}: {error[found.end() :]}"


def _served_entries(session: Session) -> dict[Key, dict[str, Any]]:
    """Every service and office as served now (interchange shape)."""
    served: dict[Key, dict[str, Any]] = {}
    for office in session.scalars(select(Office)):
        served[("offices", office.id)] = interchange.office_to_entry(office)
    for service in session.scalars(select(Service).options(selectinload(Service.responsibilities))):
        served[("services", service.id)] = interchange.service_to_entry(service)
    return served


def _merged(
    kind: Kind, official: dict[str, Any], local: dict[str, Any], current: dict[str, Any] | None
) -> dict[str, Any]:
    """The entry to serve: official values, overridden fields local; the later review date."""
    entry: dict[str, Any] = {"id": official["id"]}
    values = normalized(kind, official) | {name: value for name, value in local.items() if name in TRACKED[kind]}
    entry.update({name: value for name, value in values.items() if value not in (None, "", [])})
    reviewed = official["last_reviewed"]
    if current is not None and current.get("last_reviewed", "") > reviewed:
        reviewed = current["last_reviewed"]
    entry["last_reviewed"] = reviewed
    return entry


def _differing(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[str, ...]:
    """The fields whose served value would change (a different line-end style is no change)."""
    before, after = old or {}, new or {}
    return tuple(sorted(k for k in set(before) | set(after) if not same(before.get(k), after.get(k))))


def _shadowed(
    kind: Kind, entry_id: str, old: dict[str, Any], new: dict[str, Any], local: dict[str, Any]
) -> tuple[Shadowed, ...]:
    before, after = normalized(kind, old), normalized(kind, new)
    return tuple(
        Shadowed(kind, entry_id, name, as_text(before.get(name)), as_text(after.get(name)), as_text(value))
        for name, value in sorted(local.items())
        if before.get(name) != after.get(name) and not same(after.get(name), value)
    )


def _planned(
    kind: Kind,
    entry_id: str,
    external_id: str,
    new_official: dict[str, Any],
    current: dict[str, Any] | None,
    row: ImportedEntry | None,
) -> PlannedEntry:
    """What the sync does to one entry of the export (served now as ``current``, imported as ``row``)."""
    if current is None:
        if row is not None and deleted_locally(row):
            return PlannedEntry(kind, entry_id, external_id, "deleted_locally", (), None, None, new_official)
        return PlannedEntry(kind, entry_id, external_id, "add", (), None, new_official, new_official)
    assert row is not None  # a served entry without provenance was refused by plan_sync
    local = overridden(row)
    after = _merged(kind, new_official, local, current)
    fields = _differing(current, after)
    shadowed = _shadowed(kind, entry_id, row.official, new_official, local)
    action: Action
    if fields:
        action = "change"
    elif row.official != new_official or row.external_id != external_id:
        action = "official"
    else:
        action = "unchanged"
    return PlannedEntry(kind, entry_id, external_id, action, fields, current, after, new_official, shadowed)


def plan_sync(session: Session, export: XzufiExportLike) -> SyncPlan:
    """What syncing this export would do; nothing is written.

    Raises:
        XzufiSyncError: an object is invalid, refers to an unknown office, or takes the id of a
            local entry; every error names the object.
    """
    imported: dict[Key, ImportedEntry] = {
        (row.kind, row.entry_id): row
        for row in session.scalars(select(ImportedEntry).options(selectinload(ImportedEntry.overrides)))
        if row.source == SOURCE
    }
    by_external = {(row.kind, row.external_id): key for key, row in imported.items()}
    served = _served_entries(session)
    official = _official_entries(export)

    # Removed: what the export deletes, and for a complete export every imported entry it lacks.
    # A deletion wins over the same object elsewhere in the export (a later page's "loesche").
    deleted = {(KIND_OF_OBJECT[t], external_id) for t, external_id in export.deletions if t in KIND_OF_OBJECT}
    removed = {by_external[item] for item in deleted if item in by_external}
    if export.complete:
        removed |= {key for key in imported if key not in official}
    official = {
        key: value for key, value in official.items() if key not in removed and (key[0], value[0]) not in deleted
    }

    errors = [
        f"{kind[:-1]} {entry_id} (XZuFi {external_id}): the id is taken by a local entry"
        for (kind, entry_id), (external_id, _) in sorted(official.items())
        if (kind, entry_id) in served and (kind, entry_id) not in imported
    ]
    if errors:
        raise XzufiSyncError(errors)
    kept_offices = frozenset(i for k, i in served if k == "offices" and (k, i) not in removed)
    clean = _validate(official, kept_offices)

    planned = [
        _planned(kind, key[1], official[key][0], clean[key], served.get(key), imported.get(key))
        for kind in WRITE_ORDER
        for key in sorted(k for k in clean if k[0] == kind)
    ]
    for kind in reversed(WRITE_ORDER):
        for key in sorted(k for k in removed if k[0] == kind):
            current = served.get(key)
            gone: Action = "remove" if current is not None else "forget"
            planned.append(PlannedEntry(kind, key[1], imported[key].external_id, gone, (), current, None, None))
    return SyncPlan(tuple(planned), export.skipped_outside_region, export.complete, tuple(export.sources))


# ---- applying ------------------------------------------------------------------------------------


def apply_sync(
    session: Session, export: XzufiExportLike, actor: StaffIdentity, index: KnowledgeIndex | None = None
) -> SyncReport:
    """Carry out the sync of this export in one transaction (all or nothing) and make it searchable.

    Every added, changed or removed entry gets a version and an audit entry under ``actor``; one more
    audit entry records the import as a whole. With ``index`` (the service's live search index) the
    bot finds the changes from the next question on; a CLI import is picked up by the service's
    periodic ``KnowledgeIndex.sync``.

    Raises:
        XzufiSyncError: nothing was written.
    """
    try:
        plan = plan_sync(session, export)
        versions = _write(session, plan, actor)
        audit.record(
            session,
            actor,
            "import-xzufi",
            "kb",
            ", ".join(plan.sources)[:80] or "xzufi",
            {"counts": plan.counts, "complete": plan.complete},
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    if index is not None:
        index.sync(session)
    return SyncReport(plan, versions)


def _write(session: Session, plan: SyncPlan, actor: StaffIdentity) -> int:
    now = datetime.now(timezone.utc)
    versions = 0
    for planned in plan.entries:
        if planned.action == "unchanged":
            continue
        if planned.action in ("remove", "forget"):
            row = session.get(MODELS[planned.kind], planned.id)
            if row is not None:
                session.delete(row)
                record_change(session, actor, planned.kind, planned.id, planned.before, None, None)
                versions += 1
            provenance = session.get(ImportedEntry, (planned.kind, planned.id))
            if provenance is not None:
                session.delete(provenance)
            session.flush()
            continue
        assert planned.official is not None
        provenance = session.get(ImportedEntry, (planned.kind, planned.id)) or ImportedEntry(
            kind=planned.kind, entry_id=planned.id, source=SOURCE
        )
        provenance.external_id = planned.external_id
        provenance.official = planned.official
        provenance.imported_at = now
        official = normalized(planned.kind, planned.official)
        for override in list(provenance.overrides):
            if same(official.get(override.field), override.value):
                provenance.overrides.remove(override)  # the official text caught up with the local one
        session.add(provenance)
        if planned.action in ("add", "change") and planned.after is not None:
            entry = UPSERT[planned.kind](session, planned.after)
            # record_change flushes the row with its version and audit entry
            record_change(session, actor, planned.kind, planned.id, planned.before, TO_ENTRY[planned.kind](entry), None)
            versions += 1
    session.flush()
    return versions
