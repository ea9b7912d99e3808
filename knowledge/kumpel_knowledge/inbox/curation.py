"""What staff do with a group: turn it into a FAQ, add its wording as a synonym, mark it done or dismissed.

FAQs and synonyms are saved through ``kb.editing.save_entry``, the same path as ``PUT /api/v1/kb/...``:
validated alike, versioned, audited, and pushed into the search index in the same request, so the
bot answers from the change at once. Status changes are audited with the items' statuses before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.text import fold
from ..kb.editing import Saved, current_entry, save_entry
from ..kb.index import KnowledgeIndex
from ..kb.models import Faq, Office, Service
from ..staff import audit
from ..staff.auth import StaffIdentity
from .models import STATUSES, InboxItem

# Where a wording goes in each kind of entry: services and offices have synonyms, a FAQ its questions.
SYNONYM_FIELD = {"services": "synonyms", "offices": "synonyms", "faqs": "questions"}


def items_by_id(session: Session, ids: Sequence[int]) -> list[InboxItem]:
    """The items with these ids (unknown ids are ignored)."""
    if not ids:
        return []
    return list(session.scalars(select(InboxItem).where(InboxItem.id.in_(list(ids))).order_by(InboxItem.id)))


def set_status(session: Session, user: StaffIdentity, ids: Sequence[int], status: str, *, reason: str = "") -> int:
    """Mark these items done, dismissed or open again; audited; returns how many changed."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    items = items_by_id(session, ids)
    before = {str(item.id): item.status for item in items}
    now = datetime.now(UTC)
    for item in items:
        item.status = status
        item.decided_at = None if status == "open" else now
    if items:
        detail: dict[str, Any] = {"items": [item.id for item in items], "before": before, "after": status}
        if reason:
            detail["reason"] = reason
        audit.record(session, user, f"inbox_{status}", "inbox_group", str(items[0].id), detail)
    session.commit()
    return len(items)


def faq_id_for(question: str, session: Session) -> str:
    """A free FAQ id from the question's words: 'faq-wo-kann-ich-parken', '-2' etc. if taken."""
    words = re.findall(r"[a-z0-9]+", fold(question))[:6]
    base = ("faq-" + "-".join(words))[:70].rstrip("-") or "faq-neu"
    if len(base) < 6:
        base = f"{base}-frage"
    candidate, n = base, 2
    while session.get(Faq, candidate) is not None:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def entry_kind(session: Session, entry_id: str) -> str | None:
    """``services``, ``offices`` or ``faqs``: the table that holds this entry, None if none does."""
    for kind, model in (("services", Service), ("offices", Office), ("faqs", Faq)):
        if session.get(model, entry_id) is not None:
            return kind
    return None


def make_faq(
    session: Session, index: KnowledgeIndex, user: StaffIdentity, entry: dict[str, Any], ids: Sequence[int]
) -> Saved:
    """Save a new FAQ made from a group and mark the group's items done.

    Raises:
        interchange.KbValidationError: nothing was written, the items stay as they were.
    """
    saved = save_entry(session, index, user, "faqs", entry)
    set_status(session, user, ids, "done", reason=f"faq {saved.entry['id']}")
    return saved


def add_synonym(
    session: Session,
    index: KnowledgeIndex,
    user: StaffIdentity,
    entry_id: str,
    wordings: Sequence[str],
    ids: Sequence[int],
) -> Saved:
    """Add the group's wordings to an entry's synonyms (a FAQ's questions) and mark the group done.

    Wordings the entry already has (folded alike) are not added twice.

    Raises:
        LookupError: there is no such service, office or FAQ.
        interchange.KbValidationError: nothing was written.
    """
    kind = entry_kind(session, entry_id)
    entry = current_entry(session, kind, entry_id) if kind else None
    if kind is None or entry is None:
        raise LookupError(entry_id)
    field = SYNONYM_FIELD[kind]
    present = list(entry.get(field) or [])
    known = {fold(text).strip().rstrip("?!.").strip() for text in present}
    if kind != "faqs":
        known.add(fold(str(entry.get("name", ""))).strip())
    # "Wo melde ich den Hund an?" is found the same without its question mark.
    cleaned = [w.strip().rstrip("?!.").strip() for w in wordings]
    added = [w for w in cleaned if len(w) >= 3 and fold(w) not in known]
    entry[field] = present + list(dict.fromkeys(added))
    saved = save_entry(session, index, user, kind, entry)  # type: ignore[arg-type]
    set_status(session, user, ids, "done", reason=f"synonym of {entry_id}")
    return saved
