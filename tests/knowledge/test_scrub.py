"""Personal data is removed before an unanswered question is stored."""

from __future__ import annotations

import pytest

from kumpel_knowledge.answers.scrub import scrub


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Schreiben Sie an erika.muster@example.org bitte", "Schreiben Sie an [E-Mail] bitte"),
        ("Meine IBAN DE89 3704 0044 0532 0130 00 geht nicht", "Meine IBAN [IBAN] geht nicht"),
        ("DE89370400440532013000", "[IBAN]"),
        ("Ruf mich an: 0151 23456789", "Ruf mich an: [Nummer]"),
        ("Tel. +49 (2151) 86-2000", "Tel. [Nummer]"),
        ("Chip 276098100123456 verloren", "Chip [Nummer] verloren"),
        ("Ich heiße Erika Muster und wohne Ostwall 104", "Ich heiße [Name] und wohne [Adresse]"),
        ("mein Name ist Max. Hilfe", "mein Name ist [Name]. Hilfe"),
        ("Ich wohne in der Dionysiusstraße 12a", "Ich wohne in der [Adresse]"),
        ("Siehe https://example.org/ich?id=4", "Siehe [Link]"),
    ],
)
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Wann hat das Bürgerbüro am 24.12. auf?",
        "Ich bin umgezogen",
        "Hundesteuer 2026 für 2 Hunde",
        "Kosten Reisepass 70 EUR?",
    ],
)
def test_ordinary_questions_stay_as_they_are(text: str) -> None:
    assert scrub(text) == text
