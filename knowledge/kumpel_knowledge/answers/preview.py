"""Try before you publish: what the bot would answer, with the search's candidates and why.

The preview runs the citizen's answer engine itself (same topic inference, search, retry and
reply texts), so what staff see is what a citizen would read. It differs in two ways only:
nothing is recorded (a preview is not a citizen's question: it must not land in the inbox of
unanswered questions), and an unsaved edit can stand in for the saved entry.

An unsaved edit is validated like a save, written into the request's database transaction and
rolled back afterwards (never committed), and searched in a temporary copy of the index with only
that entry re-embedded (``KnowledgeIndex.with_entry``): the live index and the database stay as
they are, and the cost is one entry's embedding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..core.clock import Clock, system_clock
from ..core.settings import Settings
from ..kb import editing
from ..kb.index import KnowledgeIndex
from ..kb.models import Faq, Office, Service
from ..search.types import SearchExplanation
from .engine import TYPES_BY_TOPIC, AnswerEngine
from .hours import to_local
from .topics import infer_topic, without_fact_words
from .types import Answer, AnswerInput, Topic

EDITABLE_KINDS = editing.KINDS


class _RecordNothingEngine(AnswerEngine):
    """The answer engine without its one side effect: recording unanswered questions for the staff."""

    def _record_unanswered(self, request: AnswerInput, status: str) -> None:
        return None


@dataclass(frozen=True)
class Preview:
    """What the bot would answer and why."""

    question: str
    topic: str  # as inferred from the question (or as given)
    answer: Answer
    # The search for the whole question, and - when the engine searched again with the
    # question's subject words only ("an Heiligabend", "offen" removed) - that second search.
    explanation: SearchExplanation
    retry: SearchExplanation | None
    retry_used: bool
    # The "Meinten Sie" candidate the question names outright ("das Bürgerbüro"): answered directly.
    named_candidate: str | None
    edited: str | None  # "services/svc-x" when an unsaved edit stood in for the saved entry

    @property
    def refused_if_out_of_scope(self) -> bool:
        """When the bot's NLU takes the message for out of scope, it declines exactly these replies."""
        return self.answer.status == "unknown" or (self.answer.status == "clarify" and self.answer.unanswered)


def preview(
    session: Session,
    index: KnowledgeIndex,
    settings: Settings,
    question: str,
    *,
    topic: Topic = "auto",
    clock: Clock = system_clock,
    edit: tuple[str, dict[str, Any]] | None = None,
) -> Preview:
    """Answer ``question`` as the bot would, optionally as if ``edit`` (kind, interchange entry) were saved.

    Raises:
        interchange.KbValidationError: the edit is invalid (nothing was written).
        ValueError: an unknown kind.
    """
    if edit is None:
        return _preview(session, index, settings, question, topic, clock, None)
    kind, entry = edit
    if kind not in EDITABLE_KINDS:
        raise ValueError(f"kind must be one of {EDITABLE_KINDS}, not {kind!r}")
    clean = editing.validate_entry(session, kind, entry)  # the checks of a save, naming the field
    try:
        row = editing.UPSERT[kind](session, clean)
        session.flush()  # the engine reads entries from the database: it must see the edit
        edited_index = index.with_entry(row) if isinstance(row, Service | Office | Faq) else index
        label = f"{kind}/{row.id}"
        return _preview(session, edited_index, settings, question, topic, clock, label)
    finally:
        session.rollback()  # never saved: the edit was only for this preview


def _preview(
    session: Session,
    index: KnowledgeIndex,
    settings: Settings,
    question: str,
    topic: Topic,
    clock: Clock,
    edited: str | None,
) -> Preview:
    now = to_local(clock(), settings.timezone)
    if topic == "auto":
        topic = infer_topic(question, now.date())  # as the engine does, so the search types agree
    types = TYPES_BY_TOPIC.get(topic)
    explanation = index.search.explain(question, types=types, k=5)
    engine = _RecordNothingEngine(session, index, settings, clock)
    retry, retry_used = None, False
    reduced = without_fact_words(question)
    # The engine's own rule: a second search with the subject words only, unless the first one
    # answered or the citizen named one of its "Meinten Sie" candidates outright.
    named = engine._named_candidate(question, explanation.result)  # noqa: SLF001 - the engine's rule, not a copy
    if named is None and explanation.result.status != "answer" and reduced:
        retry = index.search.explain(reduced, types=types, k=5)
        retry_used = retry.result.status == "answer" or (
            retry.result.status == "clarify" and explanation.result.status == "unknown"
        )
    answer = engine.answer(AnswerInput(question=question, topic=topic, now=now))
    named_id = named[0].id if named is not None else None
    return Preview(question, topic, answer, explanation, retry, retry_used, named_id, edited)
