"""Does spaCy (blank German pipeline + lookup lemmas) beat what Kumpel does today? Three places.

    search   lexical (and hybrid) search: simplemma lemmas in kumpel_knowledge.search.german
             vs spaCy's tokenizer + lookup lemmatizer; top-1/top-3 on the dev and test split of
             bench/data/questions.yml, with the shipped calibration and refitted on dev only.
    scrub    kumpel_knowledge.scrub (regexes) vs an EntityRuler on spacy.blank("de") for names
             and street + house number, on a labelled set of German citizen messages below.
    forms    actions.forms.engine.extract as it is vs with its cue words matched on spaCy
             lookup lemmas ("kauften" finds the cue "gekauft"), on a labelled set below.

spaCy is not part of Kumpel's setup (it won nowhere here), so this benchmark runs in scratch venvs
that add spaCy to the project's packages. Run from the repository root:

    # search + scrub: Python 3.11 with the knowledge service and spaCy. torch / sentence-transformers
    # are not needed: hybrid mode reads cached embeddings (below).
    python3.11 -m venv /tmp/spacy-venv
    /tmp/spacy-venv/bin/pip install numpy scipy rapidfuzz pyyaml simplemma compound-split \
        scikit-learn 'spacy>=3.7,<3.9' spacy-lookups-data            # versions: knowledge/requirements.lock
    /tmp/spacy-venv/bin/pip install --no-deps -e knowledge
    /tmp/spacy-venv/bin/python bench/spacy_eval.py search            # lexical mode, 5 lemma variants
    /tmp/spacy-venv/bin/python bench/spacy_eval.py scrub -v          # -v lists misses and false removals

    # hybrid mode too: first let the knowledge venv write results/search-embeddings.npz (needs the
    # built e5), then the spaCy venv reads every embedding from it and never loads torch:
    .venv/knowledge/bin/python bench/search_quality.py --embedding-cache \
        --model "$PWD/knowledge/models/multilingual-e5-small" --errors none
    /tmp/spacy-venv/bin/python bench/spacy_eval.py search --model "$PWD/knowledge/models/multilingual-e5-small"

    # forms: a copy of the Rasa venv with spaCy 3.4.4 (the version Rasa 3.6's [spacy] extra pins)
    cp -a .venv/rasa /tmp/spacy-rasa
    /tmp/spacy-rasa/bin/python -m pip install spacy==3.4.4 spacy-lookups-data==1.0.5
    /tmp/spacy-rasa/bin/python bench/spacy_eval.py forms -v

"search" imports bench/search_quality.py (its sibling) for the seed KB, the questions, the
split, evaluate() and fit_mode(), so its figures are computed exactly as that benchmark's.
Not a test: it measures. The labelled sets for scrub and forms were written before either
scrubber/extractor was run on them; they are small (one author), so read differences of one or
two items as noise.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import date
from functools import cache, lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EMBEDDING_CACHE = ROOT / "results" / "search-embeddings.npz"


# ================================================================ spaCy helpers
@cache
def spacy_nlp(extended: bool = False):  # type: ignore[no-untyped-def]
    """spacy.blank("de") + lookup lemmatizer from spacy-lookups-data.

    ``extended``: the table as the removed bot/build_spacy_model.py built it for Rasa (every form and
    lemma also lower-cased and spelled without umlauts), i.e. the model setup builds today.
    """
    import spacy

    nlp = spacy.blank("de")
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    if extended:
        from spacy.lookups import Lookups

        lookups = Lookups()
        lookups.add_table("lemma_lookup", _extend(_raw_table()))
        lemmatizer.initialize(lookups=lookups)  # as the removed bot/build_spacy_model.py did
    else:
        nlp.initialize()  # loads de_lemma_lookup from spacy-lookups-data (offline)
    return nlp


@lru_cache(maxsize=1)
def _raw_table() -> dict[str, str]:
    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / "de_lemma_lookup.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def _extend(table: dict[str, str]) -> dict[str, str]:
    """Same rule as the removed bot/build_spacy_model.extend_lemma_table (git history)."""
    extended = dict(table)
    for form, lemma in table.items():
        for key in (form, lemma):
            for variant in (key.lower(), key.translate(_TRANSLIT), key.lower().translate(_TRANSLIT)):
                extended.setdefault(variant, lemma)
    return extended


def lemma_table(nlp) -> dict[str, str]:  # type: ignore[no-untyped-def]
    table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    return dict(table.items()) if not isinstance(table, dict) else table


# ================================================================ 1. search
class _SpacyAsSimplemma:
    """simplemma's two calls german.py makes, answered from spaCy's lookup table."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.known = set(table) | set(table.values())

    def lemmatize(self, word: str, lang: str = "de") -> str:  # noqa: ARG002
        return self.table.get(word, word)

    def is_known(self, word: str, lang: str = "de") -> bool:  # noqa: ARG002
        return word in self.known


