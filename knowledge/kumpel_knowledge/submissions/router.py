"""HTTP API of form submissions (docs/contracts.md, "Form submissions").

- ``POST /api/v1/submissions`` (action server only: bearer ``KUMPEL_ACTION_TOKEN``, header
  ``Idempotency-Key``): checked against the form's spec (422 naming every failing field, nothing
  stored), then 201 with a new reference, 200 with the same reference for a repeated key with the
  same data, 409 for a key used before for another form or other data.
- ``POST /api/v1/submissions/estimate``: the expected fee from the knowledge base (no data stored).
- ``GET /api/v1/forms/{form}/town``: what a form's texts say about the town (public, no personal data).
- Staff (role ``editor``: submissions hold personal data): list and export (filters: form, from/to
  day, processed), view, mark as processed; every view, export and mark is written to the audit log
  (who and which references, no citizen data). The console calls the same functions (``listing.py``).
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from ..core.clock import Clock
from ..core.deps import get_clock, get_session, get_settings_dep
from ..core.settings import Settings
from ..staff.auth import StaffIdentity, require_role
from . import listing, store
from .estimate import ESTIMATORS
from .forms import FORMS, check_submission, form_town
from .listing import SubmissionFilter
from .models import Submission

router = APIRouter(tags=["submissions"])

MAX_FIELDS = 60
MAX_VALUE_CHARS = 1000
KEY_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,99}$")
Scalar = str | int | float | bool | None


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form: str = Field(min_length=1, max_length=80)
    data: dict[str, Scalar]
    language: Literal["de", "en"] = "de"

    @field_validator("form")
    @classmethod
    def known_form(cls, value: str) -> str:
        if value not in FORMS:
            raise ValueError(f"unknown form; known: {', '.join(sorted(FORMS))}")
        return value

    @field_validator("data")
    @classmethod
    def flat_and_small(cls, value: dict[str, Scalar]) -> dict[str, Scalar]:
        if not value:
            raise ValueError("data must not be empty")
        if len(value) > MAX_FIELDS:
            raise ValueError(f"at most {MAX_FIELDS} fields")
        for key, item in value.items():
            if not KEY_PATTERN.match(key):
                raise ValueError(f"invalid field name {key[:40]!r}")
            if isinstance(item, str) and len(item) > MAX_VALUE_CHARS:
                raise ValueError(f"field {key} is longer than {MAX_VALUE_CHARS} characters")
        return value


class SubmissionCreated(BaseModel):
    reference: str
    form: str
    created_at: str


class EstimateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form: str = Field(min_length=1, max_length=80)
    data: dict[str, Scalar] = Field(default_factory=dict, max_length=MAX_FIELDS)


def require_action_token(
    authorization: Annotated[str | None, Header()] = None,
    settings: Settings = Depends(get_settings_dep),
) -> None:
    """Only the action server (holder of KUMPEL_ACTION_TOKEN) may store submissions."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token or not secrets.compare_digest(token, settings.action_token):
        raise HTTPException(status_code=401, detail="action token required", headers={"WWW-Authenticate": "Bearer"})


# Submissions hold personal data: editors and admins only.
STAFF_ROLE = "editor"
staff_user = require_role(STAFF_ROLE)


