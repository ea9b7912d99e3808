"""Liveness and readiness probes (launcher, load balancer, container orchestrator).

- ``GET /live``: the process serves requests and has not given up (liveness: restart it when not).
- ``GET /ready``: the search index is built and the database answers right now (readiness: send
  citizens' questions here only when it is).
- ``GET /health``: the index is built (what the launcher and the tests await; kept for them).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .deps import Runtime, get_runtime

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


def _index_status(runtime: Runtime) -> str:
    if runtime.ready:
        return "ok"
    return "failed" if runtime.failed else "starting"


@router.get("/health")
def health(runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    """``{"status": "ok"}`` once the database and the search index are ready, 503 before."""
    status = _index_status(runtime)
    if status != "ok":
        return JSONResponse({"status": status}, status_code=503)
    backend = runtime.index.backend_name if runtime.index else ""
    return JSONResponse({"status": "ok", "search": backend})


@router.get("/live")
def live(runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    """200 while the process serves; 503 once building the index failed (only a restart helps)."""
    if runtime.failed:
        return JSONResponse({"status": "failed"}, status_code=503)
    return JSONResponse({"status": "alive"})


@router.get("/ready")
def ready(runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    """200 when the index is built and the database answers a query now; 503 with the reason else."""
    status = _index_status(runtime)
    if status != "ok":
        return JSONResponse({"status": status, "database": "unchecked"}, status_code=503)
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        # The reason goes to the log only: the probe is unauthenticated, and a URL may name a host.
        log.warning("readiness: the database does not answer (%s)", type(error).__name__)
        return JSONResponse({"status": "unavailable", "database": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
