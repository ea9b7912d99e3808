"""xzufi_provenance: official values of imported entries and the staff's local overrides, kept apart

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 13:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imported_entries",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("entry_id", sa.String(length=80), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("official", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "entry_id"),
    )
    with op.batch_alter_table("imported_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_imported_entries_external_id"), ["external_id"], unique=False)
    op.create_table(
        "entry_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("entry_id", sa.String(length=80), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kind", "entry_id"], ["imported_entries.kind", "imported_entries.entry_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "entry_id", "field", name="uq_entry_override"),
    )


def downgrade() -> None:
    op.drop_table("entry_overrides")
    with op.batch_alter_table("imported_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imported_entries_external_id"))
    op.drop_table("imported_entries")
