"""entry_versions: full before/after snapshots of every knowledge entry change, for history and revert

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "entry_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("entry_id", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("reverted_from", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("entry_versions", schema=None) as batch_op:
        batch_op.create_index("ix_entry_versions_entry", ["kind", "entry_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("entry_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_versions_entry")
    op.drop_table("entry_versions")