def _install_variant(name: str) -> None:
    """Swap the lemma source of kumpel_knowledge.search.german (everything else stays identical).

    current      simplemma (the product today)
    none         no lemmas at all (ablation: how much do lemmas matter here?)
    spacy-table  spaCy's lookup table behind german.lemmas' own logic (noun and lower-case reading,
                 umlaut variants, separable verbs): only the lemma data changes
    spacy        spaCy as a spaCy user would: nlp(text) tokens and token.lemma_ in place of
                 german.words + german.lemmas (compound parts and separable verbs via the table)
    spacy-ext    like "spacy" with the extended table the removed bot/build_spacy_model.py built
    """
    from kumpel_knowledge.search import engine, german

    orig = _ORIGINAL
    german.lemmas = orig["lemmas"]
    german._simplemma = orig["_simplemma"]  # noqa: SLF001
    german.word_terms = engine.word_terms = orig["word_terms"]
    orig["lemmas"].cache_clear()
    german.compound_parts.cache_clear()
    if name == "current":
        return
    if name == "none":
        german.lemmas = lambda word: frozenset()  # type: ignore[assignment]
        return
    nlp = spacy_nlp(extended=name == "spacy-ext")
    shim = _SpacyAsSimplemma(lemma_table(nlp))
    german._simplemma = lambda: shim  # type: ignore[assignment]  # noqa: SLF001
    if name == "spacy-table":
        return

    @lru_cache(maxsize=200_000)
    def part_lemmas(word: str) -> frozenset[str]:
        return frozenset({german.fold(shim.lemmatize(word))})

    def word_terms(text: str, *, with_compounds: bool = True) -> list[str]:
        terms: list[str] = german.separable_verbs(text)
        for token in nlp(text):
            if not (token.is_alpha or token.is_digit):
                continue
            folded = german.fold(token.text)
            if folded in german.STOP_WORDS or (len(folded) < 2 and not folded.isdigit()):
                continue
            found = {folded}
            if not folded.isdigit():
                found.add(german.fold(token.lemma_))
                if with_compounds:
                    for part in german.compound_parts(token.text):
                        found.add(part)
                        found |= part_lemmas(part)
            terms.extend(sorted(t for t in found if t not in german.STOP_WORDS and len(t) >= 2))
        return terms

    german.word_terms = engine.word_terms = word_terms  # type: ignore[assignment]


_ORIGINAL: dict[str, object] = {}
SEARCH_VARIANTS = ("current", "none", "spacy-table", "spacy", "spacy-ext")


def _time_terms(questions: list[str]) -> tuple[float, float]:
    """ms per question for the whole term analysis (word_terms): cold lru caches, then warm.

    Cold is measured twice (caches cleared before each) and the second kept, so that one-off loading
    of simplemma's or spaCy's data is not counted; what remains is the cost of words not seen before.
    """
    from kumpel_knowledge.search import german

    runs = []
    for cold in (True, True, False):
        if cold:
            german.compound_parts.cache_clear()
            if hasattr(german.lemmas, "cache_clear"):
                german.lemmas.cache_clear()
        started = time.perf_counter()
        for q in questions:
            german.word_terms(q)
        runs.append((time.perf_counter() - started) * 1000 / len(questions))
    return runs[1], runs[2]


def run_search(args: argparse.Namespace) -> int:
    import search_quality as sq  # sibling module in bench/ (the script's own directory)

    from kumpel_knowledge.search import HybridSearch, engine, german
    from kumpel_knowledge.search import calibration as calibration_mod

    _ORIGINAL.update(
        lemmas=german.lemmas,
        _simplemma=german._simplemma,  # noqa: SLF001
        word_terms=german.word_terms,
    )
    assert engine.word_terms is german.word_terms
    docs = sq.load_seed_docs()
    questions = sq.load_questions(sq.QUESTIONS)
    shipped = calibration_mod.load()
    hybrid = bool(args.model) and EMBEDDING_CACHE.is_file()
    modes = ("lexical", "hybrid") if hybrid else ("lexical",)
    if args.model and not hybrid:
        print(f"no {EMBEDDING_CACHE}: lexical only (see the docstring for the hybrid run)")
    rows_out = []
    timings = {}
    for variant in args.variants:
        _install_variant(variant)
        # warm the spaCy/simplemma data outside the timing
        german.word_terms("Wie melde ich meinen Hund an?")
        timings[variant] = _time_terms([q.text for q in questions])
        search = HybridSearch(args.model, mode="hybrid") if hybrid else HybridSearch(mode="lexical")
        if hybrid:
            search.cache_query_embeddings = True
            search.encoder.load_cache(EMBEDDING_CACHE)
        search.rebuild(docs)
        rows = sq.collect_signals(search, questions)
        by_split = {s: [r for r in rows if r.question.split == s] for s in ("dev", "test")}
        for mode in modes:
            cals = {"shipped": shipped[mode]}
            if not args.no_fit:
                cals["refit-dev"] = sq.fit_mode(search, sq.as_mode(by_split["dev"], mode), mode)
            for cal_name, cal in cals.items():
                for split in ("dev", "test"):
                    m = sq.evaluate(search, sq.as_mode(by_split[split], mode), cal)
                    rows_out.append((variant, mode, cal_name, split, m))
        print(f"  {variant}: done", file=sys.stderr)
    _install_variant("current")

    print(
        f"seed KB {len(docs)} entries; dev {sum(q.split == 'dev' for q in questions)}, "
        f"test {sum(q.split == 'test' for q in questions)} questions; no type filter (topic auto)"
    )
    header = (
        f"{'variant':12} {'mode':7} {'calib.':9} {'split':5} {'top-1':>6} {'top-3':>6} "
        f"{'conf.wrong':>10} {'answer':>6} {'oos->unk':>8}"
    )
    print(header)
    print("-" * len(header))
    for variant, mode, cal_name, split, m in sorted(
        rows_out, key=lambda r: (r[1], r[2], r[3], SEARCH_VARIANTS.index(r[0]))
    ):
        print(
            f"{variant:12} {mode:7} {cal_name:9} {split:5} {m['top1']:6.3f} {m['top3']:6.3f} "
            f"{m['confident_wrong']:10.3f} {m['answered']:6.3f} {m['oos_unknown']:8.3f}"
        )
    print("\nterm analysis (german.word_terms) per question, ms: cold caches / warm")
    for variant, (cold, warm) in timings.items():
        print(f"  {variant:12} {cold:7.3f} / {warm:7.3f}")
    return 0


