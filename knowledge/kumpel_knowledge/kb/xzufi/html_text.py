"""XZuFi text modules carry HTML; the knowledge base keeps plain text with its line breaks and lists.

Paragraphs and ``<br>`` become line breaks, list items become "- " lines, a link keeps its target as
"text (url)", entities are decoded by the parser, scripts and styles are dropped. The HTML is parsed
by lxml.html (never by regular expressions), which also copes with the unclosed tags editors leave.
"""

from __future__ import annotations

import re
from typing import Any

import lxml.html
from lxml import etree

# Elements after which a line ends (block level in HTML's sense, for the text a citizen reads).
_BLOCKS = frozenset(
    "p div section article header footer blockquote pre table tr h1 h2 h3 h4 h5 h6 ul ol dl dt dd address".split()
)
_DROPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment (or of plain text: then only whitespace is tidied)."""
    if not html or not html.strip():
        return ""
    if "<" not in html and "&" not in html:
        return _tidy(html)
    parts: list[str] = []
    for root in _fragments(html):
        _walk(root, parts, list_depth=0)
    return _tidy("".join(parts))


def html_to_items(html: str) -> list[str]:
    """The entries of a text module that is a list (Unterlagen, Voraussetzungen, Rechtsgrundlagen):
    each list item, else each non-empty line; a lead-in line before a list is kept as its own entry."""
    text = html_to_text(html)
    items: list[str] = []
    for line in text.split("\n"):
        entry = line.strip().removeprefix("- ").strip()
        if entry:
            items.append(entry)
    return items


def _fragments(html: str) -> list[Any]:
    # fragments_fromstring keeps leading text as a str; wrap everything in one div instead.
    try:
        return [lxml.html.fragment_fromstring(html, create_parent="div")]
    except (etree.ParserError, ValueError):
        return []


def _walk(element: Any, parts: list[str], list_depth: int) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _DROPPED:
        _tail(element, parts)
        return
    if tag == "br":
        parts.append("\n")
    elif tag == "li":
        parts.append("\n" + "  " * max(list_depth - 1, 0) + "- ")
    elif tag in _BLOCKS:
        parts.append("\n")
    if element.text and tag not in ("", "br"):
        parts.append(_inline(element.text))
    depth = list_depth + 1 if tag in ("ul", "ol") else list_depth
    for child in element:
        if not isinstance(child.tag, str):  # a comment or processing instruction: only its tail is text
            _tail(child, parts)
            continue
        _walk(child, parts, depth)
    if tag == "a":
        href = (element.get("href") or "").strip()
        label = element.text_content().strip()
        if href.startswith(("https://", "http://", "mailto:")) and href.removeprefix("mailto:") != label:
            parts.append(f" ({href.removeprefix('mailto:')})")
    if tag in _BLOCKS or tag == "li":
        parts.append("\n")
    elif tag in ("td", "th"):
        parts.append(" ")  # cells of one row stay on one line, apart
    _tail(element, parts)


def _tail(element: Any, parts: list[str]) -> None:
    if element.tail:
        parts.append(_inline(element.tail))


def _inline(text: str) -> str:
    """A line break in HTML source is a space; only the markup makes lines."""
    return text.replace("\r", " ").replace("\n", " ")


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    # Paragraph ends and list starts both break the line; one break between them is enough. A list
    # item whose content is a paragraph (<li><p>...) leaves its marker alone on a line: rejoin it.
    kept: list[str] = []
    for line in lines:
        if not line:
            continue
        if kept and kept[-1] == "-":
            kept[-1] = "- " + line
        else:
            kept.append(line)
    return "\n".join(line for line in kept if line != "-")
