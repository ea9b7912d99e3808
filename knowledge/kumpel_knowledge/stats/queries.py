"""What the dashboard shows, for a period of the town's calendar days: plain rows, one function per chart.

The page, its CSV downloads and the tests read the same functions, so a chart, its table and its CSV
cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..feedback.models import Feedback
from ..kb.models import Faq, Office, Service
from ..submissions.forms import FORMS
from ..submissions.models import Submission
from .models import ANSWER_KINDS, AnswerEvent, FormEvent

TOP_ENTRIES = 20
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, both days included, in the town's time zone."""

    start: date
    end: date
    city_timezone: str

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """The period as a half-open UTC range, for tables stamped with a time, not a day."""
        zone = ZoneInfo(self.city_timezone)
        first = datetime.combine(self.start, time(0), zone).astimezone(timezone.utc)
        after = datetime.combine(self.end + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
        return first, after


@dataclass(frozen=True)
class DayTraffic:
    day: date
    conversations: int
    questions: int


@dataclass(frozen=True)
class DayOutcomes:
    day: date
    answered: int
    clarify: int
    unknown: int
    refused: int


@dataclass(frozen=True)
class EntryCount:
    entry_type: str
    entry_id: str
    title: str
    questions: int


@dataclass(frozen=True)
class EntryRatings:
    entry_type: str
    entry_id: str
    title: str
    up: int
    down: int


@dataclass(frozen=True)
class FormCounts:
    form: str
    title: str
    started: int
    submitted: int
    cancelled: int


@dataclass(frozen=True)
class HourCount:
    weekday: int  # 0 = Monday
    hour: int  # 0-23, town time
    questions: int


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def traffic_per_day(session: Session, period: Period) -> list[DayTraffic]:
    """Conversations (distinct anonymous keys) and questions per day, every day of the period."""
    rows = session.execute(
        select(AnswerEvent.day, func.count(func.distinct(AnswerEvent.conversation_key)), func.count())
        .where(AnswerEvent.day.between(period.start, period.end))
        .group_by(AnswerEvent.day)
    ).all()
    found = {row[0]: (int(row[1]), int(row[2])) for row in rows}
    return [DayTraffic(day, *found.get(day, (0, 0))) for day in period.days]


def outcomes_per_day(session: Session, period: Period) -> list[DayOutcomes]:
    """Answered / asked back / unknown / refused per day."""
    rows = session.execute(
        select(AnswerEvent.day, AnswerEvent.kind, func.count())
        .where(AnswerEvent.day.between(period.start, period.end))
        .group_by(AnswerEvent.day, AnswerEvent.kind)
    ).all()
    counts: dict[tuple[date, str], int] = {(row[0], row[1]): int(row[2]) for row in rows}
    return [DayOutcomes(day, *(counts.get((day, kind), 0) for kind in ANSWER_KINDS)) for day in period.days]


def entry_titles(session: Session, refs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The current title of each (type, id); an entry deleted since keeps its id as title."""
    titles: dict[tuple[str, str], str] = {}
    for entry_type, model in (("service", Service), ("office", Office)):
        ids = {entry_id for kind, entry_id in refs if kind == entry_type}
        if ids:
            for entry_id, name in session.execute(select(model.id, model.name).where(model.id.in_(ids))):
                titles[(entry_type, entry_id)] = name
    faq_ids = {entry_id for kind, entry_id in refs if kind == "faq"}
    if faq_ids:
        for faq in session.scalars(select(Faq).where(Faq.id.in_(faq_ids))):
            titles[("faq", faq.id)] = str(faq.questions[0]) if faq.questions else faq.id
    return {ref: titles.get(ref, ref[1]) for ref in refs}


def top_entries(session: Session, period: Period, limit: int = TOP_ENTRIES) -> list[EntryCount]:
    """The entries answered about most often (services, offices, FAQ), most first."""
    questions = func.count().label("questions")
    rows = session.execute(
        select(AnswerEvent.entry_type, AnswerEvent.entry_id, questions)
        .where(AnswerEvent.day.between(period.start, period.end), AnswerEvent.entry_id.is_not(None))
        .group_by(AnswerEvent.entry_type, AnswerEvent.entry_id)
        .order_by(questions.desc(), AnswerEvent.entry_id)
        .limit(limit)
    ).all()
    titles = entry_titles(session, {(str(r[0]), str(r[1])) for r in rows})
    return [EntryCount(str(r[0]), str(r[1]), titles[(str(r[0]), str(r[1]))], int(r[2])) for r in rows]


def ratings_per_entry(session: Session, period: Period) -> list[EntryRatings]:
    """Thumbs up and down per entry in the period, most down-votes first (what staff should look at)."""
    first, after = period.utc_bounds()
    up = func.sum(case((Feedback.rating == "up", 1), else_=0))
    down = func.sum(case((Feedback.rating == "down", 1), else_=0))
    rows = session.execute(
        select(Feedback.entry_type, Feedback.entry_id, up, down)
        .where(Feedback.created_at >= first, Feedback.created_at < after, Feedback.entry_id.is_not(None))
        .group_by(Feedback.entry_type, Feedback.entry_id)
        .order_by(down.desc(), up.asc(), Feedback.entry_id)
    ).all()
    titles = entry_titles(session, {(str(r[0]), str(r[1])) for r in rows})
    return [EntryRatings(str(r[0]), str(r[1]), titles[(str(r[0]), str(r[1]))], int(r[2]), int(r[3])) for r in rows]


def forms_per_form(session: Session, period: Period) -> list[FormCounts]:
    """Per form: started and cancelled (reported by the action server) and submitted (stored submissions).

    Submitted counts come from the submissions themselves, so they shrink once submissions reach
    the end of their retention (``KUMPEL_SUBMISSION_RETENTION_DAYS``).
    """
    events = session.execute(
        select(FormEvent.form, FormEvent.event, func.count())
        .where(FormEvent.day.between(period.start, period.end))
        .group_by(FormEvent.form, FormEvent.event)
    ).all()
    counts: Counter[tuple[str, str]] = Counter({(row[0], row[1]): int(row[2]) for row in events})
    first, after = period.utc_bounds()
    for form, submitted in session.execute(
        select(Submission.form, func.count())
        .where(Submission.created_at >= first, Submission.created_at < after)
        .group_by(Submission.form)
    ):
        counts[(form, "submitted")] = int(submitted)
    forms = sorted({form for form, _ in counts} | set(FORMS))
    return [
        FormCounts(
            form,
            FORMS[form].title if form in FORMS else form,
            counts[(form, "started")],
            counts[(form, "submitted")],
            counts[(form, "cancelled")],
        )
        for form in forms
    ]


def busiest_hours(session: Session, period: Period) -> list[HourCount]:
    """Questions per weekday and hour of the day (town time): all 7 x 24 cells."""
    rows = session.execute(
        select(AnswerEvent.hour, func.count())
        .where(AnswerEvent.day.between(period.start, period.end))
        .group_by(AnswerEvent.hour)
    ).all()
    zone = ZoneInfo(period.city_timezone)
    cells: Counter[tuple[int, int]] = Counter()
    for hour, count in rows:
        local = _as_utc(hour).astimezone(zone)
        cells[(local.weekday(), local.hour)] += int(count)
    return [HourCount(weekday, hour, cells[(weekday, hour)]) for weekday in range(7) for hour in range(24)]
