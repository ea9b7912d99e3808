"""Remove personal data from free text before it is stored (unanswered questions).

DSGVO: the staff read these questions to improve the knowledge base, so they must keep what was
asked ("Ich bin umgezogen, wo melde ich mich um?") and lose who asked (names, street + house
number, postcode, phone, e-mail, IBAN, links, a date of birth) and any secret (password, PIN, TAN).
Everything here is plain `re`, no model.

How names are found: mostly after a cue. Strong cues ("ich heiße",
"mein Name ist", "Name:") are followed by a name in any casing ("ich heisse jürgen meier"); weak
cues ("ich bin", "hier ist", "Frau", "Gruß") only by capitalised words, because German nouns are
capitalised too ("Ich bin Rentner" is no name). A list of words that are never a name
(`_NOT_A_NAME`) keeps "Ich heiße Sie willkommen" and "Mein Name ist falsch geschrieben" intact.
Cue words, titles and prepositions stay ("Frau Dr. [Name]", "wohne Am [Adresse]"). "Nachname,
Vorname" counts as a name only after a cue or before a birth date ("Name: Mustermann, Erika"),
because "Krefeld, Rathaus" has the same shape. A postcode goes, its town stays ("[PLZ] Willich"):
the town can matter for the answer. E-mail addresses spelt "(at)"/"[dot]" go too; the bare words
"at" and "dot" only in the shape of an address ("erika at example dot org").

Without a cue, a name is recognised by a known first name (Faker's German, Turkish and Polish
first-name lists, MIT, read once): "Erika Mustermann braucht ..." and "Mustermann, Erika" go; a
first name that is also a common German word ("August", "Rose", "Ernst") does not count alone.

Quality is measured on a dev and a held-out test set: bench/scrub_quality.py.
"""

from __future__ import annotations

import re
from functools import lru_cache


def _words(text: str) -> str:
    """Alternation of the whitespace-separated words, longest first, for use inside a pattern."""
    return "|".join(re.escape(w) for w in sorted(set(text.split()), key=len, reverse=True))


# ---------------------------------------------------------------- building blocks
# Any upper-case letter of the Latin, Greek and Cyrillic scripts, also Ł, Ś, Ö, Ç (re has no \p{Lu}).
_UPPER = "[" + "".join(c for c in map(chr, range(0x2000)) if c.isupper()) + "]"
_WORD_TAIL = r"[\w'’-]*"  # rest of a name word: letters, digits, "Karl-Heinz", "O'Brien"
_END = r"(?![\w'’-])"  # end of a word

# Words that are never (the start of) a name, compared case-insensitively: pronouns, articles,
# prepositions, conjunctions, common verbs/adverbs/adjectives after "ich heiße/bin", role nouns
# ("Ich bin Rentner"), "Frau"/"Herr" (cues themselves) and weekdays/months.
_NOT_A_NAME = rf"""(?i:(?:{
    _words('''
    ich du er sie es wir ihr ihre ihren ihrem ihrer ihn ihm sich mich mir dich dir uns euch euer
    mein meine meinen meinem meiner dein deine sein seine unser unsere man jemand niemand
    alle alles jeden jede jeder der die das den dem des ein eine einen einem einer kein keine
    dies diese dieser dieses und oder aber sondern denn weil dass daß ob wenn als wie
    im in am an auf aus bei mit nach seit von vom zu zum zur für über unter vor hinter neben
    durch gegen ohne um bis ab per pro hier da dort nicht nur auch so gut neu noch schon gerade
    jetzt leider eigentlich übrigens uebrigens also eben mal bitte danke ja nein doch sehr ganz
    etwa ca falsch richtig anders korrekt geändert gewechselt unbekannt herzlich willkommen
    bin bist ist sind war habe hab hat haben möchte moechte will würde wuerde brauche suche
    wohne komme kann muss soll darf frage frau herr herrn familie dr prof doktor professor
    rentner rentnerin student studentin schüler schülerin schueler azubi mutter vater eltern
    mieter mieterin vermieter vermieterin eigentümer eigentümerin anwohner anwohnerin
    bürger bürgerin deutscher deutsche alleinerziehend alleinerziehende arbeitslos
    selbstständig selbständig montag dienstag mittwoch donnerstag freitag samstag sonntag
    januar februar märz april mai juni juli august september oktober november dezember
    heute morgen gestern
    ''')
}){_END})"""

