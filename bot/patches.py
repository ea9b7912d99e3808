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
   ``utter_action_unavailable`` (domain.yml) instead; a failed ``action_small_talk`` utters its
   intent's small-talk reply (``bot/small_talk.py``), which needs no action server. An action that
   *rejects* (a form's validation) is left to Rasa, as before.

Two more, so that trouble with the conversation store (Redis, several instances) is said, not hidden:

4. ``tracker_store_errors_raised``: Rasa wraps every tracker store in ``FailSafeTrackerStore``, which
   on an error *returns no tracker* (so the citizen silently starts a new conversation, the form's
   answers gone) and *saves into process memory* (so the other instances never see the turn, and this
   one serves a stale copy later). With several instances there is no safe fallback: the error is
   raised as ``ConversationStoreUnavailable`` instead, and the turn is not processed. A dropped
   connection (Redis restarted: redis-py's pooled connection is closed) is tried once more first.
5. ``store_unavailable_apology``: a turn that fails because the tracker or lock store cannot be
   reached (``ConversationStoreUnavailable``, a ``redis.RedisError`` from the lock) or because the
   conversation's lock stayed taken (``LockError``) answers with ``STORE_UNAVAILABLE_TEXT`` (HTTP 200
   on REST, the bot message on the socket) instead of Rasa's silent empty reply. Replies the failed
   turn had collected are dropped: the turn was not stored, so they must not look as if it had been.
   When the store is back, the conversation continues from what it last stored.
6. ``resent_turn_answered_once``: when a Rasa instance dies after it stored a turn but before its
   reply left, the load balancer sends the same request to another instance (HAProxy's L7 retry,
   ``deploy/haproxy/haproxy.cfg.template``), and a citizen's client may resend it too; run twice,
   a form answer would count for two questions. A REST turn that carries an ``X-Request-ID`` (HAProxy
   sets one unless the client sent its own) is stored with that id as its message id; a turn whose
   id the conversation already holds is not run again but answered with the replies stored after it.
   It costs one more tracker load per REST turn behind the balancer, under the conversation's lock.

One that changes what the action server is sent, not what it answers:

7. ``action_payload_bounded``: ``RemoteAction`` posts ``tracker.current_state(EventVerbosity.ALL)``,
   every event of the tracker, serialised to JSON for each custom action. The action server now gets
   the tracker state (slots, latest message, active form, paused) complete and only the events it
   reads: the latest user turn on, plus the active form's activation event
   (``bot.bounded_tracker.action_payload_events``).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from bot.small_talk import SMALL_TALK_ACTION, small_talk_reply

logger = logging.getLogger(__name__)

SUPPORTED_RASA = "3.6."
RESPONSE = "utter_action_unavailable"
# Used only if the domain lacks the response (an old model): never leave the citizen without a reply.
FALLBACK_TEXT = (
    "Entschuldigung, das kann ich gerade nicht bearbeiten, weil ein Teil des Systems nicht erreichbar ist. "
    "Bitte senden Sie Ihre Nachricht in ein paar Minuten noch einmal oder wenden Sie sich an die Behördennummer 115."
)

# What a citizen reads while the conversation store (Redis) cannot be reached.
STORE_UNAVAILABLE_TEXT = (
    "Entschuldigung, ich habe gerade ein technisches Problem und kann Ihre Nachricht nicht bearbeiten. "
    "Ihre bisherigen Angaben gehen nicht verloren: Bitte versuchen Sie es in ein paar Minuten noch einmal. "
    "In dringenden Fällen erreichen Sie die Behördennummer 115."
)


class ConversationStoreUnavailable(Exception):
    """The tracker store failed; raised instead of Rasa's silent fallback to an empty, in-memory tracker."""


# A turn's id from the load balancer (or the client) and the form the engine accepts it in.
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{8,100}")
MESSAGE_ID_PREFIX = "req-"
# Set per HTTP request by a Sanic request middleware; the handler's awaits see it (same task).
_request_id: ContextVar[str | None] = ContextVar("kumpel_request_id", default=None)

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
            # Small talk needs no action server: its own reply; anything else gets the apology.
            response = RESPONSE
            if self.name() == SMALL_TALK_ACTION:
                response = small_talk_reply((tracker.latest_message.intent or {}).get("name"))
            # Rasa has logged the cause; the user's text is not logged (personal data).
            logger.error("custom action %s failed; the user gets %s", self.name(), response)
            message = await nlg.generate(response, tracker, output_channel.name())
            return [create_bot_utterance(dict(message) if message else {"text": FALLBACK_TEXT})]

    RemoteAction.run = run


def _patch_tracker_store_errors_raised() -> None:
    from rasa.core.tracker_store import FailSafeTrackerStore
    from redis.exceptions import ConnectionError as RedisConnectionError

    def unavailable(error: Exception, doing: str) -> ConversationStoreUnavailable:
        # The error's type only: its text may hold a conversation id or a connection URL.
        logger.error("tracker store failed to %s (%s); the turn is not processed", doing, type(error).__name__)
        return ConversationStoreUnavailable(f"tracker store failed to {doing}: {type(error).__name__}")

    async def once_more_on_a_dropped_connection(call: Callable[[], Awaitable[Any]], doing: str) -> Any:
        try:
            try:
                return await call()
            except (RedisConnectionError, ConnectionError):
                # A restarted Redis closed the pooled connection; redis-py drops it on the error, so
                # one more try dials afresh (loading and saving a whole tracker may be repeated).
                return await call()
        except Exception as error:
            raise unavailable(error, doing) from error

    async def retrieve(self: FailSafeTrackerStore, sender_id: str) -> Any:
        return await once_more_on_a_dropped_connection(
            lambda: self._tracker_store.retrieve(sender_id), "load a conversation"
        )

    async def retrieve_full_tracker(self: FailSafeTrackerStore, sender_id: str) -> Any:
        return await once_more_on_a_dropped_connection(
            lambda: self._tracker_store.retrieve_full_tracker(sender_id), "load a conversation"
        )

    async def save(self: FailSafeTrackerStore, tracker: Any) -> None:
        await once_more_on_a_dropped_connection(lambda: self._tracker_store.save(tracker), "save a conversation")

    FailSafeTrackerStore.retrieve = retrieve
    FailSafeTrackerStore.retrieve_full_tracker = retrieve_full_tracker
    FailSafeTrackerStore.save = save


def _replies_after(events: list[Any], message_id: str) -> list[dict[str, Any]] | None:
    """The bot messages stored after the user turn ``message_id``; None if there is no such turn."""
    from rasa.shared.core.events import BotUttered, UserUttered

    replies: list[dict[str, Any]] | None = None
    for event in events:
        if isinstance(event, UserUttered):
            if replies is not None:
                break
            if event.message_id == message_id:
                replies = []
        elif isinstance(event, BotUttered) and replies is not None:
            data = {key: value for key, value in (event.data or {}).items() if value is not None}
            replies.append({"text": event.text, **data} if event.text else data)
    return replies


def _patch_resent_turn_answered_once() -> None:
    import rasa.core.run as rasa_run
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    configure_app = rasa_run.configure_app

    @functools.wraps(configure_app)
    def configure_app_with_request_ids(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)

        async def remember_request_id(request: Any) -> None:
            # Set on every request (None if absent): one connection's requests share a task.
            value = str(request.headers.get(REQUEST_ID_HEADER, ""))
            webhook = str(request.path).startswith("/webhooks/")
            _request_id.set(value if webhook and REQUEST_ID_PATTERN.fullmatch(value) else None)

        app.register_middleware(remember_request_id, "request")
        return app

    rasa_run.configure_app = configure_app_with_request_ids
    handle_message = Agent.handle_message

    async def handle(self: Agent, message: UserMessage) -> list[dict[str, Any]] | None:
        request_id = _request_id.get()
        output = message.output_channel
        # Only REST turns (their replies are collected per request); a socket's messages share no request.
        if request_id is None or not isinstance(output, CollectingOutputChannel) or not self.is_ready():
            return await handle_message(self, message)
        message.message_id = MESSAGE_ID_PREFIX + request_id
        async with self.lock_store.lock(message.sender_id):
            tracker = await self.tracker_store.retrieve(message.sender_id)
            replies = _replies_after(list(tracker.events), message.message_id) if tracker else None
            if replies is None:
                return await self.processor.handle_message(message)
            logger.warning("a resent turn was answered from the stored conversation, not run again")
            for reply in replies:
                await output.send_response(message.sender_id, reply)
            return output.messages

    Agent.handle_message = handle


def _patch_store_unavailable_apology() -> None:
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.lock_store import LockError
    from redis.exceptions import RedisError

    handle_message = Agent.handle_message

    async def handle(self: Agent, message: UserMessage) -> list[dict[str, Any]] | None:
        try:
            return await handle_message(self, message)
        except (ConversationStoreUnavailable, RedisError, LockError) as error:
            logger.error("conversation store unavailable (%s); the user gets an apology", type(error).__name__)
            output = message.output_channel
            if isinstance(output, CollectingOutputChannel):
                output.messages.clear()
            await output.send_response(message.sender_id, {"text": STORE_UNAVAILABLE_TEXT})
            return output.messages if isinstance(output, CollectingOutputChannel) else None

    Agent.handle_message = handle


def _patch_action_payload_bounded() -> None:
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.trackers import EventVerbosity

    from bot.bounded_tracker import action_payload_events

    def _action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> dict[str, Any]:
        # As Rasa 3.6's RemoteAction._action_call_format, but with the bounded events.
        tracker_state = tracker.current_state(EventVerbosity.NONE)
        tracker_state["events"] = [event.as_dict() for event in action_payload_events(tracker)]
        result: dict[str, Any] = {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": tracker_state,
            "version": rasa.__version__,
        }
        if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
            result["domain"] = domain.as_dict()
        return result

    RemoteAction._action_call_format = _action_call_format


# name -> (installer, what it does, for the log line)
PATCHES: dict[str, tuple[Callable[[], None], str]] = {
    "remote_action_validation": (
        _patch_remote_action_validation,
        "action server replies validated with one prebuilt JSON schema validator",
    ),
    "event_type_lookup": (_patch_event_type_lookup, "stored event types resolved through a cache"),
    "action_payload_bounded": (
        _patch_action_payload_bounded,
        "the action server gets the tracker state and the latest turn's events, not every event",
    ),
    "action_unavailable_apology": (
        _patch_action_unavailable_apology,
        f"a failed custom action answers with {RESPONSE} instead of silence",
    ),
    "tracker_store_errors_raised": (
        _patch_tracker_store_errors_raised,
        "a failing tracker store raises instead of falling back to an empty in-memory conversation",
    ),
    # Before the apology: its wrapper must be the outer one, so that a store failure here is said too.
    "resent_turn_answered_once": (
        _patch_resent_turn_answered_once,
        "a resent REST turn (same X-Request-ID) is answered from the stored conversation, not run twice",
    ),
    "store_unavailable_apology": (
        _patch_store_unavailable_apology,
        "a turn the tracker or lock store cannot serve answers with an apology instead of silence",
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
