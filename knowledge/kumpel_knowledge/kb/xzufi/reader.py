"""Read XZuFi 2.2 exports (XML files, PVOG Bereitstelldienst JSON pages) into kumpel-kb/1 entries.

``read_xzufi`` takes any mix of files; several pages form one export, read in the order given. Within
the export a later object replaces an earlier one with the same id and a ``loesche`` removes it, as
the PVOG delivers changes. Only objects whose Gebiet covers the town are kept (``regions.py``).

All errors are collected and raised together (``XzufiError``); nothing is returned when there is one,
so an import never takes half an export.

XML is parsed by lxml with a hardened parser: no network, no DTD, no entity expansion, no huge trees
(a document type declaration is refused outright), and with line numbers for the messages.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from .mapping import (
    NS,
    XZUFI,
    Issues,
    ObjectRef,
    Zustaendigkeit,
    child,
    children,
    code_of,
    gebiete_of,
    local,
    map_leistung,
    map_onlinedienst,
    map_organisationseinheit,
    map_zustaendigkeit,
    reviewed_of,
    text_of,
)
from .regions import RegionError, any_covers

OBJECT_KINDS = ("leistung", "organisationseinheit", "onlinedienst", "zustaendigkeitTransferObjekt")
# loesche klasse -> the kind of object it removes (Spezialisierungen and the like are not imported).
DELETE_KINDS = {
    "leistung": "leistung",
    "organisationseinheit": "organisationseinheit",
    "onlinedienst": "onlinedienst",
    "zustaendigkeit": "zustaendigkeit",
}
ENTRY_PREFIX = {"leistung": "xzufi-l-", "organisationseinheit": "xzufi-o-"}
ID_MAX = 80
SUPPORTED_VERSIONS = ("2.2", "2.2.0")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class XzufiError(ValueError):
    """The export cannot be imported; ``errors`` lists every problem, each 'FILE:LINE: object: element: message'."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class XzufiExport:
    """What an export holds for the town, in kumpel-kb/1 shape (see docs of ``read_xzufi``)."""

    services: list[dict[str, Any]]
    offices: list[dict[str, Any]]
    deletions: list[tuple[str, str]]
    complete: bool
    skipped_outside_region: int
    sources: list[str]


def entry_id(kind: str, xid: str) -> str:
    """The stable knowledge-base id of an XZuFi object: 'xzufi-l-<slug>' / 'xzufi-o-<slug>', the id
    lower-cased with every other character run as '-', at most 80 characters. A slug that had to be cut
    ends in a hash of the whole id, so two long ids with the same start stay apart."""
    prefix = ENTRY_PREFIX[kind]
    slug = _NOT_SLUG.sub("-", xid.lower()).strip("-") or "x"
    if len(prefix) + len(slug) <= ID_MAX:
        return prefix + slug
    digest = hashlib.sha1(xid.encode("utf-8")).hexdigest()[:8]  # a name, not a secret
    room = ID_MAX - len(prefix) - len(digest) - 1
    return f"{prefix}{slug[:room].strip('-')}-{digest}"


@dataclass
class _Collected:
    """The objects of the whole export, by kind and XZuFi id; a later one replaces an earlier one."""

    objects: dict[str, dict[str, ObjectRef]] = field(default_factory=lambda: {k: {} for k in OBJECT_KINDS})
    deleted: dict[tuple[str, str], None] = field(default_factory=dict)  # ordered set
    pages: list[tuple[str, bool, int | None]] = field(default_factory=list)  # (source, vollstaendig, naechsterIndex)
    sources: list[str] = field(default_factory=list)

    def write(self, ref: ObjectRef) -> None:
        self.objects[ref.kind][ref.xid] = ref
        deleted_kind = "zustaendigkeit" if ref.kind == "zustaendigkeitTransferObjekt" else ref.kind
        self.deleted.pop((deleted_kind, ref.xid), None)

    def delete(self, kind: str, xid: str) -> None:
        # A Zuständigkeit is held as its TransferObjekt, under the Zuständigkeit's id.
        held = "zustaendigkeitTransferObjekt" if kind == "zustaendigkeit" else kind
        self.objects[held].pop(xid, None)
        self.deleted[(kind, xid)] = None


