"""The generic form engine: one pure step per citizen message, driven by a FormSpec.

No rasa import here: the state is a JSON-able dict kept in the Rasa slot ``form_data``, and
``step`` returns the new state, the messages to show before the next question, and an outcome.
Values may come in any order and several at once: every turn we first take values that are
recognisable anywhere (chip numbers, IBANs, e-mail addresses, "12345 Musterstadt", street names) or
that follow a cue word ("Chip ...", "geboren am ..."), and give what is left of the message to the
field we asked for.

The town is data: the spec's texts hold placeholders (``{town}``, ``{city}``, ``{email}``,
``{office}``) that are filled from the town's facts kept in the state (``state["town"]``, read
from the knowledge service when the form starts); a postcode field with ``allowed_postcodes: town``
accepts the town's postcodes. Without those facts the texts stay neutral (see ``fill``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from kumpel_forms import parsing

# One field's parser lives in kumpel_forms.fields: the knowledge service re-checks submissions with it.
from kumpel_forms.fields import CHOICE_TYPES, FREE_TEXT_TYPES, date_checked, expected, parse_field
from kumpel_forms.grammar import InSentence
from kumpel_forms.parsing import Invalid, ParseResult, Valid
from kumpel_forms.spec import FieldSpec, FormSpec

CONFIRM = "_confirm"
CORRECT = "_correct"
MAX_MESSAGE_CHARS = 1000
DUPLICATE_WINDOW_SECONDS = 3.0

CANCEL = re.compile(
    r"^\s*(bitte\s+)?(abbrechen|abbruch|stopp?|cancel|beenden|aufhören|aufhoeren|vergiss es|"
    r"ich (möchte|will|moechte) (nicht mehr|abbrechen|aufhören)|(formular|anmeldung|abmeldung|vorgang) abbrechen)\b",
    re.IGNORECASE,
)
CORRECTION = re.compile(
    r"(falsch|korrigier\w*|korrektur|änder\w*|aender\w*|stimmt nicht|berichtig\w*|vertippt|fehler)", re.IGNORECASE
)
QUESTION_START = re.compile(
    r"^\s*(wann|wo|wie|was|welche[rsnm]?|wer|warum|wieso|weshalb|wieviel|wie ?viel|muss ich|kann ich|darf ich|"
    r"gibt es|brauche ich|habt ihr|haben sie)\b",
    re.IGNORECASE,
)
FILLER = re.compile(
    r"^(und|also|ähm|äh|hm+|ok|okay|ja|gut|so|der|die|das|es|ist|sind|name|heißt|heisst|mein|meine|sein|ihr)$",
    re.IGNORECASE,
)
DELIMITER = re.compile(r",(?!\d)|[;\n]|\s+und\s+|\s+sowie\s+|[.!?](?=\s|$)")
NOT_A_BREED = frozenset({"hund", "hündin", "huendin", "rüde", "ruede", "welpe", "tier", "junge", "mädchen", "jahr"})

IBAN_LIKE = re.compile(r"\b([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30})\b", re.IGNORECASE)
CHIP_LIKE = re.compile(r"(?<![\d])(\d(?:[ \-.]?\d){9,19})(?![\d])")
EMAIL_LIKE = re.compile(r"[^\s<>,;:()\"']+@[^\s<>,;:()\"']+")
POSTCODE_CITY = re.compile(r"(?<!\d)(\d{5})\s+([A-Za-zÄÖÜäöüß][a-zäöüß\-]+)")
STREET_SUFFIXES = (
    r"(?:straße|strasse|str\.|weg|platz|allee|ring|gasse|wall|damm|ufer|markt|pfad|chaussee|hof|steg|kamp)"
)
STREET_LIKE = re.compile(
    r"((?:[A-ZÄÖÜ][\wäöüß\-]*\s){0,3}[\wäöüß\-]*" + STREET_SUFFIXES + r"\s*\d{1,4}\s?[a-zA-Z]?)(?![\w])",
    re.IGNORECASE,
)
STREET_BEFORE_POSTCODE = re.compile(
    r"([A-ZÄÖÜa-zäöüß][^,\n\d]{1,60}?\s\d{1,4}\s?[a-zA-Z]?)\s*,?\s*(?=\d{5}\s+[A-Za-zÄÖÜäöü])"
)


# ---------------------------------------------------------------- the town in the texts
TOWN_KEYS = ("town", "city", "email", "office", "state")
# Said when the town's facts are unknown (knowledge service down): true for every town.
UNKNOWN_TOWN = "Ihre Stadtverwaltung"
UNKNOWN_CITY = "Ihrer Stadt"
UNKNOWN_OFFICE = "die zuständige Stelle"
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ„{])")
# A sentence of state law: "{if_state:NW}..." is said only in that state (the town's, from its
# regional key), "{unless_state:NW}..." everywhere else, also where the state is not known.
STATE_MARK = re.compile(r"\{(if|unless)_state:([A-Z]{2})\}")
POSTCODE_FORMAT = re.compile(r"^\d{5}$")


def town_facts(body: Any) -> dict[str, Any]:
    """The town's facts from the knowledge service's ``GET /api/v1/forms/{form}/town`` (JSON-able,
    checked: strings, and 5-digit postcodes); {} for anything else (the texts then stay neutral)."""
    if not isinstance(body, dict):
        return {}
    facts: dict[str, Any] = {key: str(body.get(key) or "").strip() for key in TOWN_KEYS}
    postcodes = body.get("postcodes")
    facts["postcodes"] = sorted(
        {str(code) for code in postcodes if POSTCODE_FORMAT.match(str(code))} if isinstance(postcodes, list) else set()
    )
    return facts


class _Visible(dict[str, str]):
    """A format mapping that leaves unknown placeholders as they are ("{reference}", "{other}")."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(text: str, town: dict[str, Any] | None, **extra: str) -> str:
    """A spec text with the town's facts (``{town}``, ``{city}``, ``{email}``, ``{office}``) and
    ``extra`` values filled in; other placeholders stay visible for a later ``format``.

    Unknown facts never produce a wrong sentence: a sentence with ``{email}`` is left out, "die
    Stadt {city}" becomes "Ihre Stadtverwaltung", " in {city}" and ", {city}" are left out,
    ``{town}`` is "Ihre Stadtverwaltung", ``{office}`` "die zuständige Stelle".
    """
    if not text or ("{" not in text):
        return text
    facts = town or {}
    if "_state:" in text:
        text = _for_state(text, str(facts.get("state") or ""))
    if not facts.get("email") and "{email}" in text:
        text = " ".join(sentence for sentence in SENTENCE.split(text) if "{email}" not in sentence)
    if not facts.get("city") and "{city}" in text:
        stand_in = str(facts.get("town") or UNKNOWN_TOWN)
        text = re.sub(
            r"\b([Dd])ie Stadt \{city\}",
            lambda m: stand_in[:1].upper() + stand_in[1:] if m.group(1) == "D" else stand_in,
            text,
        )
        text = re.sub(r"(\s+in|,)\s+\{city\}", "", text)
    # Names in a sentence can be declined by the text: "an {town:acc}", "bei {office:dat}", "{town:cap}".
    values = _Visible(
        town=InSentence(facts.get("town") or UNKNOWN_TOWN),
        city=str(facts.get("city") or UNKNOWN_CITY),
        email=str(facts.get("email") or ""),
        office=InSentence(facts.get("office") or UNKNOWN_OFFICE),
    )
    values.update(extra)
    try:
        return text.format_map(values)
    except (ValueError, IndexError, AttributeError):  # a stray brace: better the text unfilled than no text
        return text


