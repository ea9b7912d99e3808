"""One XZuFi 2.2 object (Leistung, Organisationseinheit, Onlinedienst, Zuständigkeit) as kumpel-kb/1 fields.

No official XZuFi 2.2 XSD was available offline, so the parts used here are checked strictly by hand
instead: required elements present, codes from the code lists below, amounts numeric, postcodes five
digits, links https, texts within the knowledge base's limits. Elements the knowledge base does not
use are ignored, so a richer export still reads. Every problem names file, line, object and element.

Code lists (the codes read; anything else is reported or, where harmless, ignored as noted):
- leikaTextmodul (urn:xoev-de:fim:codeliste:xzufi.leikatextmodul): 02 Leistungsbezeichnung,
  03 Leistungsbezeichnung II, 05 Kurztext, 06 Volltext, 07 Rechtsgrundlage(n), 08 Erforderliche
  Unterlagen, 09 Voraussetzungen; Kosten, Fristen and Bearbeitungsdauer have modules of their own.
- Zuständigkeit rolle: 01 zuständige Stelle, 03 Ansprechpunkt (others are not citizen contacts).
- kommunikation kanal (XÖV Erreichbarkeit): 01 E-Mail, 02 Telefon, 03 Mobiltelefon, 04 Fax.
- anschrift typ: 001 Hausanschrift, 002 Postfach, 003 Besucheranschrift, 004 Lieferanschrift,
  005 Postanschrift.
- onlinedienst link typ: 01 Antrag (online form), 02 Information, 03 Formular zum Herunterladen,
  04 Terminvereinbarung.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from .hours import DayHours, HoursError, to_osm
from .html_text import html_to_items, html_to_text
from .regions import RegionError, significant_prefix

NS = "http://xoev.de/schemata/xzufi/2_2_0"
XZUFI = "{" + NS + "}"

TEXT_MODULES = {
    "02": "name",
    "03": "name_alt",
    "05": "summary",
    "06": "description",
    "07": "legal_basis",
    "08": "documents",
    "09": "prerequisites",
}
ROLES = {"01": "zustaendige_stelle", "03": "ansprechpunkt"}
ADDRESS_TYPES = {
    "001": "hausanschrift",
    "002": "postfach",
    "003": "besucheranschrift",
    "004": "lieferanschrift",
    "005": "postanschrift",
}
LINK_TYPES = {"01": "online_form", "02": "information", "03": "download", "04": "appointment"}
# The knowledge base's limits (kumpel-kb/1 schema), checked here so the error names the XZuFi element.
NAME_MAX, SUMMARY_MAX, TEXT_MAX, ITEM_MAX, PHONE_MAX, URL_MAX = 300, 2000, 20000, 2000, 80, 500
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
_POSTCODE = re.compile(r"^\d{5}$")
_LEIKA = re.compile(r"^\d{14}$")
_AMOUNT = re.compile(r"^\d+([.,]\d+)?$")
_XMLNS = re.compile(r"\s+xmlns(:[\w.-]+)?=\"[^\"]*\"")
_PREFIX = re.compile(r"<(/?)[\w.-]+:")


@dataclass
class Issues:
    """Every problem found, as 'FILE:LINE: <object type> <id>: <element>: message'."""

    errors: list[str] = field(default_factory=list)

    def add(self, source: str, element: Any, obj: str, element_name: str, message: str) -> None:
        line = getattr(element, "sourceline", None) or "?"
        self.errors.append(f"{source}:{line}: {obj}: {element_name}: {message}")


@dataclass(frozen=True)
class Zustaendigkeit:
    """A Zuständigkeit: which office (or online service) answers for which Leistung, where."""

    zid: str
    owner_id: str  # the Organisationseinheit (or Onlinedienst) the Zuständigkeit belongs to
    leistung_id: str
    role: str | None  # None: a role that is no citizen contact
    gebiete: tuple[str, ...]


@dataclass
class ObjectRef:
    """An object as read: its kind, XZuFi id, element and file label (for messages)."""

    kind: str  # leistung, organisationseinheit, onlinedienst, zustaendigkeitTransferObjekt
    xid: str
    element: Any
    source: str


def local(element: Any) -> str:
    """The element's name without namespace ('' for comments)."""
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def children(element: Any, name: str) -> list[Any]:
    """Direct children in the XZuFi namespace."""
    return list(element.iterchildren(XZUFI + name))


def child(element: Any, name: str) -> Any | None:
    found = children(element, name)
    return found[0] if found else None


