"""Official values of imported entries and the staff's local overrides, kept apart.

An imported service or office has an ``ImportedEntry`` row with the official values as last
imported. The entry tables hold what the bot serves: per field the official value, or the staff's
override where there is one (an ``EntryOverride``). A staff save (``kb/editing.py``) records every
field that now differs from the official value as an override and drops one set back to it; a sync
(``sync.py``) writes official changes only to fields without an override.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from ...staff.auth import StaffIdentity
from ..interchange import DEFAULT_ROLE, OFFICE_FIELDS, SERVICE_FIELDS
from ..models import EntryOverride, ImportedEntry

SOURCE = "xzufi"
# The override "field" that marks an imported entry staff deleted (no entry field has this name).
DELETED = "(deleted)"
# The fields an import owns and staff may override. ``last_reviewed`` is not among them: it says when
# someone last checked the entry, and a sync keeps the later of the local and the official date.
TRACKED: dict[str, tuple[str, ...]] = {
    "services": (*SERVICE_FIELDS, "responsible"),
    "offices": OFFICE_FIELDS,
}


def normalized(kind: str, entry: dict[str, Any]) -> dict[str, Any]:
    """An entry's tracked fields, compared as the interchange export writes them.

    Empty values are left out (the export omits them too) and responsibilities are sorted with
    their role, so the same facts always compare equal, however they were written.
    """
    result: dict[str, Any] = {}
    for name in TRACKED[kind]:
        value = entry.get(name)
        if name == "responsible" and value:
            value = sorted(
                ({"office": r["office"], "role": r.get("role") or DEFAULT_ROLE} for r in value),
                key=lambda r: (r["office"], r["role"]),
            )
        if value not in (None, "", []):
            result[name] = value
    return result


def same(a: Any, b: Any) -> bool:
    """Whether two field values say the same, ignoring line-end style and trailing blanks.

    A browser sends a textarea back with CRLF line ends, the form strips the ends and leaves out an
    empty part of a fee: none of that is a change, and none may turn an official field into a local
    override.
    """
    return bool(_canonical(a) == _canonical(b))


def _canonical(value: Any) -> Any:
    if isinstance(value, str):
        return "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").split("\n")).strip()
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, dict):
        # {"label": "gebührenfrei", "amount_eur": None} is what the form gives back as {"label": ...}
        return {key: _canonical(item) for key, item in value.items() if item not in (None, "")}
    return value


def provenance(session: Session, kind: str, entry_id: str) -> ImportedEntry | None:
    """Where this entry was imported from (None: a local entry)."""
    if kind not in TRACKED:
        return None
    return session.get(ImportedEntry, (kind, entry_id))


def overridden(imported: ImportedEntry) -> dict[str, Any]:
    """Field -> local value of every field override of this entry."""
    return {override.field: override.value for override in imported.overrides if override.field != DELETED}


def record_staff_edit(session: Session, user: StaffIdentity, kind: str, entry: dict[str, Any]) -> None:
    """After a staff save of an imported entry: each field that differs from the official value is an override.

    A field set back to the official value loses its override, so the next official change reaches it
    again. Synonyms and notes staff add to an imported entry are overrides like any other field.
    Nothing happens for a local entry.
    """
    imported = provenance(session, kind, entry["id"])
    if imported is None:
        return
    served = normalized(kind, entry)
    official = normalized(kind, imported.official)
    existing = {override.field: override for override in imported.overrides}
    if DELETED in existing:  # restored (a revert in the history): it follows the imports again
        imported.overrides.remove(existing[DELETED])
    for name in TRACKED[kind]:
        value, override = served.get(name), existing.get(name)
        if same(value, official.get(name)):
            if override is not None:
                imported.overrides.remove(override)
        elif override is None:
            imported.overrides.append(EntryOverride(field=name, value=value, username=user.username))
        elif override.value != value:
            override.value, override.username = value, user.username
    session.flush()


def forget(session: Session, user: StaffIdentity, kind: str, entry_id: str) -> None:
    """A staff deletion of an imported entry is a local override too: later imports do not bring it back.

    The provenance stays with a deletion marker; the sync reports the entry as deleted locally. A
    restore from the history (a save) removes the marker, and the entry follows the imports again.
    """
    imported = provenance(session, kind, entry_id)
    if imported is not None and not deleted_locally(imported):
        imported.overrides.append(EntryOverride(field=DELETED, value=True, username=user.username))


def deleted_locally(imported: ImportedEntry) -> bool:
    """Whether staff deleted this imported entry."""
    return any(override.field == DELETED for override in imported.overrides)


@dataclass(frozen=True)
class ImportedView:
    """What the console's entry page tells staff about an imported entry."""

    source: str
    external_id: str
    as_of: date | None  # the official "Stand" (the export's last review date)
    imported_at: date
    # field -> the official value as text, for every field staff overrode
    overridden: dict[str, str]


def view(session: Session, kind: str, entry_id: str) -> ImportedView | None:
    """The provenance of an entry for display, None for a local entry."""
    imported = provenance(session, kind, entry_id)
    if imported is None:
        return None
    reviewed = imported.official.get("last_reviewed")
    official = normalized(kind, imported.official)
    return ImportedView(
        source=imported.source,
        external_id=imported.external_id,
        as_of=date.fromisoformat(reviewed) if isinstance(reviewed, str) else None,
        imported_at=imported.imported_at.date(),
        overridden={name: as_text(official.get(name)) for name in overridden(imported)},
    )


def as_text(value: Any) -> str:
    """A field value as one line of text for reports ("" for an empty field)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(as_text(item) for item in value)
    if isinstance(value, dict):
        return " | ".join(as_text(item) for item in value.values() if item not in (None, ""))
    return str(value)
