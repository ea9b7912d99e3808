"""Reading submissions for staff: filters, paging, export, "processed", and the audit of every access.

The JSON API (``router.py``) and the staff console (``console/pages/submissions.py``) both call these
functions, so a filter, an export file and an audit entry are the same whichever way staff work.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import Response
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ..staff import audit
from ..staff.auth import StaffIdentity
from . import store
from .models import Submission

REFERENCE_PATTERN = re.compile(r"[A-Z]{2,5}-\d{4}-\d{6,}")
ExportFormat = Literal["json", "csv"]
# An audit entry names at most this many references (a huge export still gets one small entry).
AUDIT_MAX_REFERENCES = 500


@dataclass(frozen=True)
class SubmissionFilter:
    """Which submissions staff look at. Dates are calendar days in the city's time zone, both inclusive."""

    form: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    processed: bool | None = None

    def conditions(self, city_timezone: str) -> list[ColumnElement[bool]]:
        zone = ZoneInfo(city_timezone)
        conditions: list[ColumnElement[bool]] = []
        if self.form:
            conditions.append(Submission.form == self.form)
        if self.date_from is not None:
            conditions.append(Submission.created_at >= datetime.combine(self.date_from, time.min, zone))
        if self.date_to is not None:
            # Up to the end of that day: before the next midnight in the city.
            conditions.append(
                Submission.created_at < datetime.combine(self.date_to + timedelta(days=1), time.min, zone)
            )
        if self.processed is True:
            conditions.append(Submission.processed_at.is_not(None))
        elif self.processed is False:
            conditions.append(Submission.processed_at.is_(None))
        return conditions


def list_page(
    session: Session, flt: SubmissionFilter, city_timezone: str, limit: int, offset: int
) -> tuple[int, list[Submission]]:
    """One page of the filtered submissions, newest first, and how many match in all."""
    conditions = flt.conditions(city_timezone)
    total = session.scalar(select(func.count()).select_from(Submission).where(*conditions))
    rows = session.scalars(
        select(Submission).where(*conditions).order_by(Submission.id.desc()).limit(limit).offset(offset)
    ).all()
    return int(total or 0), list(rows)


def export_rows(session: Session, flt: SubmissionFilter, city_timezone: str) -> list[Submission]:
    """Every filtered submission, oldest first (the order of the export files)."""
    return list(session.scalars(select(Submission).where(*flt.conditions(city_timezone)).order_by(Submission.id)))


def find(session: Session, reference: str) -> Submission | None:
    """The submission with this reference; None for an unknown or malformed one (never a query for junk)."""
    if not REFERENCE_PATTERN.fullmatch(reference):
        return None
    return session.scalar(select(Submission).where(Submission.reference == reference))


def audit_access(session: Session, user: StaffIdentity, action: str, references: list[str]) -> None:
    """Record who viewed or exported which submissions (references only, never their data) and commit."""
    entity_id = references[0] if len(references) == 1 else f"{len(references)} submissions"
    audit.record(session, user, action, "submission", entity_id, {"references": references[:AUDIT_MAX_REFERENCES]})
    session.commit()


def export_response(session: Session, user: StaffIdentity, rows: list[Submission], format: ExportFormat) -> Response:
    """The export file of ``rows`` (JSON, or CSV with semicolons, UTF-8 with BOM, formulas defused); audited."""
    audit_access(session, user, "export", [row.reference for row in rows])
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="kumpel-submissions.{format}"',
    }
    if format == "csv":
        return Response("\ufeff" + store.export_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    payload = json.dumps({"items": [store.submission_dict(row) for row in rows]}, ensure_ascii=False)
    return Response(payload, media_type="application/json", headers=headers)


def mark_processed(session: Session, user: StaffIdentity, submission: Submission, now: datetime) -> bool:
    """Mark a submission as processed by ``user`` (audited, committed); False when it already was.

    The first mark stays: a second click neither moves the date nor changes who dealt with it.
    """
    if submission.processed_at is not None:
        return False
    before: dict[str, Any] = {"processed_at": None, "processed_by": None}
    submission.processed_at = now
    submission.processed_by = user.username
    after = {"processed_at": now.isoformat(), "processed_by": user.username}
    audit.record(session, user, "processed", "submission", submission.reference, {"before": before, "after": after})
    session.commit()
    return True