def _for_state(text: str, state: str) -> str:
    """The text without the sentences marked for another state (see STATE_MARK), markers removed."""
    kept = []
    for sentence in SENTENCE.split(text):
        mark = STATE_MARK.search(sentence)
        if mark is not None:
            kind, code = mark.groups()
            if (state == code) != (kind == "if"):
                continue
            sentence = STATE_MARK.sub("", sentence).strip()
        kept.append(sentence)
    return " ".join(kept)


def _field_for_town(spec_field: FieldSpec, town: dict[str, Any]) -> FieldSpec:
    params = {key: fill(value, town) if isinstance(value, str) else value for key, value in spec_field.params.items()}
    if spec_field.type == "postcode":
        if spec_field.params.get("allowed_postcodes") == "town":
            params["allowed_postcodes"] = list(town.get("postcodes") or [])  # empty: no check
        if spec_field.params.get("city") in (None, "town"):
            params["city"] = str(town.get("city") or UNKNOWN_CITY)
    return replace(
        spec_field,
        prompt=fill(spec_field.prompt, town),
        hint=fill(spec_field.hint, town) if spec_field.hint else spec_field.hint,
        params=params,
    )


def for_town(spec: FormSpec, town: dict[str, Any] | None) -> FormSpec:
    """The spec as the citizen of this town reads it: texts filled, the town's postcodes allowed.

    ``town`` is ``state["town"]`` (None or {} when unknown). Applying it twice changes nothing.
    """
    facts = town or {}
    return replace(
        spec,
        fields=tuple(_field_for_town(spec_field, facts) for spec_field in spec.fields),
        submitted_text=fill(spec.submitted_text, facts),
        cancelled_text=fill(spec.cancelled_text, facts),
        declined_text=fill(spec.declined_text, facts),
        summary_intro=fill(spec.summary_intro, facts),
        params={key: fill(value, facts) if isinstance(value, str) else value for key, value in spec.params.items()},
    )