_NAME_ANY = rf"(?!{_NOT_A_NAME})[^\W\d_]{_WORD_TAIL}"  # a name word in any casing
_NAME_CAP = rf"(?!{_NOT_A_NAME}){_UPPER}{_WORD_TAIL}"  # a capitalised name word
# Name particles between first and last name: "Karl-Heinz von der Heide", "Jan de Vries".
_PARTICLES = r"(?:(?i:von|van|de|der|den|zu|zur|di|da|del|la|le|ter|ten|el|al)\s+)+"
# Titles stay in front of the placeholder: "Frau Dr. [Name]".
_TITLE = (
    r"(?:\s+(?i:dr\.?(?:\s?(?:med|rer\.\s?nat|phil|jur|ing|h\.\s?c|mult|med\.\s?dent)\.)*|prof\.?|doktor|professor"
    r"|dipl\.-?\s?(?:ing|kfm|kff|psych)\.(?:\s?\(fh\))?|mag\.|(?:ober)?bürgermeister(?:in)?))"
)
# "Mustermann, Erika": a surname, a comma and a first name. Only after a cue (a label, an introduction,
# a greeting), since "Krefeld, Rathaus" has the same shape.
_INVERTED = r"(?:,\s*{first}(?=\s*(?:[,.;:!?)]|$|\s+(?i:und|aus|wohnhaft|geb\.?|geboren)\b)))?"


def _cap_names(least: int, most: int) -> str:
    """`least` to `most` capitalised name words, particles allowed before later words."""
    return rf"{_NAME_CAP}(?:\s+(?:{_PARTICLES})?{_NAME_CAP}){{{least - 1},{most - 1}}}"


# After a strong cue: the first word in any casing, then more words in any casing or particles
# + a capitalised word ("ich heisse jürgen meier", "Mein Name ist Karl-Heinz von der Heide").
_ANY_NAMES = rf"{_NAME_ANY}(?:\s+{_PARTICLES}{_NAME_CAP}|\s+{_NAME_ANY}){{0,2}}"
_ANY_NAMES_INVERTED = _ANY_NAMES + _INVERTED.format(first=rf"{_NAME_ANY}(?:[ -]{_NAME_CAP})?")

# ---------------------------------------------------------------- numbers and dates
# A calendar date ("24.12.2025") is no phone number: staff need it. Only after a birth cue it goes.
_DATE = r"\d{1,2}\.\s?\d{1,2}\.(?:\s?\d{4}|\s?\d{2})?(?!\d)"
_MONTHS = "januar|februar|märz|maerz|april|mai|juni|juli|august|september|oktober|november|dezember"
_BIRTH_DATE = re.compile(
    r"(?P<cue>(?i:\b(?:geboren|geb\.|geburtsdatum|geburtstag)(?:\s+(?:ist|war))?(?:\s+am)?)\s*:?\s*)"
    rf"(?:{_DATE}|\d{{1,2}}\.\s?(?i:{_MONTHS})\s+\d{{4}})"
)
# Phone and other long numbers: at least 7 digits, separated by at most two of " /().-"
# ("0151 23456789", "+49 (2151) 86-2000", "02151/98765", a chip number). Shorter numbers stay
# ("Fachbereich 33", "Hundesteuer 2026", "10 - 12.30 Uhr").
_LONG_NUMBER = re.compile(rf"(?<![\w+])(?!{_DATE})\+?\(?\d(?:[ \t/().-]{{1,2}}\d|\d){{6,}}")

