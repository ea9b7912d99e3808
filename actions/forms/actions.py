"""Rasa side of the form workflows: one validation action per form, one ask action, one finish action.

How it fits Rasa 3.6's form loop: every form in domain.yml has the single required slot
``form_status``. The validation action ``validate_<form>_form`` runs the engine on the latest
message, stores the engine state in the slot ``form_data`` and always sets ``requested_slot`` to
``form_status`` (so the form never rejects a turn, not even a knowledge question, which it answers
itself and then returns to the same question), and asks the engine's next question itself: there
is no ``action_ask_form_status`` in the domain, which saves Rasa a second call to the action server
per turn. Confirming or cancelling fills ``form_status``, the form ends, and the rule after it runs
``action_finish_form``, which submits to the knowledge service with an idempotency key (stored
exactly once) or just clears the slots.

The town is data: when a form starts, its validation action reads what the form's texts say about
the town (``GET /api/v1/forms/<form>/town``: name, place, postcodes, the e-mail of the office in
charge) once and keeps it in the engine state; the engine fills the spec's placeholders from it.
Without the knowledge service the form still works, in neutral words and without a postcode check.
"""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from datetime import date, tzinfo
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clock import Clock, clock_from_settings
from actions.forms.engine import CONFIRM, export_data, prompt_for, step, submitted_text, town_facts
from actions.knowledge_client import KnowledgeClient, KnowledgeServiceError
from actions.replies import reply_for
from actions.settings import get_settings
from kumpel_forms.spec import FormSpec, all_forms, load_spec

logger = logging.getLogger(__name__)

SLOT_FORM_DATA = "form_data"
SLOT_FORM_STATUS = "form_status"
REQUESTED_SLOT = "requested_slot"
STATUS_CONFIRMED = "confirmed"
STATUS_CANCELLED = "cancelled"
INTENT_TOPICS = {
    "ask_service": "service",
    "ask_opening_hours": "opening_hours",
    "ask_contact": "contact",
    "ask_fees": "fees",
    "ask_documents": "documents",
}


def today_in_city(clock: Clock, city_tz: tzinfo) -> date:
    """Today's date in the city's time zone (``KUMPEL_TIMEZONE``, Europe/Berlin) by ``clock``."""
    return clock().astimezone(city_tz).date()


def latest_user_timestamp(tracker: Tracker) -> float:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return float(event.get("timestamp") or 0.0)
    return 0.0


async def fetch_town(client: KnowledgeClient, form: str) -> dict[str, Any]:
    """The town's facts for a form's texts, or {} (neutral texts) when the knowledge service is down."""
    try:
        return town_facts(await client.request("GET", f"/api/v1/forms/{form}/town"))
    except KnowledgeServiceError as error:
        logger.warning("no town facts for form %s (neutral texts): %s", form, error)
        return {}