def text_of(element: Any | None) -> str:
    """The element's own text, stripped ('' for a missing element)."""
    if element is None:
        return ""
    return str(element.text or "").strip()


def code_of(element: Any | None) -> str:
    """The code of an XÖV code element (<code> without namespace, or in the XZuFi namespace)."""
    if element is None:
        return ""
    found = element.find("code")
    if found is None:
        found = element.find(XZUFI + "code")
    return text_of(found)


def german(elements: list[Any]) -> Any | None:
    """The German one of several localized texts (languageCode de, de-DE, or none given), else the first."""
    for element in elements:
        language = str(element.get("languageCode") or "").lower()
        if language.startswith("de"):
            return element
    for element in elements:
        if not element.get("languageCode"):
            return element
    return elements[0] if elements else None


def gebiete_of(element: Any) -> tuple[str, ...]:
    """The object's own Gebiet keys (gebietID / gueltigkeitGebietID)."""
    return tuple(text_of(g) for name in ("gebietID", "gueltigkeitGebietID") for g in children(element, name))


def reviewed_of(element: Any) -> str | None:
    """The date the object was last changed (versionsinformation), else its fachliche Freigabe."""
    version = child(element, "versionsinformation")
    release = child(element, "modulFachlicheFreigabe")
    candidates = [
        child(version, "geaendertDatumZeit") if version is not None else None,
        child(version, "erstelltDatumZeit") if version is not None else None,
        child(release, "fachlichFreigegebenAm") if release is not None else None,
    ]
    for candidate in candidates:
        value = text_of(candidate)[:10]
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            continue
    return None


def https_url(value: str) -> bool:
    return value.startswith("https://") and len(value) <= URL_MAX and not any(c.isspace() for c in value)


# ---- Leistung ---------------------------------------------------------------------------------


def map_leistung(ref: ObjectRef, issues: Issues) -> dict[str, Any]:
    """The service fields of a Leistung (without id, responsible, online services and source fallback)."""
    element, obj = ref.element, f"leistung {ref.xid}"
    entry: dict[str, Any] = {}
    leika = [code_of(r) for r in children(element, "referenzLeiKa")]
    if leika:
        if not _LEIKA.match(leika[0]):
            issues.add(
                ref.source,
                child(element, "referenzLeiKa"),
                obj,
                "referenzLeiKa",
                f"LeiKa key {leika[0]!r} is not 14 digits",
            )
        else:
            entry["leika_key"] = leika[0]
    texts = _text_modules(ref, issues)
    name = texts.get("name") or texts.get("name_alt")
    if not name:
        issues.add(ref.source, element, obj, "modulText", "no Leistungsbezeichnung (leikaTextmodul 02) with text")
    else:
        entry["name"] = _bounded(
            " ".join(html_to_text(name[1]).split()), NAME_MAX, ref, name[0], obj, issues, _module("name"), 2
        )
    description = html_to_text(texts["description"][1]) if "description" in texts else ""
    if description:
        entry["description"] = _bounded(
            description, TEXT_MAX, ref, texts["description"][0], obj, issues, _module("description")
        )
    summary = html_to_text(texts["summary"][1]) if "summary" in texts else ""
    if summary:
        entry["summary"] = _bounded(summary, SUMMARY_MAX, ref, texts["summary"][0], obj, issues, _module("summary"))
    else:
        # The knowledge base needs a summary; without a Kurztext the Volltext's first line, else the name, stands in.
        fallback = description.split("\n", 1)[0] if description else entry.get("name", "")
        if fallback:
            entry["summary"] = _shorten(fallback, SUMMARY_MAX)
    for key in ("legal_basis", "documents", "prerequisites"):
        if key in texts:
            entry[key] = _items(html_to_items(texts[key][1]), ref, texts[key][0], obj, issues, _module(key))
    fees = _fees(ref, issues)
    if fees:
        entry["fees"] = fees
    deadlines = _module_items(ref, "modulFrist", "frist", issues)
    if deadlines:
        entry["deadlines"] = deadlines
    processing = _module_items(ref, "modulBearbeitungsdauer", "bearbeitungsdauer", issues)
    if processing:
        entry["processing_time"] = " ".join(processing)
    for portal in children(element, "modulUrsprungsportal"):
        uri = text_of(child(portal, "uri"))
        if uri and https_url(uri):
            entry["source_url"] = uri
            break
        if uri:
            issues.add(ref.source, portal, obj, "modulUrsprungsportal/uri", f"{uri!r} is not an https URL")
    return entry


