"""Delete one conversation from whichever tracker store Rasa was configured with.

Rasa 3.6 has no ``delete`` on its tracker stores, so this reaches into the concrete store: SQL
(SQLite by default, PostgreSQL), Redis and in-memory are supported. Used by the socket.io channel
("delete my conversation") and by the retaining SQL tracker store (bot/tracker_store.py).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


class TrackerDeletionUnsupported(RuntimeError):
    """The configured tracker store has no known way to delete a conversation."""


def concrete_stores(tracker_store: Any) -> list[Any]:
    """Unwrap Rasa's wrappers (FailSafe, Awaitable) down to the stores that hold data.

    The fail-safe wrapper's in-memory fallback is included once it was created, because a
    conversation may have landed there while the primary store was down.
    """
    stores: list[Any] = []
    pending = [tracker_store]
    while pending:
        store = pending.pop()
        inner = getattr(store, "_tracker_store", None)
        fallback = getattr(store, "_fallback_tracker_store", None)
        if fallback is not None:
            pending.append(fallback)
        if inner is not None:
            pending.append(inner)
        else:
            stores.append(store)
    return stores


def delete_conversation(tracker_store: Any, sender_id: str) -> int:
    """Remove every stored event of ``sender_id``.

    Returns:
        The number of stores that held something for this conversation.

    Raises:
        TrackerDeletionUnsupported: the store type is unknown (e.g. Mongo, DynamoDB).
    """
    from rasa.core.tracker_store import InMemoryTrackerStore, RedisTrackerStore, SQLTrackerStore

    removed = 0
    for store in concrete_stores(tracker_store):
        if isinstance(store, SQLTrackerStore):
            with store.session_scope() as session:
                count = (
                    session.query(store.SQLEvent)
                    .filter(store.SQLEvent.sender_id == sender_id)
                    .delete(synchronize_session=False)
                )
                session.commit()
            removed += int(count > 0)
        elif isinstance(store, RedisTrackerStore):
            removed += int(store.red.delete(store.key_prefix + sender_id) > 0)
        elif isinstance(store, InMemoryTrackerStore):
            removed += int(store.store.pop(sender_id, None) is not None)
        else:
            raise TrackerDeletionUnsupported(f"Deleting a conversation is not supported for {type(store).__name__}")
    return removed
