"""FastAPI dependencies shared by the routers: the runtime, a database session, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .clock import Clock, system_clock
from .settings import Settings

if TYPE_CHECKING:  # the index belongs to the kb domain, which itself depends on core
    from ..kb.index import KnowledgeIndex


@dataclass
class Runtime:
    """What one service process holds: settings, database, clock and the search index."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = system_clock
    index: KnowledgeIndex | None = None
    ready: bool = False
    failed: bool = False


def get_runtime(request: Request) -> Runtime:
    """The process runtime, made by ``create_app``."""
    runtime: Runtime = request.app.state.runtime
    return runtime


# The lookups below are coroutines on purpose: FastAPI runs a plain ``def`` dependency in its
# thread pool, one thread hand-over (and back) per dependency and request, for one attribute read.


async def get_settings_dep(request: Request) -> Settings:
    """The settings of this app instance (tests build apps with their own settings)."""
    return get_runtime(request).settings


async def get_clock(request: Request) -> Clock:
    """The clock of this app instance (tests inject a fixed one)."""
    return get_runtime(request).clock


def get_session(request: Request) -> Iterator[Session]:
    """One database session per request, closed afterwards."""
    session = get_runtime(request).sessions()
    try:
        yield session
    finally:
        session.close()
