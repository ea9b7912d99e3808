"""HybridSearch: dense e5 similarity + German lexical matching, fused and calibrated.

Signals per entry (all in [0, 1]-ish):
- dense: best cosine between the question and any of the entry's texts (e5, "query: " prefix);
- bm25: BM25 over the entry's whole bag of terms (folded words, lemmas, compound parts),
  divided by the best the question could reach, so it reads "share of the question matched";
- char: best cosine of character 3-5-gram TF-IDF between the question and one short text
  (name, synonym, question variant): robust to typos and to spelling without umlauts.
- body: the share of the question's (rarity-weighted) words found anywhere in the entry's whole
  text (name, synonyms, vocabulary, summary, description, documents, an office's description, hours
  note and accessibility, a FAQ's answer: search/entry_docs.py): an official export's entry says in
  its running text what a citizen's words mean, where it has no synonyms. The shipped calibration
  gives it no weight yet (CHANGELOG, issue 12);
- coverage (one value per question): the share of the question's words, weighted by rarity,
  that the knowledge base knows at all. "Welche Aktie soll ich kaufen?" scores near 0: a
  strong hint that the question is out of scope, whatever entry ranks first.
- office_cue (one value per question): 1 when the question asks who, where or how to reach
  someone ("Wen frage ich ...", "Wo finde ich ..."), which makes an office the likelier answer.

Before indexing, services and offices inherit citizens' words from the shared vocabulary
(search/vocabulary.py), matched by LeiKa key or official name.

The fused score ranks; a logistic model over (score, margin to the runner-up, signals, and
features that do not rest on word overlap: how far the entry's dense score stands out of this
question's distribution, its margin there, and the entry's rank in the dense and in the lexical
ranking) gives the confidence, and two thresholds decide answer / clarify / unknown.

Concurrency: readers take the current immutable ``_Snapshot`` (one attribute read);
writers build a new snapshot under a lock and swap it in. A search never sees a
half-built index, and an upsert is visible to the next search as soon as it returns.
"""

from __future__ import annotations

import copy
import logging
import math
import threading
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse

from kumpel_knowledge.search import calibration as calibration_mod
from kumpel_knowledge.search import vocabulary as vocabulary_mod
from kumpel_knowledge.search.calibration import ModeCalibration
from kumpel_knowledge.search.dense import DenseEncoder
from kumpel_knowledge.search.german import (
    asks_for_office,
    char_ngrams,
    fold,
    respell,
    umlaut_spellings,
    word_terms,
    words,
)
from kumpel_knowledge.search.types import (
    CandidateExplanation,
    SearchDoc,
    SearchExplanation,
    SearchHit,
    SearchResult,
    TermMatch,
    TextMatch,
)
from kumpel_knowledge.search.vocabulary import Vocabulary

log = logging.getLogger(__name__)
MODES = ("hybrid", "lexical", "dense")
LONG_TEXT = 160  # characters; longer texts are running text: words yes, char n-grams no
MAX_QUERY_CHARS = 1000
BM25_K1, BM25_B = 1.2, 0.5
TITLE_REPEAT = 2  # the title counts twice in the bag of terms
FUZZY_MIN_LEN, FUZZY_CUTOFF, FUZZY_WEIGHT = 5, 84.0, 0.7
MAX_CLARIFY = 3
SIGNALS = ("dense", "bm25", "char", "body", "coverage", "office_cue")


@dataclass
class _Entry:
    """One document, analysed once; snapshots are assembled from these."""

    doc: SearchDoc
    word_ids: np.ndarray  # int32 term ids of the bag of terms
    word_tf: np.ndarray  # float32 counts
    char_rows: list[tuple[np.ndarray, np.ndarray]]  # per short text: (ids, counts)
    body_ids: np.ndarray  # int32 ids of every term of the entry's whole text (each once)
    dense: np.ndarray | None  # (n_texts, dim)
    spellings: dict[str, str]  # its words with umlauts or ß, by folded form (german.respell)


@dataclass(frozen=True)
class _Snapshot:
    docs: tuple[SearchDoc, ...]
    types: np.ndarray  # object array of doc types
    n_word_terms: int
    word_matrix: sparse.csc_matrix | None  # docs x terms, BM25 weight / (k1 + 1)
    word_idf: np.ndarray
    fuzzy_choices: dict[int, str]  # term id -> term, for typo lookup: terms of the bags only
    body_matrix: sparse.csc_matrix | None  # docs x terms, 1 where the whole text has the term
    body_idf: np.ndarray
    n_char_terms: int
    char_matrix: sparse.csc_matrix | None  # short texts x n-grams, l2-normalised TF-IDF
    char_idf: np.ndarray
    char_starts: np.ndarray  # first char row of each doc
    dense_matrix: np.ndarray | None  # texts x dim
    dense_starts: np.ndarray  # first dense row of each doc
    spellings: dict[str, str]  # every entry's words with umlauts or ß, by folded form

    @property
    def size(self) -> int:
        return len(self.docs)


