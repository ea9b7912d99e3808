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
of bench/search_quality.py; nothing is fitted here, so both splits are honest), for every split that
occurs in the order dev, test, holdout. The held-out sets (``split: holdout``, bench/data/holdout_*.yml)
are reported as aggregate figures only: ``--show`` does not list their questions.

    .venv/knowledge/bin/python bench/answer_quality.py            # about 2 minutes
    .venv/knowledge/bin/python bench/answer_quality.py --show 'wrongly refused'   # list one verdict (repeatable)

Another town (issue 12): ``--kb`` names a kumpel-kb/1 folder that is imported into the stack's empty
database instead of the Krefeld seed (the knowledge service starts with ``KUMPEL_SEED_ON_START=false``),
``--questions`` its labelled questions, ``--contact-text`` the town's "whom to ask" sentence (known
for bench/data/town2, the fictional Hellbach):

    .venv/knowledge/bin/python bench/answer_quality.py --kb bench/data/town2 --questions bench/data/town2_questions.yml

The blind sets of session 25 (written before any run, never tuned on; those of session 23,
bench/data/blind_*.yml, and the held-out sets of session 21, bench/data/holdout_*.yml, have informed
several decisions since):

    .venv/knowledge/bin/python bench/answer_quality.py --questions bench/data/blind3_krefeld.yml
    .venv/knowledge/bin/python bench/answer_quality.py --kb bench/data/town2 --questions bench/data/blind3_hellbach.yml
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from search_quality import QUESTIONS, ROOT, Question, check_labels, load_questions, load_seed_docs, splits_present

from kumpel_stack.launcher import KNOWLEDGE_VENV, Stack
from kumpel_stack.testing import make_stack

# The "whom to ask" sentence of the towns the benchmark knows besides Krefeld (the product's default).
CONTACT_TEXTS = {
    ROOT / "bench" / "data" / "town2": (
        "Bitte wenden Sie sich an die Stadtverwaltung Hellbach (Telefon 02199 555-0, "
        "www.hellbach.example) oder an die Behördennummer 115 (Mo-Fr 8-18 Uhr)."
    ),
}

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
    # A form's "jetzt anmelden, oder nur etwas dazu wissen?" offers the service's answer as a button.
    if any(f'"{entry_id}"' in offered for entry_id in question.expect):
        return "asked back, right choice"
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
    if kind == "form started" and question.style == "do":  # "Zählerstand Wasser mitteilen": asked for
        return "form started, as asked"
    return kind


def import_kb(kb: Path, state: Path) -> dict[str, str]:
    """Import ``kb`` into the stack's (still empty) database; the env that keeps the seed out of it."""
    env = {"KUMPEL_DATABASE_URL": f"sqlite:///{state / 'kumpel.db'}", "KUMPEL_SEED_ON_START": "false"}
    done = subprocess.run(
        [str(KNOWLEDGE_VENV / "bin" / "kumpel-knowledge"), "kb", "import", str(kb)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or "imported:" not in done.stdout:
        raise SystemExit(f"kb import {kb} failed:\n{done.stdout}{done.stderr}")
    print(done.stdout.strip())
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--show",
        action="append",
        default=[],
        help="list the questions of one class (e.g. 'wrongly refused'); repeatable",
    )
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="labelled questions (default: %(default)s)")
    parser.add_argument("--kb", type=Path, help="a kumpel-kb/1 folder to use instead of the Krefeld seed")
    parser.add_argument("--contact-text", help="KUMPEL_CITY_CONTACT_TEXT for the --kb town")
    args = parser.parse_args(argv)
    kb = args.kb.resolve() if args.kb else None
    contact = args.contact_text or (CONTACT_TEXTS.get(kb) if kb else None)
    if kb and not contact:
        parser.error("--kb of an unknown town needs --contact-text (else the bot names Krefeld's contacts)")
    questions = load_questions(args.questions)
    check_labels(questions, load_seed_docs(kb) if kb else load_seed_docs())
    if kb or args.questions != QUESTIONS:
        print(f"questions: {args.questions}, knowledge base: {kb or 'Krefeld seed'}")
    with tempfile.TemporaryDirectory(prefix="kumpel-answer-quality-") as tmp:
        state = Path(tmp)
        extra_env = {**import_kb(kb, state), "KUMPEL_CITY_CONTACT_TEXT": str(contact)} if kb else {}
        with make_stack(state, **extra_env) as stack:
            results = ask_all(stack, questions)
    report(results, args.show)
    return 0


def ask_all(stack: Stack, questions: list[Question]) -> list[tuple[Question, str, str]]:
    """Each question as the first message of a new conversation: (question, verdict, first line)."""
    results: list[tuple[Question, str, str]] = []
    for question in questions:
        messages = stack.send(question.text, f"bench-{uuid.uuid4().hex[:12]}")
        kind = classify(messages, question)
        first = str(messages[0].get("text", "")) if messages else ""
        results.append((question, judge(kind, question), first[:90].replace("\n", " ")))
    return results


def report(results: list[tuple[Question, str, str]], show: list[str]) -> None:
    """The figures per split, and the questions of the verdicts asked for."""
    for split in splits_present([q for q, _, _ in results]):
        rows = [(q, verdict) for q, verdict, _ in results if q.split == split]
        in_scope = [verdict for q, verdict in rows if q.expect]
        out_scope = [verdict for q, verdict in rows if not q.expect]
        counts = Counter(in_scope)
        n = len(in_scope) or 1
        # A citizen who asks to do one of the forms' tasks ("style: do") is served by the form as well.
        direct = counts["answered right"] + counts["form started, as asked"]
        right_or_one_click = direct + counts["asked back, right choice"]
        print(f"\n{split}: {len(in_scope)} questions the knowledge base can answer, {len(out_scope)} out of scope")
        print(f"  correct (direct or one-click clarify) {right_or_one_click / n:6.1%}")
        print(f"  answered directly and right           {direct / n:6.1%}")
        print(f"  confident wrong                       {counts['answered wrong'] / n:6.1%}")
        print(f"  wrongly refused                       {counts['wrongly refused'] / n:6.1%}")
        print(f"  forms started unasked                 {counts['form started']}")
        for verdict in sorted(counts):
            print(f"    {verdict:38s} {counts[verdict]:4d}")
        oos = Counter(out_scope)
        print(f"  out of scope refused                  {oos['out of scope refused']}/{len(out_scope)}")
        for verdict in sorted(v for v in oos if v != "out of scope refused"):
            print(f"    {verdict:38s} {oos[verdict]:4d}")
    for wanted in show:
        print(f"\n{wanted}:")
        hidden = 0
        for question, verdict, first in results:
            if verdict != wanted:
                continue
            if question.split == "holdout":  # listing them would let the next session tune on them
                hidden += 1
            else:
                print(f"  [{question.split}] {question.text!r} -> {first!r}")
        if hidden:
            print(f"  ({hidden} holdout questions not listed: report the held-out split as figures only)")


if __name__ == "__main__":
    raise SystemExit(main())
