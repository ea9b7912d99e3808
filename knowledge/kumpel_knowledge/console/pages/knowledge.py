"""Edit the knowledge: services, offices, FAQ, notices and the town's profile; opening hours checked live.

Viewers read, editors save. Every save and delete goes through ``kb/editing.py``, the same function
as the JSON API: validated alike, audited and versioned, and live for the bot in the same request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...answers.hours import to_local
from ...core.clock import Clock
from ...core.deps import get_clock, get_session, get_settings_dep
from ...core.settings import Settings
from ...kb import editing, hours_check, interchange
from ...kb.editing import MODELS, TO_ENTRY, Kind
from ...kb.index import KnowledgeIndex, get_index
from ...kb.models import Office, Service
from ...kb.municipality import holiday_region
from ...kb.xzufi import overrides
from ...staff.auth import StaffIdentity
from ..core import ConsoleUser, NavItem, console_user, csrf_protected, flash, render
from ..knowledge_forms import FIELDS, LABELS, entry_to_form, form_to_entry, german_errors

router = APIRouter()

TITLES: dict[str, tuple[str, str]] = {  # kind -> (plural, singular)
    "services": ("Leistungen", "Leistung"),
    "offices": ("Stellen", "Stelle"),
    "faqs": ("Häufige Fragen", "Frage"),
    "notices": ("Hinweise und Schließungen", "Hinweis"),
    "municipality": ("Stadtprofil", "Stadtprofil"),
}
NAV = [
    NavItem("Leistungen", "/staff/services", "viewer", 20),
    NavItem("Stellen", "/staff/offices", "viewer", 21),
    NavItem("Häufige Fragen", "/staff/faqs", "viewer", 22),
    NavItem("Hinweise", "/staff/notices", "viewer", 23),
    NavItem("Stadtprofil", "/staff/municipality", "viewer", 24),
]


def identity(user: ConsoleUser) -> StaffIdentity:
    """The console user as the audit log knows staff."""
    return StaffIdentity(user.username, user.role)


def _title(kind: str, entry: dict[str, Any]) -> str:
    if kind == "faqs":
        return str((entry.get("questions") or [entry["id"]])[0])
    return str(entry.get("name") or entry.get("title") or entry.get("id"))


def _matches(entry: dict[str, Any], query: str) -> bool:
    folded = query.casefold()
    return any(folded in str(value).casefold() for value in entry.values())


def _choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    return {
        "offices": [(o.id, o.name) for o in session.scalars(select(Office).order_by(Office.name))],
        "services": [(s.id, s.name) for s in session.scalars(select(Service).order_by(Service.name))],
    }


def _handled_services(session: Session, office_id: str) -> list[tuple[str, str]]:
    """The services this office is responsible for (its Zuständigkeiten)."""
    office = session.get(Office, office_id)
    if office is None:
        return []
    return sorted({(r.service.id, r.service.name) for r in office.responsibilities}, key=lambda s: s[1])


def _edit_page(
    request: Request,
    session: Session,
    user: ConsoleUser,
    kind: str,
    values: dict[str, Any],
    *,
    entry_id: str | None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    plural, singular = TITLES[kind]
    if kind == "municipality":
        action, heading = "/staff/municipality", plural
    elif entry_id is None:
        action, heading = f"/staff/{kind}/new", f"Neu: {singular}"
    else:
        action, heading = (
            f"/staff/{kind}/{entry_id}",
            f"{singular}: {values.get('name') or values.get('title') or entry_id}",
        )
    context = {
        "kind": kind,
        "plural": plural,
        "heading": heading,
        "fields": FIELDS[kind],
        "values": values,
        "errors": errors or {},
        "action": action,
        "entry_id": entry_id,
        "choices": _choices(session),
        "handled": _handled_services(session, entry_id) if kind == "offices" and entry_id else [],
        # An imported entry: where from, as of when, and which fields staff overrode locally.
        "imported": overrides.view(session, kind, entry_id) if entry_id else None,
        "history_url": f"/staff/history/{kind}/{entry_id or 1}" if entry_id or kind == "municipality" else None,
    }
    return render(request, "knowledge/edit.html", context, user, status_code=status_code)


async def _form_values(request: Request) -> dict[str, Any]:
    form = await request.form()
    values: dict[str, Any] = {}
    for key in form:
        items = [v for v in form.getlist(key) if isinstance(v, str)]
        values[key] = items if key == "responsible" else (items[0] if items else "")
    return values


# ---- opening hours, checked as staff type -----------------------------------------------------


@router.post("/hours/check", dependencies=[Depends(csrf_protected)])
async def check_hours(
    request: Request,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
    clock: Clock = Depends(get_clock),
    user: ConsoleUser = Depends(console_user("viewer")),
) -> HTMLResponse:
    """The live check of the opening-hours field: a German problem, or the next 14 days as the bot says them."""
    form = await _form_values(request)
    text = str(form.get("opening_hours", ""))[:2000]
    office_id = str(form.get("office_id", "")) or None
    subject = str(form.get("name_in_sentence") or form.get("name") or "Die Stelle")
    problem = hours_check.check(text) if text.strip() else None
    days: list[hours_check.PreviewDay] = []
    if text.strip() and problem is None:
        days = hours_check.preview(
            hours_check.expression_of(text),
            subject,
            holiday_region(session, settings),
            hours_check.closures_of(session, office_id),
            to_local(clock(), settings.timezone).date(),
        )
    return render(
        request, "knowledge/hours_check.html", {"problem": problem, "days": days, "empty": not text.strip()}, user
    )


# ---- the town's profile -------------------------------------------------------------------------


@router.get("/municipality")
def town_page(
    request: Request, session: Session = Depends(get_session), user: ConsoleUser = Depends(console_user("viewer"))
) -> HTMLResponse:
    """The town's profile."""
    entry = editing.current_entry(session, editing.MUNICIPALITY, editing.MUNICIPALITY_ID) or {}
    return _edit_page(request, session, user, "municipality", entry_to_form("municipality", entry), entry_id=None)


