"""Try before you publish (``/staff/preview``, role viewer): what the bot would answer, and why.

``GET /staff/preview?q=...`` answers with the live knowledge base. ``POST /staff/preview?entry=<kind>/<id>``
(the "Vorschau" button of an entry's edit page, htmx) answers as if the posted, unsaved edit were
saved. Three shapes of post are understood:

- the whole edit form of ``/staff/<kind>/<id>`` (recognised by its ``source_url`` field), read by the
  edit page's own ``knowledge_forms.form_to_entry``, plus a ``question`` field;
- single fields laid over the saved entry: ``name``, ``summary``, ``answer``, ...; list fields such as
  ``synonyms`` or ``questions`` one item per line; ``add_synonyms`` / ``add_questions`` add to them;
- ``entry_json``: the whole entry in interchange shape.

Nothing is saved (``answers.preview``).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ...answers.preview import EDITABLE_KINDS, Preview, preview
from ...core.clock import Clock
from ...core.deps import get_clock, get_session, get_settings_dep
from ...core.settings import Settings
from ...kb import editing, interchange
from ...kb.index import KnowledgeIndex, get_index
from ..core import ConsoleUser, NavItem, console_user, csrf_protected, render
from ..knowledge_forms import form_to_entry, german_errors

router = APIRouter()
NAV = [NavItem("Vorschau", "/staff/preview", "viewer", 40)]

MAX_QUESTION = 500
ENTRY_REF = re.compile(r"^(services|offices|faqs|notices)/([a-z0-9][a-z0-9-]{1,79})$")
LIST_FIELDS = frozenset({"synonyms", "questions", "documents", "prerequisites", "deadlines"})
TEXT_FIELDS = frozenset(
    {"name", "name_in_sentence", "summary", "description", "answer", "processing_time", "opening_hours", "title"}
)
KIND_LABELS = {"services": "Leistung", "offices": "Dienststelle", "faqs": "Häufige Frage", "notices": "Hinweis"}
TYPE_LABELS = {"service": "Leistung", "office": "Dienststelle", "faq": "Häufige Frage"}
STATUS_LABELS = {"answer": "Antwort", "clarify": "Rückfrage „Meinten Sie …?“", "unknown": "Keine gesicherte Antwort"}
REASON_LABELS = {
    "answer": "Der beste Treffer ist sicher genug für eine Antwort.",
    "clarify": "Der beste Treffer ist nicht sicher genug für eine Antwort: Der Bot fragt nach.",
    "below_clarify": "Kein Treffer ist sicher genug, um nachzufragen: Der Bot sagt, dass er es nicht weiß.",
    "low_coverage": (
        "Ein Treffer wäre sicher genug zum Nachfragen, aber die Frage besteht fast nur aus Wörtern, die in "
        "der Wissensbasis nicht vorkommen: Der Bot sagt, dass er es nicht weiß."
    ),
    "empty": "Die Frage enthält keine Wörter, nach denen gesucht werden kann.",
}
# The words of the edit pages (knowledge_forms.LABELS), so staff recognise their fields.
FIELD_LABELS = {
    "title": "Titel",
    "name": "Bezeichnung",
    "synonym": "Andere Wörter dafür",
    "summary": "Kurztext",
    "question": "Frageformulierung",
    "combined": "alle Texte zusammen",
}
TOPIC_LABELS = {
    "service": "Leistung allgemein",
    "opening_hours": "Öffnungszeiten",
    "contact": "Kontakt",
    "fees": "Kosten",
    "documents": "Unterlagen",
    "office": "Dienststelle",
    "faq": "Häufige Frage",
    "auto": "automatisch",
}


def _number(value: float) -> str:
    """German decimal comma, two places."""
    return f"{value:.2f}".replace(".", ",")


def _percent(value: float) -> str:
    return f"{round(value * 100)} %"


def _reasons(candidate: Any, mode: str) -> list[str]:
    """Why this candidate scored as it did, in plain German (one line per signal that mattered)."""
    lines = []
    dense = candidate.best_dense_text
    if dense is not None and mode != "lexical":
        lines.append(
            f"Bedeutung ähnlich ({_number(dense.value)}) zu {FIELD_LABELS.get(dense.field, dense.field)} „{dense.text}“"
        )
    for term in candidate.terms:
        where = ", ".join(FIELD_LABELS.get(field, field) for field in term.fields)
        if term.typo_of:
            lines.append(f"Tippfehler: „{term.typo_of}“ gelesen als „{term.term}“, gefunden in {where}")
        else:
            lines.append(f"Wort „{term.term}“ gefunden in {where}")
    char = candidate.best_char_text
    if char is not None and char.value >= 0.2:
        lines.append(
            f"Schreibweise ähnlich ({_number(char.value)}) zu {FIELD_LABELS.get(char.field, char.field)} „{char.text}“"
        )
    bias = candidate.contributions.get("type_bias", 0.0)
    if bias:
        lines.append(f"Zuschlag für die Art des Eintrags: {_number(bias)}")
    return lines or ["Kein Signal passt nennenswert."]


def _view(result: Preview) -> dict[str, Any]:
    """The template's view of a preview: labels and numbers already in German."""
    explanation = result.retry if result.retry_used and result.retry is not None else result.explanation
    candidates = [
        {
            "rank": c.rank,
            "title": c.hit.title,
            "id": c.hit.id,
            "type": TYPE_LABELS.get(c.hit.type, c.hit.type),
            "score": _number(c.hit.score),
            "confidence": _percent(c.hit.confidence),
            "signals": {name: _number(value) for name, value in c.signals.items()},
            "contributions": {name: _number(value) for name, value in c.contributions.items()},
            "reasons": _reasons(c, explanation.mode),
        }
        for c in explanation.candidates
    ]
    top = explanation.candidates[0].hit.confidence if explanation.candidates else 0.0
    return {
        "question": result.question,
        "status": result.answer.status,
        "status_label": STATUS_LABELS[result.answer.status],
        "text": result.answer.text,
        "source": result.answer.source,
        "choices": result.answer.choices,
        "unanswered": result.answer.unanswered,
        "out_of_scope": result.refused_if_out_of_scope,
        "topic": TOPIC_LABELS.get(result.topic, result.topic),
        "reduced_query": explanation.query if result.retry_used else None,
        "reason": (
            f"Die Frage nennt den Kandidaten „{result.named_candidate}“ beim Namen: Der Bot antwortet direkt dazu."
            if result.named_candidate
            else REASON_LABELS.get(explanation.reason, explanation.reason)
        ),
        "search_status": STATUS_LABELS[explanation.result.status],
        "top_confidence": _percent(top),
        "answer_threshold": _percent(explanation.answer_threshold),
        "clarify_threshold": _percent(explanation.clarify_threshold),
        "coverage": _percent(explanation.coverage),
        "min_coverage": _percent(explanation.min_coverage),
        "office_cue": explanation.office_cue,
        "mode": explanation.mode,
        "candidates": candidates,
        "edited": result.edited,
    }


