"""The console under ``/staff``: every page module of ``console/pages`` found and mounted, plus its static files.

A page module defines ``router = APIRouter()`` (paths relative to ``/staff``) and ``NAV`` (its menu
entries); adding a module is all it takes, no shared list to edit.
"""

from __future__ import annotations

import importlib
import logging
import mimetypes
import pkgutil

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import pages
from .core import (
    PREFIX,
    STATIC_DIR,
    ConsoleForbidden,
    ConsoleLoginRequired,
    NavItem,
    login_url,
    register_nav,
    render,
)
from .headers import ConsoleSecurityHeadersMiddleware

log = logging.getLogger(__name__)

# The platform's table may lack them (a slim container image): the vendored scripts and the
# stylesheet must never go out as text/plain, which browsers with nosniff refuse to run.
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/css", ".css")
mimetypes.add_type("image/svg+xml", ".svg")


def build_router() -> APIRouter:
    """One router with every page module's routes under ``/staff``; registers their menu entries."""
    console = APIRouter(prefix=PREFIX, include_in_schema=False)
    for module_info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{pages.__name__}.{module_info.name}")
        page_router = getattr(module, "router", None)
        if not isinstance(page_router, APIRouter):
            log.warning("console page module %s has no `router`; skipped", module_info.name)
            continue
        console.include_router(page_router)
        nav: list[NavItem] = getattr(module, "NAV", [])
        register_nav(nav)
    return console


def _is_console(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(f"{PREFIX}/")


def install(app: FastAPI) -> None:
    """Mount the console on ``app``: static files, pages, security headers and its error pages."""
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    app.include_router(build_router())
    app.add_middleware(ConsoleSecurityHeadersMiddleware, prefix=PREFIX)

    @app.exception_handler(ConsoleLoginRequired)
    async def _login_required(request: Request, exc: ConsoleLoginRequired) -> Response:
        if exc.htmx:
            # htmx follows HX-Redirect with a full page load: the login page, then back here.
            return Response(status_code=401, headers={"HX-Redirect": login_url(exc.next_path)})
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.exception_handler(ConsoleForbidden)
    async def _forbidden(request: Request, exc: ConsoleForbidden) -> Response:
        return render(request, "error.html", {"title": "Kein Zugriff", "message": exc.message}, exc.user, 403)

    default_http_handler = app.exception_handlers.get(StarletteHTTPException)
    default_validation_handler = app.exception_handlers.get(RequestValidationError)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Console pages get a German page; the JSON API keeps FastAPI's precise JSON errors.
        if _is_console(request) and exc.status_code in (404, 405) and request.headers.get("HX-Request") != "true":
            message = "Diese Seite gibt es nicht." if exc.status_code == 404 else "Diese Aktion ist hier nicht möglich."
            return render(request, "error.html", {"title": "Nicht gefunden", "message": message}, None, exc.status_code)
        if default_http_handler is not None:
            return await default_http_handler(request, exc)  # type: ignore[no-any-return,misc]
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if _is_console(request) and request.headers.get("HX-Request") != "true":
            message = "Die Eingabe war unvollständig oder ungültig. Bitte gehen Sie zurück und prüfen Sie das Formular."
            return render(request, "error.html", {"title": "Ungültige Eingabe", "message": message}, None, 422)
        if default_validation_handler is not None:
            return await default_validation_handler(request, exc)  # type: ignore[no-any-return,misc]
        return JSONResponse({"detail": exc.errors()}, status_code=422)
