"""Kumpel's changes to Rasa 3.6 itself, in one place, installed by one explicit ``apply()``.

``bot.engine.main`` (the ``kumpel-rasa`` console script) calls ``apply()`` before it hands over to
Rasa's CLI, so every engine the launcher starts runs with them; nothing is patched on import.
Each patch was written against Rasa 3.6's internals: on another Rasa it is skipped with a WARNING,
and each one applied logs one INFO line. ``apply()`` is idempotent.

Two speed-ups, measured with py-spy on ``rasa run`` during the REST slice ("Wann hat das
Bürgerbüro geöffnet?"), that change neither what Rasa accepts nor what it does:

1. ``remote_action_validation``: ``RemoteAction._validate_action_result`` calls
   ``jsonschema.validate`` on every action server reply. That first checks the *schema itself*
   against the draft 2020-12 meta-schema, which took about 40 % of Rasa's busy time. The schema
   is a constant, so it is checked once here and one validator is reused; the reply is still
   validated exactly as before, with the same error (``best_match``) and the same message.
2. ``event_type_lookup``: ``Event.resolve_by_type`` walks all Event subclasses for every stored
   event when a tracker is loaded (about 11 %). Known names are looked up in a dict; an unknown
   name falls back to Rasa's own walk, so events defined after start-up are still found.

One change of behaviour:

3. ``action_unavailable_apology``: Rasa 3.6 logs a failed custom action and carries on without a
   reply, so a citizen whose question needs the action server (every knowledge answer, every form
   step) would see nothing at all while it is down or restarting. A failed ``RemoteAction`` utters
   ``utter_action_unavailable`` (domain.yml) instead. An action that *rejects* (a form's
   validation) is left to Rasa, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

SUPPORTED_RASA = "3.6."
RESPONSE = "utter_action_unavailable"
# Used only if the domain lacks the response (an old model): never leave the citizen without a reply.
FALLBACK_TEXT = (
    "Entschuldigung, das kann ich gerade nicht bearbeiten, weil ein Teil des Systems nicht erreichbar ist. "
    "Bitte senden Sie Ihre Nachricht in ein paar Minuten noch einmal oder wenden Sie sich an die Behördennummer 115."
)

_applied: set[str] = set()
_skipped: set[str] = set()


def _patch_remote_action_validation() -> None:
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, instead of once per turn
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error: ValidationError | None = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result


def _patch_event_type_lookup() -> None:
    from rasa.shared.core.events import Event

    original: Callable[..., type[Event] | None] = Event.resolve_by_type
    known: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
        cls = known.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            # Cache only a real match, never the default or the "topic" compatibility None.
            if cls is not None and getattr(cls, "type_name", None) == type_name:
                known[type_name] = cls
        return cls

    Event.resolve_by_type = staticmethod(resolve_by_type)


def _patch_action_unavailable_apology() -> None:
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
    from rasa.shared.exceptions import RasaException

    run_remote = RemoteAction.run

    async def run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list[Any]:
        try:
            return await run_remote(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except RasaException:
            # Rasa has logged the cause; the user's text is not logged (personal data).
            logger.error("custom action %s failed; the user gets %s", self.name(), RESPONSE)
            message = await nlg.generate(RESPONSE, tracker, output_channel.name())
            return [create_bot_utterance(dict(message) if message else {"text": FALLBACK_TEXT})]

    RemoteAction.run = run


# name -> (installer, what it does, for the log line)
PATCHES: dict[str, tuple[Callable[[], None], str]] = {
    "remote_action_validation": (
        _patch_remote_action_validation,
        "action server replies validated with one prebuilt JSON schema validator",
    ),
    "event_type_lookup": (_patch_event_type_lookup, "stored event types resolved through a cache"),
    "action_unavailable_apology": (
        _patch_action_unavailable_apology,
        f"a failed custom action answers with {RESPONSE} instead of silence",
    ),
}


def apply() -> list[str]:
    """Install every patch that fits the running Rasa, once.

    Returns:
        The names of the patches that are installed (now or by an earlier call).
    """
    import rasa

    version = str(rasa.__version__)
    for name, (install, effect) in PATCHES.items():
        if name in _applied or name in _skipped:
            continue
        if not version.startswith(SUPPORTED_RASA):
            _skipped.add(name)
            logger.warning(
                "Rasa patch %s skipped: written for Rasa %sx, this is Rasa %s", name, SUPPORTED_RASA, version
            )
            continue
        install()
        _applied.add(name)
        logger.info("Rasa patch %s applied: %s", name, effect)
    return [name for name in PATCHES if name in _applied]
