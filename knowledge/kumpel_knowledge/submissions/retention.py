"""Delete submissions whose retention has ended (``KUMPEL_SUBMISSION_RETENTION_DAYS``, default 180).

Run it daily from cron or a Kubernetes CronJob:
    PYTHONPATH=knowledge .venv/knowledge/bin/python -m kumpel_knowledge.submissions.retention
It prints how many records were deleted and never prints their content.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from sqlalchemy import func, select

from ..db import create_schema, make_engine, make_session_factory
from ..models import Submission
from ..settings import get_settings
from .store import purge_expired


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    args = parser.parse_args(argv)
    settings = get_settings()
    engine = make_engine(settings.database_url)
    if settings.env != "production":  # production schema comes from Alembic
        create_schema(engine)
    try:
        with make_session_factory(engine)() as session:
            now = datetime.now(timezone.utc)
            if args.dry_run:
                count = session.scalar(select(func.count()).select_from(Submission).where(Submission.expires_at < now))
                print(f"{int(count or 0)} expired submissions would be deleted")
            else:
                print(f"deleted {purge_expired(session, now)} expired submissions")
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
