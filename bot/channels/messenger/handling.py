"""The one path of an inbound messenger message into Rasa, the same for every channel.

A channel verifies its platform's signature on the raw body, parses the update, builds its output
channel for the sender's platform address, and then calls :func:`handle_inbound`, which

1. cleans the text with ``bot.channels.input_rules.check_message``: an empty or over-long message is
   answered with the polite German reply through ``output``, without the NLU or the tracker;
2. derives the conversation id from the platform's user id (``identity.conversation_id``: no phone
   number or chat id in the tracker or the logs);
3. with a platform ``message_id``, answers a second delivery of the same message without running the
   turn again (platforms redeliver when our 200 came late);
4. maps a numbered reply ("2", "zwei") to the payload of option 2 of the bot's last turn;
5. hands the message to Rasa (``on_new_message``).

The output channel is built by the channel with the platform address (chat id, phone number) it
must send to: Rasa calls it with the hashed conversation id as ``recipient_id``, which is no address.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from rasa.core.channels.channel import OutputChannel, UserMessage

from bot.channels.input_rules import check_message, safe_metadata
from bot.channels.messenger import choices, identity

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
Outcome = Literal["handled", "answered", "duplicate", "failed"]

# Metadata key of the keyed hash of the platform's message id, stored with the user event.
MESSAGE_REF_KEY = "message_ref"
# Message refs this process has seen: catches a redelivery racing the first delivery (before the
# first turn is in the tracker). The tracker check catches redeliveries to any instance afterwards.
_SEEN_LIMIT = 10_000
_seen: OrderedDict[str, None] = OrderedDict()


def _remember(ref: str) -> bool:
    """Record ``ref``; False when it was already seen by this process."""
    if ref in _seen:
        _seen.move_to_end(ref)
        return False
    _seen[ref] = None
    if len(_seen) > _SEEN_LIMIT:
        _seen.popitem(last=False)
    return True


def tracker_store_of(request: Any) -> Any:
    """Rasa's tracker store for a Sanic request (``app.ctx.agent.tracker_store``), or None."""
    app = getattr(request, "app", None)
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    return getattr(agent, "tracker_store", None)


async def _events(tracker_store: Any, sender_id: str) -> list[dict[str, Any]]:
    if tracker_store is None:
        return []
    try:
        tracker = await tracker_store.retrieve(sender_id)
    except Exception:  # the store is down: the turn itself will report it; no choice mapping now
        logger.warning("conversation store unavailable while reading the last options")
        return []
    return [event.as_dict() for event in tracker.events] if tracker is not None else []


def _already_in_tracker(events: list[dict[str, Any]], ref: str) -> bool:
    return any(
        event.get("event") == "user" and (event.get("metadata") or {}).get(MESSAGE_REF_KEY) == ref for event in events
    )


async def handle_inbound(
    request: Any,
    on_new_message: OnNewMessage,
    *,
    channel: str,
    platform_user_id: str,
    text: str,
    output: OutputChannel,
    metadata: dict[str, Any] | None = None,
    message_id: str | None = None,
) -> Outcome:
    """Run one citizen's message through Rasa (or answer it here); what happened.

    Args:
        request: the Sanic request (for Rasa's tracker store).
        on_new_message: the callback Rasa gave the channel's blueprint.
        channel: the channel's name (``"telegram"``); also the conversation id's prefix.
        platform_user_id: the platform's id of the user (chat id, phone number): hashed, never stored.
        text: the message text (or a button's payload) as the platform sent it.
        output: the output channel that sends to this user.
        metadata: platform metadata; only ``display_text`` and ``language`` are kept.
        message_id: the platform's id of this message, for answering redeliveries once.

    Returns:
        ``"handled"`` (Rasa ran the turn), ``"answered"`` (the input rules replied),
        ``"duplicate"`` (a redelivery, nothing done) or ``"failed"`` (the turn raised; logged).
    """
    sender_id = identity.conversation_id(channel, platform_user_id)
    checked = check_message(text)
    if checked.reply is not None:
        await output.send_text_message(sender_id, checked.reply)
        return "answered"
    assert checked.text is not None
    kept = safe_metadata(metadata)
    ref = identity.log_id(f"{channel}:{message_id}") if message_id else None
    if ref is not None and not _remember(ref):
        logger.info("%s: message %s delivered again, not run twice", channel, ref)
        return "duplicate"
    needs_tracker = ref is not None or choices.chosen_number(checked.text) is not None
    events = await _events(tracker_store_of(request), sender_id) if needs_tracker else []
    if ref is not None:
        if _already_in_tracker(events, ref):
            logger.info("%s: message %s delivered again, not run twice", channel, ref)
            return "duplicate"
        kept[MESSAGE_REF_KEY] = ref
    message_text = checked.text
    last_buttons = choices.buttons_of_last_turn(events)
    payload = choices.pick_numbered(checked.text, last_buttons)
    if payload is not None:
        chosen = next(button for button in last_buttons if button.get("payload") == payload)
        kept.setdefault("display_text", str(chosen.get("title", ""))[:200])
        message_text = payload
    message = UserMessage(message_text, output, sender_id, input_channel=channel, metadata=kept)
    try:
        await on_new_message(message)
    except Exception:
        # Never the text: it may hold personal data.
        logger.exception("%s turn failed", channel)
        return "failed"
    return "handled"