def submitted_text(spec: FormSpec, state: dict[str, Any], reference: str) -> str:
    """The closing text after a submission, with the town's facts and the reference."""
    return fill(spec.submitted_text, state.get("town"), reference=reference)


@dataclass
class StepResult:
    state: dict[str, Any]
    messages: list[str] = field(default_factory=list)
    # "continue" | "confirmed" | "cancelled" | "declined" | "question"
    outcome: str = "continue"


def new_state(spec: FormSpec, town: dict[str, Any] | None = None) -> dict[str, Any]:
    """A fresh form; ``town``: the town's facts (``town_facts``), {} when unknown."""
    return {
        "form": spec.form,
        "values": {},
        "pending": spec.fields[0].name,
        "last_text": "",
        "last_at": 0.0,
        "town": dict(town or {}),
    }


def normalise(text: str) -> str:
    """Drop emoji and control characters, collapse whitespace (values are checked afterwards)."""
    kept = [
        ch for ch in text or "" if ch == "\n" or (unicodedata.category(ch) not in {"So", "Cs", "Co", "Cn", "Cf", "Cc"})
    ]
    return re.sub(r"[ \t]+", " ", "".join(kept)).strip()


def next_pending(spec: FormSpec, values: dict[str, Any]) -> str:
    for spec_field in spec.active_fields(values):
        if values.get(spec_field.name) is None:
            return spec_field.name
    return CONFIRM


def active_values(spec: FormSpec, values: dict[str, Any]) -> dict[str, Any]:
    """Values of the fields that apply (an IBAN is dropped when the citizen later declines SEPA)."""
    return {f.name: values[f.name] for f in spec.active_fields(values) if values.get(f.name) is not None}


# ---------------------------------------------------------------- extraction from free text
@dataclass
class Extraction:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    consumed: list[tuple[int, int]] = field(default_factory=list)

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self.consumed)

    def take(self, spec_field: FieldSpec, start: int, end: int, result: ParseResult, report: bool = True) -> None:
        self.consumed.append((start, end))
        if isinstance(result, Valid):
            self.values[spec_field.name] = result.value
            self.errors.pop(spec_field.name, None)
        elif report and spec_field.name not in self.values:
            self.errors[spec_field.name] = result.message