# ---------------------------------------------------------------- street + house number
# House number: "3", "12a", "12 a", "44 b", "12-14", "44-46"; not a measure ("Parkplatz 2 Stunden").
_HOUSE_NUMBER = (
    r"\d{1,4}(?:\s?[a-hA-H](?![\w]))?(?:\s?[-–/]\s?\d{1,4}(?:\s?[a-hA-H](?![\w]))?)?(?![\d]|[.,]\d)"
    r"(?!\s*(?:(?i:stunden?|std|minuten?|min|tagen?|tage|wochen?|monaten?|monate|jahren?|jahre|uhr|euro|eur"
    r"|prozent|mal|personen|kinder|km|meter|m)\b|€|%))"
)
# Words a street name ends with ("Dionysiusstraße", "Hauptstr.", "goethestr", "Ostwall", "Mühlenweg").
_STREET_SUFFIX = r"(?:stra(?:ß|ss)e|str\.?|weg|platz|allee|ring|wall|gasse|damm|ufer|pfad|chaussee|steig|steg|kamp)"
# Adjective before a separate street word: "Uerdinger Straße", "Kölner Str.", not "in der Straße".
_STREET_ADJECTIVE = rf"""(?!(?i:{
    _words(
        "der oder aber über unser euer ihrer seiner meiner deiner unserer eurer jeder dieser jener "
        "welcher aller wieder immer weiter hinter unter hier"
    )
}){_END})[^\W\d_][\w.-]*er"""
_STREET = re.compile(
    rf"(?i:\b(?:(?:{_STREET_ADJECTIVE}\s+)?[^\W\d_][\w.-]+?{_STREET_SUFFIX}|{_STREET_ADJECTIVE}\s+{_STREET_SUFFIX})"
    rf"(?![\w])\s*{_HOUSE_NUMBER})"
)
# A street without such an ending ("Im Brahm 21", "am Stadtgarten 5") only after a cue word.
_CUED_STREET = re.compile(
    r"(?P<cue>(?i:\b(?:wohne|wohnen|wohnt|adresse|anschrift|wohnort|haus)(?:\s*:|\s+ist)?"
    r"(?:\s+(?:am|im|an\s+der|in\s+der|auf\s+der|auf\s+dem))?)\s+)"
    rf"(?!{_NOT_A_NAME}|(?i:nr|nummer)\b)[^\W\d_][\w.-]*\s+{_HOUSE_NUMBER}"
)

