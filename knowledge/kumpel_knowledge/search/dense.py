"""Sentence embeddings through sentence-transformers, loaded on first use."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)
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

    def __init__(
        self,
        model_name_or_path: str | Path | None = None,
        *,
        cache_size: int = 50_000,
        torch_threads: int | None = 1,
        query_cache_size: int = 512,
    ) -> None:
        self.model_name_or_path = str(model_name_or_path or DEFAULT_MODEL_DIR)
        # One intra-op thread: on a 2-core machine shared with Rasa, two torch threads made
        # one query embedding 15x slower under load (3.3 s vs 210 ms median, measured).
        # None keeps torch's default (all cores) for a dedicated machine.
        self.torch_threads = torch_threads
        self._model: SentenceTransformer | None = None
        self._load_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._cache_size = cache_size
        # Recent questions' embeddings, keyed by a hash of the text so that no question
        # (possibly with personal data) is kept; the same question asked again costs nothing.
        # Benchmarks set the size to 0 so that every search embeds its question.
        self.query_cache_size = query_cache_size
        self._query_cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._embed_one: Callable[[str], np.ndarray] | None = None
        is_e5 = "e5" in self.model_name_or_path.lower()
        self.query_prefix, self.passage_prefix = (E5_QUERY, E5_PASSAGE) if is_e5 else ("", "")

    def _load(self) -> SentenceTransformer:
        model = self._model
        if model is None:
            with self._load_lock:
                model = self._model
                if model is None:
                    path = Path(self.model_name_or_path)
                    if self.model_name_or_path == str(DEFAULT_MODEL_DIR) and not path.is_dir():
                        raise FileNotFoundError(
                            f"embedding model not built: {path}. Run: python -m kumpel_knowledge.search.build_model"
                        )
                    import torch
                    from sentence_transformers import SentenceTransformer

                    if self.torch_threads:
                        torch.set_num_threads(self.torch_threads)
                    model = SentenceTransformer(self.model_name_or_path, device="cpu")
                    self._embed_one = _direct_embedder(model)
                    self._model = model
        return model

    def encode_query(self, text: str) -> np.ndarray:
        """The embedding of one question (query prefix added), shape (dim,)."""
        keyed = self.query_prefix + text[:MAX_CHARS]
        digest = hashlib.blake2b(keyed.encode("utf-8"), digest_size=16).digest()
        if self.query_cache_size:
            with self._cache_lock:
                cached = self._query_cache.get(digest)
                if cached is not None:
                    self._query_cache.move_to_end(digest)
                    return cached
        model = self._load()
        if self._embed_one is not None:
            vector = self._embed_one(keyed)
        else:
            vector = model.encode([keyed], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[
                0
            ].astype(np.float32)
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
                missing,
                batch_size=32,
                normalize_embeddings=True,
                convert_to_numpy=True,
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
            traced = torch.jit.trace(  # type: ignore[no-untyped-call]
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
