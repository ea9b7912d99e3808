"""The XZuFi 2.2 / PVOG reader: what an export becomes in the knowledge base, and how a bad file is reported.

The fixture (tests/knowledge/fixtures/xzufi/) is a synthetic export for the fictional Stadt Musterau;
every entry read from it must be a valid kumpel-kb/1 entry, and every error must name file, line,
object and element, so that staff can find the fault in a file of thousands of objects.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from kumpel_knowledge.answers.hours import validate_opening_hours
from kumpel_knowledge.kb.interchange import validate_documents
from kumpel_knowledge.kb.xzufi.hours import DayHours, HoursError, to_osm
from kumpel_knowledge.kb.xzufi.html_text import html_to_items, html_to_text
from kumpel_knowledge.kb.xzufi.reader import XzufiError, XzufiExport, entry_id, read_xzufi
from kumpel_knowledge.kb.xzufi.regions import RegionError, any_covers, covers, significant_prefix

FIXTURES = Path(__file__).parent / "fixtures" / "xzufi"
TOWN = "051990042042"
NS = "http://xoev.de/schemata/xzufi/2_2_0"


def read(*names: str, **kwargs: Any) -> XzufiExport:
    return read_xzufi([FIXTURES / name for name in names], regional_key=TOWN, **kwargs)


def by_id(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in entries}


def errors_of(tmp_path: Path, name: str, content: str | bytes, **kwargs: Any) -> list[str]:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    with pytest.raises(XzufiError) as caught:
        read_xzufi([path], regional_key=TOWN, **kwargs)
    return caught.value.errors


def message(*objects: str, extra: str = "") -> str:
    """A transfer message around object snippets (one <schreibe> each)."""
    body = "\n".join(f"<x:schreibe>{obj}</x:schreibe>" for obj in objects)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<x:transfer.operation xmlns:x="{NS}" xzufiVersion="2.2.0">\n{body}\n{extra}</x:transfer.operation>\n'


def leistung(xid: str = "L1", name: str = "Hund anmelden", extra: str = "") -> str:
    id_element = f"<x:id>{xid}</x:id>" if xid else ""
    name_module = (
        f'<x:modulText><x:inhalt languageCode="de">{name}</x:inhalt><x:leikaTextmodul><code>02</code></x:leikaTextmodul></x:modulText>'
        if name
        else ""
    )
    return (
        f"<x:leistung>{id_element}{name_module}"
        '<x:modulText><x:inhalt languageCode="de">Kurz.</x:inhalt><x:leikaTextmodul><code>05</code></x:leikaTextmodul></x:modulText>'
        f"<x:modulUrsprungsportal><x:uri>https://www.musterau.example/{xid or 'x'}</x:uri></x:modulUrsprungsportal>{extra}</x:leistung>"
    )


# ---- the fixture, field by field ----------------------------------------------------------------


def test_every_entry_of_the_fixture_is_a_valid_knowledge_base_entry() -> None:
    for names in (("musterau-xzufi.xml",), ("pvog-page1.json", "pvog-page2.json"), ("pvog-update.json",)):
        export = read(*names)
        document = {
            "format": "kumpel-kb/1",
            "services": [{k: v for k, v in s.items() if k != "external_id"} for s in export.services],
            "offices": [{k: v for k, v in o.items() if k != "external_id"} for o in export.offices],
        }
        validate_documents([("import", document)])  # raises KbValidationError on any schema or reference error
        assert len(export.services) >= 20 and len(export.offices) >= 5


def test_a_leistung_maps_to_a_service_with_every_field() -> None:
    export = read("musterau-xzufi.xml")
    service = by_id(export.services)["xzufi-l-l100001"]
    assert service["external_id"] == "L100001"
    assert service["leika_key"] == "99102013001000"
    assert service["name"] == "Personalausweis beantragen"
    assert service["summary"].startswith("Einen Personalausweis beantragen Sie persönlich im Bürgerbüro.")
    assert service["description"] == (
        "Deutsche ab 16 Jahren, die in Musterau wohnen, müssen einen gültigen Personalausweis oder Reisepass besitzen.\n"
        "Den Antrag stellen Sie persönlich im Bürgerbüro. Bitte vereinbaren Sie vorher einen Termin."
    )
    assert service["documents"] == [
        "bisheriger Personalausweis oder Reisepass",
        "ein aktuelles biometrisches Lichtbild",
        "bei Personen unter 16 Jahren: Einverständniserklärung der Sorgeberechtigten",
    ]
    assert service["prerequisites"] == ["deutsche Staatsangehörigkeit", "Hauptwohnsitz in Musterau"]
    assert service["legal_basis"] == [
        "§ 9 Personalausweisgesetz (PAuswG)",
        "§ 1 Personalausweisgebührenverordnung (PAuswGebV)",
    ]
    assert service["fees"] == [
        {"label": "Personalausweis für Personen ab 24 Jahren", "amount_eur": 37.0},
        {"label": "Personalausweis für Personen unter 24 Jahren", "amount_eur": 22.8},
    ]
    assert service["deadlines"] == ["Beantragen Sie den neuen Ausweis rechtzeitig vor Ablauf des alten Ausweises."]
    assert service["processing_time"] == "Die Herstellung dauert in der Regel drei bis vier Wochen."
    assert service["online_services"] == [
        {
            "title": "Termin im Bürgerbüro vereinbaren",
            "url": "https://termine.musterau.example/buergerbuero",
            "type": "appointment",
        }
    ]
    assert service["responsible"] == [{"office": "xzufi-o-o200001", "role": "zustaendige_stelle"}]
    assert service["source_url"] == "https://www.musterau.example/leistungen/personalausweis-100001"
    assert service["last_reviewed"] == "2026-10-01"


def test_volltext_html_keeps_paragraphs_lists_and_links_as_plain_text() -> None:
    service = by_id(read("musterau-xzufi.xml").services)["xzufi-l-l100003"]
    assert service["description"] == (
        "Wer eine Wohnung bezieht, muss sich innerhalb von zwei Wochen nach dem Einzug bei der Meldebehörde anmelden.\n"
        "Bitte bringen Sie mit:\n"
        "- Personalausweis oder Reisepass aller einziehenden Personen\n"
        "- die Wohnungsgeberbestätigung des Vermieters\n"
        "So gehen Sie vor:\n"
        "- Termin im Bürgerbüro vereinbaren\n"
        "- Anmeldeformular ausfüllen\n"
        "- Unterlagen vorlegen\n"
        "Weitere Hinweise finden Sie auf der Seite des Bürgerbüros (https://www.musterau.example/buergerbuero)."
    )
    # Two Onlinedienste serve it: the Bürgerbüro's appointments and the online registration.
    assert [link["type"] for link in service["online_services"]] == ["appointment", "online_form"]


def test_fees_fixed_amount_range_and_text_only() -> None:
    services = by_id(read("musterau-xzufi.xml").services)
    assert services["xzufi-l-l100011"]["fees"] == [
        {"label": "Sondernutzungsgebühr je nach Fläche und Dauer (30,00 Euro bis 500,00 Euro)", "amount_eur": None}
    ]
    assert services["xzufi-l-l100003"]["fees"] == [{"label": "Die Anmeldung ist gebührenfrei."}]
    assert {"label": "Zulassung eines Neufahrzeugs", "amount_eur": 27.9} in services["xzufi-l-l100022"]["fees"]


def test_zustaendigkeit_transfer_objects_and_roles_become_responsible_offices() -> None:
    services = by_id(read("musterau-xzufi.xml").services)
    assert services["xzufi-l-l100012"]["responsible"] == [
        {"office": "xzufi-o-o200001", "role": "zustaendige_stelle"},
        {"office": "xzufi-o-o200003", "role": "ansprechpunkt"},
    ]
    assert services["xzufi-l-l100016"]["responsible"] == [{"office": "xzufi-o-o200008", "role": "zustaendige_stelle"}]


def test_an_organisationseinheit_maps_to_an_office_with_addresses_channels_and_hours() -> None:
    office = by_id(read("musterau-xzufi.xml").offices)["xzufi-o-o200001"]
    assert office["name"] == "Bürgerbüro Musterau"
    assert office["external_id"] == "O200001"
    assert office["addresses"] == [
        {"type": "besucheranschrift", "street": "Rathausplatz 1", "postcode": "47999", "city": "Musterau"},
        {"type": "postfach", "street": "Postfach 10 01 20", "postcode": "47998", "city": "Musterau"},
    ]
    assert office["phone"] == "02899 100-0"
    assert office["email"] == "buergerbuero@musterau.example"
    assert office["web"] == "https://www.musterau.example/buergerbuero"
    assert office["regional_key"] == TOWN
    assert (
        office["opening_hours"]
        == "Mo,We,Fr 08:00-12:30; Tu 08:00-12:30,14:00-18:00; Th 08:00-12:30,14:00-16:00; Sa 09:00-12:00"
    )
    assert validate_opening_hours(office["opening_hours"]) is None
    assert office["opening_hours_note"] == "An gesetzlichen Feiertagen geschlossen. Termine nach Vereinbarung."


def test_hours_given_only_as_text_stay_a_note() -> None:
    offices = by_id(read("musterau-xzufi.xml").offices)
    ordnungsamt = offices["xzufi-o-o200003"]
    assert "opening_hours" not in ordnungsamt
    assert ordnungsamt["opening_hours_note"] == (
        "Montag bis Freitag vormittags sowie nach Vereinbarung.\nGewerbeangelegenheiten: Dienstag und Donnerstag ganztägig."
    )
    assert (
        offices["xzufi-o-o200002"]["opening_hours_note"] == "Sprechzeiten: Trauungen nach Vereinbarung auch samstags."
    )


# ---- the town only --------------------------------------------------------------------------------


def test_objects_outside_the_town_are_skipped_and_counted() -> None:
    export = read("musterau-xzufi.xml")
    services, offices = by_id(export.services), by_id(export.offices)
    assert "xzufi-l-l100023" not in services  # Gebiet: Beispielhausen only
    assert "xzufi-o-o200010" not in offices  # the Marktamt of Beispielhausen
    assert "xzufi-l-l100024" not in services  # valid in the Kreis, but only Beispielhausen's office answers for it
    assert export.skipped_outside_region == 3
    # The Kreis' Zulassungsstelle (Gebiet: the whole Kreis) covers the town; a federal text without Gebiet applies.
    assert services["xzufi-l-l100022"]["responsible"] == [{"office": "xzufi-o-o200009", "role": "zustaendige_stelle"}]
    assert "xzufi-l-l100025" in services


def test_another_town_gets_only_what_covers_it() -> None:
    export = read_xzufi([FIXTURES / "musterau-xzufi.xml"], regional_key="051990043043")  # Beispielhausen
    services = by_id(export.services)
    assert set(services) >= {"xzufi-l-l100023", "xzufi-l-l100024", "xzufi-l-l100022", "xzufi-l-l100025"}
    assert "xzufi-l-l100001" not in services
    assert [o["id"] for o in export.offices] == ["xzufi-o-o200009", "xzufi-o-o200010"]


def test_regional_keys_cover_by_their_significant_levels() -> None:
    assert significant_prefix("050000000000") == "05"
    assert significant_prefix("051990000000") == "05199"
    assert significant_prefix("051990042000") == "051990042"
    assert significant_prefix("000000000000") == ""
    assert covers("051990000000", TOWN) and covers("05", TOWN) and covers(TOWN, TOWN)
    assert not covers("051990043043", TOWN) and not covers("051140000000", TOWN)
    assert any_covers([], TOWN)  # no Gebiet: applies everywhere
    with pytest.raises(RegionError):
        covers("0519", TOWN)


# ---- text and hours -------------------------------------------------------------------------------


def test_html_to_text() -> None:
    html = (
        "<p>Erste&nbsp;Zeile<br>zweite &amp; dritte</p><script>alert(1)</script><style>p{}</style>"
        '<ol><li>eins</li><li>zwei <a href="https://www.musterau.example/a">Formular</a></li></ol>'
        '<p>Mail an <a href="mailto:info@musterau.example">info@musterau.example</a></p>'
    )
    assert html_to_text(html) == (
        "Erste Zeile\nzweite & dritte\n- eins\n- zwei Formular (https://www.musterau.example/a)\nMail an info@musterau.example"
    )
    assert html_to_items("<p>Bitte mitbringen:</p><ul><li>Ausweis</li><li>Foto</li></ul>") == [
        "Bitte mitbringen:",
        "Ausweis",
        "Foto",
    ]
    assert html_to_text("nur   Text\n\n\nzweite Zeile") == "nur Text\nzweite Zeile"
    assert html_to_text("<ul><li><p>Eins</p></li><li>Zwei</li></ul>") == "- Eins\n- Zwei"
    assert html_to_text(
        "<table><tr><td>Mo</td><td>8-12 Uhr</td></tr><tr><td>Di</td><td>14-18 Uhr</td></tr></table>"
    ) == ("Mo 8-12 Uhr\nDi 14-18 Uhr")
    assert html_to_text("Kinder < 6 Jahre & Begleitung") == "Kinder < 6 Jahre & Begleitung"


def test_structured_hours_become_osm_syntax() -> None:
    days = [DayHours(str(d), "08:00:00", "12:00:00") for d in range(1, 6)] + [DayHours("06", "09:00", "12:00")]
    assert to_osm(days) == "Mo-Fr 08:00-12:00; Sa 09:00-12:00"
    with pytest.raises(HoursError, match="weekday code '8'"):
        to_osm([DayHours("8", "08:00", "12:00")])
    with pytest.raises(HoursError, match="ends before it starts"):
        to_osm([DayHours("1", "12:00", "08:00")])
    with pytest.raises(HoursError, match="not a time of day"):
        to_osm([DayHours("1", "acht Uhr", "12:00")])


def test_entry_ids_are_stable_slugs_of_at_most_80_characters() -> None:
    assert entry_id("leistung", "L100001") == "xzufi-l-l100001"
    assert entry_id("organisationseinheit", "S100005_Bürgerbüro 1") == "xzufi-o-s100005-b-rgerb-ro-1"
    long_id = "x" * 200
    cut = entry_id("leistung", long_id)
    assert len(cut) == 80 and cut != entry_id("leistung", long_id + "y")


# ---- envelopes, paging, deletions -----------------------------------------------------------------


def test_pvog_pages_form_one_complete_export_with_deletions() -> None:
    export = read("pvog-page1.json", "pvog-page2.json")
    assert export.complete is True
    assert export.deletions == [("service", "L100019"), ("office", "O200099")]
    assert "xzufi-l-l100019" not in by_id(export.services)
    assert export.sources == ["pvog-page1.json", "pvog-page2.json"]
    # The loesche of the Bürgerbüro's Zuständigkeit for the Fundsache removes just that one.
    assert by_id(export.services)["xzufi-l-l100001"]["responsible"] == [
        {"office": "xzufi-o-o200001", "role": "zustaendige_stelle"}
    ]


def test_a_plain_xml_file_is_not_a_complete_export() -> None:
    assert read("musterau-xzufi.xml").complete is False


def test_a_first_page_alone_is_refused() -> None:
    with pytest.raises(XzufiError) as caught:
        read("pvog-page1.json")
    assert caught.value.errors == [
        "pvog-page1.json: the export continues (naechsterIndex 2) but no further page was given; read all pages in one import"
    ]


def test_pages_in_the_wrong_order_are_refused() -> None:
    with pytest.raises(XzufiError) as caught:
        read("pvog-page2.json", "pvog-page1.json")
    assert (
        "pvog-page2.json: the page says it is the last (vollstaendig), but more pages follow it" in caught.value.errors
    )


def test_the_later_export_changes_a_fee_a_text_drops_one_service_and_adds_one() -> None:
    before, after = by_id(read("musterau-xzufi.xml").services), by_id(read("pvog-update.json").services)
    assert after["xzufi-l-l100001"]["fees"][0] == {
        "label": "Personalausweis für Personen ab 24 Jahren",
        "amount_eur": 46.0,
    }
    assert after["xzufi-l-l100003"]["summary"] != before["xzufi-l-l100003"]["summary"]
    assert set(before) - set(after) == {"xzufi-l-l100009"}
    assert set(after) - set(before) == {"xzufi-l-l100026"}


def test_a_later_loesche_removes_an_object_written_earlier(tmp_path: Path) -> None:
    first, second = tmp_path / "a.xml", tmp_path / "b.xml"
    first.write_text(message(leistung("L1"), leistung("L2", "Hund abmelden")), encoding="utf-8")
    second.write_text(message(extra='<x:loesche klasse="Leistung"><x:id>L1</x:id></x:loesche>'), encoding="utf-8")
    export = read_xzufi([first, second], regional_key=TOWN)
    assert [s["id"] for s in export.services] == ["xzufi-l-l2"]
    assert export.deletions == [("service", "L1")]


def test_a_single_object_and_a_fallback_source(tmp_path: Path) -> None:
    path = tmp_path / "one.xml"
    path.write_text(
        f'<x:leistung xmlns:x="{NS}"><x:id>L9</x:id><x:modulText><x:inhalt>Baum fällen</x:inhalt>'
        "<x:leikaTextmodul><code>02</code></x:leikaTextmodul></x:modulText></x:leistung>",
        encoding="utf-8",
    )
    export = read_xzufi([path], regional_key=TOWN, fallback_url="https://www.musterau.example")
    assert export.services[0]["source_url"] == "https://www.musterau.example"
    assert export.services[0]["summary"] == "Baum fällen"  # no Kurztext: the name stands in


# ---- errors: file, line, object, element ----------------------------------------------------------


def test_broken_xml_names_the_line(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "broken.xml", message(leistung()).replace("</x:leistung>", "</x:leistng>"))
    assert len(errors) == 1 and errors[0].startswith("broken.xml:3: XML syntax error: ")


def test_a_leistung_without_id_or_name(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "bad.xml", message(leistung(xid=""), leistung(xid="L2", name="")))
    assert errors == [
        "bad.xml:3: leistung (without id): id: missing; every object needs its XZuFi id",
        "bad.xml:4: leistung L2: modulText: no Leistungsbezeichnung (leikaTextmodul 02) with text",
    ]


def test_a_non_numeric_amount(tmp_path: Path) -> None:
    fee = "<x:modulKosten><x:kosten>\n<x:betrag>zwölf Euro</x:betrag></x:kosten></x:modulKosten>"
    errors = errors_of(tmp_path, "fee.xml", message(leistung(extra=fee)))
    assert errors == [
        "fee.xml:4: leistung L1: modulKosten/kosten[1]/betrag: 'zwölf Euro' is not an amount in EUR (e.g. 37.00)"
    ]


def test_an_unknown_namespace_or_another_version(tmp_path: Path) -> None:
    other = errors_of(tmp_path, "other.xml", '<?xml version="1.0"?>\n<root xmlns="urn:example"/>')
    assert other == [f"other.xml:2: root: not an XZuFi 2.2 element (namespace urn:example, expected {NS})"]
    older = errors_of(tmp_path, "old.xml", message(leistung()).replace("2_2_0", "2_1_0"))
    assert older == [f"old.xml:2: transfer.operation: XZuFi 2.1.0 is not supported, only 2.2 ({NS})"]
    version = errors_of(tmp_path, "v.xml", message(leistung()).replace('xzufiVersion="2.2.0"', 'xzufiVersion="2.3.0"'))
    assert version == ["v.xml:2: transfer.operation: xzufiVersion '2.3.0' is not 2.2"]


def test_an_empty_file(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "empty.xml", "  \n") == ["empty.xml: the file is empty"]


def test_a_two_megabyte_text_is_refused_not_cut(tmp_path: Path) -> None:
    huge = (
        "<x:modulText><x:inhalt>"
        + "Wort " * 400_000
        + "</x:inhalt><x:leikaTextmodul><code>06</code></x:leikaTextmodul></x:modulText>"
    )
    errors = errors_of(tmp_path, "huge.xml", message(leistung(extra=huge)))
    assert errors == [
        "huge.xml:3: leistung L1: modulText (leikaTextmodul 06): the text has 1999999 characters, at most 20000 fit"
    ]


def test_json_that_is_not_an_envelope(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "list.json", "[1, 2]") == [
        "list.json: not a PVOG envelope: the top level must be an object with xzufiObjekte, vollstaendig and naechsterIndex"
    ]
    assert errors_of(
        tmp_path, "wrong.json", json.dumps({"xzufiObjekte": [{"leistung": {}}], "vollstaendig": "ja"})
    ) == [
        "wrong.json: not a PVOG envelope: xzufiObjekte must be an XML string or a list of XML strings",
        "wrong.json: not a PVOG envelope: vollstaendig must be true or false",
    ]
    assert errors_of(tmp_path, "syntax.json", '{"xzufiObjekte": [\n"a",,]}') == [
        "syntax.json:2: JSON syntax error: Expecting value"
    ]


def test_errors_inside_an_envelope_name_the_page_and_document(tmp_path: Path) -> None:
    page = {
        "xzufiObjekte": [
            message(leistung()),
            message(leistung("L2", extra="<x:referenzLeiKa><code>123</code></x:referenzLeiKa>")),
        ],
        "vollstaendig": True,
        "naechsterIndex": None,
    }
    errors = errors_of(tmp_path, "page.json", json.dumps(page))
    assert errors == ["page.json#xzufiObjekte[1]:3: leistung L2: referenzLeiKa: LeiKa key '123' is not 14 digits"]


def test_a_document_type_declaration_is_refused(tmp_path: Path) -> None:
    bomb = f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n<x:leistung xmlns:x="{NS}"><x:id>&b;</x:id></x:leistung>'
    assert errors_of(tmp_path, "dtd.xml", bomb) == [
        "dtd.xml:1: document type declaration: not allowed in an XZuFi export"
    ]


def test_every_error_is_reported_and_nothing_is_returned(tmp_path: Path) -> None:
    office = (
        "<x:organisationseinheit><x:id>O1</x:id><x:name><x:name>Amt</x:name></x:name>"
        "<x:anschrift><x:strasse>Weg</x:strasse><x:postleitzahl>4799</x:postleitzahl><x:ort>Musterau</x:ort></x:anschrift>"
        "<x:kommunikation><x:kanal><code>01</code></x:kanal><x:kennung>keine-adresse</x:kennung></x:kommunikation>"
        "<x:internetadresse><x:uri>http://www.musterau.example</x:uri></x:internetadresse>"
        "<x:oeffnungszeiten><x:oeffnungszeitStrukturiert><x:wochentag><code>1</code></x:wochentag>"
        "<x:zeitraum><x:beginn>14:00</x:beginn><x:ende>12:00</x:ende></x:zeitraum></x:oeffnungszeitStrukturiert></x:oeffnungszeiten>"
        "<x:gebietID>0519</x:gebietID></x:organisationseinheit>"
    )
    errors = errors_of(tmp_path, "many.xml", message(office))
    assert errors == [
        "many.xml:3: organisationseinheit O1: gebietID: '0519' is not an Amtlicher Regionalschlüssel (2 to 12 digits, ending at a level)"
    ]
    errors = errors_of(tmp_path, "many.xml", message(office.replace("<x:gebietID>0519</x:gebietID>", "")))
    assert errors == [
        "many.xml:3: organisationseinheit O1: anschrift/postleitzahl: postcode '4799' is not five digits",
        "many.xml:3: organisationseinheit O1: kommunikation/kennung: 'keine-adresse' is not an e-mail address",
        "many.xml:3: organisationseinheit O1: internetadresse/uri: 'http://www.musterau.example' is not an https URL",
        "many.xml:3: organisationseinheit O1: oeffnungszeiten/oeffnungszeitStrukturiert: the interval 14:00-12:00 ends before it starts",
        "many.xml:3: organisationseinheit O1: internetadresse/uri: no https URL to cite as the source, and no fallback URL given",
    ]


def test_an_online_service_link_must_be_https(tmp_path: Path) -> None:
    dienst = (
        "<x:onlinedienst><x:id>D1</x:id><x:bezeichnung>Antrag</x:bezeichnung>"
        "<x:link><x:typ><code>01</code></x:typ><x:link>http://antrag.musterau.example</x:link></x:link>"
        "<x:zustaendigkeit><x:leistungID>L1</x:leistungID></x:zustaendigkeit></x:onlinedienst>"
    )
    errors = errors_of(tmp_path, "od.xml", message(leistung(), dienst))
    assert errors == ["od.xml:4: onlinedienst D1: link/link: 'http://antrag.musterau.example' is not an https URL"]


def test_a_zustaendigkeit_for_an_office_the_export_lacks(tmp_path: Path) -> None:
    transfer = (
        "<x:zustaendigkeitTransferObjekt><x:uebergeordnetesObjektID>O77</x:uebergeordnetesObjektID>"
        "<x:zustaendigkeit><x:id>Z1</x:id><x:leistungID>L1</x:leistungID><x:rolle><code>01</code></x:rolle>"
        "</x:zustaendigkeit></x:zustaendigkeitTransferObjekt>"
    )
    delta = tmp_path / "delta.xml"
    delta.write_text(message(leistung(), transfer), encoding="utf-8")
    # A delta: the office may be in the knowledge base already, so the reference stays.
    assert read_xzufi([delta], regional_key=TOWN).services[0]["responsible"] == [
        {"office": "xzufi-o-o77", "role": "zustaendige_stelle"}
    ]
    full = tmp_path / "full.json"
    full.write_text(json.dumps({"xzufiObjekte": message(leistung(), transfer), "vollstaendig": True}), encoding="utf-8")
    # A complete export removes offices it lacks: the reference goes, the service stays.
    assert "responsible" not in read_xzufi([full], regional_key=TOWN).services[0]


def test_an_envelope_with_a_byte_order_mark(tmp_path: Path) -> None:
    page = tmp_path / "bom.json"
    page.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"xzufiObjekte": [message(leistung())], "vollstaendig": True}).encode()
    )
    assert [s["id"] for s in read_xzufi([page], regional_key=TOWN).services] == ["xzufi-l-l1"]


def test_a_bad_gebiet_in_a_zustaendigkeit_is_reported_where_it_stands(tmp_path: Path) -> None:
    office = (
        "<x:organisationseinheit><x:id>O1</x:id><x:name><x:name>Amt</x:name></x:name>"
        "<x:internetadresse><x:uri>https://www.musterau.example/amt</x:uri></x:internetadresse>\n"
        "<x:zustaendigkeit><x:id>Z1</x:id><x:leistungID>L1</x:leistungID>\n"
        "<x:gebietID>Musterau</x:gebietID></x:zustaendigkeit></x:organisationseinheit>"
    )
    errors = errors_of(tmp_path, "gebiet.xml", message(leistung(), office))
    assert errors == [
        "gebiet.xml:6: organisationseinheit O1: zustaendigkeit/gebietID: 'Musterau' is not an Amtlicher Regionalschlüssel (2 to 12 digits, ending at a level)"
    ]


def test_the_benchmark_generator_is_deterministic_and_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location(
        "xzufi_generate", Path(__file__).parents[2] / "bench" / "xzufi_generate.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "xzufi_generate", generator)  # its dataclasses look their module up
    spec.loader.exec_module(generator)
    content = generator.generated(40, seed=3)
    assert content == generator.generated(40, seed=3)
    path = tmp_path / "generated.xml"
    path.write_bytes(content)
    export = read_xzufi([path], regional_key=TOWN)
    assert (len(export.services), len(export.offices)) == (40, 4)
    assert sum(1 for s in export.services if s.get("online_services")) == 8
