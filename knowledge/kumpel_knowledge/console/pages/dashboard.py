"""The dashboard (``/staff/dashboard``, viewer and up): counts and charts of how the bot is doing.

Counts only, never conversation text: everything comes from ``stats`` (answer and form events, the
ratings, the submissions table). Each chart is drawn by ``static/dashboard.js`` from the table shown
under it, and ``/staff/dashboard/<chart>.csv`` downloads the same table.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from ...core.clock import Clock
from ...core.deps import get_clock, get_session, get_settings_dep
from ...core.settings import Settings
from ...stats.queries import Period
from ...stats.tables import BUILDERS, Cell, Table, all_tables
from ..core import STATIC_DIR, ConsoleUser, NavItem, console_user, render, templates

router = APIRouter()
NAV = [NavItem("Auswertung", "/staff/dashboard", "viewer", 70)]

PRESETS = {"7": "Letzte 7 Tage", "30": "Letzte 30 Tage", "90": "Letzte 90 Tage", "custom": "Eigener Zeitraum"}
MAX_DAYS = 400  # the default retention of the events: a longer period shows only zeros at its start
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
WEEKDAY_SHORT = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")


def chart_script() -> str:
    """The vendored Chart.js file (``vendor/chart.umd*.js``; its name differs between releases)."""
    found = sorted(path.name for path in (STATIC_DIR / "vendor").glob("chart.umd*.js"))
    return found[-1] if found else "chart.umd.js"


def dashboard_day(iso_day: object) -> str:
    """``2026-11-23`` as a German reader expects it in a table: ``Mo 23.11.2026``."""
    try:
        day = date.fromisoformat(str(iso_day))
    except ValueError:
        return str(iso_day)
    return f"{WEEKDAY_SHORT[day.weekday()]} {day.strftime('%d.%m.%Y')}"


templates.env.filters["dashboard_day"] = dashboard_day


@dataclass(frozen=True)
class PeriodForm:
    """The period selector as submitted, the period it means, and the messages naming each field."""

    values: dict[str, str]
    period: Period
    errors: dict[str, str]

    @property
    def query(self) -> str:
        return urlencode({"from": self.period.start.isoformat(), "to": self.period.end.isoformat()})


def _parse_day(raw: str) -> date | None:
    """A day as the date field sends it (``2026-12-01``) or as typed in German (``1.12.2026``)."""
    text = raw.strip()
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d.%m.%Y").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    return None


def read_period(
    period: Annotated[str, Query(max_length=10)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=20)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=20)] = "",
    settings: Settings = Depends(get_settings_dep),
    clock: Clock = Depends(get_clock),
) -> PeriodForm:
    """The period from the query: a preset (7/30/90 days up to today) or from-to; bad input is named."""
    zone = settings.timezone
    today = clock().astimezone(ZoneInfo(zone)).date()
    choice = period if period in PRESETS else ("custom" if date_from or date_to else "7")
    values = {"period": choice, "from": date_from, "to": date_to}
    fallback = Period(today - timedelta(days=6), today, zone)
    if choice != "custom":
        days = int(choice)
        chosen = Period(today - timedelta(days=days - 1), today, zone)
        values.update({"from": chosen.start.isoformat(), "to": chosen.end.isoformat()})
        return PeriodForm(values, chosen, {})
    errors: dict[str, str] = {}
    start, end = _parse_day(date_from), _parse_day(date_to)
    if start is None:
        errors["from"] = "Von: Bitte ein Datum angeben, zum Beispiel 1.11.2026."
    if end is None:
        errors["to"] = "Bis: Bitte ein Datum angeben, zum Beispiel 30.11.2026."
    if start is not None and end is not None:
        if end < start:
            errors["to"] = "Bis: Das Datum liegt vor dem Von-Datum."
        elif (end - start).days + 1 > MAX_DAYS:
            errors["to"] = f"Bis: Der Zeitraum darf höchstens {MAX_DAYS} Tage lang sein."
    if errors or start is None or end is None:
        return PeriodForm(values, fallback, errors)
    return PeriodForm(values, Period(start, end, zone), {})


def _csv_cell(value: Cell) -> str:
    text = str(value)
    # Spreadsheet programs run cells starting with these as formulas (CSV injection, OWASP).
    return "'" + text if text.startswith(FORMULA_START) else text


def table_csv(table: Table) -> str:
    """The table as CSV the way the submissions export writes it: semicolons, UTF-8 with BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.headers)
    writer.writerows([_csv_cell(cell) for cell in row] for row in table.rows)
    return "\ufeff" + buffer.getvalue()


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    form: PeriodForm = Depends(read_period),
    user: ConsoleUser = Depends(console_user("viewer")),
    session: Session = Depends(get_session),
) -> HTMLResponse:
    """The dashboard for the chosen period (the last 7 days by default)."""
    context = {
        "form": form,
        "presets": PRESETS,
        "tables": all_tables(session, form.period),
        "chart_script": chart_script(),
    }
    return render(request, "dashboard/index.html", context, user, status_code=422 if form.errors else 200)


@router.get("/dashboard/{chart}.csv")
def dashboard_csv(
    chart: str,
    form: PeriodForm = Depends(read_period),
    _user: ConsoleUser = Depends(console_user("viewer")),
    session: Session = Depends(get_session),
) -> Response:
    """One chart's table as CSV for the period (``from``/``to`` or ``period``)."""
    build = BUILDERS.get(chart)
    if build is None:
        known = ", ".join(sorted(BUILDERS))
        return Response(f"Unbekannte Auswertung „{chart}“. Bekannt: {known}.", status_code=404, media_type="text/plain")
    if form.errors:
        return Response(" ".join(form.errors.values()), status_code=422, media_type="text/plain; charset=utf-8")
    period = form.period
    filename = f"kumpel-{chart}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        table_csv(build(session, period)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
