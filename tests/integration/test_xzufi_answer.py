"""A town whose knowledge base came from an XZuFi export: the real bot answers from an imported service.

The knowledge base is built the way a town would: its profile imported (``kb import``), then the
state's XZuFi export synced in (``kb import-xzufi``, the synthetic Musterau fixture); then the real
trained stack starts on it and a citizen asks over REST. The reply must carry the imported facts
(the fee) and end with the source line pointing at the export's URL.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kumpel_stack.launcher import Stack
from kumpel_stack.testing import Conversation, make_stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "knowledge" / "fixtures" / "xzufi"
KNOWLEDGE_CLI = ROOT / ".venv" / "knowledge" / "bin" / "kumpel-knowledge"


def knowledge_cli(*args: str, database_url: str) -> str:
    """Run ``kumpel-knowledge`` from its own venv (this test runs in the Rasa venv)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"KUMPEL_DATABASE_URL": database_url}
    done = subprocess.run([str(KNOWLEDGE_CLI), *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def musterau_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("musterau")
    url = f"sqlite:///{state / 'kumpel.db'}"  # the database make_stack points the service at
    knowledge_cli("kb", "import", str(FIXTURES / "musterau-municipality.yaml"), database_url=url)
    report = knowledge_cli("kb", "import-xzufi", str(FIXTURES / "musterau-xzufi.xml"), database_url=url)
    assert "XZuFi import done" in report
    with make_stack(state) as running:
        yield running


def test_the_bot_answers_an_imported_service_with_its_fee_and_source(musterau_stack: Stack) -> None:
    citizen = Conversation(musterau_stack)

    citizen.say("Was kostet ein Fischereischein?")

    text = citizen.text
    assert "24" in text, text  # the fee from the export's Kosten (24,00 EUR)
    last_line = text.strip().splitlines()[-1]
    assert re.search(r"Quelle: .+ – https://www\.musterau\.example/\S+ \(Stand: \d\d\.\d\d\.\d{4}\)", last_line), text
