"""Build the offline German spaCy model Rasa's SpacyNLP loads: blank("de") + lookup lemmas.

No German spaCy pipeline can be downloaded here (PLATFORM.md), so setup builds one from
``spacy.blank("de")`` and the lemma table of the ``spacy-lookups-data`` package.

Citizens type lower case and without umlauts ("oeffnungszeiten", "buergerbuero"), but the
lookup table only knows the dictionary spelling ("Öffnungszeiten" -> "Öffnungszeit"). The
table is therefore extended with lower-case and umlaut-transliterated keys that map to the
same lemma. It stays pure data: the saved model needs no custom code to load.

Usage (Rasa venv, repo root):
    .venv/rasa/bin/python bot/build_spacy_model.py --out models/spacy-de-blank
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

DEFAULT_OUT = Path("models/spacy-de-blank")

# ä -> ae etc.: the way German is typed on keyboards without umlauts.
_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def _load_lemma_table() -> dict[str, str]:
    """Read the raw German lemma lookup table shipped by spacy-lookups-data."""
    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / "de_lemma_lookup.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        table: dict[str, str] = json.load(handle)
    return table


def extend_lemma_table(table: dict[str, str]) -> dict[str, str]:
    """Add lower-case and umlaut-free spellings of every form and lemma.

    Entries of the original table always win; a variant only fills a gap, so
    the dictionary spelling keeps its exact lemma.
    """
    extended = dict(table)
    for form, lemma in table.items():
        for key in (form, lemma):
            for variant in (key.lower(), key.translate(_TRANSLITERATION), key.lower().translate(_TRANSLITERATION)):
                extended.setdefault(variant, lemma)
    return extended


def build(out_dir: Path) -> Path:
    """Create the blank German pipeline with a lookup lemmatizer and save it to ``out_dir``."""
    import spacy
    from spacy.lookups import Lookups

    nlp = spacy.blank("de")
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    lookups = Lookups()
    lookups.add_table("lemma_lookup", extend_lemma_table(_load_lemma_table()))
    lemmatizer.initialize(lookups=lookups)
    nlp.meta["name"] = "de_kumpel_blank"
    nlp.meta["description"] = "spacy.blank('de') + extended lookup lemmas (built offline)"
    out_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out_dir)
    return out_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"target directory (default {DEFAULT_OUT})")
    args = parser.parse_args()
    path = build(args.out)
    print(f"spaCy German blank model with lookup lemmas written to {path}")


if __name__ == "__main__":
    main()
