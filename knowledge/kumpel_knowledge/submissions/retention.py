"""Delete submissions whose retention has ended (``KUMPEL_SUBMISSION_RETENTION_DAYS``, default 180).

Run it daily from cron or a Kubernetes CronJob:
    kumpel-knowledge submissions purge        (or: python -m kumpel_knowledge.submissions.retention)
It prints how many records were deleted and never prints their content.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import func, select

from ..core.clock import Clock, system_clock
from ..core.db import make_engine, make_session_factory
from ..core.settings import get_settings
from ..schema import create_schema
from .models import Submission
from .store import purge_expired


def purge(*, dry_run: bool = False, clock: Clock = system_clock) -> str:
    """Delete (or with ``dry_run`` only count) the expired submissions; returns the report line."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    if settings.env != "production":  # production schema comes from Alembic
        create_schema(engine)
    try:
        with make_session_factory(engine)() as session:
            now = clock()
            if dry_run:
                count = session.scalar(select(func.count()).select_from(Submission).where(Submission.expires_at < now))
                return f"{int(count or 0)} expired submissions would be deleted"
            return f"deleted {purge_expired(session, now)} expired submissions"
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Command line of ``python -m kumpel_knowledge.submissions.retention``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    args = parser.parse_args(argv)
    print(purge(dry_run=args.dry_run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
