"""Which day a German question asks about."""

from __future__ import annotations

from datetime import date

import pytest

from kumpel_knowledge.answers.dates import AskedDay, asked_day
from kumpel_knowledge.answers.topics import day_asked_for_a_service

THURSDAY = date(2026, 11, 19)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Wann hat das Bürgerbüro heute geöffnet?", date(2026, 11, 19)),
        ("Und morgen?", date(2026, 11, 20)),
        ("Hat das Amt übermorgen auf?", date(2026, 11, 21)),
        ("uebermorgen offen?", date(2026, 11, 21)),
        ("Und am Samstag?", date(2026, 11, 21)),
        ("am Sonnabend", date(2026, 11, 21)),
        ("Hat das Bürgerbüro am Donnerstag auf?", date(2026, 11, 19)),
        ("Und nächsten Donnerstag?", date(2026, 11, 26)),
        ("nächsten Montag", date(2026, 11, 23)),
        ("übernächsten Montag", date(2026, 11, 30)),
        ("Ist das Bürgerbüro an Heiligabend geöffnet?", date(2026, 12, 24)),
        ("Wie ist es am 24.12.?", date(2026, 12, 24)),
        ("am 24.12.2027", date(2027, 12, 24)),
        ("am 3. Oktober", date(2027, 10, 3)),  # already past this year: the next one
        ("an Silvester", date(2026, 12, 31)),
        ("Neujahr", date(2027, 1, 1)),
        ("an Fronleichnam", date(2027, 5, 27)),
        ("am Rosenmontag", date(2027, 2, 8)),
        ("am Wochenende", date(2026, 11, 21)),
    ],
)
def test_days_in_questions(question: str, expected: date) -> None:
    assert asked_day(question, THURSDAY).day == expected


@pytest.mark.parametrize("question", ["Wann hat das Bürgerbüro geöffnet?", "Öffnungszeiten Standesamt", ""])
def test_no_day_named(question: str) -> None:
    found = asked_day(question, THURSDAY)
    assert found.day is None and found.error is None


@pytest.mark.parametrize(
    ("question", "shown"), [("am 31.02.", "31.02."), ("am 30.2.2027", "30.02.2027"), ("am 12.13.", "12.13.")]
)
def test_impossible_dates_are_named_not_guessed(question: str, shown: str) -> None:
    found = asked_day(question, THURSDAY)
    assert found.day is None
    assert found.error == f"Den {shown} gibt es nicht im Kalender."


@pytest.mark.parametrize(
    "question",
    [
        "Wir sind letzten Samstag umgezogen. Bis wann muss ich mich anmelden?",
        "Wir haben am Montag geheiratet, wie bekomme ich die Urkunde?",
        "Mein Ausweis ist am 3.1. abgelaufen.",
        "Ich habe am Samstag meinen Ausweis verloren.",
        "Ich war gestern da.",
    ],
)
def test_a_day_told_in_the_past_is_no_day_asked_about(question: str) -> None:
    assert asked_day(question, THURSDAY) == AskedDay()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Wir sind am Samstag umgezogen, kann ich mich am Montag anmelden?", date(2026, 11, 23)),
        ("Gestern war zu. Hat das Amt morgen auf?", date(2026, 11, 20)),
        ("Hat das Standesamt am Samstag geöffnet?", date(2026, 11, 21)),  # "geöffnet" tells no past
        ("Welche Gebühren sind am Montag fällig?", date(2026, 11, 23)),  # a noun, not a participle
        ("Kann ich meinen fertigen Ausweis auch an einem Samstag abholen?", date(2026, 11, 21)),
    ],
)
def test_the_day_asked_about_beside_a_past_one(question: str, expected: date) -> None:
    assert asked_day(question, THURSDAY).day == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Kann ich mich auch samstags anmelden? Unter der Woche arbeite ich.", date(2026, 11, 21)),
        ("Ich arbeite unter der Woche, kann ich am Samstag kommen?", date(2026, 11, 21)),
        ("Ist es möglich, am Samstag einen Ausweis zu beantragen?", date(2026, 11, 21)),
        ("Kann ich an Heiligabend noch meinen Pass abholen?", date(2026, 12, 24)),
        # not the day to come: a deadline, an open question, a day in the past, a calendar date
        ("Ich brauche bis Freitag einen gültigen Ausweis. Was kann ich machen?", None),
        ("Kann ich bis Freitag einen Ausweis bekommen?", None),
        ("Wir sind letzten Samstag umgezogen. Kann ich mich online anmelden?", None),
        ("Kann ich mich am 24.11. anmelden?", None),
        ("Ich ziehe am Samstag um. Was muss ich tun?", None),
    ],
)
def test_the_day_on_which_the_citizen_asks_whether_a_service_can_be_done(question: str, expected: date | None) -> None:
    assert day_asked_for_a_service(question, THURSDAY, "NW") == expected
