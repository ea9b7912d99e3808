"""Value types of the search interface (shared with the knowledge API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DocType = str  # "service" | "office" | "faq"
Status = Literal["answer", "clarify", "unknown"]


@dataclass(frozen=True)
class SearchDoc:
    """One searchable entry of the knowledge base.

    ``texts`` holds everything a citizen might say about it: name, synonyms, FAQ question
    variants, the short summary. Order does not matter; texts longer than ~160 characters
    are treated as running text (matched by words, not by character n-grams).
    """

    id: str
    type: DocType
    title: str
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchHit:
    """A candidate entry; ``score`` ranks, ``confidence`` is the calibrated P(this is right)."""

    id: str
    type: DocType
    title: str
    score: float
    confidence: float


@dataclass(frozen=True)
class SearchResult:
    """The decision for one question.

    - ``answer``: ``hits[0]`` is the entry to answer from (more hits may follow, best first).
    - ``clarify``: ``hits`` holds 1..3 candidates for "Meinten Sie ...?".
    - ``unknown``: nothing fits well enough; ``hits`` is empty.
    """

    status: Status
    hits: list[SearchHit]
