"""The expected annual dog tax, computed from the fees of the dog-tax service in the knowledge base.

The rates are data (``fees`` of the service with LeiKa key 99102013104000, e.g.
``{label: Zwei Hunde, amount_eur: 129.47, unit: je Hund und Jahr}``); staff change them in the
knowledge base and the next estimate uses them. Nothing here knows an amount.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..core.text import euro
from ..kb.models import service_by_leika

DOG_TAX_LEIKA = "99102013104000"
COUNT_WORDS = {"ein": 1, "eine": 1, "einen": 1, "erste": 1, "zwei": 2, "zweite": 2, "drei": 3, "dritte": 3, "vier": 4}
DANGEROUS = re.compile(r"gefährlich|gefaehrlich|gelistet|liste|kampfhund", re.IGNORECASE)


@dataclass(frozen=True)
class Rate:
    dogs: int
    dangerous: bool
    amount_eur: float
    label: str
    unit: str


def _rate(fee: Any) -> Rate | None:
    if not isinstance(fee, dict) or not isinstance(fee.get("amount_eur"), (int, float)):
        return None
    label = str(fee.get("label") or "")
    words = re.findall(r"[a-zäöü]+|\d+", label.lower())
    dogs = next((int(w) if w.isdigit() else COUNT_WORDS[w] for w in words if w.isdigit() or w in COUNT_WORDS), 1)
    return Rate(dogs, bool(DANGEROUS.search(label)), float(fee["amount_eur"]), label, str(fee.get("unit") or ""))


def dog_tax_estimate(session: Session, data: dict[str, Any]) -> dict[str, Any] | None:
    """Estimate for one newly registered dog; None when the knowledge base holds no usable rates."""
    service = service_by_leika(session, DOG_TAX_LEIKA)
    if service is None:
        return None
    rates = [rate for rate in (_rate(fee) for fee in service.fees or []) if rate is not None]
    dangerous = bool(data.get("Hund.GefaehrlicherHund"))
    try:
        already = max(0, int(data.get("Haushalt.AnzahlAngemeldeteHunde") or 0))
    except (TypeError, ValueError):
        already = 0
    dogs = already + 1
    # The higher rate for several dangerous dogs applies only if the others are dangerous too,
    # which the form does not ask: a dangerous dog is estimated at the single-dog rate, and the
    # text names the higher rate when other dogs live in the household.
    counted = 1 if dangerous else dogs
    candidates = sorted((r for r in rates if r.dangerous == dangerous and r.dogs <= counted), key=lambda r: r.dogs)
    if not candidates:
        return None
    rate = candidates[-1]
    if dangerous:
        detail = f"für einen gefährlichen Hund ({rate.label})"
    elif dogs == 1:
        detail = "für einen Hund"
    else:
        detail = (
            f"für diesen Hund, weil dann {dogs} Hunde in Ihrem Haushalt angemeldet sind ({rate.label}, {rate.unit})"
        )
    relief = str(data.get("Antrag.ErmaessigungBefreiung") or "keine")
    text = f"Voraussichtliche Hundesteuer {detail}: {euro(rate.amount_eur)} im Jahr."
    if dangerous and dogs > 1:
        several = [r for r in rates if r.dangerous and 1 < r.dogs <= dogs]
        if several:
            higher = max(several, key=lambda r: r.dogs)
            text += (
                f" Lebt ein weiterer gefährlicher Hund in Ihrem Haushalt, sind es {euro(higher.amount_eur)} je Hund."
            )
    if relief != "keine":
        text += (
            " Über die beantragte Ermäßigung oder Befreiung entscheidet das Steueramt; sie ist hier nicht eingerechnet."
        )
    text += f" (Quelle: {service.name}, {service.source_url}, Stand: {service.last_reviewed:%d.%m.%Y})"
    return {
        "text": text,
        "amount_eur": rate.amount_eur,
        "rate_label": rate.label,
        "source": {
            "title": service.name,
            "url": service.source_url,
            "last_reviewed": service.last_reviewed.isoformat(),
        },
    }


ESTIMATORS = {"dog_tax_registration": dog_tax_estimate}
