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
    # What each of ``texts`` is ("name", "synonym", "summary", "question", "vocabulary"), for
    # explanations only: the ranking never reads it. Shorter than ``texts`` (or empty) is fine.
    fields: tuple[str, ...] = ()
    # The service's LeiKa key: the shared vocabulary (search/vocabulary.py) is matched by it first.
    leika_key: str | None = None
    # The rest of the entry's text (description, documents, prerequisites, fees ...): searched as
    # running text for the "body" signal only, so long official prose neither dilutes the name
    # matches nor needs embedding.
    body: tuple[str, ...] = ()


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


# ---- explain mode: why the search decided as it did (the staff preview) ----------------------


@dataclass(frozen=True)
class TextMatch:
    """One of an entry's texts and how close the question came to it."""

    field: str  # "title", "name", "synonym", "summary", "question" or "combined" (all texts together)
    text: str
    value: float


@dataclass(frozen=True)
class TermMatch:
    """A term of the question (folded word, lemma or compound part) found in an entry's texts."""

    term: str
    fields: tuple[str, ...]  # the kinds of text it was found in ("name", "synonym", ...)
    texts: tuple[str, ...]  # the texts themselves
    # A typo: the question's word was unknown and borrowed this known term, at a discount.
    typo_of: str | None = None


@dataclass(frozen=True)
class CandidateExplanation:
    """One candidate with the signals behind its score."""

    hit: SearchHit
    rank: int  # 1 = best
    # Raw signals: dense = best cosine of the question to one of the entry's texts; bm25 = share of
    # the question's (rarity-weighted) words matched; char = best character n-gram similarity.
    signals: dict[str, float]
    # The parts of the fused score: dense, bm25, char (weighted) and the entry type's prior.
    contributions: dict[str, float]
    terms: tuple[TermMatch, ...]
    best_char_text: TextMatch | None
    best_dense_text: TextMatch | None


@dataclass(frozen=True)
class SearchExplanation:
    """The search's decision for one question and why (``result`` is exactly what ``search`` returns)."""

    query: str
    mode: str
    result: SearchResult
    candidates: tuple[CandidateExplanation, ...]
    coverage: float  # share of the question's words the knowledge base knows at all
    office_cue: bool  # the question asks who/where/how to reach someone
    answer_threshold: float
    clarify_threshold: float
    min_coverage: float
    # "answer", "clarify", "below_clarify" (too unsure even to ask back), "low_coverage" (sure
    # enough to ask back, but the question's words are mostly unknown here) or "empty" (no words).
    reason: str
