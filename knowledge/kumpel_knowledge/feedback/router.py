"""Thumbs up/down on bot answers: anonymous, validated, rate limited (docs/contracts.md).

Stored per answer: the rating, which knowledge entry answered, a random message id (so one
answer is rated once) and the time. Never a session id, an IP address or conversation text.
A thumbs-down also puts the rated answer's question (scrubbed, kept under the message id by the
answer route) into the staff's inbox (``inbox/recording.py``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.deps import get_session, get_settings_dep
from ..core.net import client_address, cors_headers
from ..core.settings import Settings
from ..inbox import recording as inbox
from ..staff.auth import require_role
from .models import Feedback

router = APIRouter(prefix="/api/v1/feedback", tags=["feedback"])

RATE_LIMIT = 30  # ratings per client and window: far more than a person clicks
RATE_WINDOW_SECONDS = 60.0


class FeedbackIn(BaseModel):
    """One rating from the widget."""

    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    entry_type: Literal["service", "office", "faq", "notice"]
    entry_id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    message_id: str = Field(min_length=16, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")


class FeedbackCreated(BaseModel):
    rating: Literal["up", "down"]
    entry_type: str
    entry_id: str


class EntryRating(BaseModel):
    entry_type: str | None
    entry_id: str | None
    up: int
    down: int


class FeedbackReport(BaseModel):
    total: int
    up: int
    down: int
    entries: list[EntryRating]


class SlidingWindowLimiter:
    """In-process limit per client. Keys are hashed so that no IP address sits in memory dumps."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        key = hashlib.sha256(client.encode("utf-8")).hexdigest()[:16]
        now = time.monotonic()
        with self._lock:
            if len(self._hits) > 10_000:  # forget idle clients instead of growing without bound
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.window}
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True


limiter = SlidingWindowLimiter(RATE_LIMIT, RATE_WINDOW_SECONDS)


@router.options("", include_in_schema=False)
def preflight(request: Request, settings: Settings = Depends(get_settings_dep)) -> Response:
    """CORS preflight for widgets embedded on the city's own site (another origin)."""
    headers = cors_headers(request, settings.allowed_origins)
    if not headers:
        return Response(status_code=403)
    headers.update(
        {
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        }
    )
    return Response(status_code=204, headers=headers)


@router.post("", status_code=201, response_model=FeedbackCreated)
def rate_answer(
    body: FeedbackIn,
    request: Request,
    response: Response,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
) -> FeedbackCreated:
    """Store one anonymous rating. 409 when this message was rated already, 429 when flooding."""
    response.headers.update(cors_headers(request, settings.allowed_origins))
    # Behind the city's proxy every rating comes from the proxy: its X-Forwarded-For names the
    # citizen, but only a configured proxy's header counts (KUMPEL_TRUSTED_PROXIES), else anyone
    # escapes the limit by sending a new made-up address each time.
    client = client_address(request, settings.trusted_proxy_networks)
    if not limiter.allow(client):
        raise HTTPException(status_code=429, detail="Too many ratings, please try again later")
    session.add(
        Feedback(rating=body.rating, entry_type=body.entry_type, entry_id=body.entry_id, message_id=body.message_id)
    )
    if body.rating == "down":
        # Into the staff's inbox with the (scrubbed) question the rated answer was for; one commit
        # with the rating, so a second rating of the message (409) adds no second item either.
        # No autoflush: a duplicate rating must fail at the commit below (409), not in the lookups.
        with session.no_autoflush:
            inbox.record_thumbs_down(session, body.message_id, body.entry_type, body.entry_id)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise HTTPException(status_code=409, detail="This answer was rated already") from None
    return FeedbackCreated(rating=body.rating, entry_type=body.entry_type, entry_id=body.entry_id)


def report(session: Session) -> FeedbackReport:
    """Counts per knowledge entry, most down-votes first: what staff should look at."""
    up = func.sum(case((Feedback.rating == "up", 1), else_=0))
    down = func.sum(case((Feedback.rating == "down", 1), else_=0))
    rows = session.execute(
        select(Feedback.entry_type, Feedback.entry_id, up.label("up"), down.label("down"))
        .group_by(Feedback.entry_type, Feedback.entry_id)
        .order_by(down.desc(), up.asc(), Feedback.entry_id)
    ).all()
    entries = [EntryRating(entry_type=r.entry_type, entry_id=r.entry_id, up=int(r.up), down=int(r.down)) for r in rows]
    total_up = sum(e.up for e in entries)
    total_down = sum(e.down for e in entries)
    return FeedbackReport(total=total_up + total_down, up=total_up, down=total_down, entries=entries)


@router.get("/report", response_model=FeedbackReport, dependencies=[Depends(require_role("viewer"))])
def feedback_report(session: Session = Depends(get_session)) -> FeedbackReport:
    """Staff only: ratings per knowledge entry."""
    return report(session)
