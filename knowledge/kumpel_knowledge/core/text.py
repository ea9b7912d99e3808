"""German text helpers shared by the domains: one folding, one money format."""

from __future__ import annotations

import unicodedata

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})


def fold(text: str) -> str:
    """Lower-case, umlauts and ß spelled out (ä->ae, ß->ss), other accents dropped.

    'Übermorgen' and 'uebermorgen', 'Bürgerbüro' and 'Buergerbuero' fold alike.
    """
    text = unicodedata.normalize("NFC", text).translate(_FOLD).lower().translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def euro(amount: float) -> str:
    """German money: 111.32 -> '111,32 EUR', 1234.5 -> '1.234,50 EUR'."""
    text = f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{text} EUR"