def _cue_pattern(cue: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\wäöüß])" + re.escape(cue) + r"(?![\wäöüß])\s*[:=]?\s*", re.IGNORECASE)


def _segment_after(text: str, start: int) -> tuple[int, int]:
    match = DELIMITER.search(text, start)
    return start, (match.start() if match else len(text))


def extract(spec: FormSpec, text: str, pending: str | None, values: dict[str, Any], today: date) -> Extraction:
    """Find values for all applicable fields in one message."""
    found = Extraction()
    fields = [f for f in spec.fields if spec.is_active(f, {**values})]
    by_type: dict[str, list[FieldSpec]] = {}
    for spec_field in fields:
        by_type.setdefault(spec_field.type, []).append(spec_field)

    # 1. Values recognisable anywhere by their shape.
    for match in IBAN_LIKE.finditer(text):
        if not re.search(r"\d{6}", match.group(1).replace(" ", "")):
            continue
        if "iban" in by_type:
            found.take(by_type["iban"][0], match.start(), match.end(), parsing.parse_iban(match.group(1)))
        else:
            found.consumed.append((match.start(), match.end()))
    for match in EMAIL_LIKE.finditer(text):
        if "email" in by_type and found.free(match.start(), match.end()):
            found.take(by_type["email"][0], match.start(), match.end(), parsing.parse_email(match.group(0)))
    if "chip" in by_type:
        for match in CHIP_LIKE.finditer(text):
            digits = re.sub(r"\D", "", match.group(1))
            if found.free(match.start(), match.end()) and 12 <= len(digits) <= 18:
                found.take(by_type["chip"][0], match.start(), match.end(), parsing.parse_chip_number(digits))
    if "postcode" in by_type:
        postcode_field = by_type["postcode"][0]
        for match in POSTCODE_CITY.finditer(text):
            if found.free(match.start(), match.end()):
                found.take(
                    postcode_field, match.start(), match.end(), parse_field(postcode_field, match.group(1), today)
                )
    if "street" in by_type:
        street_field = by_type["street"][0]
        for pattern in (STREET_BEFORE_POSTCODE, STREET_LIKE):
            street = pattern.search(text)
            if street and found.free(street.start(1), street.end(1)) and street_field.name not in found.values:
                result = parsing.parse_street(_strip_cues(street_field, street.group(1)))
                found.take(street_field, street.start(1), street.end(1), result, report=False)

    # 2. Dates: a cue word just before a date names its field; otherwise the pending date field.
    date_fields = by_type.get("date", [])
    if date_fields:
        pending_date = next((f for f in date_fields if f.name == pending), None)
        for start, end, result in parsing.find_dates(text, today):
            if not found.free(start, end):
                continue
            window = text[max(0, start - 40) : start].lower()
            window = re.split(r"[,;\n]|\bund\b", window)[-1]
            target = _cued_field(date_fields, window) or pending_date
            if target is None or target.name in found.values:
                continue
            found.take(target, start, end, date_checked(target, result, today))
            if target is pending_date:
                pending_date = None

    # 3. Cue words for everything else ("Chip 276...", "Rasse: Labrador", "er heißt Bello").
    for spec_field in fields:
        if spec_field.type == "date" or spec_field.name in found.values:
            continue
        for cue in sorted(spec_field.cues, key=len, reverse=True):
            cue_match = next((m for m in _cue_pattern(cue).finditer(text) if found.free(m.start(), m.end())), None)
            if not cue_match:
                continue
            seg_start, seg_end = _segment_after(text, cue_match.end())
            segment = text[seg_start:seg_end].strip()
            if spec_field.type == "chip":
                number = re.match(r"[\d \-./]+", segment)
                segment = number.group(0) if number else segment
                seg_end = seg_start + len(segment)
            if not segment or not found.free(seg_start, seg_end):
                continue
            if spec_field.type == "text" and cue in {"ein", "eine", "ist ein", "ist eine"}:
                first = segment.split(" ")[0]
                # German nouns are capitalised; a message typed all in lower case gets the benefit of the doubt.
                capitalised = first[:1].isupper() or text == text.lower()
                if not capitalised or first.lower() in NOT_A_BREED:
                    continue
            result = parse_field(spec_field, segment, today)
            free_text = spec_field.type in FREE_TEXT_TYPES
            if isinstance(result, Valid) or (not free_text and re.search(r"\d", segment)):
                found.take(spec_field, cue_match.start(), seg_end, result)
                break
    return found


