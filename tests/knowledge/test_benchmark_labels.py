"""The benchmark's labelled questions name only entries of their town's knowledge base.

A label that names no entry (a typo, an entry renamed or dropped) would silently count a right
answer as wrong, so every question file in bench/data is checked against its KB here, without
searching: the blind and held-out sets (bench/data/blind_*.yml, holdout_*.yml) must never be run to check them. The
loader of bench/search_quality.py is the one the benchmarks use, so a file it cannot read fails.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench" / "data"
KREFELD_SEED = ROOT / "knowledge" / "data" / "seed"
HELLBACH = DATA / "town2"
# Each question file in bench/data and the knowledge base its labels name. A new question file
# must be added here (the first test fails until it is).
QUESTION_FILES = {
    "questions.yml": KREFELD_SEED,
    "holdout_krefeld.yml": KREFELD_SEED,
    "town2_questions.yml": HELLBACH,
    "holdout_hellbach.yml": HELLBACH,
    "fit_krefeld.yml": KREFELD_SEED,
    "fit_hellbach.yml": HELLBACH,
    "blind_krefeld.yml": KREFELD_SEED,
    "blind_hellbach.yml": HELLBACH,
    "blind3_krefeld.yml": KREFELD_SEED,
    "blind3_hellbach.yml": HELLBACH,
    "forms_dev_hellbach.yml": HELLBACH,
}
# blind3_*.yml: the blind sets of session 25; blind_*.yml (session 23) and holdout_*.yml (session 21)
# have informed decisions since.
HOLDOUT_FILES = (
    *("holdout_krefeld.yml", "holdout_hellbach.yml", "blind_krefeld.yml", "blind_hellbach.yml"),
    *("blind3_krefeld.yml", "blind3_hellbach.yml"),
)
# Extra fitting data (split: dev) for bench/search_quality.py --fit, each with its minimum size.
FIT_FILES = {"fit_krefeld.yml": 150, "fit_hellbach.yml": 120}


@pytest.fixture(scope="module")
def search_quality(monkeypatch_module: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("search_quality", ROOT / "bench" / "search_quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch_module.setitem(sys.modules, "search_quality", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _question_files() -> list[str]:
    """The YAML files in bench/data that hold labelled questions (not the scrubber's items)."""
    return sorted(
        path.name
        for path in DATA.glob("*.yml")
        if isinstance((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("questions"), list)
    )


def test_every_question_file_has_a_knowledge_base() -> None:
    assert _question_files() == sorted(QUESTION_FILES)


@pytest.mark.parametrize("name", sorted(QUESTION_FILES))
def test_a_question_file_names_only_entries_of_its_knowledge_base(search_quality: ModuleType, name: str) -> None:
    questions = search_quality.load_questions(DATA / name)
    docs = search_quality.load_seed_docs(QUESTION_FILES[name])
    known = {doc.id for doc in docs}
    unknown = sorted({entry for q in questions for entry in q.expect} - known)
    assert unknown == [], f"{name} names entries that are not in {QUESTION_FILES[name].relative_to(ROOT)}"
    search_quality.check_labels(questions, docs)  # what the benchmarks run first: must not exit


@pytest.mark.parametrize("name", HOLDOUT_FILES)
def test_a_held_out_file_puts_every_question_in_the_holdout_split(search_quality: ModuleType, name: str) -> None:
    questions = search_quality.load_questions(DATA / name)
    assert {q.split for q in questions} == {"holdout"}
    assert search_quality.splits_present(questions) == ["holdout"]


@pytest.mark.parametrize("name", ["questions.yml", "town2_questions.yml"])
def test_the_tuned_files_keep_their_hash_split(search_quality: ModuleType, name: str) -> None:
    questions = search_quality.load_questions(DATA / name)
    assert all(q.split == search_quality.split_of(q.text) for q in questions)
    assert search_quality.splits_present(questions) == ["dev", "test"]


def test_splits_are_reported_in_the_order_dev_test_holdout(search_quality: ModuleType) -> None:
    questions = [
        *search_quality.load_questions(DATA / "holdout_hellbach.yml")[:2],
        *search_quality.load_questions(DATA / "questions.yml"),
    ]
    assert search_quality.splits_present(questions) == ["dev", "test", "holdout"]


def test_a_label_naming_no_entry_stops_the_benchmark(search_quality: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "questions.yml"
    path.write_text(
        'version: 1\nsplit: holdout\nquestions:\n- {q: "Was kostet die Hundesteuer?", expect: svc-gibt-es-nicht}\n',
        encoding="utf-8",
    )
    questions = search_quality.load_questions(path)
    with pytest.raises(SystemExit, match="svc-gibt-es-nicht"):
        search_quality.check_labels(questions, search_quality.load_seed_docs(KREFELD_SEED))


@pytest.mark.parametrize(
    ("name", "minimum"),
    [
        ("holdout_krefeld.yml", 100),
        ("holdout_hellbach.yml", 80),
        ("blind_krefeld.yml", 120),
        ("blind_hellbach.yml", 90),
        ("blind3_krefeld.yml", 45),
        ("blind3_hellbach.yml", 45),
    ],
)
def test_a_held_out_set_is_new_and_large_enough(search_quality: ModuleType, name: str, minimum: int) -> None:
    """Held out means unseen: no question of it may also stand in a file someone has tuned on."""
    questions = search_quality.load_questions(DATA / name)
    texts = [q.text.strip().lower() for q in questions]
    elsewhere = {
        q.text.strip().lower()
        for other in QUESTION_FILES
        if other != name
        for q in search_quality.load_questions(DATA / other)
    }
    assert len(questions) >= minimum
    assert len(set(texts)) == len(texts)
    assert sorted(set(texts) & elsewhere) == []
    out_of_scope = sum(1 for q in questions if not q.expect)
    assert 0.08 <= out_of_scope / len(questions) <= 0.16
    assert any(q.style == "do" for q in questions)


def _texts_elsewhere(search_quality: ModuleType, name: str) -> set[str]:
    return {
        q.text.strip().lower()
        for other in QUESTION_FILES
        if other != name
        for q in search_quality.load_questions(DATA / other)
    }


@pytest.mark.parametrize(("name", "minimum"), sorted(FIT_FILES.items()))
def test_a_fitting_file_is_new_dev_data_over_every_entry(search_quality: ModuleType, name: str, minimum: int) -> None:
    """Fitting data teaches the fit every kind of entry and never repeats a question of another file.

    A question in a fitting file and in a test or held-out file would be fitted on and then counted
    as a result; every question is dev (the file's ``split: dev``), so none reaches the test split.
    """
    questions = search_quality.load_questions(DATA / name)
    texts = [q.text.strip().lower() for q in questions]
    assert len(questions) >= minimum
    assert len(set(texts)) == len(texts)
    assert sorted(set(texts) & _texts_elsewhere(search_quality, name)) == []
    assert {q.split for q in questions} == {"dev"}
    out_of_scope = sum(1 for q in questions if not q.expect)
    assert 0.08 <= out_of_scope / len(questions) <= 0.16
    assert any(q.style == "do" for q in questions)
    entries = {doc.id for doc in search_quality.load_seed_docs(QUESTION_FILES[name])}
    assert sorted(entries - {entry for q in questions for entry in q.expect}) == []


def test_the_benchmark_reads_each_fitting_file_as_its_towns_dev_questions(search_quality: ModuleType) -> None:
    """With --fitting-sets the fit sees the fitting files; the test split is still the hash-split file's alone."""
    assert all(path.name not in FIT_FILES for _, files in search_quality.towns().values() for path in files), (
        "the default towns read no fitting set (the shipped calibration is fitted without them)"
    )
    for town, (kb_dir, question_files) in search_quality.towns(fitting_sets=True).items():
        names = [path.name for path in question_files]
        fitting = [name for name in names if name in FIT_FILES]
        assert len(fitting) == 1, f"{town} reads {names}"
        assert QUESTION_FILES[fitting[0]] == kb_dir
        questions = [q for path in question_files for q in search_quality.load_questions(path)]
        tuned = [
            q for path in question_files if path.name not in FIT_FILES for q in search_quality.load_questions(path)
        ]
        assert [q for q in questions if q.split == "test"] == [q for q in tuned if q.split == "test"]
        assert (
            len([q for q in questions if q.split == "dev"])
            >= len([q for q in tuned if q.split == "dev"]) + FIT_FILES[fitting[0]]
        )
    assert set(search_quality.FIT_TOWNS) <= set(search_quality.TOWNS)
