"""Compare NLU pipelines for Kumpel on the same data split; print accuracy, macro F1 and timings.

Every variant is trained on the same stratified training split of ``nlu_data/nlu`` and judged on
(1) the held-out part of that split and (2) ``tests/nlu/heldout_de.yml``, utterances written
apart from the training data. Training runs through the real ``rasa train nlu`` CLI in a
subprocess (wall time = what setup pays); evaluation loads the packed model in a fresh
subprocess, so the model load time is what a starting Rasa server pays.

The spaCy variants (blank "de" + lookup lemmas) were measured here and lost (config.yml); spaCy is
no longer installed, see bench/spacy_eval.py.

Usage (Rasa venv, repo root):
    .venv/rasa/bin/python bench/nlu_eval.py                       # all variants
    .venv/rasa/bin/python bench/nlu_eval.py --variants logreg_ws --folds 3
    .venv/rasa/bin/python bench/nlu_eval.py --config config.yml   # only the shipped pipeline
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
NLU_DATA = REPO / "nlu_data" / "nlu"
HELDOUT = REPO / "tests" / "nlu" / "heldout_de.yml"
RASA = Path(sys.executable).parent / "rasa"
FALLBACK = "nlu_fallback"
FALLBACK_OR_OOS = "fallback_or_out_of_scope"
ENV = {
    **os.environ,
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "PYTHONWARNINGS": "ignore",
}
SWEEP = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6)

_SPARSE_FEATURIZERS: list[dict[str, Any]] = [
    {"name": "RegexFeaturizer", "case_sensitive": False},
    {"name": "LexicalSyntacticFeaturizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5},
]
_WHITESPACE = [{"name": "WhitespaceTokenizer"}]


def _variants(epochs: int, threshold: float) -> dict[str, list[dict[str, Any]]]:
    diet = {"name": "DIETClassifier", "epochs": epochs, "constrain_similarities": True, "random_seed": 42}
    logreg = {"name": "LogisticRegressionClassifier", "max_iter": 200}
    fallback = {"name": "FallbackClassifier", "threshold": threshold, "ambiguity_threshold": 0.05}
    return {
        "diet_ws": [*_WHITESPACE, *_SPARSE_FEATURIZERS, diet, fallback],
        "logreg_ws": [*_WHITESPACE, *_SPARSE_FEATURIZERS, logreg, fallback],
    }


def _write_config(path: Path, pipeline: list[dict[str, Any]]) -> None:
    import yaml

    config = {"recipe": "default.v1", "language": "de", "pipeline": pipeline, "policies": []}
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _stratified_folds(examples: list[tuple[str, str]], folds: int, seed: int) -> list[set[int]]:
    """Indices of the test part of each fold, stratified by intent (deterministic)."""
    by_intent: dict[str, list[int]] = defaultdict(list)
    for index, (_, intent) in enumerate(examples):
        by_intent[intent].append(index)
    rng = random.Random(seed)
    parts: list[set[int]] = [set() for _ in range(max(folds, 1))]
    for indices in by_intent.values():
        rng.shuffle(indices)
        if folds <= 1:  # one 80/20 split
            parts[0].update(indices[: max(1, round(len(indices) * 0.2))])
        else:
            for position, index in enumerate(indices):
                parts[position % folds].add(index)
    return parts


def _write_training_split(source: Any, test_indices: set[int], target: Path) -> None:
    """Write the training part (all other examples, plus regexes and lookups) as Rasa YAML."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    kept = [message for index, message in enumerate(source.intent_examples) if index not in test_indices]
    others = [m for m in source.training_examples if not m.get("intent")]
    data = TrainingData(
        training_examples=kept + others,
        regex_features=source.regex_features,
        lookup_tables=source.lookup_tables,
        entity_synonyms=source.entity_synonyms,
    )
    RasaYAMLWriter().dump(target, data)


