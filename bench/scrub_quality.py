"""How well does the product scrubber remove personal data from unanswered questions?

kumpel_knowledge.answers.scrub.scrub runs on two labelled sets of German citizen messages:

    dev   bench/data/scrub_dev.yml      the rules may be fitted on it (also used by spacy_eval.py)
    test  bench/data/scrub_heldout.yml  held out: written before the scrubber ever saw it; never
                                        tune on it, or its figures say nothing

Scoring is per word unit (a run of letters/digits), as in bench/spacy_eval.py: a unit of a
personal span that is gone from the output counts as removed; a unit that is neither personal nor
neutral and is gone is a false removal. On top, every `keep` span must come out verbatim.

    recall      removed personal units / personal units
    precision   removed personal units / (removed personal units + false removals)
    clean       messages with personal data whose personal units are all gone
    false msgs  messages with at least one false removal or a broken keep span

Run from the repository root:

    .venv/knowledge/bin/python bench/scrub_quality.py              # dev and test
    .venv/knowledge/bin/python bench/scrub_quality.py --split dev  # while fitting rules
    .venv/knowledge/bin/python bench/scrub_quality.py -v           # list misses and false removals

Not a test: it measures.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kumpel_knowledge.answers.scrub import scrub

DATA = Path(__file__).resolve().parent / "data"
SPLITS = {"dev": DATA / "scrub_dev.yml", "test": DATA / "scrub_heldout.yml"}

_UNIT = re.compile(r"[^\W_]+")
_PLACEHOLDER = re.compile(r"\[(?:Name|Adresse|E-Mail|IBAN|Nummer|Link)\]")


@dataclass(frozen=True)
class Item:
    text: str
    personal: list[str]
    neutral: list[str]
    keep: list[str]
    category: str


@dataclass
class Score:
    messages: int = 0
    with_pd: int = 0
    personal_units: int = 0
    removed_ok: int = 0
    false_removed: int = 0
    clean: int = 0
    false_msgs: int = 0
    keep_broken: int = 0
    ms_per_msg: float = 0.0
    misses: list[tuple[Item, str, list[str]]] = field(default_factory=list)
    false: list[tuple[Item, str, list[str]]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.removed_ok / max(self.personal_units, 1)

    @property
    def precision(self) -> float:
        return self.removed_ok / max(self.removed_ok + self.false_removed, 1)


def load(path: Path) -> list[Item]:
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = [
        Item(
            text=i["text"],
            personal=list(i.get("personal") or []),
            neutral=list(i.get("neutral") or []),
            keep=list(i.get("keep") or []),
            category=str(i.get("category", "")),
        )
        for i in raw["items"]
    ]
    for item in items:
        for span in item.personal + item.neutral + item.keep:
            if span not in item.text:
                raise ValueError(f"{path.name}: {span!r} is not in {item.text!r}")
    return items


def _units(spans: list[str]) -> Counter[str]:
    return Counter(u for s in spans for u in _UNIT.findall(s))


def evaluate(items: list[Item]) -> Score:
    score = Score(messages=len(items))
    for item in items:
        out = scrub(item.text)
        removed = Counter(_UNIT.findall(item.text)) - Counter(_UNIT.findall(_PLACEHOLDER.sub(" ", out)))
        gold = _units(item.personal)
        hit = removed & gold
        wrong = (removed - gold) - _units(item.neutral)
        broken = [s for s in item.keep if s not in out]
        score.personal_units += gold.total()
        score.removed_ok += hit.total()
        score.false_removed += wrong.total()
        score.keep_broken += len(broken)
        if gold:
            score.with_pd += 1
            if not gold - hit:
                score.clean += 1
            else:
                score.misses.append((item, out, sorted((gold - hit).elements())))
        if wrong or broken:
            score.false_msgs += 1
            score.false.append((item, out, sorted(wrong.elements()) + [f"keep:{s!r}" for s in broken]))
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        for item in items:
            scrub(item.text)
    score.ms_per_msg = (time.perf_counter() - started) * 1000 / (rounds * max(len(items), 1))
    return score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--split", choices=["dev", "test", "both"], default="both")
    parser.add_argument("-v", "--verbose", action="store_true", help="list misses and false removals")
    args = parser.parse_args(argv)
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    results = {name: evaluate(load(SPLITS[name])) for name in splits}

    print("kumpel_knowledge.answers.scrub.scrub, scored per word unit")
    header = (
        f"{'split':5} {'msgs':>4} {'pers.units':>10} {'recall':>6} {'prec.':>6} {'removed ok':>10} "
        f"{'missed':>6} {'false rem.':>10} {'fully clean':>11} {'false msgs':>10} {'keep broken':>11} {'ms/msg':>6}"
    )
    print(header)
    print("-" * len(header))
    for name, s in results.items():
        print(
            f"{name:5} {s.messages:4d} {s.personal_units:10d} {s.recall:6.3f} {s.precision:6.3f} "
            f"{s.removed_ok:10d} {s.personal_units - s.removed_ok:6d} {s.false_removed:10d} "
            f"{f'{s.clean}/{s.with_pd}':>11} {s.false_msgs:10d} {s.keep_broken:11d} {s.ms_per_msg:6.3f}"
        )
    if args.verbose:
        for name, s in results.items():
            print(f"\n{name}: misses (personal units left in)")
            for item, out, left in s.misses:
                print(f"  [{item.category}] {item.text!r}\n      -> {out!r}   left: {left}")
            print(f"\n{name}: false removals")
            for item, out, wrong in s.false:
                print(f"  [{item.category}] {item.text!r}\n      -> {out!r}   lost: {wrong}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
