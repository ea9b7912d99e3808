"""Latency of the knowledge answer API (POST /api/v1/answer) in-process, on the seed knowledge base.

Prints median, p95 and throughput per search mode for a mixed set of questions (opening hours with
days, fees, documents, follow-ups with context, FAQ, unknown), plus the seed import time.

    .venv/knowledge/bin/python bench/answer_bench.py [--modes lexical hybrid] [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.db import make_engine, make_session_factory
from kumpel_knowledge.core.settings import SEED_DIR, Settings
from kumpel_knowledge.kb.interchange import import_path
from kumpel_knowledge.schema import create_schema

NOW = "2026-11-19T10:00:00+01:00"
QUESTIONS: list[dict[str, object]] = [
    {"question": "Wann hat das Bürgerbüro geöffnet?", "topic": "opening_hours"},
    {"question": "Und am Samstag?", "topic": "opening_hours", "context": {"office_id": "off-buergerbuero"}},
    {"question": "Hat das Bürgerbüro an Heiligabend auf?", "topic": "auto"},
    {"question": "Was kostet ein Reisepass?", "topic": "fees"},
    {"question": "Und was muss ich mitbringen?", "topic": "documents", "context": {"service_id": "svc-reisepass"}},
    {"question": "Ich habe mir einen Hund angeschafft", "topic": "service"},
    {"question": "Und was kostet das?", "topic": "fees", "context": {"service_id": "svc-hundesteuer-anmeldung"}},
    {"question": "Wie erreiche ich das Standesamt?", "topic": "contact"},
    {"question": "Gibt es noch einen Kinderreisepass?", "topic": "faq"},
    {"question": "Wie wird das Wetter morgen?", "topic": "auto"},
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", nargs="+", default=["lexical", "hybrid"])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "seed.db"
        engine = make_engine(f"sqlite:///{template}")
        create_schema(engine)
        started = time.perf_counter()
        with make_session_factory(engine)() as session:
            report = import_path(session, SEED_DIR)
        print(f"seed import: {sum(report.counts.values())} entries in {time.perf_counter() - started:.2f} s")
        engine.dispose()
        for mode in args.modes:
            settings = Settings(env="test", database_url=f"sqlite:///{template}", search_mode=mode, seed_on_start=False)
            started = time.perf_counter()
            with TestClient(create_app(settings)) as client:
                ready = time.perf_counter() - started
                latencies: list[float] = []
                statuses: dict[str, int] = {}
                for _ in range(args.rounds):
                    for body in QUESTIONS:
                        t0 = time.perf_counter()
                        response = client.post("/api/v1/answer", json={**body, "now": NOW})
                        latencies.append((time.perf_counter() - t0) * 1000)
                        status = response.json()["status"]
                        statuses[status] = statuses.get(status, 0) + 1
                total_s = sum(latencies) / 1000
                print(
                    f"{mode:8s} start {ready:6.1f} s | {len(latencies)} answers: median {statistics.median(latencies):.1f} ms, "
                    f"p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms, "
                    f"{len(latencies) / total_s:.0f} answers/s sequential | statuses {statuses}"
                )


if __name__ == "__main__":
    main()
