"""Load benchmark: Kumpel against the stock ``rasa init`` moodbot, both under concurrent sessions.

A bounded asyncio load generator (httpx) sends turns to Rasa's REST channel
(``POST /webhooks/rest/webhook``) of each system, think time 0, at each concurrency level, and
reports p50/p95/p99 turn latency, throughput (turns/s) and errors. Two Kumpel workloads:

- ``knowledge``: knowledge questions, every one a different wording (the labelled questions of
  bench/data/questions.yml and templates over the seed KB's services and offices, each with openers
  and spellings), so that no cache along the way (the knowledge service keeps recent question
  embeddings) answers from memory; a session asks ``--session-turns`` of them;
- ``forms``: the dog-tax registration walked turn by turn as in tests/integration/test_forms.py,
  one session = one form; a reply without the expected next question ends the session as an error.

The baseline is the moodbot of ``rasa init --no-prompt`` (same Rasa, stock CLI and default
pipeline, in-memory tracker store; Kumpel keeps conversations in SQLite), trained once and cached
under ``var/bench/moodbot-rasa-<version>/``, loaded with the same generator and levels (varied
greetings and moods). A level starts sessions until ``--turns`` turns are sent (a started session
runs to its end: at most turns + sessions x session length turns) and stops at ``--seconds``.
Rounds interleave the systems (stock, kumpel, stock, kumpel, ...) per level; the tables give the
median of the rounds. Then one long conversation per system (``--long-turns`` turns by one
sender): p50 of its first 20 turns against its last 20. For each process: CPU ms per turn
(utime+stime of the process tree over a level, from /proc/PID/stat, divided by its turns) and RSS
after the run (/proc/PID/status, children included).

    .venv/rasa/bin/python bench/load.py                                 # defaults: about 6 minutes
    .venv/rasa/bin/python bench/load.py --turns 20 --rounds 1 --levels 1,5 --long-turns 40   # a quick look
    .venv/rasa/bin/python bench/load.py --url http://127.0.0.1:5005     # a running Kumpel (no process figures
                                                                        # unless --pid rasa=PID ...)
    .venv/rasa/bin/python bench/load.py --target lb=http://127.0.0.1:5100   # one more system, e.g. two
                                                                        # instances behind a load balancer

The processes started here listen on 127.0.0.1 only (free ports, a temp state dir). The generator runs on the same cores as the systems it loads
(its own CPU per turn is printed too); on a shared machine the figures are noisy. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import itertools
import os
import platform
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from kumpel_stack.launcher import BASE_ENV, DROPPED_ENV, RASA_VENV, ROOT, Process, Stack, free_port
from kumpel_stack.testing import make_stack

Replies = list[dict[str, Any]]
RASA_VERSION = importlib.metadata.version("rasa")
WEBHOOK = "/webhooks/rest/webhook"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Reply kinds that are failures a citizen notices: no answer, or the bot's "part of the system is
# unreachable" apology (the action server or the knowledge service did not answer in time).
ERROR_KINDS = {"http error", "transport error", "empty reply", "unavailable", "off script"}
UNAVAILABLE = ("nicht auf die Wissensdatenbank zugreifen", "ein Teil des Systems nicht erreichbar")
FORM_START = "Datenschutzhinweis"
SUBMITTED = "HST-"  # the dog-tax reference the citizen is shown (HST-2026-000123)
# The services whose questions may start one of Kumpel's chat forms: kept out of the knowledge load.
FORM_SERVICES = {"svc-hundesteuer-anmeldung", "svc-hundesteuer-abmeldung", "svc-wasserzaehler"}


# ---------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Turn:
    """One message of a session; ``expect``: a text the reply must contain (else: off script)."""

    message: str
    expect: str | None = None


@dataclass
class Workload:
    """What one kind of session says, and how a reply is judged (a kind, see ERROR_KINDS)."""

    name: str
    session: Callable[[random.Random], Iterator[Turn]]
    judge: Callable[[Turn, Replies], str]
    # Kinds that end a session early without being an error (a knowledge question that started a form).
    ends_session: frozenset[str] = frozenset()


def reply_text(replies: Replies) -> str:
    return "\n".join(str(message.get("text", "")) for message in replies)


def no_umlauts(text: str) -> str:
    return text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss").replace("Ü", "Ue")


OPENERS = ["", "Hallo, ", "Guten Tag, ", "Kurze Frage: ", "Entschuldigung, ", "Moin, ", "Eine Frage: ", "Sagen Sie, "]
SPELLINGS: list[Callable[[str], str]] = [
    lambda text: text,
    str.lower,
    no_umlauts,
    lambda text: text.rstrip("?") + " bitte?",
]
OFFICE_TEMPLATES = [
    "Wann hat {} geöffnet?",
    "Wie erreiche ich {}?",
    "Telefonnummer {}",
    "Hat {} am Samstag offen?",
    "Wo finde ich {}?",
]
SERVICE_TEMPLATES = [
    "{}: was kostet das?",
    "{}: welche Unterlagen brauche ich?",
    "{} – wie geht das?",
    "Wer ist zuständig für: {}?",
]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text("utf-8"))


def knowledge_questions(seed: int) -> list[str]:
    """Distinct knowledge questions: labelled questions and KB templates, each with openers and spellings."""
    bases: list[str] = []
    for item in load_yaml(ROOT / "bench" / "data" / "questions.yml")["questions"]:
        expect = item["expect"] if isinstance(item["expect"], list) else [item["expect"]]
        if "out_of_scope" not in expect and not FORM_SERVICES & set(expect):
            bases.append(str(item["q"]))
    seed_dir = ROOT / "knowledge" / "data" / "seed"
    for office in load_yaml(seed_dir / "offices.yaml")["offices"]:
        bases += [template.format(office["name"]) for template in OFFICE_TEMPLATES]
    for path in sorted(seed_dir.glob("services-*.yaml")):
        for service in load_yaml(path)["services"]:
            if service["id"] not in FORM_SERVICES:
                bases += [template.format(service["name"]) for template in SERVICE_TEMPLATES]
    variants = {
        spelling(opener + (base[0].lower() + base[1:] if opener else base))
        for base in bases
        for opener in OPENERS
        for spelling in SPELLINGS
    }
    pool = sorted(variants)
    random.Random(seed).shuffle(pool)
    return pool


def judge_knowledge(turn: Turn, replies: Replies) -> str:
    if not replies:
        return "empty reply"
    text = reply_text(replies)
    if any(marker in text for marker in UNAVAILABLE):
        return "unavailable"
    for message in replies:
        status = ((message.get("custom") or {}).get("kumpel") or {}).get("status")
        if status in ("answer", "clarify", "unknown"):
            return str(status)
    if FORM_START in text:
        return "form started"
    return "other reply"  # a refusal, "nicht verstanden", small talk: the NLU's call, not a load failure


def knowledge_workload(seed: int, session_turns: int) -> tuple[Workload, int]:
    """The knowledge workload; the questions come from one shuffled pool (no repeat before it is used up)."""
    pool = knowledge_questions(seed)
    questions = itertools.cycle(pool)

    def session(rng: random.Random) -> Iterator[Turn]:
        for _ in range(session_turns):
            yield Turn(next(questions))

    return Workload("knowledge", session, judge_knowledge, frozenset({"form started"})), len(pool)


FIRST_NAMES = ["Erika", "Max", "Jürgen", "Anna", "Peter", "Sören", "Fatma", "Lukas", "Maria", "Jonas"]
LAST_NAMES = ["Mustermann", "Schmitz", "Müller", "Becker", "Hoffmann", "Weiß", "Kowalski", "Schneider"]
STREETS = ["Ostwall", "Rheinstraße", "Hochstraße", "Uerdinger Straße", "Westwall", "Marktstraße"]
POSTCODES = ["47798", "47799", "47800", "47803", "47805", "47809"]
DOG_NAMES = ["Bello", "Luna", "Rex", "Balou", "Kira", "Sammy", "Emma", "Rocky"]
BREEDS = ["Labrador", "Dackel", "Beagle", "Pudel", "Border Collie", "Golden Retriever"]


def forms_workload() -> Workload:
    """A dog-tax registration from the first message to the reference, as in tests/integration/test_forms.py."""

    def session(rng: random.Random) -> Iterator[Turn]:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        chip = "276098" + "".join(rng.choice("0123456789") for _ in range(9))
        yield Turn(rng.choice(["Ich möchte meinen Hund anmelden", "Hundesteuer anmelden bitte"]), FORM_START)
        yield Turn("Ja", "Vor- und Nachname")
        yield Turn(f"{first} {last}", "Anschrift")
        yield Turn(f"{rng.choice(STREETS)} {rng.randint(1, 120)}, {rng.choice(POSTCODES)} Krefeld", "E-Mail")
        yield Turn(rng.choice(["keine", f"{no_umlauts(first.lower())}@example.de"]), "Wie heißt Ihr Hund")
        yield Turn(f"{rng.choice(DOG_NAMES)}, ein {rng.choice(BREEDS)}, Chip {chip}", "Landeshundegesetz")
        yield Turn("Nein", "geboren")
        yield Turn(f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.choice([2019, 2021, 2023])}", "Seit wann")
        # Relative to the bot's clock (pinned or real), so always within the two weeks' deadline.
        yield Turn(rng.choice(["gestern", "vorgestern", "seit heute"]), "bereits zur Hundesteuer angemeldet")
        yield Turn("0", "Ermäßigung oder Befreiung")
        yield Turn("Nein, keine", "SEPA-Lastschrift")
        yield Turn("Nein", "Bitte prüfen Sie Ihre Angaben")
        yield Turn(rng.choice(["Ja, absenden", "Ja"]), SUBMITTED)

    def judge(turn: Turn, replies: Replies) -> str:
        if not replies:
            return "empty reply"
        text = reply_text(replies)
        if any(marker in text for marker in UNAVAILABLE):
            return "unavailable"
        if turn.expect is not None and turn.expect not in text:
            return "off script"
        return "form submitted" if turn.expect == SUBMITTED else "form turn"

    return Workload("forms", session, judge)


MOOD_GREETINGS = ["hi", "hello", "hey", "hey there", "good morning", "good evening", "moin", "hello there", "howdy"]
MOODS = ["I am sad", "I'm feeling great", "very good", "so sad", "I am amazing", "not good", "unhappy", "perfect"]
MOOD_ANSWERS = ["yes", "no", "indeed", "never", "of course", "I don't think so", "sure", "not really"]
MOOD_GOODBYES = ["bye", "see you later", "good night", "goodbye", "have a nice day", "see you around"]


def moodbot_workload(session_turns: int) -> Workload:
    """The moodbot's own conversation (greet, mood, yes/no, goodbye, again), in varied wording."""

    def vary(rng: random.Random, text: str) -> str:
        text = rng.choice([text, text.capitalize(), text + "!", text + ".", text.upper() if len(text) < 8 else text])
        return f"{text} {rng.randint(1, 999)}" if rng.random() < 0.2 else text

    def session(rng: random.Random) -> Iterator[Turn]:
        steps = itertools.cycle((MOOD_GREETINGS, MOODS, MOOD_ANSWERS, MOOD_GOODBYES))
        for choices in itertools.islice(steps, session_turns):
            yield Turn(vary(rng, rng.choice(choices)))

    def judge(turn: Turn, replies: Replies) -> str:
        return "reply" if replies else "empty reply"

    return Workload("moodbot", session, judge)