def read_xzufi(paths: Sequence[Path], *, regional_key: str, fallback_url: str | None = None) -> XzufiExport:
    """Read XZuFi 2.2 XML files and/or PVOG JSON pages as one export for the town ``regional_key``.

    ``fallback_url`` (https, e.g. the town's web site) is the source cited for an object whose export
    names no URL of its own; without one, such an object is an error.

    Raises:
        XzufiError: with every problem found; nothing is returned then.
    """
    issues = Issues()
    if not re.fullmatch(r"\d{12}", regional_key):
        raise XzufiError([f"regional key {regional_key!r}: the town's key must be 12 digits (ARS)"])
    if fallback_url is not None and not fallback_url.startswith("https://"):
        raise XzufiError([f"fallback URL {fallback_url!r}: must start with https://"])
    collected = _Collected()
    for path in paths:
        _read_file(path, collected, issues)
    complete = _check_pages(collected, issues)
    # Map what could be read even after an error, so one run reports the problems of every object.
    export = _assemble(collected, regional_key, fallback_url, complete, issues)
    if issues.errors:
        raise XzufiError(issues.errors)
    return export


# ---- files ------------------------------------------------------------------------------------


def _read_file(path: Path, collected: _Collected, issues: Issues) -> None:
    name = path.name
    collected.sources.append(name)
    try:
        content = path.read_bytes()
    except OSError as exc:
        issues.errors.append(f"{name}: cannot read: {exc.strerror or exc}")
        return
    if not content.strip():
        issues.errors.append(f"{name}: the file is empty")
        return
    if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):  # JSON, perhaps after a byte-order mark
        _read_envelope(name, content, collected, issues)
    else:
        _read_xml(name, content, collected, issues)


def _read_envelope(name: str, content: bytes, collected: _Collected, issues: Issues) -> None:
    """A PVOG Bereitstelldienst page: {"xzufiObjekte": ..., "vollstaendig": bool, "naechsterIndex": int|null}."""
    try:
        page = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        issues.errors.append(f"{name}: the file is not UTF-8")
        return
    except json.JSONDecodeError as exc:
        issues.errors.append(f"{name}:{exc.lineno}: JSON syntax error: {exc.msg}")
        return
    problems = _envelope_problems(page)
    if problems:
        issues.errors.extend(f"{name}: not a PVOG envelope: {problem}" for problem in problems)
        return
    documents = page["xzufiObjekte"]
    for index, document in enumerate([documents] if isinstance(documents, str) else documents):
        _read_xml(f"{name}#xzufiObjekte[{index}]", document.encode("utf-8"), collected, issues)
    for item in page.get("loesche") or []:
        kind = DELETE_KINDS.get(str(item.get("klasse", "")).lower())
        if kind is None:
            continue  # Spezialisierungen and other classes the knowledge base does not hold
        collected.delete(kind, str(item["id"]).strip())
    collected.pages.append((name, page["vollstaendig"], page.get("naechsterIndex")))


def _envelope_problems(page: Any) -> list[str]:
    if not isinstance(page, dict):
        return ["the top level must be an object with xzufiObjekte, vollstaendig and naechsterIndex"]
    problems: list[str] = []
    documents = page.get("xzufiObjekte")
    if not (isinstance(documents, str) or (isinstance(documents, list) and all(isinstance(d, str) for d in documents))):
        problems.append("xzufiObjekte must be an XML string or a list of XML strings")
    if not isinstance(page.get("vollstaendig"), bool):
        problems.append("vollstaendig must be true or false")
    following = page.get("naechsterIndex")
    if following is not None and (isinstance(following, bool) or not isinstance(following, int)):
        problems.append("naechsterIndex must be a number or null")
    deletions = page.get("loesche", [])
    if not isinstance(deletions, list) or not all(
        isinstance(d, dict) and isinstance(d.get("klasse"), str) and isinstance(d.get("id"), str) and d["id"].strip()
        for d in deletions
    ):
        problems.append('loesche must be a list of {"klasse": ..., "id": ...}')
    return problems


