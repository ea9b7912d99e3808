"""Staff curation API: read, create/replace and delete knowledge entries; unanswered questions; audit log.

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

from .. import kb_io
from ..auth import StaffIdentity, require_role
from ..deps import get_index, get_session
from ..index import KnowledgeIndex
from ..models import AuditLog, Faq, Notice, Office, Service, UnansweredQuestion

router = APIRouter(prefix="/api/v1/kb", tags=["curation"])

Kind = Literal["services", "offices", "faqs", "notices"]
MODELS: dict[str, type] = {"services": Service, "offices": Office, "faqs": Faq, "notices": Notice}
TO_ENTRY: dict[str, Callable[[Any], dict[str, Any]]] = {
    "services": kb_io.service_to_entry,
    "offices": kb_io.office_to_entry,
    "faqs": kb_io.faq_to_entry,
    "notices": kb_io.notice_to_entry,
}
UPSERT: dict[str, Callable[[Session, dict[str, Any]], Any]] = {
    "services": kb_io.upsert_service,
    "offices": kb_io.upsert_office,
    "faqs": kb_io.upsert_faq,
    "notices": kb_io.upsert_notice,
}
EntryIdPath = Path(pattern=r"^[a-z0-9][a-z0-9-]{1,79}$")


def _audit(session: Session, user: StaffIdentity, action: str, kind: str, entry_id: str, detail: dict[str, Any]) -> None:
    session.add(AuditLog(username=user.username, action=action, entity_type=kind, entity_id=entry_id, detail=detail))


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
        bundle = kb_io.validate_documents(
            [("request", {"format": kb_io.FORMAT, kind: [entry]})],
            known_office_ids=frozenset(session.scalars(select(Office.id))),
            known_service_ids=frozenset(session.scalars(select(Service.id))),
        )
    except kb_io.KbValidationError as exc:
        raise HTTPException(422, exc.errors) from exc
    clean = bundle.items(kind)[0]
    model = MODELS[kind]
    before = session.get(model, entry_id)
    old = TO_ENTRY[kind](before) if before is not None else None
    row = UPSERT[kind](session, clean)
    session.flush()
    new = TO_ENTRY[kind](row)
    changed = sorted(k for k in set(new) | set(old or {}) if (old or {}).get(k) != new.get(k))
    _audit(session, user, "update" if old else "create", kind, entry_id, {"fields": changed})
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
    _audit(session, user, "delete", kind, entry_id, {})
    session.commit()
    if kind != "notices":
        index.remove(entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


staff_router = APIRouter(prefix="/api/v1/staff", tags=["staff"])


@staff_router.get("/unanswered")
def list_unanswered(
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
    _user: StaffIdentity = Depends(require_role("viewer")),
) -> dict[str, Any]:
    """Questions the bot could not answer (already scrubbed of personal data), newest first."""
    total = session.scalar(select(func.count()).select_from(UnansweredQuestion)) or 0
    rows = session.scalars(
        select(UnansweredQuestion).order_by(UnansweredQuestion.id.desc()).limit(limit).offset(offset)
    )
    items = [
        {"id": r.id, "question": r.question, "topic": r.topic, "status": r.status, "created_at": r.created_at.isoformat()}
        for r in rows
    ]
    return {"total": total, "items": items}


@staff_router.get("/audit")
def list_audit(
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
    _user: StaffIdentity = Depends(require_role("admin")),
) -> dict[str, Any]:
    """The audit log, newest first (admins only)."""
    total = session.scalar(select(func.count()).select_from(AuditLog)) or 0
    rows = session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(limit).offset(offset))
    items = [
        {"id": r.id, "at": r.at.isoformat(), "username": r.username, "action": r.action,
         "entity_type": r.entity_type, "entity_id": r.entity_id, "detail": r.detail}
        for r in rows
    ]
    return {"total": total, "items": items}
