"""Starting a form: only when the citizen asks to do the thing and the knowledge base agrees.

The NLU's ``start_<form>`` intent goes by wording ("abmelden", "anmelden"), so "kfz abmelden" or
"eheschliesung anmelden" would start a dog-tax form with its privacy notice. Here the message is
asked of the knowledge base first (topic "service", naming the form):

- about the form's service and a verb of doing in it (the spec's ``start.words``): the form starts;
- about another service ("no"): the citizen gets that answer, no form;
- unclear (the form's service among the candidates, not known, or no verb of doing, as in
  "Hundesteuer für einen Hund"): one short question with a button to start the form and one for
  information only;
- a form whose service the knowledge base cannot check (no LeiKa key, as the water-meter reading): it
  starts on a verb of doing, and a question how it is done gets the same short question.

A button (a payload such as ``/start_dog_tax_registration``, or the start button of that question)
is the citizen's own choice and starts the form at once.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clock import Clock, clock_from_settings
from actions.knowledge_actions import SLOT_SERVICE_ID, context_events
from actions.knowledge_client import Answer, KnowledgeClient, KnowledgeServiceError
from actions.replies import choice_payload, reply_for
from actions.settings import get_settings
from kumpel_forms.spec import FormSpec, load_spec

logger = logging.getLogger(__name__)

START_INTENT_PREFIX = "start_"
# Set by the start button of the question back: the citizen has chosen to start this form.
SLOT_FORM_CONFIRMED = "form_confirmed"


def start_payload(form: str) -> str:
    """Payload of the button that starts ``form`` without asking again."""
    return f"/{START_INTENT_PREFIX}{form}" + json.dumps({SLOT_FORM_CONFIRMED: form})


class ActionStartForm(Action):
    """``action_start_form``: start the form of the ``start_<form>`` intent, answer or ask instead."""

    def __init__(self, client: KnowledgeClient | None = None, clock: Clock | None = None) -> None:
        self.client = client or KnowledgeClient()
        self.clock = clock or clock_from_settings(get_settings())

    def name(self) -> str:
        return "action_start_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
        spec = load_spec(intent.removeprefix(START_INTENT_PREFIX))
        text = str(tracker.latest_message.get("text") or "")
        start: list[EventType] = [SlotSet(SLOT_FORM_CONFIRMED, None), FollowupAction(spec.loop_name)]
        if spec.start is None or text.startswith("/") or tracker.get_slot(SLOT_FORM_CONFIRMED) == spec.form:
            return start
        try:
            answer = await self.client.answer(text, "service", now=self.clock().isoformat(), form=spec.form)
        except KnowledgeServiceError as error:
            # Without the knowledge base the form still collects and submits later (retry rule).
            logger.warning("knowledge service failed before starting %s: %s", spec.form, error)
            return start
        match = answer.form_match
        if match is None:
            # The knowledge base cannot check this form's service (it has no LeiKa key), but a question how
            # it is done ("Wie gebe ich den Zählerstand durch?") still wants to know first: ask, with the
            # answer the knowledge base found as the information button.
            if spec.start.asked_to_do(text):
                return start
            self._ask(dispatcher, spec, _answered_service(answer))
            return [SlotSet(SLOT_FORM_CONFIRMED, None)]
        if match.decision == "yes" and spec.start.asked_to_do(text):
            # The conversation is now about the form's service: "Was kostet das?" afterwards is about it.
            return [*start, SlotSet(SLOT_SERVICE_ID, match.service_id)] if match.service_id else start
        if match.decision == "no":
            dispatcher.utter_message(**reply_for(answer, "service"))
            # The start sent no context: set what the answer is about, leave the rest as it was.
            return [SlotSet(SLOT_FORM_CONFIRMED, None), *context_events(answer.context, {})]
        self._ask(dispatcher, spec, match.service_id)
        return [SlotSet(SLOT_FORM_CONFIRMED, None)]

    @staticmethod
    def _ask(dispatcher: CollectingDispatcher, spec: FormSpec, service_id: str | None) -> None:
        assert spec.start is not None
        buttons = [{"title": spec.start.button, "payload": start_payload(spec.form)}]
        if service_id:
            buttons.append({"title": spec.start.info_button, "payload": choice_payload(service_id, "service")})
        dispatcher.utter_message(text=spec.start.question, buttons=buttons)


def _answered_service(answer: Answer) -> str | None:
    """The service the knowledge base answered with, if it answered with one."""
    entry = answer.entry or {}
    return entry.get("id") if answer.status == "answer" and entry.get("type") == "service" else None