def _module(key: str) -> str:
    """'modulText (leikaTextmodul 06)' for a field, to name the element in a message."""
    code = next(code for code, field_name in TEXT_MODULES.items() if field_name == key)
    return f"modulText (leikaTextmodul {code})"


def _text_modules(ref: ObjectRef, issues: Issues) -> dict[str, tuple[Any, str]]:
    """The German content of each text module used, by field, with its element (for messages)."""
    found: dict[str, tuple[Any, str]] = {}
    obj = f"leistung {ref.xid}"
    for module in children(ref.element, "modulText"):
        code = code_of(child(module, "leikaTextmodul"))
        if not code:
            issues.add(ref.source, module, obj, "modulText/leikaTextmodul", "text module without a code")
            continue
        key = TEXT_MODULES.get(code)
        if key is None:
            continue  # Verfahrensablauf, Hinweise, Urheber ...: not part of the knowledge base
        content = german(children(module, "inhalt"))
        if content is None or (not text_of(content) and len(content) == 0):
            continue
        raw = _inner_html(content)
        if key in found:  # several modules of one kind: their texts run on
            found[key] = (found[key][0], found[key][1] + "\n" + raw)
        else:
            found[key] = (content, raw)
    return found


def _inner_html(element: Any) -> str:
    """The text module's content as the HTML it carries: escaped HTML text, or (rarely) child elements."""
    if len(element) == 0:
        return str(element.text or "")
    inner = str(element.text or "") + "".join(etree.tostring(c, encoding="unicode") for c in element)
    return _PREFIX.sub(r"<\1", _XMLNS.sub("", inner))


def _fees(ref: ObjectRef, issues: Issues) -> list[dict[str, Any]]:
    obj = f"leistung {ref.xid}"
    fees: list[dict[str, Any]] = []
    for module in children(ref.element, "modulKosten"):
        for index, cost in enumerate(children(module, "kosten"), start=1):
            where = f"modulKosten/kosten[{index}]"
            description = german(children(cost, "beschreibung"))
            label = " ".join(html_to_text(_inner_html(description)).split()) if description is not None else ""
            label = label or "Gebühr"
            fixed, low, high = (child(cost, name) for name in ("betrag", "betragUntergrenze", "betragObergrenze"))
            if fixed is not None:
                amount = _amount(fixed, ref, f"{where}/betrag", issues)
                if amount is not None:
                    fees.append({"label": label, "amount_eur": amount})
            elif low is not None or high is not None:
                lower = _amount(low, ref, f"{where}/betragUntergrenze", issues) if low is not None else None
                upper = _amount(high, ref, f"{where}/betragObergrenze", issues) if high is not None else None
                if lower is not None and upper is not None and upper < lower:
                    issues.add(
                        ref.source, high, obj, f"{where}/betragObergrenze", "the upper bound is below the lower bound"
                    )
                # A range is no fixed amount: the knowledge base keeps it as text in the label.
                fees.append({"label": f"{label} ({_range_text(lower, upper)})", "amount_eur": None})
            else:
                fees.append({"label": label})
        general = german(children(module, "beschreibung"))
        if general is not None:
            # Fees stated only as text (no amount): each line is one entry, its text the label.
            fees.extend({"label": _shorten(line, ITEM_MAX)} for line in html_to_items(_inner_html(general)))
    return fees


def _amount(element: Any, ref: ObjectRef, where: str, issues: Issues) -> float | None:
    value = text_of(element)
    if not _AMOUNT.match(value):
        issues.add(ref.source, element, f"leistung {ref.xid}", where, f"{value!r} is not an amount in EUR (e.g. 37.00)")
        return None
    try:
        return float(Decimal(value.replace(",", ".")))
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        return None


def _euro(value: float) -> str:
    return f"{value:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") + " Euro"


def _range_text(lower: float | None, upper: float | None) -> str:
    if lower is not None and upper is not None:
        return f"{_euro(lower)} bis {_euro(upper)}"
    if lower is not None:
        return f"ab {_euro(lower)}"
    return f"bis {_euro(upper or 0.0)}"


def _module_items(ref: ObjectRef, module_name: str, item_name: str, issues: Issues) -> list[str]:
    """The texts of a Frist or Bearbeitungsdauer module: its items' and its own beschreibung, as lines."""
    lines: list[str] = []
    for module in children(ref.element, module_name):
        holders = [*children(module, item_name), module]
        for holder in holders:
            description = german(children(holder, "beschreibung"))
            if description is not None:
                lines.extend(html_to_items(_inner_html(description)))
    return _items(lines, ref, ref.element, f"leistung {ref.xid}", issues, where=module_name)


