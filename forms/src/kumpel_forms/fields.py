"""One field's value from text: the spec's field type picks its parser (``parsing``).

The dialogue (actions/forms/engine.py) parses what a citizen types with ``parse_field``; the
knowledge service re-parses what the engine exported with the same function
(``validation.validate_submission``), so both sides accept exactly the same values.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from kumpel_forms import parsing
from kumpel_forms.parsing import Invalid, ParseResult, Valid
from kumpel_forms.spec import FieldSpec

FREE_TEXT_TYPES = frozenset({"person_name", "short_name", "text", "street"})
CHOICE_TYPES = frozenset({"consent", "yes_no", "choice"})
SKIP_WORDS = re.compile(
    r"^\s*(keine?|keine angabe|unbekannt|weiß (ich )?nicht|weiss (ich )?nicht|keine ahnung|nein|-|überspringen|"
    r"ueberspringen|möchte ich nicht|moechte ich nicht)\s*$",
    re.IGNORECASE,
)


def parse_field(spec_field: FieldSpec, text: str, today: date) -> ParseResult:
    """Parse ``text`` as a value of ``spec_field``; values are JSON-able (dates as ISO strings)."""
    kind = spec_field.type
    if spec_field.optional and SKIP_WORDS.match(text or ""):
        return Valid("")
    if kind in FREE_TEXT_TYPES and parsing.is_non_answer(text):
        return Invalid(f"Das kann ich leider nicht als Antwort aufnehmen. {expected(spec_field, today)}")
    if kind in {"consent", "yes_no"}:
        return parsing.parse_yes_no(text)
    if kind == "person_name":
        return parsing.parse_person_name(text)
    if kind == "short_name":
        return parsing.parse_short_name(text)
    if kind == "text":
        return parsing.parse_text(text, int(spec_field.params.get("max_length", parsing.MAX_TEXT)))
    if kind == "street":
        return parsing.parse_street(text)
    if kind == "postcode":
        allowed = spec_field.params.get("allowed_postcodes")
        # "town" not yet resolved (no town known) or an empty list: any 5-digit postcode.
        allowed_set = frozenset(allowed) if isinstance(allowed, list) and allowed else None
        return parsing.parse_postcode(text, allowed_set, spec_field.params.get("city", "der Stadt"))
    if kind == "email":
        return parsing.parse_email(text)
    if kind == "date":
        return as_iso(parsing.parse_date(text, today, **date_limits(spec_field)))
    if kind == "chip":
        return parsing.parse_chip_number(text)
    if kind == "iban":
        return parsing.parse_iban(text)
    if kind == "count":
        return parsing.parse_count(text, int(spec_field.params.get("maximum", 20)))
    if kind == "choice":
        return parsing.parse_choice(text, list(spec_field.options))
    if kind == "tag_number":
        return parsing.parse_tag_number(text)
    if kind == "meter_number":
        return parsing.parse_meter_number(text)
    if kind == "meter_reading":
        return parsing.parse_meter_reading(text)
    raise ValueError(kind)


def expected(spec_field: FieldSpec, today: date) -> str:
    """One sentence saying what the field expects: its spec's ``hint``, else its parser's message."""
    if spec_field.hint:
        return spec_field.hint
    result = parse_field(spec_field, "", today)
    return result.message if isinstance(result, Invalid) else spec_field.prompt


def date_limits(spec_field: FieldSpec) -> dict[str, Any]:
    """A date field's limits from its spec (defaults: not in the future, at most 40 years back)."""
    return {
        "allow_future": bool(spec_field.params.get("allow_future", False)),
        "max_age_years": int(spec_field.params.get("max_age_years", 40)),
    }


def as_iso(result: ParseResult) -> ParseResult:
    """A valid date as its ISO string (what the form stores); an invalid one unchanged."""
    return Valid(result.value.isoformat()) if isinstance(result, Valid) else result


def date_checked(spec_field: FieldSpec, result: ParseResult, today: date) -> ParseResult:
    """A date found in a message, checked against the field's limits, as its ISO string."""
    return as_iso(parsing.check_date(result, today, **date_limits(spec_field)))
