"""Every table of the knowledge service in one metadata: for schema creation, checks and migrations.

Importing the domains' model modules registers their tables on ``Base``.
"""

from __future__ import annotations

from sqlalchemy import Engine, MetaData, inspect

from .answers import models as _answers_models  # noqa: F401
from .core.db import Base
from .feedback import models as _feedback_models  # noqa: F401
from .inbox import models as _inbox_models  # noqa: F401
from .kb import models as _kb_models  # noqa: F401
from .kb import versions as _kb_versions  # noqa: F401
from .staff import models as _staff_models  # noqa: F401
from .stats import models as _stats_models  # noqa: F401
from .submissions import models as _submissions_models  # noqa: F401

metadata: MetaData = Base.metadata


def create_schema(engine: Engine) -> None:
    """Create all tables (development and tests; production uses Alembic)."""
    metadata.create_all(engine)


def schema_exists(engine: Engine) -> bool:
    """True when the knowledge tables exist."""
    return inspect(engine).has_table("services")
