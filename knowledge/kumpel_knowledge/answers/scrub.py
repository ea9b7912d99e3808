"""Remove personal data from free text before it is stored (unanswered questions)."""

from __future__ import annotations

import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[E-Mail]"),
    # IBAN: two letters, two check digits, 11-30 alphanumerics, often in groups of four.
    (re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b", re.IGNORECASE), "[IBAN]"),
    (re.compile(r"(?:(?<=\s)|^)\+?\d[\d\s/().-]{6,}\d"), "[Nummer]"),
    (re.compile(r"https?://\S+"), "[Link]"),
    # Names people introduce themselves with ("Ich heiße Erika Muster", "mein Name ist ...").
    (
        re.compile(r"(?i:\b(ich hei(?:ß|ss)e|mein name ist|name:))\s+[A-ZÄÖÜ][\w'-]*(?:\s+[A-ZÄÖÜ][\w'-]*)?"),
        r"\1 [Name]",
    ),
    # Street and house number ("Ostwall 104", "Dionysiusstraße 12a", "Am Marktplatz 3").
    (
        re.compile(
            r"\b[A-ZÄÖÜ][\wäöüß-]*(?:stra(?:ß|ss)e|str\.|weg|platz|allee|ring|wall|gasse|damm|ufer)\s+\d+\s?[a-z]?\b",
            re.IGNORECASE,
        ),
        "[Adresse]",
    ),
)


def scrub(text: str) -> str:
    """Text with e-mail addresses, IBANs, phone and other long numbers replaced by placeholders."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text.strip()