def form_start_timestamp(tracker: Tracker, loop_name: str) -> float | None:
    """When the current run of the form began: the last activation event of this loop."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == loop_name:
            return float(event.get("timestamp") or 0.0)
    return None


class SpecFormValidation(Action, metaclass=ABCMeta):  # abstract: rasa-sdk registers only its concrete subclasses
    """Validation action of one spec-driven form (``validate_<form>_form``).

    The clock decides "today" for the form's dates (in the city's time zone) and "now" for a
    knowledge question asked in the middle; client, clock and time zone default to the settings.
    """

    def __init__(
        self,
        client: KnowledgeClient | None = None,
        clock: Clock | None = None,
        city_tz: tzinfo | None = None,
    ) -> None:
        self.client = client or KnowledgeClient()
        self.clock = clock or clock_from_settings(get_settings())
        self.city_tz = city_tz or get_settings().tz

    @property
    @abstractmethod
    def form(self) -> str:
        """The spec name (``dog_tax_registration``)."""

    def name(self) -> str:
        return f"validate_{self.form}_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        spec = load_spec(self.form)
        activating = (tracker.active_loop or {}).get("name") != spec.loop_name
        state = None if activating else tracker.get_slot(SLOT_FORM_DATA)
        town = None
        if state is None or state.get("form") != spec.form:
            town = await fetch_town(self.client, spec.form)  # once, when the form starts
        elif "town" not in state:  # a form begun before the town was kept in its state
            state = {**state, "town": await fetch_town(self.client, spec.form)}
        latest = tracker.latest_message or {}
        intent = (latest.get("intent") or {}).get("name")
        confidence = float((latest.get("intent") or {}).get("confidence") or 0.0)
        result = step(
            spec,
            state,
            str(latest.get("text") or ""),
            today=today_in_city(self.clock, self.city_tz),
            intent=intent,
            intent_confidence=confidence,
            now_ts=latest_user_timestamp(tracker),
            town=town,
        )
        if activating:
            await self.client.form_event(spec.form, "started")  # counted for the staff dashboard
        for message in result.messages:
            dispatcher.utter_message(text=message)
        if result.outcome == "question":
            await self._answer_question(dispatcher, tracker, spec, str(latest.get("text") or ""), intent)
        if result.outcome == "confirmed":
            return [
                SlotSet(SLOT_FORM_DATA, result.state),
                SlotSet(SLOT_FORM_STATUS, STATUS_CONFIRMED),
                SlotSet(REQUESTED_SLOT, None),
            ]
        if result.outcome in {"cancelled", "declined"}:
            # Declining the privacy notice ends the form as well: both count as cancelled.
            await self.client.form_event(spec.form, "cancelled")
            return [
                SlotSet(SLOT_FORM_DATA, None),
                SlotSet(SLOT_FORM_STATUS, STATUS_CANCELLED),
                SlotSet(REQUESTED_SLOT, None),
            ]
        estimate_text = None
        if result.state.get("pending") == CONFIRM and spec.estimate:
            estimate_text = await self._estimate(spec, result.state)
        dispatcher.utter_message(**prompt_for(spec, result.state, estimate_text))
        events: list[EventType] = [SlotSet(SLOT_FORM_DATA, result.state), SlotSet(REQUESTED_SLOT, SLOT_FORM_STATUS)]
        if activating:  # a status left by an earlier form (e.g. a failed submission) must not end this one
            events.append(SlotSet(SLOT_FORM_STATUS, None))
        return events

    async def _estimate(self, spec: FormSpec, state: dict[str, Any]) -> str:
        """The expected fee, computed by the knowledge service from the knowledge base's rates."""
        try:
            body = await self.client.request(
                "POST",
                "/api/v1/submissions/estimate",
                json={"form": spec.form, "data": export_data(spec, state.get("values") or {})},
            )
        except KnowledgeServiceError as error:
            logger.warning("estimate failed for %s: %s", spec.form, error)
            body = {}
        return str(body.get("text") or "Die genaue Höhe der Steuer teilt Ihnen die Stadt im Bescheid mit.")

    async def _answer_question(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        spec: FormSpec,
        question: str,
        intent: str | None,
    ) -> None:
        """A knowledge question in the middle of a form: answer it, then the form asks again."""
        topic = INTENT_TOPICS.get(intent or "", "auto")
        context = {"service_id": tracker.get_slot("service_id"), "office_id": tracker.get_slot("office_id")}
        try:
            answer = await self.client.answer(
                question, topic, context=context, now=self.clock().isoformat(), conversation_id=tracker.sender_id
            )
        except KnowledgeServiceError as error:
            logger.warning("knowledge service failed during form %s: %s", spec.form, error)
            dispatcher.utter_message(response="utter_knowledge_unavailable")
        else:
            reply = reply_for(answer, topic)
            reply.pop("buttons", None)  # choices would leave the form; the citizen can ask again later
            dispatcher.utter_message(**reply)
        dispatcher.utter_message(text=f"Weiter mit Ihrer {spec.title}:")


def validation_action_for(form: str) -> type[SpecFormValidation]:
    """The ``validate_<form>_form`` action class of one spec (``ValidateDogTaxRegistrationForm``)."""
    class_name = "Validate" + "".join(part.capitalize() for part in form.split("_")) + "Form"
    return type(class_name, (SpecFormValidation,), {"form": form, "__module__": __name__})


# One validation action per file in specs/: rasa-sdk registers every concrete Action subclass,
# so a new form needs no Python here. The names stay importable (tests use them).
for _form in all_forms():
    _action = validation_action_for(_form)
    globals()[_action.__name__] = _action


class ActionFinishForm(Action):
    """After a form ends: submit it exactly once (idempotency key) or just forget a cancelled one."""

    def __init__(self, client: KnowledgeClient | None = None) -> None:
        # No clock: the knowledge service stamps a submission itself.
        self.client = client or KnowledgeClient()

    def name(self) -> str:
        return "action_finish_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        reset: list[EventType] = [SlotSet(SLOT_FORM_DATA, None), SlotSet(SLOT_FORM_STATUS, None)]
        status = tracker.get_slot(SLOT_FORM_STATUS)
        state = tracker.get_slot(SLOT_FORM_DATA) or {}
        if status != STATUS_CONFIRMED or not state.get("form"):
            return reset
        spec = load_spec(state["form"])
        started = form_start_timestamp(tracker, spec.loop_name)
        key = f"{tracker.sender_id}:{spec.form}:{started if started is not None else 'unknown'}"
        try:
            body = await self.client.request(
                "POST",
                "/api/v1/submissions",
                json={"form": spec.form, "data": export_data(spec, state.get("values") or {}), "language": "de"},
                headers={"Idempotency-Key": key},
            )
        except KnowledgeServiceError as error:
            logger.warning("submission of %s failed: %s", spec.form, error)
            dispatcher.utter_message(
                text=(
                    "Entschuldigung, ich konnte Ihre Angaben gerade nicht übermitteln. Ihre Angaben sind "
                    "noch da: Bitte versuchen Sie es gleich noch einmal."
                ),
                buttons=[{"title": "Erneut senden", "payload": "/retry_form_submission"}],
            )
            return []
        reference = str(body.get("reference") or "")
        if "town" not in state:  # a form begun before the town was kept in its state
            state = {**state, "town": await fetch_town(self.client, spec.form)}
        dispatcher.utter_message(
            text=submitted_text(spec, state, reference),
            json_message={"kumpel": {"form": spec.form, "reference": reference}},
        )
        return reset
