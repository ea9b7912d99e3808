"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from .deps import Runtime, get_runtime

router = APIRouter(tags=["health"])


@router.get("/health")
def health(runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    """``{"status": "ok"}`` once the database and the search index are ready, 503 before."""
    if not runtime.ready:
        return JSONResponse({"status": "failed" if runtime.failed else "starting"}, status_code=503)
    backend = runtime.index.backend_name if runtime.index else ""
    return JSONResponse({"status": "ok", "search": backend})
