"""``POST /api/v1/answer``: the citizen-facing knowledge answer (docs/contracts.md); what it could not answer.

``GET /api/v1/staff/unanswered`` lists the questions the bot could not answer, for the staff.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..core.clock import Clock
from ..core.deps import get_clock, get_runtime, get_session, get_settings_dep
from ..core.settings import Settings
from ..inbox import recording as inbox
from ..kb.index import KnowledgeIndex, get_index
from ..kb.interchange import KbValidationError
from ..staff.auth import StaffIdentity, require_role
from ..stats import record as stats
from ..submissions.forms import form_match
from .engine import AnswerEngine
from .models import UnansweredQuestion
from .preview import preview
from .types import Answer, AnswerInput, Status, Topic

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["answer"])

EntryId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)]


class AnswerContext(BaseModel):
    """The entry the conversation is about (for follow-ups)."""

    model_config = ConfigDict(extra="ignore")
    service_id: EntryId | None = None
    office_id: EntryId | None = None
    # The entries of the last "Meinten Sie ...?": a follow-up without a subject is about one of them.
    candidates: list[EntryId] = Field(default_factory=list, max_length=3)


class AnswerAbout(BaseModel):
    """What the answer is about, for the next follow-up."""

    service_id: str | None = None
    office_id: str | None = None


class AnswerRequest(BaseModel):
    """A question from the action server."""

    model_config = ConfigDict(extra="ignore")
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    topic: Topic = "auto"
    context: AnswerContext = Field(default_factory=AnswerContext)
    entity_id: EntryId | None = None
    now: datetime | None = None
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")] = "de"
    # The form the NLU wants to start: the answer then says whether the message is about its service.
    form: Annotated[str, StringConstraints(max_length=80)] | None = None
    # The engine's conversation (sender) id: only an HMAC of it under a key of the day is stored, to
    # count conversations per day (stats/record.py); never stored or logged as it is.
    conversation_id: Annotated[str, StringConstraints(max_length=200)] | None = None
    # The NLU took the message as out of scope: an answer the knowledge base does not know is then
    # a refusal ("Dabei kann ich leider nicht helfen"), counted as such.
    out_of_scope: bool = False
    # The NLU took the message for small talk ("Danke", "Abbrechen") but it does not look like it:
    # only an answer or a question back with likely candidates is the citizen's; anything else is
    # small talk after all, not a missed question, and so neither recorded nor counted.
    small_talk: bool = False


class Choice(BaseModel):
    """One "Meinten Sie ...?" candidate."""

    type: str
    id: str
    title: str


class Source(BaseModel):
    """Where the answer's facts come from."""

    title: str
    url: str
    last_reviewed: str


class EntryRef(BaseModel):
    """The entry answered about."""

    type: str
    id: str


class EntryTitle(BaseModel):
    """An entry with its title."""

    id: str
    title: str


class FormMatchOut(BaseModel):
    """Whether a form-start message is about the form's service (submissions.forms.FormMatch)."""

    decision: Literal["yes", "unclear", "no"]
    service: EntryTitle | None = None


class AnswerResponse(BaseModel):
    """The answer (see docs/contracts.md)."""

    status: Status
    text: str
    choices: list[Choice] = []
    source: Source | None = None
    entry: EntryRef | None = None
    context: AnswerAbout
    confidence: float
    unanswered: bool = False
    form_match: FormMatchOut | None = None
    # The random id of this answer for a thumbs up/down (``POST /api/v1/feedback``): the inbox
    # then knows the question a thumbs-down is about. Only for answers about an entry.
    message_id: str | None = None


@router.post("/answer", response_model=AnswerResponse)
async def answer(
    request: AnswerRequest,
    http_request: Request,
    index: KnowledgeIndex = Depends(get_index),
    settings: Settings = Depends(get_settings_dep),
    clock: Clock = Depends(get_clock),
) -> Response:
    """Answer a citizen's question from the knowledge base, ask back, or say honestly it is unknown.

    The hot path of every knowledge turn, so it costs one hand-over to a worker thread (the search
    and the database work block), not one per dependency, and the response is serialised once by
    pydantic (``AnswerResponse`` is still the documented and validated shape).
    """
    sessions = get_runtime(http_request).sessions
    body = await run_in_threadpool(_answer_json, sessions, index, settings, clock, request)
    return Response(body, media_type="application/json")


def _answer_json(
    sessions: sessionmaker[Session],
    index: KnowledgeIndex,
    settings: Settings,
    clock: Clock,
    request: AnswerRequest,
) -> bytes:
    with sessions() as session:
        return _answer(session, index, settings, clock, request).model_dump_json().encode("utf-8")


