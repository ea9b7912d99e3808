"""An apology instead of silence when the action server cannot be reached.

Rasa 3.6 logs a failed custom action and carries on without a reply, so a citizen whose question
needs the action server (every knowledge answer, every form step) would see nothing at all while
it is down or restarting. Here a failed ``RemoteAction`` utters ``utter_action_unavailable``
(domain.yml) instead. An action that *rejects* (a form's validation) is left to Rasa, as before.

Imported for its effect next to ``bot.rasa_speedups`` (see there); idempotent.
"""

from __future__ import annotations

import logging
from typing import Any, List

logger = logging.getLogger(__name__)

RESPONSE = "utter_action_unavailable"
# Used only if the domain lacks the response (an old model): never leave the citizen without a reply.
FALLBACK_TEXT = (
    "Entschuldigung, das kann ich gerade nicht bearbeiten, weil ein Teil des Systems nicht erreichbar ist. "
    "Bitte senden Sie Ihre Nachricht in ein paar Minuten noch einmal oder wenden Sie sich an die Behördennummer 115."
)

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
    from rasa.shared.exceptions import RasaException

    run_remote = RemoteAction.run

    async def run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        try:
            return await run_remote(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except RasaException:
            # Rasa has logged the cause; the user's text is not logged (personal data).
            logger.error("custom action %s failed; the user gets %s", self.name(), RESPONSE)
            message = await nlg.generate(RESPONSE, tracker, output_channel.name())
            return [create_bot_utterance(dict(message) if message else {"text": FALLBACK_TEXT})]

    RemoteAction.run = run  # type: ignore[method-assign]


apply()
