"""The console's home page ``/staff/``: one card per area the user may open."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ..core import ConsoleUser, NavItem, console_user, nav_for, render

router = APIRouter()
NAV: list[NavItem] = []

# One plain sentence per area, for the modules whose menu entry brings none of its own.
DESCRIPTIONS = {
    "/staff/services": "Was die Stadt anbietet: Beschreibung, Unterlagen, Kosten, zuständige Stelle.",
    "/staff/offices": "Ämter und Bürgerbüros mit Öffnungszeiten, Anschrift und Zuständigkeiten.",
    "/staff/faqs": "Fragen und Antworten, die Kumpel wörtlich so beantwortet.",
    "/staff/notices": "Schließungen und Hinweise mit Zeitraum, zum Beispiel an Brückentagen.",
    "/staff/municipality": "Name, Kontakt und Bundesland der Stadt (für Feiertage und Antworttexte).",
    "/staff/preview": "Eine Frage ausprobieren und sehen, was Kumpel antworten würde – auch vor dem Speichern.",
    "/staff/submissions": "Eingegangene Formulare ansehen, filtern, exportieren und als erledigt markieren.",
    "/staff/dashboard": "Wie viele Fragen, welche Themen, welche Antworten gut oder schlecht bewertet wurden.",
    "/staff/export": "Die ganze Wissensbasis als Datei herunterladen.",
    "/staff/import": "Eine Wissensbasis-Datei einlesen – mit Vorschau, was sich ändern würde.",
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: ConsoleUser = Depends(console_user("viewer"))) -> HTMLResponse:
    """Short cards linking to the areas (from every page module's ``NAV``)."""
    areas = [
        item if item.description else replace(item, description=DESCRIPTIONS.get(item.path, ""))
        for item in nav_for(user)
    ]
    return render(request, "home/index.html", {"areas": areas}, user)