# ---------------------------------------------------------------- processes: CPU and memory


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (uvicorn, sanic and TensorFlow may start children)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending += children.get(current, [])
    return tree


def cpu_ms(pid: int) -> float:
    """utime+stime of the process tree so far, in ms."""
    ticks = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5): utime, stime
    return ticks * 1000 / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    """Resident memory of the process tree (children included)."""
    total_kib = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
    return total_kib / 1024


def own_cpu_ms() -> float:
    times = os.times()
    return (times.user + times.system) * 1000


# ---------------------------------------------------------------- the load generator


@dataclass
class System:
    """A bot under load: its Rasa URL, the processes whose CPU and memory are measured."""

    label: str
    url: str
    workloads: dict[str, Workload]  # the table's workload name -> what this system is sent
    chat: Workload  # what the long conversation says
    pids: dict[str, int] = field(default_factory=dict)


@dataclass
class LevelResult:
    latencies_ms: list[float]
    kinds: Counter[str]
    wall_s: float
    cpu_ms_per_turn: dict[str, float]
    error_examples: dict[str, str] = field(default_factory=dict)

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)

    @property
    def errors(self) -> int:
        return sum(count for kind, count in self.kinds.items() if kind in ERROR_KINDS)

    @property
    def throughput(self) -> float:
        return self.turns / self.wall_s if self.wall_s else 0.0


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (as the other benchmarks of bench/ report it)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def send_turn(
    client: httpx.AsyncClient, url: str, sender: str, turn: Turn, workload: Workload
) -> tuple[str, str]:
    """One turn: the kind of reply and, for the error examples, what came back (the bot's text, no input)."""
    try:
        response = await client.post(url, json={"sender": sender, "message": turn.message})
    except httpx.HTTPError as error:
        return "transport error", type(error).__name__
    if response.status_code != 200:
        return "http error", f"HTTP {response.status_code}"
    try:
        replies = response.json()
    except ValueError:
        return "http error", "HTTP 200 without JSON"
    replies = replies if isinstance(replies, list) else []
    return workload.judge(turn, replies), reply_text(replies)[:160].replace("\n", " ")