# ---------------------------------------------------------------- names after a cue
_GREETING = r"(?i:\bgr(?:ü|ue|u)(?:ß|ss)(?:e|en)?\b)"  # "Gruß", "Viele Grüße", "Mit freundlichen Grüßen"
_NAME_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Self-introduction, name in any casing: "Ich heiße Erika Muster", "mein name ist lisa becker",
    # "Ich heiße übrigens Schmitz", "Ich heiße Dr. Sabine Krüger-Wolff"; not "Ich heiße Sie willkommen".
    re.compile(
        r"(?P<cue>(?i:\b(?:ich\s+hei(?:ß|ss)e|mein\s+name\s+ist))"
        rf"(?:\s+(?i:übrigens|uebrigens|auch|eigentlich|also))?{_TITLE}*\s+)"
        rf"(?!(?:\s*\S+){{1,4}}\s+(?i:willkommen)\b){_ANY_NAMES_INVERTED}"
    ),
    # A form-like label: "Name: Anna Łukasiewicz", "Mein Name: Zoe Brandt", "Name, Vorname: Mustermann,
    # Erika", "Antragstellerin: Erika Mustermann", "Kontoinhaber: ...".
    re.compile(
        r"(?P<cue>(?i:\b(?:(?:mein\s+)?(?:nach|vor|familien)?name(?:\s*,\s*vorname)?|antragsteller(?:in)?"
        r"|halter(?:in)?|absender(?:in)?|kontoinhaber(?:in)?|inhaber(?:in)?)\s*:\s*))"
        rf"{_ANY_NAMES_INVERTED}"
    ),
    # An academic title without "Frau"/"Herr": "Dr. Erika Mustermann", "Prof. Dr. Max Müller".
    re.compile(rf"(?P<cue>\b(?:Dr|Prof|Dipl\.-?\s?Ing)\.(?:{_TITLE})*\s+){_cap_names(1, 3)}"),
    # "Mustermann, Erika, geb. 03.04.1978": the inverted form is a name when a birth cue follows it.
    re.compile(
        rf"(?P<cue>(?<![\w-])){_NAME_CAP}(?:[ -]{_NAME_CAP})?,\s*{_NAME_CAP}(?:[ -]{_NAME_CAP})?"
        r"(?=\s*,?\s*(?i:geb\.|geboren|geburtsdatum)|\s*,?\s*\*\s*\d)"
    ),
    # "Ich bin Thomas Müller": first and last name, both capitalised, since "Ich bin Rentner" is none.
    re.compile(rf"(?P<cue>(?i:\bich\s+bin)(?:\s+(?i:die|der))?\s+){_cap_names(2, 3)}"),
    # "Hallo, hier ist Petra Schneider" (two words: "Hier ist Parken ..." is none) / "hier schreibt X".
    re.compile(rf"(?P<cue>(?i:\bhier\s+ist)(?:\s+(?i:die|der))?\s+){_cap_names(2, 3)}"),
    re.compile(rf"(?P<cue>(?i:\bhier\s+schreibt)(?:\s+(?i:die|der))?\s+){_cap_names(1, 3)}"),
    # Someone else by title: "Frau Schmidt", "Herr Dr. Becker", "Familie Hoffmann", "Frau von Berg".
    re.compile(rf"(?P<cue>(?i:\b(?:frau|herr|herrn|familie)){_TITLE}*\s+)(?:{_PARTICLES})?{_cap_names(1, 2)}"),
    # "Mein Sohn heißt Leon Fischer", "Mein Nachbar Klaus Wagner", "Klingel Schulz".
    re.compile(
        rf"(?P<cue>(?i:\b(?:mein|meine|unser|unsere)\s+[^\W\d_]+\s+hei(?:ß|ss)t){_TITLE}*\s+){_cap_names(1, 3)}"
    ),
    re.compile(rf"(?P<cue>(?i:\bnachbar(?:in)?){_TITLE}*\s+){_cap_names(1, 3)}"),
    re.compile(rf"(?P<cue>(?i:\bklingel(?:schild)?)\s*:?\s+){_cap_names(1, 2)}"),
    # Signature: "Gruß Monika Ernst", "Viele Grüße, Stefan Lange"; not "Grüße aus Hüls". At the end
    # of the message any casing counts ("gruß horst").
    re.compile(rf"(?P<cue>{_GREETING}\s*,?\s+){_cap_names(1, 3)}{_INVERTED.format(first=_NAME_CAP)}"),
    re.compile(rf"(?P<cue>{_GREETING}\s*,?\s+)(?:[^\W\d_]\.\s*)?{_NAME_ANY}(?:\s+{_NAME_ANY}){{0,2}}(?=[\s.!]*$)"),
)

# ---------------------------------------------------------------- obfuscated e-mail addresses
# "erika(at)example(dot)org", "erika [at] example [dot] org", "erika{ät}example.org"; the bare words
# "erika at example dot org" / "erika at example.org" only with a domain after it, since "at" alone
# is an English word.
_OPEN, _CLOSE = r"\s*[\[({<]\s*", r"\s*[\])}>]\s*"
_BRACKET_AT = rf"{_OPEN}(?i:at|ät|@){_CLOSE}"
_BRACKET_DOT = rf"(?:{_OPEN}(?i:dot|punkt|\.){_CLOSE})"
_WORD_DOT = r"(?:\s+(?i:dot|punkt)\s+)"
_LOCAL_PART = r"(?<![\w.+-])[\w.+-]+"
_OBFUSCATED_EMAIL = re.compile(
    rf"{_LOCAL_PART}{_BRACKET_AT}[\w-]+(?:(?:{_BRACKET_DOT}|{_WORD_DOT}|\.)[\w-]+)*(?:{_BRACKET_DOT}|{_WORD_DOT}|\.)"
    r"[^\W\d_]{2,12}\b"
    rf"|{_LOCAL_PART}\s+(?i:at|ät)\s+[\w-]+(?:(?:{_WORD_DOT}|\.)[\w-]+)*(?:{_WORD_DOT}|\.)[^\W\d_]{{2,12}}\b"
)

