"""Import and export of the whole knowledge base (``/staff/import`` editor and up, ``/staff/export`` viewer).

An import is always tried first: the uploaded kumpel-kb file is validated and written in a
transaction that is rolled back (``interchange.plan_bundle``), and the dry-run report lists what
would be added, changed (which fields) and removed. "Übernehmen" posts the same file again (a hidden
field: the server keeps nothing between the two steps) with a digest of the report the editor saw;
if the knowledge base changed meanwhile, the new report is shown instead of applying. Applying is
one transaction (all or nothing): every changed entry gets a version and an audit entry (as a save in
the editor does, ``kb/editing``), then the search index picks the changes up at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ...core.deps import get_session, get_settings_dep
from ...core.settings import Settings
from ...kb import editing, interchange
from ...kb.index import KnowledgeIndex, get_index
from ...kb.uploads import read_within
from ...kb.xzufi.sync import SyncPlan
from ...staff import audit
from ...staff.auth import StaffIdentity
from ..core import ConsoleUser, NavItem, console_user, csrf_protected, flash, render
from ..knowledge_forms import LABELS, german_errors

router = APIRouter()
NAV = [NavItem("Export", "/staff/export", "viewer", 80), NavItem("Import", "/staff/import", "editor", 81)]

SECTION_LABELS = {
    "offices": "Stelle",
    "services": "Leistung",
    "faqs": "Häufige Frage",
    "notices": "Hinweis",
    "municipality": "Stadtprofil",
}
ACTION_LABELS = {"add": "Neu", "change": "Geändert", "remove": "Entfernt"}
MODE_OPTIONS = [
    ("merge", "Ergänzen: Einträge, die nicht in der Datei stehen, bleiben erhalten"),
    ("replace", "Ersetzen: Einträge, die nicht in der Datei stehen, werden entfernt"),
]
Mode = Literal["merge", "replace"]
_ERROR = re.compile(r"^(?P<file>[^:]+): (?P<section>[a-z]+)\[(?P<index>\d+)\] \((?P<id>[^)]*)\)(?P<rest>.*)$")


def _staff(user: ConsoleUser) -> StaffIdentity:
    return StaffIdentity(user.username, user.role)


def german_import_errors(errors: list[str]) -> list[str]:
    """Validation errors of a file in German, each naming the entry and the field."""
    result = []
    for error in errors:
        found = _ERROR.match(error)
        if found is None:  # a file that cannot be read at all, or a top-level problem
            result.append(f"Datei {error}")
            continue
        section = found.group("section")
        where = f"{SECTION_LABELS.get(section, section)} „{found.group('id')}“ (Nr. {int(found.group('index')) + 1})"
        rest = found.group("rest")
        messages = german_errors(section, [rest.lstrip(", ")]) if section in editing.KINDS and rest else {}
        detail = next(iter(messages.values()), rest.lstrip(", ") or "ist ungültig.")
        raw = rest.split(": ", 1)[-1] if ": " in rest else ""
        result.append(f"{where}: {detail}" + (f" ({raw})" if raw and detail.endswith("ist ungültig.") else ""))
    return result


def _digest_of(data: Any) -> str:
    """What the editor saw: the same dry run (the same files against the same knowledge base) gives
    the same digest, so "übernehmen" applies exactly the reviewed changes. Both imports use it."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _digest(plan: interchange.ImportPlan) -> str:
    return _digest_of([asdict(change) for change in plan.changes])


def _change_rows(
    changes: Iterable[tuple[str, str, Iterable[str]]], sections: Mapping[str, str]
) -> list[dict[str, str]]:
    """A dry-run report's rows, for both imports: each (kind, id, changed fields) with German labels."""
    return [
        {
            "section": sections.get(kind, kind),
            "id": entry_id,
            "fields": ", ".join(LABELS.get(kind, {}).get(name, name) for name in fields),
        }
        for kind, entry_id, fields in changes
    ]


def _report(plan: interchange.ImportPlan) -> dict[str, Any]:
    def rows(action: str) -> list[dict[str, str]]:
        return _change_rows(((c.section, c.id, c.fields) for c in plan.of(action)), SECTION_LABELS)

    return {
        "counts": plan.counts,
        "groups": [(ACTION_LABELS[action], action, rows(action)) for action in ("add", "change", "remove")],
        "digest": _digest(plan),
    }


