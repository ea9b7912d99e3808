"""Turn a knowledge-service answer into what the citizen sees: text, citation, buttons, payload."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from actions.knowledge_client import Answer, Source

CHOOSE_ENTRY_INTENT = "choose_entry"


def format_review_date(iso_date: str | None) -> str | None:
    """'2026-10-01' -> '01.10.2026'; None or garbage -> None (never invent a date)."""
    if not iso_date:
        return None
    try:
        return date.fromisoformat(str(iso_date)[:10]).strftime("%d.%m.%Y")
    except ValueError:
        return None


def citation(source: Source) -> str:
    parts = [f"Quelle: {source.title}"]
    if source.url:
        parts.append(f" – {source.url}")
    reviewed = format_review_date(source.last_reviewed)
    if reviewed:
        parts.append(f" (Stand: {reviewed})")
    return "".join(parts)


def choice_payload(entity_id: str, topic: str) -> str:
    """Rasa payload of a "Meinten Sie ...?" button; parsed by Rasa's intent-payload syntax."""
    return f"/{CHOOSE_ENTRY_INTENT}" + json.dumps({"entity_id": entity_id, "entity_topic": topic}, ensure_ascii=False)


def reply_for(answer: Answer, topic: str) -> dict[str, Any]:
    """Keyword arguments for `dispatcher.utter_message` for one knowledge answer."""
    text = answer.text.strip()
    if answer.status == "answer" and answer.source is not None:
        text = f"{text}\n\n{citation(answer.source)}"
    buttons = [{"title": choice.title, "payload": choice_payload(choice.id, topic)} for choice in answer.choices[:3]]
    payload: dict[str, Any] = {
        "kumpel": {
            # A random id per bot message lets the widget send anonymous feedback on it; the knowledge
            # service's own id for an answer lets a thumbs-down name the question in the staff's inbox.
            "message_id": answer.message_id or uuid.uuid4().hex,
            "status": answer.status,
            "topic": topic,
            "entry": answer.entry,
            # What the answer is about: a contact answer names the office (entry) for a service.
            "context": answer.context,
            "source": (
                {
                    "title": answer.source.title,
                    "url": answer.source.url,
                    "last_reviewed": answer.source.last_reviewed,
                }
                if answer.source
                else None
            ),
        }
    }
    reply: dict[str, Any] = {"text": text, "json_message": payload}
    if buttons:
        reply["buttons"] = buttons
    return reply
