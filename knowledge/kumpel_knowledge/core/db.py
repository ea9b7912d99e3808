"""The declarative base, database engines and sessions, built on first use (nothing heavy at import time).

Each domain declares its own tables on ``Base`` (``kb.models``, ``submissions.models``, ...);
``kumpel_knowledge.schema`` gathers them for schema creation and migrations.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


def utcnow() -> datetime:
    """Timezone-aware now in UTC (column default)."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of all tables."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def make_engine(database_url: str) -> Engine:
    """Create an engine; for SQLite make the folder and switch on foreign keys."""
    if database_url.startswith("sqlite:///"):
        db_path = database_url.removeprefix("sqlite:///")
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(database_url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _enable_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(database_url, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)
