"""The offline German lemma table understands how citizens type: lower case, no umlauts."""

from __future__ import annotations

from bot.build_spacy_model import extend_lemma_table


def test_lower_case_and_umlaut_free_spellings_share_the_lemma() -> None:
    table = extend_lemma_table({"Öffnungszeiten": "Öffnungszeit", "geöffnet": "öffnen"})
    for typed in ("Öffnungszeiten", "öffnungszeiten", "Oeffnungszeiten", "oeffnungszeiten", "oeffnungszeit"):
        assert table[typed] == "Öffnungszeit", typed
    assert table["geoeffnet"] == "öffnen"


def test_a_dictionary_entry_is_never_overwritten_by_a_variant() -> None:
    # "Weg" (way) and "weg" (gone) are different words: the variant of one must not replace the other.
    table = extend_lemma_table({"Wege": "Weg", "weg": "weg"})
    assert table["weg"] == "weg"
    assert table["wege"] == "Weg"
