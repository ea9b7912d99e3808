"""HTTP API of form submissions (docs/contracts.md, "Form submissions").

- ``POST /api/v1/submissions`` (action server only: bearer ``KUMPEL_ACTION_TOKEN``, header
  ``Idempotency-Key``): checked against the form's spec (422 naming every failing field, nothing
  stored), then 201 with a new reference, 200 with the same reference for a repeated key with the
  same data, 409 for a key used before for another form or other data.
- ``POST /api/v1/submissions/estimate``: the expected fee from the knowledge base (no data stored).
- ``GET /api/v1/forms/{form}/town``: what a form's texts say about the town (public, no personal data).
- Staff (role ``editor``: submissions hold personal data): list, view, export as JSON or CSV;
  every view and export is written to the audit log (who and which references, no citizen data).
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.clock import Clock
from ..core.deps import get_clock, get_session, get_settings_dep
from ..core.settings import Settings
from ..staff import audit
from ..staff.auth import StaffIdentity, require_role
from . import store
from .estimate import ESTIMATORS
from .forms import FORMS, check_submission, form_town
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


def _audit(session: Session, user: StaffIdentity, action: str, references: list[str]) -> None:
    """Record who viewed or exported which submissions (references only, never their data)."""
    entity_id = references[0] if len(references) == 1 else f"{len(references)} submissions"
    audit.record(session, user, action, "submission", entity_id, {"references": references[:500]})
    session.commit()


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


@router.get("/api/v1/submissions")
def list_submissions(
    form: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    user: StaffIdentity = Depends(staff_user),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Staff: the newest submissions first (without their data; open one to see it)."""
    total, rows = store.list_submissions(session, form, limit, offset)
    return {"total": total, "items": [store.submission_dict(row, with_data=False) for row in rows]}


@router.get("/api/v1/submissions/export")
def export_submissions(
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    form: Annotated[str | None, Query(max_length=80)] = None,
    user: StaffIdentity = Depends(staff_user),
    session: Session = Depends(get_session),
) -> Response:
    """Staff: every stored submission (optionally of one form) as JSON or CSV (semicolon, UTF-8)."""
    query = select(Submission).order_by(Submission.id)
    if form:
        query = query.where(Submission.form == form)
    rows = list(session.scalars(query).all())
    _audit(session, user, "export", [row.reference for row in rows])
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="kumpel-submissions.{format}"',
    }
    if format == "csv":
        return Response("\ufeff" + store.export_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    payload = json.dumps({"items": [store.submission_dict(row) for row in rows]}, ensure_ascii=False)
    return Response(payload, media_type="application/json", headers=headers)


@router.get("/api/v1/submissions/{reference}")
def get_submission(
    reference: str,
    user: StaffIdentity = Depends(staff_user),
    session: Session = Depends(get_session),
) -> Response:
    """Staff: one submission with its data."""
    if not re.fullmatch(r"[A-Z]{2,5}-\d{4}-\d{6,}", reference):
        raise HTTPException(status_code=404, detail="no such submission")
    row = session.scalar(select(Submission).where(Submission.reference == reference))
    if row is None:
        raise HTTPException(status_code=404, detail="no such submission")
    _audit(session, user, "view", [row.reference])
    return Response(
        json.dumps(store.submission_dict(row), ensure_ascii=False),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
