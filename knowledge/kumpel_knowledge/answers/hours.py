"""Opening-hours reasoning: OSM ``opening_hours`` syntax in local time with NRW public holidays.

The weekly pattern is evaluated by ``opening-hours-py`` (a maintained Rust implementation of the OSM
specification). Public holidays come from the ``holidays`` library with the NRW subdivision, because
opening-hours-py's own German calendar only knows nationwide holidays (it keeps Fronleichnam and
Allerheiligen open). All times are naive wall-clock times in the office's zone (Europe/Berlin).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from opening_hours import OpeningHours, ParserError, State  # type: ignore[attr-defined]  # stub omits ParserError

Interval = tuple[datetime, datetime]
SEARCH_DAYS = 60
_PH_OFF = re.compile(r"\bPH\s+(off|closed)\b", re.IGNORECASE)


def validate_opening_hours(expression: str) -> str | None:
    """None when the expression parses, otherwise a short reason."""
    try:
        _parse(expression)
    except (ParserError, SyntaxError, ValueError) as exc:
        return "invalid OSM opening_hours syntax: " + " ".join(str(exc).split())[:200]
    return None


@lru_cache(maxsize=512)
def _parse(expression: str) -> OpeningHours:
    return OpeningHours(expression)


@lru_cache(maxsize=8)
def holiday_calendar(region: str) -> holidays.HolidayBase:
    """German public holidays of one state (e.g. NW), names in German."""
    return holidays.country_holidays("DE", subdiv=region, language="de")


def to_local(moment: datetime, timezone: str) -> datetime:
    """A naive local wall-clock time; naive input is taken as local already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


@dataclass(frozen=True)
class Closure:
    """A period in which the office is closed (from a notice), local time."""

    starts_at: datetime
    ends_at: datetime
    reason: str


@dataclass(frozen=True)
class DaySchedule:
    """The open intervals of one day and, if it is closed for a special reason, that reason."""

    day: date
    intervals: tuple[Interval, ...]
    closed_reason: str | None = None

    @property
    def is_closed_all_day(self) -> bool:
        """No opening at all on this day."""
        return not self.intervals


def _subtract(intervals: list[Interval], closure: Closure) -> list[Interval]:
    result: list[Interval] = []
    for start, end in intervals:
        if closure.ends_at <= start or closure.starts_at >= end:
            result.append((start, end))
            continue
        if start < closure.starts_at:
            result.append((start, closure.starts_at))
        if closure.ends_at < end:
            result.append((closure.ends_at, end))
    return result


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


class OfficeHours:
    """Reasoning about one office's opening hours.

    Args:
        expression: OSM opening_hours, e.g. ``"Mo-Fr 08:00-12:00; Th 14:00-18:00; PH off"``.
        holiday_region: German state code for public holidays (``PH``), e.g. ``"NW"``.
        closures: periods in which notices close the office.
    """

    def __init__(self, expression: str, *, holiday_region: str = "NW", closures: tuple[Closure, ...] = ()) -> None:
        self.expression = expression
        self._oh = _parse(expression)
        self._holidays = holiday_calendar(holiday_region)
        # Only "PH off" closes on holidays; without it the weekly pattern applies as written.
        self._closed_on_holidays = bool(_PH_OFF.search(expression))
        self._closures = closures

    def holiday_name(self, day: date) -> str | None:
        """German name of the public holiday on this day, if any."""
        name = self._holidays.get(day)
        return str(name) if name else None

    def day(self, day: date) -> DaySchedule:
        """Open intervals of one day, with holidays and closures applied."""
        holiday = self.holiday_name(day)
        if holiday and self._closed_on_holidays:
            return DaySchedule(day, (), f"Feiertag: {holiday}")
        start = datetime.combine(day, time())
        end = start + timedelta(days=1)
        intervals = [
            (max(a, start), min(b or end, end))
            for a, b, state, _comment in self._oh.intervals(start, end)
            if state == State.OPEN
        ]
        intervals = _merge(intervals)
        reason = None
        for closure in self._closures:
            if closure.starts_at < end and closure.ends_at > start:
                shortened = _subtract(intervals, closure)
                if intervals and not shortened:
                    reason = closure.reason
                intervals = shortened
        return DaySchedule(day, tuple(intervals), reason)

    def current_interval(self, now: datetime) -> Interval | None:
        """The open interval containing ``now`` (local, naive), if open."""
        for start, end in self.day(now.date()).intervals:
            if start <= now < end:
                # Open past midnight: follow into the next day.
                if end.time() == time():
                    following = self.day(end.date()).intervals
                    if following and following[0][0] == end:
                        return (start, following[0][1])
                return (start, end)
        return None

    def is_open(self, now: datetime) -> bool:
        """Open at this local time."""
        return self.current_interval(now) is not None

    def next_opening(self, after: datetime) -> Interval | None:
        """The first open interval starting at or after ``after`` (within 60 days)."""
        for offset in range(SEARCH_DAYS):
            day = after.date() + timedelta(days=offset)
            for start, end in self.day(day).intervals:
                if start >= after:
                    return (start, end)
        return None