# ================================================================ 2. scrubber
# (text, personal data that must go, neutral parts whose removal is neither right nor wrong, category)
# Personal data: a person's name, a street with house number (the citizen's or anyone's),
# phone numbers and e-mail addresses. A street without a number, a city, a postcode alone,
# titles (Dr.) and the prepositions of "Am Marktplatz 3" are neutral.
# The set lives in bench/data/scrub_dev.yml (the dev split of bench/scrub_quality.py, which also has
# a held-out test split); it was written before any scrubber was run on it.
SCRUB_DEV = ROOT / "bench" / "data" / "scrub_dev.yml"


def _load_scrub_set() -> list[tuple[str, list[str], list[str], str]]:
    import yaml

    items = yaml.safe_load(SCRUB_DEV.read_text(encoding="utf-8"))["items"]
    return [(i["text"], i.get("personal", []), i.get("neutral", []), i["category"]) for i in items]


SCRUB_SET: list[tuple[str, list[str], list[str], str]] = _load_scrub_set()

_UNIT = re.compile(r"[^\W_]+")
_PLACEHOLDER = re.compile(r"\[(?:Name|Adresse|E-Mail|IBAN|Nummer|Link)\]")

# ---- the EntityRuler alternative (written before the first run; see the report for changes)
_NAME_STOP = sorted(
    set(
        """
    sie ihn ihm das dies es der die den dem des ein eine einen im in am an auf aus bei mit von vom zu zum zur
    und oder aber nicht nur auch so gut neu hier da dort noch schon gerade jetzt leider eigentlich
    falsch richtig herzlich willkommen rentner rentnerin student studentin schüler schülerin mutter vater
    ich du er wir ihr mein meine dein unser sehr froh sicher umgezogen krank arbeitslos alleinerziehend
    """.split()
    )
)
_WEEKDAYS_MONTHS = sorted(
    set(
        """montag dienstag mittwoch donnerstag freitag samstag sonntag januar februar märz april
    mai juni juli august september oktober november dezember uhr""".split()
    )
)
_STREET_SUFFIX = r"(?i)^[\wäöüß-]*(?:straße|strasse|str|weg|platz|allee|ring|wall|gasse|damm|ufer|markt|pfad|chaussee|hof|steg|kamp)\.?$"
_TITLE_NAME = {"TEXT": {"REGEX": r"^[A-ZÄÖÜÀ-ÖØ-ÞŁŚŻŹĆŃ][\w'’-]*$"}, "LOWER": {"NOT_IN": _NAME_STOP}}
_ANY_NAME = {"TEXT": {"REGEX": r"^[^\W\d_][\w'’-]*$"}, "LOWER": {"NOT_IN": _NAME_STOP}}
_PARTICLE = {"LOWER": {"IN": ["von", "van", "de", "der", "den", "zu", "di", "da", "el", "al", "ter"]}, "OP": "*"}
_HOUSE_NO = {"TEXT": {"REGEX": r"^\d{1,4}[a-zA-Z]?$"}}
_HOUSE_LETTER = {"TEXT": {"REGEX": r"^[a-hA-H]$"}, "OP": "?"}
_ADVERB = {"LOWER": {"IN": ["übrigens", "uebrigens", "auch", "eigentlich", "also"]}, "OP": "?"}


