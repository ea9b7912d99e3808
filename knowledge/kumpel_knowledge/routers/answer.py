"""``POST /api/v1/answer``: the citizen-facing knowledge answer (docs/contracts.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from ..answering import AnswerEngine, AnswerInput
from ..deps import get_index, get_session, get_settings_dep
from ..index import KnowledgeIndex
from ..settings import Settings

router = APIRouter(prefix="/api/v1", tags=["answer"])

EntryId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)]


class AnswerContext(BaseModel):
    """The entry the conversation is about (for follow-ups)."""

    model_config = ConfigDict(extra="ignore")
    service_id: EntryId | None = None
    office_id: EntryId | None = None


class AnswerRequest(BaseModel):
    """A question from the action server."""

    model_config = ConfigDict(extra="ignore")
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    topic: Literal["service", "opening_hours", "contact", "fees", "documents", "office", "faq", "auto"] = "auto"
    context: AnswerContext = Field(default_factory=AnswerContext)
    entity_id: EntryId | None = None
    now: datetime | None = None
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")] = "de"


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


class AnswerResponse(BaseModel):
    """The answer (see docs/contracts.md)."""

    status: Literal["answer", "clarify", "unknown"]
    text: str
    choices: list[Choice] = []
    source: Source | None = None
    entry: EntryRef | None = None
    context: AnswerContext
    confidence: float


@router.post("/answer", response_model=AnswerResponse)
def answer(
    request: AnswerRequest,
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    settings: Settings = Depends(get_settings_dep),
) -> AnswerResponse:
    """Answer a citizen's question from the knowledge base, ask back, or say honestly it is unknown."""
    engine = AnswerEngine(session, index, settings)
    result = engine.answer(
        AnswerInput(
            question=request.question,
            topic=request.topic,
            service_id=request.context.service_id or None,
            office_id=request.context.office_id or None,
            entity_id=request.entity_id or None,
            now=request.now,
        )
    )
    return AnswerResponse.model_validate(result, from_attributes=True)
