"""Starting a form: only when the citizen asks to do the thing and the knowledge base agrees.

The NLU's ``start_<form>`` intent goes by wording ("abmelden", "anmelden"), so "kfz abmelden" or
"eheschliesung anmelden" would start a dog-tax form with its privacy notice. Here the message is
asked of the knowledge base first, naming the form, and what it wants (``StartSpec.wish``) decides:

- a request to do it (a verb of doing, no question) about the form's service: the form starts;
- about another service ("no"): the citizen gets that answer, no form;
- a question about it ("Muss der Hund angemeldet werden?", "Was kostet die Anmeldung?", asked with
  topic "auto" so the answer is the fact asked for): the knowledge base's answer, with a button that
  starts the form;
- unclear (the form's service among the candidates, not known, or no verb of doing, as in
  "Hundesteuer für einen Hund"): one short question with a button to start the form and one for
  information only;
- a form whose service the knowledge base cannot check (no LeiKa key, as the water-meter reading): it
  starts on a request to do it; a question gets the answer the knowledge base found, with the button.

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
        wish = spec.start.wish(text)
        # A question about it is answered in the kind of fact its words ask for ("Was kostet ...",
        # "Welche Unterlagen ..."): topic "auto" lets the knowledge service tell.
        topic = "auto" if wish == "ask" else "service"
        try:
            answer = await self.client.answer(text, topic, now=self.clock().isoformat(), form=spec.form)
        except KnowledgeServiceError as error:
            # Without the knowledge base the form still collects and submits later (retry rule).
            logger.warning("knowledge service failed before starting %s: %s", spec.form, error)
            return start
        match = answer.form_match
        # Without a match the knowledge base cannot check this form's service (it has no LeiKa key): a
        # request to do it starts the form, and the service it answered with stands for the form's.
        about_it = match.decision == "yes" if match is not None else _answered_service(answer) is not None
        if wish == "do" and (match is None or match.decision == "yes"):
            # The conversation is now about the form's service: "Was kostet das?" afterwards is about it.
            service_id = match.service_id if match is not None else None
            return [*start, SlotSet(SLOT_SERVICE_ID, service_id)] if service_id else start
        if match is not None and match.decision == "no":
            dispatcher.utter_message(**reply_for(answer, "service"))
            # The start sent no context: set what the answer is about, leave the rest as it was.
            return [SlotSet(SLOT_FORM_CONFIRMED, None), *context_events(answer.context, {})]
        if wish == "ask" and answer.status == "answer" and about_it:
            # "Muss der Hund angemeldet werden?": the answer, and a button to do it right here.
            reply = reply_for(answer, topic)
            reply["buttons"] = [
                *reply.get("buttons", []),
                {"title": spec.start.button, "payload": start_payload(spec.form)},
            ]
            dispatcher.utter_message(**reply)
            return [SlotSet(SLOT_FORM_CONFIRMED, None), *context_events(answer.context, {})]
        self._ask(dispatcher, spec, match.service_id if match is not None else _answered_service(answer))
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
