"""Actions that answer factual questions from the knowledge service."""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clock import Clock, clock_from_settings
from actions.knowledge_client import Answer, KnowledgeClient, KnowledgeServiceError
from actions.replies import reply_for
from actions.settings import get_settings

logger = logging.getLogger(__name__)

SLOT_SERVICE_ID = "service_id"
SLOT_OFFICE_ID = "office_id"
SLOT_ENTITY_ID = "entity_id"
SLOT_ENTITY_TOPIC = "entity_topic"
# The entries of the last "Meinten Sie ...?": a follow-up without a subject of its own ("Und wie ist
# die Telefonnummer?") is about one of them, so the knowledge base offers them again.
SLOT_CANDIDATES = "candidates"
TOPICS = {"service", "opening_hours", "contact", "fees", "documents", "office", "faq", "auto"}


def context_events(about: dict[str, str | None], current: dict[str, Any]) -> list[EventType]:
    """Slot events that make the answer's service and office the conversation's subject."""
    return [
        SlotSet(slot, about[slot])
        for slot in (SLOT_SERVICE_ID, SLOT_OFFICE_ID)
        if slot in about and about[slot] != current.get(slot)
    ]


class KnowledgeAnswerAction(Action, metaclass=ABCMeta):  # abstract: rasa-sdk registers only its concrete subclasses
    """Asks the knowledge service one question and relays its answer with source and context.

    Subclasses name the topic; `name()` stays abstract here so rasa-sdk does not register the base.
    The question is asked for the moment the clock gives ("is it open now?"); client and clock
    default to the settings, tests pass a fake of each.
    """

    topic: str = "auto"
    # The NLU took the message as out of scope: the knowledge service counts an unknown as a refusal.
    out_of_scope: bool = False
    # The NLU took it for small talk it does not look like: only an answer is recorded (small_talk.py).
    small_talk: bool = False

    def __init__(self, client: KnowledgeClient | None = None, clock: Clock | None = None) -> None:
        self.client = client or KnowledgeClient()
        self.clock = clock or clock_from_settings(get_settings())

    @abstractmethod
    def name(self) -> str:
        """The action's name in domain.yml."""

    def question(self, tracker: Tracker) -> str:
        return str(tracker.latest_message.get("text") or "")

    def entity_id(self, tracker: Tracker) -> str | None:
        return None

    def topic_for(self, tracker: Tracker) -> str:
        return self.topic

    def relay(self, dispatcher: CollectingDispatcher, answer: Answer, topic: str) -> None:
        """Say the knowledge service's answer, question back or honest "I don't know"."""
        dispatcher.utter_message(**reply_for(answer, topic))

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        topic = self.topic_for(tracker)
        try:
            answer, events = await self.ask(tracker, topic)
        except KnowledgeServiceError as error:
            # No user text in the log: it may hold personal data.
            logger.warning("knowledge service failed for topic %s: %s", topic, error)
            dispatcher.utter_message(response="utter_knowledge_unavailable")
            return []
        self.relay(dispatcher, answer, topic)
        return events

    async def ask(self, tracker: Tracker, topic: str) -> tuple[Answer, list[EventType]]:
        """The knowledge service's answer, and the slot events that make it the conversation's subject."""
        context: dict[str, Any] = {
            SLOT_SERVICE_ID: tracker.get_slot(SLOT_SERVICE_ID),
            SLOT_OFFICE_ID: tracker.get_slot(SLOT_OFFICE_ID),
        }
        candidates = tracker.get_slot(SLOT_CANDIDATES) or []
        if candidates:
            context[SLOT_CANDIDATES] = list(candidates)[:3]
        answer = await self.client.answer(
            self.question(tracker),
            topic,
            context=context,
            entity_id=self.entity_id(tracker),
            now=self.clock().isoformat(),
            conversation_id=tracker.sender_id,
            out_of_scope=self.out_of_scope,
            small_talk=self.small_talk,
        )
        events = context_events(answer.context, context)
        offered = [choice.id for choice in answer.choices] if answer.status == "clarify" else []
        if offered != list(candidates):
            events.append(SlotSet(SLOT_CANDIDATES, offered or None))
        return answer, events


class ActionGetServiceInfo(KnowledgeAnswerAction):
    topic = "service"

    def name(self) -> str:
        return "action_get_service_info"


class ActionGetOpeningHours(KnowledgeAnswerAction):
    topic = "opening_hours"

    def name(self) -> str:
        return "action_get_opening_hours"


class ActionGetContact(KnowledgeAnswerAction):
    topic = "contact"

    def name(self) -> str:
        return "action_get_contact"


class ActionGetFees(KnowledgeAnswerAction):
    topic = "fees"

    def name(self) -> str:
        return "action_get_fees"


class ActionGetDocuments(KnowledgeAnswerAction):
    topic = "documents"

    def name(self) -> str:
        return "action_get_documents"


class ActionAnswerFallback(KnowledgeAnswerAction):
    """NLU was unsure: let the search decide between answer, asking back and an honest 'I don't know'."""

    topic = "auto"

    def name(self) -> str:
        return "action_answer_fallback"


class ActionAnswerOutOfScope(KnowledgeAnswerAction):
    """NLU took the message for something the city does not offer: the knowledge base decides.

    Only the knowledge base may say "we don't offer that" (it knows the town's services; the NLU
    only knows how people ask). When it answers or asks back with likely candidates, the citizen
    gets that; when it counts the question as not answered (it does not know, or its candidates are
    unlikely), the refusal names what Kumpel can do, and the knowledge service has recorded the
    question (scrubbed of personal data) for the staff, like every unanswered question.
    """

    topic = "auto"
    out_of_scope = True

    def name(self) -> str:
        return "action_answer_out_of_scope"

    def relay(self, dispatcher: CollectingDispatcher, answer: Answer, topic: str) -> None:
        if answer.status == "unknown" or (answer.status == "clarify" and answer.unanswered):
            dispatcher.utter_message(response="utter_out_of_scope")
            return
        super().relay(dispatcher, answer, topic)
        if answer.status == "clarify":
            # The candidates may all miss a question that really is about something else: say so.
            dispatcher.utter_message(response="utter_out_of_scope_unless_chosen")


class ActionAnswerChoice(KnowledgeAnswerAction):
    """The citizen picked one of the "Meinten Sie ...?" buttons: answer about exactly that entry."""

    def name(self) -> str:
        return "action_answer_choice"

    def entity_id(self, tracker: Tracker) -> str | None:
        return tracker.get_slot(SLOT_ENTITY_ID)

    def topic_for(self, tracker: Tracker) -> str:
        topic = tracker.get_slot(SLOT_ENTITY_TOPIC)
        return topic if topic in TOPICS else "service"

    def question(self, tracker: Tracker) -> str:
        # The payload is no question; the entry id says what to answer about.
        return str(tracker.get_slot(SLOT_ENTITY_ID) or "Auswahl")

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        return events + [SlotSet(SLOT_ENTITY_ID, None), SlotSet(SLOT_ENTITY_TOPIC, None)]
