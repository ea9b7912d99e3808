"""An entry's history: every saved version with the fields it changed, and "restore this version".

Restoring saves the old snapshot through ``kb/editing.py`` like any edit (validated, audited as
``revert``, live for the bot at once), so a restored entry is itself a new version.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ...answers.hours import to_local
from ...core.deps import get_runtime, get_session
from ...kb import editing, interchange, versions
from ...kb.index import KnowledgeIndex, get_index
from ...kb.versions import EntryVersion
from ..core import ConsoleUser, NavItem, console_user, csrf_protected, flash, render
from ..knowledge_forms import LABELS, german_errors
from .knowledge import TITLES, identity

router = APIRouter()
NAV: list[NavItem] = []
ACTIONS = {"create": "Angelegt", "update": "Geändert", "delete": "Gelöscht", "revert": "Wiederhergestellt"}
HISTORY_KINDS = (*editing.KINDS, editing.MUNICIPALITY)


def _shown(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=1)


def _changes(version: EntryVersion, kind: str) -> list[dict[str, str]]:
    before, after = version.before or {}, version.after or {}
    return [
        {"label": LABELS[kind].get(name, name), "before": _shown(before.get(name)), "after": _shown(after.get(name))}
        for name in version.changed
    ]


def _versions_or_404(session: Session, kind: str, entry_id: str) -> list[EntryVersion]:
    if kind not in HISTORY_KINDS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such kind")
    found = versions.history(session, kind, entry_id)
    if not found and editing.current_entry(session, kind, entry_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such entry")
    return found


def _page(
    request: Request, session: Session, user: ConsoleUser, kind: str, entry_id: str, error: str | None, code: int
) -> HTMLResponse:
    found = _versions_or_404(session, kind, entry_id)
    timezone = get_runtime(request).settings.timezone  # times as staff read clocks: local, not UTC
    current = editing.current_entry(session, kind, entry_id)
    rows = [
        {
            "id": v.id,
            "action": ACTIONS.get(v.action, v.action),
            "username": v.username,
            "at": to_local(v.at, timezone).strftime("%d.%m.%Y, %H:%M Uhr") if v.at else "",
            "changes": _changes(v, kind),
            "reverted_from": v.reverted_from,
            "restorable": v.snapshot is not None and v.snapshot != current,
            # The oldest version also offers the state before it: the imported original, say.
            "before_restorable": v is found[-1]
            and v.before is not None
            and v.after is not None
            and v.before != current,
        }
        for v in found
    ]
    edit_url = "/staff/municipality" if kind == editing.MUNICIPALITY else f"/staff/{kind}/{entry_id}"
    context = {
        "kind": kind,
        "entry_id": entry_id,
        "plural": TITLES[kind][0],
        "title": (current or {}).get("name") or (current or {}).get("title") or entry_id,
        "rows": rows,
        "exists": current is not None,
        "edit_url": edit_url,
        "error": error,
    }
    return render(request, "history/entry.html", context, user, status_code=code)


@router.get("/history/{kind}/{entry_id}")
def history_page(
    request: Request,
    kind: str,
    entry_id: str,
    session: Session = Depends(get_session),
    user: ConsoleUser = Depends(console_user("viewer")),
) -> HTMLResponse:
    """Every version of one entry, newest first, with before and after of each changed field."""
    return _page(request, session, user, kind, entry_id, None, 200)


@router.post("/history/{kind}/{entry_id}/{version_id}/restore")
def restore(
    request: Request,
    kind: str,
    entry_id: str,
    version_id: int,
    state: Annotated[str, Form()] = "after",
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    _checked: ConsoleUser = Depends(csrf_protected),
    user: ConsoleUser = Depends(console_user("editor")),
) -> Response:
    """Restore one version (editor): saved through the same path as an edit, audited as a revert.

    ``state``: ``after`` (the entry as this version left it) or ``before`` (as it was just before).
    """
    version = session.get(EntryVersion, version_id)
    wanted = version.before if version is not None and state == "before" else (version.snapshot if version else None)
    if version is None or version.kind != kind or version.entry_id != entry_id or wanted is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such version")
    snapshot = dict(wanted)
    try:
        if kind == editing.MUNICIPALITY:
            editing.save_municipality(session, identity(user), snapshot, reverted_from=version.id)
        else:
            editing.save_entry(session, index, identity(user), kind, snapshot, reverted_from=version.id)  # type: ignore[arg-type]
    except interchange.KbValidationError as exc:
        session.rollback()
        problems = "; ".join(german_errors(kind, exc.errors).values())
        message = f"Diese Fassung lässt sich so nicht wiederherstellen: {problems}"
        return _page(request, session, user, kind, entry_id, message, 422)
    flash(request, user, "Die frühere Fassung ist wiederhergestellt. Der Bot antwortet ab sofort damit.")
    return RedirectResponse(f"/staff/history/{kind}/{entry_id}", status_code=303)