def _seq(*words: str) -> list[dict]:
    return [{"LOWER": w} for w in words]


# Words that stay in front of a removed name or address ("Frau [Name]", "wohne Am [Adresse]").
_KEEP_IN_FRONT = frozenset(
    """ich heiße heisse heißt heisst mein name ist : bin hier schreibt frau herr familie klingel
    gruß grüße , nachbar nachbarin übrigens uebrigens auch eigentlich also die der dr dr. prof prof. wohne wohnen wohnt
    adresse anschrift wohnort haus am im an in auf""".split()
)


def _ruler_patterns(version: int = 2) -> list[dict]:
    """Token patterns. Version 1 is the first run exactly as written before any result was seen;
    version 2 fixes four bugs that run showed (see RULER_V2_FIXES); both were scored on the same set."""
    patterns: list[dict] = []
    strong = [
        _seq("ich", "heiße"),
        _seq("ich", "heisse"),
        _seq("mein", "name", "ist"),
        _seq("name", ":"),
        _seq("mein", "name", ":"),
        _seq("heiße"),
        _seq("heisse"),
    ]
    weak = [
        _seq("ich", "bin"),
        _seq("hier", "ist"),
        _seq("hier", "schreibt"),
        _seq("heißt"),
        _seq("heisst"),
        _seq("frau"),
        _seq("herr"),
        _seq("familie"),
        _seq("klingel"),
        _seq("gruß"),
        _seq("grüße"),
        _seq("grüße", ","),
        _seq("gruß", ","),
        _seq("nachbar"),
        _seq("nachbarin"),
    ]
    title = {"LOWER": {"IN": ["dr", "dr.", "prof", "prof."]}, "OP": "?"}
    title_name = (
        _TITLE_NAME if version == 1 else {**_TITLE_NAME, "LOWER": {"NOT_IN": _NAME_STOP + ["frau", "herr", "familie"]}}
    )
    house_no = (
        _HOUSE_NO if version == 1 else {"TEXT": {"REGEX": r"^\d{1,4}[a-zA-Z]?\.?$"}}
    )  # "Marktplatz 3." is one token
    for cue in strong:  # after a strong cue a lower-case name counts too ("ich heisse jürgen meier")
        for n in (1, 2, 3):
            patterns.append(
                {
                    "label": "NAME",
                    "id": f"keep{len(cue)}",
                    "pattern": cue + [_ADVERB, title] + [_ANY_NAME, _PARTICLE] * (n - 1) + [_ANY_NAME],
                }
            )
    for cue in weak:  # elsewhere only capitalised words ("Ich bin neu" is no name)
        for n in (1, 2, 3):
            patterns.append(
                {
                    "label": "NAME",
                    "id": f"keep{len(cue)}",
                    "pattern": cue
                    + [{"LOWER": {"IN": ["die", "der", "frau", "herr", "familie"]}, "OP": "?"}, title]
                    + [title_name, _PARTICLE] * (n - 1)
                    + [title_name],
                }
            )
    suffix_re = (
        _STREET_SUFFIX if version == 1 else _STREET_SUFFIX.replace(r"^[\wäöüß-]*", r"^[\wäöüß-]{2,}")
    )  # not "Platz" alone
    suffix_street = {"TEXT": {"REGEX": suffix_re}}
    patterns.append(
        {"label": "ADDR", "id": "keep0", "pattern": [suffix_street, {"ORTH": ".", "OP": "?"}, house_no, _HOUSE_LETTER]}
    )
    # two-word streets: "Uerdinger Straße 44", "Kölner Str. 120"
    adjective = (
        {"TEXT": {"REGEX": r"^[A-ZÄÖÜa-zäöü][\wäöüß-]*er$"}}
        if version == 1
        else {"TEXT": {"REGEX": r"^[A-ZÄÖÜ][\wäöüß-]*er$"}, "LOWER": {"NOT_IN": _NAME_STOP}}
    )  # not "der"
    patterns.append(
        {
            "label": "ADDR",
            "id": "keep0",
            "pattern": [
                adjective,
                {"TEXT": {"REGEX": _STREET_SUFFIX}},
                {"ORTH": ".", "OP": "?"},
                house_no,
                _HOUSE_LETTER,
            ],
        }
    )
    # no suffix ("Im Brahm 21", "am Stadtgarten 5"): only after "wohne"/"Adresse" or "Haus", weekdays excluded
    for cue in (["wohne"], ["wohnen"], ["wohnt"], ["adresse"], ["anschrift"], ["wohnort"], ["haus"]):
        for prep in ([], ["am"], ["im"], ["an", "der"], ["in", "der"], ["auf", "der"], ["ist"], [":"]):
            keep = len(cue) + len(prep)
            patterns.append(
                {
                    "label": "ADDR",
                    "id": f"keep{keep}",
                    "pattern": _seq(*cue, *prep)
                    + [
                        {
                            "TEXT": {"REGEX": r"^[A-ZÄÖÜa-zäöü][\wäöüß.-]*$"},
                            "LOWER": {"NOT_IN": _WEEKDAYS_MONTHS + _NAME_STOP},
                        },
                        house_no,
                        _HOUSE_LETTER,
                    ],
                }
            )
    return patterns


