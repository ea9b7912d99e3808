"""Small talk that may be a question: thanks, yes, no, stop, goodbye, "are you a bot", help.

The NLU gives these intents to every message that resembles them, and to some that do not: a short
request for a service can land there ("Ich will einen Imbiss aufmachen" as stop, "abendkurs buchen"
too), and a citizen who asked about a service then read "In Ordnung, ich habe abgebrochen". The NLU
adds how much the message looks like the intent's own examples (bot/nlu_components.py,
``SmallTalkFamiliarity``). A familiar message gets its small-talk reply at once; an unfamiliar one is
asked of the knowledge base first, and only a sure answer replaces the small-talk reply (the
knowledge service records nothing else: small talk is no missed question).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_actions import KnowledgeAnswerAction
from actions.knowledge_client import KnowledgeServiceError
from bot.small_talk import SMALL_TALK_ACTION, small_talk_reply

logger = logging.getLogger(__name__)

# The parse data key of bot.nlu_components.FAMILIARITY_KEY (the action server does not import Rasa).
FAMILIARITY_KEY = "small_talk_familiarity"
# At or above: small talk. Real small talk not in the training data (bench/data/small_talk_holdout.yml)
# mostly scores 0.7-1.0, requests the classifier put there 0.1-0.55; below, the knowledge base must
# also be sure before the reply changes, so a low score alone changes nothing.
FAMILIAR = 0.6


def kept(status: str, unanswered: bool) -> bool:
    """An answer, or a question back with likely candidates, replaces the small-talk reply.

    The same rule as the knowledge service's for ``small_talk`` (answers/router.py), which records nothing else.
    """
    return status == "answer" or (status == "clarify" and not unanswered)


class ActionSmallTalk(KnowledgeAnswerAction):
    """``action_small_talk``: the small-talk reply, unless the knowledge base surely answers the message."""

    topic = "auto"
    small_talk = True

    def name(self) -> str:
        return SMALL_TALK_ACTION

    @staticmethod
    def reply_of(tracker: Tracker) -> str:
        return small_talk_reply((tracker.latest_message.get("intent") or {}).get("name"))

    @staticmethod
    def familiar(tracker: Tracker) -> bool:
        score = tracker.latest_message.get(FAMILIARITY_KEY)
        # No score (a model trained without the component): small talk, as before.
        return not isinstance(score, (int, float)) or score >= FAMILIAR

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        reply = self.reply_of(tracker)
        if self.familiar(tracker):
            dispatcher.utter_message(response=reply)
            return []
        try:
            answer, events = await self.ask(tracker, self.topic)
        except KnowledgeServiceError as error:
            # Small talk needs no knowledge service: the small-talk reply, and a note without the text.
            logger.warning("knowledge service failed for small talk: %s", error)
            dispatcher.utter_message(response=reply)
            return []
        if not kept(answer.status, answer.unanswered):
            dispatcher.utter_message(response=reply)
            return []
        self.relay(dispatcher, answer, self.topic)
        return events
