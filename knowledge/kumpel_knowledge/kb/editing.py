"""The one way a knowledge entry is saved or deleted: validated, versioned, audited, live at once.

The JSON API (``kb/router.py``) and the staff console call these same functions, so both validate
alike, both write a full before/after snapshot (``kb/versions.py``) and an audit entry, and both push
the change into the in-process search index in the same request (the bot finds it at once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..staff import audit
from ..staff.auth import StaffIdentity
from . import interchange
from .index import KnowledgeIndex
from .models import Faq, Notice, Office, Service
from .municipality import municipality
from .versions import EntryVersion, changed_fields
from .xzufi import overrides

Kind = Literal["services", "offices", "faqs", "notices"]
KINDS: tuple[Kind, ...] = ("services", "offices", "faqs", "notices")
MUNICIPALITY = "municipality"
MUNICIPALITY_ID = "1"
MODELS: dict[str, type[Service | Office | Faq | Notice]] = {
    "services": Service,
    "offices": Office,
    "faqs": Faq,
    "notices": Notice,
}
TO_ENTRY: dict[str, Callable[[Any], dict[str, Any]]] = {
    "services": interchange.service_to_entry,
    "offices": interchange.office_to_entry,
    "faqs": interchange.faq_to_entry,
    "notices": interchange.notice_to_entry,
}
UPSERT: dict[str, Callable[[Session, dict[str, Any]], Any]] = {
    "services": interchange.upsert_service,
    "offices": interchange.upsert_office,
    "faqs": interchange.upsert_faq,
    "notices": interchange.upsert_notice,
}


@dataclass(frozen=True)
class Saved:
    """The entry as stored now, whether it was new, and the version that records the change."""

    entry: dict[str, Any]
    created: bool
    version_id: int


def current_entry(session: Session, kind: str, entry_id: str) -> dict[str, Any] | None:
    """An entry (or the town's profile) in interchange shape, None if there is none."""
    if kind == MUNICIPALITY:
        town = municipality(session)
        return interchange.municipality_to_entry(town) if town is not None else None
    row = session.get(MODELS[kind], entry_id)
    return TO_ENTRY[kind](row) if row is not None else None


def record_change(
    session: Session,
    user: StaffIdentity,
    kind: str,
    entry_id: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    reverted_from: int | None,
) -> EntryVersion:
    if reverted_from is not None:
        action = "revert"
    elif new is None:
        action = "delete"
    else:
        action = "update" if old is not None else "create"
    changed = changed_fields(old, new)
    version = EntryVersion(
        kind=kind,
        entry_id=entry_id,
        action=action,
        username=user.username,
        before=old,
        after=new,
        changed=changed,
        reverted_from=reverted_from,
    )
    session.add(version)
    session.flush()
    detail: dict[str, Any] = {"fields": changed}
    if reverted_from is not None:
        detail["reverted_from"] = reverted_from
    audit.record(session, user, action, kind, entry_id, detail)
    return version


def validate_entry(session: Session, kind: Kind, entry: dict[str, Any]) -> dict[str, Any]:
    """The entry checked against the schema, its references and its opening hours.

    Raises:
        interchange.KbValidationError: with every problem, each naming the field.
    """
    bundle = interchange.validate_documents(
        [("request", {"format": interchange.FORMAT, kind: [entry]})],
        known_office_ids=frozenset(session.scalars(select(Office.id))),
        known_service_ids=frozenset(session.scalars(select(Service.id))),
    )
    return bundle.items(kind)[0]


def save_entry(
    session: Session,
    index: KnowledgeIndex,
    user: StaffIdentity,
    kind: Kind,
    entry: dict[str, Any],
    *,
    reverted_from: int | None = None,
) -> Saved:
    """Validate, create or replace, version, audit, commit and index one entry (``entry["id"]``).

    Raises:
        interchange.KbValidationError: nothing was written.
    """
    clean = validate_entry(session, kind, entry)
    entry_id = clean["id"]
    old = current_entry(session, kind, entry_id)
    row = UPSERT[kind](session, clean)
    session.flush()
    new = TO_ENTRY[kind](row)
    # An imported entry: what now differs from the official value is a local override that wins in
    # later imports (``kb/xzufi/overrides.py``); a local entry is left as it is.
    overrides.record_staff_edit(session, user, kind, new)
    version = record_change(session, user, kind, entry_id, old, new, reverted_from)
    session.commit()
    if kind != "notices":  # notices are no search documents; the answer reads them per question
        index.upsert(row)
    return Saved(new, old is None, version.id)


def delete_entry(session: Session, index: KnowledgeIndex, user: StaffIdentity, kind: Kind, entry_id: str) -> bool:
    """Delete one entry, keeping its last state as a version; False if there is no such entry."""
    row = session.get(MODELS[kind], entry_id)
    if row is None:
        return False
    old = TO_ENTRY[kind](row)
    session.delete(row)
    overrides.forget(session, user, kind, entry_id)  # an imported entry: the next import keeps it deleted
    record_change(session, user, kind, entry_id, old, None, None)
    session.commit()
    if kind != "notices":
        index.remove(entry_id)
    return True


def save_municipality(
    session: Session, user: StaffIdentity, entry: dict[str, Any], *, reverted_from: int | None = None
) -> Saved:
    """Validate, create or replace, version, audit and commit the town's profile.

    Raises:
        interchange.KbValidationError: nothing was written.
    """
    bundle = interchange.validate_documents([("request", {"format": interchange.FORMAT, "municipality": entry})])
    assert bundle.municipality is not None
    old = current_entry(session, MUNICIPALITY, MUNICIPALITY_ID)
    town = interchange.upsert_municipality(session, bundle.municipality)
    session.flush()
    new = interchange.municipality_to_entry(town)
    version = record_change(session, user, MUNICIPALITY, MUNICIPALITY_ID, old, new, reverted_from)
    session.commit()
    return Saved(new, old is None, version.id)