def _cued_field(date_fields: list[FieldSpec], window: str) -> FieldSpec | None:
    best: tuple[int, FieldSpec] | None = None
    for spec_field in date_fields:
        for cue in spec_field.cues:
            position = window.rfind(cue)
            if position >= 0 and (best is None or position > best[0]):
                best = (position, spec_field)
    return best[1] if best else None


def _strip_cues(spec_field: FieldSpec, text: str) -> str:
    for cue in sorted(spec_field.cues, key=len, reverse=True):
        text = _cue_pattern(cue).sub("", text, count=1)
    return text


def leftover(text: str, consumed: list[tuple[int, int]], cues: tuple[str, ...] = ()) -> str:
    """What is left for the question we asked: the message without the parts already used.

    When other values were taken from the message ("Luna, Hündin, geb. 01.02.2023"), only the first
    remaining part counts, without cue and filler words; otherwise the whole message.
    """
    if not consumed:
        return text.strip()
    chars = list(text)
    for start, end in consumed:
        for index in range(start, min(end, len(chars))):
            chars[index] = " "
    rest = "".join(chars)
    for cue in sorted(cues, key=len, reverse=True):
        rest = _cue_pattern(cue).sub(" ", rest)
    for part in DELIMITER.split(rest):
        words = [
            word.strip(",.;:!-")
            for word in re.split(r"\s+", part or "")
            if word.strip(",.;:!-") and not FILLER.match(word.strip(",.;:!-"))
        ]
        if words:
            return " ".join(words)
    return ""


