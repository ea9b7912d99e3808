"""Staff curation API: read, create/replace and delete knowledge entries.

Entries are exchanged in the same shape as the interchange format (kumpel-kb/1), validated by the
same JSON Schema and reference checks. A change is committed, written to the audit log and pushed
into the search index in the same request, so the next search finds it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Response, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.deps import get_session
from ..staff import audit
from ..staff.auth import StaffIdentity, require_role
from . import interchange
from .index import KnowledgeIndex, get_index
from .models import Faq, Notice, Office, Service
from .municipality import municipality

router = APIRouter(prefix="/api/v1/kb", tags=["curation"])

Kind = Literal["services", "offices", "faqs", "notices"]
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


def changed_fields(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """The fields an edit changed (for the audit log); every field of a new entry."""
    before = old or {}
    return sorted(k for k in set(new) | set(before) if before.get(k) != new.get(k))


EntryIdPath = Path(pattern=r"^[a-z0-9][a-z0-9-]{1,79}$")


@router.get("/municipality")
def get_municipality(
    session: Session = Depends(get_session), _user: StaffIdentity = Depends(require_role("viewer"))
) -> dict[str, Any]:
    """The town's profile in interchange shape (404 before one was imported or saved)."""
    return _town_entry(session)


def _town_entry(session: Session) -> dict[str, Any]:
    town = municipality(session)
    if town is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no municipality profile yet")
    return interchange.municipality_to_entry(town)


@router.put("/municipality")
def put_municipality(
    response: Response,
    entry: dict[str, Any] = Body(...),
    session: Session = Depends(get_session),
    user: StaffIdentity = Depends(require_role("editor")),
) -> dict[str, Any]:
    """Create (201) or replace (200) the town's profile; 422 with errors naming the field; audited."""
    try:
        bundle = interchange.validate_documents([("request", {"format": interchange.FORMAT, "municipality": entry})])
    except interchange.KbValidationError as exc:
        raise HTTPException(422, exc.errors) from exc
    before = municipality(session)
    old = interchange.municipality_to_entry(before) if before is not None else None
    assert bundle.municipality is not None
    town = interchange.upsert_municipality(session, bundle.municipality)
    session.flush()
    new = interchange.municipality_to_entry(town)
    changed = changed_fields(old, new)
    audit.record(session, user, "update" if old else "create", "municipality", "1", {"fields": changed})
    session.commit()
    response.status_code = status.HTTP_200_OK if old else status.HTTP_201_CREATED
    return new


public_router = APIRouter(prefix="/api/v1", tags=["municipality"])


@public_router.get("/municipality")
def public_municipality(session: Session = Depends(get_session)) -> dict[str, Any]:
    """The town's public profile (name, contacts, privacy page): for the widget and the bot's texts."""
    return _town_entry(session)


@router.get("/{kind}")
def list_entries(
    kind: Kind,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
    _user: StaffIdentity = Depends(require_role("viewer")),
) -> dict[str, Any]:
    """Entries of one kind, in interchange shape, ordered by id."""
    model = MODELS[kind]
    total = session.scalar(select(func.count()).select_from(model)) or 0
    rows = session.scalars(select(model).order_by(model.id).limit(limit).offset(offset))
    return {"total": total, "items": [TO_ENTRY[kind](row) for row in rows]}


@router.get("/{kind}/{entry_id}")
def get_entry(
    kind: Kind,
    entry_id: str = EntryIdPath,
    session: Session = Depends(get_session),
    _user: StaffIdentity = Depends(require_role("viewer")),
) -> dict[str, Any]:
    """One entry in interchange shape (404 if unknown)."""
    row = session.get(MODELS[kind], entry_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {kind[:-1]} {entry_id}")
    return TO_ENTRY[kind](row)


@router.put("/{kind}/{entry_id}")
def put_entry(
    kind: Kind,
    response: Response,
    entry_id: str = EntryIdPath,
    entry: dict[str, Any] = Body(...),
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    user: StaffIdentity = Depends(require_role("editor")),
) -> dict[str, Any]:
    """Create (201) or replace (200) an entry; 422 with precise errors if it is invalid."""
    if entry.get("id", entry_id) != entry_id:
        raise HTTPException(422, ["field id: must equal the id in the path"])
    entry = {**entry, "id": entry_id}
    try:
        bundle = interchange.validate_documents(
            [("request", {"format": interchange.FORMAT, kind: [entry]})],
            known_office_ids=frozenset(session.scalars(select(Office.id))),
            known_service_ids=frozenset(session.scalars(select(Service.id))),
        )
    except interchange.KbValidationError as exc:
        raise HTTPException(422, exc.errors) from exc
    clean = bundle.items(kind)[0]
    model = MODELS[kind]
    before = session.get(model, entry_id)
    old = TO_ENTRY[kind](before) if before is not None else None
    row = UPSERT[kind](session, clean)
    session.flush()
    new = TO_ENTRY[kind](row)
    changed = changed_fields(old, new)
    audit.record(session, user, "update" if old else "create", kind, entry_id, {"fields": changed})
    session.commit()
    if kind != "notices":
        index.upsert(row)
    response.status_code = status.HTTP_200_OK if old else status.HTTP_201_CREATED
    return new


@router.delete("/{kind}/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_entry(
    kind: Kind,
    entry_id: str = EntryIdPath,
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    user: StaffIdentity = Depends(require_role("editor")),
) -> Response:
    """Delete an entry (404 if unknown); it disappears from search at once."""
    row = session.get(MODELS[kind], entry_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {kind[:-1]} {entry_id}")
    session.delete(row)
    audit.record(session, user, "delete", kind, entry_id, {})
    session.commit()
    if kind != "notices":
        index.remove(entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
