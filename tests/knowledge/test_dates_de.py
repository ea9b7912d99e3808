"""Which day a German question asks about."""

from __future__ import annotations

from datetime import date

import pytest

from kumpel_knowledge.answers.dates import asked_day

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
