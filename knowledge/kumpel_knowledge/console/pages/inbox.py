"""The inbox of what the bot missed (``/staff/inbox``): viewers read, editors act (CSRF on every action).

Groups come from ``inbox.grouping`` (the same as ``GET /api/v1/staff/inbox``); a FAQ or a synonym is
saved through ``inbox.curation`` -> ``kb.editing.save_entry``, the JSON API's save path, so it is
validated, versioned, audited and live for the bot at once.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.clock import Clock
from ...core.deps import get_clock, get_session, get_settings_dep
from ...core.settings import Settings
from ...inbox import curation
from ...inbox.grouping import InboxFilter, inbox_groups
from ...inbox.models import KINDS, STATUSES
from ...kb.index import KnowledgeIndex, get_index
from ...kb.interchange import KbValidationError
from ...kb.models import Faq, Office, Service, find_entry
from ...staff.auth import StaffIdentity
from ..core import ConsoleUser, NavItem, console_user, csrf_protected, flash, render

router = APIRouter()
NAV = [
    NavItem(
        "Posteingang",
        "/staff/inbox",
        "viewer",
        40,
        "Was der Bot nicht beantworten konnte, gruppiert: daraus FAQ oder Synonyme machen.",
    )
]

NO_STORE = {"Cache-Control": "no-store"}
KIND_LABELS = {
    "unknown": "Unbekannt",
    "clarify": "Unsichere Rückfrage",
    "refused": "Abgelehnt (nicht zuständig)",
    "ignored_choice": "Auswahl übergangen",
    "thumbs_down": "Daumen runter",
}
STATUS_LABELS = {"open": "Offen", "done": "Erledigt", "dismissed": "Verworfen", "all": "Alle"}
SORT_LABELS = {"newest": "Neueste zuerst", "frequent": "Häufigste zuerst"}
# Field names in the knowledge base's validation errors -> the labels of the FAQ form.
FAQ_FIELDS = {
    "id": "Kennung",
    "questions": "Fragen",
    "answer": "Antwort",
    "source_url": "Quelle (Adresse)",
    "last_reviewed": "Geprüft am",
    "service": "Leistung",
    "office": "Stelle",
}
ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")


def _staff(user: ConsoleUser) -> StaffIdentity:
    return StaffIdentity(user.username, user.role)


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        return None


def _title(session: Session, entry_id: str) -> str:
    entry = find_entry(session, entry_id)
    if entry is None:
        return entry_id
    return entry.questions[0] if isinstance(entry, Faq) else entry.name


def _ids(raw: list[str]) -> list[int]:
    return [int(v) for v in raw if v.isdigit()][:5000]


def _group_of(session: Session, ids: list[int]) -> dict[str, Any] | None:
    """The wordings and entries of the items the form names (as the page showed them)."""
    items = curation.items_by_id(session, ids)
    if not items:
        return None
    counts: dict[str, int] = {}
    for item in items:
        if item.question:
            counts[item.question] = counts.get(item.question, 0) + 1
    wordings = sorted(counts, key=lambda q: -counts[q])
    entries: list[str] = []
    for item in items:
        for entry_id in [*(item.candidates or []), *([item.entry_id] if item.entry_id else [])]:
            if entry_id not in entries:
                entries.append(entry_id)
    return {"ids": [item.id for item in items], "wordings": wordings, "entries": entries}


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    status: Annotated[str, Query(max_length=12)] = "open",
    kind: Annotated[str, Query(max_length=20)] = "",
    day: Annotated[str, Query(max_length=20)] = "",
    entry: Annotated[str, Query(max_length=80)] = "",
    sort: Annotated[str, Query(max_length=10)] = "newest",
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    settings: Settings = Depends(get_settings_dep),
    user: ConsoleUser = Depends(console_user("viewer")),
) -> HTMLResponse:
    """The groups, filtered and sorted as asked; unknown filter values are said, not a 422."""
    errors: dict[str, str] = {}
    if status not in (*STATUSES, "all"):
        errors["status"] = f"Status: „{status}“ gibt es nicht."
        status = "open"
    if kind and kind not in KINDS:
        errors["kind"] = f"Art: „{kind}“ gibt es nicht."
        kind = ""
    parsed_day = _day(day)
    if day and parsed_day is None:
        errors["day"] = f"Tag: „{day}“ ist kein Datum (JJJJ-MM-TT)."
    if sort not in SORT_LABELS:
        sort = "newest"
    filters = InboxFilter(status=status, kind=kind or None, day=parsed_day, entry=entry.strip() or None)  # type: ignore[arg-type]
    groups = inbox_groups(session, filters, index.search.encoder, settings.timezone, sort)  # type: ignore[arg-type]
    titles = {e: _title(session, e) for g in groups for e in g.entries}
    values = {"status": status, "kind": kind, "day": day, "entry": entry}
    kept = {k: v for k, v in values.items() if v}
    sort_links = {key: "?" + urlencode({**kept, "sort": key}) for key in SORT_LABELS}
    context = {
        "groups": groups,
        "titles": titles,
        "values": values,
        "sort": sort,
        "sort_links": sort_links,
        "errors": errors,
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "sort_labels": SORT_LABELS,
        "zone": ZoneInfo(settings.timezone),
        "total_items": sum(g.count for g in groups),
        "back": _back(request),
        "all_entries": _all_entries(session) if user.has("editor") and groups else [],
    }
    return _no_store(render(request, "inbox/list.html", context, user))


def _all_entries(session: Session) -> list[tuple[str, str]]:
    """Every service, office and FAQ (id, title): the search list of the synonym field."""
    services = [(s.id, s.name) for s in session.scalars(select(Service).order_by(Service.name))]
    offices = [(o.id, o.name) for o in session.scalars(select(Office).order_by(Office.name))]
    faqs = [(f.id, f.questions[0] if f.questions else f.id) for f in session.scalars(select(Faq).order_by(Faq.id))]
    return services + offices + faqs


def _no_store(response: HTMLResponse) -> HTMLResponse:
    response.headers.update(NO_STORE)
    return response


def _back(request: Request) -> str:
    """This page with its filters, for the forms to come back to."""
    return request.url.path + ("?" + request.url.query if request.url.query else "")


def _safe_back(raw: str) -> str:
    # Only back into the inbox: a form field must not redirect anywhere else.
    return raw if raw.startswith("/staff/inbox") and "//" not in raw and "\\" not in raw else "/staff/inbox"


@router.post("/inbox/status")
def change_status(
    request: Request,
    ids: Annotated[list[str], Form()],
    status: Annotated[str, Form(max_length=12)],
    back: Annotated[str, Form(max_length=500)] = "/staff/inbox",
    session: Session = Depends(get_session),
    user: ConsoleUser = Depends(console_user("editor")),
    _csrf: ConsoleUser = Depends(csrf_protected),
) -> Response:
    """Mark a group done, dismissed or open again; back to the inbox with a message."""
    if status not in STATUSES:
        flash(request, user, f"Status: „{status}“ gibt es nicht.", "error")
        return RedirectResponse(_safe_back(back), status_code=303)
    changed = curation.set_status(session, _staff(user), _ids(ids), status)
    done = {"open": "wieder geöffnet", "done": "als erledigt markiert", "dismissed": "verworfen"}[status]
    flash(request, user, f"{changed} Einträge {done}.")
    return RedirectResponse(_safe_back(back), status_code=303)


def _faq_form(
    request: Request,
    session: Session,
    user: ConsoleUser,
    values: dict[str, str],
    ids: list[int],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    services = [("", "– keine –")] + [(s.id, s.name) for s in session.scalars(select(Service).order_by(Service.name))]
    offices = [("", "– keine –")] + [(o.id, o.name) for o in session.scalars(select(Office).order_by(Office.name))]
    context = {"values": values, "ids": ids, "errors": errors, "services": services, "offices": offices}
    return _no_store(render(request, "inbox/faq.html", context, user, status_code=status_code))


@router.get("/inbox/faq", response_class=HTMLResponse)
def faq_form(
    request: Request,
    ids: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI reads the default, never mutates it
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
    user: ConsoleUser = Depends(console_user("editor")),
) -> HTMLResponse:
    """A FAQ form prefilled from a group: its typical wording first, the others as variants."""
    group = _group_of(session, _ids(ids))
    if group is None:
        flash(request, user, "Diese Gruppe gibt es nicht mehr.", "error")
        return _no_store(HTMLResponse(status_code=303, headers={"Location": "/staff/inbox"}))
    wordings = group["wordings"]
    service = next((e for e in group["entries"] if session.get(Service, e) is not None), "")
    values = {
        "id": curation.faq_id_for(wordings[0] if wordings else "frage", session),
        "questions": "\n".join(wordings),
        "answer": "",
        "source_url": "",
        "last_reviewed": clock().date().isoformat(),
        "service": service,
        "office": "",
    }
    return _faq_form(request, session, user, values, group["ids"], {})


def _faq_errors(errors: list[str]) -> dict[str, str]:
    """The knowledge base's validation errors, each under the form field it names, in German."""
    found: dict[str, str] = {}
    for error in errors:
        match = re.search(r"field (\w+)", error)
        name = match.group(1) if match and match.group(1) in FAQ_FIELDS else "answer"
        detail = error.split(": ", 1)[-1] if ": " in error else error
        found.setdefault(name, f"{FAQ_FIELDS[name]}: {detail}")
    return found


