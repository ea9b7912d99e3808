"""What citizens get from the whole bot: the labelled questions sent through the real trained bot.

Every question of ``bench/data/questions.yml`` goes as the first message of a new conversation over
Rasa's REST channel to a stack started on free ports (NLU, rules, action server, knowledge
service, as in production). Each reply is classified by what the citizen sees:

- answered right / answered wrong: a knowledge answer (it names its source) about the expected
  entry or another one (a contact or hours answer about a service is about that service and its
  office: either counts);
- asked back, right choice among the buttons / right choice missing;
- refused: "Dabei kann ich leider nicht helfen" (NLU said out of scope), "nicht verstanden" or the
  knowledge service's honest "keine gesicherte Information";
- form started: the bot began a form (its privacy notice) instead of answering.

For questions the knowledge base can answer, a refusal is a wrong refusal; for out-of-scope
questions, a refusal is right and anything else is wrong. Figures per split (the split is the one
of bench/search_quality.py; nothing is fitted here, so both splits are honest).

    .venv/knowledge/bin/python bench/answer_quality.py            # about 2 minutes
    .venv/knowledge/bin/python bench/answer_quality.py --show 'wrongly refused'   # list one verdict
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from search_quality import Question, load_questions

from kumpel_stack.testing import make_stack

REFUSALS = ("Dabei kann ich leider nicht helfen", "nicht verstanden", "keine gesicherte Information")
FORM_START = ("Datenschutz", "personenbezogen")
CLASSES = (
    "answered right",
    "asked back, right choice",
    "asked back, right choice missing",
    "answered wrong",
    "refused",
    "form started",
    "other",
)


def classify(messages: list[dict[str, Any]], question: Question) -> str:
    """What the citizen got, from the bot's messages of one turn."""
    # Rasa's REST channel sends an answer's buttons and its custom payload as separate messages.
    offered = " ".join(
        str(button.get("payload", "")) for message in messages for button in message.get("buttons") or []
    )
    for message in messages:
        kumpel = (message.get("custom") or {}).get("kumpel")
        if not kumpel:
            continue
        status, entry = kumpel.get("status"), kumpel.get("entry") or {}
        if status == "answer":
            # "Für „Hundesteuer“ ist das Steueramt zuständig" is about the service and the office.
            about = {entry.get("id"), *(kumpel.get("context") or {}).values()}
            return "answered right" if about & question.expect else "answered wrong"
        if status == "clarify":
            if any(f'"{entry_id}"' in offered for entry_id in question.expect):
                return "asked back, right choice"
            return "asked back, right choice missing"
        if status == "unknown":
            return "refused"
    text = " ".join(str(message.get("text", "")) for message in messages)
    if any(marker in text for marker in REFUSALS):
        return "refused"
    if any(marker in text for marker in FORM_START):
        return "form started"
    return "other"


def judge(kind: str, question: Question) -> str:
    """Right or wrong from the citizen's side, with the reason."""
    if not question.expect:  # out of scope: only an honest refusal is right
        return "out of scope refused" if kind == "refused" else f"out of scope, but {kind}"
    if kind == "refused":
        return "wrongly refused"
    return kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--show", help="list the questions of one class (e.g. 'wrongly refused')")
    args = parser.parse_args(argv)
    questions = load_questions()
    results: list[tuple[Question, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="kumpel-answer-quality-") as state, make_stack(Path(state)) as stack:
        for question in questions:
            messages = stack.send(question.text, f"bench-{uuid.uuid4().hex[:12]}")
            kind = classify(messages, question)
            first = str(messages[0].get("text", "")) if messages else ""
            results.append((question, judge(kind, question), first[:90].replace("\n", " ")))
    for split in ("dev", "test"):
        rows = [(q, verdict) for q, verdict, _ in results if q.split == split]
        in_scope = [verdict for q, verdict in rows if q.expect]
        out_scope = [verdict for q, verdict in rows if not q.expect]
        counts = Counter(in_scope)
        n = len(in_scope) or 1
        right_or_one_click = counts["answered right"] + counts["asked back, right choice"]
        print(f"\n{split}: {len(in_scope)} questions the knowledge base can answer, {len(out_scope)} out of scope")
        print(f"  correct (direct or one-click clarify) {right_or_one_click / n:6.1%}")
        print(f"  answered directly and right           {counts['answered right'] / n:6.1%}")
        print(f"  confident wrong                       {counts['answered wrong'] / n:6.1%}")
        print(f"  wrongly refused                       {counts['wrongly refused'] / n:6.1%}")
        print(f"  forms started unasked                 {counts['form started']}")
        for verdict in sorted(counts):
            print(f"    {verdict:38s} {counts[verdict]:4d}")
        oos = Counter(out_scope)
        print(f"  out of scope refused                  {oos['out of scope refused']}/{len(out_scope)}")
        for verdict in sorted(v for v in oos if v != "out of scope refused"):
            print(f"    {verdict:38s} {oos[verdict]:4d}")
    if args.show:
        print(f"\n{args.show}:")
        for question, verdict, first in results:
            if verdict == args.show:
                print(f"  [{question.split}] {question.text!r} -> {first!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