RULER_V2_FIXES = (
    "two-word street: the '-er' word must be capitalised and no stop word (v1 took 'der' of 'in der Lindenstraße 17')",
    "'Platz'/'Straße' alone + number is no street ('Platz 2 beim Stadtlauf'); house number '3.' is one spaCy token",
    "cue, adverb, article and title words in front of a name stay ('Frau [Name]', 'heiße übrigens [Name]')",
    "'Frau'/'Herr'/'Familie' are no name words",
)


@lru_cache(maxsize=2)
def ruler_nlp(version: int = 2):  # type: ignore[no-untyped-def]
    import spacy

    nlp = spacy.blank("de")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(_ruler_patterns(version))
    return nlp


def _regex_pre(text: str) -> str:
    from kumpel_knowledge.answers import scrub as scrub_mod

    for pattern, placeholder in scrub_mod._PATTERNS[:4]:  # noqa: SLF001 - e-mail, IBAN, number, link
        text = pattern.sub(placeholder, text)
    return text


def scrub_spacy(text: str, version: int = 2) -> str:
    """kumpel_knowledge.scrub's e-mail/IBAN/number/link regexes, then the EntityRuler for names and addresses."""
    text = _regex_pre(text)
    doc = ruler_nlp(version)(text)
    pieces, last = [], 0
    for ent in doc.ents:
        if version == 1:
            keep = int(ent.ent_id_[4:]) if ent.ent_id_.startswith("keep") else 0
        else:
            keep = 0
            while keep < len(ent) and ent[keep].lower_ in _KEEP_IN_FRONT:
                keep += 1
        span = ent[keep:]
        if not len(span):
            continue
        pieces.append(text[last : span.start_char])
        pieces.append("[Name]" if ent.label_ == "NAME" else "[Adresse]")
        last = span.end_char
    pieces.append(text[last:])
    return "".join(pieces).strip()


# ---- the same rules as ruler v2, as plain regular expressions (no spaCy): does spaCy or do the rules win?
def _alt(words) -> str:  # type: ignore[no-untyped-def]
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_RX_STOP = rf"(?!(?i:{_alt(_NAME_STOP + ['frau', 'herr', 'familie'])})(?![\w'’-]))"
_RX_ANY = rf"{_RX_STOP}[^\W\d_][\w'’-]*"
_RX_TITLE = rf"{_RX_STOP}[A-ZÄÖÜÀ-ÖØ-ÞŁŚŻŹĆŃ][\w'’-]*"
_RX_PART = r"(?:\s+(?i:von|van|de|der|den|zu|di|da|el|al|ter))*"
_RX_FRONT = r"(?:\s+(?i:übrigens|uebrigens|auch|eigentlich|also))?(?:\s+(?i:dr|prof)\.?)?"
_RX_STRONG = r"(?i:\b(?:ich\s+hei(?:ß|ss)e|mein\s+name\s+ist|(?:mein\s+)?name\s*:|hei(?:ß|ss)e))"
_RX_WEAK = (
    r"(?i:\b(?:ich\s+bin|hier\s+ist|hier\s+schreibt|hei(?:ß|ss)t|frau|herr|familie|klingel|"
    r"gr(?:u|ü|ue)(?:ß|ss)e?\s*,?|nachbar(?:in)?))(?:\s+(?i:die|der|frau|herr|familie))?"
)
_RX_NUMBER = r"\d{1,4}(?:\s?[a-hA-H])?(?![\w])"
_RX_SUFFIX = r"(?:straße|strasse|str\.?|weg|platz|allee|ring|wall|gasse|damm|ufer|markt|pfad|chaussee|hof|steg|kamp)"
_RX_WEEK = _alt(_WEEKDAYS_MONTHS + _NAME_STOP)
REGEX_PORT: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"(?i:\b[^\W\d_][\w-]+{_RX_SUFFIX})\s*{_RX_NUMBER}"), "[Adresse]"),
    (re.compile(rf"\b(?!(?i:{_alt(_NAME_STOP)})\b)[A-ZÄÖÜ][\w-]*er\s+(?i:{_RX_SUFFIX})\s*{_RX_NUMBER}"), "[Adresse]"),
    (
        re.compile(
            rf"(?i:\b(?:wohne|wohnen|wohnt|adresse|anschrift|wohnort|haus)(?:\s*:|\s+ist|\s+am|\s+im|\s+an\s+der|\s+in\s+der|\s+auf\s+der)?\s+)"
            rf"(?!(?i:{_RX_WEEK})\b)[^\W\d_][\w.-]*\s+{_RX_NUMBER}"
        ),
        "[Adresse]",
    ),
    (re.compile(rf"({_RX_STRONG}{_RX_FRONT}\s+){_RX_ANY}(?:{_RX_PART}\s+{_RX_ANY}){{0,2}}"), r"\1[Name]"),
    (re.compile(rf"({_RX_WEAK}{_RX_FRONT}\s+){_RX_TITLE}(?:{_RX_PART}\s+{_RX_TITLE}){{0,2}}"), r"\1[Name]"),
)


