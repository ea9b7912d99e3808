"""Chat with a running Kumpel in the terminal over the REST channel (standard library only).

    kumpel-chat [--url http://127.0.0.1:5005]

Buttons are numbered; type the number to press one. Ctrl-D or "exit" ends the chat.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any


def send(url: str, sender: str, text: str) -> list[dict[str, Any]]:
    """One turn over the REST channel; returns the bot messages."""
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return list(json.loads(response.read().decode("utf-8")))


def main(argv: list[str] | None = None) -> int:
    """``kumpel-chat``: read a line, send it, print the replies and their numbered buttons."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("KUMPEL_RASA_URL", "http://127.0.0.1:5005"))
    args = parser.parse_args(argv)
    sender = f"terminal-{uuid.uuid4().hex[:12]}"
    buttons: list[dict[str, str]] = []
    print("Kumpel im Terminal. Beenden mit Strg-D oder 'exit'.")
    while True:
        try:
            text = input("Sie: ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if text in {"exit", "quit"}:
            return 0
        if text.isdigit() and 0 < int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        try:
            messages = send(args.url, sender, text)
        except (urllib.error.URLError, OSError) as error:
            print(f"(Kumpel ist nicht erreichbar unter {args.url}: {error}. Läuft `make run`?)")
            continue
        buttons = []
        for message in messages:
            if "text" in message:
                print(f"Kumpel: {message['text']}")
            for button in message.get("buttons") or []:
                buttons.append(button)
                print(f"  [{len(buttons)}] {button['title']}")


if __name__ == "__main__":
    sys.exit(main())
