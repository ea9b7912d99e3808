"""What a question asks for (fees, documents, hours, contact) and whether it names a subject of its own.

A follow-up such as "Und was kostet das?" or "Und am Samstag?" names no subject: it is about the
entry the conversation is already about.
"""

from __future__ import annotations

import re
from datetime import date

from ..core.text import fold
from .dates import asked_day, clauses
from .types import Topic

# Function words and question phrasing, folded: they never name what a question is about.
STOPWORDS = frozenset(
    fold(w)
    for w in """
    der die das den dem des ein eine einen einem einer eines und oder aber ich du sie er es wir ihr
    mein meine meinen meinem dein deine ihre ihren unser unsere wie wo was wann wer welche welcher
    welches warum ist sind bin bist hat habe haben hast kann koennen kannst muss muessen musst soll
    sollte will moechte moechten wuerde brauche brauchen brauchst gibt geben mir mich mal bitte
    noch auch schon fuer mit von vom zum zur bei beim im in am an auf aus nach ueber unter um zu
    nicht kein keine so da dort hier man sich denn doch ja nein gerne hallo danke was's wieviel
    viel viele heute morgen uebermorgen geoeffnet oeffnungszeiten offen auf zu
    """.split()
)


def tokens(text: str) -> list[str]:
    """Content words, folded (umlauts as ae/oe/ue), without stop words."""
    return [t for t in re.findall(r"[a-z0-9]+", fold(text)) if len(t) > 2 and t not in STOPWORDS]


# Words that say *what* someone wants to know, not *about what*: a question made only of these
# (plus days) is a follow-up about the entry in the conversation's context.
TOPIC_WORDS = frozenset(
    tokens(
        """kostet kosten kostenlos gebuehr gebuehren preis teuer bezahlen zahlen zahlt zahle bezahlt bezahle
        hoch unterlagen dokumente
        mitbringen mitnehmen nachweise papiere oeffnungszeiten geoeffnet offen oeffnet schliesst zeiten
        telefon telefonnummer nummer anrufen email mail adresse anschrift erreichen kontakt zustaendig
        termin online dauert dauer lange frist fristen samstag sonntag montag dienstag mittwoch donnerstag
        freitag wochenende heiligabend silvester feiertag naechste naechsten woche abends frueh spaet
        dafuer dazu dort barrierefrei barrierefreier barrierefreies barrierefreien barrierefreiheit
        rollstuhl rollstuhlgerecht rollator aufzug fahrstuhl rampe stufenlos stufen treppe wickelraum
        wickeltisch kinderwagen"""
    )
)
DAY_WORDS = frozenset(
    tokens(
        """heute morgen uebermorgen gestern heiligabend silvester weihnachten weihnachtstag neujahr ostern
        ostermontag karfreitag pfingsten pfingstmontag fronleichnam allerheiligen feiertag feiertagen
        januar februar maerz april mai juni juli august september oktober november dezember
        vormittag nachmittag mittags abends uhr montags dienstags mittwochs donnerstags freitags samstags"""
    )
)
# When Rasa sends topic "auto", the wording often says what kind of fact is wanted.
_TOPIC_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "opening_hours",
        re.compile(r"oeffnungszeit|geoeffnet|\boffen\b|oeffnet|\bzu\b\W*$|wann .*\b(auf|da)\b|schliesst|sprechzeit"),
    ),
    ("fees", re.compile(r"kost|gebuehr|preis|\bteuer|\beuro\b|\b(be)?zahl(en|t|e)?\b|wie ?viel|wie hoch")),
    ("documents", re.compile(r"unterlagen|dokumente|mitbringen|mitnehmen|nachweis|brauche ich")),
    (
        "contact",
        re.compile(
            r"telefon|nummer|anrufen|e-?mail|\bmail\b|adresse|anschrift|\bwo (ist|finde|sitzt)|erreich|kontakt"
            r"|zustaendig"
        ),
    ),
)


def infer_topic(question: str, today: date) -> Topic:
    """The kind of fact the wording asks for; "auto" when it does not tell."""
    text = fold(question)
    for topic, cue in _TOPIC_CUES:
        if cue.search(text):
            return topic  # type: ignore[return-value]
    # "Und am Samstag?": a day and nothing else is asked about hours.
    asked = asked_day(question, today)
    if (asked.day or asked.error) and not subject_words(question):
        return "opening_hours"
    return "auto"


# "Kann ich ...", "Geht das ...": a clause that asks whether something can be done opens with these.
_CAN_IT_BE_DONE = re.compile(
    r"(und |aber )?(kann|kannst|koennen|koennt|koennte|koennten|geht|gehts|darf|duerfen"
    r"|ist (es|das) (auch )?moeglich)\b"
)
# "Ich brauche bis Freitag einen Ausweis": a day after "bis" is a deadline, not the day to come.
_DEADLINE = re.compile(r"\bbis\b")


