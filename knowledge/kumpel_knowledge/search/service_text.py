"""The running text of a service entry that the search reads besides its names (the "body" signal).

One function for the knowledge index and the benchmarks, so both index exactly the same text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _item_text(item: Any) -> str:
    """A list item as text: a plain string, or a fee/deadline mapping's words (label, note, unit)."""
    if isinstance(item, Mapping):
        return " ".join(str(item[key]) for key in ("label", "title", "text", "note", "unit") if item.get(key))
    return str(item or "")


def service_body(
    *,
    description: str = "",
    prerequisites: Iterable[Any] = (),
    documents: Iterable[Any] = (),
    fees: Iterable[Any] = (),
    deadlines: Iterable[Any] = (),
    processing_time: str = "",
) -> tuple[str, ...]:
    """Description, prerequisites, documents, fee labels, deadlines and processing time, as texts."""
    texts = [description or "", processing_time or ""]
    for items in (prerequisites, documents, fees, deadlines):
        texts.extend(_item_text(item) for item in items or ())
    return tuple(t for t in (" ".join(text.split()) for text in texts) if t)
