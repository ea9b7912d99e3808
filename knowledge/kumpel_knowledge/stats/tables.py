"""The dashboard's charts as tables: German headings, rows, and where a bar leads in the inbox.

One ``Table`` feeds the chart (dashboard.js reads the visible table), the table itself (for screen
readers and without JavaScript) and the CSV download, so the three always show the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from . import queries
from .queries import WEEKDAYS, Period

Cell = str | int

# Which answer kinds have items in the inbox (C5's `kind` filter uses the same names).
INBOX_KINDS = ("clarify", "unknown", "refused")


@dataclass(frozen=True)
class Table:
    """One chart's data."""

    name: str  # the CSV's file name and the chart's id
    title: str
    chart: str  # how dashboard.js draws it: "line", "stacked", "bar", "bar-pair", "grouped", "heat"
    headers: list[str]
    rows: list[list[Cell]]
    # Per row and column (by heading), the inbox link behind that number, where there is one.
    links: list[dict[str, str]] = field(default_factory=list)
    description: str = ""

    @property
    def peak(self) -> int:
        """The largest number in the table (the heat map's darkest shade)."""
        return max((cell for row in self.rows for cell in row[1:] if isinstance(cell, int)), default=0)


def inbox_link(**params: str) -> str:
    return "/staff/inbox?" + urlencode(params)


def _traffic(session: Session, period: Period) -> Table:
    rows = queries.traffic_per_day(session, period)
    return Table(
        "gespraeche",
        "Gespräche und Fragen pro Tag",
        "line",
        ["Tag", "Gespräche", "Fragen"],
        [[r.day.isoformat(), r.conversations, r.questions] for r in rows],
        description=(
            "Ein Gespräch ist eine Unterhaltung mit dem Bot an einem Tag; jede Antwort des Bots zählt als Frage."
        ),
    )


def _outcomes(session: Session, period: Period) -> Table:
    rows = queries.outcomes_per_day(session, period)
    headers = ["Tag", "Beantwortet", "Rückfrage", "Unbekannt", "Abgelehnt"]
    links = [
        {
            heading: inbox_link(kind=kind, day=r.day.isoformat())
            for heading, kind, count in (
                ("Rückfrage", "clarify", r.clarify),
                ("Unbekannt", "unknown", r.unknown),
                ("Abgelehnt", "refused", r.refused),
            )
            if count
        }
        for r in rows
    ]
    return Table(
        "antworten",
        "Antworten pro Tag: beantwortet, Rückfrage, unbekannt, abgelehnt",
        "stacked",
        headers,
        [[r.day.isoformat(), r.answered, r.clarify, r.unknown, r.refused] for r in rows],
        links,
        description=(
            "Rückfrage: „Meinten Sie …?“. Unbekannt: Der Bot hatte keine gesicherte Antwort. Abgelehnt: "
            "Der Bot hat die Frage als nicht städtisches Thema abgelehnt. Zahlen mit Link führen in den Posteingang."
        ),
    )


def _top_entries(session: Session, period: Period) -> Table:
    rows = queries.top_entries(session, period)
    kinds = {"service": "Leistung", "office": "Amt", "faq": "FAQ"}
    return Table(
        "top-themen",
        f"Die {queries.TOP_ENTRIES} meistgefragten Einträge",
        "bar",
        ["Eintrag", "Art", "Kennung", "Fragen"],
        [[r.title, kinds.get(r.entry_type, r.entry_type), r.entry_id, r.questions] for r in rows],
        description="Leistungen, Ämter und FAQ, zu denen der Bot am häufigsten geantwortet hat.",
    )


def _ratings(session: Session, period: Period) -> Table:
    rows = queries.ratings_per_entry(session, period)
    return Table(
        "bewertungen",
        "Bewertungen pro Eintrag (Daumen hoch / runter)",
        "bar-pair",
        ["Eintrag", "Kennung", "Daumen hoch", "Daumen runter"],
        [[r.title, r.entry_id, r.up, r.down] for r in rows],
        [{"Daumen runter": inbox_link(kind="thumbs_down", entry=r.entry_id)} if r.down else {} for r in rows],
        description="Die Einträge mit den meisten negativen Bewertungen stehen oben.",
    )


def _forms(session: Session, period: Period) -> Table:
    rows = queries.forms_per_form(session, period)
    return Table(
        "formulare",
        "Formulare: begonnen, abgeschickt, abgebrochen",
        "grouped",
        ["Formular", "Begonnen", "Abgeschickt", "Abgebrochen"],
        [[r.title, r.started, r.submitted, r.cancelled] for r in rows],
        description=(
            "Abgeschickte Formulare werden aus den gespeicherten Anträgen gezählt (solange sie aufbewahrt werden)."
        ),
    )


def _hours(session: Session, period: Period) -> Table:
    cells = {(c.weekday, c.hour): c.questions for c in queries.busiest_hours(session, period)}
    return Table(
        "uhrzeiten",
        "Wann am meisten gefragt wird (Fragen nach Wochentag und Uhrzeit)",
        "heat",
        ["Uhrzeit", *WEEKDAYS],
        [[f"{hour:02d}:00", *(cells[(weekday, hour)] for weekday in range(7))] for hour in range(24)],
        description="Uhrzeit in der Zeitzone der Stadt; jede Zelle zählt die Fragen dieser Stunde.",
    )


BUILDERS: dict[str, Callable[[Session, Period], Table]] = {
    "gespraeche": _traffic,
    "antworten": _outcomes,
    "top-themen": _top_entries,
    "bewertungen": _ratings,
    "formulare": _forms,
    "uhrzeiten": _hours,
}


def all_tables(session: Session, period: Period) -> list[Table]:
    """Every chart of the dashboard, in the page's order."""
    return [build(session, period) for build in BUILDERS.values()]
