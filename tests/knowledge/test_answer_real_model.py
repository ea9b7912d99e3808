"""The answer API with the real embedding model (hybrid search), as the deployed service runs it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.settings import Settings

MODEL_DIR = Path(Settings().embedding_model)

pytestmark = pytest.mark.skipif(
    not (MODEL_DIR / "modules.json").exists(),
    reason=f"embedding model not built at {MODEL_DIR}; run `python -m kumpel_knowledge.search.build_model` (make setup does)",
)


@pytest.fixture(scope="module")
def hybrid_client(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("hybrid") / "kb.db"
    shutil.copy(seeded_template, db)
    settings = Settings(
        env="test",
        database_url=f"sqlite:///{db}",
        search_mode="hybrid",
        seed_on_start=False,
        embedding_model=str(MODEL_DIR),
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json()["search"] == "HybridSearch(hybrid)"
        yield client


@pytest.mark.parametrize(
    ("question", "topic", "entry_id", "fact"),
    [
        (
            "Wann hat das Bürgerbüro geöffnet?",
            "opening_hours",
            "off-buergerbuero",
            "Das Bürgerbüro hat heute bis 18:00 Uhr geöffnet.",
        ),
        ("Was kostet ein Perso?", "fees", "svc-personalausweis", "37,00 EUR"),
        ("Ich will mein altes Sofa entsorgen", "service", "svc-sperrmuell", "GSAK"),
        ("Ich will mein Auto abmelden", "service", "svc-fahrzeug-abmelden", "außer Betrieb"),
        # the bare verb means one's own address, not the business or the car
        ("Ich muss mich ummelden, was brauche ich?", "documents", "svc-wohnsitz-ummelden", "Wohnungsgeberbestätigung"),
    ],
)
def test_colloquial_questions_get_the_right_cited_answer(
    hybrid_client: TestClient, question: str, topic: str, entry_id: str, fact: str
) -> None:
    answer = hybrid_client.post(
        "/api/v1/answer", json={"question": question, "topic": topic, "now": "2026-11-19T10:00:00+01:00"}
    ).json()
    assert answer["status"] == "answer"
    assert answer["entry"]["id"] == entry_id
    assert fact in answer["text"]
    assert answer["source"]["url"].startswith("https://www.krefeld.de/")


def test_out_of_scope_is_an_honest_unknown(hybrid_client: TestClient) -> None:
    answer = hybrid_client.post("/api/v1/answer", json={"question": "Wie wird das Wetter morgen in Mallorca?"}).json()
    assert answer["status"] == "unknown" and "115" in answer["text"]


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("Ich hab mir nen Hund geholt, muss ich den irgendwo melden?", "svc-hundesteuer-anmeldung"),
        ("Mein Kind ist gestern auf die Welt gekommen", "svc-geburt-anzeigen"),
        ("Ich will einen Laden aufmachen", "svc-gewerbe-anmelden"),
        ("Wir wollen heiraten", "svc-eheschliessung-anmelden"),
    ],
)
def test_a_situation_in_own_words_is_answered_or_offered_as_a_choice(
    hybrid_client: TestClient, question: str, entry_id: str
) -> None:
    answer = hybrid_client.post("/api/v1/answer", json={"question": question, "topic": "service"}).json()
    if answer["status"] == "answer":
        assert answer["entry"]["id"] == entry_id
    else:
        assert answer["status"] == "clarify"
        assert answer["choices"][0]["id"] == entry_id