# ---------------------------------------------------------------- the step
def step(
    spec: FormSpec,
    state: dict[str, Any] | None,
    text: str,
    *,
    today: date,
    intent: str | None = None,
    intent_confidence: float = 0.0,
    now_ts: float = 0.0,
    town: dict[str, Any] | None = None,
) -> StepResult:
    """Process one message of the citizen for the form ``spec``.

    ``town``: the town's facts for a form that starts now (kept in the state); a running form uses
    the facts in its state.
    """
    if not state or state.get("form") != spec.form:
        return StepResult(new_state(spec, town))
    state = {**state, "values": dict(state.get("values") or {})}
    spec = for_town(spec, state.get("town"))
    values: dict[str, Any] = state["values"]
    pending = state.get("pending") or next_pending(spec, values)
    raw = text or ""
    message = normalise(raw)

    # A message sent twice in a row (double click, network retry) must not fill the next field.
    duplicate = (
        message
        and message == state.get("last_text")
        and now_ts - float(state.get("last_at") or 0.0) < DUPLICATE_WINDOW_SECONDS
        and state.get("last_filled")
        and (pending in {CONFIRM, CORRECT} or spec.field(pending).type not in CHOICE_TYPES)
    )
    state.update(last_text=message, last_at=now_ts, last_filled=False)
    if duplicate:
        return StepResult(state)
    if len(raw) > MAX_MESSAGE_CHARS:
        return StepResult(state, ["Ihre Nachricht ist sehr lang. Bitte antworten Sie kurz auf meine Frage."])
    if not message:
        return StepResult(state, ["Ich habe keine Antwort erhalten."])

    if CANCEL.match(message) or (
        intent == "stop"
        and intent_confidence >= 0.9
        and len(message) < 40
        and not _answers(spec, pending, message, values, today)
        and not parsing.is_non_answer(message)  # "Nein" to a name is refused politely, no cancel
    ):
        return StepResult(state, [spec.cancelled_text], "cancelled")

    looks_like_question = message.endswith("?") or bool(QUESTION_START.match(message))
    first = spec.fields[0]
    if pending == first.name and looks_like_question:
        return StepResult(state, [], "question")
    if pending == first.name:
        result = parse_field(first, message, today)
        if isinstance(result, Invalid):
            return StepResult(state, ["Bitte antworten Sie mit „Ja“, wenn Sie einverstanden sind, sonst mit „Nein“."])
        if result.value is False:
            return StepResult(state, [spec.declined_text], "declined")
        values[first.name] = True
        state.update(pending=next_pending(spec, values), last_filled=True)
        return StepResult(state)

    correcting = _correction(spec, state, message, pending)
    if correcting == CORRECT:
        return StepResult(state)
    if correcting:
        pending = correcting

    found = extract(spec, message, pending, values, today)
    if looks_like_question and not found.values and not correcting:
        return StepResult(state, [], "question")

    messages: list[str] = []
    rest = leftover(message, found.consumed, tuple(cue for f in spec.fields for cue in f.cues))
    if pending == CONFIRM:
        if not found.values and not found.errors:
            answer = parsing.parse_yes_no(rest)
            if isinstance(answer, Valid) and answer.value:
                return StepResult(state, [], "confirmed")
            if isinstance(answer, Valid):
                state["pending"] = CORRECT
                return StepResult(state, [])
            example = spec.params.get("correction_example", "Der Name ist falsch")
            return StepResult(
                state,
                [f"Bitte bestätigen Sie mit „Ja“ – oder sagen Sie mir, was falsch ist, zum Beispiel „{example}“."],
            )
    elif pending == CORRECT:
        if not found.values:
            return StepResult(state, ["Das habe ich nicht zuordnen können. Welche Angabe möchten Sie ändern?"])
    elif correcting:
        if correcting not in found.values:
            messages.append(f"Gut, dann korrigieren wir: {spec.field(correcting).label}.")
    else:
        target = spec.field(pending)
        if target.name not in found.values and rest:
            result = parse_field(target, rest, today)
            if isinstance(result, Valid):
                found.values[target.name] = result.value
                found.errors.pop(target.name, None)
            elif not found.values or target.type not in FREE_TEXT_TYPES:
                # A yes/no or choice parser can only say "Ja oder Nein": the field's hint says more.
                hinted = target.hint if target.hint and target.type in CHOICE_TYPES else None
                found.errors.setdefault(target.name, hinted or result.message)
        implied = implied_answer(spec, target, message, values, today, found.values.get(target.name))
        if implied:
            found.values.update(implied.values)
            found.errors.pop(target.name, None)
            found.errors.update(implied.errors)

    new_values = dict(found.values)
    values.update(new_values)
    messages.extend(found.errors.values())
    messages.extend(_cross_checks(spec, values, set(new_values), today))
    state["last_filled"] = bool(new_values)
    state["pending"] = next_pending(spec, values)
    if not messages and not new_values and pending not in {CONFIRM, CORRECT} and state["pending"] == pending:
        # Nothing in the message fitted the question (e.g. an IBAN to the name question): say what
        # is expected instead of just asking the same question again.
        messages.append(expected(spec.field(pending), today))
    return StepResult(state, messages)