@router.post("/inbox/faq", response_model=None)
def save_faq(
    request: Request,
    ids: Annotated[list[str], Form()],
    entry_id: Annotated[str, Form(alias="id", max_length=80)] = "",
    questions: Annotated[str, Form(max_length=20000)] = "",
    answer: Annotated[str, Form(max_length=5000)] = "",
    source_url: Annotated[str, Form(max_length=500)] = "",
    last_reviewed: Annotated[str, Form(max_length=20)] = "",
    service: Annotated[str, Form(max_length=80)] = "",
    office: Annotated[str, Form(max_length=80)] = "",
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    user: ConsoleUser = Depends(console_user("editor")),
    _csrf: ConsoleUser = Depends(csrf_protected),
) -> Response:
    """Save the FAQ (the JSON API's save path: live for the bot at once) and mark the group done."""
    values = {
        "id": entry_id.strip(),
        "questions": questions,
        "answer": answer,
        "source_url": source_url.strip(),
        "last_reviewed": last_reviewed.strip(),
        "service": service.strip(),
        "office": office.strip(),
    }
    item_ids = _ids(ids)
    lines = [line.strip() for line in questions.splitlines() if line.strip()]
    errors: dict[str, str] = {}
    if not ENTRY_ID.match(values["id"]):
        errors["id"] = "Kennung: nur Kleinbuchstaben, Ziffern und Bindestriche, 2 bis 80 Zeichen (z. B. faq-parken)."
    elif session.get(Faq, values["id"]) is not None:
        errors["id"] = f"Kennung: Eine FAQ „{values['id']}“ gibt es schon. Bitte wählen Sie eine andere."
    if not lines:
        errors["questions"] = "Fragen: Bitte mindestens eine Frage angeben (eine pro Zeile)."
    if not answer.strip():
        errors["answer"] = "Antwort: Bitte geben Sie die Antwort ein, die der Bot geben soll."
    if not values["source_url"]:
        errors["source_url"] = "Quelle (Adresse): Bitte die Seite angeben, auf der die Antwort steht (https://...)."
    if not _day(values["last_reviewed"]):
        errors["last_reviewed"] = "Geprüft am: Bitte ein Datum angeben (JJJJ-MM-TT)."
    if not errors:
        entry: dict[str, Any] = {
            "id": values["id"],
            "questions": lines,
            "answer": answer.strip(),
            "source_url": values["source_url"],
            "last_reviewed": values["last_reviewed"],
        }
        for name in ("service", "office"):
            if values[name]:
                entry[name] = values[name]
        try:
            curation.make_faq(session, index, _staff(user), entry, item_ids)
        except KbValidationError as exc:
            session.rollback()
            errors = _faq_errors(exc.errors)
    if errors:
        return _faq_form(request, session, user, values, item_ids, errors, status_code=422)
    flash(request, user, f"Die FAQ „{lines[0]}“ ist gespeichert; der Bot beantwortet die Frage ab sofort.")
    return RedirectResponse("/staff/inbox", status_code=303)


