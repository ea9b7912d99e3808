"""``GET /api/v1/staff/inbox``: the inbox's groups for API clients (viewer token), as the console shows them."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from ..core.deps import get_session, get_settings_dep
from ..core.settings import Settings
from ..kb.index import KnowledgeIndex, get_index
from ..staff.auth import StaffIdentity, require_role
from .grouping import Group, InboxFilter, inbox_groups

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])

KindParam = Literal["unknown", "clarify", "refused", "ignored_choice", "thumbs_down"]


class WordingOut(BaseModel):
    text: str
    count: int


class GroupOut(BaseModel):
    """One group: the typical wording, every wording with its count, kinds, when, which entries."""

    key: str
    question: str
    count: int
    wordings: list[WordingOut]
    kinds: dict[str, int]
    statuses: dict[str, int]
    first_seen: str
    last_seen: str
    entries: list[str]
    item_ids: list[int]


class InboxOut(BaseModel):
    total_groups: int
    total_items: int
    groups: list[GroupOut]


def group_out(group: Group) -> GroupOut:
    """A group in the JSON shape."""
    return GroupOut(
        key=group.key,
        question=group.question,
        count=group.count,
        wordings=[WordingOut(text=w.text, count=w.count) for w in group.wordings],
        kinds=group.kinds,
        statuses=group.statuses,
        first_seen=group.first_seen.isoformat(),
        last_seen=group.last_seen.isoformat(),
        entries=group.entries,
        item_ids=group.item_ids,
    )


@router.get("/inbox", response_model=InboxOut)
def list_inbox(
    status: Literal["open", "done", "dismissed", "all"] = "open",
    kind: KindParam | None = None,
    day: date | None = Query(None, description="a day in the town's time zone (YYYY-MM-DD)"),
    entry: str | None = Query(None, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"),
    sort: Literal["newest", "frequent"] = "newest",
    limit: int = Query(100, ge=1, le=1000),
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    settings: Settings = Depends(get_settings_dep),
    _user: StaffIdentity = Depends(require_role("viewer")),
) -> InboxOut:
    """What the bot missed, grouped by similar wording with counts (scrubbed: no personal data, no sender)."""
    filters = InboxFilter(status=status, kind=kind, day=day, entry=entry)
    groups = inbox_groups(session, filters, index.search.encoder, settings.timezone, sort)
    return InboxOut(
        total_groups=len(groups),
        total_items=sum(g.count for g in groups),
        groups=[group_out(g) for g in groups[:limit]],
    )