def implied_answer(
    spec: FormSpec,
    target: FieldSpec,
    message: str,
    values: dict[str, Any],
    today: date,
    answered: Any = None,
) -> Extraction | None:
    """A yes/no question answered by implication: the value of the field it opens.

    An IBAN typed to "Möchten Sie per SEPA-Lastschrift bezahlen?" answers "yes" (the field ``iban``
    has ``when: {field: sepa_mandate, equals: true}``) and fills the IBAN; a date typed to
    "Wissen Sie das Geburtsdatum?" answers "yes" and fills the date. Only fields whose values are
    recognisable by their form count (no free text: "vielleicht" is no name). A recognised but
    wrong value ("DE89 ... 01") still answers the question; its error message is returned.
    When the message also says yes or no (``answered``: "Ja gerne, meine IBAN ist DE89 ..."), only
    that answer is tried, and only values recognisable anywhere are taken (not the "Ja" itself).
    Returns the values (the answer and the dependent value) and errors, or None.
    """
    if target.type != "yes_no":
        return None
    cues = tuple(cue for f in spec.fields for cue in f.cues)
    for answer in (True, False) if answered is None else (answered,):
        assumed = {**values, target.name: answer}
        for dependent in spec.fields:
            if (
                dependent.when is None
                or dependent.when.field != target.name
                or not dependent.when.holds(assumed)
                or dependent.type in FREE_TEXT_TYPES
                or assumed.get(dependent.name) is not None
            ):
                continue
            found = extract(spec, message, dependent.name, assumed, today)
            value = found.values.get(dependent.name)
            error = found.errors.get(dependent.name)
            if value is None and error is None and answered is None:
                rest = leftover(message, found.consumed, cues)
                result = parse_field(dependent, rest, today) if rest else None
                value = result.value if isinstance(result, Valid) else None
            if value not in (None, "") or error is not None:
                implied = Extraction(values={target.name: answer})
                if value not in (None, ""):
                    implied.values[dependent.name] = value
                else:
                    implied.errors[dependent.name] = str(error)
                return implied
    return None


def _answers(spec: FormSpec, pending: str, message: str, values: dict[str, Any], today: date) -> bool:
    """True when the message is a valid answer to the pending question ("Nein" is no "stop")."""
    if pending in {CONFIRM, CORRECT}:
        return isinstance(parsing.parse_yes_no(message), Valid)
    target = spec.field(pending)
    if isinstance(parse_field(target, message, today), Valid):
        return True
    return implied_answer(spec, target, message, values, today) is not None  # an IBAN to the SEPA question


def _cross_checks(spec: FormSpec, values: dict[str, Any], changed: set[str], today: date) -> list[str]:
    """Relations between fields (joined not before born) and deadline warnings; may clear a value."""
    messages: list[str] = []
    for spec_field in spec.fields:
        value = values.get(spec_field.name)
        if spec_field.type != "date" or not value:
            continue
        other_name = spec_field.params.get("not_before")
        other = values.get(other_name) if other_name else None
        if other and value < other and (spec_field.name in changed or other_name in changed):
            template = spec_field.params.get("not_before_message", "Das Datum darf nicht vor {other} liegen.")
            messages.append(template.format(other=parsing.format_date(date.fromisoformat(other))))
            values[spec_field.name] = None
            continue
        deadline = spec_field.params.get("deadline_days")
        if (
            deadline
            and spec_field.name in changed
            and date.fromisoformat(value) + timedelta(days=int(deadline)) < today
        ):
            messages.append(str(spec_field.params["deadline_warning"]).strip())
    return messages


def _correction(spec: FormSpec, state: dict[str, Any], message: str, pending: str) -> str | None:
    """'Die Chipnummer ist falsch' -> forget that value, return its field name to ask it again.

    Returns CORRECT when the citizen wants to correct something without saying what, and None when
    the message is no correction.
    """
    values = state["values"]
    if pending != CORRECT and not CORRECTION.search(message):
        return None
    lowered = message.lower()
    candidates = [
        f
        for f in spec.active_fields(values)
        if f.name != spec.fields[0].name
        and any(re.search(r"(?<![\wäöüß])" + re.escape(alias) + r"(?![\wäöüß])", lowered) for alias in f.aliases)
    ]
    if not candidates:
        if pending == CORRECT:
            return None  # maybe a new value: handled by extraction
        if CORRECTION.search(message) and len(message) < 60:
            state["pending"] = CORRECT
            return CORRECT
        return None
    # A new value in the same message ("Die Chipnummer ist falsch, richtig ist 276...") is taken
    # by the extraction; otherwise the field is asked again.
    target = max(candidates, key=lambda f: max(len(a) for a in f.aliases if a in lowered))
    values[target.name] = None
    for dependent in spec.fields:
        if dependent.when and dependent.when.field == target.name:
            values[dependent.name] = None
    state["pending"] = target.name
    return target.name


