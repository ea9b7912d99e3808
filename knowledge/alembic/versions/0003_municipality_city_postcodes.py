"""municipality: city (the short place name in sentences) and postcodes (for the chat forms)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("municipality") as batch:
        batch.add_column(sa.Column("city", sa.String(length=100), nullable=False, server_default=""))
        batch.add_column(sa.Column("postcodes", sa.JSON(), nullable=False, server_default="[]"))
    # The defaults only fill existing rows; the model sets the values of new ones.
    with op.batch_alter_table("municipality") as batch:
        batch.alter_column("city", server_default=None)
        batch.alter_column("postcodes", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("municipality") as batch:
        batch.drop_column("postcodes")
        batch.drop_column("city")