def _check_pages(collected: _Collected, issues: Issues) -> bool:
    """Pages must form a whole export: every page but the last announces a next one, the last is
    complete (vollstaendig). Returns whether the export is a full one (pages given, chain complete)."""
    if not collected.pages:
        return False  # plain XML files: nothing says they hold everything, so nothing is removed for missing
    for source, complete, following in collected.pages[:-1]:
        if complete or following is None:
            issues.errors.append(f"{source}: the page says it is the last (vollstaendig), but more pages follow it")
    source, complete, following = collected.pages[-1]
    if not complete:
        issues.errors.append(
            f"{source}: the export continues (naechsterIndex {following}) but no further page was given; "
            "read all pages in one import"
        )
    return complete


def _parser() -> Any:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _read_xml(source: str, content: bytes, collected: _Collected, issues: Issues) -> None:
    if not content.strip():
        issues.errors.append(f"{source}: the XML document is empty")
        return
    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else "?"
        issues.errors.append(f"{source}:{line}: XML syntax error: {exc.msg}")
        return
    if root.getroottree().docinfo.internalDTD is not None:
        issues.errors.append(f"{source}:1: document type declaration: not allowed in an XZuFi export")
        return
    namespace = etree.QName(root).namespace or ""
    if namespace != NS:
        found = re.search(r"xzufi/(\d+_\d+_\d+)", namespace)
        reason = (
            f"XZuFi {found.group(1).replace('_', '.')} is not supported, only 2.2 ({NS})"
            if found
            else f"not an XZuFi 2.2 element (namespace {namespace or 'none'}, expected {NS})"
        )
        issues.errors.append(f"{source}:{root.sourceline}: {local(root)}: {reason}")
        return
    version = str(root.get("xzufiVersion") or "")
    if version and version not in SUPPORTED_VERSIONS:
        issues.errors.append(f"{source}:{root.sourceline}: {local(root)}: xzufiVersion {version!r} is not 2.2")
        return
    if local(root) in OBJECT_KINDS:
        _collect_object(root, source, collected, issues)
        return
    for element in root.iterchildren(tag=etree.Element):
        name = local(element)
        if name == "schreibe":
            for obj in element.iterchildren(tag=etree.Element):
                if local(obj) in OBJECT_KINDS:
                    _collect_object(obj, source, collected, issues)
        elif name == "loesche":
            _collect_deletion(element, source, collected, issues)
        elif name in OBJECT_KINDS:
            _collect_object(element, source, collected, issues)


def _collect_object(element: Any, source: str, collected: _Collected, issues: Issues) -> None:
    kind = local(element)
    if kind == "zustaendigkeitTransferObjekt":
        # It carries its Zuständigkeit's id inside; the TransferObjekt itself has none.
        inner = child(element, "zustaendigkeit")
        xid = text_of(child(inner, "id")) if inner is not None else ""
        xid = xid or f"line-{element.sourceline}"
    else:
        xid = text_of(child(element, "id"))
        if not xid:
            issues.add(source, element, f"{kind} (without id)", "id", "missing; every object needs its XZuFi id")
            return
    collected.write(ObjectRef(kind, xid, element, source))


def _collect_deletion(element: Any, source: str, collected: _Collected, issues: Issues) -> None:
    klasse = str(element.get("klasse") or text_of(child(element, "klasse")))
    kind = DELETE_KINDS.get(klasse.lower())
    xid = text_of(child(element, "id"))
    if not xid:
        issues.add(source, element, f"loesche {klasse or '(without klasse)'}", "id", "missing")
        return
    if kind is not None:
        collected.delete(kind, xid)


# ---- from objects to entries ------------------------------------------------------------------


def _in_region(ref: ObjectRef, gebiete: Sequence[str], regional_key: str, issues: Issues, where: str) -> bool:
    try:
        return any_covers(gebiete, regional_key)
    except RegionError as exc:
        issues.add(ref.source, ref.element, f"{ref.kind} {ref.xid}", where, str(exc))
        return False


