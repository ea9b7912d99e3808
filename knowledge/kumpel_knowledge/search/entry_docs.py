"""Knowledge-base entries as search documents: one definition for the live index and the benchmarks.

The live index (kb/index.py) reads entries from the database, tuning and benchmarks
(search/labelled.py) from kumpel-kb folders; both build their documents here, so both index exactly
the same text. What a citizen may call an entry (names, synonyms, summary, question variants) goes
into ``texts``; the rest of its running text into ``body``, which feeds the "body" signal only:
an office's description, the note on its hours and its accessibility say what a citizen may ask
it about ("Wertstoffhof samstags", "barrierefreies WC") where it has no synonyms, and a FAQ's
answer says what its question variants leave out.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kumpel_knowledge.search.types import SearchDoc


def _item_text(item: Any) -> str:
    """A list item as text: a plain string, or a fee/deadline mapping's words (label, note, unit)."""
    if isinstance(item, Mapping):
        return " ".join(str(item[key]) for key in ("label", "title", "text", "note", "unit") if item.get(key))
    return str(item or "")


def _texts(*texts: str) -> tuple[str, ...]:
    return tuple(t for t in (" ".join((text or "").split()) for text in texts) if t)


def service_doc(
    *,
    id: str,
    name: str,
    synonyms: Iterable[str] = (),
    summary: str = "",
    leika_key: str | None = None,
    description: str = "",
    prerequisites: Iterable[Any] = (),
    documents: Iterable[Any] = (),
    fees: Iterable[Any] = (),
    deadlines: Iterable[Any] = (),
    processing_time: str = "",
) -> SearchDoc:
    """A service: name, synonyms, summary; description, prerequisites, documents, fee labels,
    deadlines and processing time as running text."""
    synonyms = list(synonyms or ())
    items = [_item_text(item) for items in (prerequisites, documents, fees, deadlines) for item in items or ()]
    return SearchDoc(
        id=id,
        type="service",
        title=name,
        texts=(name, *synonyms, summary or ""),
        fields=("name", *(["synonym"] * len(synonyms)), "summary"),
        leika_key=leika_key,
        body=_texts(description, processing_time, *items),
    )


def office_doc(
    *,
    id: str,
    name: str,
    synonyms: Iterable[str] = (),
    description: str = "",
    opening_hours_note: str = "",
    accessibility: str = "",
) -> SearchDoc:
    """An office: name and synonyms; description, the note on its hours and accessibility as running text."""
    synonyms = list(synonyms or ())
    return SearchDoc(
        id=id,
        type="office",
        title=name,
        texts=(name, *synonyms),
        fields=("name", *(["synonym"] * len(synonyms))),
        body=_texts(description, opening_hours_note, accessibility),
    )


def faq_doc(*, id: str, questions: Iterable[str], answer: str = "") -> SearchDoc:
    """A FAQ: its question variants; its answer as running text."""
    variants = tuple(questions)
    return SearchDoc(
        id=id,
        type="faq",
        title=variants[0] if variants else id,
        texts=variants,
        fields=("question",) * len(variants),
        body=_texts(answer),
    )


def _parameters(builder: Callable[..., SearchDoc]) -> tuple[str, ...]:
    return tuple(inspect.signature(builder).parameters)


# The fields a kumpel-kb file or a database row is read for: each builder's keyword arguments.
SERVICE_INDEXED = _parameters(service_doc)
OFFICE_INDEXED = _parameters(office_doc)
FAQ_INDEXED = _parameters(faq_doc)


def given(names: tuple[str, ...], value_of: Callable[[str], Any]) -> dict[str, Any]:
    """The fields ``names`` that an entry has (absent or null: the builder's default), read by ``value_of``
    (a file's mapping ``.get`` or a database row's ``getattr``)."""
    return {name: value for name in names if (value := value_of(name)) is not None}
