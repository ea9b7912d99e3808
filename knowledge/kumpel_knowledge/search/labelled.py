"""Labelled questions and kumpel-kb folders as search documents: what tuning and benchmarks read.

One definition for the benchmarks (bench/search_quality.py and its siblings) and for tuning the
sentence encoder (search/tune_model.py), so both split and index the sample towns the same way.

A question file (``bench/data/*.yml``) lists ``q`` (the citizen's words), ``expect`` (entry id(s) or
``out_of_scope``) and an optional ``style``. Its questions fall into the dev split (fitting allowed) or
the test split by a hash of their text; a file's top-level ``split:`` puts all of them in one split
(``dev`` for the fitting sets, ``holdout`` for the blind sets that are never fitted on).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from kumpel_knowledge.search.entry_docs import (
    FAQ_INDEXED,
    OFFICE_INDEXED,
    SERVICE_INDEXED,
    faq_doc,
    given,
    office_doc,
    service_doc,
)
from kumpel_knowledge.search.types import SearchDoc

DEV_SHARE = 0.4  # share of a hash-split file that is dev


@dataclass(frozen=True)
class Question:
    text: str
    expect: frozenset[str]  # empty: out of scope
    split: str
    style: str


def split_of(question: str) -> str:
    """``dev`` or ``test``, fixed by the question's text."""
    digest = hashlib.sha256(question.strip().lower().encode()).digest()
    return "dev" if digest[0] / 256 < DEV_SHARE else "test"


def load_questions(path: Path) -> list[Question]:
    """A labelled question file; its top-level ``split:`` (if any) overrides the hash split of every question."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    file_split = data.get("split")
    out = []
    for item in data["questions"]:
        expect = item.get("expect")
        ids = (
            frozenset()
            if expect in (None, "out_of_scope")
            else frozenset([expect] if isinstance(expect, str) else expect)
        )
        split = str(file_split) if file_split else split_of(item["q"])
        out.append(Question(item["q"], ids, split, item.get("style", "")))
    return out


def kb_folder_docs(kb_dir: Path) -> list[SearchDoc]:
    """A kumpel-kb folder's entries as search documents, built as kumpel_knowledge.kb.index builds them."""
    docs: list[SearchDoc] = []
    for path in sorted(kb_dir.glob("*.y*ml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for s in data.get("services") or []:
            docs.append(service_doc(**given(SERVICE_INDEXED, s.get)))
        for o in data.get("offices") or []:
            docs.append(office_doc(**given(OFFICE_INDEXED, o.get)))
        for f in data.get("faqs") or []:
            docs.append(faq_doc(**given(FAQ_INDEXED, f.get)))
    return docs
