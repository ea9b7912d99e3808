"""Strict parsers for form values typed in German chat messages.

Every parser takes the citizen's text (or a fragment of it) and returns either ``Valid(value)`` or
``Invalid(message)`` with a polite German message that says what is wrong and how to fix it.
Dates are parsed by our own strict German parsing on top of ``datetime`` (no guessing of
ambiguous formats: day.month.year, ISO, "3. März 2024", heute/gestern/vorgestern).
IBANs are checked with python-stdnum (ISO 13616 checksum and country-specific format).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumValidationError


@dataclass(frozen=True)
class Valid:
    value: Any
    warning: str | None = None


@dataclass(frozen=True)
class Invalid:
    message: str


ParseResult = Valid | Invalid

MONTHS = {
    "januar": 1,
    "jan": 1,
    "jänner": 1,
    "februar": 2,
    "feb": 2,
    "märz": 3,
    "maerz": 3,
    "marz": 3,
    "mär": 3,
    "april": 4,
    "apr": 4,
    "mai": 5,
    "juni": 6,
    "jun": 6,
    "juli": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "oktober": 10,
    "okt": 10,
    "november": 11,
    "nov": 11,
    "dezember": 12,
    "dez": 12,
}
RELATIVE_DAYS = {"heute": 0, "gestern": 1, "vorgestern": 2}

NUMERIC_DATE = re.compile(r"(?<![\d.])(\d{1,2})\s*\.\s*(\d{1,2})\s*\.\s*(\d{2}|\d{4})(?![\d])")
ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
WORD_DATE = re.compile(
    r"(?<!\d)(\d{1,2})\.?\s*(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+(\d{4})(?!\d)",
    re.IGNORECASE,
)
RELATIVE_DATE = re.compile(r"\b(heute|gestern|vorgestern)\b", re.IGNORECASE)
WEEKS_AGO = re.compile(
    r"\bvor\s+(\d{1,3}|einer|einem|zwei|drei|vier|fünf|sechs)\s+(tag|tagen|woche|wochen)\b", re.IGNORECASE
)
NUMBER_WORDS = {
    "kein": 0,
    "keine": 0,
    "keinen": 0,
    "keiner": 0,
    "null": 0,
    "nein": 0,
    "ein": 1,
    "eine": 1,
    "einen": 1,
    "einer": 1,
    "einem": 1,
    "eins": 1,
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "fünf": 5,
    "fuenf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "neun": 9,
    "zehn": 10,
}

YES_WORDS = re.compile(
    r"^\s*(ja|jo|jep|jawohl|yes|ok|okay|gerne?|genau|richtig|stimmt|einverstanden|zustimmen|ich stimme zu|"
    r"ja,? (bitte|gern|gerne|ich stimme zu|einverstanden|absenden|das stimmt|alles richtig|passt)|passt|korrekt|"
    r"absenden|alles richtig|bestätigen|sicher|klar|natürlich|selbstverständlich|auf jeden fall)\b",
    re.IGNORECASE,
)
NO_WORDS = re.compile(
    r"^\s*(nein|nee|ne|no|nö|nicht|kein|keine|keinen|niemals|auf keinen fall|lieber nicht|ohne)\b", re.IGNORECASE
)

# Words that answer no question for a name or a text ("Nein" as the breed, "keine Ahnung" as a name).
NON_ANSWER = re.compile(
    r"^(?:(?:ja|jo|jep|jawohl|yes|ok|okay|nein|nee|ne|no|nö|noe|nicht|kein|keine|keiner|keinen|keins|nichts|"
    r"unbekannt|egal|vielleicht|keine ahnung|keine angabe|k\. ?a|(?:ich )?wei(?:ß|ss) (?:ich |es )?nicht|"
    r"(?:das )?(?:hab|habe|gibt es|gibts) (?:ich )?(?:nicht|keine?n?))(?:[ ,]+(?:danke|bitte|leider|gerne?))?|-+)$",
    re.IGNORECASE,
)

PERSON_NAME = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿĀ-žß][A-Za-zÀ-ÖØ-öø-ÿĀ-žß'’\-\.]*(?:\s+[A-Za-zÀ-ÖØ-öø-ÿĀ-žß'’\-\.]+)+$")
SINGLE_NAME = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿĀ-žß][A-Za-zÀ-ÖØ-öø-ÿĀ-žß'’\-\. ]{0,39}$")
STREET = re.compile(
    r"^([A-Za-zÀ-ÖØ-öø-ÿß][A-Za-zÀ-ÖØ-öø-ÿß\.\-' ]{1,60}?)\s*(\d{1,4}\s?[a-zA-Z]?(?:\s?[-/]\s?\d{1,4}[a-zA-Z]?)?)$"
)
POSTCODE = re.compile(r"(?<!\d)(\d{5})(?!\d)")
EMAIL = re.compile(
    r"^[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}$"
)
DIGITS_ONLY = re.compile(r"\D")

# ISO 11784: the first three digits are an ISO 3166 numeric country code (e.g. 276 Germany)
# or a manufacturer code 900-998.
CHIP_LENGTH = 15

MAX_TEXT = 200


def clean(text: str) -> str:
    """Collapse whitespace and strip surrounding punctuation a chat message often carries."""
    return re.sub(r"\s+", " ", text or "").strip(" \t\n.,;:!")


def format_date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _two_digit_year(year: int, today: date) -> int:
    """'24' -> 2024, '98' -> 1998: the most recent year not after this year."""
    century = today.year - today.year % 100
    candidate = century + year
    return candidate if candidate <= today.year else candidate - 100


def find_dates(text: str, today: date) -> list[tuple[int, int, ParseResult]]:
    """All date mentions in ``text`` as (start, end, parsed), impossible dates as Invalid."""
    found: list[tuple[int, int, ParseResult]] = []

    def build(start: int, end: int, year: int, month: int, day: int) -> None:
        try:
            found.append((start, end, Valid(date(year, month, day))))
        except ValueError:
            found.append(
                (
                    start,
                    end,
                    Invalid(
                        f"Den {day}.{month}.{year} gibt es nicht im Kalender. "
                        "Bitte prüfen Sie das Datum (Format: TT.MM.JJJJ)."
                    ),
                )
            )

    for match in NUMERIC_DATE.finditer(text):
        day, month, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if len(match.group(3)) == 2:
            year = _two_digit_year(year, today)
        build(match.start(), match.end(), year, month, day)
    for match in ISO_DATE.finditer(text):
        build(match.start(), match.end(), int(match.group(1)), int(match.group(2)), int(match.group(3)))
    for match in WORD_DATE.finditer(text):
        month = MONTHS[match.group(2).lower()]
        build(match.start(), match.end(), int(match.group(3)), month, int(match.group(1)))
    for match in RELATIVE_DATE.finditer(text):
        found.append((match.start(), match.end(), Valid(today - timedelta(days=RELATIVE_DAYS[match.group(1).lower()]))))
    for match in WEEKS_AGO.finditer(text):
        amount_text = match.group(1).lower()
        amount = int(amount_text) if amount_text.isdigit() else NUMBER_WORDS.get(amount_text, 1)
        days = amount * (7 if match.group(2).lower().startswith("woche") else 1)
        found.append((match.start(), match.end(), Valid(today - timedelta(days=days))))
    found.sort(key=lambda item: item[0])
    return found


def parse_date(text: str, today: date, *, allow_future: bool = False, max_age_years: int = 40) -> ParseResult:
    """One date in German notation, checked against today (Europe/Berlin date of the caller)."""
    dates = find_dates(text, today)
    if not dates:
        return Invalid("Das habe ich nicht als Datum erkannt. Bitte schreiben Sie es so: 14.03.2025.")
    result = dates[0][2]
    return check_date(result, today, allow_future=allow_future, max_age_years=max_age_years)


def check_date(result: ParseResult, today: date, *, allow_future: bool = False, max_age_years: int = 40) -> ParseResult:
    if isinstance(result, Invalid):
        return result
    value: date = result.value
    if not allow_future and value > today:
        return Invalid(f"Der {format_date(value)} liegt in der Zukunft. Bitte nennen Sie ein Datum bis heute.")
    if value.year < today.year - max_age_years:
        return Invalid(f"Der {format_date(value)} liegt zu weit zurück. Bitte prüfen Sie die Jahreszahl.")
    return result


def parse_chip_number(text: str) -> ParseResult:
    """A 15-digit transponder number (ISO 11784/11785), grouped or not: '276 098 100 123 456'."""
    if re.search(r"\d[A-Za-z]\d", text or ""):
        return Invalid("Die Chipnummer besteht nur aus Ziffern (15 Stück), zum Beispiel 276098100123456.")
    runs = re.findall(r"\d(?:[\d \-./]*\d)?", text or "")
    if not runs:
        return Invalid("Die Chipnummer besteht aus 15 Ziffern, zum Beispiel 276098100123456.")
    digits = max((DIGITS_ONLY.sub("", run) for run in runs), key=len)
    if len(digits) != CHIP_LENGTH:
        return Invalid(
            f"Die Chipnummer hat {len(digits)} Ziffern, sie muss aber genau 15 Ziffern haben "
            "(zum Beispiel 276098100123456). Bitte prüfen Sie die Nummer im Heimtierausweis."
        )
    prefix = int(digits[:3])
    if not (1 <= prefix <= 899 or 900 <= prefix <= 998):
        return Invalid(
            "Diese Chipnummer ist ungültig: Die ersten drei Ziffern müssen ein Ländercode (z. B. 276 für "
            "Deutschland) oder ein Herstellercode (900-998) sein."
        )
    return Valid(digits)


def parse_iban(text: str) -> ParseResult:
    """An IBAN with valid checksum; returned compact and upper-case."""
    compact = re.sub(r"[\s\-]", "", text or "").upper()
    if not compact:
        return Invalid("Bitte nennen Sie Ihre IBAN, zum Beispiel DE89 3704 0044 0532 0130 00.")
    try:
        return Valid(stdnum_iban.validate(compact))
    except StdnumValidationError:
        return Invalid(
            "Diese IBAN ist ungültig (Prüfsumme oder Länge stimmt nicht). Bitte prüfen Sie sie, "
            "eine deutsche IBAN hat 22 Stellen: DE und 20 Ziffern."
        )


def format_iban(value: str, *, masked: bool = False) -> str:
    groups = [value[i : i + 4] for i in range(0, len(value), 4)]
    if masked and len(groups) > 2:
        groups = [groups[0]] + ["****"] * (len(groups) - 2) + [groups[-1]]
    return " ".join(groups)


def parse_postcode(text: str, allowed: frozenset[str] | None, city: str) -> ParseResult:
    """A 5-digit postcode; one of ``allowed`` (the town's), or any when ``allowed`` is None."""
    match = POSTCODE.search(text or "")
    if not match:
        example = min(allowed) if allowed else "12345"
        return Invalid(f"Bitte nennen Sie die fünfstellige Postleitzahl, zum Beispiel {example}.")
    if allowed is not None and match.group(1) not in allowed:
        return Invalid(
            f"Die Postleitzahl {match.group(1)} liegt nicht in {city}. Im Chat kann ich nur Adressen in "
            f"{city} aufnehmen (Postleitzahlen {', '.join(sorted(allowed))}). Bitte prüfen Sie die Postleitzahl."
        )
    return Valid(match.group(1))


def parse_street(text: str) -> ParseResult:
    """Street and house number, e.g. 'Von-der-Leyen-Platz 1' or 'Ostwall 12a'."""
    value = clean(text)
    match = STREET.match(value)
    if not match or len(value) > 80:
        return Invalid("Bitte nennen Sie Straße und Hausnummer, zum Beispiel: Ostwall 12.")
    street = match.group(1).strip()
    return Valid(f"{street[0].upper()}{street[1:]} {match.group(2).replace(' ', '')}")


def is_non_answer(text: str) -> bool:
    """True for a bare yes, no or "I don't know": no value for a name or a text field."""
    return bool(NON_ANSWER.match(re.sub(r"\s+", " ", text or "").strip(" \t\n.,;:!?")))


def parse_person_name(text: str) -> ParseResult:
    value = clean(text)
    if value.count(",") == 1:  # "Mustermann, Erika" as on forms and ID cards
        last, first = (part.strip() for part in value.split(","))
        value = f"{first} {last}"
    if len(value) > 100 or not PERSON_NAME.match(value):
        return Invalid("Bitte nennen Sie Vor- und Nachnamen, nur mit Buchstaben, zum Beispiel: Erika Mustermann.")
    return Valid(" ".join(part[0].upper() + part[1:] for part in value.split(" ")))


def parse_short_name(text: str) -> ParseResult:
    """A dog's name: letters, up to 40 characters."""
    value = clean(text)
    if not value or not SINGLE_NAME.match(value):
        return Invalid("Bitte nennen Sie den Namen nur mit Buchstaben (höchstens 40 Zeichen), zum Beispiel: Bello.")
    return Valid(value[0].upper() + value[1:])


def parse_text(text: str, max_length: int = MAX_TEXT) -> ParseResult:
    value = clean(text)
    if not value:
        return Invalid("Bitte geben Sie eine kurze Antwort.")
    if len(value) > max_length:
        return Invalid(f"Das ist zu lang. Bitte fassen Sie sich kürzer (höchstens {max_length} Zeichen).")
    if re.search(r"[<>{}\\]", value):
        return Invalid("Bitte verwenden Sie nur Buchstaben, Ziffern und einfache Satzzeichen.")
    return Valid(value)


def parse_email(text: str) -> ParseResult:
    value = clean(text)
    if NO_WORDS.match(value) or value.lower() in {"-", "keine angabe", "überspringen", "skip"}:
        return Valid("")
    match = re.search(r"[^\s<>,;]+@[^\s<>,;]+", value)
    candidate = match.group(0).rstrip(".") if match else value
    if not EMAIL.match(candidate):
        return Invalid(
            "Das sieht nicht wie eine E-Mail-Adresse aus (Beispiel: erika@example.de). "
            "Wenn Sie keine angeben möchten, schreiben Sie „keine“."
        )
    return Valid(candidate.lower())


def parse_yes_no(text: str) -> ParseResult:
    value = clean(text)
    if YES_WORDS.match(value):
        return Valid(True)
    if NO_WORDS.match(value):
        return Valid(False)
    return Invalid("Bitte antworten Sie mit „Ja“ oder „Nein“.")


def parse_count(text: str, maximum: int = 20) -> ParseResult:
    value = clean(text).lower()
    match = re.search(r"(?<!\d)(\d{1,3})(?!\d)", value)
    if match:
        number = int(match.group(1))
    else:
        words = [NUMBER_WORDS[word] for word in re.findall(r"[a-zäöüß]+", value) if word in NUMBER_WORDS]
        if not words:
            return Invalid("Bitte nennen Sie eine Anzahl als Zahl, zum Beispiel 0 oder 1.")
        number = words[0]
    if number > maximum:
        return Invalid(
            f"{number} ist mehr, als ich hier aufnehmen kann (höchstens {maximum}). Bitte prüfen Sie die Zahl."
        )
    return Valid(number)


def parse_choice(text: str, options: list[dict[str, Any]]) -> ParseResult:
    """One of the spec's options, matched by its value or one of its words ('Befreiung', 'keine')."""
    value = clean(text).lower()
    for option in options:
        words = [
            str(option["value"]).lower(),
            str(option["label"]).lower(),
            *[w.lower() for w in option.get("words", [])],
        ]
        if any(re.search(r"(?<![a-zäöüß])" + re.escape(word) + r"(?![a-zäöüß])", value) for word in words):
            return Valid(option["value"])
    labels = ", ".join(f"„{option['label']}“" for option in options)
    return Invalid(f"Bitte wählen Sie eine der Möglichkeiten: {labels}.")


def parse_tag_number(text: str) -> ParseResult:
    """Number of the dog tax tag (Hundesteuermarke): 1 to 8 digits."""
    match = re.search(r"(?<!\d)(\d{1,8})(?!\d)", text or "")
    if not match or re.search(r"\d{9,}", text or ""):
        return Invalid(
            "Die Nummer der Hundesteuermarke hat bis zu 8 Ziffern (sie steht auf der Marke), zum Beispiel 1234."
        )
    return Valid(match.group(1))


def parse_meter_number(text: str) -> ParseResult:
    """Water-meter number as printed on the meter: 4-20 letters/digits, at least 4 digits."""
    candidate = re.sub(r"(?i)\b(zähler|zaehler|zählernummer|zaehlernummer|nummer|nr)\b[\s.:]*", "", clean(text))
    compact = re.sub(r"[\s\-/]", "", candidate).upper()
    if not re.fullmatch(r"[A-Z0-9]{4,20}", compact) or sum(ch.isdigit() for ch in compact) < 4:
        return Invalid(
            "Die Zählernummer steht auf dem Wasserzähler (4 bis 20 Zeichen, Ziffern und Buchstaben), "
            "zum Beispiel 18-447321."
        )
    return Valid(compact)


def parse_meter_reading(text: str, maximum: Decimal = Decimal("999999.999")) -> ParseResult:
    """Reading in cubic metres, decimal comma allowed: '1234,567 m³'."""
    match = re.search(r"(?<![\d,.])(\d{1,6}(?:[.,]\d{1,3})?)(?![\d])", text or "")
    if not match:
        return Invalid("Bitte nennen Sie den Zählerstand in Kubikmetern, zum Beispiel 1234,5.")
    try:
        reading = Decimal(match.group(1).replace(",", "."))
    except InvalidOperation:
        return Invalid("Bitte nennen Sie den Zählerstand in Kubikmetern, zum Beispiel 1234,5.")
    if reading < 0 or reading > maximum:
        return Invalid("Dieser Zählerstand ist nicht möglich. Bitte lesen Sie die schwarzen Ziffern ab.")
    return Valid(str(reading))