def _items(
    items: list[str], ref: ObjectRef, element: Any, obj: str, issues: Issues, where: str = "modulText"
) -> list[str]:
    for item in items:
        if len(item) > ITEM_MAX:
            issues.add(ref.source, element, obj, where, f"an entry has {len(item)} characters, at most {ITEM_MAX} fit")
    return [item for item in items if len(item) <= ITEM_MAX]


def _bounded(
    text: str, limit: int, ref: ObjectRef, element: Any, obj: str, issues: Issues, where: str, minimum: int = 1
) -> str:
    if len(text) > limit:
        issues.add(ref.source, element, obj, where, f"the text has {len(text)} characters, at most {limit} fit")
    elif len(text) < minimum:
        issues.add(ref.source, element, obj, where, f"the text has fewer than {minimum} characters")
    return text[:limit]


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


# ---- Organisationseinheit ---------------------------------------------------------------------


def map_organisationseinheit(ref: ObjectRef, issues: Issues) -> dict[str, Any]:
    """The office fields of an Organisationseinheit (without id and source fallback)."""
    element, obj = ref.element, f"organisationseinheit {ref.xid}"
    entry: dict[str, Any] = {}
    name_element = child(element, "name")
    name_text = german(children(name_element, "name")) if name_element is not None else None
    name = " ".join(text_of(name_text if name_text is not None else name_element).split())
    if len(name) < 2:
        issues.add(ref.source, name_element if name_element is not None else element, obj, "name", "no name")
    elif len(name) > NAME_MAX:
        issues.add(
            ref.source, name_element, obj, "name", f"the name has {len(name)} characters, at most {NAME_MAX} fit"
        )
    else:
        entry["name"] = name
    description = german(children(element, "beschreibung"))
    if description is not None and html_to_text(_inner_html(description)):
        text = html_to_text(_inner_html(description))
        entry["description"] = _bounded(text, TEXT_MAX, ref, description, obj, issues, "beschreibung")
    addresses = [a for a in (_address(a, ref, issues) for a in children(element, "anschrift")) if a]
    if addresses:
        entry["addresses"] = addresses
    for anschrift in children(element, "anschrift"):
        coding = child(anschrift, "verwaltungspolitischeKodierung")
        key = code_of(child(coding, "regionalschluessel")) if coding is not None else ""
        if re.fullmatch(r"\d{12}", key):
            entry["regional_key"] = key
            break
    _communication(ref, entry, issues)
    _opening_hours(ref, entry, issues)
    return entry


def _address(anschrift: Any, ref: ObjectRef, issues: Issues) -> dict[str, Any] | None:
    obj = f"organisationseinheit {ref.xid}"
    code = code_of(child(anschrift, "typ")) or "001"  # without a type, the address is the building's
    kind = ADDRESS_TYPES.get(code)
    if kind is None:
        issues.add(ref.source, anschrift, obj, "anschrift/typ", f"unknown address type {code!r} (001 to 005)")
        return None
    postcode = text_of(child(anschrift, "postleitzahl"))
    city = text_of(child(anschrift, "ort"))
    if kind == "postfach":
        street = f"Postfach {text_of(child(anschrift, 'postfach'))}".strip()
    else:
        street = " ".join(
            p for p in (text_of(child(anschrift, "strasse")), text_of(child(anschrift, "hausnummer"))) if p
        )
    problems = [
        ("anschrift/postleitzahl", f"postcode {postcode!r} is not five digits")
        if not _POSTCODE.match(postcode)
        else None,
        ("anschrift/ort", "no place (ort)") if not city else None,
        ("anschrift/strasse", "no street") if street in ("", "Postfach") else None,
    ]
    for problem in problems:
        if problem:
            issues.add(ref.source, anschrift, obj, *problem)
    if any(problems):
        return None
    address: dict[str, Any] = {"type": kind, "street": street, "postcode": postcode, "city": city}
    note = " ".join(text_of(child(anschrift, "zusatz")).split())
    if note:
        address["note"] = note
    return address