def _import_page(
    request: Request,
    user: ConsoleUser,
    *,
    errors: list[str] | None = None,
    plan: interchange.ImportPlan | None = None,
    content: str = "",
    filename: str = "",
    mode: str = "merge",
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "errors": errors or [],
        "report": _report(plan) if plan is not None else None,
        "content": content,
        "filename": filename,
        "mode": mode,
        "mode_label": dict(MODE_OPTIONS).get(mode, mode),
        "mode_options": MODE_OPTIONS,
        "notice": notice,
        "max_bytes": None,
    }
    return render(request, "io/import.html", context, user, status_code=status_code)


def _read(session: Session, filename: str, content: bytes, mode: str) -> interchange.KbBundle:
    """The file validated for this database.

    Raises:
        interchange.KbValidationError: with every problem.
    """
    name = filename or "upload.yaml"
    document = interchange.parse_document(name, content)
    return interchange.read_documents(session, [(name, document)], replace=mode == "replace")


@router.get("/import")
def import_form(request: Request, user: ConsoleUser = Depends(console_user("editor"))) -> HTMLResponse:
    """The upload form."""
    return _import_page(request, user)


@router.post("/import")
async def import_dry_run(
    request: Request,
    file: UploadFile | None = None,
    mode: Annotated[Mode, Form()] = "merge",
    _csrf: ConsoleUser = Depends(csrf_protected),
    user: ConsoleUser = Depends(console_user("editor")),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
) -> HTMLResponse:
    """The dry-run report of an uploaded file; nothing is written."""
    if file is None or not file.filename:
        errors = ["Datei: Bitte wählen Sie eine kumpel-kb-Datei (YAML oder JSON) aus."]
        return _import_page(request, user, errors=errors, mode=mode, status_code=422)
    content = await file.read(settings.knowledge_import_max_body_bytes + 1)
    if len(content) > settings.knowledge_import_max_body_bytes:
        limit = settings.knowledge_import_max_body_bytes // (1024 * 1024)
        errors = [f"Datei: Die Datei ist größer als {limit} MiB."]
        return _import_page(request, user, errors=errors, mode=mode, status_code=413)
    return _dry_run(request, user, session, file.filename, content, mode)


def _dry_run(
    request: Request, user: ConsoleUser, session: Session, filename: str, content: bytes, mode: str, notice: str = ""
) -> HTMLResponse:
    try:
        bundle = _read(session, filename, content, mode)
    except interchange.KbValidationError as exc:
        errors = german_import_errors(exc.errors)
        return _import_page(request, user, errors=errors, filename=filename, mode=mode, status_code=422)
    try:
        plan = interchange.plan_bundle(session, bundle, replace=mode == "replace")
    finally:
        session.rollback()  # a dry run: nothing stays written
    text = content.decode("utf-8-sig")
    return _import_page(request, user, plan=plan, content=text, filename=filename, mode=mode, notice=notice)


@router.post("/import/apply")
def import_apply(
    request: Request,
    content: Annotated[str, Form()],
    filename: Annotated[str, Form(max_length=200)],
    digest: Annotated[str, Form(max_length=64)],
    mode: Annotated[Mode, Form()] = "merge",
    _csrf: ConsoleUser = Depends(csrf_protected),
    user: ConsoleUser = Depends(console_user("editor")),
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
) -> Response:
    """Apply the file of the dry run, all or nothing, if the knowledge base still gives the same report."""
    raw = content.encode()
    try:
        bundle = _read(session, filename, raw, mode)
    except interchange.KbValidationError:
        return _dry_run(request, user, session, filename, raw, mode)
    try:
        plan = interchange.plan_bundle(session, bundle, replace=mode == "replace")
        if _digest(plan) != digest:
            session.rollback()
            notice = (
                "Die Wissensbasis wurde seit der Prüfung geändert. Bitte sehen Sie sich den neuen Bericht an "
                "und übernehmen Sie dann erneut."
            )
            return _dry_run(request, user, session, filename, raw, mode, notice=notice)
        staff = _staff(user)
        for change in plan.changes:
            kind = change.section
            # The same version + audit entry as a save in the editor, so history and revert cover imports.
            editing.record_change(session, staff, kind, change.id, change.before, change.after, None)
        audit.record(session, staff, "import", "kb", filename[:80], {"mode": mode, "counts": plan.counts})
        session.commit()
    except Exception:
        session.rollback()
        raise
    index.sync(session)  # the bot answers from the new entries from the next question on
    counts = plan.counts
    flash(
        request,
        user,
        f"Import übernommen: {counts['add']} neu, {counts['change']} geändert, {counts['remove']} entfernt.",
    )
    return RedirectResponse("/staff/import", status_code=303)