def _page(
    request: Request,
    user: ConsoleUser,
    *,
    question: str,
    result: Preview | None,
    errors: dict[str, str],
    entry_ref: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    htmx = request.headers.get("HX-Request") == "true"
    context = {
        "question": question,
        "result": _view(result) if result is not None else None,
        "errors": errors,
        "entry_ref": entry_ref,
        "kind_labels": KIND_LABELS,
    }
    template = "preview/result.html" if htmx else "preview/page.html"
    return render(request, template, context, user, status_code=status_code)


def _question_error(question: str) -> str | None:
    if not question.strip():
        return "Frage: Bitte geben Sie eine Frage ein, wie ein Bürger sie stellen würde."
    if len(question) > MAX_QUESTION:
        return f"Frage: Bitte höchstens {MAX_QUESTION} Zeichen."
    return None


@router.get("/preview")
def preview_page(
    request: Request,
    q: Annotated[str, Query(max_length=2000)] = "",
    user: ConsoleUser = Depends(console_user("viewer")),
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    settings: Settings = Depends(get_settings_dep),
    clock: Clock = Depends(get_clock),
) -> HTMLResponse:
    """The question box; with ``q`` also what the bot would answer and why."""
    if not q:
        return _page(request, user, question="", result=None, errors={})
    problem = _question_error(q)
    if problem:
        return _page(request, user, question=q, result=None, errors={"q": problem}, status_code=422)
    result = preview(session, index, settings, q.strip(), clock=clock)
    return _page(request, user, question=q, result=result, errors={})


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


class FormProblems(ValueError):
    """The posted edit form cannot be read; German messages by field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def edited_entry(kind: str, current: dict[str, Any] | None, form: FormData) -> dict[str, Any]:
    """The entry as the unsaved edit has it (see the module docstring for the shapes of post).

    Raises:
        FormProblems: the edit form's fields cannot be read (messages by field, in German).
        ValueError: ``entry_json`` is not a JSON object (the message names the field).
    """
    if "source_url" in form:  # the entry's whole edit form
        values: dict[str, Any] = {}
        for key in form:
            items = [v for v in form.getlist(key) if isinstance(v, str)]
            values[key] = items if key == "responsible" else (items[0] if items else "")
        roles = {r["office"]: r.get("role", "zustaendige_stelle") for r in (current or {}).get("responsible", [])}
        entry, problems = form_to_entry(kind, values, roles)
        if problems:
            raise FormProblems(problems)
        return entry
    raw_json = form.get("entry_json")
    if isinstance(raw_json, str) and raw_json.strip():
        try:
            entry = json.loads(raw_json)
        except json.JSONDecodeError as exc:
            raise ValueError(f"Eintrag (JSON): kein gültiges JSON ({exc.msg}, Zeile {exc.lineno}).") from exc
        if not isinstance(entry, dict):
            raise ValueError("Eintrag (JSON): Es wird ein Objekt mit den Feldern des Eintrags erwartet.")
        return entry
    entry = dict(current or {})
    for name, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if name in LIST_FIELDS:
            entry[name] = _lines(value)
        elif name in TEXT_FIELDS:
            entry[name] = value.strip()
        elif name in ("add_synonyms", "add_questions"):
            target = name.removeprefix("add_")
            known = list(entry.get(target, []))
            entry[target] = known + [line for line in _lines(value) if line not in known]
    return {key: value for key, value in entry.items() if value not in ("", [])}


def _field_errors(kind: str, errors: list[str]) -> dict[str, str]:
    """Validation errors of the edit in German, by field, each marked as the unsaved change's."""
    return {name: f"Ungespeicherte Änderung – {message}" for name, message in german_errors(kind, errors).items()}


@router.post("/preview")
async def preview_edit(
    request: Request,
    entry: Annotated[str, Query(max_length=100)] = "",
    user: ConsoleUser = Depends(csrf_protected),
    _viewer: ConsoleUser = Depends(console_user("viewer")),
    session: Session = Depends(get_session),
    index: KnowledgeIndex = Depends(get_index),
    settings: Settings = Depends(get_settings_dep),
    clock: Clock = Depends(get_clock),
) -> HTMLResponse:
    """What the bot would answer if the posted edit of ``entry`` (``<kind>/<id>``) were saved; nothing is saved."""
    form = await request.form()
    question = str(form.get("question") or "").strip()
    ref = entry or str(form.get("entry") or "").strip()
    errors: dict[str, str] = {}
    problem = _question_error(question)
    if problem:
        errors["question"] = problem
    match = ENTRY_REF.match(ref)
    if match is None:
        errors["entry"] = (
            "Eintrag: Bitte in der Form „Art/Kennung“ angeben, z. B. „services/svc-hundesteuer“ "
            f"(Arten: {', '.join(EDITABLE_KINDS)})."
        )
    if errors:
        return _page(request, user, question=question, result=None, errors=errors, entry_ref=ref, status_code=422)
    assert match is not None
    kind, entry_id = match.group(1), match.group(2)
    try:
        edited = edited_entry(kind, editing.current_entry(session, kind, entry_id), form)
        edited["id"] = entry_id
        result = preview(session, index, settings, question, clock=clock, edit=(kind, edited))
    except FormProblems as exc:
        errors = {name: f"Ungespeicherte Änderung – {message}" for name, message in exc.errors.items()}
    except interchange.KbValidationError as exc:
        errors = _field_errors(kind, exc.errors)
    except ValueError as exc:
        errors = {"entry_json": str(exc)}
    if errors:
        return _page(request, user, question=question, result=None, errors=errors, entry_ref=ref, status_code=422)
    return _page(request, user, question=question, result=result, errors={}, entry_ref=ref)
