"""The knowledge forms: which fields each kind has, and the translation form <-> interchange entry.

Lists are edited one item per line; structured lists (fees, links, addresses) one item per line with
the parts separated by "|". Every message is German and starts with the field's label, so the page
can show it next to the field and in the error summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..kb import hours_check

SEP = " | "


@dataclass(frozen=True)
class FieldSpec:
    """One form field: its name (the entry's key), label, kind of input and a help text."""

    name: str
    label: str
    widget: str = "text"  # text, textarea, lines, date, datetime, checkbox, hours, fees, links, online,
    # addresses, responsible, office, service
    help: str = ""
    required: bool = False


ID = FieldSpec("id", "Kennung", help="Kleinbuchstaben, Ziffern und Bindestriche, z. B. svc-reisepass", required=True)
SOURCE = FieldSpec("source_url", "Quelle (Webseite)", help="Beginnt mit https://", required=True)
REVIEWED = FieldSpec("last_reviewed", "Zuletzt geprüft am", "date", required=True)
LINES_HELP = "Ein Eintrag pro Zeile."

FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "services": (
        ID,
        FieldSpec("name", "Bezeichnung", required=True),
        FieldSpec("leika_key", "LeiKa-Schlüssel", help="14 Ziffern, falls bekannt"),
        FieldSpec("synonyms", "Andere Wörter dafür", "lines", LINES_HELP + " So fragen Bürgerinnen und Bürger."),
        FieldSpec("summary", "Kurztext", "textarea", required=True),
        FieldSpec("description", "Volltext", "textarea"),
        FieldSpec("prerequisites", "Voraussetzungen", "lines", LINES_HELP),
        FieldSpec("documents", "Erforderliche Unterlagen", "lines", LINES_HELP),
        FieldSpec("fees", "Kosten", "fees", "Pro Zeile: Bezeichnung | Betrag in Euro | Einheit | Hinweis"),
        FieldSpec("deadlines", "Fristen", "lines", LINES_HELP),
        FieldSpec("processing_time", "Bearbeitungsdauer"),
        FieldSpec("legal_basis", "Rechtsgrundlagen", "lines", LINES_HELP),
        FieldSpec(
            "online_services",
            "Onlinedienste",
            "online",
            "Pro Zeile: Titel | https://... | Art (online_form, appointment, information oder download)",
        ),
        FieldSpec("responsible", "Zuständige Stellen", "responsible"),
        SOURCE,
        REVIEWED,
    ),
    "offices": (
        ID,
        FieldSpec("name", "Name", required=True),
        FieldSpec("name_in_sentence", "Name im Satz", help="Mit Artikel, z. B. „das Bürgerbüro“"),
        FieldSpec("synonyms", "Andere Wörter dafür", "lines", LINES_HELP),
        FieldSpec("description", "Beschreibung", "textarea"),
        FieldSpec(
            "addresses", "Anschriften", "addresses", "Pro Zeile: Art | Straße | PLZ | Ort (Art z. B. besucheranschrift)"
        ),
        FieldSpec("phone", "Telefon"),
        FieldSpec("email", "E-Mail"),
        FieldSpec("web", "Webseite", help="Beginnt mit https://"),
        FieldSpec("appointment_url", "Terminbuchung (Webseite)", help="Beginnt mit https://"),
        FieldSpec("accessibility", "Barrierefreiheit", "textarea"),
        FieldSpec(
            "opening_hours",
            "Öffnungszeiten",
            "hours",
            "Eine Regel pro Zeile im OpenStreetMap-Format, z. B. „Mo-Fr 08:00-12:00“, „Th 14:00-18:00“, "
            "„PH off“ (an Feiertagen geschlossen). Wochentage: Mo, Tu, We, Th, Fr, Sa, Su.",
        ),
        FieldSpec("opening_hours_note", "Hinweis zu den Öffnungszeiten", "textarea"),
        FieldSpec("regional_key", "Regionalschlüssel", help="12 Ziffern oder leer"),
        SOURCE,
        REVIEWED,
    ),
    "faqs": (
        ID,
        FieldSpec("questions", "Fragen", "lines", "Eine Frage pro Zeile, so wie Bürgerinnen und Bürger fragen.", True),
        FieldSpec("answer", "Antwort", "textarea", required=True),
        FieldSpec("links", "Links", "links", "Pro Zeile: Titel | https://..."),
        FieldSpec("service", "Gehört zur Leistung", "service"),
        FieldSpec("office", "Gehört zur Stelle", "office"),
        SOURCE,
        REVIEWED,
    ),
    "notices": (
        ID,
        FieldSpec("title", "Titel", required=True),
        FieldSpec("text", "Text", "textarea"),
        FieldSpec("office", "Betrifft die Stelle", "office", "Leer: betrifft alle Stellen"),
        FieldSpec("starts_at", "Von", "datetime", required=True),
        FieldSpec("ends_at", "Bis", "datetime", required=True),
        FieldSpec("closed", "In dieser Zeit geschlossen", "checkbox"),
        FieldSpec("source_url", "Quelle (Webseite)", help="Beginnt mit https://"),
        FieldSpec("last_reviewed", "Zuletzt geprüft am", "date"),
    ),
    "municipality": (
        FieldSpec("name", "Name", help="z. B. Stadt Musterstadt", required=True),
        FieldSpec("name_in_sentence", "Name im Satz", help="Mit Artikel, z. B. „die Stadt Musterstadt“"),
        FieldSpec("city", "Ort", help="Der kurze Ortsname, z. B. Musterstadt"),
        FieldSpec("phone", "Telefon"),
        FieldSpec("email", "E-Mail"),
        FieldSpec("web", "Webseite", help="Beginnt mit https://"),
        FieldSpec("regional_key", "Regionalschlüssel", help="12 Ziffern; die ersten beiden nennen das Bundesland"),
        FieldSpec("privacy_url", "Datenschutzerklärung (Webseite)", help="Beginnt mit https://"),
        FieldSpec("line_115", "Nimmt an der Behördennummer 115 teil", "checkbox"),
        FieldSpec("postcodes", "Postleitzahlen", "lines", LINES_HELP),
    ),
}
LABELS = {kind: {spec.name: spec.label for spec in specs} for kind, specs in FIELDS.items()}