@router.post("/inbox/synonym")
def save_synonym(
    request: Request,
    ids: Annotated[list[str], Form()],
    entry: Annotated[str, Form(max_length=80)] = "",
    other_entry: Annotated[str, Form(max_length=80)] = "",
    back: Annotated[str, Form(max_length=500)] = "/staff/inbox",
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    user: ConsoleUser = Depends(console_user("editor")),
    _csrf: ConsoleUser = Depends(csrf_protected),
) -> Response:
    """Add the group's wordings as synonyms of the chosen entry; live at once; the group is done."""
    target = other_entry.strip() or entry.strip()
    group = _group_of(session, _ids(ids))
    if group is None or not group["wordings"]:
        flash(request, user, "Diese Gruppe hat keine Formulierung, die man als Synonym nehmen könnte.", "error")
        return RedirectResponse(_safe_back(back), status_code=303)
    if not target:
        flash(request, user, "Eintrag: Bitte wählen Sie den Eintrag, den der Bot hätte finden sollen.", "error")
        return RedirectResponse(_safe_back(back), status_code=303)
    try:
        saved = curation.add_synonym(session, index, _staff(user), target, group["wordings"], group["ids"])
    except LookupError:
        flash(request, user, f"Eintrag: „{target}“ gibt es nicht. Bitte prüfen Sie die Kennung.", "error")
        return RedirectResponse(_safe_back(back), status_code=303)
    except KbValidationError as exc:
        session.rollback()
        flash(request, user, "Eintrag: " + "; ".join(exc.errors), "error")
        return RedirectResponse(_safe_back(back), status_code=303)
    name = saved.entry.get("name") or (saved.entry.get("questions") or [target])[0]
    flash(request, user, f"Als Synonym von „{name}“ gespeichert; der Bot findet den Eintrag ab sofort so.")
    return RedirectResponse(_safe_back(back), status_code=303)
