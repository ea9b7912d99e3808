"""``POST /api/v1/events/form``: the action server reports a form started or cancelled (docs/contracts.md).

Only the action server may report (bearer ``KUMPEL_ACTION_TOKEN``, as for submissions): anyone else
could inflate the counts. Submitted forms are counted from the submissions table, not reported here.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from ..core.clock import Clock
from ..core.deps import get_clock, get_session, get_settings_dep
from ..core.settings import Settings
from ..submissions.forms import FORMS
from ..submissions.router import require_action_token
from .record import record_form_event

router = APIRouter(prefix="/api/v1/events", tags=["stats"])


class FormEventIn(BaseModel):
    """One form event; no conversation id and no form data: it is only counted."""

    model_config = ConfigDict(extra="forbid")

    form: str = Field(min_length=1, max_length=80)
    event: Literal["started", "cancelled"]

    @field_validator("form")
    @classmethod
    def known_form(cls, value: str) -> str:
        if value not in FORMS:
            raise ValueError(f"unknown form; known: {', '.join(sorted(FORMS))}")
        return value


@router.post("/form", status_code=204, dependencies=[Depends(require_action_token)])
def report_form_event(
    body: FormEventIn,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
    clock: Clock = Depends(get_clock),
) -> None:
    """Count one form started or cancelled in the chat."""
    record_form_event(session, now=clock(), city_timezone=settings.timezone, form=body.form, event=body.event)
