"""The town's profile as the bot states it: who to contact, which state's holidays apply."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..core.settings import Settings
from .models import Municipality

# The first two digits of the Amtlicher Regionalschlüssel name the state (Land); the codes are the
# subdivisions of the `holidays` library (ISO 3166-2:DE).
STATES = {
    "01": "SH", "02": "HH", "03": "NI", "04": "HB", "05": "NW", "06": "HE", "07": "RP", "08": "BW",
    "09": "BY", "10": "SL", "11": "BE", "12": "BB", "13": "MV", "14": "SN", "15": "ST", "16": "TH",
}  # fmt: skip


def municipality(session: Session) -> Municipality | None:
    """The town of this knowledge base, if its profile was imported."""
    return session.get(Municipality, 1)


def city_of(town: Municipality) -> str:
    """The short place name in sentences ("Ihre Anschrift in Musterstadt"): the profile's ``city``, else
    the name without a leading "Stadt " ("Stadt Krefeld" -> "Krefeld")."""
    return town.city or town.name.removeprefix("Stadt ").strip()


def state_of(regional_key: str) -> str | None:
    """The state code ("NW") of a regional key ("051140000000"), None for a key that names none."""
    return STATES.get(regional_key[:2]) if len(regional_key) >= 2 else None


def holiday_region(session: Session, settings: Settings) -> str:
    """The state whose public holidays apply: the town's, else the configured one."""
    town = municipality(session)
    return (state_of(town.regional_key) if town else None) or settings.holiday_region


def contact_text(session: Session, settings: Settings) -> str:
    """Who a citizen can turn to when the bot does not know: the town's own line, and the 115."""
    town = municipality(session)
    if town is None:
        return settings.city_contact_text
    reach = ", ".join(part for part in (f"Telefon {town.phone}" if town.phone else "", town.web, town.email) if part)
    text = f"Bitte wenden Sie sich an {town.name_in_sentence or town.name}" + (f" ({reach})" if reach else "")
    if town.line_115:
        return text + " oder an die Behördennummer 115 (Mo-Fr 8-18 Uhr)."
    return text + "."
