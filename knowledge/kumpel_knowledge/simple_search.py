"""A small lexical matcher with the HybridSearch interface.

Used only while ``kumpel_knowledge.search`` (the hybrid search) is not installed, so the service
runs and answers from the first day. Folded tokens, simple lemmas and fuzzy matching for typos.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz

from .dates_de import fold

STOPWORDS = frozenset(
    fold(w)
    for w in """
    der die das den dem des ein eine einen einem einer eines und oder aber ich du sie er es wir ihr
    mein meine meinen meinem dein deine ihre ihren unser unsere wie wo was wann wer welche welcher
    welches warum ist sind bin bist hat habe haben hast kann koennen kannst muss muessen musst soll
    sollte will moechte moechten wuerde brauche brauchen brauchst gibt geben mir mich mal bitte
    noch auch schon fuer mit von vom zum zur bei beim im in am an auf aus nach ueber unter um zu
    nicht kein keine so da dort hier man sich denn doch ja nein gerne hallo danke was's wieviel
    viel viele heute morgen uebermorgen geoeffnet oeffnungszeiten offen auf zu
    """.split()
)


@dataclass(frozen=True)
class SearchDoc:
    """One searchable entry."""

    id: str
    type: str
    title: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class SearchHit:
    """One ranked entry."""

    id: str
    type: str
    title: str
    score: float
    confidence: float


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits and what to do with them."""

    status: Literal["answer", "clarify", "unknown"]
    hits: list[SearchHit]


def tokens(text: str) -> list[str]:
    """Content words, folded (umlauts as ae/oe/ue), without stop words."""
    return [t for t in re.findall(r"[a-z0-9]+", fold(text)) if len(t) > 2 and t not in STOPWORDS]


def _similarity(query_token: str, doc_token: str) -> float:
    if query_token == doc_token:
        return 1.0
    if len(query_token) >= 5 and len(doc_token) >= 5 and fuzz.ratio(query_token, doc_token) >= 84:
        return 0.9
    # Compounds: "hundesteuer" in "hundesteuermarke", "ausweis" in "personalausweis".
    shorter, longer = sorted((query_token, doc_token), key=len)
    if len(shorter) >= 4 and shorter in longer:
        return 0.75
    return 0.0


class SimpleSearch:
    """Lexical stand-in for HybridSearch (same methods)."""

    ANSWER_AT = 0.6
    CLARIFY_AT = 0.34
    MARGIN = 0.08

    def __init__(self, model_name_or_path: str | None = None, mode: str = "lexical") -> None:
        self._docs: dict[str, tuple[SearchDoc, frozenset[str], frozenset[str]]] = {}

    def rebuild(self, docs: Iterable[SearchDoc]) -> None:
        """Replace the whole index."""
        self._docs = {}
        for doc in docs:
            self.upsert(doc)

    def upsert(self, doc: SearchDoc) -> None:
        """Add or replace one entry."""
        title_tokens = frozenset(tokens(doc.title))
        all_tokens = frozenset(t for text in (doc.title, *doc.texts) for t in tokens(text))
        self._docs[doc.id] = (doc, title_tokens, all_tokens)

    def remove(self, doc_id: str) -> None:
        """Drop one entry."""
        self._docs.pop(doc_id, None)

    def search(self, query: str, *, types: Collection[str] | None = None, k: int = 5) -> SearchResult:
        """Rank entries for a question."""
        query_tokens = tokens(query)
        if not query_tokens:
            return SearchResult("unknown", [])
        scored: list[SearchHit] = []
        for doc, title_tokens, doc_tokens in self._docs.values():
            if types and doc.type not in types:
                continue
            total = 0.0
            for q in query_tokens:
                best = max((_similarity(q, d) for d in doc_tokens), default=0.0)
                if q in title_tokens:
                    best = min(1.0, best + 0.1)
                total += best
            score = total / len(query_tokens)
            if score > 0:
                scored.append(SearchHit(doc.id, doc.type, doc.title, score, min(1.0, score)))
        scored.sort(key=lambda h: (-h.score, h.title))
        hits = scored[:k]
        if not hits or hits[0].score < self.CLARIFY_AT:
            return SearchResult("unknown", hits)
        second = hits[1].score if len(hits) > 1 else 0.0
        if hits[0].score >= self.ANSWER_AT and hits[0].score - second >= self.MARGIN:
            return SearchResult("answer", hits)
        return SearchResult("clarify", hits)