async def run_level(
    system: System, workload: Workload, concurrency: int, turns: int, seconds: float, timeout: float, seed: int
) -> LevelResult:
    """``concurrency`` sessions at once, think time 0, until ``turns`` turns are sent or ``seconds`` pass."""
    url = system.url.rstrip("/") + WEBHOOK
    budget = turns
    latencies: list[float] = []
    kinds: Counter[str] = Counter()
    examples: dict[str, str] = {}
    deadline = time.monotonic() + seconds

    async def session_worker(client: httpx.AsyncClient, index: int) -> None:
        nonlocal budget
        rng = random.Random(seed * 1009 + index)
        # A session starts while turns are left and runs to its end (a form is only a form when it is
        # finished): a level sends at most turns + concurrency x session length turns, within `seconds`.
        while budget > 0 and time.monotonic() < deadline:
            sender = f"load-{uuid.uuid4().hex[:12]}"
            for turn in workload.session(rng):
                if time.monotonic() >= deadline:
                    return
                budget -= 1  # one event loop: no lock needed between the workers
                started = time.perf_counter()
                kind, said = await send_turn(client, url, sender, turn, workload)
                latencies.append((time.perf_counter() - started) * 1000)
                kinds[kind] += 1
                if kind in ERROR_KINDS:
                    examples.setdefault(kind, said)
                    break  # this conversation is lost: a new citizen starts one
                if kind in workload.ends_session:
                    break  # the conversation went elsewhere (a form started): a new citizen starts one

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    cpu_before = {name: cpu_ms(pid) for name, pid in system.pids.items()}
    cpu_before["load generator"] = own_cpu_ms()
    # trust_env=False: a proxy from the environment must never see loopback traffic.
    async with httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False) as client:
        started = time.monotonic()
        await asyncio.gather(*(session_worker(client, index) for index in range(concurrency)))
        wall = time.monotonic() - started
    cpu_after = {name: cpu_ms(pid) for name, pid in system.pids.items()}
    cpu_after["load generator"] = own_cpu_ms()
    count = max(1, len(latencies))
    cpu = {name: (cpu_after[name] - cpu_before[name]) / count for name in cpu_before}
    return LevelResult(latencies, kinds, wall, cpu, examples)


