"""The forms the chat may submit, read from the same specs the dialogue runs on (kumpel-forms,
``forms/src/kumpel_forms/specs/``): their reference prefixes and FIM/LeiKa service keys, the check of a
submission against its spec, and whether a message that asks to start one is about the form's service.

Only forms with a spec can be stored through the citizen-facing endpoint, and only with the values
the dialogue would have accepted (``kumpel_forms.validation``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy.orm import Session

from kumpel_forms.spec import FormSpec, all_forms, load_spec
from kumpel_forms.validation import Problem, validate_submission

from ..kb.models import Office, service_by_leika
from ..kb.municipality import city_of, municipality, state_of


@dataclass(frozen=True)
class FormInfo:
    prefix: str
    leika_key: str
    title: str


def _info(spec: FormSpec) -> FormInfo:
    return FormInfo(str(spec.params["reference_prefix"]), str(spec.params.get("leika") or ""), spec.title)


# Every spec has a reference prefix (checked by the tests of the specs); a few small YAML files.
FORMS: dict[str, FormInfo] = {form: _info(load_spec(form)) for form in all_forms()}


def check_submission(session: Session, form: str, data: dict[str, Any], today: date) -> list[Problem]:
    """Why ``data`` is no complete, valid submission of ``form`` ([] when it is one).

    The same checks as the dialogue: required fields (also those a condition makes required), formats,
    choices, date limits relative to ``today`` in the city, and the town's postcodes (from its profile;
    none known: any 5-digit postcode, as the chat then accepts too).
    """
    town = municipality(session)
    postcodes = sorted(town.postcodes or []) if town else []
    return validate_submission(load_spec(form), data, today=today, town_postcodes=postcodes)


Decision = Literal["yes", "unclear", "no"]


@dataclass(frozen=True)
class FormMatch:
    """Whether a message that asks to start a form is about that form's service.

    - ``yes``: the answer is about the form's service: the form may start;
    - ``unclear``: the form's service is among the candidates asked back, or the knowledge base
      does not know: ask the citizen;
    - ``no``: the message is about another service (the NLU went by a keyword: "kfz abmelden" is
      no dog-tax deregistration): answer it instead.
    """

    decision: Decision
    service: dict[str, str] | None = None  # the form's service in this town's knowledge base


def form_match(session: Session, form: str, answered: Collection[str], choice_ids: list[str]) -> FormMatch | None:
    """How the answer to a form-start message relates to the form's service (by its LeiKa key).

    ``answered``: what the answer is about, the entry and the service it answered for ("Kann ich die
    Anmeldung auch per Mail schicken?" gets the contact of the service's office), empty for a question
    back or an unknown. None for an unknown form or one without a LeiKa key (its start is not checked).
    """
    info = FORMS.get(form)
    if info is None or not info.leika_key:
        return None
    service = service_by_leika(session, info.leika_key)
    if service is None:
        return FormMatch("unclear")
    ref = {"id": service.id, "title": service.name}
    if service.id in answered:
        return FormMatch("yes", ref)
    if service.id in choice_ids or (not answered and not choice_ids):
        return FormMatch("unclear", ref)
    return FormMatch("no", ref)


def _responsible_office(session: Session, leika_key: str) -> Office | None:
    """The office responsible for the service with this LeiKa key: the zuständige Stelle first, and
    among those one with an e-mail address first."""
    service = service_by_leika(session, leika_key)
    if service is None:
        return None
    ranked = sorted(service.responsibilities, key=lambda r: (r.role != "zustaendige_stelle", not r.office.email))
    return ranked[0].office if ranked else None


def form_town(session: Session, form: str) -> dict[str, Any] | None:
    """What a form's texts say about the town: ``town`` (as it stands in a sentence), ``city``,
    ``postcodes``, ``state``, ``email`` and ``office`` of the form's service (by its LeiKa key; else the town's
    e-mail). None for an unknown form; empty values where the knowledge base knows nothing."""
    info = FORMS.get(form)
    if info is None:
        return None
    town = municipality(session)
    office = _responsible_office(session, info.leika_key)
    return {
        "town": (town.name_in_sentence or town.name) if town else "",
        "city": city_of(town) if town else "",
        "postcodes": sorted(town.postcodes or []) if town else [],
        "email": (office.email if office and office.email else "") or (town.email if town else ""),
        "office": (office.name_in_sentence or office.name) if office else "",
        # The state, from the town's regional key: sentences of state law are said only there.
        "state": (state_of(town.regional_key) or "") if town else "",
    }