def scrub_regex_port(text: str) -> str:
    text = _regex_pre(text)
    for i, (pattern, placeholder) in enumerate(REGEX_PORT):
        if i == 2:  # keep the cue words of "wohne Am Marktplatz 3"
            text = pattern.sub(
                lambda m: m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())] + _cued(m.group(0)), text
            )
        else:
            text = pattern.sub(placeholder, text)
    return text.strip()


def _cued(matched: str) -> str:
    words_ = matched.split()
    keep = 0
    while keep < len(words_) and words_[keep].lower().rstrip(":") in _KEEP_IN_FRONT | {""}:
        keep += 1
    return " ".join(words_[:keep] + ["[Adresse]"])


def _score_scrubber(fn) -> dict:  # type: ignore[no-untyped-def]
    tp = fn_ = fp = items_clean = items_false = 0
    per_cat: dict[str, list[int]] = {}
    misses, false = [], []
    for text, gold, neutral, cat in SCRUB_SET:
        out = fn(text)
        removed = Counter(_UNIT.findall(text)) - Counter(_UNIT.findall(_PLACEHOLDER.sub(" ", out)))
        g = Counter(u for s in gold for u in _UNIT.findall(s))
        n = Counter(u for s in neutral for u in _UNIT.findall(s))
        hit = removed & g
        wrong = (removed - g) - n
        tp += sum(hit.values())
        fn_ += sum((g - hit).values())
        fp += sum(wrong.values())
        c = per_cat.setdefault(cat, [0, 0, 0])
        c[0] += sum(hit.values())
        c[1] += sum(g.values())
        c[2] += sum(wrong.values())
        if g and not (g - hit):
            items_clean += 1
        if g - hit:
            misses.append((text, out))
        if wrong:
            items_false += 1
            false.append((text, out))
    return {
        "tp": tp,
        "fn": fn_,
        "fp": fp,
        "recall": tp / max(tp + fn_, 1),
        "precision": tp / max(tp + fp, 1),
        "items_clean": items_clean,
        "items_with_pd": sum(1 for _, g, _, _ in SCRUB_SET if g),
        "items_false": items_false,
        "per_cat": per_cat,
        "misses": misses,
        "false": false,
    }


def run_scrub(args: argparse.Namespace) -> int:
    from kumpel_knowledge.answers.scrub import scrub

    def ruler_v1(text: str) -> str:
        return scrub_spacy(text, version=1)

    scrub_spacy("warm up")
    ruler_v1("warm up")
    candidates = {
        "regex (scrub.py)": scrub,
        "EntityRuler v1": ruler_v1,
        "EntityRuler v2": scrub_spacy,
        "regex port of v2": scrub_regex_port,
    }
    results = {name: (_score_scrubber(fn), fn) for name, fn in candidates.items()}
    print(
        f"{len(SCRUB_SET)} messages, {sum(1 for _, g, _, _ in SCRUB_SET if g)} with personal data, "
        f"{sum(len(_UNIT.findall(s)) for _, g, _, _ in SCRUB_SET for s in g)} personal word units"
    )
    header = f"{'scrubber':20} {'recall':>6} {'prec.':>6} {'removed ok':>10} {'missed':>6} {'false rem.':>10} {'msgs fully clean':>16} {'msgs w/ false rem.':>18} {'ms/msg':>7}"
    print(header)
    print("-" * len(header))
    for name, (r, fn) in results.items():
        started = time.perf_counter()
        for _ in range(20):
            for text, *_ in SCRUB_SET:
                fn(text)
        ms = (time.perf_counter() - started) * 1000 / (20 * len(SCRUB_SET))
        print(
            f"{name:20} {r['recall']:6.3f} {r['precision']:6.3f} {r['tp']:10d} {r['fn']:6d} {r['fp']:10d} "
            f"{r['items_clean']:9d}/{r['items_with_pd']:<6d} {r['items_false']:18d} {ms:7.3f}"
        )
    print("EntityRuler v1: first run, as written before any result; v2 fixes (scored on the same set, so optimistic):")
    for fix in RULER_V2_FIXES:
        print(f"  - {fix}")
    print("regex port of v2: the v2 rules written as plain regular expressions, no spaCy")
    cats = sorted({c for _, _, _, c in SCRUB_SET})
    print("\nrecall per category (removed/gold units; false removals):")
    for name, (r, _) in results.items():
        print(
            f"  {name:20} "
            + "  ".join(f"{c} {r['per_cat'][c][0]}/{r['per_cat'][c][1]} fp{r['per_cat'][c][2]}" for c in cats)
        )
    if args.verbose:
        for name, (r, _) in results.items():
            print(f"\n{name}: misses")
            for text, out in r["misses"]:
                print(f"   {text!r}\n-> {out!r}")
            print(f"{name}: false removals")
            for text, out in r["false"]:
                print(f"   {text!r}\n-> {out!r}")
    return 0


