"""Forget the scrubbed questions kept for ratings once their ``RATEABLE_HOURS`` are over.

Run daily with the dashboard's purge (``kumpel-knowledge stats purge`` does both); the answer route
also deletes them every few minutes (inbox/recording.py), so a service without the job forgets too.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import func, select

from ..core.clock import Clock, system_clock
from ..core.db import make_engine, make_session_factory
from ..core.settings import get_settings
from ..schema import create_schema
from .models import RateableAnswer
from .recording import RATEABLE_HOURS, delete_expired_rateable


def purge(*, dry_run: bool = False, clock: Clock = system_clock) -> str:
    """Delete (or with ``dry_run`` only count) the expired rateable questions; returns the report line."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    if settings.env != "production":  # production schema comes from Alembic
        create_schema(engine)
    now = clock().astimezone(UTC)
    try:
        with make_session_factory(engine)() as session:
            if dry_run:
                cutoff = now - timedelta(hours=RATEABLE_HOURS)
                query = select(func.count()).select_from(RateableAnswer).where(RateableAnswer.created_at < cutoff)
                return f"{int(session.scalar(query) or 0)} expired rateable questions would be deleted"
            deleted = delete_expired_rateable(session, now)
            session.commit()
            return f"deleted {deleted} expired rateable questions"
    finally:
        engine.dispose()
