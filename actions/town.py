"""The town the bot speaks for, read from the knowledge base's profile (``GET /api/v1/municipality``).

A town is data: the greeting names the town of the imported knowledge base, not one written into
the domain. Read at each greeting, so a profile edited by staff shows at the next one.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_client import KnowledgeClient, KnowledgeServiceError
from kumpel_forms.grammar import accusative

logger = logging.getLogger(__name__)

# Said when the knowledge base has no profile or cannot be reached: true for every town.
UNKNOWN_TOWN = "Ihre Stadtverwaltung"


async def town_in_sentence(client: KnowledgeClient) -> str:
    """The town as it stands in a sentence ("die Stadtverwaltung Musterstadt"), or a neutral stand-in."""
    try:
        profile = await client.request("GET", "/api/v1/municipality")
    except KnowledgeServiceError as error:  # 404 before a profile was imported, or the service is down
        logger.info("no town profile for the greeting: %s", error)
        return UNKNOWN_TOWN
    return str(profile.get("name_in_sentence") or profile.get("name") or UNKNOWN_TOWN)


class ActionGreet(Action):
    """``action_greet``: the greeting, naming the town of this knowledge base."""

    def __init__(self, client: KnowledgeClient | None = None) -> None:
        self.client = client or KnowledgeClient()

    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        town = await town_in_sentence(self.client)
        # The greeting says "für {town}": "für den Markt Hellbach", not "für der Markt Hellbach".
        dispatcher.utter_message(response="utter_greet", town=accusative(town) or town)
        return []