# ================================================================ 3. form engine
TODAY = date(2025, 1, 15)
# (message, field the bot asked for, expected values of the fields the message gives)
FORMS_SET: list[tuple[str, str, dict[str, str]]] = [
    (
        "Ich heiße Erika Mustermann, wohne in der Dionysiusstraße 12a, 47798 Krefeld",
        "owner_name",
        {"owner_name": "Erika Mustermann", "owner_street": "Dionysiusstraße 12a", "owner_postcode": "47798"},
    ),
    (
        "Mein Hund heißt Bello, er ist ein Labrador und wurde am 3. März 2022 geboren",
        "dog_name",
        {"dog_name": "Bello", "dog_breed": "Labrador", "dog_birth_date": "2022-03-03"},
    ),
    ("Sie heißt Luna, Hündin, geb. 01.02.2023", "dog_name", {"dog_name": "Luna", "dog_birth_date": "2023-02-01"}),
    ("Unsere Hündin hieß im Tierheim Frieda", "dog_name", {"dog_name": "Frieda"}),
    ("Die Rasse ist Beagle", "dog_breed", {"dog_breed": "Beagle"}),
    ("Gekauft haben wir ihn am 15.06.2024", "dog_joined_date", {"dog_joined_date": "2024-06-15"}),
    ("Wir haben ihn am 15.06.2024 gekauft", "dog_chip", {"dog_joined_date": "2024-06-15"}),
    ("Wir kauften ihn am 2.4.2024 beim Züchter", "dog_chip", {"dog_joined_date": "2024-04-02"}),
    (
        "Geburtsdatum: 12.12.2021, Chipnummer 276098100123456",
        "dog_birth_date",
        {"dog_birth_date": "2021-12-12", "dog_chip": "276098100123456"},
    ),
    ("Der Chip hat die Nummer 276 098 100 123 456", "dog_chip", {"dog_chip": "276098100123456"}),
    (
        "Ich wohne Ostwall 104 in 47798 Krefeld",
        "owner_street",
        {"owner_street": "Ostwall 104", "owner_postcode": "47798"},
    ),
    (
        "Anschrift: Uerdinger Straße 44b, 47799 Krefeld",
        "owner_street",
        {"owner_street": "Uerdinger Straße 44b", "owner_postcode": "47799"},
    ),
    ("Mein Name ist Ali Yılmaz", "owner_name", {"owner_name": "Ali Yılmaz"}),
    ("ich heisse jürgen meier", "owner_name", {"owner_name": "Jürgen Meier"}),
    (
        "Name ist Karl-Heinz Schulze-Brink, ich wohne Am Marktplatz 3",
        "owner_name",
        {"owner_name": "Karl-Heinz Schulze-Brink", "owner_street": "Am Marktplatz 3"},
    ),
    ("Er ist ein Dackel und heißt Waldi", "dog_name", {"dog_breed": "Dackel", "dog_name": "Waldi"}),
    ("Geboren ist sie am 7.7.2019", "dog_birth_date", {"dog_birth_date": "2019-07-07"}),
    ("Sie wurde am 7.7.2019 geboren", "dog_birth_date", {"dog_birth_date": "2019-07-07"}),
    ("Seit dem 01.01.2024 lebt er bei uns", "dog_joined_date", {"dog_joined_date": "2024-01-01"}),
    (
        "Ich heiße Petra Schneider und mein Rüde heißt Balu",
        "owner_name",
        {"owner_name": "Petra Schneider", "dog_name": "Balu"},
    ),
    ("Mein Hund hört auf den Namen Rex", "dog_name", {"dog_name": "Rex"}),
    ("Die Hündin heisst Nala, ist ein Mischling", "dog_name", {"dog_name": "Nala", "dog_breed": "Mischling"}),
    ("Wir adoptierten sie am 03.08.2023 aus dem Tierheim", "dog_chip", {"dog_joined_date": "2023-08-03"}),
    ("Übernommen habe ich ihn am 10.10.2023", "dog_joined_date", {"dog_joined_date": "2023-10-10"}),
    ("Ich übernahm ihn am 10.10.2023 von meiner Mutter", "dog_chip", {"dog_joined_date": "2023-10-10"}),
    (
        "Mein Hund heisst Bruno und ist am 2.2.2022 geboren",
        "dog_name",
        {"dog_name": "Bruno", "dog_birth_date": "2022-02-02"},
    ),
    ("Meine Hündinnen heißen Bella", "dog_name", {"dog_name": "Bella"}),
    (
        "Der Rüde wurde geboren am 24.12.2020 und ist ein Pudel",
        "dog_birth_date",
        {"dog_birth_date": "2020-12-24", "dog_breed": "Pudel"},
    ),
    (
        "Eingezogen ist er am 1.9.2024, gekauft hatten wir ihn schon am 20.8.2024",
        "dog_joined_date",
        {"dog_joined_date": "2024-09-01"},
    ),
    ("Seine Rasse: Border Collie", "dog_breed", {"dog_breed": "Border Collie"}),
]


