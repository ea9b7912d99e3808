"""Full snapshots of every saved or deleted knowledge entry: the history staff can revert to.

Why a table of its own and not full snapshots in the audit log's ``detail``: the audit log is the
short who-did-what list that admins read across everything; snapshots are large (a service with its
texts, fees and documents) and the history page reads them per entry, newest first. A separate table
with an index on (kind, entry_id) keeps both fast. Each version is written in the same transaction
as its audit entry (same user, kind, id and changed fields), so the two always agree.
The town's profile is kind ``municipality``, id ``1``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..core.db import Base, utcnow


class EntryVersion(Base):
    """One change of one entry: who, when, what it was before and after (None: did not exist)."""

    __tablename__ = "entry_versions"
    __table_args__ = (Index("ix_entry_versions_entry", "kind", "entry_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    entry_id: Mapped[str] = mapped_column(String(80))
    # "create", "update", "delete" or "revert" (a save that restores an earlier version).
    action: Mapped[str] = mapped_column(String(20))
    username: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    changed: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The version a revert restored.
    reverted_from: Mapped[int | None] = mapped_column(Integer, nullable=True)

    @property
    def snapshot(self) -> dict[str, Any] | None:
        """The entry as this version left it; for a deletion, as it was just before."""
        return self.after if self.after is not None else self.before


def history(session: Session, kind: str, entry_id: str) -> list[EntryVersion]:
    """Every version of one entry, newest first."""
    return list(
        session.scalars(
            select(EntryVersion)
            .where(EntryVersion.kind == kind, EntryVersion.entry_id == entry_id)
            .order_by(EntryVersion.id.desc())
        )
    )


def changed_fields(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """The fields a change touched; every field of a new or deleted entry."""
    before, after = old or {}, new or {}
    return sorted(k for k in set(after) | set(before) if before.get(k) != after.get(k))
