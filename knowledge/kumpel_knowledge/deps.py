"""FastAPI dependencies shared by the routers: the runtime, a database session, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .index import KnowledgeIndex
from .settings import Settings


@dataclass
class Runtime:
    """What one service process holds: settings, database and the search index."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    index: KnowledgeIndex | None = None
    ready: bool = False
    failed: bool = False


def get_runtime(request: Request) -> Runtime:
    """The process runtime, made by ``create_app``."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_settings_dep(request: Request) -> Settings:
    """The settings of this app instance (tests build apps with their own settings)."""
    return get_runtime(request).settings


def get_session(request: Request) -> Iterator[Session]:
    """One database session per request, closed afterwards."""
    session = get_runtime(request).sessions()
    try:
        yield session
    finally:
        session.close()


def get_index(request: Request) -> KnowledgeIndex:
    """The search index (built at start-up)."""
    index = get_runtime(request).index
    if index is None:
        # Still loading the model (serve builds the index in the background).
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "search index is starting", headers={"Retry-After": "5"})
    return index
