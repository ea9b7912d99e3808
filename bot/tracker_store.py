"""Rasa's SQL tracker store, with a retention: conversations idle longer than it are deleted.

A conversation holds what the citizen typed, form answers included (names, addresses, IBANs), so
it must not be kept for ever. Redis does this itself (``record_exp``); Rasa's SQL store has no
expiry, so this subclass deletes every conversation whose newest event is older than
``retention_seconds``: on start, then at most every ``purge_interval_seconds`` when a
conversation is saved, and when a conversation read for a new turn turns out to be expired (so an
expired conversation is never continued, even between two purges).

Configured in endpoints.yml::

    tracker_store:
      type: bot.tracker_store.RetainingSQLTrackerStore
      dialect: sqlite
      db: ${KUMPEL_TRACKER_DB}
      retention_seconds: ${KUMPEL_TRACKER_RETENTION_SECONDS}

``retention_seconds`` empty (or 0) keeps conversations for ever, as Rasa's own store does.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select

from bot.tracker_deletion import delete_conversation

logger = logging.getLogger(__name__)

DEFAULT_PURGE_INTERVAL_SECONDS = 300.0


def _seconds(value: float | str | None, name: str) -> float:
    """Endpoint values arrive as strings after ${VAR} substitution; "" means not set."""
    if value is None or str(value).strip() == "":
        return 0.0
    try:
        seconds = float(value)
    except ValueError as error:
        raise ValueError(f"tracker store: {name} must be a number of seconds, not {value!r}") from error
    if seconds < 0:
        raise ValueError(f"tracker store: {name} must not be negative")
    return seconds


class RetainingSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that deletes conversations after ``retention_seconds`` of silence."""

    def __init__(
        self,
        *args: Any,
        retention_seconds: float | str | None = None,
        purge_interval_seconds: float | str | None = DEFAULT_PURGE_INTERVAL_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.retention_seconds = _seconds(retention_seconds, "retention_seconds")
        self.purge_interval_seconds = _seconds(purge_interval_seconds, "purge_interval_seconds")
        self._next_purge = 0.0
        self.purge_expired()

    def purge_expired(self, now: float | None = None) -> int:
        """Delete every conversation whose newest event is older than the retention; returns events deleted."""
        if not self.retention_seconds:
            return 0
        now = time.time() if now is None else now
        cutoff = now - self.retention_seconds
        event = self.SQLEvent
        with self.session_scope() as session:
            idle = select(event.sender_id).group_by(event.sender_id).having(func.max(event.timestamp) < cutoff)
            deleted = session.query(event).filter(event.sender_id.in_(idle)).delete(synchronize_session=False)
            session.commit()
        self._next_purge = now + self.purge_interval_seconds
        if deleted:
            # Counts only: sender ids may be personal (a messenger's user id).
            logger.info("tracker retention: deleted %d events of expired conversations", deleted)
        return int(deleted)

    def _purge_if_due(self) -> None:
        if self.retention_seconds and time.time() >= self._next_purge:
            self.purge_expired()

    def _unless_expired(self, tracker: DialogueStateTracker | None) -> DialogueStateTracker | None:
        """The tracker, or None after deleting it if it has been idle too long (between two purges).

        Judged from the events just read (the newest is always in the current session), so a
        turn costs no extra query.
        """
        if tracker is None or not self.retention_seconds or not tracker.events:
            return tracker
        if tracker.events[-1].timestamp >= time.time() - self.retention_seconds:
            return tracker
        delete_conversation(self, tracker.sender_id)
        return None

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return self._unless_expired(await super().retrieve(sender_id))

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        return self._unless_expired(await super().retrieve_full_tracker(conversation_id))

    async def save(self, tracker: DialogueStateTracker) -> None:
        await super().save(tracker)
        self._purge_if_due()
