"""Form submissions in the console (``/staff/submissions``, role editor: they hold personal data).

List with filters (form, received from-to, open/processed), newest first, paged; one submission with
every field under its label from the form's spec; export of the filtered list; "mark as processed".
Every view and export goes through ``submissions.listing``, the code of the JSON API, so the files
and the audit entries (who and which references, never citizen data) are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kumpel_forms.spec import FieldSpec, load_spec

from ...core.clock import Clock
from ...core.deps import get_clock, get_session, get_settings_dep
from ...core.settings import Settings
from ...staff.auth import StaffIdentity
from ...submissions import listing
from ...submissions.forms import FORMS
from ...submissions.listing import SubmissionFilter
from ...submissions.models import Submission
from ..core import ConsoleUser, NavItem, console_user, csrf_protected, flash, render

router = APIRouter()
NAV = [NavItem("Formulareingänge", "/staff/submissions", "editor", 60)]

ROLE = "editor"
PAGE_SIZE = 25
NO_STORE = {"Cache-Control": "no-store"}
STATUS_OPTIONS = [("", "Alle"), ("open", "Offen"), ("processed", "Bearbeitet")]
Status = Literal["", "open", "processed"]


def _staff(user: ConsoleUser) -> StaffIdentity:
    """The identity the audit log and the shared submission functions know."""
    return StaffIdentity(user.username, user.role)


def _parse_day(raw: str) -> date | None:
    """A day as the date field sends it (``2026-12-01``) or as typed in German (``1.12.2026``)."""
    text = raw.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.strptime(text, "%d.%m.%Y").date()
    except ValueError:
        return None


@dataclass(frozen=True)
class FilterForm:
    """The filter form as submitted (text kept for redisplay), its filter and the messages naming each field."""

    values: dict[str, str]
    flt: SubmissionFilter
    errors: dict[str, str]

    def query(self, **extra: str | int) -> str:
        """The query string of these filters (for the page links and the export), empty values left out."""
        items: dict[str, str | int] = {key: value for key, value in self.values.items() if value}
        items.update(extra)
        return urlencode(items)


def read_filters(
    form: Annotated[str, Query(max_length=80)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=20)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=20)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
) -> FilterForm:
    """The list's filters from the query string, checked field by field (German messages for the page)."""
    errors: dict[str, str] = {}
    if form and form not in FORMS:
        errors["form"] = "Formular: Dieses Formular gibt es nicht. Bitte wählen Sie eines aus der Liste."
    day_from = _parse_day(date_from) if date_from else None
    if date_from and day_from is None:
        errors["from"] = "Eingegangen ab: Bitte geben Sie ein Datum ein, zum Beispiel 01.12.2026."
    day_to = _parse_day(date_to) if date_to else None
    if date_to and day_to is None:
        errors["to"] = "Eingegangen bis: Bitte geben Sie ein Datum ein, zum Beispiel 31.12.2026."
    if day_from and day_to and day_to < day_from:
        errors["to"] = "Eingegangen bis: Das Datum liegt vor „Eingegangen ab“. Bitte tauschen Sie die Daten."
    if status not in ("", "open", "processed"):
        errors["status"] = "Status: Bitte wählen Sie „Alle“, „Offen“ oder „Bearbeitet“."
    processed = {"open": False, "processed": True}.get(status)
    values = {
        "form": form,
        "from": day_from.isoformat() if day_from else date_from,
        "to": day_to.isoformat() if day_to else date_to,
        "status": status,
    }
    flt = SubmissionFilter(form=form or None, date_from=day_from, date_to=day_to, processed=processed)
    return FilterForm(values, flt, errors)


def _local(value: datetime | None, zone: str) -> str:
    """A stored (UTC) time as staff read it: ``01.12.2026, 09:30 Uhr`` in the city."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(ZoneInfo(zone)).strftime("%d.%m.%Y, %H:%M Uhr")


def _form_title(form: str) -> str:
    info = FORMS.get(form)
    return info.title if info else form


def _shown_value(spec_field: FieldSpec | None, value: Any) -> str:
    """A stored value as the form's summary shows it: Ja/Nein, the choice's label, German dates and decimals."""
    if value is None or value == "":
        return "keine Angabe"
    if isinstance(value, bool):
        return "Ja" if value else "Nein"
    if spec_field is not None and spec_field.type == "choice":
        for option in spec_field.options:
            if option.get("value") == value:
                return str(option.get("label", value))
    if spec_field is not None and spec_field.type == "meter_reading" and isinstance(value, str):
        return value.replace(".", ",")  # stored as a decimal point, read with the German comma
    if spec_field is not None and spec_field.type == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d.%m.%Y")
        except ValueError:
            return value
    return str(value)


def labelled_fields(submission: Submission) -> list[dict[str, str]]:
    """Every stored field with its label from the spec, in the form's order (unknown keys last, by name)."""
    spec = load_spec(submission.form) if submission.form in FORMS else None
    by_export = {spec_field.export: spec_field for spec_field in spec.fields} if spec else {}
    rows = [
        {"label": spec_field.label, "export": export, "value": _shown_value(spec_field, submission.data[export])}
        for export, spec_field in by_export.items()
        if export in submission.data
    ]
    rows += [
        {"label": key, "export": key, "value": _shown_value(None, value)}
        for key, value in submission.data.items()
        if key not in by_export
    ]
    return rows


