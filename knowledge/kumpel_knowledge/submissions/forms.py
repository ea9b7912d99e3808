"""The forms the chat may submit, with their reference prefixes and FIM/LeiKa service keys.

The action server's specs (actions/forms/specs/) own the fields; the knowledge service only needs
to know which forms exist, so that nothing else can be stored through the citizen-facing endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FormInfo:
    prefix: str
    leika_key: str
    title: str


FORMS: dict[str, FormInfo] = {
    "dog_tax_registration": FormInfo("HST", "99102013104000", "Hundesteuer-Anmeldung"),
    "dog_tax_deregistration": FormInfo("HSA", "99102013070000", "Hundesteuer-Abmeldung"),
    "water_meter_reading": FormInfo("WZS", "", "Zählerstandsmeldung Wasser"),
}
