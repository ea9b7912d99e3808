"""Database engine and sessions, built on first use (nothing heavy at import time)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from .models import Base


def make_engine(database_url: str) -> Engine:
    """Create an engine; for SQLite make the folder and switch on foreign keys."""
    if database_url.startswith("sqlite:///"):
        db_path = database_url.removeprefix("sqlite:///")
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(database_url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _enable_foreign_keys(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(database_url, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def create_schema(engine: Engine) -> None:
    """Create all tables (development and tests; production uses Alembic)."""
    Base.metadata.create_all(engine)


def schema_exists(engine: Engine) -> bool:
    """True when the knowledge tables exist."""
    return inspect(engine).has_table("services")


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session that is closed afterwards (FastAPI dependency helper)."""
    session = factory()
    try:
        yield session
    finally:
        session.close()
