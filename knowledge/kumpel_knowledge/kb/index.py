"""The search index over the knowledge base: turns entries into search documents and keeps them in step.

Edits through the staff API are pushed in at once (``upsert``/``remove``); edits through other
replicas or a CLI import are picked up by ``sync``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path

from fastapi import HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.deps import get_runtime
from ..core.settings import Settings
from ..search import HybridSearch, SearchDoc, entry_docs
from .models import Faq, Office, Service, find_entry

log = logging.getLogger(__name__)


class KnowledgeIndex:
    """Holds the hybrid search and keeps it in step with the database."""

    def __init__(self, settings: Settings) -> None:
        mode = settings.search_mode
        model = None if mode == "lexical" else settings.embedding_model
        self.backend_name = f"HybridSearch({mode})"
        cache = Path(settings.embedding_cache) if model is not None and settings.embedding_cache else None
        self.search = HybridSearch(model, mode=mode, embedding_cache=cache)
        # id -> updated_at of every indexed entry, to find what other replicas changed.
        self._seen: dict[str, datetime | None] = {}
        log.info("search backend: %s", self.backend_name)

    @staticmethod
    def _versions(session: Session) -> dict[str, datetime | None]:
        versions: dict[str, datetime | None] = {}
        for model in (Service, Office, Faq):
            versions.update({row.id: row.updated_at for row in session.execute(select(model.id, model.updated_at))})
        return versions

    def _docs(self, session: Session) -> Iterator[SearchDoc]:
        yield from map(self.doc_of, session.scalars(select(Service)))
        yield from map(self.doc_of, session.scalars(select(Office)))
        yield from map(self.doc_of, session.scalars(select(Faq)))

    def rebuild(self, session: Session) -> None:
        """Index every entry of the database."""
        self._seen = self._versions(session)
        self.search.rebuild(list(self._docs(session)))
        # With cached entry embeddings the rebuild never loads the model; one search here loads it,
        # so /health turns ready only when the first citizen's question is answered at full speed.
        self.search.search("Öffnungszeiten")

    def sync(self, session: Session) -> int:
        """Apply changes made through other processes (replicas, CLI imports); returns how many.

        Compares each entry's ``updated_at`` with what this index has seen: new or changed entries
        are upserted, vanished ones removed. One cheap query per table.
        """
        current = self._versions(session)
        changed = [entry_id for entry_id, version in current.items() if self._seen.get(entry_id, "new") != version]
        removed = [entry_id for entry_id in self._seen if entry_id not in current]
        for entry_id in removed:
            self.search.remove(entry_id)
            self._seen.pop(entry_id, None)
        for entry_id in changed:
            entry = find_entry(session, entry_id)
            if entry is not None:
                self.upsert(entry)
        return len(changed) + len(removed)

    @staticmethod
    def doc_of(entry: Service | Office | Faq) -> SearchDoc:
        """The search document of any indexable entry (search/entry_docs.py)."""
        if isinstance(entry, Service):
            return entry_docs.service_doc(**entry_docs.given(entry_docs.SERVICE_INDEXED, partial(getattr, entry)))
        if isinstance(entry, Office):
            return entry_docs.office_doc(**entry_docs.given(entry_docs.OFFICE_INDEXED, partial(getattr, entry)))
        return entry_docs.faq_doc(**entry_docs.given(entry_docs.FAQ_INDEXED, partial(getattr, entry)))

    def with_entry(self, entry: Service | Office | Faq) -> KnowledgeIndex:
        """A temporary copy of this index with ``entry`` replaced or added (the preview of an unsaved edit).

        The live index, its vocabulary and the database stay as they are; only the one entry is
        embedded (see ``HybridSearch.with_doc``). The copy is not kept in step with anything.
        """
        preview = copy.copy(self)
        preview.search = self.search.with_doc(self.doc_of(entry))
        preview._seen = {}
        return preview

    def upsert(self, entry: Service | Office | Faq) -> None:
        """Make an edited entry findable at once."""
        self._seen[entry.id] = entry.updated_at
        self.search.upsert(self.doc_of(entry))

    def remove(self, entry_id: str) -> None:
        """Forget a deleted entry."""
        self._seen.pop(entry_id, None)
        self.search.remove(entry_id)


async def get_index(request: Request) -> KnowledgeIndex:
    """FastAPI dependency: the search index (503 while it is still being built at start-up).

    A coroutine, so FastAPI reads it on the event loop instead of handing it to a worker thread.
    """
    index = get_runtime(request).index
    if index is None:
        # Still loading the model (serve builds the index in the background).
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "search index is starting", headers={"Retry-After": "5"}
        )
    return index
