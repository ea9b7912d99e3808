"""The day a German question asks about: "morgen", "am Samstag", "nächsten Montag", "an Heiligabend", "am 24.12."."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from ..core.text import fold
from .hours import holiday_calendar

WEEKDAYS = ("montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag")
MONTHS = (
    "januar",
    "februar",
    "maerz",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "dezember",
)
# Days that are no public holiday but that people ask about (offices are often closed by notice).
FIXED_DAYS = {
    "heiligabend": (12, 24),
    "heiligen abend": (12, 24),
    "silvester": (12, 31),
    "weihnachten": (12, 25),
    "1. weihnachtstag": (12, 25),
    "2. weihnachtstag": (12, 26),
    "erster weihnachtsfeiertag": (12, 25),
    "zweiter weihnachtsfeiertag": (12, 26),
    "rosenmontag": None,  # movable: taken from Easter below
}

# A question's clauses: "Wir sind am Samstag umgezogen, kann ich mich am Montag anmelden?" has two.
# A full stop ends a clause only after a word and before a capital: "am 3. Oktober" stays whole.
_CLAUSE_END = re.compile(r"(?<=[!?;,:])\s+|(?<=\D\.)\s+(?=[A-ZÄÖÜ])|\s+(?=(?:und|aber|weil|denn|nachdem|obwohl)\s)")
# A clause told in the past: the day in it is when something happened ("letzten Samstag",
# "am Montag geheiratet", "ist am 3.1. abgelaufen"), not the day the citizen asks about.
_PAST_WORDS = re.compile(
    r"\b(gestern|vorgestern|war|waren|warst|hatte|hatten"
    r"|(letzte|vergangene|vorige)[nmrs]? (montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|sonnabend"
    r"|woche|wochenende|monat|jahr))\b"
)
_PERFECT_AUXILIARY = re.compile(r"\b(bin|bist|ist|sind|seid|habe|hab|hast|hat|haben|habt)\b")
# Past participles: ge-...-t/-en, also after a separable prefix (umgezogen, abgelaufen) or with ver-
# (verloren, verkauft). "geöffnet" and "geschlossen" say how an office is, not what happened.
_PARTICIPLE = re.compile(r"(?!geoeffnet$|geschlossen$)(?:[a-z]{0,5}ge[a-z]{2,}|ver[a-z]{2,})(?:t|en)")

DayKind = Literal["date", "relative", "named"]


@dataclass(frozen=True)
class AskedDay:
    """The day found in a question, or why a date in it is impossible."""

    day: date | None = None
    error: str | None = None
    # How the question names it: a calendar date ("am 24.12."), relative to today ("morgen") or by
    # the name of a weekday or holiday ("am Samstag", "an Heiligabend").
    kind: DayKind | None = None


def clauses(question: str) -> list[str]:
    """The question's clauses, as written: "Wir sind umgezogen, kann ich mich am Montag anmelden?" has two."""
    return [clause for clause in _CLAUSE_END.split(question) if clause.strip()]


def told_in_the_past(clause: str) -> bool:
    """True for a clause that tells what happened ("Wir sind letzten Samstag umgezogen").

    A participle is a word written in lower case: "Welche Gebühren sind am Montag fällig?" holds a
    noun of the same shape.
    """
    folded = fold(clause)
    if _PAST_WORDS.search(folded):
        return True
    if not _PERFECT_AUXILIARY.search(folded):
        return False
    return any(word[:1].islower() and _PARTICIPLE.fullmatch(fold(word)) for word in re.findall(r"\w+", clause))


def asked_clauses(question: str) -> list[str]:
    """The clauses that ask, not those that tell what happened (``told_in_the_past``)."""
    return [clause for clause in clauses(question) if not told_in_the_past(clause)]


def _next_on_or_after(month: int, day: int, today: date) -> date:
    candidate = date(today.year, month, day)
    return candidate if candidate >= today else date(today.year + 1, month, day)


