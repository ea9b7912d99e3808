"""Natural German sentences about opening hours ("Das Bürgerbüro hat heute bis 18:00 Uhr geöffnet.")."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from .hours import DaySchedule, Interval, OfficeHours

WEEKDAY_NAMES = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
_OSM_DAYS = {"Mo": "Mo", "Tu": "Di", "We": "Mi", "Th": "Do", "Fr": "Fr", "Sa": "Sa", "Su": "So"}


def clock(moment: datetime) -> str:
    """'8:00', '18:30' (no leading zero, as people write it)."""
    return f"{moment.hour}:{moment.minute:02d}"


def day_label(day: date) -> str:
    """'Montag, 28.12.'"""
    return f"{WEEKDAY_NAMES[day.weekday()]}, {day.day:02d}.{day.month:02d}."


def relative_day(day: date, today: date) -> str:
    """'heute', 'morgen' or 'am Montag, 28.12.'"""
    offset = (day - today).days
    if offset == 0:
        return "heute"
    if offset == 1:
        return "morgen"
    return f"am {day_label(day)}"


def spans(intervals: tuple[Interval, ...] | list[Interval]) -> str:
    """'von 8:00 bis 12:00 Uhr und von 14:00 bis 18:00 Uhr'"""
    return " und ".join(f"von {clock(a)} bis {clock(b)} Uhr" for a, b in intervals)


def capitalize_first(text: str) -> str:
    """Upper-case the first letter only ("das Bürgerbüro" -> "Das Bürgerbüro")."""
    return text[:1].upper() + text[1:]


def weekly_overview(expression: str) -> str:
    """A readable German rendering of an OSM expression.

    'Mo-Fr 08:00-12:00; PH off' -> 'Mo-Fr 8:00-12:00 Uhr; an Feiertagen geschlossen'.
    """
    parts = []
    for rule in (r.strip() for r in expression.split(";")):
        if not rule:
            continue
        if re.fullmatch(r"PH\s+(off|closed)", rule, flags=re.IGNORECASE):
            parts.append("an Feiertagen geschlossen")
            continue
        rule = re.sub(r"\b(Mo|Tu|We|Th|Fr|Sa|Su)\b", lambda m: _OSM_DAYS[m.group(1)], rule)
        rule = re.sub(r"\b0(\d):", r"\1:", rule)
        rule = re.sub(r"\b(off|closed)\b", "geschlossen", rule)
        parts.append(rule + (" Uhr" if re.search(r"\d:\d\d$", rule) else ""))
    return "; ".join(parts)


def _next_opening_sentence(hours: OfficeHours, after: datetime) -> str:
    upcoming = hours.next_opening(after)
    if upcoming is None:
        return " In den nächsten Wochen ist keine Öffnung eingetragen."
    start = upcoming[0]
    return f" Nächste Öffnung: {day_label(start.date())}, {clock(start)} Uhr."


def describe_now(subject: str, hours: OfficeHours, now: datetime) -> str:
    """Open now? Until when? Otherwise when next.

    Args:
        subject: the office in a sentence, with article ("das Bürgerbüro").
        hours: the office's hours.
        now: local naive time.
    """
    name = capitalize_first(subject)
    today = hours.day(now.date())
    current = hours.current_interval(now)
    if current is not None:
        text = f"{name} hat heute bis {clock(current[1])} Uhr geöffnet."
        later = [iv for iv in today.intervals if iv[0] > current[1]]
        if later:
            text += f" Danach wieder {spans(later)}."
        return text
    later_today = [iv for iv in today.intervals if iv[0] > now]
    if later_today:
        return f"{name} ist gerade geschlossen und hat heute noch {spans(later_today)} geöffnet."
    if today.closed_reason:
        return f"{name} ist heute geschlossen ({today.closed_reason})." + _next_opening_sentence(hours, now)
    if today.intervals:
        return f"{name} hat heute nicht mehr geöffnet." + _next_opening_sentence(hours, now)
    return f"{name} ist heute geschlossen." + _next_opening_sentence(hours, now)


def describe_day(subject: str, hours: OfficeHours, day: date, now: datetime) -> str:
    """The hours of one asked day ("am Samstag", "an Heiligabend")."""
    name = capitalize_first(subject)
    schedule: DaySchedule = hours.day(day)
    label = relative_day(day, now.date())
    if schedule.intervals:
        return f"{name} hat {label} {spans(schedule.intervals)} geöffnet."
    reason = f" ({schedule.closed_reason})" if schedule.closed_reason else ""
    after = max(now, datetime.combine(day + timedelta(days=1), datetime.min.time()))
    return f"{name} ist {label} geschlossen{reason}." + _next_opening_sentence(hours, after)