def _texts_of(doc: SearchDoc) -> list[str]:
    seen: dict[str, None] = {}
    for text in (doc.title, *doc.texts):
        text = " ".join(text.split())
        if text:
            seen.setdefault(text, None)
    return list(seen) or [doc.id]


def _field_of(doc: SearchDoc) -> dict[str, str]:
    """Normalised text -> what it is ("name", "synonym", ...), for explanations."""
    labels: dict[str, str] = {}
    for text, label in zip(doc.texts, doc.fields):
        labels.setdefault(" ".join(text.split()), label)
    labels.setdefault(" ".join(doc.title.split()), "title")
    return labels


def whole_text(doc: SearchDoc) -> str:
    """All of an entry's texts together, as one passage (the encoder's view of the whole entry)."""
    return _joined(_texts_of(doc))


def _joined(texts: list[str]) -> str:
    return ". ".join(texts)[:1500]


def _dense_texts(doc: SearchDoc) -> list[str]:
    """Each text alone, plus all of them together (context helps the short synonyms)."""
    texts = _texts_of(doc)
    if len(texts) > 1:
        texts.append(_joined(texts))  # whole_text(doc), from the texts already at hand
    return texts


@dataclass(frozen=True)
class _QueryStats:
    """What the confidence features of every candidate share: one question's dense score distribution
    and its lexical signal (computed per candidate, they were a tenth of a search's own time)."""

    dense: np.ndarray
    lexical: np.ndarray  # bm25 + char
    mean: np.floating[Any]
    spread: float  # std of the dense scores
    first: np.floating[Any]  # the best dense score
    second: np.floating[Any]  # the second best (equal to ``first`` on a tie); ``first`` with one entry

    @classmethod
    def of(cls, signals: dict[str, np.ndarray]) -> _QueryStats:
        dense = signals["dense"]
        top_two = np.partition(dense, len(dense) - 2)[-2:] if len(dense) > 1 else np.concatenate([dense, dense])
        first = dense.max() if len(dense) else np.float32(0)
        second = top_two.min() if len(top_two) else np.float32(0)
        return cls(dense, signals["bm25"] + signals["char"], dense.mean(), float(dense.std()), first, second)

    def best_other_than(self, i: int) -> np.floating[Any]:
        """The best dense score of any entry but ``i`` (``i``'s own with a single entry)."""
        if len(self.dense) <= 1:
            return self.first
        return self.second if self.dense[i] == self.first else self.first


