"""Storing submissions exactly once, references, listing, export rows and the retention purge."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .forms import FORMS
from .models import Submission

# Spreadsheet programs run cells starting with these as formulas (CSV injection, OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class IdempotencyConflict(Exception):
    """The key was used before for another form or with other data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def same_data(stored: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """Whether a retry carries the data of the first request (as JSON: ``True`` is not ``1``)."""
    return json.dumps(stored, sort_keys=True) == json.dumps(incoming, sort_keys=True)


@dataclass(frozen=True)
class Stored:
    submission: Submission
    created: bool


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def store_submission(
    session: Session,
    *,
    form: str,
    data: dict[str, Any],
    language: str,
    idempotency_key: str,
    retention_days: int,
    city_timezone: str,
    now: datetime,
) -> Stored:
    """Store a submission once per idempotency key; a repeated key returns the first record.

    A repeated key must carry the same form and data (a retry); anything else is IdempotencyConflict,
    so a key can neither hide a second submission nor tell whether another one exists.

    The reference (``HST-2026-000123``) is derived from the row id inside the same transaction, so
    concurrent submissions never share a number and a failed insert leaves no record behind.
    The year in the reference is the year in the city's time zone at ``now``.
    """
    existing = session.scalar(select(Submission).where(Submission.idempotency_key == idempotency_key))
    if existing is not None:
        return Stored(_the_same(existing, form, data), created=False)
    created_at = now
    submission = Submission(
        reference=f"tmp-{uuid.uuid4().hex}",
        form=form,
        idempotency_key=idempotency_key,
        data=data,
        language=language,
        created_at=created_at,
        expires_at=created_at + timedelta(days=retention_days),
    )
    session.add(submission)
    try:
        session.flush()
        year = created_at.astimezone(ZoneInfo(city_timezone)).year
        submission.reference = f"{FORMS[form].prefix}-{year}-{submission.id:06d}"
        session.commit()
    except IntegrityError:
        # The same key arrived twice at the same moment: the other request stored it.
        session.rollback()
        existing = session.scalar(select(Submission).where(Submission.idempotency_key == idempotency_key))
        if existing is None:
            raise
        return Stored(_the_same(existing, form, data), created=False)
    return Stored(submission, created=True)


def _the_same(existing: Submission, form: str, data: dict[str, Any]) -> Submission:
    """The stored record for a retry of it; IdempotencyConflict when the key was used otherwise."""
    if existing.form != form:
        raise IdempotencyConflict("another form")
    if not same_data(existing.data, data):
        raise IdempotencyConflict("other data")
    return existing


def submission_dict(submission: Submission, with_data: bool = True) -> dict[str, Any]:
    record: dict[str, Any] = {
        "reference": submission.reference,
        "form": submission.form,
        "leika_key": FORMS[submission.form].leika_key if submission.form in FORMS else "",
        "created_at": _aware(submission.created_at).isoformat(),
        "expires_at": _aware(submission.expires_at).isoformat(),
        "language": submission.language,
        "processed_at": _aware(submission.processed_at).isoformat() if submission.processed_at else None,
        "processed_by": submission.processed_by,
    }
    if with_data:
        record["data"] = submission.data
    return record


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nein"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def export_csv(submissions: list[Submission]) -> str:
    """One row per submission; data columns named as the forms' export (FIM-aligned) names."""
    data_columns: list[str] = []
    for submission in submissions:
        for key in submission.data:
            if key not in data_columns:
                data_columns.append(key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            "Aktenzeichen",
            "Formular",
            "Leistungsschluessel",
            "Eingangsdatum",
            "Loeschdatum",
            "Bearbeitet_am",
            "Bearbeitet_von",
            *data_columns,
        ]
    )
    for submission in submissions:
        record = submission_dict(submission, with_data=False)
        writer.writerow(
            [
                record["reference"],
                record["form"],
                record["leika_key"],
                record["created_at"],
                record["expires_at"],
                record["processed_at"] or "",
                _csv_cell(record["processed_by"]),
                *[_csv_cell(submission.data.get(column)) for column in data_columns],
            ]
        )
    return buffer.getvalue()


def purge_expired(session: Session, now: datetime) -> int:
    """Delete every submission whose retention ended before ``now``; returns how many were deleted."""
    # A DELETE's result is a CursorResult (it has rowcount); Session.execute is typed as the general Result.
    result = cast("CursorResult[Any]", session.execute(delete(Submission).where(Submission.expires_at < now)))
    session.commit()
    return int(result.rowcount or 0)
