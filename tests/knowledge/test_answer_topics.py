"""What a question asks for, read from its words (answers/topics.py)."""

from __future__ import annotations

from datetime import date

import pytest

from kumpel_knowledge.answers.engine import named_fee
from kumpel_knowledge.answers.topics import asks_about_access, infer_topic, without_fact_words, without_personal_data

TODAY = date(2026, 11, 19)


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("Umzug mit Hund nach Krefeld Steuer", "auto"),  # "Steuer" is no "teuer"
        ("Ist das teuer?", "fees"),
        ("Wie viel Hundesteuer zahlt man für einen Hund?", "fees"),
        ("Wie hoch ist die Gebühr?", "fees"),
        ("An welche Mail schreib ich wegen Hundesteuer?", "contact"),
    ],
)
def test_the_words_tell_the_kind_of_fact(question: str, topic: str) -> None:
    assert infer_topic(question, TODAY) == topic


def test_the_second_search_keeps_a_negation_and_drops_fact_words() -> None:
    assert without_fact_words("Ich finde meinen Personalausweis nicht mehr") == "finde personalausweis nicht mehr"
    assert without_fact_words("Hat das Bürgerbüro an Heiligabend offen?") == "buergerbuero"
    assert without_fact_words("Bürgerbüro") is None


FEES = [
    {"label": "Ein Hund", "amount_eur": 111.32},
    {"label": "Zwei Hunde", "amount_eur": 129.47},
    {"label": "Gefährlicher Hund / gelistete Rasse", "amount_eur": 800.0},
]


def test_the_fee_a_question_names_is_the_most_specific_one() -> None:
    assert named_fee(FEES, "Was kostet die Hundesteuer für zwei Hunde?") == FEES[1]
    assert named_fee(FEES, "Wie viel zahlt man für einen Hund?") == FEES[0]
    assert named_fee(FEES, "Gibt es die Hundesteuer günstiger?") is None


def test_the_search_reads_a_question_without_the_personal_data_in_it() -> None:
    assert (
        without_personal_data("Wann hat das Bürgerbüro am Samstag geöffnet? Ich heiße [Name].")
        == "Wann hat das Bürgerbüro am Samstag geöffnet?"
    )
    assert (
        without_personal_data("Ich wohne [Adresse], wann kommt der Sperrmüll?")
        == "Ich wohne, wann kommt der Sperrmüll?"
    )
    assert without_personal_data("[Name]") == ""


@pytest.mark.parametrize(
    ("question", "about_access"),
    [
        ("Ist das Bürgerbüro barrierefrei?", True),
        ("Komme ich mit dem Rollstuhl ins Rathaus?", True),
        ("Gibt es dort eine Toilette für Rollstuhlfahrer?", True),
        ("Hat das Jugendamt einen Wickelraum?", True),
        ("Wann hat das Bürgerbüro geöffnet?", False),
        ("Was kostet ein Reisepass?", False),
    ],
)
def test_a_question_about_access_is_told_by_its_words(question: str, about_access: bool) -> None:
    assert asks_about_access(question) is about_access
