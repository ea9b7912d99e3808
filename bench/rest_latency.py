"""REST turn latency of the vertical slice ("Wann hat das Bürgerbüro geöffnet?") and start-up time.

Starts its own stack (knowledge service, action server, Rasa) on free ports unless --url names a
running Rasa, then sends N sequential turns and prints median, p95 and throughput, plus the
resident memory of each process.

    .venv/rasa/bin/python bench/rest_latency.py [--turns 100] [--vary] [--conversation-turns N] [--url http://127.0.0.1:5005]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kumpel_stack.launcher import Ports, Stack, post_json

QUESTION = "Wann hat das Bürgerbüro geöffnet?"
# --vary: 100 different wordings of the same question, so no cache along the way (the knowledge
# service keeps recent question embeddings) can answer from memory.
OPENERS = [
    "",
    "Kurze Frage: ",
    "Entschuldigung, ",
    "Sagen Sie mal, ",
    "Frage: ",
    "Bitte: ",
    "Noch was: ",
    "Eine Frage: ",
    "Ich wollte wissen: ",
    "Weiß jemand: ",
]
WORDINGS = [
    "Wann hat das Bürgerbüro geöffnet?",
    "wann hat das buergerbuero offen",
    "Öffnungszeiten Bürgerbüro",
    "Wie lange hat das Bürgerbüro heute auf?",
    "Ist das Bürgerbüro jetzt offen?",
    "Hat das Bürgerbüro am Samstag geöffnet?",
    "Bürgerbüro Öffnungszeiten",
    "wann macht das bürgerbüro auf",
    "Bis wann ist das Bürgerbüro geöffnet?",
    "Hat das Bürgerbüro morgen offen?",
]


def questions(count: int, vary: bool) -> list[str]:
    if not vary:
        return [QUESTION] * count
    every = [opener + (w[0].lower() + w[1:] if opener else w) for opener in OPENERS for w in WORDINGS]
    return [every[i % len(every)] for i in range(count)]


def rss_mib(pid: int) -> float:
    """Resident memory of a process and all its children (uvicorn/sanic may fork)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        status = Path(f"/proc/{p}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--vary", action="store_true", help="a different wording each turn (no cache hits)")
    parser.add_argument(
        "--conversation-turns",
        type=int,
        default=0,
        help="start a new conversation every N turns (default: one conversation for all turns)",
    )
    parser.add_argument("--url", default=None, help="a running Rasa; default: start a fresh stack")
    args = parser.parse_args()

    stack = None
    url = args.url
    if url is None:
        state = Path(tempfile.mkdtemp(prefix="kumpel-bench-"))
        stack = Stack(ports=Ports.free(), state_dir=state)
        started = time.monotonic()
        stack.start()
        ready = time.monotonic() - started
        url = stack.rasa_url
        first_started = time.monotonic()
        post_json(f"{url}/webhooks/rest/webhook", {"sender": "warmup", "message": QUESTION})
        print(
            f"start-up: all three ready after {ready:.1f} s; "
            f"first answer after {ready + time.monotonic() - first_started:.1f} s"
        )
        for process in stack.processes:
            assert process.popen is not None
            print(f"memory {process.name:<9}: {rss_mib(process.popen.pid):7.0f} MiB RSS")
    try:
        sender = f"bench-{uuid.uuid4().hex[:8]}"
        latencies = []
        began = time.monotonic()
        for turn, question in enumerate(questions(args.turns, args.vary)):
            if args.conversation_turns and turn % args.conversation_turns == 0:
                sender = f"bench-{uuid.uuid4().hex[:8]}"
            t0 = time.perf_counter()
            reply = post_json(f"{url}/webhooks/rest/webhook", {"sender": sender, "message": question})
            latencies.append((time.perf_counter() - t0) * 1000)
            assert isinstance(reply, list) and reply and "Bürgerbüro" in str(reply[0].get("text")), (question, reply)
        elapsed = time.monotonic() - began
        conversations = (
            f", a new conversation every {args.conversation_turns}" if args.conversation_turns else ", one conversation"
        )
        print(
            f"REST slice, {args.turns} sequential turns"
            f"{', a different wording each' if args.vary else ''}"
            f"{conversations}"
            f": median {statistics.median(latencies):.1f} ms, "
            f"p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms, "
            f"throughput {args.turns / elapsed:.1f} turns/s"
        )
    finally:
        if stack is not None:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
