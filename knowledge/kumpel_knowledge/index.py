"""The search index over the knowledge base: picks the search backend and turns entries into documents.

The hybrid search (``kumpel_knowledge.search``) is used when it is installed; until then the small
lexical ``SimpleSearch`` stands in with the same interface.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Faq, Office, Service, find_entry
from .settings import Settings

log = logging.getLogger(__name__)


class SearchBackend(Protocol):
    """What the answer engine needs from a search (the HybridSearch interface)."""

    def rebuild(self, docs: Any) -> None: ...  # noqa: D102
    def upsert(self, doc: Any) -> None: ...  # noqa: D102
    def remove(self, doc_id: str) -> None: ...  # noqa: D102
    def search(self, query: str, *, types: Any = None, k: int = 5) -> Any: ...  # noqa: D102


def _backend_classes() -> tuple[type, type]:
    try:
        from .search import HybridSearch, SearchDoc  # type: ignore[attr-defined]
    except ImportError:
        from .simple_search import SearchDoc, SimpleSearch

        return SimpleSearch, SearchDoc
    return HybridSearch, SearchDoc


class KnowledgeIndex:
    """Holds one search backend and keeps it in step with the database."""

    def __init__(self, settings: Settings) -> None:
        search_cls, self._doc_cls = _backend_classes()
        mode = settings.search_mode
        model = None if mode == "lexical" else settings.embedding_model
        self.backend_name = f"{search_cls.__name__}({mode})"
        if search_cls.__name__ == "HybridSearch" and model is not None and settings.embedding_cache:
            self.search: SearchBackend = search_cls(model, mode=mode, embedding_cache=Path(settings.embedding_cache))
        else:
            self.search = search_cls(model, mode=mode)
        # id -> updated_at of every indexed entry, to find what other replicas changed.
        self._seen: dict[str, datetime | None] = {}
        log.info("search backend: %s", self.backend_name)

    @staticmethod
    def _versions(session: Session) -> dict[str, datetime | None]:
        versions: dict[str, datetime | None] = {}
        for model in (Service, Office, Faq):
            versions.update({row.id: row.updated_at for row in session.execute(select(model.id, model.updated_at))})
        return versions

    def _docs(self, session: Session) -> Iterator[Any]:
        for service in session.scalars(select(Service)):
            yield self.service_doc(service)
        for office in session.scalars(select(Office)):
            yield self.office_doc(office)
        for faq in session.scalars(select(Faq)):
            yield self.faq_doc(faq)

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

    def service_doc(self, service: Service) -> Any:
        """A service as a search document: name, synonyms, summary."""
        return self._doc_cls(
            id=service.id, type="service", title=service.name,
            texts=(service.name, *service.synonyms, service.summary),
        )

    def office_doc(self, office: Office) -> Any:
        """An office as a search document: name and synonyms."""
        return self._doc_cls(id=office.id, type="office", title=office.name, texts=(office.name, *office.synonyms))

    def faq_doc(self, faq: Faq) -> Any:
        """A FAQ as a search document: its question variants."""
        return self._doc_cls(id=faq.id, type="faq", title=faq.questions[0], texts=tuple(faq.questions))

    def upsert(self, entry: Service | Office | Faq) -> None:
        """Make an edited entry findable at once."""
        self._seen[entry.id] = entry.updated_at
        if isinstance(entry, Service):
            self.search.upsert(self.service_doc(entry))
        elif isinstance(entry, Office):
            self.search.upsert(self.office_doc(entry))
        else:
            self.search.upsert(self.faq_doc(entry))

    def remove(self, entry_id: str) -> None:
        """Forget a deleted entry."""
        self._seen.pop(entry_id, None)
        self.search.remove(entry_id)