def _row(submission: Submission, zone: str) -> dict[str, str]:
    return {
        "reference": submission.reference,
        "form": _form_title(submission.form),
        "received": _local(submission.created_at, zone),
        "processed_at": _local(submission.processed_at, zone),
        "processed_by": submission.processed_by or "",
    }


@router.get("/submissions", response_class=HTMLResponse)
def submissions_list(
    request: Request,
    filters: FilterForm = Depends(read_filters),
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    user: ConsoleUser = Depends(console_user(ROLE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
) -> HTMLResponse:
    """The filtered list, newest first, ``PAGE_SIZE`` a page (no citizen data on it: references only)."""
    total, rows = 0, list[Submission]()
    if not filters.errors:
        total, rows = listing.list_page(session, filters.flt, settings.timezone, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        "filters": filters,
        "errors": filters.errors,
        "form_options": [("", "Alle Formulare")]
        + sorted(((key, info.title) for key, info in FORMS.items()), key=lambda x: x[1]),
        "status_options": STATUS_OPTIONS,
        "items": [_row(row, settings.timezone) for row in rows],
        "total": total,
        "page": page,
        "pages": pages,
        "previous_url": f"?{filters.query(page=page - 1)}" if page > 1 else None,
        "next_url": f"?{filters.query(page=page + 1)}" if page < pages else None,
        "export_csv": f"/staff/submissions/export?{filters.query(format='csv')}",
        "export_json": f"/staff/submissions/export?{filters.query(format='json')}",
    }
    response = render(request, "submissions/list.html", context, user, status_code=422 if filters.errors else 200)
    response.headers.update(NO_STORE)
    return response


@router.get("/submissions/export", response_model=None)
def submissions_export(
    request: Request,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
    filters: FilterForm = Depends(read_filters),
    user: ConsoleUser = Depends(console_user(ROLE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    """The filtered list as the API's export file (same code, same audit entry)."""
    if filters.errors:
        return submissions_list(request, filters, 1, user, session, settings)
    rows = listing.export_rows(session, filters.flt, settings.timezone)
    return listing.export_response(session, _staff(user), rows, format)


@router.get("/submissions/{reference}", response_class=HTMLResponse)
def submission_detail(
    request: Request,
    reference: str,
    user: ConsoleUser = Depends(console_user(ROLE)),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
) -> HTMLResponse:
    """One submission with all its fields under their labels; the view is audited."""
    submission = listing.find(session, reference)
    if submission is None:
        response = render(request, "submissions/missing.html", {"reference": reference[:40]}, user, status_code=404)
        response.headers.update(NO_STORE)
        return response
    listing.audit_access(session, _staff(user), "view", [submission.reference])
    context = {
        "item": _row(submission, settings.timezone),
        "expires": _local(submission.expires_at, settings.timezone),
        "language": "Deutsch" if submission.language == "de" else "Englisch",
        "fields": labelled_fields(submission),
        "processed": submission.processed_at is not None,
    }
    response = render(request, "submissions/detail.html", context, user)
    response.headers.update(NO_STORE)
    return response


@router.post("/submissions/{reference}/processed", response_model=None)
def submission_processed(
    request: Request,
    reference: str,
    user: ConsoleUser = Depends(csrf_protected),
    _role: ConsoleUser = Depends(console_user(ROLE)),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> Response:
    """Mark as processed (the API's function: the first mark stays), then back to the submission."""
    submission = listing.find(session, reference)
    if submission is None:
        return render(request, "submissions/missing.html", {"reference": reference[:40]}, user, status_code=404)
    if listing.mark_processed(session, _staff(user), submission, clock()):
        flash(request, user, f"{submission.reference} ist als bearbeitet markiert.")
    else:
        flash(request, user, f"{submission.reference} war schon als bearbeitet markiert.", "info")
    return RedirectResponse(f"/staff/submissions/{submission.reference}", status_code=303)
