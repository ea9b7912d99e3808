"""The FastAPI application: builds the runtime and includes every domain's router, in one place."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import func, select

from .answers import router as answers
from .answers.scrub import warm_up as scrubber_warm_up
from .console import router as console
from .core import health
from .core.clock import Clock, system_clock
from .core.db import make_engine, make_session_factory
from .core.deps import Runtime
from .core.json_text import CleanJsonTextMiddleware
from .core.migrations import current_revision, head_revision, upgrade
from .core.request_limits import BodySizeLimitMiddleware
from .core.settings import Settings, get_settings
from .feedback import router as feedback
from .inbox import router as inbox
from .kb import router as kb
from .kb.index import KnowledgeIndex
from .kb.interchange import import_path
from .kb.models import Service
from .schema import create_schema, schema_exists
from .staff import router as staff
from .stats import router as stats_router
from .submissions import router as submissions
from .webchat import router as webchat

log = logging.getLogger(__name__)


def prepare_database(runtime: Runtime) -> None:
    """Check or create the schema and seed an empty database (development)."""
    settings = runtime.settings
    if settings.env == "production":
        # Production migrates explicitly (`db upgrade`), never on start: replicas may start at once.
        current, head = current_revision(runtime.engine), head_revision()
        if current != head:
            raise RuntimeError(
                f"database schema is at {current or 'nothing'}, not at {head}: run `kumpel-knowledge db upgrade` first"
            )
    elif not schema_exists(runtime.engine):
        upgrade(settings.database_url)
    else:
        create_schema(runtime.engine)  # adds tables that are new in the models (development only)
    with runtime.sessions() as session:
        empty = session.scalar(select(func.count()).select_from(Service)) == 0
        if empty and settings.should_seed and settings.seed_path.exists():
            report = import_path(session, settings.seed_path)
            log.info("seeded the knowledge base from %s: %s", settings.seed_path, report.counts)


def build_index(runtime: Runtime) -> None:
    """Load the search model and index every entry; /health says ok afterwards."""
    index = KnowledgeIndex(runtime.settings)
    with runtime.sessions() as session:
        index.rebuild(session)
    scrubber_warm_up()  # before ready: the first question does not wait for the name patterns
    runtime.index = index
    runtime.ready = True
    log.info("search index ready: %s", index.backend_name)


def _refresh_index_forever(runtime: Runtime, stop: threading.Event) -> None:
    """Keep the index in step with the database when several processes share it."""
    interval = runtime.settings.index_refresh_seconds
    while not stop.wait(interval):
        if runtime.index is None:
            continue
        try:
            with runtime.sessions() as session:
                changes = runtime.index.sync(session)
            if changes:
                log.info("search index picked up %d changed entries", changes)
        except Exception:  # pragma: no cover - a failed round is retried at the next interval
            log.exception("refreshing the search index failed")


def _build_index_logged(runtime: Runtime) -> None:
    try:
        build_index(runtime)
    except Exception:  # pragma: no cover - logged; /health stays 503 so the launcher sees it
        log.exception("building the search index failed")
        runtime.failed = True


def create_app(settings: Settings | None = None, clock: Clock = system_clock) -> FastAPI:
    """Build the app; the database and the search index are prepared on start-up, not at import.

    Args:
        settings: the configuration (default: from the environment).
        clock: "now" for answers and submissions (tests pass a fixed one).
    """
    settings = settings or get_settings()
    settings.check_production_safety()
    settings = settings.with_run_secrets()  # outside production: a random secret per start for empty ones
    engine = make_engine(settings.database_url)
    runtime = Runtime(settings=settings, engine=engine, sessions=make_session_factory(engine), clock=clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        prepare_database(runtime)
        if settings.index_in_background:
            threading.Thread(target=_build_index_logged, args=(runtime,), name="index-build", daemon=True).start()
        else:
            build_index(runtime)
        stop = threading.Event()
        if settings.index_refresh_seconds > 0:
            threading.Thread(
                target=_refresh_index_forever, args=(runtime, stop), name="index-refresh", daemon=True
            ).start()
        yield
        stop.set()
        engine.dispose()

    app = FastAPI(
        title="Kumpel knowledge service",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/api/docs" if settings.env != "production" else None,
        redoc_url=None,
    )
    # Added last, so outermost: every body is counted by the size limit, also what the cleaning
    # middleware buffers; an oversized one gets 413 before it is read in full or parsed.
    app.add_middleware(CleanJsonTextMiddleware)
    import_limit = settings.knowledge_import_max_body_bytes
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.knowledge_max_body_bytes,
        path_limits={
            "/staff/import": import_limit,
            "/staff/import/apply": import_limit,
            "/staff/import/xzufi": import_limit,
            # the files come back base64-encoded with "Übernehmen"
            "/staff/import/xzufi/apply": import_limit * 4 // 3 + 64 * 1024,
            "/api/v1/kb/import-xzufi": import_limit,
        },
    )
    app.state.runtime = runtime

    for router in (
        health.router,
        answers.router,
        staff.router,
        staff.staff_router,
        kb.router,
        kb.public_router,
        submissions.router,
        feedback.router,
        inbox.router,
        stats_router.router,
        webchat.router,
    ):
        app.include_router(router)
    console.install(app)  # the staff console under /staff: pages, static files, security headers
    return app