# ---- XZuFi 2.2 / PVOG: a sync, where local overrides win (``kb/xzufi/sync.py``) ---------------------

XZUFI_KINDS = {"services": "Leistung", "offices": "Stelle"}


def _xzufi_errors(exc: ValueError) -> list[str]:
    """The reader's and the sync's errors for staff: German where the problem is the town's profile."""
    from ...kb.xzufi.sync import MissingRegionalKey

    if isinstance(exc, MissingRegionalKey):
        return [
            "Im Stadtprofil fehlt der Regionalschlüssel (12 Ziffern). Er bestimmt, welche Leistungen zur Stadt "
            "gehören; bitte tragen Sie ihn unter „Stadtprofil“ ein und prüfen Sie dann erneut."
        ]
    return [str(error) for error in (getattr(exc, "errors", None) or [str(exc)])]


def _xzufi_digest(plan: SyncPlan) -> str:
    return _digest_of(plan.as_dict())


def _xzufi_report(plan: SyncPlan) -> dict[str, Any]:
    def rows(action: str) -> list[dict[str, str]]:
        return _change_rows(((e.kind, e.id, e.fields) for e in plan.of(action)), XZUFI_KINDS)

    shadowed = [
        {
            "section": XZUFI_KINDS.get(item.kind, item.kind),
            "id": item.id,
            "kind": item.kind,
            "field": LABELS.get(item.kind, {}).get(item.field, item.field),
            "old": item.old_official or "(leer)",
            "new": item.new_official or "(leer)",
            "local": item.local or "(leer)",
        }
        for item in plan.shadowed
    ]
    return {
        "counts": plan.counts,
        "groups": [
            *((ACTION_LABELS[action], action, rows(action)) for action in ("add", "change", "remove")),
            ("Von Ihnen gelöscht, bleibt gelöscht", "deleted_locally", rows("deleted_locally")),
        ],
        "shadowed": shadowed,
        "complete": plan.complete,
        "sources": list(plan.sources),
        "writes": plan.writes,
        "digest": _xzufi_digest(plan),
    }


def _xzufi_page(
    request: Request,
    user: ConsoleUser,
    *,
    errors: list[str] | None = None,
    plan: SyncPlan | None = None,
    uploads: list[tuple[str, bytes]] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "errors": errors or [],
        "report": _xzufi_report(plan) if plan is not None else None,
        # The files travel back with "Übernehmen" (the server keeps nothing between the steps);
        # base64, since an XML file need not be UTF-8.
        "files": [(name, base64.b64encode(content).decode()) for name, content in uploads or []],
        "filenames": ", ".join(name for name, _ in uploads or []),
        "notice": notice,
    }
    return render(request, "io/import_xzufi.html", context, user, status_code=status_code)


@router.post("/import/xzufi")
async def import_xzufi_dry_run(
    request: Request,
    files: list[UploadFile] | None = None,
    _csrf: ConsoleUser = Depends(csrf_protected),
    user: ConsoleUser = Depends(console_user("editor")),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings_dep),
) -> HTMLResponse:
    """The dry-run report of uploaded XZuFi XML / PVOG JSON files (one export); nothing is written."""
    chosen = [upload for upload in files or [] if upload.filename]
    if not chosen:
        errors = ["Datei: Bitte wählen Sie eine oder mehrere XZuFi-Dateien (XML) oder PVOG-Seiten (JSON) aus."]
        return _xzufi_page(request, user, errors=errors, status_code=422)
    limit = settings.knowledge_import_max_body_bytes
    uploads = await read_within(chosen, limit)
    if uploads is None:
        errors = [f"Datei: Die Dateien sind zusammen größer als {limit // (1024 * 1024)} MiB."]
        return _xzufi_page(request, user, errors=errors, status_code=413)
    return _xzufi_dry_run(request, user, session, uploads)


