"""Does an XZuFi Gebiet (Amtlicher Regionalschlüssel, ARS) cover the town?

An ARS has five levels: Land (2 digits), Regierungsbezirk (1), Kreis (2), Gemeindeverband (4) and
Gemeinde (3), 12 digits in all. A Gebiet names a whole area by leaving its lower levels at zero:
"050000000000" is all of NRW, "051700000000" the Kreis Wesel, "051700024024" one town. So a Gebiet
covers the town when its key, with the trailing all-zero levels removed, is a prefix of the town's key.
"""

from __future__ import annotations

from collections.abc import Iterable

# Where each level (widths 2, 1, 2, 4, 3) ends in the 12 digits. A shorter key stops at one of these.
LEVEL_ENDS = (2, 3, 5, 9, 12)


class RegionError(ValueError):
    """A Gebiet key that is not an ARS."""


def significant_prefix(key: str) -> str:
    """The part of an ARS that names the area: '051700000000' -> '05170'; '000000000000' -> ''.

    Keys shorter than 12 digits are accepted when they end at a level boundary ('05', '05170').

    Raises:
        RegionError: not digits, or a length that ends inside a level.
    """
    digits = key.strip()
    if not digits.isdigit() or len(digits) not in LEVEL_ENDS:
        raise RegionError(f"{key!r} is not an Amtlicher Regionalschlüssel (2 to 12 digits, ending at a level)")
    end = len(digits)
    # Walk the levels from the lowest up; each all-zero level at the end is "the whole area above".
    for start, stop in reversed(list(zip((0, *LEVEL_ENDS[:-1]), LEVEL_ENDS))):
        if stop == end and set(digits[start:stop]) == {"0"}:
            end = start
    return digits[:end]


def covers(gebiet_key: str, town_key: str) -> bool:
    """True when the Gebiet includes the town (both ARS; the town's has 12 digits).

    Raises:
        RegionError: the Gebiet key is not an ARS.
    """
    return town_key.startswith(significant_prefix(gebiet_key))


def any_covers(gebiet_keys: Iterable[str], town_key: str) -> bool:
    """An object applies to the town when one of its Gebiete covers it. An object without any Gebiet
    applies everywhere: XZuFi leaves the Gebiet out for nationwide (Bund) texts and objects that the
    export's own scope already limits, so dropping them would lose the federal services.

    Raises:
        RegionError: a Gebiet key is not an ARS.
    """
    keys = list(gebiet_keys)
    if not keys:
        return True
    # Check every key (not just up to the first match), so a malformed one is always reported.
    results = [covers(key, town_key) for key in keys]
    return any(results)
