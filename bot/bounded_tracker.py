"""The conversation Rasa works on per turn: the state so far plus the last few turns, not the whole session.

Rasa's SQL store loads and JSON-decodes every event of the current session for each turn, and the
policies then compute states over all of it; a session lasts while the citizen keeps writing
(``session_expiration_time`` in domain.yml), so a long conversation costs more with every turn.

What a turn really needs of the past:

- the *state*: slot values, the active form (its activation event, whose timestamp the form actions
  read, and its interrupted/rejected flags) and whether the conversation is paused;
- the *last turns*: our policies are the MemoizationPolicy (``max_history`` 5 by default) and the
  RulePolicy, whose rules have at most one user step (nlu_data/rules); both look at the last few
  turns and the state only. ``TAIL_TURNS`` turns are kept, well above both.

So a bounded tracker is: synthetic events that rebuild the state (``SlotSet`` for each slot away from
its initial value, the latest ``ActiveLoop`` event as stored, its flags, ``ConversationPaused``),
then the stored events from the ``TAIL_TURNS``-th last ``action_listen`` on, decoded as Rasa does.

The state is computed by Rasa itself (``DialogueStateTracker.from_events``) over a *skeleton* of
the earlier events: the events that change the state (slots, loops, resets, pauses) decoded, the
anchors that reverts need (user messages, executed actions) built from their indexed columns
without decoding, the rest (bot messages, parse data) not read at all. A fallback's
``UserUtteranceReverted`` undoes a slot set in its turn exactly as in the full tracker. The store
keeps the state events of each conversation's tail start (``StateCache``), so the next turn replays only
the turn that left the tail, not the whole skeleton again: the work per turn stays the same however long
the conversation grows.

What is not in the bounded tracker: the messages before the tail. The widget's history
(``bot.channels.kumpel_socketio``) and Rasa's ``GET /conversations/<id>/tracker`` read the full
tracker (``retrieve_full_tracker``); a REST resend is looked up in the tail (a resend comes right
after its turn).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    AllSlotsReset,
    ConversationPaused,
    ConversationResumed,
    Event,
    LoopInterrupted,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker

# Turns (counted in action_listen events) kept as they were stored: more than the MemoizationPolicy's
# max_history (5) and the longest rule (one user step), so every prediction sees what it saw before.
TAIL_TURNS = 10

# Events whose data the state needs (decoded from JSON).
STATE_TYPES = (
    SlotSet.type_name,
    AllSlotsReset.type_name,
    ActiveLoop.type_name,
    LoopInterrupted.type_name,
    ActionExecutionRejected.type_name,
    ConversationPaused.type_name,
    ConversationResumed.type_name,
    Restarted.type_name,
    SessionStarted.type_name,
    UserUtteranceReverted.type_name,
    ActionReverted.type_name,
)
# Events that reverts and loops count on, built from the row's columns (their data is not read).
ANCHOR_TYPES = (UserUttered.type_name, ActionExecuted.type_name)
SKELETON_TYPES = STATE_TYPES + ANCHOR_TYPES


@dataclass(frozen=True)
class SkeletonRow:
    """One stored event before the tail: its type, the indexed name column and (state events) its JSON."""

    type_name: str
    action_name: str | None
    data: str | None


def decode(data: str) -> Event:
    """A stored event, exactly as Rasa's SQL store rebuilds it."""
    return Event.from_parameters(json.loads(data))


def skeleton_event(row: SkeletonRow) -> Event:
    if row.type_name == ActionExecuted.type_name:
        return ActionExecuted(row.action_name)
    if row.type_name == UserUttered.type_name:
        return UserUttered()
    if row.data is None:
        raise ValueError(f"state event {row.type_name} without data")
    return decode(row.data)


def state_events(sender_id: str, earlier: Iterable[Event], slots: Sequence[Slot], at: float) -> list[Event]:
    """Events that give a new tracker the state that ``earlier`` (a skeleton, or state events and a skeleton) leaves.

    The synthetic ones are stamped ``at`` (the tail's first event), so the same stored events always
    give the same tracker.
    """
    state = DialogueStateTracker.from_events(sender_id, list(earlier), slots)  # the tracker copies the slots
    rebuilt: list[Event] = [
        SlotSet(slot.name, slot.value, timestamp=at)
        for slot in state.slots.values()
        if slot.value != slot.initial_value
    ]
    loop = state.active_loop_name
    if loop:
        activation = next(e for e in reversed(state.events) if isinstance(e, ActiveLoop) and e.name == loop)
        rebuilt.append(activation)
        if state.active_loop.is_interrupted:
            rebuilt.append(LoopInterrupted(True, timestamp=at))
        if state.active_loop.rejected:
            rebuilt.append(ActionExecutionRejected(loop, timestamp=at))
    if state.is_paused():
        rebuilt.append(ConversationPaused(timestamp=at))
    return rebuilt


def action_payload_events(tracker: DialogueStateTracker) -> list[Event]:
    """The events the action server gets: the latest user turn on, and the active form's activation.

    What our actions and rasa-sdk read of ``tracker.events`` (actions/forms/actions.py, rasa_sdk's
    ``slots_to_validate``, ``get_latest_input_channel``): the latest user message, the slots set since
    it, and the event that started the current form run. Slots, ``latest_message``, ``active_loop``
    and ``paused`` travel in the tracker state itself, complete.
    """
    events = list(tracker.events)
    start = None
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            before = events[index - 1] if index else None
            listened = isinstance(before, ActionExecuted) and before.action_name == ACTION_LISTEN_NAME
            start = index - 1 if listened else index
            break
    if start is None:
        return events
    selected = events[start:]
    loop = tracker.active_loop_name
    if loop and not any(isinstance(e, ActiveLoop) and e.name == loop for e in selected):
        activation = next((e for e in reversed(events[:start]) if isinstance(e, ActiveLoop) and e.name == loop), None)
        if activation is not None:
            selected.insert(0, activation)
    return selected


@dataclass(frozen=True)
class CachedState:
    """The state events of a conversation where its tail began (an ``action_listen``: its id and timestamp)."""

    start_id: int
    start_timestamp: float
    events: list[Event]


class StateCache:
    """Per conversation, the latest ``CachedState``; the least recently used are dropped beyond ``size``.

    Each Rasa worker has its own; a miss (another worker served the last turns, a restart) costs one
    replay of the skeleton. An entry is used only if its start event is still stored with the same
    timestamp (a conversation deleted and begun again under the same id is not mistaken for it).
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._entries: OrderedDict[str, CachedState] = OrderedDict()

    def get(self, sender_id: str) -> CachedState | None:
        entry = self._entries.get(sender_id)
        if entry is not None:
            self._entries.move_to_end(sender_id)
        return entry

    def put(self, sender_id: str, entry: CachedState) -> None:
        self._entries[sender_id] = entry
        self._entries.move_to_end(sender_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def drop(self, sender_id: str) -> None:
        self._entries.pop(sender_id, None)