def _assemble(
    collected: _Collected, regional_key: str, fallback_url: str | None, complete: bool, issues: Issues
) -> XzufiExport:
    skipped = 0
    offices: dict[str, dict[str, Any]] = {}
    outside_offices: set[str] = set()
    zustaendigkeiten = _zustaendigkeiten(collected, issues)
    by_owner: dict[str, list[Zustaendigkeit]] = {}
    for z in zustaendigkeiten:
        by_owner.setdefault(z.owner_id, []).append(z)
    for xid, ref in collected.objects["organisationseinheit"].items():
        if not _office_in_region(ref, by_owner.get(xid, []), regional_key, issues):
            outside_offices.add(xid)
            skipped += 1
            continue
        office = map_organisationseinheit(ref, issues)
        office = {"id": entry_id("organisationseinheit", xid), **office}
        office["source_url"] = _source(ref, office.get("web"), fallback_url, issues)
        office["last_reviewed"] = reviewed_of(ref.element) or date.today().isoformat()
        office["external_id"] = xid
        offices[xid] = office
    online = _online_services(collected, regional_key, issues)
    skipped += online.skipped
    services: list[dict[str, Any]] = []
    by_leistung: dict[str, list[Zustaendigkeit]] = {}
    for z in zustaendigkeiten:
        by_leistung.setdefault(z.leistung_id, []).append(z)
    for xid, ref in collected.objects["leistung"].items():
        if not _in_region(ref, gebiete_of(ref.element), regional_key, issues, "gueltigkeitGebietID"):
            skipped += 1
            continue
        own = [z for z in by_leistung.get(xid, []) if z.owner_id not in online.ids]
        serving = _in_town(own, outside_offices, regional_key, ref, issues)
        if own and not serving:
            skipped += 1  # every Zuständigkeit of the service is for elsewhere or by an office outside the town
            continue
        responsible = _responsible(serving, offices, complete)
        service = map_leistung(ref, issues)
        service = {"id": entry_id("leistung", xid), **service}
        links = online.by_leistung.get(xid, [])
        if links:
            service["online_services"] = links
        if responsible:
            service["responsible"] = responsible
        own_url = service.pop("source_url", None) or (links[0]["url"] if links else None)
        service["source_url"] = _source(ref, own_url, fallback_url, issues)
        service["last_reviewed"] = reviewed_of(ref.element) or date.today().isoformat()
        service["external_id"] = xid
        services.append(service)
    _check_unique_ids([*services, *offices.values()], issues)
    deletions = [
        ("service" if kind == "leistung" else "office", xid)
        for kind, xid in collected.deleted
        if kind in ("leistung", "organisationseinheit")
    ]
    return XzufiExport(
        services=services,
        offices=list(offices.values()),
        deletions=deletions,
        complete=complete,
        skipped_outside_region=skipped,
        sources=collected.sources,
    )


def _zustaendigkeiten(collected: _Collected, issues: Issues) -> list[Zustaendigkeit]:
    """Every Zuständigkeit of the export: inside Organisationseinheiten and as TransferObjekte. Those of
    offices outside the town count too: a service that only such offices answer for is then skipped,
    not kept without a contact."""
    found: list[Zustaendigkeit] = []
    for xid, ref in collected.objects["organisationseinheit"].items():
        for element in children(ref.element, "zustaendigkeit"):
            z = map_zustaendigkeit(element, xid, ref, issues)
            if z and ("zustaendigkeit", z.zid) not in collected.deleted:
                found.append(z)
    for ref in collected.objects["zustaendigkeitTransferObjekt"].values():
        owner = text_of(child(ref.element, "uebergeordnetesObjektID"))
        inner = child(ref.element, "zustaendigkeit")
        if not owner or inner is None:
            missing = "uebergeordnetesObjektID" if not owner else "zustaendigkeit"
            issues.add(ref.source, ref.element, f"zustaendigkeitTransferObjekt {ref.xid}", missing, "missing")
            continue
        z = map_zustaendigkeit(inner, owner, ref, issues)
        if z is not None:
            found.append(z)
    return found


def _office_in_region(ref: ObjectRef, own: list[Zustaendigkeit], regional_key: str, issues: Issues) -> bool:
    """An office belongs to the town by its own Gebiet; without one, by the Gebiete it is competent for
    (a state-wide export holds every office of the Land, mostly without a Gebiet of their own); without
    those, by the regional key of its address; with none of these it applies everywhere."""
    gebiete = gebiete_of(ref.element)
    if gebiete:
        return _in_region(ref, gebiete, regional_key, issues, "gebietID")
    competent = [g for z in own for g in z.gebiete]
    if competent:
        return _in_region(ref, competent, regional_key, issues, "zustaendigkeit/gebietID")
    keys = []
    for anschrift in children(ref.element, "anschrift"):
        coding = child(anschrift, "verwaltungspolitischeKodierung")
        key = code_of(child(coding, "regionalschluessel")) if coding is not None else ""
        if key:
            keys.append(key)
    return _in_region(ref, keys, regional_key, issues, "anschrift/verwaltungspolitischeKodierung")