@router.post("/municipality")
async def save_town(
    request: Request,
    session: Session = Depends(get_session),
    _checked: ConsoleUser = Depends(csrf_protected),
    user: ConsoleUser = Depends(console_user("editor")),
) -> Response:
    """Save the town's profile (editor)."""
    values = await _form_values(request)
    entry, errors = form_to_entry("municipality", values, {})
    if not errors:
        try:
            editing.save_municipality(session, identity(user), entry)
        except interchange.KbValidationError as exc:
            errors = german_errors("municipality", exc.errors)
    if errors:
        return _edit_page(request, session, user, "municipality", values, entry_id=None, errors=errors, status_code=422)
    flash(request, user, "Gespeichert. Der Bot verwendet das Stadtprofil ab sofort.")
    return RedirectResponse("/staff/municipality", status_code=303)


# ---- entries ---------------------------------------------------------------------------------------


def _not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "no such entry")


def _register(kind: Kind) -> None:
    """The list, new, edit and delete routes of one kind, at explicit paths (no catch-all that
    would shadow the other areas' pages)."""

    @router.get(f"/{kind}", name=f"{kind}-list")
    def list_page(
        request: Request,
        q: str = "",
        session: Session = Depends(get_session),
        user: ConsoleUser = Depends(console_user("viewer")),
    ) -> HTMLResponse:
        """All entries of one kind, searchable by any of their words."""
        model = MODELS[kind]
        entries = [TO_ENTRY[kind](row) for row in session.scalars(select(model).order_by(model.id))]
        query = q.strip()[:200]
        shown = [e for e in entries if _matches(e, query)] if query else entries
        rows = [{"id": e["id"], "title": _title(kind, e), "reviewed": e.get("last_reviewed", "")} for e in shown]
        context = {
            "kind": kind,
            "plural": TITLES[kind][0],
            "singular": TITLES[kind][1],
            "rows": rows,
            "q": query,
            "total": len(entries),
        }
        return render(request, "knowledge/list.html", context, user)

    @router.get(f"/{kind}/new", name=f"{kind}-new")
    def new_page(
        request: Request, session: Session = Depends(get_session), user: ConsoleUser = Depends(console_user("editor"))
    ) -> HTMLResponse:
        """An empty form for a new entry."""
        return _edit_page(request, session, user, kind, entry_to_form(kind, {}), entry_id=None)

    @router.post(f"/{kind}/new", name=f"{kind}-create")
    async def create(
        request: Request,
        session: Session = Depends(get_session),
        index: KnowledgeIndex = Depends(get_index),
        _checked: ConsoleUser = Depends(csrf_protected),
        user: ConsoleUser = Depends(console_user("editor")),
    ) -> Response:
        """Create an entry; an id already taken is refused (the form would otherwise overwrite it)."""
        values = await _form_values(request)
        entry_id = str(values.get("id", "")).strip()
        if entry_id and session.get(MODELS[kind], entry_id) is not None:
            errors = {"id": f"{LABELS[kind]['id']}: „{entry_id}“ ist schon vergeben."}
            return _edit_page(request, session, user, kind, values, entry_id=None, errors=errors, status_code=422)
        return _save(request, session, index, user, kind, values, entry_id=None)

    @router.get(f"/{kind}/{{entry_id}}", name=f"{kind}-edit")
    def edit_page(
        request: Request,
        entry_id: str,
        session: Session = Depends(get_session),
        user: ConsoleUser = Depends(console_user("viewer")),
    ) -> HTMLResponse:
        """One entry's form (read-only for viewers)."""
        entry = editing.current_entry(session, kind, entry_id)
        if entry is None:
            raise _not_found()
        return _edit_page(request, session, user, kind, entry_to_form(kind, entry), entry_id=entry_id)

    @router.post(f"/{kind}/{{entry_id}}", name=f"{kind}-update")
    async def update(
        request: Request,
        entry_id: str,
        session: Session = Depends(get_session),
        index: KnowledgeIndex = Depends(get_index),
        _checked: ConsoleUser = Depends(csrf_protected),
        user: ConsoleUser = Depends(console_user("editor")),
    ) -> Response:
        """Save an edited entry (editor): live for the bot at once."""
        if editing.current_entry(session, kind, entry_id) is None:
            raise _not_found()
        values = await _form_values(request)
        values["id"] = entry_id
        return _save(request, session, index, user, kind, values, entry_id=entry_id)

    @router.post(f"/{kind}/{{entry_id}}/delete", name=f"{kind}-delete")
    def delete(
        request: Request,
        entry_id: str,
        session: Session = Depends(get_session),
        index: KnowledgeIndex = Depends(get_index),
        _checked: ConsoleUser = Depends(csrf_protected),
        user: ConsoleUser = Depends(console_user("editor")),
    ) -> Response:
        """Delete an entry (editor); its history keeps the last state, so it can be restored."""
        if not editing.delete_entry(session, index, identity(user), kind, entry_id):
            raise _not_found()
        flash(request, user, f"Gelöscht: „{entry_id}“. Über den Verlauf lässt sich der Eintrag wiederherstellen.")
        return RedirectResponse(f"/staff/{kind}", status_code=303)


def _save(
    request: Request,
    session: Session,
    index: KnowledgeIndex,
    user: ConsoleUser,
    kind: Kind,
    values: dict[str, Any],
    *,
    entry_id: str | None,
) -> Response:
    old = editing.current_entry(session, kind, entry_id) if entry_id else None
    roles = {r["office"]: r.get("role", "zustaendige_stelle") for r in (old or {}).get("responsible", [])}
    entry, errors = form_to_entry(kind, values, roles)
    if not errors:
        try:
            saved = editing.save_entry(session, index, identity(user), kind, entry)
        except interchange.KbValidationError as exc:
            session.rollback()
            errors = german_errors(kind, exc.errors)
    if errors:
        return _edit_page(request, session, user, kind, values, entry_id=entry_id, errors=errors, status_code=422)
    flash(request, user, f"Gespeichert: „{_title(kind, saved.entry)}“. Der Bot antwortet ab sofort damit.")
    return RedirectResponse(f"/staff/{kind}/{quote(saved.entry['id'])}", status_code=303)


for _kind in editing.KINDS:
    _register(_kind)
