"""The search documents the running service indexes are the ones tuning and the benchmarks read (issue 12).

Tuning and the benchmarks build their documents from the kumpel-kb files (search/labelled.py); the
running service builds them from the imported database rows (kb/index.py). Both go through
search/entry_docs.py; a text only one of them indexed would make every benchmark figure lie.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from kumpel_knowledge.core.db import make_engine, make_session_factory
from kumpel_knowledge.kb.index import KnowledgeIndex
from kumpel_knowledge.kb.interchange import import_path
from kumpel_knowledge.kb.models import Faq, Office, Service
from kumpel_knowledge.schema import create_schema
from kumpel_knowledge.search.labelled import kb_folder_docs

ROOT = Path(__file__).resolve().parents[2]
HELLBACH = ROOT / "bench" / "data" / "town2"
SEED = ROOT / "knowledge" / "data" / "seed"


@pytest.mark.parametrize("folder", [SEED, HELLBACH], ids=["krefeld", "hellbach"])
def test_the_service_indexes_the_same_documents_the_benchmarks_read(folder: Path, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    create_schema(engine)
    with make_session_factory(engine)() as session:
        import_path(session, folder)
        session.commit()
        entries = [
            *session.scalars(select(Service)),
            *session.scalars(select(Office)),
            *session.scalars(select(Faq)),
        ]
        from_rows = {doc.id: doc for doc in map(KnowledgeIndex.doc_of, entries)}
    engine.dispose()
    from_files = {doc.id: doc for doc in kb_folder_docs(folder)}
    assert from_rows.keys() == from_files.keys()
    for entry_id, doc in from_files.items():
        assert from_rows[entry_id] == doc, entry_id


def test_an_office_and_a_faq_carry_their_running_text() -> None:
    docs = {doc.id: doc for doc in kb_folder_docs(HELLBACH)}
    faqs = {doc.id: doc for doc in kb_folder_docs(SEED) if doc.type == "faq"}
    # Hellbach's waste office says only in its description and hours note that it runs the Wertstoffhof.
    assert "Wertstoffhof: Di-Fr 09:00-17:00, Sa 09:00-13:00." in docs["off-technische-betriebe"].body
    assert "Wertstoffhof" not in " ".join(docs["off-technische-betriebe"].texts)
    assert any("barrierefreies WC" in text for text in docs["off-buergerbuero"].body)
    assert any(text.startswith("Die 115 ist die einheitliche Behördennummer.") for text in faqs["faq-115"].body)
