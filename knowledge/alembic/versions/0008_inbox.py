"""inbox: what the bot missed (grouped and curated in the console), and the answers still rateable

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("wording_key", sa.String(length=300), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("entry_type", sa.String(length=20), nullable=True),
        sa.Column("entry_id", sa.String(length=80), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_items_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_items_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_items_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_items_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_items_wording_key"), ["wording_key"], unique=False)
    op.create_table(
        "inbox_rateable_answers",
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("entry_type", sa.String(length=20), nullable=True),
        sa.Column("entry_id", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )
    with op.batch_alter_table("inbox_rateable_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_rateable_answers_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox_rateable_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_rateable_answers_created_at"))
    op.drop_table("inbox_rateable_answers")
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_items_wording_key"))
        batch_op.drop_index(batch_op.f("ix_inbox_items_status"))
        batch_op.drop_index(batch_op.f("ix_inbox_items_kind"))
        batch_op.drop_index(batch_op.f("ix_inbox_items_entry_id"))
        batch_op.drop_index(batch_op.f("ix_inbox_items_created_at"))
    op.drop_table("inbox_items")