def _lemma_cue_spec(spec, text: str):  # type: ignore[no-untyped-def]
    """The spec with each field's cues extended by the message's own word forms whose spaCy lookup
    lemmas equal the cue's ("Wir kauften ihn" -> cue "kauften" for the cue "gekauft")."""
    nlp = spacy_nlp(extended=True)
    doc = nlp(text)
    lemmas = [t.lemma_.lower() for t in doc]
    fields = []
    for f in spec.fields:
        extra = []
        for cue in f.cues:
            cue_lemmas = list(_cue_lemmas(cue))
            if not cue_lemmas:
                continue
            k = len(cue_lemmas)
            for i in range(len(doc) - k + 1):
                if lemmas[i : i + k] == cue_lemmas:
                    surface = doc[i : i + k].text.lower()
                    if surface not in f.cues and surface not in extra:
                        extra.append(surface)
        fields.append(replace(f, cues=tuple(f.cues) + tuple(extra)) if extra else f)
    return replace(spec, fields=tuple(fields) if isinstance(spec.fields, tuple) else fields)


@cache
def _cue_lemmas(cue: str) -> tuple[str, ...]:
    return tuple(t.lemma_.lower() for t in spacy_nlp(extended=True)(cue) if not t.is_punct)


def _norm(value: object) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


def run_forms(args: argparse.Namespace) -> int:
    from actions.forms import engine
    from kumpel_forms.spec import load_spec

    spec = load_spec("dog_tax_registration")
    consent = {"privacy_consent": True}
    variants = {"current": lambda text: spec, "spaCy lemma cues": lambda text: _lemma_cue_spec(spec, text)}
    _lemma_cue_spec(spec, "warm up")  # builds the extended lemma table (seconds) outside the timing
    print(
        f"{len(FORMS_SET)} messages, {sum(len(e) for _, _, e in FORMS_SET)} expected values; "
        f"engine.extract only (the pending field's leftover is step()'s job and not counted)"
    )
    header = f"{'extractor':18} {'right':>5} {'wrong':>5} {'missing':>7} {'spurious':>8} {'ms/msg':>7}"
    print(header)
    print("-" * len(header))
    details = {}
    for name, spec_for in variants.items():
        right = wrong = missing = spurious = 0
        lines = []
        started = time.perf_counter()
        for text, pending, expected in FORMS_SET:
            found = engine.extract(spec_for(text), text, pending, dict(consent), TODAY)
            for fname, value in expected.items():
                got = found.values.get(fname)
                if got is None:
                    missing += 1
                    lines.append(f"   missing {fname}={value!r} in {text!r}")
                elif _norm(got) == _norm(value):
                    right += 1
                else:
                    wrong += 1
                    lines.append(f"   wrong   {fname}={got!r} (want {value!r}) in {text!r}")
            for fname, got in found.values.items():
                if fname not in expected:
                    spurious += 1
                    lines.append(f"   spurious {fname}={got!r} in {text!r}")
        ms = (time.perf_counter() - started) * 1000 / len(FORMS_SET)
        details[name] = lines
        print(f"{name:18} {right:5d} {wrong:5d} {missing:7d} {spurious:8d} {ms:7.3f}")
    if args.verbose:
        for name, lines in details.items():
            print(f"\n{name}:")
            print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="place", required=True)
    p = sub.add_parser("search", help="lexical/hybrid search: simplemma vs spaCy lemmas")
    p.add_argument("--variants", nargs="+", choices=SEARCH_VARIANTS, default=list(SEARCH_VARIANTS))
    p.add_argument(
        "--model", default=None, help="e5 model path as used for results/search-embeddings.npz: adds hybrid mode"
    )
    p.add_argument("--no-fit", action="store_true", help="only the shipped calibration (no refit on dev)")
    p = sub.add_parser("scrub", help="scrubber: regexes vs EntityRuler")
    p.add_argument("-v", "--verbose", action="store_true", help="list misses and false removals")
    p = sub.add_parser("forms", help="form engine extract: cue words vs spaCy lemma cues")
    p.add_argument("-v", "--verbose", action="store_true", help="list wrong, missing and spurious values")
    args = parser.parse_args(argv)
    return {"search": run_search, "scrub": run_scrub, "forms": run_forms}[args.place](args)


if __name__ == "__main__":
    sys.exit(main())
