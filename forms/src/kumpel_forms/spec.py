"""Declarative form specs: one YAML file per form in ``kumpel_forms/specs/``.

A spec names the form, its privacy notice, its fields (type, prompt, summary label, export name,
conditions, cue words) and its closing texts. The generic engine (actions/forms/engine.py) does
the rest; the knowledge service reads the same specs to know the forms and check their submissions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

SPEC_DIR = Path(__file__).resolve().parent / "specs"

FIELD_TYPES = frozenset(
    {
        "consent",
        "yes_no",
        "person_name",
        "short_name",
        "text",
        "street",
        "postcode",
        "email",
        "date",
        "chip",
        "iban",
        "count",
        "choice",
        "tag_number",
        "meter_number",
        "meter_reading",
    }
)


class SpecError(ValueError):
    """A form spec is malformed (raised when it is loaded, so a bad spec never reaches a citizen)."""


@dataclass(frozen=True)
class Condition:
    """Ask a field only when another field has (or has not) a given value."""

    field: str
    equals: Any = None
    not_equals: Any = None

    def holds(self, values: dict[str, Any]) -> bool:
        if values.get(self.field) is None:
            return False
        if self.not_equals is not None:
            return bool(values[self.field] != self.not_equals)
        return bool(values[self.field] == self.equals)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    prompt: str
    label: str
    export: str
    optional: bool = False
    when: Condition | None = None
    aliases: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()
    options: tuple[dict[str, Any], ...] = ()
    # What the field expects, in one polite sentence: said when a message gives nothing for it
    # (or only "Nein" / "keine Ahnung" to a name or text); without it, the parser's own message.
    hint: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def has_buttons(self) -> bool:
        return self.type in {"consent", "yes_no", "choice"} or self.optional


# A message with one of these words asks how, where or when something is done, not to do it now; where it
# stands does not matter ("Wie melde ich meinen Hund an?", "hundesteuer anmelden wo").
QUESTION_WORDS = frozenset(
    {"wie", "wo", "wann", "welche", "welcher", "welches", "welchen", "wohin", "woher", "wieviel", "wieso", "warum"}
    | {"wer", "wem", "wen", "weshalb", "wozu", "wofür", "wofuer", "womit"}
    # an asked question told as a statement: "Ich möchte wissen, ob ich meinen Hund anmelden muss",
    # "Ich habe eine Frage zur Anmeldung meines Hundes"
    | {"ob", "wissen", "frage", "fragen", "auskunft", "info", "infos", "information", "informationen"}
)
QUESTION_PHRASES = ("was muss", "was brauche", "was kostet")
# A message that names a kind of fact without asking ("Hundesteuer abmelden Nachweis Tierarzt") may want
# that fact or the form: unclear, so it is asked (folded and unfolded spellings; matched as word starts).
FACT_WORDS = (
    *("unterlage", "nachweis", "dokument", "kosten", "gebühr", "gebuehr", "frist", "pflicht", "strafe"),
    *("nötig", "noetig", "notwendig", "erforderlich"),
)
# "Was passiert, wenn ich den Hund nicht anmelde?": "was" asks when it opens a clause (elsewhere it
# may be "etwas": "Ich will was anmelden").
CLAUSE_QUESTION_WORDS = frozenset({"was"})
# A message that ends with "?" asks whether or how it can be done, not to do it now: "Kann ich die
# Anmeldung auch per Mail schicken?", "Muss der Hund angemeldet werden?", "Hund verstorben, abmelden
# nötig?". Without the mark, a modal verb first and then "ich", "man" or "wir" asks too ("Unser Hund ist
# gestorben, muss ich ihn abmelden"); each clause counts.
MODAL_OPENERS = frozenset(
    {"kann", "koennen", "können", "muss", "muß", "muessen", "müssen", "darf", "duerfen", "dürfen", "soll", "sollen"}
    | {"sollte", "sollten", "koennte", "könnte", "koennten", "könnten", "brauche", "brauchen"}
    | {"würden", "wuerden", "würdest", "wuerdest"}
)
MODAL_SUBJECTS = frozenset({"ich", "man", "wir"})
# ... unless it asks the bot to do it ("Können Sie meinen Hund anmelden?") or to do it here and now
# ("Kann ich meinen Hund hier im Chat anmelden?"): that is a request.
ADDRESSED = frozenset({"sie", "du", "ihr"})
HERE_AND_NOW = frozenset({"hier", "jetzt", "gleich", "direkt", "sofort", "chat"})


Wish = Literal["do", "ask", "unclear"]


@dataclass(frozen=True)
class StartSpec:
    """How a form starts: only when the citizen asks to *do* it (``words``: stems of such verbs)
    and the knowledge base agrees that the form's service is meant; otherwise ``question`` asks,
    with a button to start (``button``) and one for information only (``info_button``)."""

    words: tuple[str, ...]
    question: str
    button: str
    info_button: str

    def wish(self, text: str) -> Wish:
        """What the message wants: to do it now ("do": a verb of doing, as "anmelden" or "melde ... an"),
        to know something about it ("ask": a question how, where or when it is done, "Wie gebe ich den
        Zählerstand durch?", or whether it can or must be done, "Kann ich die Anmeldung auch per Mail
        schicken?"), or either ("unclear": no verb of doing, "Hundesteuer für einen Hund", or a kind of
        fact named without a question, "Hundesteuer anmelden Unterlagen")."""
        lowered = " ".join(text.lower().split())
        tokens = re.findall(r"\w+", lowered)
        if QUESTION_WORDS.intersection(tokens) or any(p in lowered for p in QUESTION_PHRASES):
            return "ask"
        clauses = [words for words in (re.findall(r"\w+", c) for c in re.split(r"[,.;:!?]+", lowered)) if words]
        here_and_now = bool(HERE_AND_NOW.intersection(tokens))
        asks_the_bot = any(len(w) > 1 and w[0] in MODAL_OPENERS and w[1] in ADDRESSED for w in clauses)
        if re.search(r"\?\W*$", lowered) and not (here_and_now or asks_the_bot):
            return "ask"
        for words in clauses:
            if words[0] in CLAUSE_QUESTION_WORDS:
                return "ask"
            if not here_and_now and len(words) > 1 and words[0] in MODAL_OPENERS and words[1] in MODAL_SUBJECTS:
                return "ask"
        if any(token.startswith(FACT_WORDS) for token in tokens):
            return "unclear"
        return "do" if any(word in lowered for word in self.words) else "unclear"


@dataclass(frozen=True)
class FormSpec:
    form: str
    title: str
    fields: tuple[FieldSpec, ...]
    submitted_text: str
    cancelled_text: str
    declined_text: str
    summary_intro: str
    estimate: bool = False
    start: StartSpec | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def loop_name(self) -> str:
        """Name of the Rasa form (loop) in domain.yml."""
        return f"{self.form}_form"

    def field(self, name: str) -> FieldSpec:
        for spec_field in self.fields:
            if spec_field.name == name:
                return spec_field
        raise KeyError(name)

    def is_active(self, spec_field: FieldSpec, values: dict[str, Any]) -> bool:
        return spec_field.when is None or spec_field.when.holds(values)

    def active_fields(self, values: dict[str, Any]) -> list[FieldSpec]:
        return [spec_field for spec_field in self.fields if self.is_active(spec_field, values)]


def _field_from_dict(raw: dict[str, Any], form: str) -> FieldSpec:
    missing = [key for key in ("name", "type", "prompt", "label", "export") if key not in raw]
    if missing:
        raise SpecError(f"{form}: field {raw.get('name', '?')} lacks {', '.join(missing)}")
    if raw["type"] not in FIELD_TYPES:
        raise SpecError(f"{form}: field {raw['name']} has unknown type {raw['type']!r}")
    when = raw.get("when")
    condition = Condition(when["field"], when.get("equals"), when.get("not_equals")) if when else None
    options = tuple(raw.get("options") or ())
    if raw["type"] == "choice" and not options:
        raise SpecError(f"{form}: choice field {raw['name']} needs options")
    hint = raw.get("hint")
    if hint is not None and (not isinstance(hint, str) or not hint.strip()):
        raise SpecError(f"{form}: field {raw['name']} has an empty or non-text hint")
    known = {"name", "type", "prompt", "label", "export", "optional", "when", "aliases", "cues", "options", "hint"}
    return FieldSpec(
        name=raw["name"],
        type=raw["type"],
        prompt=str(raw["prompt"]).strip(),
        label=raw["label"],
        export=raw["export"],
        optional=bool(raw.get("optional", False)),
        when=condition,
        aliases=tuple(str(alias).lower() for alias in raw.get("aliases") or ()),
        cues=tuple(str(cue).lower() for cue in raw.get("cues") or ()),
        options=options,
        hint=" ".join(hint.split()) if hint else None,
        params={key: value for key, value in raw.items() if key not in known},
    )


def parse_spec(raw: dict[str, Any]) -> FormSpec:
    """Build and check a FormSpec from its YAML mapping."""
    form = raw.get("form")
    if not form:
        raise SpecError("spec without 'form'")
    fields = tuple(_field_from_dict(item, form) for item in raw.get("fields") or ())
    names = [spec_field.name for spec_field in fields]
    if len(set(names)) != len(names):
        raise SpecError(f"{form}: duplicate field names")
    for spec_field in fields:
        if spec_field.when and spec_field.when.field not in names[: names.index(spec_field.name)]:
            raise SpecError(f"{form}: {spec_field.name} depends on {spec_field.when.field}, which must come before it")
        after = spec_field.params.get("not_before")
        if after and after not in names:
            raise SpecError(f"{form}: {spec_field.name} refers to unknown field {after}")
    if not fields or fields[0].type != "consent":
        raise SpecError(f"{form}: the first field must be the privacy consent")
    known = {
        "form",
        "title",
        "fields",
        "submitted_text",
        "cancelled_text",
        "declined_text",
        "summary_intro",
        "estimate",
        "start",
    }
    start = raw.get("start")
    return FormSpec(
        form=form,
        title=raw["title"],
        fields=fields,
        submitted_text=str(raw["submitted_text"]).strip(),
        cancelled_text=str(raw["cancelled_text"]).strip(),
        declined_text=str(raw["declined_text"]).strip(),
        summary_intro=str(raw.get("summary_intro") or "Bitte prüfen Sie Ihre Angaben:").strip(),
        estimate=bool(raw.get("estimate", False)),
        start=StartSpec(
            words=tuple(str(word).lower() for word in start["words"]),
            question=str(start["question"]).strip(),
            button=str(start["button"]),
            info_button=str(start["info_button"]),
        )
        if start
        else None,
        params={key: value for key, value in raw.items() if key not in known},
    )


@cache
def load_spec(form: str) -> FormSpec:
    """The spec of one form by name (``dog_tax_registration``), read once per process."""
    path = SPEC_DIR / f"{form}.yml"
    if not path.is_file():
        raise KeyError(form)
    with path.open(encoding="utf-8") as handle:
        return parse_spec(yaml.safe_load(handle))


def all_forms() -> list[str]:
    return sorted(path.stem for path in SPEC_DIR.glob("*.yml"))


def spec_for_loop(loop_name: str | None) -> FormSpec | None:
    """The spec of a Rasa form loop name (``dog_tax_registration_form``), or None."""
    if not loop_name or not loop_name.endswith("_form"):
        return None
    try:
        return load_spec(loop_name.removesuffix("_form"))
    except KeyError:
        return None
