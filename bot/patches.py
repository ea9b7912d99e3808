"""Two hot spots of Rasa 3.6 per turn, removed without changing what Rasa accepts or does.

Measured with py-spy on `rasa run` during the REST slice ("Wann hat das Bürgerbüro geöffnet?"):

1. ``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every action
   server reply. That first checks the *schema itself* against the draft 2020-12 meta-schema,
   which took about 40 % of Rasa's busy time. The schema is a constant, so it is checked once
   here and one validator is reused; the reply is still validated exactly as before, with the
   same error (``best_match``) and the same message.
2. ``Event.resolve_by_type`` walks all Event subclasses for every stored event when a tracker
   is loaded (about 11 %). Known names are looked up in a dict; an unknown name falls back to
   Rasa's own walk, so events defined after start-up are still found.

Imported for its effect by the modules Rasa loads itself (``bot.nlu_components`` with every
model, the socket.io channel), so every process that runs the bot gets it. ``apply()`` is
idempotent and does nothing on a Rasa version it was not written for.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Optional, Text, Type

logger = logging.getLogger(__name__)

_applied = False


def _patch_action_validation() -> None:
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, instead of once per turn
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
        error: Optional[ValidationError] = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def _patch_event_lookup() -> None:
    from rasa.shared.core.events import Event

    original: Callable[..., Optional[Type[Event]]] = Event.resolve_by_type
    known: Dict[Text, Type[Event]] = {}

    def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
        cls = known.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            # Cache only a real match, never the default or the "topic" compatibility None.
            if cls is not None and getattr(cls, "type_name", None) == type_name:
                known[type_name] = cls
        return cls

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[assignment]


def apply() -> None:
    """Install both fixes once; skip them on a Rasa other than 3.6."""
    global _applied
    if _applied:
        return
    _applied = True
    import rasa

    if not rasa.__version__.startswith("3.6."):
        logger.warning("rasa %s: the 3.6 speed-ups are not applied", rasa.__version__)
        return
    _patch_action_validation()
    _patch_event_lookup()


apply()
