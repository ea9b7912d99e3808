"""Alembic migrations, run from code (CLI ``db upgrade``, first start, tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from .settings import KNOWLEDGE_DIR


def alembic_config(database_url: str) -> Config:
    """The project's Alembic configuration pointed at one database."""
    config = Config(str(KNOWLEDGE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(KNOWLEDGE_DIR / "alembic"))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the latest)."""
    command.upgrade(alembic_config(database_url), revision)


def head_revision(database_url: str = "sqlite://") -> str | None:
    """The single head of the migration history."""
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def downgrade(database_url: str, revision: str = "base") -> None:
    """Migrate the database down to ``revision`` (default: empty)."""
    command.downgrade(alembic_config(database_url), revision)
