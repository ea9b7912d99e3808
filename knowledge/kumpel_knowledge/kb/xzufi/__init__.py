"""Import of the town's services and offices from XZuFi 2.2 / the PVOG, kept in sync with local overrides.

``read_xzufi`` (``reader.py``) turns export files into kumpel-kb/1 entries; ``plan_sync`` and
``apply_sync`` (``sync.py``) compare them with the knowledge base and write the difference;
``overrides.py`` keeps the official values apart from what staff changed locally.

The names are loaded on first use: ``kb/editing.py`` imports ``overrides`` on every save, and that
must not load the XML reader (lxml) nor depend on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .reader import read_xzufi
    from .sync import apply_sync, plan_sync

__all__ = ["apply_sync", "plan_sync", "read_xzufi"]


def __getattr__(name: str) -> Any:
    if name == "read_xzufi":
        from .reader import read_xzufi

        return read_xzufi
    if name in ("plan_sync", "apply_sync"):
        from . import sync

        return getattr(sync, name)
    raise AttributeError(name)