def _answer(
    session: Session, index: KnowledgeIndex, settings: Settings, clock: Clock, request: AnswerRequest
) -> AnswerResponse:
    engine = AnswerEngine(session, index, settings, clock)
    asked = AnswerInput(
        question=request.question,
        topic=request.topic,
        service_id=request.context.service_id or None,
        office_id=request.context.office_id or None,
        entity_id=request.entity_id or None,
        now=request.now,
        candidates=tuple(request.context.candidates),
    )
    result = engine.answer(asked)
    response = AnswerResponse.model_validate(result, from_attributes=True)
    if request.small_talk and not (result.status == "answer" or (result.status == "clarify" and not result.unanswered)):
        return response  # small talk after all (actions/small_talk.py keeps the same two)
    response.message_id = _record(session, request, asked, result, settings, engine, now=clock())
    if request.form:
        # What the answer is about: its entry and the service it answers for (a contact answer names the office).
        about = [(result.entry or {}).get("id"), (result.context or {}).get("service_id")]
        answered = {entry_id for entry_id in about if entry_id} if result.status == "answer" else set()
        match = form_match(session, request.form, answered, [c["id"] for c in result.choices])
        if match is not None:
            response.form_match = FormMatchOut.model_validate(match, from_attributes=True)
    return response


def _record(
    session: Session,
    request: AnswerRequest,
    asked: AnswerInput,
    result: Answer,
    settings: Settings,
    engine: AnswerEngine,
    *,
    now: datetime,
) -> str | None:
    """Store what staff see of one answer in one commit; return its rateable message id.

    The inbox (what the bot missed, the scrubbed question a rating names) is written first, then the
    dashboard's count in a savepoint (stats/record.py): a failed count never costs the inbox row. If
    the commit fails, the citizen still gets the answer, without an id to rate it by.
    """
    try:
        message_id = inbox.record_answer(
            session,
            request.question,
            asked.topic,  # as the engine inferred it from the question
            result,
            out_of_scope=request.out_of_scope,
            offered=request.context.candidates,
            chosen=bool(request.entity_id),
            now=now,
            scrub_text=engine.scrubbed,  # the question scrubbed once, for the search and the records
        )
        stats.record_answer(
            session,
            now=now,
            city_timezone=settings.timezone,
            status=result.status,
            unanswered=result.unanswered,
            topic=asked.topic,
            entry=result.entry,
            conversation_id=request.conversation_id,
            out_of_scope=request.out_of_scope,
        )
        session.commit()
    except SQLAlchemyError as error:
        session.rollback()
        log.warning("an answer was not recorded: %s", type(error).__name__)  # no question text in logs
        return None
    return message_id


@router.get("/staff/unanswered", tags=["staff"])
def list_unanswered(
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
    _user: StaffIdentity = Depends(require_role("viewer")),
) -> dict[str, Any]:
    """Questions the bot could not answer (already scrubbed of personal data), newest first."""
    total = session.scalar(select(func.count()).select_from(UnansweredQuestion)) or 0
    rows = session.scalars(
        select(UnansweredQuestion).order_by(UnansweredQuestion.id.desc()).limit(limit).offset(offset)
    )
    items = [
        {
            "id": r.id,
            "question": r.question,
            "topic": r.topic,
            "status": r.status,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]
    return {"total": total, "items": items}


# ---- staff preview (console "Vorschau"): what the bot would answer, and why -----------------------


class PreviewEdit(BaseModel):
    """An unsaved edit to try: the entry in interchange shape (kumpel-kb/1) of one kind."""

    kind: Literal["services", "offices", "faqs", "notices"]
    entry: dict[str, Any]


class PreviewRequest(BaseModel):
    """A question to try, optionally as if ``edit`` were saved."""

    model_config = ConfigDict(extra="forbid")
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    topic: Topic = "auto"
    edit: PreviewEdit | None = None


@router.post("/staff/preview", tags=["staff"])
def staff_preview(
    request: PreviewRequest,
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    settings: Settings = Depends(get_settings_dep),
    clock: Clock = Depends(get_clock),
    _user: StaffIdentity = Depends(require_role("viewer")),
) -> dict[str, Any]:
    """The bot's answer to ``question`` with the search's candidates, scores and signals; nothing is recorded.

    With ``edit``, answered as if that entry were saved (validated like a save: 422 naming the
    field); the database and the live index stay unchanged.
    """
    edit = (request.edit.kind, request.edit.entry) if request.edit is not None else None
    try:
        result = preview(session, index, settings, request.question, topic=request.topic, clock=clock, edit=edit)
    except KbValidationError as exc:
        raise HTTPException(422, exc.errors) from exc
    return {
        "question": result.question,
        "topic": result.topic,
        "answer": AnswerResponse.model_validate(result.answer, from_attributes=True).model_dump(),
        "refused_if_out_of_scope": result.refused_if_out_of_scope,
        "explanation": asdict(result.explanation),
        "retry": asdict(result.retry) if result.retry is not None else None,
        "retry_used": result.retry_used,
        "named_candidate": result.named_candidate,
        "edited": result.edited,
    }