def _xzufi_dry_run(
    request: Request, user: ConsoleUser, session: Session, uploads: list[tuple[str, bytes]], notice: str = ""
) -> HTMLResponse:
    from ...kb.xzufi import sync  # the XML reader is loaded only for an import

    try:
        plan = sync.plan_sync(session, sync.read_uploads(session, uploads))
    except ValueError as exc:
        session.rollback()
        return _xzufi_page(request, user, errors=_xzufi_errors(exc), uploads=uploads, status_code=422)
    return _xzufi_page(request, user, plan=plan, uploads=uploads, notice=notice)


@router.post("/import/xzufi/apply")
async def import_xzufi_apply(
    request: Request,
    _csrf: ConsoleUser = Depends(csrf_protected),
    user: ConsoleUser = Depends(console_user("editor")),
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    """Apply the files of the dry run, all or nothing, if the knowledge base still gives the same report."""
    from ...kb.xzufi import sync

    # Each file comes back base64-encoded in one field (4/3 of its size); Starlette's default of 1 MiB
    # per field would refuse an export the dry run accepted.
    form = await request.form(max_part_size=settings.knowledge_import_max_body_bytes * 4 // 3 + 4)
    names = [str(v) for v in form.getlist("filename")]
    contents = [str(v) for v in form.getlist("content")]
    digest = str(form.get("digest", ""))
    try:
        uploads = [
            (name[:200], base64.b64decode(content, validate=True))
            for name, content in zip(names, contents, strict=True)
        ]
    except (ValueError, binascii.Error):
        uploads = []
    if not uploads:
        errors = ["Datei: Die Dateien sind nicht mehr vollständig. Bitte laden Sie sie erneut hoch."]
        return _xzufi_page(request, user, errors=errors, status_code=422)
    try:
        export = sync.read_uploads(session, uploads)
        plan = sync.plan_sync(session, export)
    except ValueError:
        return _xzufi_dry_run(request, user, session, uploads)
    if _xzufi_digest(plan) != digest:
        notice = (
            "Die Wissensbasis wurde seit der Prüfung geändert. Bitte sehen Sie sich den neuen Bericht an "
            "und übernehmen Sie dann erneut."
        )
        return _xzufi_page(request, user, plan=plan, uploads=uploads, notice=notice)
    try:
        report = sync.apply_sync(session, export, _staff(user), index)
    except ValueError as exc:
        return _xzufi_page(request, user, errors=_xzufi_errors(exc), uploads=uploads, status_code=422)
    counts = report.counts
    flash(
        request,
        user,
        f"XZuFi-Import übernommen: {counts['add']} neu, {counts['change']} geändert, {counts['remove']} entfernt, "
        f"{counts['shadowed']} lokale Änderungen beibehalten.",
    )
    return RedirectResponse("/staff/import", status_code=303)


@router.get("/export")
def export_page(request: Request, user: ConsoleUser = Depends(console_user("viewer"))) -> HTMLResponse:
    """The download links."""
    return render(request, "io/export.html", {}, user)


@router.get("/export/download")
def export_download(
    format: Annotated[Literal["yaml", "json"], Query()] = "yaml",
    _user: ConsoleUser = Depends(console_user("viewer")),
    session: Session = Depends(get_session),
) -> Response:
    """The whole knowledge base as one kumpel-kb file (the same as ``kumpel-knowledge kb export``)."""
    document = interchange.export_document(session)
    if format == "json":
        body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        media = "application/json"
    else:
        body = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
        media = "application/yaml"
    headers = {"Content-Disposition": f'attachment; filename="kumpel-kb.{format}"', "Cache-Control": "no-store"}
    return Response(body.encode("utf-8"), media_type=f"{media}; charset=utf-8", headers=headers)