def _communication(ref: ObjectRef, entry: dict[str, Any], issues: Issues) -> None:
    obj = f"organisationseinheit {ref.xid}"
    for kommunikation in children(ref.element, "kommunikation"):
        channel = code_of(child(kommunikation, "kanal"))
        value = " ".join(text_of(child(kommunikation, "kennung")).split())
        if not value:
            continue
        if channel == "01" and "email" not in entry:
            if not _EMAIL.match(value):
                issues.add(
                    ref.source, kommunikation, obj, "kommunikation/kennung", f"{value!r} is not an e-mail address"
                )
            else:
                entry["email"] = value
        elif channel in ("02", "03") and "phone" not in entry:
            if len(value) > PHONE_MAX:
                issues.add(
                    ref.source,
                    kommunikation,
                    obj,
                    "kommunikation/kennung",
                    f"the number has more than {PHONE_MAX} characters",
                )
            else:
                entry["phone"] = value
    for address in children(ref.element, "internetadresse"):
        uri = text_of(child(address, "uri"))
        if not uri:
            continue
        if not https_url(uri):
            issues.add(ref.source, address, obj, "internetadresse/uri", f"{uri!r} is not an https URL")
        elif "web" not in entry:
            entry["web"] = uri


def _opening_hours(ref: ObjectRef, entry: dict[str, Any], issues: Issues) -> None:
    """Structured hours become OSM syntax; texts (and hours that are only text) the note."""
    obj = f"organisationseinheit {ref.xid}"
    notes: list[str] = []
    for kind, label in (("oeffnungszeiten", ""), ("sprechzeiten", "Sprechzeiten: ")):
        for block in children(ref.element, kind):
            days: list[DayHours] = []
            for day in children(block, "oeffnungszeitStrukturiert"):
                weekday = code_of(child(day, "wochentag"))
                for span in children(day, "zeitraum"):
                    days.append(DayHours(weekday, text_of(child(span, "beginn")), text_of(child(span, "ende"))))
            if days and "opening_hours" not in entry:
                try:
                    entry["opening_hours"] = to_osm(days)
                except HoursError as exc:
                    issues.add(ref.source, block, obj, f"{kind}/oeffnungszeitStrukturiert", str(exc))
            elif days:
                notes.append(label + _describe_days(days))
            description = german(children(block, "beschreibung"))
            if description is not None:
                text = html_to_text(_inner_html(description))
                if text:
                    notes.append(label + text)
    if notes:
        entry["opening_hours_note"] = "\n".join(notes)


def _describe_days(days: list[DayHours]) -> str:
    try:
        return to_osm(days)
    except HoursError:
        return ""


# ---- Zuständigkeit, Onlinedienst --------------------------------------------------------------


def map_zustaendigkeit(element: Any, owner_id: str, ref: ObjectRef, issues: Issues) -> Zustaendigkeit | None:
    """A zustaendigkeit element (inside an Organisationseinheit / Onlinedienst or a TransferObjekt)."""
    obj = f"{ref.kind} {ref.xid}"
    leistung_id = text_of(child(element, "leistungID"))
    if not leistung_id:
        issues.add(ref.source, element, obj, "zustaendigkeit/leistungID", "missing")
        return None
    role_code = code_of(child(element, "rolle")) or "01"  # without a role, the office is the competent one
    return Zustaendigkeit(
        zid=text_of(child(element, "id")),
        owner_id=owner_id,
        leistung_id=leistung_id,
        role=ROLES.get(role_code),
        gebiete=tuple(_valid_gebiete(element, ref, issues)),
    )


def _valid_gebiete(element: Any, ref: ObjectRef, issues: Issues) -> list[str]:
    """The Zuständigkeit's Gebiet keys, each checked here so a bad one is reported where it stands."""
    keys: list[str] = []
    for gebiet in children(element, "gebietID"):
        try:
            significant_prefix(text_of(gebiet))
        except RegionError as exc:
            issues.add(ref.source, gebiet, f"{ref.kind} {ref.xid}", "zustaendigkeit/gebietID", str(exc))
            continue
        keys.append(text_of(gebiet))
    return keys


def map_onlinedienst(ref: ObjectRef, issues: Issues) -> list[dict[str, Any]]:
    """The online_services entries ({title, url, type}) of an Onlinedienst, one per https link."""
    element, obj = ref.element, f"onlinedienst {ref.xid}"
    title = " ".join(text_of(german(children(element, "bezeichnung"))).split())
    links: list[dict[str, Any]] = []
    for link in children(element, "link"):
        url = text_of(child(link, "link"))
        if not https_url(url):
            issues.add(ref.source, link, obj, "link/link", f"{url!r} is not an https URL")
            continue
        kind = LINK_TYPES.get(code_of(child(link, "typ")), "online_form")
        link_title = " ".join(text_of(child(link, "titel")).split()) or title
        if not link_title:
            issues.add(ref.source, element, obj, "bezeichnung", "an online service without a name")
            continue
        links.append({"title": link_title, "url": url, "type": kind})
    return links