# ---------------------------------------------------------------- the stock baseline: rasa init's moodbot


def subprocess_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in DROPPED_ENV}
    env.update(BASE_ENV)  # telemetry off, offline, quiet TensorFlow
    return env


def moodbot_project(cache: Path) -> Path:
    """The ``rasa init --no-prompt`` project with its trained model, trained once per Rasa version."""
    project = cache / f"moodbot-rasa-{RASA_VERSION}"
    if any((project / "models").glob("*.tar.gz")):
        return project
    cache.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"{project.name}-", dir=cache))
    print(f"training the stock moodbot once (rasa init --no-prompt in {building}) ...", flush=True)
    started = time.monotonic()
    with open(building / "init.log", "wb") as log:
        done = subprocess.run(
            [str(RASA_VENV / "bin" / "rasa"), "init", "--no-prompt", "--init-dir", "."],
            cwd=building,
            env=subprocess_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=1800,
            check=False,
        )
    if done.returncode != 0 or not any((building / "models").glob("*.tar.gz")):
        raise SystemExit(f"rasa init failed (exit {done.returncode}), see {building / 'init.log'}")
    if project.exists():  # a cache folder without a model (an interrupted run): replaced, it is ours
        shutil.rmtree(project)
    building.rename(project)
    print(f"moodbot trained in {time.monotonic() - started:.0f} s, cached in {project}", flush=True)
    return project


