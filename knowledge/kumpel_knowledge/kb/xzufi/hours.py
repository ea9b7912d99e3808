"""Structured XZuFi opening hours (weekday with from/to times) as OSM ``opening_hours`` syntax.

The result is checked by the same parser the bot answers with (``answers.hours``), so an office
imported with hours can always be asked "Ist das Bürgerbüro jetzt offen?".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ...answers.hours import validate_opening_hours

# XZuFi numbers the weekdays from Monday (1) to Sunday (7); codes come with or without a leading zero.
OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)(:[0-5]\d(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$")


class HoursError(ValueError):
    """A structured opening time that cannot be expressed (bad weekday, time or interval)."""


@dataclass(frozen=True)
class DayHours:
    """One weekday's opening interval, as the export states it."""

    weekday_code: str
    start: str
    end: str


def weekday_index(code: str) -> int:
    """0 (Monday) to 6 (Sunday) for an XZuFi weekday code "1".."7" / "01".."07".

    Raises:
        HoursError: the code names no weekday.
    """
    stripped = code.strip()
    if not stripped.isdigit() or not 1 <= int(stripped) <= 7:
        raise HoursError(f"weekday code {code!r} is not 1 (Monday) to 7 (Sunday)")
    return int(stripped) - 1


def osm_time(value: str) -> str:
    """'08:00:00' or '08:00' (xs:time, the zone dropped: hours are local time) as '08:00'.

    Raises:
        HoursError: not a time of day.
    """
    match = _TIME.match(value.strip())
    if not match:
        raise HoursError(f"{value!r} is not a time of day (HH:MM or HH:MM:SS)")
    return f"{match.group(1)}:{match.group(2)}"


def to_osm(days: Sequence[DayHours]) -> str:
    """The OSM expression for the intervals: 'Mo,We 08:00-12:00; Tu 08:00-12:00,14:00-18:00'.

    Weekdays with the same intervals are joined, consecutive ones as a range (Mo-Fr).

    Raises:
        HoursError: a weekday or time is invalid, an interval ends before it starts, or the result
            does not parse as OSM syntax.
    """
    per_day: dict[int, list[tuple[str, str]]] = {}
    for day in days:
        index = weekday_index(day.weekday_code)
        start, end = osm_time(day.start), osm_time(day.end)
        if end <= start:
            raise HoursError(f"the interval {start}-{end} ends before it starts")
        per_day.setdefault(index, []).append((start, end))
    if not per_day:
        return ""
    groups: dict[str, list[int]] = {}
    for index in sorted(per_day):
        intervals = ",".join(f"{start}-{end}" for start, end in sorted(set(per_day[index])))
        groups.setdefault(intervals, []).append(index)
    rules = sorted(((indices, intervals) for intervals, indices in groups.items()), key=lambda rule: rule[0][0])
    expression = "; ".join(f"{_day_selector(indices)} {intervals}" for indices, intervals in rules)
    problem = validate_opening_hours(expression)
    if problem:
        raise HoursError(problem)
    return expression


def _day_selector(indices: list[int]) -> str:
    """'Mo-We,Fr' for [0, 1, 2, 4]: runs of three or more days as a range, shorter ones listed."""
    runs: list[list[int]] = []
    for index in indices:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{OSM_DAYS[run[0]]}-{OSM_DAYS[run[-1]]}")
        else:
            parts.extend(OSM_DAYS[i] for i in run)
    return ",".join(parts)