# ---------------------------------------------------------------- passwords, PINs, TANs
# The secret after its cue. After ":" or "=" any word but a few that say what is wrong with it
# ("Passwort: vergessen"); after "ist"/"lautet" (up to four words later: "Mein Passwort für das
# Bürgerkonto ist ...") only a word with a digit or a sign in it, or a quoted one ("Mein Passwort
# ist abgelaufen" stays); right after "PIN"/"TAN" only a number ("PIN vergessen" stays).
_SECRET_CUE = (
    r"(?i:\b(?:(?:online-?|bank-?|e-?mail-?|konto-?|benutzer-?|zugangs-?)?(?:passwort|kennwort|password"
    r"|zugangscode|sicherheitscode|geheimzahl)|pin(?:-?(?:code|nummer))?|m?tan(?:-?nummer)?|puk)(?![\w-]))"
)
_NOT_A_SECRET = rf"""(?!(?i:{
    _words(
        "vergessen falsch abgelaufen gesperrt geändert ändern zurücksetzen funktioniert geht nicht kein keine "
        "neu neues vergeben unbekannt"
    )
}){_END})"""
_QUOTED_SECRET = r"[\"„“'‚‘»«][^\"„“'‚‘»«\n]{1,64}[\"“”'‘’«»]"
_SECRET_WORD = r"[^\s,;]*[^\s,;.!?]"
_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"(?P<cue>{_SECRET_CUE}\s*[:=]\s*)(?:{_QUOTED_SECRET}|{_NOT_A_SECRET}(?!{_NOT_A_NAME}){_SECRET_WORD})"),
    re.compile(
        rf"(?P<cue>{_SECRET_CUE}(?:\s+[^\s:=]+){{0,4}}?\s+(?i:ist|lautet|lautete|war|hei(?:ß|ss)t)\s+)"
        rf"(?:{_QUOTED_SECRET}|(?=[^\s,;]*[\d!#$%&*+/=?@^_~§€-]){_SECRET_WORD})"
    ),
    re.compile(rf"(?P<cue>{_SECRET_CUE}\s+)\d{{3,8}}\b"),
)

# ---------------------------------------------------------------- postcodes
# A German postcode (five digits) after a cue ("PLZ 47798", "Postleitzahl: 47798"), or with its town
# after it where an address goes: at the start, after a comma, a street, "in"/"nach"/"aus"
# ("Hauptstr. 5, 47798 Krefeld", "wohne in 47877 Willich"). The town stays: it can matter for the
# answer. Five digits in a sentence stay ("Wir sind 12345 Leute", "Krefeld hat 12000 Einwohner").
_POSTCODE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?P<cue>(?i:\b(?:plz|postleitzahl)\b)\s*:?\s*(?:(?i:ist|lautet)\s+)?)(?:D-)?\d{5}(?!\d)"),
    re.compile(
        r"(?P<cue>(?:^|[,;:(]|\[Adresse\]|(?i:\b(?:in|nach|aus|bei|wohnhaft|wohnort|ort)\b))\s*)"
        rf"(?:D-)?\d{{5}}(?=\s+{_UPPER}[^\W\d_]{{2,}})"
    ),
)


# ---------------------------------------------------------------- all rules, in order
# The first four (e-mail, IBAN, long number, link) are the non-language rules; bench/spacy_eval.py
# reuses exactly these as `_PATTERNS[:4]`. Addresses run before names so that a name rule never
# takes a street ("Gruß Monika Ernst, Hauptstraße 5").
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # E-mail: "erika.muster@example.org", "k.yilmaz+amt@web.de".
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[E-Mail]"),
    # IBAN: two letters, two check digits, 11-30 alphanumerics, often in groups of four.
    (re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b", re.IGNORECASE), "[IBAN]"),
    (_LONG_NUMBER, "[Nummer]"),
    (re.compile(r"https?://\S+"), "[Link]"),
    (_OBFUSCATED_EMAIL, "[E-Mail]"),
    *((pattern, r"\g<cue>[Passwort]") for pattern in _SECRET_PATTERNS),
    (_BIRTH_DATE, r"\g<cue>[Nummer]"),
    (_STREET, "[Adresse]"),
    (_CUED_STREET, r"\g<cue>[Adresse]"),
    *((pattern, r"\g<cue>[PLZ]") for pattern in _POSTCODE_PATTERNS),
    *((pattern, r"\g<cue>[Name]") for pattern in _NAME_PATTERNS),
)


# ---------------------------------------------------------------- names without a cue
# First names that are also everyday German words or places: never a name on their own.
_FIRST_NAMES_THAT_ARE_WORDS = frozenset(
    "august ernst rose heide linde sonne frieda kai mai juni juli april christ paris florenz "
    "engel fromm frank frei gerade heinrich hermann konrad otto".split()
)


