"""Sentence embeddings through sentence-transformers, loaded on first use."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "multilingual-e5-small"
# e5 was trained with "query: " for questions and "passage: " for the texts that answer them;
# measured on the dev split, "passage: " on the entries' texts beat "query: " on both sides.
E5_QUERY, E5_PASSAGE = "query: ", "passage: "
MAX_CHARS = 2000  # longer input adds nothing but time; the model truncates at 512 tokens anyway


class DenseEncoder:
    """Encodes texts to L2-normalised float32 vectors; caches texts it has seen.

    The cache makes ``upsert`` of an edited entry cheap (unchanged texts are not
    re-encoded) and is bounded, so a stream of different questions cannot grow it.
    """

    def __init__(self, model_name_or_path: str | Path | None = None, *, cache_size: int = 50_000,
                 torch_threads: int | None = 1) -> None:
        self.model_name_or_path = str(model_name_or_path or DEFAULT_MODEL_DIR)
        # One intra-op thread: on a 2-core machine shared with Rasa, two torch threads made
        # one query embedding 15x slower under load (3.3 s vs 210 ms median, measured).
        # None keeps torch's default (all cores) for a dedicated machine.
        self.torch_threads = torch_threads
        self._model = None
        self._load_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._cache_size = cache_size
        is_e5 = "e5" in self.model_name_or_path.lower()
        self.query_prefix, self.passage_prefix = (E5_QUERY, E5_PASSAGE) if is_e5 else ("", "")

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    path = Path(self.model_name_or_path)
                    if self.model_name_or_path == str(DEFAULT_MODEL_DIR) and not path.is_dir():
                        raise FileNotFoundError(
                            f"embedding model not built: {path}. "
                            "Run: python -m kumpel_knowledge.search.build_model"
                        )
                    import torch
                    from sentence_transformers import SentenceTransformer

                    if self.torch_threads:
                        torch.set_num_threads(self.torch_threads)
                    self._model = SentenceTransformer(self.model_name_or_path, device="cpu")
        return self._model

    def save_cache(self, path: Path) -> None:
        """Write the cached embeddings (benchmarks reuse them across runs)."""
        with self._cache_lock:
            keys, vectors = list(self._cache), list(self._cache.values())
        if vectors:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            with partial.open("wb") as fh:  # a file handle: np.savez would append ".npz" to a path
                np.savez(fh, model=np.array(self.model_name_or_path), keys=np.array(keys), vectors=np.vstack(vectors))
            os.replace(partial, path)  # readers never see half a file

    def load_cache(self, path: Path) -> int:
        """Read embeddings written by ``save_cache`` for the same model; returns how many."""
        if not path.is_file():
            return 0
        data = np.load(path, allow_pickle=False)
        if str(data["model"]) != self.model_name_or_path:
            return 0
        with self._cache_lock:
            for key, vec in zip(data["keys"].tolist(), data["vectors"]):
                self._cache[key] = vec
        return len(data["keys"])

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        return int(dim) if dim else int(self.encode(["x"]).shape[1])

    def encode(self, texts: list[str], *, passage: bool = False, use_cache: bool = True) -> np.ndarray:
        """Embeddings for ``texts`` (rows in order), shape (len(texts), dim).

        ``passage``: the texts are entries to be found (not questions); e5 prefixes differ.
        """
        prefix = self.passage_prefix if passage else self.query_prefix
        keyed = [prefix + t[:MAX_CHARS] for t in texts]
        missing = [k for k in dict.fromkeys(keyed) if not use_cache or k not in self._cache]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            model = self._load()
            vectors = model.encode(
                missing, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            ).astype(np.float32)
            fresh = dict(zip(missing, vectors))
            if use_cache:
                with self._cache_lock:
                    for key, vec in fresh.items():
                        self._cache[key] = vec
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        rows = []
        for key in keyed:
            vec = fresh.get(key)
            if vec is None:
                with self._cache_lock:
                    vec = self._cache.get(key)
            if vec is None:  # evicted meanwhile by another thread
                vec = self.encode([key[len(prefix):]], passage=passage, use_cache=False)[0]
            rows.append(vec)
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack(rows)