# ---------------------------------------------------------------- what the bot says
def format_value(spec_field: FieldSpec, value: Any) -> str:
    if value == "" or value is None:
        return "keine Angabe" if spec_field.type != "date" else "unbekannt"
    if spec_field.type in {"consent", "yes_no"}:
        return "Ja" if value else "Nein"
    if spec_field.type == "date":
        return parsing.format_date(date.fromisoformat(value))
    if spec_field.type == "iban":
        return parsing.format_iban(value, masked=True)
    if spec_field.type == "choice":
        return next((str(o["label"]) for o in spec_field.options if o["value"] == value), str(value))
    if spec_field.type == "meter_reading":
        return f"{str(value).replace('.', ',')} m³"
    return str(value)


def summary_text(spec: FormSpec, values: dict[str, Any], estimate_text: str | None = None) -> str:
    lines = [spec.summary_intro]
    for spec_field in spec.active_fields(values)[1:]:
        lines.append(f"• {spec_field.label}: {format_value(spec_field, values.get(spec_field.name))}")
    if estimate_text:
        lines.append("")
        lines.append(estimate_text)
    lines.append("")
    example = spec.params.get("correction_example", "Der Name ist falsch")
    lines.append(
        "Stimmt alles? Dann antworten Sie mit „Ja“ und ich sende die Angaben ab. Wenn etwas falsch ist, "
        f"sagen Sie es mir, zum Beispiel „{example}“."
    )
    return "\n".join(lines)


def prompt_for(spec: FormSpec, state: dict[str, Any], estimate_text: str | None = None) -> dict[str, Any]:
    """Text and buttons for the question the form asks next (in the words of the state's town)."""
    spec = for_town(spec, state.get("town"))
    values = state.get("values") or {}
    pending = state.get("pending") or next_pending(spec, values)
    if pending == CONFIRM:
        return {
            "text": summary_text(spec, values, estimate_text),
            "buttons": [
                {"title": "Ja, absenden", "payload": "Ja, absenden"},
                {"title": "Etwas korrigieren", "payload": "Korrigieren"},
                {"title": "Abbrechen", "payload": "abbrechen"},
            ],
        }
    if pending == CORRECT:
        filled = [f for f in spec.active_fields(values)[1:] if values.get(f.name) is not None and f.aliases]
        return {
            "text": "Welche Angabe möchten Sie ändern?",
            "buttons": [{"title": f.label, "payload": f"{f.aliases[0].capitalize()} ändern"} for f in filled][:10],
        }
    spec_field = spec.field(pending)
    reply: dict[str, Any] = {"text": spec_field.prompt}
    if spec_field.type in {"consent", "yes_no"}:
        reply["buttons"] = [{"title": "Ja", "payload": "Ja"}, {"title": "Nein", "payload": "Nein"}]
    elif spec_field.type == "choice":
        reply["buttons"] = [{"title": str(o["label"]), "payload": str(o["label"])} for o in spec_field.options]
    elif spec_field.optional:
        reply["buttons"] = [{"title": "Keine Angabe", "payload": "keine Angabe"}]
    return reply


def export_data(spec: FormSpec, values: dict[str, Any]) -> dict[str, Any]:
    """The submission's data keyed by export (FIM-aligned) names: only fields that apply."""
    return {f.export: values[f.name] for f in spec.active_fields(values) if values.get(f.name) is not None}
