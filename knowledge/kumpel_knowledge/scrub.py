"""Remove personal data from free text before it is stored (unanswered questions)."""

from __future__ import annotations

import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[E-Mail]"),
    # IBAN: two letters, two check digits, 11-30 alphanumerics, often in groups of four.
    (re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b", re.IGNORECASE), "[IBAN]"),
    (re.compile(r"(?:(?<=\s)|^)\+?\d[\d\s/().-]{6,}\d"), "[Nummer]"),
    (re.compile(r"https?://\S+"), "[Link]"),
)


def scrub(text: str) -> str:
    """Text with e-mail addresses, IBANs, phone and other long numbers replaced by placeholders."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text.strip()
