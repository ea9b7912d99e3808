"""answer_events: counts for the staff dashboard (answers, form starts and cancels, the day's HMAC key)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answer_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("entry_type", sa.String(length=20), nullable=True),
        sa.Column("entry_id", sa.String(length=80), nullable=True),
        sa.Column("conversation_key", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("answer_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_events_day"), ["day"], unique=False)
    op.create_table(
        "form_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("form", sa.String(length=80), nullable=False),
        sa.Column("event", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("form_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_events_day"), ["day"], unique=False)
    op.create_table(
        "stats_day_keys",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("stats_day_keys")
    with op.batch_alter_table("form_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_events_day"))
    op.drop_table("form_events")
    with op.batch_alter_table("answer_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_events_day"))
    op.drop_table("answer_events")
