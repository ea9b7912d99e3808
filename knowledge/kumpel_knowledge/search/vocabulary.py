"""The shared vocabulary of municipal services: citizens' words every town's entries inherit.

``knowledge/data/vocabulary/services.yaml`` (shipped with Kumpel) holds, per concept, the official
name variants of a service or office and the words citizens use for it ("Perso", "Sofa loswerden").
At indexing time an entry is matched to a concept by its LeiKa key, else by its official name after
``name_key`` normalisation, and the concept's words are added to its texts as field "vocabulary".
A town imported from an official export (names and short texts only) is so found by the words its
citizens type, without per-town synonym lists; staff's synonyms still add to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import yaml

from kumpel_knowledge.search.german import STOP_WORDS, fold, words
from kumpel_knowledge.search.types import SearchDoc

log = logging.getLogger(__name__)
VOCABULARY_FILE = Path(__file__).resolve().parents[2] / "data" / "vocabulary" / "services.yaml"

# Words an official name adds to say "this is a procedure", not what it is about: "Personalausweis
# beantragen" and "Ausstellung eines Personalausweises" are one concept.
_PROCEDURE_WORDS = frozenset(
    """
    beantragen beantragung antrag antragstellung ausstellen ausstellung erteilen erteilung
    oder und sowie bei fuer eines einer einen eines des der die das dem den ein eine zur zum von
    lassen stellen abgeben abgabe
    """.split()
)
_ENDINGS = ("ungen", "ung", "en", "es", "er", "n", "e", "s")  # longest first; Anmeldung ~ anmelden
# An entry's name must share at least this share of its words with a concept name it merely contains.
_MIN_SUBSET_SHARE = 0.6


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


def name_key(name: str) -> frozenset[str]:
    """A name as a set of stems: folded, function and procedure words dropped, endings cut."""
    folded = (fold(word) for word in words(name))
    return frozenset(_stem(w) for w in folded if w not in STOP_WORDS and w not in _PROCEDURE_WORDS and len(w) > 1)


@dataclass(frozen=True)
class Concept:
    key: str
    kind: str  # "service" or "office"
    leika: str | None
    names: tuple[frozenset[str], ...]
    words: tuple[str, ...]


class Vocabulary:
    """The concepts of one vocabulary file and the lookup of an entry's concept."""

    def __init__(self, concepts: list[Concept]) -> None:
        self.concepts = tuple(concepts)
        self._by_leika = {c.leika: c for c in concepts if c.leika}
        self._by_name: dict[tuple[str, frozenset[str]], Concept] = {}
        for concept in concepts:
            for name in concept.names:
                self._by_name.setdefault((concept.kind, name), concept)

    @classmethod
    def from_file(cls, path: Path) -> Vocabulary:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        concepts = []
        for kind, section in (("service", "services"), ("office", "offices")):
            for item in raw.get(section) or []:
                names = tuple(k for k in (name_key(str(n)) for n in item.get("names") or [item["key"]]) if k)
                concepts.append(
                    Concept(
                        key=str(item["key"]),
                        kind=kind,
                        leika=str(item["leika"]) if item.get("leika") else None,
                        names=names,
                        words=tuple(str(w) for w in item.get("words") or []),
                    )
                )
        return cls(concepts)

    def concept_of(self, doc: SearchDoc) -> Concept | None:
        """The concept an entry inherits words from: by LeiKa key, else by its official name."""
        if doc.leika_key and doc.leika_key in self._by_leika:
            return self._by_leika[doc.leika_key]
        key = name_key(doc.title)
        if not key:
            return None
        exact = self._by_name.get((doc.type, key))
        if exact is not None:
            return exact
        # "Technische Betriebe Hellbach, Abfallwirtschaft" contains "Abfallwirtschaft": the longest
        # concept name inside the entry's name wins, if it carries enough of it (a single word is
        # enough only for offices: "Vorläufigen Personalausweis" must not inherit "Personalausweis").
        best: Concept | None = None
        best_size = 0
        for (kind, name), concept in self._by_name.items():
            if kind != doc.type or not name <= key or len(name) <= best_size:
                continue
            if doc.type == "service" and (len(name) < 2 or len(name) / len(key) < _MIN_SUBSET_SHARE):
                continue
            best, best_size = concept, len(name)
        return best

    def enrich(self, doc: SearchDoc) -> SearchDoc:
        """The entry with its concept's words added (texts it already has are not repeated)."""
        if doc.type not in ("service", "office"):
            return doc
        concept = self.concept_of(doc)
        if concept is None:
            return doc
        have = {" ".join(t.split()).casefold() for t in (doc.title, *doc.texts)}
        extra = tuple(w for w in concept.words if w.casefold() not in have)
        if not extra:
            return doc
        fields = tuple(doc.fields) + ("",) * (len(doc.texts) - len(doc.fields))
        return replace(doc, texts=(*doc.texts, *extra), fields=(*fields, *(["vocabulary"] * len(extra))))


@lru_cache(maxsize=4)
def load(path: Path = VOCABULARY_FILE) -> Vocabulary:
    """The vocabulary of ``path`` (cached); an empty one, with a warning, when the file is missing."""
    if not path.is_file():
        log.warning("service vocabulary %s not found; entries keep only their own words", path)
        return Vocabulary([])
    return Vocabulary.from_file(path)
