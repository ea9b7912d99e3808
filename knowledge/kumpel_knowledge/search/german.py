"""German text analysis for lexical matching: folding, lemmas, compounds, n-grams.

Citizens write "Buergerbuero", "hundesteuer", "Anwohnerparkausweis", "perso": the
lexical side turns every word into a small set of comparable terms (folded surface
form, folded lemmas, folded compound parts) and every short text into character
n-grams, which absorb typos. simplemma and CharSplit load their data on first use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

from ..core.text import fold as fold  # re-exported: the search folds words through this module

_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
_UNFOLD = (("ae", "ä"), ("oe", "ö"), ("ue", "ü"))

# Function words and question phrasing that say nothing about the subject ("Wie kann ich ...").
STOP_WORDS = frozenset(
    """
    a ab aber alle allem allen aller alles als also am an ander andere anderen auch auf aus bei beim bin
    bis bitte bist da dabei dadurch daher dafuer dagegen damit dann darf darauf darf daran darueber das
    dass dein deine deinem deinen deiner dem den denn der des dessen deshalb die dies diese diesem diesen
    dieser dieses doch dort du durch eigentlich ein eine einem einen einer eines einfach er es etwa etwas
    euch euer eure fuer gibt gib gern gerne geht ging hab habe haben hallo hat hatte hier hin hinter
    ich ihm ihn ihnen ihr ihre ihrem ihren ihrer im immer in ins irgendwie ist ja jemand jetzt kann kannst
    kein keine keinem keinen keiner koennen koennte koenntest man manchmal mehr mein meine meinem meinen
    meiner meines mich mir mit moechte moechten moechtest muss musst muessen nach noch nun nur ob oder
    ohne sehr sein seine seinem seinen seiner sich sie sind so soll sollen sollte sonst stimmt ueber um
    und uns unser unsere unter viel vom von vor wann war waren warum was weil welche welchen welcher
    welches wem wen wenn wer werde werden wie wieder will wir wird wo woher wohin wollen wuerde wuerden
    zu zum zur guten tag moin servus hi hey danke weiss weisst eigentlich mal grad gerade halt eben
    brauche brauchen brauchst mache machen machst tun tue bekomme bekommen bekommt kriege kriegen
    """.split()
)


def words(text: str) -> list[str]:
    """Word tokens (letters or digit runs), original spelling."""
    return _WORD.findall(unicodedata.normalize("NFC", text))


_UMLAUT = re.compile(r"[äöüÄÖÜß]")
_SPELLED_OUT = re.compile(r"ae|oe|ue|ss", re.IGNORECASE)


def umlaut_spellings(text: str) -> dict[str, str]:
    """The words of ``text`` written with umlauts or ß, keyed by their folded form
    ("einbuergerung" -> "Einbürgerung"): how the knowledge base spells what citizens may type without."""
    return {fold(word): word for word in words(text) if _UMLAUT.search(word)}


def respell(text: str, spellings: Mapping[str, str]) -> str:
    """``text`` with each word typed without umlauts written as the knowledge base writes it.

    Folding already matches "Einbuergerung" to "Einbürgerung" word for word, but the encoder reads
    "Einbuergerung" as a different, rarer token sequence, and the compound splitter, which knows
    German as it is spelled, cuts it into nonsense ("buergerung"). Only words the knowledge base
    itself writes with an umlaut or ß are changed, so "Steuer" or "neue" stay as they are.
    """
    if not spellings:
        return text

    def written(match: re.Match[str]) -> str:
        word = match.group()
        if _UMLAUT.search(word) or not _SPELLED_OUT.search(word):
            return word
        return spellings.get(fold(word), word)

    return _WORD.sub(written, unicodedata.normalize("NFC", text))


@lru_cache(maxsize=1)
def _simplemma():  # type: ignore[no-untyped-def]
    import simplemma

    return simplemma


@lru_cache(maxsize=1)
def _char_split():  # type: ignore[no-untyped-def]
    from compound_split import char_split

    return char_split


@lru_cache(maxsize=200_000)
def lemmas(word: str) -> frozenset[str]:
    """Folded lemmas of one word, trying the noun and the lower-case reading.

    "Steuern" is a noun (Steuer) and "steuern" a verb: both readings are kept, because
    citizens do not capitalise reliably. A word typed without umlauts ("Bueros") is also
    tried with them, but only when that gives a word simplemma knows.
    """
    sm = _simplemma()
    candidates = {word.lower(), word[:1].upper() + word[1:].lower()}
    lower = word.lower()
    if any(pair in lower for pair, _ in _UNFOLD) and not sm.is_known(lower, lang="de"):
        unfolded = lower
        for pair, umlaut in _UNFOLD:
            unfolded = unfolded.replace(pair, umlaut)
        for variant in (unfolded, unfolded[:1].upper() + unfolded[1:]):
            if sm.is_known(variant, lang="de"):
                candidates.add(variant)
    return frozenset(fold(sm.lemmatize(c, lang="de")) for c in candidates)


@lru_cache(maxsize=200_000)
def compound_parts(word: str, depth: int = 2) -> tuple[str, ...]:
    """Folded parts of a German compound ("Anwohnerparkausweis" -> anwohner, parkausweis, ...).

    CharSplit's best split is accepted when both halves are real-looking (>= 3 letters)
    and its score is not hopeless; long halves are split again. A linking "s"
    (Führungs|zeugnis) is dropped as a second variant.
    """
    if len(word) < 8 or depth == 0:
        return ()
    splits = _char_split().split_compound(word[:1].upper() + word[1:].lower())
    if not splits:
        return ()
    score, left, right = splits[0]
    if score < -0.9 or len(left) < 3 or len(right) < 3:
        return ()
    parts = [fold(left), fold(right)]
    if parts[0].endswith("s") and len(parts[0]) > 4:
        parts.append(parts[0][:-1])
    for half in (left, right):
        parts.extend(compound_parts(half, depth - 1))
    return tuple(dict.fromkeys(parts))


# Separable verb particles: "Wie melde ich meinen Hund an?" means "anmelden".
PARTICLES = frozenset("an ab auf aus ein um zurueck weg vor nach mit los zu".split())
_CLAUSE_END = re.compile(r"[.!?;,]+|$")


def separable_verbs(text: str) -> list[str]:
    """Folded infinitives formed by a clause-final particle and a verb of the clause.

    "melde ... an" -> "anmelden"; only combinations simplemma knows as words are kept.
    """
    sm = _simplemma()
    found: list[str] = []
    for clause in _CLAUSE_END.split(text):
        clause_words = words(clause)
        if len(clause_words) < 2 or fold(clause_words[-1]) not in PARTICLES:
            continue
        particle = clause_words[-1].lower()
        for word in clause_words[:-1]:
            lemma = sm.lemmatize(word.lower(), lang="de")
            candidate = particle + lemma
            if len(lemma) > 2 and candidate != lemma and sm.is_known(candidate, lang="de"):
                found.append(fold(candidate))
    return found


def word_terms(text: str, *, with_compounds: bool = True) -> list[str]:
    """Terms for word-level matching; stop words dropped, one list entry per occurrence."""
    terms: list[str] = separable_verbs(text)
    for word in words(text):
        folded = fold(word)
        if folded in STOP_WORDS or (len(folded) < 2 and not folded.isdigit()):
            continue
        found = {folded}
        if not folded.isdigit():
            found |= lemmas(word)
            if with_compounds:
                for part in compound_parts(word):
                    found.add(part)
                    found |= lemmas(part)
        terms.extend(sorted(t for t in found if t not in STOP_WORDS and len(t) >= 2))
    return terms


# Question phrasing that asks for a place or a person rather than a procedure: "Wer ist zuständig",
# "Wo finde ich", "Welches Amt", "Telefonnummer", "geöffnet". Matched on folded text. Such a
# question is most likely answered by an office entry, even when its subject words name a service
# ("Wen frage ich zu meiner Bewerbung?"); without such phrasing, the service is the likelier answer
# ("Wie lange dauert eine Baugenehmigung?" is not about the building authority's address).
_OFFICE_CUE = re.compile(
    r"\b(?:wer|wen|wem|wo|wohin|welche[sr]?\s+(?:amt|stelle|behoerde|abteilung|buero|dienststelle)"
    r"|zustaendig\w*|ansprech\w*|kontakt\w*|telefon\w*|nummer|adresse|anschrift|e-?mail|mail"
    r"|erreiche\w*|oeffnungszeit\w*|geoeffnet|offen|sprechzeit\w*|sprechstunde\w*)\b"
)


def asks_for_office(text: str) -> bool:
    """Whether the question asks who, where or how to reach someone (see _OFFICE_CUE)."""
    return _OFFICE_CUE.search(fold(text)) is not None


def char_ngrams(text: str, sizes: tuple[int, ...] = (3, 4, 5)) -> list[str]:
    """Character n-grams of each folded content word padded with spaces (typo tolerant)."""
    grams: list[str] = []
    for word in words(text):
        folded = fold(word)
        if folded in STOP_WORDS:
            continue
        padded = f" {folded} "
        for n in sizes:
            if len(padded) < n:
                continue
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams
