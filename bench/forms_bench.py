"""Benchmark: 50 scripted chat-form conversations with messy input against a running Kumpel.

    .venv/rasa/bin/python bench/forms_bench.py                   # starts its own stack on free ports
    .venv/rasa/bin/python bench/forms_bench.py --rasa-url http://127.0.0.1:5005 --db var/kumpel.db

Messy input: typos and missing umlauts, emoji, lower case, several values in one message, values in
an unexpected order, a wrong value then the right one, a knowledge question in the middle, a
correction at the summary, and messages sent twice. Prints the completion rate, records per
conversation (duplicates, partial records) and the turn latency (median, p95, max), sequential.
Not a test: it measures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REFERENCE = re.compile(r"\b(HST|HSA|WZS)-\d{4}-\d{6}\b")
# Export names that every complete record of a form must hold (a record without them is partial).
REQUIRED = {
    "dog_tax_registration": [
        "Halter.Name",
        "Halter.Anschrift.Postleitzahl",
        "Hund.Name",
        "Hund.Transpondernummer",
        "Zahlung.SEPALastschriftmandat",
    ],
    "dog_tax_deregistration": ["Halter.Name", "Hund.Steuermarkennummer", "Abmeldung.Grund", "Abmeldung.Datum"],
    "water_meter_reading": ["Eigentuemer.Name", "Zaehler.Nummer", "Zaehler.Stand", "Zaehler.Ablesedatum"],
}
FIRST = ["Erika", "Max", "Jürgen", "Ayşe", "Anna-Lena", "Özlem", "Peter", "Sören", "Fatma", "Lukas"]
LAST = [
    "Mustermann",
    "Schmitz",
    "Müller",
    "Yılmaz",
    "van der Berg",
    "Kowalski",
    "Becker",
    "O'Neill",
    "Hoffmann",
    "Weiß",
]
STREETS = [
    "Ostwall",
    "Rheinstraße",
    "Dionysiusstr.",
    "Hochstraße",
    "Uerdinger Straße",
    "Von-der-Leyen-Platz",
    "Westwall",
    "Marktstraße",
]
POSTCODES = ["47798", "47799", "47800", "47803", "47805", "47809", "47829", "47839"]
DOGS = ["Bello", "Luna", "Rex", "Balou", "Kira", "Sammy", "Emma", "Rocky", "Nala", "Paul"]
BREEDS = [
    "Labrador",
    "Dackel",
    "Schäferhund",
    "Golden Retriever",
    "Labrador-Mischling",
    "Beagle",
    "Pudel",
    "Border Collie",
]


def chip(rng: random.Random) -> str:
    return "276098" + "".join(rng.choice("0123456789") for _ in range(9))


def spaced(value: str) -> str:
    return " ".join(value[i : i + 3] for i in range(0, len(value), 3))


def messy(rng: random.Random, text: str) -> str:
    """Same meaning, other spelling: lower case, no umlauts, emoji, extra spaces."""
    choice = rng.random()
    if choice < 0.2:
        text = text.lower()
    elif choice < 0.35:
        text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    elif choice < 0.45:
        text = f"{text} 🙂"
    elif choice < 0.55:
        text = f"  {text}  "
    return text


@dataclass
class Script:
    form: str
    messages: list[str]
    duplicates: set[int] = field(default_factory=set)  # indexes of messages sent twice


def dog_tax_script(rng: random.Random, variant: int) -> Script:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    street = f"{rng.choice(STREETS)} {rng.randint(1, 120)}"
    dog, breed, number = rng.choice(DOGS), rng.choice(BREEDS), chip(rng)
    birth = f"{rng.randint(1, 28)}.{rng.randint(1, 12)}.{rng.choice([2019, 2021, 2023, 2024])}"
    joined = f"{rng.randint(1, 18)}.11.2026" if variant % 3 else f"{rng.randint(1, 28)}.{rng.randint(1, 10)}.2026"
    msgs = [
        rng.choice(["Ich möchte meinen Hund anmelden", "hund anmelden", "Hundesteuer anmelden bitte"]),
        rng.choice(["Ja", "ja, einverstanden", "ok"]),
    ]
    if variant % 4 == 0:
        msgs += [f"Ich heiße {name}", f"{street}, {rng.choice(POSTCODES)} Krefeld"]
    elif variant % 4 == 1:
        msgs += [name, street, rng.choice(["47051", "40213"]), rng.choice(POSTCODES)]  # wrong postcode first
    else:
        msgs += [name, f"{street}, {rng.choice(POSTCODES)} Krefeld"]
    msgs.append(rng.choice(["keine", "nein", f"{dog.lower()}@example.de"]))
    if variant % 2 == 0:
        msgs.append(f"{dog}, ein {breed}, Chip {spaced(number) if variant % 3 == 0 else number}")
        if variant % 5 == 0:
            msgs.append("Wann hat das Bürgerbüro offen?")
        msgs += ["nein", birth if variant % 7 else "unbekannt", joined]
    else:
        msgs += [dog, breed, "nein", f"31.02.{rng.choice([2022, 2023])}", birth, joined, number[:-1], number]
    msgs += [rng.choice(["0", "keinen", "1", "zwei"]), rng.choice(["Nein, keine", "keine", "nö"])]
    if variant % 3 == 0:
        msgs += ["Ja", "DE89 3704 0044 0532 0130 01", "DE89 3704 0044 0532 0130 00"]
    else:
        msgs.append("Nein")
    if variant % 6 == 1:
        msgs += ["Die Chipnummer ist falsch", chip(rng)]
    msgs.append(rng.choice(["Ja, absenden", "ja", "Ja bitte"]))
    messages = [messy(rng, m) if i > 1 and not re.search(r"\d{5,}|@|DE89", m) else m for i, m in enumerate(msgs)]
    duplicates = {3} if variant % 4 == 2 else set()
    if variant % 5 == 3:
        duplicates.add(len(messages) - 1)  # the confirmation arrives twice
    return Script("dog_tax_registration", messages, duplicates)


def deregistration_script(rng: random.Random, variant: int) -> Script:
    msgs = [
        rng.choice(
            ["Ich möchte meinen Hund abmelden", "hund abmelden", "Mein Hund ist gestorben, ich möchte ihn abmelden"]
        ),
        "Ja",
        f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        f"{rng.choice(STREETS)} {rng.randint(1, 90)}, {rng.choice(POSTCODES)} Krefeld",
        rng.choice(DOGS),
        f"Marke {rng.randint(100, 99999)}",
    ]
    if variant % 2:
        msgs += ["abgegeben", rng.choice(["keine Angabe", "An Familie Schmitz, Ostwall 3"])]
    else:
        msgs.append("verstorben")
    msgs += ["01.13.2026", f"{rng.randint(1, 20)}.11.2026", "ja"]
    return Script("dog_tax_deregistration", [messy(rng, m) if i > 1 else m for i, m in enumerate(msgs)])


def water_script(rng: random.Random, variant: int) -> Script:
    number = f"{rng.randint(10, 99)}-{rng.randint(100000, 999999)}"
    reading = f"{rng.randint(10, 9999)},{rng.randint(0, 9)}"
    msgs = [
        rng.choice(["Ich möchte meinen Zählerstand melden", "zählerstand wasser", "Wasserzählerstand melden"]),
        "ja",
        f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        f"{rng.choice(STREETS)} {rng.randint(1, 90)}, {rng.choice(POSTCODES)} Krefeld",
    ]
    if variant % 2:
        msgs += [f"Zählernummer {number}, Stand {reading}"]
    else:
        msgs += [number, f"{reading} m³"]
    msgs += ["morgen" if variant % 3 == 0 else "heute", "heute" if variant % 3 == 0 else "ja", "ja"]
    return Script("water_meter_reading", msgs)


def scripts(count: int, seed: int) -> list[Script]:
    rng = random.Random(seed)
    made: list[Script] = []
    for index in range(count):
        if index % 5 in (0, 1, 2):
            made.append(dog_tax_script(rng, index))
        elif index % 5 == 3:
            made.append(deregistration_script(rng, index))
        else:
            made.append(water_script(rng, index))
    return made


def send(rasa_url: str, sender: str, text: str) -> tuple[float, list[dict[str, object]]]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{rasa_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        replies = json.load(response)
    return (time.perf_counter() - started) * 1000, replies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def records_for(db: Path | None, sender: str) -> list[dict[str, Any]]:
    if db is None:
        return []
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT reference, form, data, idempotency_key FROM submissions").fetchall()
    return [
        {"reference": r[0], "form": r[1], "data": json.loads(r[2])} for r in rows if str(r[3]).startswith(sender + ":")
    ]


def run(rasa_url: str, db: Path | None, count: int, seed: int, verbose: bool) -> int:
    latencies: list[float] = []
    # Turns that also wait for the knowledge service (a question, the summary's estimate, the submission).
    service_turns: list[float] = []
    completed = duplicates = partial = 0
    failures: list[str] = []
    for number, script in enumerate(scripts(count, seed)):
        sender = f"bench-{uuid.uuid4().hex[:10]}"
        last_text = ""
        references: list[str] = []
        for index, message in enumerate(script.messages):
            for _ in range(2 if index in script.duplicates else 1):
                elapsed, replies = send(rasa_url, sender, message)
                latencies.append(elapsed)
                last_text = "\n".join(str(r.get("text", "")) for r in replies)
                if re.search(r"Quelle:|Aktenzeichen|Bitte prüfen Sie", last_text):
                    service_turns.append(elapsed)
                references += [m.group(0) for m in REFERENCE.finditer(last_text)]
                if verbose:
                    print(f"  [{number}] > {message!r} ({elapsed:.0f} ms)\n      < {last_text[:160]!r}")
        stored = records_for(db, sender)
        ok = len(set(references)) == 1 and (
            db is None or (len(stored) == 1 and stored[0]["reference"] == references[0])
        )
        if len(stored) > 1:
            duplicates += 1
        for record in stored:
            if any(
                record["data"].get(key) in (None, "") and key != "Hund.Geburtsdatum" for key in REQUIRED[script.form]
            ):
                partial += 1
        if ok:
            completed += 1
        else:
            failures.append(
                f"#{number} {script.form}: references={references} records={len(stored)} last={last_text[:200]!r}"
            )
    print(
        f"conversations: {count} ({sum(1 for s in scripts(count, seed) if s.form == 'dog_tax_registration')} dog tax, "
        f"{sum(1 for s in scripts(count, seed) if s.form == 'dog_tax_deregistration')} deregistration, "
        f"{sum(1 for s in scripts(count, seed) if s.form == 'water_meter_reading')} water meter)"
    )
    print(f"completed: {completed}/{count} = {completed / count:.1%}")
    if db is not None:
        print(f"conversations with duplicate records: {duplicates}; partial records: {partial}")
    print(
        f"turns: {len(latencies)} sequential; latency median {statistics.median(latencies):.0f} ms, "
        f"p95 {percentile(latencies, 0.95):.0f} ms, max {max(latencies):.0f} ms; "
        f"throughput {len(latencies) / (sum(latencies) / 1000):.1f} turns/s"
    )
    form_only = [v for v in latencies if v not in service_turns]
    if form_only and service_turns:
        print(
            f"  form turns without a knowledge-service call: {len(form_only)}, "
            f"median {statistics.median(form_only):.0f} ms, p95 {percentile(form_only, 0.95):.0f} ms"
        )
        print(
            "  turns with a knowledge-service call (question, summary with estimate, submission): "
            f"{len(service_turns)}, median {statistics.median(service_turns):.0f} ms, "
            f"p95 {percentile(service_turns, 0.95):.0f} ms"
        )
    with contextlib.suppress(OSError):  # no load average on this platform
        print(f"  load average during the run (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for failure in failures:
        print("FAILED", failure)
    return 0 if completed == count and duplicates == 0 and partial == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-url", help="a running stack's Rasa URL; default: start one on free ports")
    parser.add_argument("--db", type=Path, help="the knowledge service's SQLite file, to check the stored records")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.rasa_url:
        return run(args.rasa_url.rstrip("/"), args.db, args.count, args.seed, args.verbose)
    from kumpel_stack.testing import make_stack  # own databases, the clock pinned as in the integration tests

    with tempfile.TemporaryDirectory(prefix="kumpel-forms-bench-") as folder:
        state = Path(folder)
        stack = make_stack(state)
        started = time.perf_counter()
        with stack:
            print(f"stack ready after {time.perf_counter() - started:.0f} s")
            return run(stack.rasa_url, state / "kumpel.db", args.count, args.seed, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
