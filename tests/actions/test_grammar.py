"""The case rule for names in a sentence: "bei" / "an" with an office or town from the knowledge base."""

from __future__ import annotations

import pytest

from kumpel_forms.grammar import InSentence, accusative, dative


@pytest.mark.parametrize(
    ("nominative", "expected"),
    [
        ("das Ordnungsamt", "dem Ordnungsamt"),
        ("das Bürgerbüro", "dem Bürgerbüro"),
        ("das Amt für Soziales und Wohnen", "dem Amt für Soziales und Wohnen"),
        ("der Fachbereich Ordnung", "dem Fachbereich Ordnung"),
        ("die Ausländerbehörde", "der Ausländerbehörde"),
        ("die Abteilung Steuern und Abgaben", "der Abteilung Steuern und Abgaben"),
        ("die Ausländer- und Einbürgerungsbehörde", "der Ausländer- und Einbürgerungsbehörde"),
        ("die Stadtverwaltung Hellbach", "der Stadtverwaltung Hellbach"),
        ("die GSAK", "der GSAK"),
        ("die Untere Wasserbehörde", "der Unteren Wasserbehörde"),
        ("das Städtische Bürgerbüro", "dem Städtischen Bürgerbüro"),
        ("der Zentrale Bürgerservice", "dem Zentralen Bürgerservice"),
        # plural, told by the adjective in "-en": article "den", noun "-n"
        ("die Technischen Betriebe Hellbach", "den Technischen Betrieben Hellbach"),
        ("Ihre Stadtverwaltung", "Ihrer Stadtverwaltung"),
        ("Die Stadtverwaltung Hellbach", "Der Stadtverwaltung Hellbach"),
    ],
)
def test_dative_of_a_name_with_its_article(nominative: str, expected: str) -> None:
    assert dative(nominative) == expected


@pytest.mark.parametrize(
    ("nominative", "expected"),
    [
        ("der Fachbereich Ordnung", "den Fachbereich Ordnung"),
        ("der Zentrale Bürgerservice", "den Zentralen Bürgerservice"),
        ("der Markt Hellbach", "den Markt Hellbach"),
        ("das Standesamt", "das Standesamt"),
        ("die Stadtverwaltung Hellbach", "die Stadtverwaltung Hellbach"),
        ("die Technischen Betriebe Hellbach", "die Technischen Betriebe Hellbach"),
    ],
)
def test_accusative_of_a_name_with_its_article(nominative: str, expected: str) -> None:
    assert accusative(nominative) == expected


def test_a_name_without_article_has_no_derived_form() -> None:
    assert dative("Bürgerbüro") is None
    assert accusative("Stadtverwaltung Hellbach") is None


def test_texts_put_the_name_in_the_case_they_need() -> None:
    office, town = InSentence("das Ordnungsamt"), InSentence("die Gemeindeverwaltung Talheim")
    text = "Fragen Sie bitte bei {office:dat} nach. Schicken Sie die Marke an {town:acc}. {town:cap} antwortet."
    assert text.format(office=office, town=town) == (
        "Fragen Sie bitte bei dem Ordnungsamt nach. Schicken Sie die Marke an die Gemeindeverwaltung Talheim."
        " Die Gemeindeverwaltung Talheim antwortet."
    )
    # Without a derived form the name stays as it is rather than being declined wrongly.
    assert "bei {office:dat}".format(office=InSentence("Bürgerbüro")) == "bei Bürgerbüro"


def test_a_form_text_says_the_kind_of_municipality_of_the_profile() -> None:
    from actions.forms.engine import fill
    from kumpel_forms.spec import load_spec

    closing = load_spec("dog_tax_deregistration").submitted_text
    market = fill(closing, {"town": "der Markt Hellbach", "city": "Hellbach"}, reference="HS-1")
    assert "die Hundesteuermarke an den Markt Hellbach zurück" in market
    village = fill(closing, {"town": "die Gemeindeverwaltung Talheim", "city": "Talheim"}, reference="HS-1")
    assert "an die Gemeindeverwaltung Talheim zurück" in village and "Stadt" not in village
