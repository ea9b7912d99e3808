"""Delete dashboard events older than ``KUMPEL_STATS_RETENTION_DAYS`` (default 400), like submissions purge.

Run it daily from cron or a Kubernetes CronJob: ``kumpel-knowledge stats purge``.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ..core.clock import Clock, system_clock
from ..core.db import make_engine, make_session_factory
from ..core.settings import get_settings
from ..schema import create_schema
from .models import AnswerEvent, FormEvent
from .record import purge_before


def purge(*, dry_run: bool = False, clock: Clock = system_clock) -> str:
    """Delete (or with ``dry_run`` only count) the events past their retention; returns the report line."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    if settings.env != "production":  # production schema comes from Alembic
        create_schema(engine)
    today = clock().astimezone(ZoneInfo(settings.timezone)).date()
    try:
        with make_session_factory(engine)() as session:
            if dry_run:
                cutoff = today - timedelta(days=settings.stats_retention_days)
                count = sum(
                    int(session.scalar(select(func.count()).select_from(model).where(model.day < cutoff)) or 0)
                    for model in (AnswerEvent, FormEvent)
                )
                return f"{count} dashboard events would be deleted"
            return f"deleted {purge_before(session, today, settings.stats_retention_days)} dashboard events"
    finally:
        engine.dispose()