def _holiday_by_name(text: str, today: date, region: str) -> date | None:
    calendar = holiday_calendar(region)
    for year in (today.year, today.year + 1):
        calendar.get(date(year, 1, 1))  # populates that year
        for day, name in sorted(calendar.items()):
            if day >= today and fold(str(name)) in text:
                return day
    return None


def _weekday(text: str, today: date) -> date | None:
    words = re.findall(r"[a-z]+", text.replace("sonnabend", "samstag"))
    for index, word in enumerate(words):
        for number, name in enumerate(WEEKDAYS):
            if word in (name, name + "s"):
                ahead = (number - today.weekday()) % 7
                previous = words[index - 1] if index else ""
                if previous.startswith("uebernaechst"):
                    ahead = ahead + 7 if ahead else 14
                elif previous.startswith("naechst") or previous.startswith("kommend"):
                    ahead = ahead or 7
                return today + timedelta(days=ahead)
        if word == "wochenende":
            return today + timedelta(days=(5 - today.weekday()) % 7)
    return None


def _explicit_date(text: str, today: date) -> AskedDay | None:
    numeric = re.search(r"\b(\d{1,2})\.\s?(\d{1,2})\.(\d{4}|\d{2})?(?!\d)", text)
    named = re.search(r"\b(\d{1,2})\.?\s*(" + "|".join(MONTHS) + r"|maerz)\b\s*(\d{4})?", text)
    if numeric:
        day_s, month_s, year_s = numeric.groups()
    elif named:
        day_s, month_name, year_s = named.groups()
        month_s = str(MONTHS.index(month_name) + 1)
    else:
        return None
    day_n, month_n = int(day_s), int(month_s)
    year_n = int(year_s) + (2000 if year_s and len(year_s) == 2 else 0) if year_s else None
    try:
        if year_n is None:
            return AskedDay(day=_next_on_or_after(month_n, day_n, today), kind="date")
        return AskedDay(day=date(year_n, month_n, day_n), kind="date")
    except ValueError:
        shown = f"{day_n:02d}.{month_n:02d}." + (str(year_n) if year_n else "")
        return AskedDay(error=f"Den {shown} gibt es nicht im Kalender.", kind="date")


def _easter_based(text: str, today: date, region: str) -> date | None:
    if "rosenmontag" not in text:
        return None
    calendar = holiday_calendar(region)
    for year in (today.year, today.year + 1):
        calendar.get(date(year, 1, 1))
        easter_monday = next(d for d, n in calendar.items() if d.year == year and fold(str(n)) == "ostermontag")
        rose_monday = easter_monday - timedelta(days=49)
        if rose_monday >= today:
            return rose_monday
    return None


def asked_day(question: str, today: date, region: str = "NW") -> AskedDay:
    """The day the question asks about; ``AskedDay()`` when it names none.

    A day in a clause told in the past is no day asked about: "Wir sind letzten Samstag umgezogen"
    asks nothing about Saturday.

    Args:
        question: the citizen's text.
        today: the local date of the question.
        region: German state for holiday names ("Fronleichnam").
    """
    for clause in asked_clauses(question):
        found = _day_in_clause(fold(clause), today, region)
        if found.day or found.error:
            return found
    return AskedDay()


def _day_in_clause(text: str, today: date, region: str) -> AskedDay:
    explicit = _explicit_date(text, today)
    if explicit:
        return explicit
    if re.search(r"\bue?bermorgen\b", text):
        return AskedDay(day=today + timedelta(days=2), kind="relative")
    if re.search(r"(?<!heute )\bmorgen\b", text):
        return AskedDay(day=today + timedelta(days=1), kind="relative")
    if re.search(r"\bheute\b", text):
        return AskedDay(day=today, kind="relative")
    for phrase, month_day in FIXED_DAYS.items():
        if month_day and phrase in text:
            return AskedDay(day=_next_on_or_after(*month_day, today), kind="named")
    for finder in (_easter_based, _holiday_by_name):
        found = finder(text, today, region)
        if found:
            return AskedDay(day=found, kind="named")
    weekday = _weekday(text, today)
    if weekday:
        return AskedDay(day=weekday, kind="named")
    return AskedDay()
