"""Opening hours as staff type them: checked in plain German, previewed as the bot will state them.

Staff write one rule per line ("Mo-Fr 08:00-12:00" / "PH off"); stored is the OSM expression with the
rules joined by "; ". The check parses each line with the same parser the bot uses (opening-hours-py,
``answers/hours.py``), so a line number can be named; the 14-day preview is made by the bot's own
sentences (``answers/hours_text.describe_day``) with the town's holidays and the office's notices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..answers.hours import Closure, OfficeHours, validate_opening_hours
from ..answers.hours_text import day_label, describe_day
from .models import Notice

PREVIEW_DAYS = 14
OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su", "PH", "SH")
# German abbreviations staff naturally type, and the OSM ones meant.
GERMAN_DAYS = {"di": "Tu", "mi": "We", "do": "Th", "so": "Su", "ft": "PH", "feiertag": "PH", "feiertags": "PH"}
_POSITION = re.compile(r"--> (\d+):(\d+)")


def lines_of(expression: str) -> list[str]:
    """The rules of an OSM expression, one per line, for the form."""
    return [rule.strip() for rule in expression.split(";") if rule.strip()]


def expression_of(text: str) -> str:
    """The OSM expression of what staff typed: lines (or ";"-separated rules) joined by "; "."""
    return "; ".join(rule.strip() for line in text.splitlines() for rule in line.split(";") if rule.strip())


def _explain(line: str, column: int) -> str:
    """Why the parser stopped at this column, in words for an editorial team."""
    rest = line[column - 1 :]
    token = re.match(r"[^\s,;:-]*", rest)
    word = (token.group(0) if token else "") or rest[:1]
    bare = word.rstrip(".").lower()
    if bare in GERMAN_DAYS:
        return (
            f"unbekannter Wochentag „{word}“ – bitte die englischen Kürzel verwenden "
            f"(„{GERMAN_DAYS[bare]}“; Mo, Tu, We, Th, Fr, Sa, Su, PH für Feiertage)"
        )
    if re.fullmatch(r"[A-Za-zÄÖÜäöü]+\.?", word):
        return f"unbekannter Wochentag „{word}“ – erlaubt sind Mo, Tu, We, Th, Fr, Sa, Su und PH (Feiertage)"
    if re.match(r"\d{1,2}(-|$|\s)", rest) or re.match(r"\d{1,2}:\d(\D|$)", rest):
        return f"unvollständige Uhrzeit bei „{rest.split()[0]}“ – bitte mit Stunden und Minuten, z. B. 08:00-12:00"
    if re.match(r"\d{2}:\d{2}", rest) and int(rest[:2]) > 24:
        return f"ungültige Uhrzeit „{rest[:5]}“ – Stunden gehen von 00 bis 24"
    if not rest:
        return "die Zeile endet zu früh – fehlt eine Uhrzeit?"
    return f"unerwartet „{word}“ an Stelle {column} – Beispiel für eine gültige Zeile: „Mo-Fr 08:00-12:00“"


def check(text: str) -> str | None:
    """None when the hours parse, else a German message naming line and problem."""
    lines = [line for line in text.splitlines() if line.strip()]
    for number, raw in enumerate(lines, start=1):
        for rule in (part.strip() for part in raw.split(";")):
            if not rule or validate_opening_hours(rule) is None:
                continue
            problem = validate_opening_hours(rule) or ""
            found = _POSITION.search(problem)
            column = int(found.group(2)) if found else 1
            return f"Zeile {number}: {_explain(rule, column)}."
    expression = expression_of(text)
    if expression and validate_opening_hours(expression) is not None:
        return "Die Zeilen passen so nicht zusammen; bitte prüfen Sie die Reihenfolge der Regeln."
    if len(expression) > 500:
        return f"Zu lang: höchstens 500 Zeichen, jetzt {len(expression)}."
    return None


@dataclass(frozen=True)
class PreviewDay:
    """One day of the preview: its label and the bot's sentence about it."""

    label: str
    sentence: str
    open: bool


def closures_of(session: Session, office_id: str | None) -> tuple[Closure, ...]:
    """The closing notices that apply to this office (its own and the town-wide ones), as the bot reads them."""
    query = select(Notice).where(Notice.closed.is_(True))
    query = (
        query.where((Notice.office_id == office_id) | Notice.office_id.is_(None))
        if office_id
        else query.where(Notice.office_id.is_(None))
    )
    return tuple(Closure(n.starts_at, n.ends_at, n.title) for n in session.scalars(query))


def preview(expression: str, subject: str, region: str, closures: tuple[Closure, ...], today: date) -> list[PreviewDay]:
    """The next 14 days (today first) as the bot states them for a question about that day."""
    hours = OfficeHours(expression, holiday_region=region, closures=closures)
    now = datetime.combine(today, time())
    days = []
    for offset in range(PREVIEW_DAYS):
        day = today + timedelta(days=offset)
        # Asked at the start of today, as "am Montag?" is asked: the day's full hours, not what is left of them.
        sentence = describe_day(subject, hours, day, now).split(" Nächste Öffnung")[0]
        days.append(PreviewDay(day_label(day), sentence, bool(hours.day(day).intervals)))
    return days
