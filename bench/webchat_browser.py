"""Web widget as a citizen feels it: real Chromium, real stack, WebSocket transport.

Prints: bytes the widget adds to a page (raw and gzip), time from the click on the launcher to
"connected", and the turn latency (Enter -> the bot's turn is complete, as the typing indicator
ends) over N sequential questions: median, p95, throughput.

    make run   # or: .venv/rasa/bin/kumpel-stack run
    .venv/knowledge/bin/python bench/webchat_browser.py --url http://127.0.0.1:8000 -n 50 --rest http://127.0.0.1:5005
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
import urllib.request

from playwright.sync_api import sync_playwright

HOST = "document.querySelector('#kumpel-webchat').shadowRoot"
QUESTIONS = [
    "Was kostet die Hundesteuer?",
    "Wann hat das Bürgerbüro geöffnet?",
    "Was brauche ich für einen Personalausweis?",
    "Wie melde ich meinen Wohnsitz an?",
    "Was kannst du?",
]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def asset_sizes(base: str) -> None:
    total_raw = total_gz = 0
    for path in ("/webchat/kumpel-widget.js", "/webchat/kumpel-widget.css", "/webchat/vendor/socket.io.min.js"):
        body = urllib.request.urlopen(base + path, timeout=10).read()
        raw, packed = len(body), len(gzip.compress(body))
        total_raw += raw
        total_gz += packed
        print(f"  {path:38s} {raw / 1024:6.1f} KiB  gzip {packed / 1024:5.1f} KiB")
    print(
        f"  {'total (loaded only when opened: socket.io)':38s} {total_raw / 1024:6.1f} KiB  gzip {total_gz / 1024:5.1f} KiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="knowledge service (serves the demo page)")
    parser.add_argument("-n", type=int, default=50, help="number of sequential questions")
    parser.add_argument("--rest", default="", help="Rasa URL: also time the same questions over REST, for comparison")
    args = parser.parse_args()

    print("widget assets:")
    asset_sizes(args.url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(args.url + "/demo/")
        started = time.perf_counter()
        page.get_by_role("button", name="Chat mit Kumpel").click()
        page.wait_for_selector("#kumpel-panel[data-connection=online]")
        print(
            f"open -> connected: {(time.perf_counter() - started) * 1000:.0f} ms (loads socket.io, connects, session)"
        )

        turns: list[float] = []
        run_started = time.perf_counter()
        for index in range(args.n):
            before = page.locator(".message.bot").count()
            page.locator("#kumpel-input").fill(QUESTIONS[index % len(QUESTIONS)])
            started = time.perf_counter()
            page.keyboard.press("Enter")
            page.wait_for_function(
                f"n => {HOST}.querySelectorAll('.message.bot').length > n"
                f" && !{HOST}.querySelector('#kumpel-panel').hasAttribute('data-busy')",
                arg=before,
                polling="raf",
            )
            turns.append((time.perf_counter() - started) * 1000)
        elapsed = time.perf_counter() - run_started
        browser.close()
    print(
        f"turn latency over {len(turns)} sequential questions (Enter -> turn complete, rendered): "
        f"median {statistics.median(turns):.0f} ms, p95 {percentile(turns, 0.95):.0f} ms, "
        f"max {max(turns):.0f} ms, throughput {len(turns) / elapsed:.1f} turns/s"
    )
    if args.rest:
        rest_turns: list[float] = []
        for index in range(args.n):
            body = json.dumps({"sender": f"bench-{index % 7}", "message": QUESTIONS[index % len(QUESTIONS)]}).encode()
            request = urllib.request.Request(
                args.rest + "/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
            )
            started = time.perf_counter()
            urllib.request.urlopen(request, timeout=60).read()
            rest_turns.append((time.perf_counter() - started) * 1000)
        print(
            f"same questions over REST (no browser): median {statistics.median(rest_turns):.0f} ms, "
            f"p95 {percentile(rest_turns, 0.95):.0f} ms"
        )


if __name__ == "__main__":
    main()