def moodbot_process(project: Path, state: Path) -> Process:
    """Stock ``rasa run`` (not kumpel-rasa: no Kumpel patches) on a free loopback port."""
    port = free_port()
    command = [
        str(RASA_VENV / "bin" / "rasa"),
        "run",
        "--model",
        str(project / "models"),
        "--endpoints",
        str(project / "endpoints.yml"),
        "--credentials",
        str(project / "credentials.yml"),
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return Process(
        "stock rasa", command, subprocess_env(), f"http://127.0.0.1:{port}/webhooks/rest/", state / "stock.log"
    )


def wait_ready(process: Process, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if not process.alive():
                raise SystemExit(f"{process.name} exited during start-up:\n{process.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(process.health_url).status_code == 200:
                    return
            time.sleep(0.5)
    raise SystemExit(f"{process.name} not ready after {timeout:.0f} s:\n{process.log_tail()}")


# ---------------------------------------------------------------- report


def machine_header(argv: list[str]) -> str:
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    return "\n".join(
        [
            f"command: {shlex.join([Path(sys.executable).name, *argv])}",
            f"machine: nproc {os.cpu_count()}, {platform.platform()}, Python {platform.python_version()}, "
            f"Rasa {RASA_VERSION}, httpx {httpx.__version__}",
            f"started: {datetime.now().isoformat(timespec='seconds')}, load average {load} (1/5/15 min); "
            "other work on the machine is not controlled",
        ]
    )


def median_of(results: list[LevelResult], value: Callable[[LevelResult], float]) -> float:
    return statistics.median(value(result) for result in results) if results else float("nan")


Results = dict[tuple[str, str, int], list[LevelResult]]  # (workload, system, concurrency) -> one per round


def print_tables(systems: list[System], workloads: list[str], levels: list[int], results: Results) -> None:
    baseline = systems[0] if systems[0].label == "stock" else None
    others = [system for system in systems if system is not baseline]
    for workload in workloads:
        print(f"\n== workload {workload}: median of the rounds (errors: summed over the rounds)")
        header = ["sessions"]
        if baseline:
            header.append("stock t/s")
        for system in others:
            header += [f"{system.label} t/s"] + (["ratio"] if baseline else [])
        if baseline:
            header.append("stock p95")
        header += [f"{system.label} p95" for system in others]
        header += ["errors" if len(others) == 1 else f"{system.label} err" for system in others]
        if baseline:
            header.append("stock err")
        rows: list[list[str]] = []
        for level in levels:
            row = [str(level)]
            stock_tps = median_of(results.get((workload, "stock", level), []), lambda r: r.throughput)
            if baseline:
                row.append(f"{stock_tps:.1f}")
            for system in others:
                tps = median_of(results.get((workload, system.label, level), []), lambda r: r.throughput)
                row.append(f"{tps:.1f}")
                if baseline:
                    row.append(f"{tps / stock_tps:.2f}" if stock_tps else "-")
            if baseline:
                row.append(f"{median_of(results.get((workload, 'stock', level), []), p95):.0f} ms")
            for system in others:
                row.append(f"{median_of(results.get((workload, system.label, level), []), p95):.0f} ms")
            for system in others:
                runs = results.get((workload, system.label, level), [])
                row.append(f"{sum(r.errors for r in runs)}/{sum(r.turns for r in runs)}")
            if baseline:
                runs = results.get((workload, "stock", level), [])
                row.append(f"{sum(r.errors for r in runs)}/{sum(r.turns for r in runs)}")
            rows.append(row)
        print_rows(header, rows)
        print(f"-- latency per system (median of the rounds), workload {workload}")
        detail = []
        for system in systems:
            for level in levels:
                runs = results.get((workload, system.label, level), [])
                if not runs:
                    continue
                kinds: Counter[str] = sum((r.kinds for r in runs), Counter())
                detail.append(
                    [
                        system.label,
                        str(level),
                        str(sum(r.turns for r in runs)),
                        f"{median_of(runs, lambda r: percentile(r.latencies_ms, 0.50)):.0f}",
                        f"{median_of(runs, p95):.0f}",
                        f"{median_of(runs, lambda r: percentile(r.latencies_ms, 0.99)):.0f}",
                        f"{median_of(runs, lambda r: r.throughput):.1f}",
                        ", ".join(f"{kind} {count}" for kind, count in kinds.most_common()),
                    ]
                )
        print_rows(["system", "sessions", "turns", "p50 ms", "p95 ms", "p99 ms", "turns/s", "replies"], detail)
        print(f"-- CPU ms per turn (median of the rounds), workload {workload}")
        cpu_rows = []
        for system in systems:
            for level in levels:
                runs = results.get((workload, system.label, level), [])
                if runs:
                    names = list(runs[0].cpu_ms_per_turn)
                    cells = [f"{name} {statistics.median(r.cpu_ms_per_turn[name] for r in runs):.1f}" for name in names]
                    cpu_rows.append([system.label, str(level), ", ".join(cells)])
        print_rows(["system", "sessions", "CPU ms/turn by process"], cpu_rows)
        examples = {
            (system.label, kind): said
            for system in systems
            for level in levels
            for run in results.get((workload, system.label, level), [])
            for kind, said in run.error_examples.items()
        }
        for (label, kind), said in sorted(examples.items()):
            print(f"-- {label}, first {kind}: {said!r}")


def p95(result: LevelResult) -> float:
    return percentile(result.latencies_ms, 0.95)


def print_rows(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    for line in [header, *rows]:
        print(
            "  ".join(
                cell.rjust(width) if i < len(line) - 1 else cell for i, (cell, width) in enumerate(zip(line, widths))
            )
        )


async def long_conversation(system: System, workload: Workload, turns: int, timeout: float) -> str:
    """One sender, ``turns`` turns in a row: does a growing tracker slow the turns down?"""
    url = system.url.rstrip("/") + WEBHOOK
    sender = f"load-long-{uuid.uuid4().hex[:8]}"
    latencies: list[float] = []
    kinds: Counter[str] = Counter()
    rng = random.Random(7)
    # A knowledge session is short; the long conversation chains them under one sender.
    turns_iter = itertools.chain.from_iterable(workload.session(rng) for _ in itertools.count())
    window = min(20, max(1, turns // 2))
    # Each process's CPU at the edges of the first and the last window (sampled between turns).
    edges: dict[int, list[str]] = {}
    for edge_index, edge in ((0, "first from"), (window, "first to"), (turns - window, "last from")):
        edges.setdefault(edge_index, []).append(edge)
    cpu: dict[str, dict[str, float]] = {}
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        for index, turn in enumerate(itertools.islice(turns_iter, turns)):
            for edge in edges.get(index, []):
                cpu[edge] = {name: cpu_ms(pid) for name, pid in system.pids.items()}
            started = time.perf_counter()
            kinds[(await send_turn(client, url, sender, turn, workload))[0]] += 1
            latencies.append((time.perf_counter() - started) * 1000)
    cpu["last to"] = {name: cpu_ms(pid) for name, pid in system.pids.items()}
    first = statistics.median(latencies[:window])
    last = statistics.median(latencies[-window:])
    replies = ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())
    per_turn = ", ".join(
        f"{name} {(cpu['first to'][name] - cpu['first from'][name]) / window:.1f}"
        f" -> {(cpu['last to'][name] - cpu['last from'][name]) / window:.1f}"
        for name in system.pids
        if all(name in cpu.get(edge, {}) for edge in ("first from", "first to", "last from"))
    )
    return (
        f"{system.label:>10}: {turns} turns, p50 of turns 1-{window} {first:.0f} ms, "
        f"of turns {turns - window + 1}-{turns} {last:.0f} ms, ratio {last / first:.2f}; replies: {replies}"
        + (
            f"\n{'':>12}CPU ms per turn, turns 1-{window} -> {turns - window + 1}-{turns}: {per_turn}"
            if per_turn
            else ""
        )
    )


# ---------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,10,50", help="concurrent sessions per level (default 1,10,50)")
    parser.add_argument("--turns", type=int, default=200, help="turns per level and round (default 200)")
    parser.add_argument(
        "--seconds", type=float, default=90.0, help="at most this long per level and round (default 90)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds; the tables take the median (default 3)"
    )
    parser.add_argument("--workloads", default="knowledge,forms", help="knowledge, forms or both (default)")
    parser.add_argument("--session-turns", type=int, default=10, help="knowledge questions per session (default 10)")
    parser.add_argument("--long-turns", type=int, default=200, help="turns of the long conversation (0: skip it)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured turns per system and workload first")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request before it counts as an error")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--no-stock", action="store_true", help="skip the moodbot baseline")
    parser.add_argument("--url", help="a running Kumpel's Rasa URL instead of starting one on free ports")
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="one more Kumpel-like system loaded in the same rounds (e.g. instances behind a load balancer)",
    )
    parser.add_argument(
        "--pid",
        action="append",
        default=[],
        metavar="[SYSTEM:]NAME=PID",
        help="a process to measure for --url or --target systems (e.g. kumpel:rasa=1234, lb:rasa-1=99)",
    )
    parser.add_argument(
        "--state", type=Path, help="keep the started processes' logs and databases here (default: a temp dir)"
    )
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "bench", help="where the trained moodbot is kept")
    args = parser.parse_args(argv)
    args.levels = [int(level) for level in args.levels.split(",") if level.strip()]
    args.workloads = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = set(args.workloads) - {"knowledge", "forms"}
    if unknown or not args.levels or min(args.levels) < 1 or args.turns < 1 or args.rounds < 1:
        parser.error(f"check --levels, --turns, --rounds and --workloads ({', '.join(sorted(unknown)) or 'ok'})")
    return args


def named_pids(specs: list[str]) -> dict[str, dict[str, int]]:
    """``--pid kumpel:rasa=12`` -> {"kumpel": {"rasa": 12}}; without a system: kumpel."""
    pids: dict[str, dict[str, int]] = {}
    for spec in specs:
        target, _, rest = spec.rpartition(":") if ":" in spec.split("=", 1)[0] else ("kumpel", "", spec)
        name, _, pid = rest.partition("=")
        pids.setdefault(target, {})[name] = int(pid)
    return pids


async def measure(args: argparse.Namespace, systems: list[System]) -> Results:
    results: Results = {}
    for workload in args.workloads:
        for system in systems:
            if args.warmup:
                await run_level(system, system.workloads[workload], 1, args.warmup, args.seconds, args.timeout, 0)
        for round_number in range(1, args.rounds + 1):
            for level in args.levels:
                for system in systems:  # interleaved: stock, kumpel, stock, kumpel, ...
                    result = await run_level(
                        system,
                        system.workloads[workload],
                        level,
                        args.turns,
                        args.seconds,
                        args.timeout,
                        args.seed + round_number * 100 + level,
                    )
                    results.setdefault((workload, system.label, level), []).append(result)
                    print(
                        f"  {workload} round {round_number} sessions {level:>3} {system.label:>10}: "
                        f"{result.turns} turns in {result.wall_s:.1f} s = {result.throughput:.1f} turns/s, "
                        f"p50 {percentile(result.latencies_ms, 0.5):.0f} ms, p95 {p95(result):.0f} ms, "
                        f"errors {result.errors}",
                        flush=True,
                    )
    return results


def start_stock(args: argparse.Namespace, state: Path, running: contextlib.ExitStack) -> System:
    """The moodbot on a free port, stopped when ``running`` closes."""
    project = moodbot_project(args.cache)
    stock = moodbot_process(project, state)
    started = time.monotonic()
    stock.start(echo=False)
    running.callback(stock.stop)
    wait_ready(stock)
    assert stock.popen is not None
    print(f"stock moodbot ready after {time.monotonic() - started:.0f} s ({project.name})", flush=True)
    mood = moodbot_workload(args.session_turns)
    url = stock.health_url.removesuffix("/webhooks/rest/")
    return System("stock", url, {name: mood for name in args.workloads}, mood, {"rasa": stock.popen.pid})


def start_kumpel(args: argparse.Namespace, state: Path, running: contextlib.ExitStack) -> tuple[str, dict[str, int]]:
    """Kumpel's Rasa URL and its processes: started here, or the one at --url."""
    if args.url:
        return args.url, named_pids(args.pid).get("kumpel", {})
    stack: Stack = make_stack(state / "kumpel")  # own databases, the clock pinned as in the integration tests
    started = time.monotonic()
    running.enter_context(stack)
    print(f"kumpel stack ready after {time.monotonic() - started:.0f} s (model: the newest in models/)", flush=True)
    pids = {process.name: process.popen.pid for process in stack.processes if process.popen}
    return stack.rasa_url, pids


def print_report(args: argparse.Namespace, systems: list[System], results: Results, long_lines: list[str]) -> None:
    print_tables(systems, args.workloads, args.levels, results)
    if long_lines:
        print("\n== long conversation (one sender, sequential)")
        print("\n".join(long_lines))
    memory = [
        f"{system.label:>10} {name}: {rss_mib(pid):.0f} MiB" for system in systems for name, pid in system.pids.items()
    ]
    if memory:
        print("\n== RSS after the run (children included)")
        print("\n".join(memory))
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\nfinished: {datetime.now().isoformat(timespec='seconds')}, load average {load} (1/5/15 min)")


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    print(machine_header(["bench/load.py", *argv]), flush=True)
    # SIGTERM (a CI timeout, kill) ends like Ctrl-C, so that the processes started here are stopped.
    signal.signal(signal.SIGTERM, interrupt)
    pids = named_pids(args.pid)
    with tempfile.TemporaryDirectory(prefix="kumpel-load-") as folder, contextlib.ExitStack() as running:
        state = args.state or Path(folder)
        state.mkdir(parents=True, exist_ok=True)
        systems = [] if args.no_stock else [start_stock(args, state, running)]
        url, kumpel_pids = start_kumpel(args, state, running)
        knowledge, pool_size = knowledge_workload(args.seed, args.session_turns)
        offered = {"knowledge": knowledge, "forms": forms_workload()}
        workloads = {name: offered[name] for name in args.workloads}
        systems.append(System("kumpel", url, workloads, knowledge, kumpel_pids))
        for spec in args.target:
            label, _, target_url = spec.partition("=")
            systems.append(System(label, target_url, workloads, knowledge, pids.get(label, {})))
        print(
            f"levels {args.levels}; per level and round: sessions start until {args.turns} turns are sent "
            f"(a started session runs to its end), at most {args.seconds:.0f} s; {args.rounds} round(s); "
            f"think time 0; {pool_size} distinct knowledge questions, {args.session_turns} per session; "
            "a form session is one dog-tax registration (13 turns)",
            flush=True,
        )
        results = asyncio.run(measure(args, systems))
        long_lines = [
            asyncio.run(long_conversation(system, system.chat, args.long_turns, args.timeout))
            for system in systems
            if args.long_turns
        ]
        print_report(args, systems, results, long_lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