class HybridSearch:
    """Search over services, offices and FAQ entries; see the package docstring."""

    def __init__(
        self,
        model_name_or_path: str | None = None,
        mode: str = "hybrid",
        *,
        calibration_path: Path | None = None,
        embedding_cache: str | Path | None = None,
        torch_threads: int | None = 1,
        vocabulary: Vocabulary | None = None,
        respell_queries: bool = True,
    ) -> None:
        """Create an empty index; nothing is loaded until the first rebuild or search.

        Args:
            model_name_or_path: the sentence encoder (default: the tuned e5, search/dense.py).
            mode: "hybrid", "lexical" (no model at all) or "dense".
            calibration_path: fusion weights and thresholds (default: the model's file, calibration.py).
            embedding_cache: optional .npz file; ``rebuild`` reads entry embeddings from it and
                writes them back, so a restart re-encodes only texts that changed.
            torch_threads: intra-op threads for the model (None: torch's default, all cores).
            vocabulary: citizens' words entries inherit (default: the shipped shared vocabulary;
                ``Vocabulary([])`` turns it off).
            respell_queries: write words typed without umlauts as the entries write them
                (german.respell); off only where a fixed recipe must read questions as before.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.mode = mode
        self.respell_queries = respell_queries
        self._encoder = DenseEncoder(model_name_or_path, torch_threads=torch_threads) if mode != "lexical" else None
        if calibration_path is None:
            calibration_path = calibration_mod.file_for(self._encoder.calibration_key if self._encoder else "kumpel-e5")
        self._calibration: ModeCalibration = calibration_mod.load(calibration_path)[mode]
        self._vocabulary = vocabulary if vocabulary is not None else vocabulary_mod.load()
        self._write_lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._word_vocab: dict[str, int] = {}
        self._char_vocab: dict[str, int] = {}
        self._snapshot = self._assemble([])
        self._embedding_cache = Path(embedding_cache) if embedding_cache else None
        self._cache_loaded = False
        self.cache_query_embeddings = False  # benchmarks replaying the same questions turn this on

    @property
    def encoder(self) -> DenseEncoder | None:
        return self._encoder

    # ------------------------------------------------------------------ writing
    @property
    def calibration(self) -> ModeCalibration:
        return self._calibration

    @calibration.setter
    def calibration(self, value: ModeCalibration) -> None:
        self._calibration = value

    def __len__(self) -> int:
        return self._snapshot.size

    def rebuild(self, docs: Iterable[SearchDoc]) -> None:
        """Replace the whole index (e.g. at start or after an import)."""
        docs = [self._vocabulary.enrich(doc) for doc in docs]
        if self._encoder is not None and self._embedding_cache is not None and not self._cache_loaded:
            self._cache_loaded = True
            try:
                self._encoder.load_cache(self._embedding_cache)
            except Exception:  # noqa: BLE001 - numpy/zipfile raise many kinds for a damaged file
                log.warning("embedding cache %s unreadable; re-encoding all entries", self._embedding_cache)
        dense_all = self._encode_docs(docs)
        if self._encoder is not None and self._embedding_cache is not None:
            try:
                self._encoder.save_cache(self._embedding_cache)
            except OSError as exc:
                log.warning("embedding cache %s not written: %s", self._embedding_cache, exc)
        with self._write_lock:
            entries: dict[str, _Entry] = {}
            for doc, dense in zip(docs, dense_all):
                entries[doc.id] = self._analyse(doc, dense)
            self._entries = entries
            self._snapshot = self._assemble(list(entries.values()))

    def upsert(self, doc: SearchDoc) -> None:
        """Add or replace one entry; the next search sees it."""
        doc = self._vocabulary.enrich(doc)
        dense = self._encode_docs([doc])[0]
        with self._write_lock:
            self._entries[doc.id] = self._analyse(doc, dense)
            self._snapshot = self._assemble(list(self._entries.values()))

    def with_doc(self, doc: SearchDoc) -> HybridSearch:
        """A copy of this index with ``doc`` replaced or added; this index is not touched.

        Costs one entry's embedding plus one snapshot assembly (the same as an ``upsert``). The
        copy shares the encoder and the calibration; it has its own entries and vocabularies, so
        terms only the unsaved edit uses never reach the live index.
        """
        doc = self._vocabulary.enrich(doc)
        dense = self._encode_docs([doc])[0]
        twin = copy.copy(self)
        twin._write_lock = threading.RLock()
        with self._write_lock:
            twin._entries = dict(self._entries)
            twin._word_vocab = dict(self._word_vocab)
            twin._char_vocab = dict(self._char_vocab)
        twin._entries[doc.id] = twin._analyse(doc, dense)
        twin._snapshot = twin._assemble(list(twin._entries.values()))
        return twin

    def remove(self, doc_id: str) -> None:
        """Drop one entry (no error if it is not indexed)."""
        with self._write_lock:
            if self._entries.pop(doc_id, None) is not None:
                self._snapshot = self._assemble(list(self._entries.values()))

    def _encode_docs(self, docs: list[SearchDoc]) -> list[np.ndarray | None]:
        if self._encoder is None:
            return [None] * len(docs)
        texts_per_doc = [_dense_texts(doc) for doc in docs]
        flat = [t for texts in texts_per_doc for t in texts]
        vectors = self._encoder.encode(flat, passage=True) if flat else np.zeros((0, 1), np.float32)
        out: list[np.ndarray | None] = []
        start = 0
        for texts in texts_per_doc:
            out.append(vectors[start : start + len(texts)])
            start += len(texts)
        return out

    def _term_ids(self, vocab: dict[str, int], terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(terms)
        ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in counts), dtype=np.int32, count=len(counts))
        return ids, np.fromiter(counts.values(), dtype=np.float32, count=len(counts))

    def _analyse(self, doc: SearchDoc, dense: np.ndarray | None) -> _Entry:
        texts = _texts_of(doc)
        bag = word_terms(doc.title) * (TITLE_REPEAT - 1)
        for text in texts:
            bag.extend(word_terms(text))
        word_ids, word_tf = self._term_ids(self._word_vocab, bag)
        char_rows = [self._term_ids(self._char_vocab, char_ngrams(t)) for t in texts if len(t) <= LONG_TEXT]
        if not char_rows:
            char_rows = [self._term_ids(self._char_vocab, char_ngrams(doc.title))]
        whole = set(bag)
        spellings: dict[str, str] = {}
        for text in (*texts, *doc.body):  # texts begin with the title
            spellings.update(umlaut_spellings(text))
        for text in doc.body:
            whole.update(word_terms(text))
        body_ids, _ = self._term_ids(self._word_vocab, sorted(whole))
        return _Entry(doc, word_ids, word_tf, char_rows, body_ids, dense, spellings)

    def _assemble(self, entries: list[_Entry]) -> _Snapshot:
        n_docs = len(entries)
        n_words, n_chars = len(self._word_vocab), len(self._char_vocab)
        vocab_terms = list(self._word_vocab)  # a term's id is its position
        types = np.array([e.doc.type for e in entries], dtype=object)

        # BM25 over bags of terms, one row per doc.
        word_matrix, word_idf = None, np.zeros(n_words, np.float32)
        if n_docs:
            lengths = np.array([e.word_tf.sum() for e in entries], dtype=np.float32)
            indptr = np.concatenate([[0], np.cumsum([len(e.word_ids) for e in entries])])
            ids = np.concatenate([e.word_ids for e in entries]) if indptr[-1] else np.zeros(0, np.int32)
            tf = np.concatenate([e.word_tf for e in entries]) if indptr[-1] else np.zeros(0, np.float32)
            df = np.bincount(ids, minlength=n_words).astype(np.float32)
            # A term in no bag (only in running text, or of a removed entry) is unknown to BM25.
            word_idf = np.where(df > 0, np.log1p((n_docs - df + 0.5) / (df + 0.5)), 0.0).astype(np.float32)
            avg = float(lengths.mean()) or 1.0
            row_len = np.repeat(lengths, np.diff(indptr))
            sat = tf / (tf + BM25_K1 * (1 - BM25_B + BM25_B * row_len / avg))  # in (0, 1)
            weights = word_idf[ids] * sat
            word_matrix = sparse.csr_matrix((weights, ids, indptr), shape=(n_docs, n_words)).tocsc()
            fuzzy_choices = {int(t): vocab_terms[t] for t in np.flatnonzero(df)}
        else:
            fuzzy_choices = {}

        # Presence of each term in an entry's whole text, weighted by its rarity there.
        body_matrix, body_idf = None, np.zeros(n_words, np.float32)
        if n_docs:
            indptr = np.concatenate([[0], np.cumsum([len(e.body_ids) for e in entries])])
            ids = np.concatenate([e.body_ids for e in entries]) if indptr[-1] else np.zeros(0, np.int32)
            df = np.bincount(ids, minlength=n_words).astype(np.float32)
            body_idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
            body_matrix = sparse.csr_matrix(
                (np.ones(len(ids), np.float32), ids, indptr), shape=(n_docs, n_words)
            ).tocsc()

        # Character n-gram TF-IDF, one row per short text.
        char_matrix, char_idf = None, np.zeros(n_chars, np.float32)
        rows_per_doc = [len(e.char_rows) for e in entries]
        char_starts = (
            np.concatenate([[0], np.cumsum(rows_per_doc)[:-1]]).astype(np.int64) if n_docs else np.zeros(0, np.int64)
        )
        if n_docs:
            rows = [r for e in entries for r in e.char_rows]
            indptr = np.concatenate([[0], np.cumsum([len(r[0]) for r in rows])])
            ids = np.concatenate([r[0] for r in rows]) if indptr[-1] else np.zeros(0, np.int32)
            tf = np.concatenate([r[1] for r in rows]) if indptr[-1] else np.zeros(0, np.float32)
            df = np.bincount(ids, minlength=n_chars).astype(np.float32)
            char_idf = (np.log((1 + len(rows)) / (1 + df)) + 1).astype(np.float32)
            values = (1 + np.log(np.maximum(tf, 1))) * char_idf[ids]
            norms = np.sqrt(np.add.reduceat(values**2, indptr[:-1])) if len(values) else np.ones(len(rows))
            norms = np.where(np.diff(indptr) > 0, norms, 1.0)
            values = values / np.repeat(norms, np.diff(indptr))
            char_matrix = sparse.csr_matrix(
                (values.astype(np.float32), ids, indptr), shape=(len(rows), n_chars)
            ).tocsc()

        dense_matrix, dense_starts = None, np.zeros(0, np.int64)
        if n_docs and entries[0].dense is not None:
            counts = [len(e.dense) for e in entries]  # type: ignore[arg-type]
            dense_matrix = np.vstack([e.dense for e in entries]).astype(np.float32)  # type: ignore[misc]
            dense_starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)

        return _Snapshot(
            docs=tuple(e.doc for e in entries),
            types=types,
            n_word_terms=n_words,
            word_matrix=word_matrix,
            word_idf=word_idf,
            fuzzy_choices=fuzzy_choices,
            body_matrix=body_matrix,
            body_idf=body_idf,
            n_char_terms=n_chars,
            char_matrix=char_matrix,
            char_idf=char_idf,
            char_starts=char_starts,
            dense_matrix=dense_matrix,
            dense_starts=dense_starts,
            spellings={folded: word for e in entries for folded, word in e.spellings.items()},
        )

    # ------------------------------------------------------------------ reading
    def signals(self, query: str, snapshot: _Snapshot | None = None) -> dict[str, np.ndarray]:
        """Per-doc signals for ``query`` (dense, bm25, char), each shaped (n_docs,).

        Public for the benchmarks, which tune fusion weights on the dev split.
        """
        return self._signals(query, snapshot or self._snapshot)[0]

    def _signals(
        self, query: str, snap: _Snapshot
    ) -> tuple[dict[str, np.ndarray], np.ndarray | None, np.ndarray | None]:
        """The signals, plus the per-text dense and char similarities they were reduced from."""
        n = snap.size
        out = {name: np.zeros(n, np.float32) for name in SIGNALS}
        per_text: np.ndarray | None = None
        per_char_row: np.ndarray | None = None
        if n == 0:
            return out, per_text, per_char_row
        if self.respell_queries:
            query = respell(query, snap.spellings)  # "Einbuergerung" as the entries write it: Einbürgerung
        if self.mode != "dense":
            out["bm25"], coverage, out["body"] = self._bm25(snap, query)
            out["coverage"] = np.full(n, coverage, np.float32)
            per_char_row = self._char_rows(snap, query)
            if per_char_row is not None:
                out["char"] = np.maximum.reduceat(per_char_row, snap.char_starts).astype(np.float32)
            out["office_cue"] = np.full(n, float(asks_for_office(query)), np.float32)
        if self.mode != "lexical" and snap.dense_matrix is not None and self._encoder is not None:
            # Embedding the question while the lexical signals are scored in another thread was
            # measured: no gain (they take ~2 ms of a search's ~20), so it stays sequential.
            if self.cache_query_embeddings:  # benchmarks: the text-keyed cache they save to disk
                vector = self._encoder.encode([query])[0]
            else:
                vector = self._encoder.encode_query(query)
            per_text = snap.dense_matrix @ vector
            out["dense"] = np.maximum.reduceat(per_text, snap.dense_starts)
        return out, per_text, per_char_row

    def _bm25(self, snap: _Snapshot, query: str) -> tuple[np.ndarray, float, np.ndarray]:
        """BM25 per doc as a share of the best the question could reach, the coverage, and the body signal."""
        terms = Counter(word_terms(query))
        if not terms or snap.word_matrix is None:
            return np.zeros(snap.size, np.float32), 0.0, np.zeros(snap.size, np.float32)
        body = self._body(snap, list(terms))
        unseen_idf = math.log1p((snap.size + 0.5) / 0.5)
        ids: list[int] = []
        weights: list[float] = []
        best_possible = known_mass = 0.0
        for term in terms:
            term_id = self._word_vocab.get(term)
            if term_id is not None and term_id < snap.n_word_terms and snap.word_idf[term_id] > 0:  # a known term
                ids.append(term_id)
                weights.append(1.0)
                best_possible += float(snap.word_idf[term_id])
                known_mass += float(snap.word_idf[term_id])
                continue
            best_possible += unseen_idf
            if len(term) >= FUZZY_MIN_LEN and not term.isdigit():
                # A typo ("Persoanlausweis"): borrow the closest known term, at a discount.
                match = process.extractOne(term, snap.fuzzy_choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
                if match is not None:
                    ids.append(match[2])
                    weights.append(FUZZY_WEIGHT)
                    known_mass += FUZZY_WEIGHT * unseen_idf
        coverage = known_mass / best_possible
        if not ids:
            return np.zeros(snap.size, np.float32), coverage, body
        columns = snap.word_matrix[:, ids]
        scores = np.asarray(columns @ np.array(weights, np.float32)).ravel()
        return (scores / best_possible).astype(np.float32), coverage, body

    def _body(self, snap: _Snapshot, terms: list[str]) -> np.ndarray:
        """Share of the question's terms (weighted by rarity) found anywhere in each entry's whole text."""
        if snap.body_matrix is None:
            return np.zeros(snap.size, np.float32)
        unseen_idf = math.log1p((snap.size + 0.5) / 0.5)
        ids, weights = [], []
        total = 0.0
        for term in terms:
            term_id = self._word_vocab.get(term)
            if term_id is not None and term_id < snap.n_word_terms:
                weight = float(snap.body_idf[term_id])
                ids.append(term_id)
                weights.append(weight)
            else:
                weight = unseen_idf
            total += weight
        if not ids or total <= 0:
            return np.zeros(snap.size, np.float32)
        found = np.asarray(snap.body_matrix[:, ids] @ np.array(weights, np.float32)).ravel()
        return (found / total).astype(np.float32)

    def _char_rows(self, snap: _Snapshot, query: str) -> np.ndarray | None:
        """Character n-gram cosine of the question to every short text (None: nothing in common)."""
        grams = Counter(char_ngrams(query))
        if not grams or snap.char_matrix is None:
            return None
        ids, tf = [], []
        norm_sq = 0.0
        for gram, count in grams.items():
            gram_id = self._char_vocab.get(gram)
            # unseen n-grams still count in the query's norm: they are what does not match
            idf = (
                float(snap.char_idf[gram_id])
                if gram_id is not None and gram_id < snap.n_char_terms
                else math.log((1 + snap.char_matrix.shape[0]) / 1) + 1
            )
            value = (1 + math.log(count)) * idf
            norm_sq += value * value
            if gram_id is not None and gram_id < snap.n_char_terms:
                ids.append(gram_id)
                tf.append(value)
        if not ids:
            return None
        query_vec = np.array(tf, np.float32) / math.sqrt(norm_sq)
        return np.asarray(snap.char_matrix[:, ids] @ query_vec).ravel()

    def fuse(
        self, signals: dict[str, np.ndarray], cal: ModeCalibration | None = None, snapshot: _Snapshot | None = None
    ) -> np.ndarray:
        cal = cal or self._calibration
        snap = snapshot or self._snapshot
        dense = (signals["dense"] - cal.dense_floor) / (1 - cal.dense_floor)
        if self.mode == "lexical":
            dense = np.zeros_like(dense)
        fused = cal.dense_weight * dense + cal.bm25_weight * signals["bm25"] + cal.char_weight * signals["char"]
        if cal.body_weight and "body" in signals:
            fused = fused + cal.body_weight * signals["body"]
        if len(snap.types) != len(fused):
            return fused
        office_bias = cal.office_bias
        if (
            cal.office_cue_bias
            and "office_cue" in signals
            and len(signals["office_cue"])
            and signals["office_cue"][0] > 0
        ):
            office_bias += cal.office_cue_bias
        if cal.faq_bias or office_bias:
            fused = fused + np.where(
                snap.types == "faq", cal.faq_bias, np.where(snap.types == "office", office_bias, 0.0)
            )
        return fused

    def search(self, query: str, *, types: Collection[str] | None = None, k: int = 5) -> SearchResult:
        """Find the entries that answer ``query``; decide answer / clarify / unknown."""
        snap = self._snapshot
        query = " ".join((query or "").split())[:MAX_QUERY_CHARS]
        if snap.size == 0 or not words(query) or not any(len(fold(w)) > 1 for w in words(query)):
            return SearchResult("unknown", [])
        signals = self.signals(query, snap)
        return self.decide(snap, signals, types=types, k=k)

    def ranked_ids(self, query: str, *, k: int = 5) -> list[str]:
        """The ids of the ``k`` best-ranked entries for ``query``, without any decision (tuning mines these)."""
        snap = self._snapshot
        if snap.size == 0:
            return []
        fused = self.fuse(self.signals(query, snap), self._calibration, snap)
        return [snap.docs[i].id for i in np.argsort(-fused, kind="stable")[:k]]

    def decide(
        self,
        snap: _Snapshot,
        signals: dict[str, np.ndarray],
        *,
        types: Collection[str] | None = None,
        k: int = 5,
        cal: ModeCalibration | None = None,
    ) -> SearchResult:
        cal = cal or self._calibration
        order, hits = self._ranked(snap, signals, types=types, k=k, cal=cal)
        return self._decision(signals, order, hits, k, cal)[0]

    def _ranked(
        self,
        snap: _Snapshot,
        signals: dict[str, np.ndarray],
        *,
        types: Collection[str] | None,
        k: int,
        cal: ModeCalibration,
    ) -> tuple[list[int], list[SearchHit]]:
        """The best candidates (doc positions and hits, best first), before any decision."""
        fused = self.fuse(signals, cal, snap).astype(np.float64)
        if types is not None:
            fused = np.where(np.isin(snap.types, list(types)), fused, -np.inf)
        candidates = np.argsort(-fused, kind="stable")[: max(k, MAX_CLARIFY, 2)]
        order = [int(i) for i in candidates if np.isfinite(fused[i])]
        hits = []
        stats = _QueryStats.of(signals) if order else None  # once per question, not once per candidate
        for rank, i in enumerate(order):
            best_other = fused[order[1]] if rank == 0 and len(order) > 1 else fused[order[0]] if rank else 0.0
            features = self.features(signals, fused, i, best_other, stats)
            doc = snap.docs[i]
            hits.append(
                SearchHit(doc.id, doc.type, doc.title, round(float(fused[i]), 4), round(cal.confidence(features), 4))
            )
        return order, hits

    @staticmethod
    def _decision(
        signals: dict[str, np.ndarray], order: list[int], hits: list[SearchHit], k: int, cal: ModeCalibration
    ) -> tuple[SearchResult, str]:
        """Answer / clarify / unknown from the ranked candidates, and the reason (see SearchExplanation)."""
        if not hits:
            return SearchResult("unknown", []), "below_clarify"
        top = hits[0].confidence
        if top >= cal.answer_threshold:
            return SearchResult("answer", hits[:k]), "answer"
        coverage = float(signals["coverage"][order[0]]) if "coverage" in signals else 1.0
        if top >= cal.clarify_threshold and coverage >= cal.min_coverage:
            return SearchResult("clarify", hits[:MAX_CLARIFY]), "clarify"
        return SearchResult("unknown", []), "low_coverage" if top >= cal.clarify_threshold else "below_clarify"

    # ------------------------------------------------------------------ explaining
    def explain(self, query: str, *, types: Collection[str] | None = None, k: int = 5) -> SearchExplanation:
        """What ``search`` decides for ``query`` and why: every candidate with its signals.

        Runs the very code ``search`` runs (same snapshot, signals, fusion and decision), then reads
        off which texts and terms produced the signals; ``result`` equals ``search(query, ...)``.
        """
        snap = self._snapshot
        cal = self._calibration
        query = " ".join((query or "").split())[:MAX_QUERY_CHARS]
        if snap.size == 0 or not words(query) or not any(len(fold(w)) > 1 for w in words(query)):
            return self._explanation(query, SearchResult("unknown", []), (), 0.0, False, "empty")
        if self.respell_queries:
            query = respell(query, snap.spellings)  # as _signals reads it, so the matched terms are its terms
        signals, per_text, per_char_row = self._signals(query, snap)
        order, hits = self._ranked(snap, signals, types=types, k=k, cal=cal)
        result, reason = self._decision(signals, order, hits, k, cal)
        query_terms = list(Counter(word_terms(query)))
        candidates = tuple(
            self._explain_candidate(snap, signals, per_text, per_char_row, query_terms, i, rank, hit, cal)
            for rank, (i, hit) in enumerate(zip(order, hits), start=1)
        )
        coverage = float(signals["coverage"][0]) if snap.size else 0.0
        office_cue = bool(signals["office_cue"][0] > 0) if snap.size else False
        return self._explanation(query, result, candidates, coverage, office_cue, reason)

    def _explanation(
        self,
        query: str,
        result: SearchResult,
        candidates: tuple[CandidateExplanation, ...],
        coverage: float,
        office_cue: bool,
        reason: str,
    ) -> SearchExplanation:
        cal = self._calibration
        return SearchExplanation(
            query=query,
            mode=self.mode,
            result=result,
            candidates=candidates,
            coverage=round(coverage, 4),
            office_cue=office_cue,
            answer_threshold=cal.answer_threshold,
            clarify_threshold=cal.clarify_threshold,
            min_coverage=cal.min_coverage,
            reason=reason,
        )

    def _explain_candidate(
        self,
        snap: _Snapshot,
        signals: dict[str, np.ndarray],
        per_text: np.ndarray | None,
        per_char_row: np.ndarray | None,
        query_terms: list[str],
        i: int,
        rank: int,
        hit: SearchHit,
        cal: ModeCalibration,
    ) -> CandidateExplanation:
        doc = snap.docs[i]
        labels = _field_of(doc)
        raw = {name: round(float(signals[name][i]), 4) for name in ("dense", "bm25", "char")}
        dense_part = 0.0 if self.mode == "lexical" else (raw["dense"] - cal.dense_floor) / (1 - cal.dense_floor)
        bias = cal.faq_bias if doc.type == "faq" else 0.0
        if doc.type == "office":
            bias = cal.office_bias + (cal.office_cue_bias if signals["office_cue"][i] > 0 else 0.0)
        contributions = {
            "dense": round(cal.dense_weight * dense_part, 4),
            "bm25": round(cal.bm25_weight * raw["bm25"], 4),
            "char": round(cal.char_weight * raw["char"], 4),
            "type_bias": round(bias, 4),
        }
        best_char = None
        if per_char_row is not None:
            short_texts = [t for t in _texts_of(doc) if len(t) <= LONG_TEXT] or [doc.title]
            start = int(snap.char_starts[i])
            rows = per_char_row[start : start + len(short_texts)]
            if len(rows) and float(rows.max()) > 0:
                best = int(rows.argmax())
                text = short_texts[best]
                best_char = TextMatch(labels.get(text, "title"), text, round(float(rows[best]), 4))
        best_dense = None
        if per_text is not None:
            dense_texts = _dense_texts(doc)
            start = int(snap.dense_starts[i])
            rows = per_text[start : start + len(dense_texts)]
            if len(rows):
                best = int(rows.argmax())
                text = dense_texts[best]
                label = labels.get(text, "combined" if best == len(dense_texts) - 1 and best else "title")
                best_dense = TextMatch(label, text, round(float(rows[best]), 4))
        return CandidateExplanation(
            hit=hit,
            rank=rank,
            signals=raw,
            contributions=contributions,
            terms=self._term_matches(snap, doc, labels, query_terms),
            best_char_text=best_char,
            best_dense_text=best_dense,
        )

    def _term_matches(
        self, snap: _Snapshot, doc: SearchDoc, labels: dict[str, str], query_terms: list[str]
    ) -> tuple[TermMatch, ...]:
        """Which of the question's terms occur in which of the entry's texts (typos as BM25 borrows them)."""
        text_terms = [(text, set(word_terms(text))) for text in _texts_of(doc)]
        matches = []
        for term in query_terms:
            looked_up, typo_of = term, None
            term_id = self._word_vocab.get(term)
            known = term_id is not None and term_id < snap.n_word_terms and snap.word_idf[term_id] > 0
            if not known:
                if len(term) < FUZZY_MIN_LEN or term.isdigit():
                    continue
                match = process.extractOne(term, snap.fuzzy_choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
                if match is None:
                    continue
                looked_up, typo_of = str(match[0]), term
            found = [text for text, terms in text_terms if looked_up in terms]
            if found:
                fields = tuple(dict.fromkeys(labels.get(text, "title") for text in found))
                matches.append(TermMatch(looked_up, fields, tuple(found), typo_of))
        return tuple(matches)

    @staticmethod
    def features(
        signals: dict[str, np.ndarray],
        fused: np.ndarray,
        i: int,
        best_other: float,
        stats: _QueryStats | None = None,
    ) -> dict[str, float]:
        """The confidence model's inputs for candidate ``i`` (see calibration.FEATURES).

        ``stats``: the question's ``_QueryStats`` when several candidates are scored (the same values).
        """
        stats = stats or _QueryStats.of(signals)
        dense, lexical, spread = signals["dense"], stats.lexical, stats.spread
        return {
            "score": float(fused[i]),
            "margin": float(fused[i] - best_other) if np.isfinite(best_other) else float(fused[i]),
            "dense": float(dense[i]),
            "bm25": float(signals["bm25"][i]),
            "char": float(signals["char"][i]),
            "coverage": float(signals["coverage"][i]) if "coverage" in signals else 0.0,
            # How far this entry stands out of the question's dense scores: e5 gives every German
            # text a cosine near 0.8, so the level says little, the distance from the crowd much.
            "dense_z": float((dense[i] - stats.mean) / spread) if spread > 1e-6 else 0.0,
            "dense_margin": float(dense[i] - stats.best_other_than(i)) if len(dense) else 0.0,
            # Agreement of the two rankings: 1 for first place, 1/2 for second, ...
            "dense_rank": 1.0 / (1 + int((dense > dense[i]).sum())) if spread > 1e-6 else 0.0,
            "lexical_rank": 1.0 / (1 + int((lexical > lexical[i]).sum())) if lexical[i] > 0 else 0.0,
            "body": float(signals["body"][i]) if "body" in signals else 0.0,
        }