def _train(config: Path, nlu: Path, out: Path, name: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [
            str(RASA),
            "train",
            "nlu",
            "--config",
            str(config),
            "--nlu",
            str(nlu),
            "--out",
            str(out),
            "--fixed-model-name",
            name,
            "--quiet",
        ],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"rasa train nlu failed for {name}:\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def _evaluate_in_subprocess(model: Path, texts: list[str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
        json.dump(texts, handle, ensure_ascii=False)
    try:
        result = subprocess.run(
            [sys.executable, __file__, "--_parse", str(model), handle.name],
            cwd=REPO,
            env=ENV,
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(handle.name)
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def _parse_worker(model: str, texts_file: str) -> None:
    """Child process: import Rasa, load the model, parse every text; print one JSON line."""
    import logging

    logging.disable(logging.WARNING)
    # bot.nlu_components (the shipped pipeline's classifier) comes from the installed kumpel-bot package.
    # No bot.patches.apply(): the patches change how Rasa handles action server replies and stored
    # events, nothing that parsing a message touches.
    started = time.perf_counter()
    import asyncio

    from rasa.core.agent import Agent

    imported = time.perf_counter()
    agent = Agent.load(model)
    loaded = time.perf_counter()
    texts = json.loads(Path(texts_file).read_text(encoding="utf-8"))
    predictions, latencies = [], []

    async def parse_all() -> None:
        for text in texts:
            begin = time.perf_counter()
            result = await agent.parse_message(text)
            latencies.append(time.perf_counter() - begin)
            ranking = [r for r in result.get("intent_ranking", []) if r["name"] != FALLBACK]
            top = ranking[0] if ranking else {"name": None, "confidence": 0.0}
            predictions.append(
                {"intent": result["intent"]["name"], "raw": top["name"], "confidence": top["confidence"]}
            )

    asyncio.run(parse_all())
    print(
        json.dumps(
            {
                "import_s": imported - started,
                "load_s": loaded - imported,
                "parse_ms_median": 1000 * statistics.median(latencies),
                "predictions": predictions,
            }
        )
    )


def _correct(expected: str, predicted: str | None) -> bool:
    if expected == FALLBACK_OR_OOS:
        return predicted in (FALLBACK, "out_of_scope")
    return expected == predicted


def _scores(expected: list[str], predicted: list[str | None]) -> tuple[float, float]:
    """Accuracy and macro F1; a nonsense utterance counts as out_of_scope either way."""
    from sklearn.metrics import f1_score

    accuracy = sum(_correct(e, p) for e, p in zip(expected, predicted, strict=False)) / len(expected)
    truth = ["out_of_scope" if e == FALLBACK_OR_OOS else e for e in expected]
    guess = [
        "out_of_scope" if e == FALLBACK_OR_OOS and _correct(e, p) else str(p)
        for e, p in zip(expected, predicted, strict=False)
    ]
    macro_f1 = float(f1_score(truth, guess, labels=sorted(set(truth)), average="macro", zero_division=0))
    return accuracy, macro_f1


def _print_threshold_sweep(name: str, label: str, expected: list[str], raw: list[tuple[str | None, float]]) -> None:
    """What a FallbackClassifier threshold would do (ambiguity rule ignored): pick it from data."""
    nonsense = [i for i, e in enumerate(expected) if e == FALLBACK_OR_OOS]
    in_scope = [i for i, e in enumerate(expected) if e not in (FALLBACK_OR_OOS, "out_of_scope")]
    print(
        f"  threshold sweep [{name}] on the {label}: threshold -> accuracy, real questions sent to "
        "fallback, nonsense rejected"
    )
    for threshold in SWEEP:
        predicted = [r if c >= threshold else FALLBACK for r, c in raw]
        accuracy = sum(_correct(e, p) for e, p in zip(expected, predicted, strict=False)) / len(expected)
        to_fallback = sum(predicted[i] == FALLBACK for i in in_scope) / len(in_scope)
        rejected = sum(predicted[i] in (FALLBACK, "out_of_scope") for i in nonsense) / max(len(nonsense), 1)
        print(f"    {threshold:.2f}: acc {accuracy:.3f}, fallback {to_fallback:.3f}, nonsense rejected {rejected:.2f}")


def _load_heldout() -> list[tuple[str, str]]:
    import yaml

    data = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    return [(text, intent) for intent, texts in data.items() for text in texts]


def run(variants: dict[str, Path], folds: int, seed: int, keep: Path | None) -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    source = load_data(str(NLU_DATA))
    examples = [(m.get("text"), m.get("intent")) for m in source.intent_examples]
    heldout = _load_heldout()
    parts = _stratified_folds(examples, folds, seed)
    print(
        f"{len(examples)} training examples, {len({i for _, i in examples})} intents; "
        f"{'80/20 split' if folds <= 1 else f'{folds}-fold cross-validation'} (seed {seed}); "
        f"{len(heldout)} held-out utterances from {HELDOUT.relative_to(REPO)}\n"
    )

    rows = []
    with tempfile.TemporaryDirectory(prefix="kumpel-nlu-eval-") as tmp_name:
        tmp = keep or Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        for name, config in variants.items():
            split_expected, split_predicted, held_expected, held_predicted, held_raw = [], [], [], [], []
            held_conf: list[tuple[str | None, float]] = []
            split_conf: list[tuple[str | None, float]] = []
            train_times, load_times, import_times, parse_ms, fallback_in_scope = [], [], [], [], 0
            for fold, test_indices in enumerate(parts):
                train_file = tmp / f"train_{fold}.yml"
                if not train_file.exists():
                    _write_training_split(source, test_indices, train_file)
                train_times.append(_train(config, train_file, tmp, f"{name}_{fold}"))
                test_texts = [examples[i][0] for i in sorted(test_indices)]
                result = _evaluate_in_subprocess(tmp / f"{name}_{fold}.tar.gz", test_texts + [t for t, _ in heldout])
                predictions = result["predictions"]
                split_expected += [examples[i][1] for i in sorted(test_indices)]
                split_predicted += [p["intent"] for p in predictions[: len(test_texts)]]
                split_conf += [(p["raw"], p["confidence"]) for p in predictions[: len(test_texts)]]
                for (_, intent), prediction in zip(heldout, predictions[len(test_texts) :], strict=False):
                    held_expected.append(intent)
                    held_predicted.append(prediction["intent"])
                    held_raw.append(prediction["raw"])
                    held_conf.append((prediction["raw"], prediction["confidence"]))
                    if intent not in (FALLBACK_OR_OOS, "out_of_scope") and prediction["intent"] == FALLBACK:
                        fallback_in_scope += 1
                load_times.append(result["load_s"])
                import_times.append(result["import_s"])
                parse_ms.append(result["parse_ms_median"])
            split_acc, split_f1 = _scores(split_expected, split_predicted)
            held_acc, held_f1 = _scores(held_expected, held_predicted)
            raw_acc = sum(e == r for e, r in zip(held_expected, held_raw, strict=False) if e != FALLBACK_OR_OOS) / sum(
                e != FALLBACK_OR_OOS for e in held_expected
            )
            in_scope = sum(e not in (FALLBACK_OR_OOS, "out_of_scope") for e in held_expected)
            rows.append(
                (
                    name,
                    split_acc,
                    split_f1,
                    held_acc,
                    held_f1,
                    raw_acc,
                    fallback_in_scope / in_scope,
                    statistics.median(train_times),
                    statistics.median(import_times),
                    statistics.median(load_times),
                    statistics.median(parse_ms),
                )
            )
            print(f"  done: {name}", flush=True)
            _print_threshold_sweep(name, "held-out set", held_expected, held_conf)
            _print_threshold_sweep(name, "split test part", split_expected, split_conf)
            confusions = Counter((e, p) for e, p in zip(split_expected, split_predicted, strict=False) if e != p)
            print(
                f"  most frequent confusions on the split [{name}]: "
                + ", ".join(f"{e}->{p} x{n}" for (e, p), n in confusions.most_common(8))
            )
            if held_acc < 1.0:
                misses = [
                    (t, e, p)
                    for (t, e), p in zip(heldout * len(parts), held_predicted, strict=False)
                    if not _correct(e, p)
                ]
                for text, expected, predicted in misses[:40]:
                    print(f"    miss [{name}] {text!r}: expected {expected}, got {predicted}")

    header = (
        "variant",
        "split acc",
        "split F1",
        "held acc",
        "held F1",
        "held acc no-fb",
        "fallback in-scope",
        "train s",
        "import s",
        "load s",
        "parse ms",
    )
    print("\n| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        name, *figures = row
        cells = [f"{v:.3f}" if i < 6 else f"{v:.1f}" for i, v in enumerate(figures)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(
        "\nacc/F1 count nlu_fallback as a wrong answer for in-scope utterances; 'no-fb' ranks without the "
        "FallbackClassifier; 'fallback in-scope' = share of real questions sent to nlu_fallback. "
        "Times are medians over folds on a shared 2-core machine."
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--_parse":
        _parse_worker(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="*", help="subset of: diet_ws logreg_ws")
    parser.add_argument("--config", type=Path, action="append", help="evaluate this config file's pipeline instead")
    parser.add_argument("--folds", type=int, default=1, help="1 = one stratified 80/20 split (default), N = N-fold CV")
    parser.add_argument("--epochs", type=int, default=100, help="DIET epochs (default 100)")
    parser.add_argument("--threshold", type=float, default=0.3, help="FallbackClassifier threshold (default 0.3)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, help="keep splits and models in this directory")
    args = parser.parse_args()

    configs: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="kumpel-nlu-configs-") as config_dir:
        if args.config:
            configs = {path.stem: path.resolve() for path in args.config}
        else:
            available = _variants(args.epochs, args.threshold)
            for name in args.variants or list(available):
                path = Path(config_dir) / f"{name}.yml"
                _write_config(path, available[name])
                configs[name] = path
        run(configs, args.folds, args.seed, args.keep)


if __name__ == "__main__":
    main()