# A person's name in the name of a place or an institution ("Albert Schweitzer Realschule", "Willy
# Brandt Platz", "Robert Koch Institut") is no citizen's name: the word after it says so.
_NAMED_PLACE = (
    r"(?i:\S*(?:schule|gymnasium|kolleg|kita|kindergarten|haus|halle|platz|stra(?:ß|ss)e|str\.|allee|weg|ring"
    r"|park|stadion|bad|kirche|zentrum|klinik|klinikum|krankenhaus|institut|stiftung|bibliothek|museum|preis"
    r"|brücke|bruecke|turm|saal|heim|center|centre|siedlung|viertel|ufer|garten|markt)\b)"
)


@lru_cache(maxsize=1)
def _last_names() -> frozenset[str]:
    from faker.providers.person import de_DE, pl_PL, tr_TR

    return frozenset(
        name for provider in (de_DE.Provider, tr_TR.Provider, pl_PL.Provider) for name in provider.last_names
    )


def _is_surname(word: str) -> bool:
    """A known surname, or a word German does not know ("Mustermann", "Yılmaz"): "Linn Öffnungszeiten"
    and "Sankt Martin Umzug" are no names, since "Öffnungszeiten" and "Umzug" are German words."""
    import simplemma

    head = word.split("-")[0]
    return head in _last_names() or not simplemma.is_known(head, lang="de")


@lru_cache(maxsize=1)
def _first_name_patterns() -> tuple[re.Pattern[str], ...]:
    """ "Erika Mustermann" and "Mustermann, Erika" by a known first name (built once, on first use)."""
    from faker.providers.person import de_DE, pl_PL, tr_TR

    names: set[str] = set()
    for provider in (de_DE.Provider, tr_TR.Provider, pl_PL.Provider):
        names.update(provider.first_names_female)
        names.update(provider.first_names_male)
    known = sorted(
        (n for n in names if n.isalpha() and len(n) > 2 and n.lower() not in _FIRST_NAMES_THAT_ARE_WORDS),
        key=len,
        reverse=True,
    )
    first = rf"(?:{'|'.join(map(re.escape, known))})(?:-(?:{'|'.join(map(re.escape, known))}))?{_END}"
    # The surname: capitalised, no street ("Erika Mustermann-Straße 4" is an address, handled before).
    # Atomic (Python 3.11): a surname is taken whole or not at all, never cut to dodge the checks after it.
    surname = rf"(?!{_NOT_A_NAME})(?!\S*(?i:{_STREET_SUFFIX}){_END})(?P<surname>(?>{_UPPER}[^\W\d_]{_WORD_TAIL}))"
    return (
        # "Mustermann, Erika" (also "Müller-Lüdenscheidt, Hans Peter").
        re.compile(rf"(?<![\w-]){surname},\s*{first}(?:\s+{first})?"),
        # "Erika Mustermann", "Hans Peter Müller", "Jan de Vries"; not a saint ("Sankt Martin Umzug").
        re.compile(
            rf"(?<![\w-])(?<!Sankt )(?<!St\. )(?<!St ){first}(?:\s+{first})?\s+(?:{_PARTICLES})?{surname}"
            rf"(?!\s*\d)(?![\s-]+{_NAMED_PLACE})"
        ),
    )


def _name_unless_word(match: re.Match[str]) -> str:
    return "[Name]" if _is_surname(match.group("surname")) else match.group(0)


def scrub(text: str) -> str:
    """Text with names, street + house number, postcodes, e-mail addresses (also "(at)" ones), IBANs,
    phone and other long numbers, links, passwords / PINs / TANs and a date of birth replaced by
    placeholders ([Name], [Adresse], [PLZ], [Passwort], ...)."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    for pattern in _first_name_patterns():
        text = pattern.sub(_name_unless_word, text)
    return text.strip()


def warm_up() -> None:
    """Build the name patterns and load the word lists now (at start-up): the first citizen's
    answer would otherwise pay for them (the first-name pattern alone is built from thousands of names)."""
    scrub("Erika Mustermann, Musterweg 1")