def day_asked_for_a_service(question: str, today: date, region: str) -> date | None:
    """The weekday or holiday on which the citizen asks whether a service can be done ("Kann ich
    mich auch samstags anmelden?", "Kann ich den Ausweis an Heiligabend abholen?"): what answers it
    are the responsible office's hours on that day. None for other questions ("Ich brauche bis
    Freitag einen Ausweis, was kann ich machen?"), and for a calendar date, which tells more often when
    something happens ("Ich ziehe am 1.3. um") than when to come.
    """
    parts = clauses(question)
    for index, clause in enumerate(parts):
        # "Ist es möglich, am Samstag ...": the clause that asks and the one after it.
        asking = " ".join(parts[index : index + 2]) if fold(clause).strip().startswith("ist") else clause
        folded = fold(asking).strip()
        if not _CAN_IT_BE_DONE.match(folded) or _DEADLINE.search(folded):
            continue
        asked = asked_day(asking, today, region)
        if asked.kind == "named":
            return asked.day
    return None


# Access for people with disabilities or a pram ("Ist das Bürgerbüro barrierefrei?", "Komme ich mit dem
# Rollstuhl ins Straßenverkehrsamt?", "Hat das Jugendamt einen Wickelraum?"): answered from an office's
# accessibility. Matched on folded text.
_ACCESS = re.compile(
    r"barrierefrei|rollstuhl|rollator|\brolli\b|aufzug|fahrstuhl|\blift\b|rampe|stufenlos|\bstufen\b"
    r"|treppe|wickel|kinderwagen|gehbehindert|behindertengerecht|behinderten-?(wc|toilette|parkpl)"
    r"|\bwc\b|toilette|blindenleit|hoerschleife|induktionsschleife|gebaerdensprach"
)


def asks_about_access(question: str) -> bool:
    """Whether the question asks how accessible a place is (see _ACCESS)."""
    return _ACCESS.search(fold(question)) is not None


def subject_words(question: str) -> str:
    """The question without words about days and kinds of facts: what it is *about*."""
    return " ".join(t for t in tokens(question) if t not in TOPIC_WORDS and t not in DAY_WORDS and not t.isdigit())


# Function words that change what a question means: a second search keeps them.
NEGATIONS = frozenset(fold(w) for w in "nicht nichts kein keine keinen keinem keiner nie ohne".split())


def without_fact_words(question: str) -> str | None:
    """The question for a second search: without words about days and kinds of facts, which dilute
    its match ("Hat das Bürgerbüro an Heiligabend offen?"), and without function words, but with its
    negations ("Ich finde meinen Personalausweis nicht mehr" is a loss, not an application).
    None when that leaves nothing or the question itself.
    """
    words = [
        word
        for word in re.findall(r"[a-z0-9]+", fold(question))
        if word in NEGATIONS or (len(word) > 2 and word not in STOPWORDS and word not in TOPIC_WORDS)
    ]
    reduced = " ".join(word for word in words if word not in DAY_WORDS and not word.isdigit())
    return reduced if reduced and reduced != fold(question) else None


def is_follow_up(question: str) -> bool:
    """True when the question names no subject of its own ("Und was kostet das?", "Und am Samstag?")."""
    return not subject_words(question)


_PLACEHOLDER = re.compile(r"\[[^\]\s]{1,20}\]")
_SENTENCES = re.compile(r"(?<=[.!?])\s+")
_SPACE_BEFORE_MARK = re.compile(r"\s+([,.;:!?])")
INTRODUCTION_MAX_WORDS = 4  # "Ich heiße [Name]." / "Mein Name ist [Name]": a sentence that only says who


def without_personal_data(scrubbed: str) -> str:
    """The question as the search reads it: a scrubbed question (``scrub``) without its placeholders.

    A name, address or IBAN says nothing about which service is meant, but as words no entry knows
    they lower the coverage that tells an out-of-scope question ("Wann hat das Bürgerbüro offen? Ich
    heiße Erika Mustermann." was refused). A short sentence that held personal data, such as a
    self-introduction, goes as a whole; from a longer one only the placeholder goes.
    """
    kept = []
    for sentence in _SENTENCES.split(scrubbed):
        if _PLACEHOLDER.search(sentence) and len(_PLACEHOLDER.sub(" ", sentence).split()) <= INTRODUCTION_MAX_WORDS:
            continue
        kept.append(_SPACE_BEFORE_MARK.sub(r"\1", " ".join(_PLACEHOLDER.sub(" ", sentence).split())))
    return " ".join(s for s in kept if s)