@router.post("/api/v1/submissions", status_code=201, response_model=SubmissionCreated)
def create_submission(
    body: SubmissionIn,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    _token: None = Depends(require_action_token),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
    clock: Clock = Depends(get_clock),
) -> SubmissionCreated:
    """Store a confirmed form exactly once per idempotency key."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > 300:
        raise HTTPException(status_code=400, detail="Idempotency-Key header (1-300 characters) required")
    now = clock()
    problems = check_submission(session, body.form, dict(body.data), now.astimezone(ZoneInfo(settings.timezone)).date())
    if problems:
        # Shaped like FastAPI's own 422s (loc, msg, type); field names only, never a submitted value.
        raise HTTPException(
            status_code=422,
            detail=[
                {"loc": ["body", "data", problem.field], "msg": problem.message, "type": problem.code}
                for problem in problems
            ],
        )
    try:
        stored = store.store_submission(
            session,
            form=body.form,
            data=dict(body.data),
            language=body.language,
            idempotency_key=key,
            retention_days=settings.submission_retention_days,
            city_timezone=settings.timezone,
            now=now,
        )
    except store.IdempotencyConflict as conflict:
        raise HTTPException(status_code=409, detail=f"Idempotency-Key was used for {conflict.reason}") from None
    if not stored.created:
        response.status_code = 200
    record = store.submission_dict(stored.submission, with_data=False)
    return SubmissionCreated(reference=record["reference"], form=record["form"], created_at=record["created_at"])


@router.post("/api/v1/submissions/estimate")
def estimate(body: EstimateIn, session: Session = Depends(get_session)) -> dict[str, Any]:
    """The expected fee of a form (only the dog tax has one); 404 when none can be computed."""
    estimator = ESTIMATORS.get(body.form)
    result = estimator(session, dict(body.data)) if estimator else None
    if result is None:
        raise HTTPException(status_code=404, detail="no estimate for this form")
    return result


@router.get("/api/v1/forms/{form}/town")
def get_form_town(form: str, session: Session = Depends(get_session)) -> dict[str, Any]:
    """The town's facts a form's texts need: ``town``, ``city``, ``postcodes``, ``email``, ``office``
    (the e-mail and name of the office responsible for the form's service); 404 for an unknown form."""
    town = form_town(session, form)
    if town is None:
        raise HTTPException(status_code=404, detail="unknown form")
    return town


def submission_filter(
    form: Annotated[str | None, Query(max_length=80, description="only this form")] = None,
    date_from: Annotated[
        date | None, Query(alias="from", description="received on or after this day (city time)")
    ] = None,
    date_to: Annotated[date | None, Query(alias="to", description="received on or before this day (city time)")] = None,
    processed: Annotated[bool | None, Query(description="true: only processed ones; false: only open ones")] = None,
) -> SubmissionFilter:
    """The list and export filters of the query string (the console's filter form has the same names)."""
    return SubmissionFilter(form=form or None, date_from=date_from, date_to=date_to, processed=processed)


@router.get("/api/v1/submissions")
def list_submissions(
    flt: SubmissionFilter = Depends(submission_filter),
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    user: StaffIdentity = Depends(staff_user),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
) -> dict[str, Any]:
    """Staff: the newest submissions first (without their data; open one to see it)."""
    total, rows = listing.list_page(session, flt, settings.timezone, limit, offset)
    return {"total": total, "items": [store.submission_dict(row, with_data=False) for row in rows]}


@router.get("/api/v1/submissions/export")
def export_submissions(
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    flt: SubmissionFilter = Depends(submission_filter),
    user: StaffIdentity = Depends(staff_user),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    """Staff: every stored submission matching the filters as JSON or CSV (semicolon, UTF-8)."""
    return listing.export_response(session, user, listing.export_rows(session, flt, settings.timezone), format)


def _existing(session: Session, reference: str) -> Submission:
    row = listing.find(session, reference)
    if row is None:
        raise HTTPException(status_code=404, detail="no such submission")
    return row


@router.get("/api/v1/submissions/{reference}")
def get_submission(
    reference: str,
    user: StaffIdentity = Depends(staff_user),
    session: Session = Depends(get_session),
) -> Response:
    """Staff: one submission with its data."""
    row = _existing(session, reference)
    listing.audit_access(session, user, "view", [row.reference])
    return Response(
        json.dumps(store.submission_dict(row), ensure_ascii=False),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@router.post("/api/v1/submissions/{reference}/processed")
def mark_submission_processed(
    reference: str,
    response: Response,
    user: StaffIdentity = Depends(staff_user),
    session: Session = Depends(get_session),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """Staff: mark a submission as processed (200 with its record, without data; the first mark stays)."""
    row = _existing(session, reference)
    listing.mark_processed(session, user, row, clock())
    response.headers["Cache-Control"] = "no-store"
    return store.submission_dict(row, with_data=False)
