"""submission_processed: when and by whom a form submission was marked as processed

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 11:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("processed_by", sa.String(length=80), nullable=True))
        batch_op.create_index(batch_op.f("ix_submissions_processed_at"), ["processed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_processed_at"))
        batch_op.drop_column("processed_by")
        batch_op.drop_column("processed_at")
