"""Checking a submission against its form spec: what the knowledge service does before it stores one.

The data is what the dialogue exports (``actions/forms/engine.py::export_data``): keyed by the
fields' export names, only the fields that apply, each value in the form its parser returns (names
capitalised, IBAN compact, dates ISO, counts as numbers, choices by value, "" for a skipped optional
field). Every value is re-parsed by the dialogue's own parser (``fields.parse_field``) and must come
back unchanged, so nothing reaches a record that the chat would not have accepted. The problems are
for an API client: English, naming the field, never echoing its value (it may be personal data).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from kumpel_forms.fields import parse_field
from kumpel_forms.parsing import POSTCODE, Valid
from kumpel_forms.spec import FieldSpec, FormSpec

# What each field type's value looks like once parsed: said in a 422 when a value does not fit.
EXPECTED_FORMAT = {
    "person_name": "first and last name, letters only, each part capitalised",
    "short_name": "a name of letters, at most 40 characters, capitalised",
    "text": "plain text without <>{}\\ and without surrounding punctuation",
    "street": "street and house number, e.g. 'Ostwall 12'",
    "postcode": "a 5-digit postcode",
    "email": "an e-mail address in lower case (or '' when not given)",
    "date": "an ISO date YYYY-MM-DD within the field's limits",
    "chip": "a 15-digit transponder number (ISO 11784)",
    "iban": "a valid IBAN, compact and in upper case",
    "tag_number": "1 to 8 digits",
    "meter_number": "4 to 20 upper-case letters and digits, at least 4 digits",
    "meter_reading": "cubic metres with a decimal point, e.g. '1234.5'",
}


@dataclass(frozen=True)
class Problem:
    """Why one field of a submission is refused: ``field`` is its export name."""

    field: str
    code: str  # missing | invalid | not_allowed | not_applicable | unknown_field | consent_required
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


def validate_submission(
    spec: FormSpec,
    data: Mapping[str, Any],
    *,
    today: date | None = None,
    town_postcodes: Collection[str] | None = None,
) -> list[Problem]:
    """Every reason the exported ``data`` is not a complete, valid submission of ``spec`` ([] if none).

    ``today``: the date in the city (dates are checked against it, as in the dialogue); default the
    machine's date. ``town_postcodes``: the town's postcodes for a field with
    ``allowed_postcodes: town`` (none known: any 5-digit postcode, as in the dialogue).
    """
    day = today or date.today()
    by_export = {spec_field.export: spec_field for spec_field in spec.fields}
    problems = [
        Problem(key, "unknown_field", f"{spec.form} has no field {key!r}") for key in data if key not in by_export
    ]
    values = {by_export[key].name: value for key, value in data.items() if key in by_export and value is not None}
    # A field's condition is read from valid values only (a condition names an earlier field, the
    # spec loader checks that); a field whose condition rests on a refused value is not judged.
    valid: dict[str, Any] = {}
    undecided: set[str] = set()
    for spec_field in spec.fields:
        present = spec_field.name in values
        if spec_field.when is not None and spec_field.when.field in undecided:
            undecided.add(spec_field.name)
            continue
        if not spec.is_active(spec_field, valid):
            if present:
                problems.append(Problem(spec_field.export, "not_applicable", _condition_text(spec, spec_field)))
            continue
        if not present:
            if not spec_field.optional:
                problems.append(Problem(spec_field.export, "missing", "required field is missing"))
            continue
        problem = _check_value(_for_town(spec_field, town_postcodes), values[spec_field.name], day)
        if problem is None:
            valid[spec_field.name] = values[spec_field.name]
        else:
            problems.append(problem)
            undecided.add(spec_field.name)
    problems.extend(_order_problems(spec, valid))
    return problems


def _check_value(spec_field: FieldSpec, value: Any, today: date) -> Problem | None:
    """The problem with one present value of a field that applies, or None."""
    kind = spec_field.type
    if kind == "consent":
        if value is not True:
            return Problem(spec_field.export, "consent_required", "must be true: no submission without consent")
        return None
    if kind == "yes_no":
        return None if isinstance(value, bool) else Problem(spec_field.export, "invalid", "expected true or false")
    if kind == "count":
        maximum = int(spec_field.params.get("maximum", 20))
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
            return Problem(spec_field.export, "invalid", f"expected a whole number from 0 to {maximum}")
        return None
    if kind == "choice":
        allowed = [option["value"] for option in spec_field.options]
        if isinstance(value, bool) or value not in allowed:
            return Problem(spec_field.export, "invalid", f"expected one of: {', '.join(map(str, allowed))}")
        return None
    if not isinstance(value, str):
        return Problem(spec_field.export, "invalid", f"expected a string: {EXPECTED_FORMAT.get(kind, kind)}")
    if value == "" and spec_field.optional:
        return None
    if kind == "postcode" and POSTCODE.fullmatch(value) and isinstance(parse_field(spec_field, value, today), Valid):
        return None
    if kind == "postcode" and POSTCODE.fullmatch(value):
        return Problem(spec_field.export, "not_allowed", "postcode is not one of the town's postcodes")
    result = parse_field(spec_field, value, today)
    if not isinstance(result, Valid) or result.value != value:
        return Problem(spec_field.export, "invalid", f"expected {EXPECTED_FORMAT.get(kind, kind)}")
    return None


def _for_town(spec_field: FieldSpec, town_postcodes: Collection[str] | None) -> FieldSpec:
    """A postcode field with ``allowed_postcodes: town`` resolved to the town's postcodes."""
    if spec_field.type != "postcode" or spec_field.params.get("allowed_postcodes") != "town":
        return spec_field
    return replace(spec_field, params={**spec_field.params, "allowed_postcodes": sorted(town_postcodes or [])})


def _order_problems(spec: FormSpec, valid: dict[str, Any]) -> list[Problem]:
    """Dates that must not come before another one (``not_before``), as the dialogue checks them."""
    problems = []
    for spec_field in spec.fields:
        other_name = str(spec_field.params.get("not_before") or "")
        value, other_value = valid.get(spec_field.name), valid.get(other_name)
        if spec_field.type != "date" or not value or not other_value:
            continue
        if str(value) < str(other_value):  # both valid ISO dates: their text order is their date order
            other_export = spec.field(other_name).export
            problems.append(Problem(spec_field.export, "invalid", f"must not be before {other_export}"))
    return problems


def _condition_text(spec: FormSpec, spec_field: FieldSpec) -> str:
    condition = spec_field.when
    if condition is None:  # not reached: a field without a condition always applies
        return "field does not apply"
    other = spec.field(condition.field).export
    if condition.not_equals is not None:
        return f"applies only when {other} is not {json.dumps(condition.not_equals)}"
    return f"applies only when {other} is {json.dumps(condition.equals)}"
