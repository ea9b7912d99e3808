"""Write a synthetic XZuFi 2.2 export of N Leistungen (default 2,300) for the import-time benchmark.

The export has the structure of a PVOG transfer message (schreibe / loesche, the XZuFi 2.2 namespace,
LeiKa text-module codes, Zuständigkeiten, Onlinedienste, Gebiete as ARS) and generated German
texts; it is deterministic by seed. The content is synthetic and describes no real town.

    .venv/knowledge/bin/python bench/xzufi_generate.py --services 2300 --seed 7 --out /tmp/xzufi-2300.xml

The element builders (``leistung``, ``organisationseinheit``, ``onlinedienst``, ``message``) also
wrote the test fixture tests/knowledge/fixtures/xzufi/ from hand-written content.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

NS = "http://xoev.de/schemata/xzufi/2_2_0"
X = "{" + NS + "}"
RS_SCHEME = "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:rs"
LIST_TEXTMODUL = "urn:xoev-de:fim:codeliste:xzufi.leikatextmodul"


@dataclass
class Fee:
    description: str
    amount: str | None = None  # "37.00"
    range: tuple[str, str] | None = None  # ("30.00", "500.00")


@dataclass
class Leistung:
    id: str
    leika: str
    name: str
    kurztext: str
    volltext: str = ""
    unterlagen: str = ""
    voraussetzungen: str = ""
    rechtsgrundlagen: str = ""
    fees: list[Fee] = field(default_factory=list)
    fee_text: str = ""
    frist: str = ""
    dauer: str = ""
    url: str = ""
    gebiete: list[str] = field(default_factory=list)
    changed: str = "2026-10-01T09:00:00"


@dataclass
class Address:
    typ: str  # 001 Hausanschrift, 002 Postfach, 003 Besucheranschrift ...
    street: str
    number: str
    postcode: str
    city: str
    ars: str = ""
    postfach: str = ""


@dataclass
class Zust:
    id: str
    leistung: str
    gebiet: str
    rolle: str = "01"


@dataclass
class Organisation:
    id: str
    name: str
    beschreibung: str = ""
    addresses: list[Address] = field(default_factory=list)
    phone: str = ""
    email: str = ""
    web: str = ""
    hours: list[tuple[str, str, str]] = field(default_factory=list)  # (wochentag 1-7, beginn, ende)
    hours_text: str = ""
    sprechzeiten_text: str = ""
    zustaendigkeiten: list[Zust] = field(default_factory=list)
    gebiete: list[str] = field(default_factory=list)
    changed: str = "2026-10-01T09:00:00"


@dataclass
class Onlinedienst:
    id: str
    bezeichnung: str
    links: list[tuple[str, str, str]]  # (typ 01-04, url, titel)
    zustaendigkeiten: list[Zust] = field(default_factory=list)


def _sub(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, X + name, attrs)
    if text is not None:
        element.text = text
    return element


def _code(parent: etree._Element, name: str, code: str, list_uri: str) -> etree._Element:
    element = _sub(parent, name, listURI=list_uri, listVersionID="1")
    etree.SubElement(element, "code").text = code  # XÖV codes: <code> has no namespace
    return element


def _text_module(parent: etree._Element, code: str, html: str) -> None:
    module = _sub(parent, "modulText")
    _sub(module, "inhalt", html, languageCode="de")
    _code(module, "leikaTextmodul", code, LIST_TEXTMODUL)


def leistung(spec: Leistung) -> etree._Element:
    """A <leistung> element."""
    element = etree.Element(X + "leistung", nsmap={"xzufi": NS})
    _sub(element, "id", spec.id, schemeAgencyID="S100099", schemeID="urn:xoev-de:xzufi:leistung:id")
    _code(element, "referenzLeiKa", spec.leika, "urn:de:fim:leika:leistung")
    for code, html in (
        ("02", spec.name),
        ("05", spec.kurztext),
        ("06", spec.volltext),
        ("07", spec.rechtsgrundlagen),
        ("08", spec.unterlagen),
        ("09", spec.voraussetzungen),
    ):
        if html:
            _text_module(element, code, html)
    if spec.frist:
        _sub(_sub(element, "modulFrist"), "beschreibung", spec.frist, languageCode="de")
    if spec.fees or spec.fee_text:
        module = _sub(element, "modulKosten")
        for fee in spec.fees:
            cost = _sub(module, "kosten")
            if fee.amount is not None:
                _sub(cost, "betrag", fee.amount)
            elif fee.range is not None:
                _sub(cost, "betragUntergrenze", fee.range[0])
                _sub(cost, "betragObergrenze", fee.range[1])
            _sub(cost, "beschreibung", fee.description, languageCode="de")
        if spec.fee_text:
            _sub(module, "beschreibung", spec.fee_text, languageCode="de")
    if spec.dauer:
        _sub(_sub(element, "modulBearbeitungsdauer"), "beschreibung", spec.dauer, languageCode="de")
    if spec.url:
        portal = _sub(element, "modulUrsprungsportal")
        _sub(portal, "uri", spec.url)
        _sub(portal, "titel", spec.name)
    for gebiet in spec.gebiete:
        _sub(element, "gueltigkeitGebietID", gebiet, schemeID=RS_SCHEME)
    _sub(_sub(element, "versionsinformation"), "geaendertDatumZeit", spec.changed)
    return element


def _zustaendigkeit(parent: etree._Element, z: Zust) -> None:
    element = _sub(parent, "zustaendigkeit")
    _sub(element, "id", z.id)
    _sub(element, "leistungID", z.leistung)
    _sub(element, "gebietID", z.gebiet, schemeID=RS_SCHEME)
    _code(element, "rolle", z.rolle, "urn:xoev-de:xzufi:codeliste:zustaendigkeitsrolle")


def organisationseinheit(spec: Organisation) -> etree._Element:
    """An <organisationseinheit> element with its Zuständigkeiten."""
    element = etree.Element(X + "organisationseinheit", nsmap={"xzufi": NS})
    _sub(element, "id", spec.id, schemeAgencyID="S100099")
    _sub(_sub(element, "name"), "name", spec.name, languageCode="de")
    if spec.beschreibung:
        _sub(element, "beschreibung", spec.beschreibung, languageCode="de")
    for address in spec.addresses:
        anschrift = _sub(element, "anschrift")
        _code(anschrift, "typ", address.typ, "urn:xoev-de:xzufi:codeliste:anschrifttyp")
        if address.postfach:
            _sub(anschrift, "postfach", address.postfach)
        else:
            _sub(anschrift, "strasse", address.street)
            _sub(anschrift, "hausnummer", address.number)
        _sub(anschrift, "postleitzahl", address.postcode)
        _sub(anschrift, "ort", address.city)
        if address.ars:
            coding = _sub(anschrift, "verwaltungspolitischeKodierung")
            _code(
                coding, "regionalschluessel", address.ars, "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:rs"
            )
    for channel, value in (("02", spec.phone), ("01", spec.email)):
        if value:
            kommunikation = _sub(element, "kommunikation")
            _code(kommunikation, "kanal", channel, "urn:de:xoev:codeliste:erreichbarkeit")
            _sub(kommunikation, "kennung", value)
    if spec.web:
        address_element = _sub(element, "internetadresse")
        _sub(address_element, "uri", spec.web)
        _sub(address_element, "titel", spec.name)
    if spec.hours or spec.hours_text:
        block = _sub(element, "oeffnungszeiten")
        for weekday in sorted({day for day, _, _ in spec.hours}):
            day = _sub(block, "oeffnungszeitStrukturiert")
            _code(day, "wochentag", weekday, "urn:xoev-de:xzufi:codeliste:wochentag")
            for _, start, end in (h for h in spec.hours if h[0] == weekday):
                span = _sub(day, "zeitraum")
                _sub(span, "beginn", start)
                _sub(span, "ende", end)
        if spec.hours_text:
            _sub(block, "beschreibung", spec.hours_text, languageCode="de")
    if spec.sprechzeiten_text:
        _sub(_sub(element, "sprechzeiten"), "beschreibung", spec.sprechzeiten_text, languageCode="de")
    for gebiet in spec.gebiete:
        _sub(element, "gebietID", gebiet, schemeID=RS_SCHEME)
    for z in spec.zustaendigkeiten:
        _zustaendigkeit(element, z)
    _sub(_sub(element, "versionsinformation"), "geaendertDatumZeit", spec.changed)
    return element


def onlinedienst(spec: Onlinedienst) -> etree._Element:
    """An <onlinedienst> element; its Zuständigkeiten name the Leistungen it serves."""
    element = etree.Element(X + "onlinedienst", nsmap={"xzufi": NS})
    _sub(element, "id", spec.id, schemeAgencyID="S100099")
    _sub(element, "bezeichnung", spec.bezeichnung, languageCode="de")
    for typ, url, titel in spec.links:
        link = _sub(element, "link", languageCode="de")
        _code(link, "typ", typ, "urn:xoev-de:fim:codeliste:onlinedienstlinktyp")
        _sub(link, "link", url)
        _sub(link, "titel", titel)
    for z in spec.zustaendigkeiten:
        _zustaendigkeit(element, z)
    return element


def transfer_object(owner: str, z: Zust) -> etree._Element:
    """A <zustaendigkeitTransferObjekt>: a Zuständigkeit delivered apart from its office."""
    element = etree.Element(X + "zustaendigkeitTransferObjekt", nsmap={"xzufi": NS})
    _sub(element, "uebergeordnetesObjektID", owner)
    _zustaendigkeit(element, z)
    return element


def message(objects: Sequence[etree._Element], deletions: Sequence[tuple[str, str]] = (), comment: str = "") -> bytes:
    """A transfer message: one <schreibe> per object, one <loesche klasse=...> per (klasse, id)."""
    root = etree.Element(X + "transfer.operation", nsmap={"xzufi": NS}, xzufiVersion="2.2.0")
    if comment:
        root.append(etree.Comment(comment))
    head = _sub(root, "nachrichtenkopf")
    _sub(head, "erstellungszeitpunkt", "2026-10-01T09:00:00")
    for obj in objects:
        _sub(root, "schreibe").append(obj)
    for klasse, xid in deletions:
        _sub(_sub(root, "loesche", klasse=klasse), "id", xid)
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ---- the benchmark export -----------------------------------------------------------------------

TOWN_ARS = "051990042042"
SUBJECTS = (
    "Ausweis", "Gewerbe", "Hund", "Parken", "Abfall", "Bau", "Wohnen", "Schule", "Kita", "Friedhof",
    "Markt", "Verkehr", "Steuer", "Umwelt", "Wasser", "Jagd", "Fischerei", "Veranstaltung", "Lärm", "Baum",
)  # fmt: skip
VERBS = ("beantragen", "anmelden", "abmelden", "ändern", "verlängern", "melden", "anzeigen", "ersetzen")


def generated(services: int, seed: int) -> bytes:
    """An export of ``services`` Leistungen, one office per ten, a fifth with an Onlinedienst."""
    rng = random.Random(seed)
    offices = [
        Organisation(
            id=f"O{300000 + n}",
            name=f"Fachbereich {n + 1} der Stadt Musterau",
            addresses=[Address("001", "Rathausplatz", str(n + 1), "47999", "Musterau", TOWN_ARS)],
            phone=f"02899 {1000 + n}",
            email=f"fachbereich{n + 1}@musterau.example",
            web=f"https://www.musterau.example/fachbereich-{n + 1}",
            hours=[(str(day), "08:00:00", "12:00:00") for day in range(1, 6)],
        )
        for n in range(max(1, services // 10))
    ]
    objects: list[etree._Element] = []
    dienste: list[Onlinedienst] = []
    for n in range(services):
        subject, verb = rng.choice(SUBJECTS), rng.choice(VERBS)
        xid = f"L{500000 + n}"
        words = " ".join(rng.choice(SUBJECTS).lower() for _ in range(40))
        spec = Leistung(
            id=xid,
            leika=f"99{rng.randrange(10**12):012d}",
            name=f"{subject} {verb} ({n})",
            kurztext=f"Sie können {subject} bei der Stadt Musterau {verb}.",
            volltext=f"<p>{words}</p><ul><li>{subject}</li><li>{verb}</li></ul>",
            unterlagen="<ul><li>Personalausweis oder Reisepass</li><li>Antragsformular</li></ul>",
            voraussetzungen="<p>Sie wohnen in Musterau.</p>",
            rechtsgrundlagen="<ul><li>§ 1 Mustergesetz</li></ul>",
            fees=[Fee("Gebühr", f"{rng.randrange(0, 200)}.00")],
            frist="Keine Frist.",
            dauer=f"{rng.randrange(1, 6)} Wochen",
            url=f"https://www.musterau.example/leistungen/{xid.lower()}",
            gebiete=[TOWN_ARS],
        )
        objects.append(leistung(spec))
        office = offices[n % len(offices)]
        office.zustaendigkeiten.append(Zust(f"Z{xid}", xid, TOWN_ARS))
        if n % 5 == 0:
            dienste.append(
                Onlinedienst(
                    id=f"D{xid}",
                    bezeichnung=f"{subject} online {verb}",
                    links=[("01", f"https://service.musterau.example/{xid.lower()}", f"{subject} online {verb}")],
                    zustaendigkeiten=[Zust(f"ZD{xid}", xid, TOWN_ARS)],
                )
            )
    objects.extend(organisationseinheit(office) for office in offices)
    objects.extend(onlinedienst(d) for d in dienste)
    return message(objects, comment=" SYNTHETIC benchmark export (bench/xzufi_generate.py): no real town ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--services", type=int, default=2300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.write_bytes(generated(args.services, args.seed))
    print(f"wrote {args.out} ({args.services} Leistungen, {args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
