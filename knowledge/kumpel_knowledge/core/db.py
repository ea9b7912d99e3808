"""The declarative base, database engines and sessions, built on first use (nothing heavy at import time).

Each domain declares its own tables on ``Base`` (``kb.models``, ``submissions.models``, ...);
``kumpel_knowledge.schema`` gathers them for schema creation and migrations.
"""

from __future__ import annotations

import contextlib
import sqlite3
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
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            _write_ahead_log(cursor)
            cursor.close()

        return engine
    return create_engine(database_url, pool_pre_ping=True)


def _write_ahead_log(cursor: Any) -> None:
    """WAL with full sync: a commit (one per answer) writes and syncs one log file.

    In the default rollback journal every commit creates, syncs and deletes a journal besides
    syncing the database (more than half of the time an answer's recording took). ``synchronous=FULL``
    keeps the promise the form submissions rely on: a committed transaction survives a power cut
    (unlike ``NORMAL``, which the Rasa tracker store uses). The mode is stored in the file; a switch
    that finds another process mid-transaction leaves the file as it was (still correct, only slower).
    """
    with contextlib.suppress(sqlite3.OperationalError):  # database is locked: the next connection switches it
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)