def _in_town(
    zustaendigkeiten: list[Zustaendigkeit], outside_offices: set[str], regional_key: str, ref: ObjectRef, issues: Issues
) -> list[Zustaendigkeit]:
    """The Zuständigkeiten that serve the town: for it (Gebiet) and by an office not outside it."""
    return [
        z
        for z in zustaendigkeiten
        if z.owner_id not in outside_offices
        and _in_region(ref, z.gebiete, regional_key, issues, f"zustaendigkeit {z.zid}/gebietID")
    ]


def _responsible(
    zustaendigkeiten: list[Zustaendigkeit], offices: dict[str, dict[str, Any]], complete: bool
) -> list[dict[str, str]]:
    """The responsible offices of a service. A Zuständigkeit for an office the export does not hold is
    kept in a partial (delta) export, where the office is already in the knowledge base; a complete
    export removes every office it does not hold, so there the Zuständigkeit is dropped."""
    found: dict[tuple[str, str], None] = {}
    for z in zustaendigkeiten:
        if z.role is None or (complete and z.owner_id not in offices):
            continue
        found[(entry_id("organisationseinheit", z.owner_id), z.role)] = None
    return [{"office": office, "role": role} for office, role in sorted(found)]


@dataclass
class _Online:
    by_leistung: dict[str, list[dict[str, Any]]]
    ids: set[str]
    skipped: int


def _online_services(collected: _Collected, regional_key: str, issues: Issues) -> _Online:
    """Online services by Leistung: an Onlinedienst names its Leistungen in its own Zuständigkeiten."""
    result = _Online(by_leistung={}, ids=set(collected.objects["onlinedienst"]), skipped=0)
    transfer: dict[str, list[tuple[Any, ObjectRef]]] = {}  # owner id -> its Zuständigkeiten delivered apart
    for tref in collected.objects["zustaendigkeitTransferObjekt"].values():
        inner = child(tref.element, "zustaendigkeit")
        if inner is not None:
            transfer.setdefault(text_of(child(tref.element, "uebergeordnetesObjektID")), []).append((inner, tref))
    for xid, ref in collected.objects["onlinedienst"].items():
        if not _in_region(ref, gebiete_of(ref.element), regional_key, issues, "gueltigkeitGebietID"):
            result.skipped += 1
            continue
        links = map_onlinedienst(ref, issues)
        elements = [(e, ref) for e in children(ref.element, "zustaendigkeit")]
        elements += transfer.get(xid, [])
        elements += [(e, ref) for e in children(ref.element, "leistungID")]
        for element, where in elements:
            gebiete: tuple[str, ...] = ()
            if local(element) == "leistungID":
                leistung_id = text_of(element)
            else:
                z = map_zustaendigkeit(element, xid, where, issues)
                if z is None:
                    continue
                leistung_id, gebiete = z.leistung_id, z.gebiete
            if not _in_region(where, gebiete, regional_key, issues, "zustaendigkeit/gebietID"):
                continue
            known = result.by_leistung.setdefault(leistung_id, [])
            known.extend(link for link in links if link not in known)
    return result


def _source(ref: ObjectRef, own: Any, fallback_url: str | None, issues: Issues) -> str:
    if isinstance(own, str) and own:
        return own
    if fallback_url:
        return fallback_url
    issues.add(
        ref.source,
        ref.element,
        f"{ref.kind} {ref.xid}",
        "modulUrsprungsportal/uri" if ref.kind == "leistung" else "internetadresse/uri",
        "no https URL to cite as the source, and no fallback URL given",
    )
    return ""


def _check_unique_ids(entries: list[dict[str, Any]], issues: Issues) -> None:
    seen: dict[str, str] = {}
    for entry in entries:
        other = seen.setdefault(entry["id"], entry["external_id"])
        if other != entry["external_id"]:
            issues.errors.append(
                f"XZuFi ids {other!r} and {entry['external_id']!r} give the same knowledge-base id {entry['id']!r}"
            )


# The XZuFi namespace in Clark notation, for callers that inspect elements themselves.
__all__ = ["XZUFI", "XzufiError", "XzufiExport", "entry_id", "read_xzufi"]
