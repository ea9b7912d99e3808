"""Staff curation API: read, create/replace and delete knowledge entries.

Entries are exchanged in the same shape as the interchange format (kumpel-kb/1), validated by the
same JSON Schema and reference checks. A change goes through ``kb/editing.py`` (shared with the staff
console): committed with an audit entry and a full before/after version, and pushed into the search
index in the same request, so the next search finds it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Body,
    Depends,
    File,
    Form,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.deps import get_session, get_settings_dep
from ..core.net import cors_headers
from ..core.settings import Settings
from ..staff.auth import StaffIdentity, require_role
from . import editing, interchange
from .editing import MODELS, TO_ENTRY, Kind
from .index import KnowledgeIndex, get_index
from .municipality import municipality
from .uploads import read_within

router = APIRouter(prefix="/api/v1/kb", tags=["curation"])


def _invalid(exc: interchange.KbValidationError) -> HTTPException:
    return HTTPException(422, exc.errors)


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
    """Create (201) or replace (200) the town's profile; 422 with errors naming the field; audited, versioned."""
    try:
        saved = editing.save_municipality(session, user, entry)
    except interchange.KbValidationError as exc:
        raise _invalid(exc) from exc
    response.status_code = status.HTTP_201_CREATED if saved.created else status.HTTP_200_OK
    return saved.entry


@router.post("/import-xzufi")
async def import_xzufi(
    files: Annotated[list[UploadFile], File(description="XZuFi 2.2 XML files and/or PVOG JSON pages of one export")],
    dry_run: Annotated[bool, Form()] = False,
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    settings: Settings = Depends(get_settings_dep),
    user: StaffIdentity = Depends(require_role("editor")),
) -> dict[str, Any]:
    """Sync services and offices from an XZuFi / PVOG export (editor): all or nothing, live at once.

    The report lists what is (or with ``dry_run`` would be) added, changed (fields), removed, and
    which local overrides now shadow a changed official text. 422 with every error, each naming
    file, object and element; 413 above the import size limit (all files together).
    """
    limit = settings.knowledge_import_max_body_bytes
    uploads = await read_within(files, limit)
    if uploads is None:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"the files exceed {limit} bytes together")
    return await run_in_threadpool(_sync_uploads, session, index, user, uploads, dry_run)


def _sync_uploads(
    session: Session, index: KnowledgeIndex, user: StaffIdentity, uploads: list[tuple[str, bytes]], dry_run: bool
) -> dict[str, Any]:
    from .xzufi import sync  # the XML reader is loaded only for an import

    try:
        export = sync.read_uploads(session, uploads)
        plan = sync.plan_sync(session, export) if dry_run else sync.apply_sync(session, export, user, index).plan
    except ValueError as exc:  # XzufiError (reader), XzufiSyncError: every problem listed
        session.rollback()
        raise HTTPException(422, list(getattr(exc, "errors", None) or [str(exc)])) from exc
    return {"dry_run": dry_run} | plan.as_dict()


public_router = APIRouter(prefix="/api/v1", tags=["municipality"])


@public_router.get("/municipality")
def public_municipality(
    request: Request,
    response: Response,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
) -> dict[str, Any]:
    """The town's public profile (name, contacts, privacy page): for the widget and the bot's texts.

    A widget embedded on the town's own site (``KUMPEL_CORS_ORIGINS``) reads it across origins for its
    subtitle; a plain GET needs no preflight.
    """
    response.headers.update(cors_headers(request, settings.allowed_origins))
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
    """Create (201) or replace (200) an entry; 422 with precise errors if it is invalid; versioned."""
    if entry.get("id", entry_id) != entry_id:
        raise HTTPException(422, ["field id: must equal the id in the path"])
    try:
        saved = editing.save_entry(session, index, user, kind, {**entry, "id": entry_id})
    except interchange.KbValidationError as exc:
        raise _invalid(exc) from exc
    response.status_code = status.HTTP_201_CREATED if saved.created else status.HTTP_200_OK
    return saved.entry


@router.delete("/{kind}/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_entry(
    kind: Kind,
    entry_id: str = EntryIdPath,
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    user: StaffIdentity = Depends(require_role("editor")),
) -> Response:
    """Delete an entry (404 if unknown); it disappears from search at once; its last state stays as a version."""
    if not editing.delete_entry(session, index, user, kind, entry_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {kind[:-1]} {entry_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
