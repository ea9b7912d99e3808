"""Command line ``kumpel-knowledge``: serve, kb import/import-xzufi/export, db upgrade, users add, purges."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from .core import log_privacy
from .core.settings import get_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    try:
        settings = get_settings().model_copy(update={"index_in_background": True})
        app = create_app(settings)
    except (RuntimeError, ValueError) as exc:  # ValueError: a setting pydantic refused
        print(f"error: {exc}", file=sys.stderr)
        return 2
    trusted = [str(network) for network in settings.trusted_proxy_networks]
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 (its default) and hand the
        # app a client address anyone can forge: it follows KUMPEL_TRUSTED_PROXIES, like the app.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
    )
    return 0


def _session() -> Session:
    from .core.db import make_engine, make_session_factory
    from .core.migrations import upgrade
    from .schema import schema_exists

    settings = get_settings()
    engine = make_engine(settings.database_url)
    if not schema_exists(engine):
        upgrade(settings.database_url)
    return make_session_factory(engine)()


def _db_upgrade(args: argparse.Namespace) -> int:
    from .core.migrations import upgrade

    upgrade(get_settings().database_url, args.revision)
    print(f"database migrated to {args.revision}")
    return 0


def _kb_import(args: argparse.Namespace) -> int:
    from .kb.interchange import KbValidationError, import_path

    if args.dry_run:
        return _kb_import_dry_run(Path(args.path))
    with _session() as session:
        try:
            report = import_path(session, Path(args.path))
        except KbValidationError as exc:
            print(f"import refused, nothing was written ({len(exc.errors)} errors):", file=sys.stderr)
            for error in exc.errors:
                print(f"  {error}", file=sys.stderr)
            return 1
    print("imported: " + ", ".join(f"{n} {section}" for section, n in report.counts.items()))
    return 0


def _kb_import_dry_run(path: Path) -> int:
    from .kb.interchange import KbValidationError, dry_run_path

    with _session() as session:
        try:
            plan = dry_run_path(session, path)
        except KbValidationError as exc:
            print(f"import would be refused ({len(exc.errors)} errors):", file=sys.stderr)
            for error in exc.errors:
                print(f"  {error}", file=sys.stderr)
            return 1
    symbols = {"add": "+", "change": "~", "remove": "-"}
    for change in plan.changes:
        fields = f" ({', '.join(change.fields)})" if change.action == "change" else ""
        print(f"{symbols[change.action]} {change.section}/{change.id}{fields}")
    counts = plan.counts
    print(
        f"dry run, nothing was written: {counts['add']} to add, {counts['change']} to change, "
        f"{counts['unchanged']} unchanged"
    )
    return 0


def _kb_import_xzufi(args: argparse.Namespace) -> int:
    from .kb.xzufi.sync import apply_sync, plan_sync, read_export
    from .staff.auth import StaffIdentity

    paths = [Path(p) for p in args.paths]
    with _session() as session:
        try:
            export = read_export(session, paths)
            if args.dry_run:
                plan = plan_sync(session, export)
            else:
                plan = apply_sync(session, export, StaffIdentity("kumpel-knowledge (CLI)", "admin")).plan
        except ValueError as exc:  # XzufiError (reader) and XzufiSyncError both list every problem
            refused = "would be refused" if args.dry_run else "refused, nothing was written"
            errors: list[str] = list(getattr(exc, "errors", None) or [str(exc)])
            print(f"XZuFi import {refused} ({len(errors)} errors):", file=sys.stderr)
            for error in errors:
                print(f"  {error}", file=sys.stderr)
            return 1
    symbols = {"add": "+", "change": "~", "remove": "-"}
    for planned in plan.entries:
        if planned.action in symbols:
            fields = f" ({', '.join(planned.fields)})" if planned.action == "change" else ""
            print(f"{symbols[planned.action]} {planned.kind}/{planned.id}{fields}")
    for planned in plan.of("deleted_locally"):
        print(f"x {planned.kind}/{planned.id}: deleted locally, stays deleted")
    for item in plan.shadowed:
        print(
            f"! {item.kind}/{item.id} {item.field}: the local override is kept; the official text changed "
            f"from {item.old_official[:80]!r} to {item.new_official[:80]!r}"
        )
    counts = plan.counts
    summary = (
        f"{counts['add']} added, {counts['change']} changed, {counts['remove']} removed, "
        f"{counts['unchanged']} unchanged, {counts['shadowed']} shadowed by local overrides, "
        f"{counts['deleted_locally']} kept deleted locally, "
        f"{counts['skipped_outside_region']} objects outside the town skipped"
    )
    print(("dry run, nothing was written: " if args.dry_run else "XZuFi import done: ") + summary)
    return 0


def _kb_export(args: argparse.Namespace) -> int:
    from .kb.interchange import export_path

    with _session() as session:
        counts = export_path(session, Path(args.path))
    print(f"exported to {args.path}: " + ", ".join(f"{n} {section}" for section, n in counts.items()))
    return 0


def _users_add(args: argparse.Namespace) -> int:
    import getpass

    from .staff.auth import add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Repeat: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 1
    with _session() as session:
        try:
            add_user(session, args.name, password, args.role)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(f"user {args.name} saved with role {args.role}")
    return 0


def _submissions_purge(args: argparse.Namespace) -> int:
    from .submissions.retention import purge

    print(purge(dry_run=args.dry_run))
    return 0


def _stats_purge(args: argparse.Namespace) -> int:
    from .inbox.retention import purge as purge_rateable
    from .stats.retention import purge

    print(purge(dry_run=args.dry_run))
    # The same daily job forgets the questions kept for ratings (48 h), off the answer's hot path.
    print(purge_rateable(dry_run=args.dry_run))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    parser = argparse.ArgumentParser(prog="kumpel-knowledge")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=_serve)

    kb = commands.add_parser("kb", help="import or export the knowledge base").add_subparsers(dest="kb", required=True)
    kb_import = kb.add_parser("import", help="validate and import a kumpel-kb file or folder (all or nothing)")
    kb_import.add_argument("path")
    kb_import.add_argument(
        "--dry-run", action="store_true", help="only report what would be added or changed (entry and field)"
    )
    kb_import.set_defaults(func=_kb_import)
    kb_xzufi = kb.add_parser(
        "import-xzufi",
        help="sync services and offices from XZuFi 2.2 XML / PVOG JSON files (all or nothing; local overrides win)",
    )
    kb_xzufi.add_argument("paths", nargs="+", metavar="PATH", help="XZuFi XML or PVOG JSON pages of one export")
    kb_xzufi.add_argument(
        "--dry-run",
        action="store_true",
        help="only report what would be added, changed, removed and which local overrides shadow a change",
    )
    kb_xzufi.set_defaults(func=_kb_import_xzufi)
    kb_export = kb.add_parser("export", help="export to a .yaml/.json file or a folder")
    kb_export.add_argument("path")
    kb_export.set_defaults(func=_kb_export)

    db = commands.add_parser("db", help="database migrations").add_subparsers(dest="db", required=True)
    db_upgrade = db.add_parser("upgrade", help="migrate the database (Alembic) to the latest revision")
    db_upgrade.add_argument("revision", nargs="?", default="head")
    db_upgrade.set_defaults(func=_db_upgrade)

    users = commands.add_parser("users", help="manage staff users").add_subparsers(dest="users", required=True)
    users_add = users.add_parser("add", help="create a user or reset password and role")
    users_add.add_argument("name")
    users_add.add_argument("--role", choices=("viewer", "editor", "admin"), default="viewer")
    users_add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    users_add.set_defaults(func=_users_add)

    submissions = commands.add_parser("submissions", help="form submissions").add_subparsers(
        dest="submissions", required=True
    )
    purge = submissions.add_parser("purge", help="delete submissions whose retention has ended (daily, from cron)")
    purge.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    purge.set_defaults(func=_submissions_purge)

    stats = commands.add_parser("stats", help="dashboard counts").add_subparsers(dest="stats", required=True)
    stats_purge = stats.add_parser(
        "purge", help="delete dashboard events past KUMPEL_STATS_RETENTION_DAYS and expired rateable questions (daily)"
    )
    stats_purge.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    stats_purge.set_defaults(func=_stats_purge)

    args = parser.parse_args(argv)
    log_privacy.install()  # no query string, SQL parameter or exception text of a citizen in the log
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