def _parts(line: str) -> list[str]:
    return [part.strip() for part in line.split("|")]


def _nonempty_lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def entry_to_form(kind: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The form's values of an entry (strings; lists for the responsible offices)."""
    values: dict[str, Any] = {}
    for spec in FIELDS[kind]:
        value = entry.get(spec.name)
        if spec.widget == "lines":
            values[spec.name] = "\n".join(value or [])
        elif spec.widget == "fees":
            values[spec.name] = "\n".join(
                SEP.join(
                    [
                        fee["label"],
                        "" if fee.get("amount_eur") is None else f"{fee['amount_eur']:.2f}".replace(".", ","),
                        fee.get("unit", ""),
                        fee.get("note", ""),
                    ]
                ).rstrip(" |")
                for fee in value or []
            )
        elif spec.widget == "links":
            values[spec.name] = "\n".join(f"{link['title']}{SEP}{link['url']}" for link in value or [])
        elif spec.widget == "online":
            values[spec.name] = "\n".join(
                SEP.join([o["title"], o["url"], o.get("type", "")]).rstrip(" |") for o in value or []
            )
        elif spec.widget == "addresses":
            values[spec.name] = "\n".join(
                SEP.join([a["type"], a["street"], a["postcode"], a["city"], a.get("note", "")]).rstrip(" |")
                for a in value or []
            )
        elif spec.widget == "responsible":
            values[spec.name] = [r["office"] for r in value or []]
            values["_roles"] = {r["office"]: r.get("role", "zustaendige_stelle") for r in value or []}
        elif spec.widget == "hours":
            values[spec.name] = "\n".join(hours_check.lines_of(value or ""))
        elif spec.widget == "checkbox":
            values[spec.name] = bool(value) if value is not None else spec.name in ("closed", "line_115")
        else:
            values[spec.name] = "" if value is None else str(value)
    return values


def form_to_entry(kind: str, form: dict[str, Any], old_roles: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The interchange entry of submitted form values, and German errors by field for what cannot be read."""
    entry: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in FIELDS[kind]:
        raw = form.get(spec.name)
        text = raw.strip() if isinstance(raw, str) else ""
        label = spec.label
        if spec.widget == "checkbox":
            entry[spec.name] = raw in ("on", "true", "1")
        elif spec.widget == "responsible":
            offices = raw if isinstance(raw, list) else ([raw] if raw else [])
            if offices:
                entry["responsible"] = [
                    {"office": office, "role": old_roles.get(office, "zustaendige_stelle")} for office in offices
                ]
        elif spec.required and not text:
            errors[spec.name] = f"{label}: Bitte ausfüllen."
        elif not text:
            continue
        elif spec.widget == "lines":
            entry[spec.name] = _nonempty_lines(text)
        elif spec.widget == "hours":
            problem = hours_check.check(text)
            if problem:
                errors[spec.name] = f"{label}: {problem}"
            entry[spec.name] = hours_check.expression_of(text)
        elif spec.widget == "fees":
            fees = []
            for number, line in enumerate(_nonempty_lines(text), start=1):
                parts = _parts(line) + ["", "", ""]
                fee: dict[str, Any] = {"label": parts[0]}
                amount = parts[1].replace("€", "").replace(".", "").replace(",", ".").strip()
                if amount:
                    if not re.fullmatch(r"\d+(\.\d{1,2})?", amount):
                        errors[spec.name] = f"{label}: Zeile {number}: „{parts[1]}“ ist kein Betrag (z. B. 37,00)."
                        continue
                    fee["amount_eur"] = float(amount)
                else:
                    fee["amount_eur"] = None
                if parts[2]:
                    fee["unit"] = parts[2]
                if parts[3]:
                    fee["note"] = parts[3]
                fees.append(fee)
            entry[spec.name] = fees
        elif spec.widget in ("links", "online"):
            items = []
            for number, line in enumerate(_nonempty_lines(text), start=1):
                parts = _parts(line) + ["", ""]
                if not parts[0] or not parts[1]:
                    errors[spec.name] = f"{label}: Zeile {number}: bitte „Titel | https://...“ angeben."
                    continue
                item = {"title": parts[0], "url": parts[1]}
                if spec.widget == "online" and parts[2]:
                    item["type"] = parts[2]
                items.append(item)
            entry[spec.name] = items
        elif spec.widget == "addresses":
            addresses = []
            for number, line in enumerate(_nonempty_lines(text), start=1):
                parts = _parts(line) + [""]
                if len([p for p in parts[:4] if p]) < 4:
                    errors[spec.name] = f"{label}: Zeile {number}: bitte „Art | Straße | PLZ | Ort“ angeben."
                    continue
                address = {"type": parts[0], "street": parts[1], "postcode": parts[2], "city": parts[3]}
                if parts[4]:
                    address["note"] = parts[4]
                addresses.append(address)
            entry[spec.name] = addresses
        else:
            entry[spec.name] = text
    return entry, errors


# The schema's and reference checks' English messages, said in German for staff.
_MESSAGES = (
    (
        re.compile(r"does not match '\^https://'|is not valid under any of the given schemas"),
        "muss mit https:// beginnen.",
    ),
    (re.compile(r"is a required property"), "Bitte ausfüllen."),
    (re.compile(r"should be non-empty|is too short"), "ist zu kurz."),
    (re.compile(r"is too long"), "ist zu lang."),
    (re.compile(r"is not one of"), "hat einen Wert, der nicht erlaubt ist."),
    (re.compile(r"unknown office"), "unbekannte Stelle."),
    (re.compile(r"unknown service"), "unbekannte Leistung."),
    (re.compile(r"must be after starts_at"), "muss nach dem Beginn liegen."),
    (re.compile(r"has non-unique elements"), "enthält einen Eintrag doppelt."),
    (re.compile(r"does not match"), "hat nicht das erwartete Format."),
)


def german_errors(kind: str, errors: list[str]) -> dict[str, str]:
    """The validation errors of ``kb/editing`` by field, in German, each starting with the field's label."""
    result: dict[str, str] = {}
    labels = LABELS[kind]
    for error in errors:
        found = re.search(r"field (?:municipality/)?([a-z_]+)(?:/(\d+))?[^:]*: (.*)", error)
        name = found.group(1) if found else "id"
        if found and name == "municipality":
            name = "name"
        label = labels.get(name, name)
        message = next((german for pattern, german in _MESSAGES if found and pattern.search(found.group(3))), None)
        line = f"Zeile {int(found.group(2)) + 1}: " if found and found.group(2) else ""
        result.setdefault(name, f"{label}: {line}{message or 'ist ungültig.'}")
    return result
