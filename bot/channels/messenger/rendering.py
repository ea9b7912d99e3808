"""One reply of the bot, rendered for a messenger: split at its limit, links and sources in its format.

The bot's messages are Rasa's dicts (what ``CollectingOutputChannel`` collects): ``text``, ``buttons``
(``[{"title", "payload"}]``) and ``custom`` with the ``kumpel`` payload (``source`` = ``{title, url,
last_reviewed}``). Rasa's ``OutputChannel.send_response`` delivers ``custom`` as a message of its own
right after the text, so a custom-only message is joined to the text before it.

:func:`render` gives a list of :class:`Part` (one platform message each):

- long texts are split at the style's limit on paragraph, line or sentence boundaries, never inside a
  word or a link (a single word longer than the limit is the only thing ever cut);
- the answer's source line ("Quelle: ...") is formatted for the channel (an HTML link on Telegram, a
  Markdown link, or title and URL as plain text);
- buttons stay native up to the channel's limit (and title length); otherwise they become numbered
  lines "1) ..." at the end of the text, and a reply "2" picks option 2 (``choices.pick_numbered``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

LinkFormat = Literal["html", "markdown", "plain", "whatsapp"]

# How a citizen is told to answer a numbered list (the number picks the option, see choices.py).
NUMBERED_HINT = "Antworten Sie einfach mit der Nummer."


@dataclass(frozen=True)
class ChannelStyle:
    """What a messenger can show in one message."""

    name: str
    # Characters per message (the platform's limit, or less).
    max_text: int
    # Buttons shown natively (0: always numbered lines).
    max_buttons_native: int
    link_format: LinkFormat
    # Numbered lines even when native buttons would fit (Matrix, Threema have none).
    numbered_options: bool = False
    # Longest button title the platform takes (0: no limit); longer titles -> list rows or numbered.
    max_button_title: int = 0
    # A list (WhatsApp: up to 10 rows) when there are more options than native buttons (0: no list).
    max_list_rows: int = 0
    max_list_row_title: int = 0
    # The text of the message that carries buttons or a list may be shorter (WhatsApp: 1,024).
    max_text_with_buttons: int | None = None
    # A limit in UTF-8 bytes as well (Threema: 3,500 bytes per text message).
    max_bytes: int | None = None


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Part:
    """One platform message: its text and, on the last part of a reply, native buttons or list rows."""

    text: str
    buttons: list[Button] = field(default_factory=list)
    list_rows: list[Button] = field(default_factory=list)


# Styles as the platforms document them today; a channel may pass its own.
TELEGRAM = ChannelStyle("telegram", max_text=4096, max_buttons_native=100, link_format="html")
WHATSAPP = ChannelStyle(
    "whatsapp",
    max_text=4096,
    max_buttons_native=3,
    link_format="whatsapp",
    max_button_title=20,
    max_list_rows=10,
    max_list_row_title=24,
    max_text_with_buttons=1024,
)
FACEBOOK = ChannelStyle("facebook", max_text=2000, max_buttons_native=13, link_format="plain", max_button_title=20)
MATRIX = ChannelStyle("matrix", max_text=16000, max_buttons_native=0, link_format="html", numbered_options=True)
THREEMA = ChannelStyle(
    "threema", max_text=3500, max_buttons_native=0, link_format="plain", numbered_options=True, max_bytes=3500
)
PLAIN = ChannelStyle("plain", max_text=4000, max_buttons_native=0, link_format="plain", numbered_options=True)

# A citation as actions/replies.py appends it: a last paragraph "Quelle: ...".
_CITATION = re.compile(r"\n\s*\nQuelle: [^\n]*\s*$")
_URL = re.compile(r"https?://[^\s<>\"]+")
# Spans a split must not cut: links in each format (and bare URLs in all).
_PROTECTED = {
    "html": re.compile(r"<a\s[^>]*>.*?</a>|https?://[^\s<>\"]+", re.DOTALL),
    "markdown": re.compile(r"\[(?:\\.|[^\]\\])*\]\([^)\s]*\)|https?://[^\s<>\"]+"),
    "plain": _URL,
    "whatsapp": _URL,
}
# A sentence ends at . ! ? or … followed by white space and a capital, a digit or a quote; so
# "z. B. die", "Nr. 2" inside a sentence and "01.10.2026" are no ends (a digit after "Nr. " is
# accepted as a rare false end: the split is still between words).
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"“”»)]?\s+(?=[A-ZÄÖÜ0-9„\"»(])")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()#~>|])")


def render(messages: list[dict[str, Any]], style: ChannelStyle) -> list[Part]:
    """The platform messages for the bot's ``messages`` on a channel of ``style``."""
    parts: list[Part] = []
    for message in _joined(messages):
        parts.extend(_render_one(message, style))
    return parts


def _joined(messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with each custom-only message merged into the text message before it."""
    joined: list[dict[str, Any]] = []
    for message in messages:
        has_content = bool(message.get("text") or message.get("buttons") or message.get("quick_replies"))
        if not has_content and message.get("custom") and joined and not joined[-1].get("custom"):
            joined[-1] = {**joined[-1], "custom": message["custom"]}
        elif has_content:
            joined.append(dict(message))
    return joined


def _source_of(message: dict[str, Any]) -> dict[str, Any] | None:
    custom = message.get("custom")
    kumpel = custom.get("kumpel") if isinstance(custom, dict) else None
    source = kumpel.get("source") if isinstance(kumpel, dict) else None
    return source if isinstance(source, dict) and source.get("title") else None


def _buttons_of(message: dict[str, Any]) -> list[Button]:
    raw = message.get("buttons") or message.get("quick_replies") or []
    return [
        Button(str(button.get("title", "")), str(button.get("payload", "")))
        for button in raw
        if isinstance(button, dict) and button.get("title") and button.get("payload")
    ]


def _render_one(message: dict[str, Any], style: ChannelStyle) -> list[Part]:
    text = str(message.get("text") or "").strip()
    source = _source_of(message)
    if source is not None:
        text = _CITATION.sub("", text).rstrip()
    blocks = [escape(text, style.link_format)] if text else []
    if source is not None:
        blocks.append(source_line(source, style.link_format))
    buttons = _buttons_of(message)
    native: list[Button] = []
    rows: list[Button] = []
    if buttons:
        if _fits_natively(buttons, style.max_buttons_native, style.max_button_title, style.numbered_options):
            native = buttons
        elif _fits_natively(buttons, style.max_list_rows, style.max_list_row_title, style.numbered_options):
            rows = buttons
        else:
            blocks.append(numbered_lines(buttons, style.link_format))
    chunks = split_text("\n\n".join(blocks), style)
    if (native or rows) and style.max_text_with_buttons is not None and chunks:
        last = chunks.pop()
        chunks.extend(split_text(last, style, limit=style.max_text_with_buttons))
    if not chunks:
        # Buttons without text: platforms need some text to attach them to.
        chunks = ["Bitte wählen Sie:"] if native or rows else []
    parts = [Part(chunk) for chunk in chunks]
    if parts and (native or rows):
        parts[-1] = Part(parts[-1].text, buttons=native, list_rows=rows)
    return parts


def _fits_natively(buttons: list[Button], limit: int, title_limit: int, numbered: bool) -> bool:
    if numbered or limit <= 0 or len(buttons) > limit:
        return False
    return title_limit <= 0 or all(len(button.title) <= title_limit for button in buttons)


def numbered_lines(buttons: list[Button], link_format: LinkFormat) -> str:
    """The options as "1) ..." lines and the hint to answer with the number."""
    lines = [f"{number}) {escape(button.title, link_format)}" for number, button in enumerate(buttons, start=1)]
    return "\n".join([*lines, escape(NUMBERED_HINT, link_format)])


def escape(text: str, link_format: LinkFormat) -> str:
    """``text`` safe to send in ``link_format`` (Telegram HTML: ``<>&``; Markdown: its special characters)."""
    if link_format == "html":
        return html.escape(text, quote=False)
    if link_format == "markdown":
        # URLs stay as they are: a backslash inside one would break the link.
        pieces, last = [], 0
        for match in _URL.finditer(text):
            pieces.append(_MARKDOWN_SPECIAL.sub(r"\\\1", text[last : match.start()]))
            pieces.append(match.group())
            last = match.end()
        pieces.append(_MARKDOWN_SPECIAL.sub(r"\\\1", text[last:]))
        return "".join(pieces)
    return text  # plain and WhatsApp have no escaping: shown as typed


def source_line(source: dict[str, Any], link_format: LinkFormat) -> str:
    """ "Quelle: <title> ... (Stand: dd.mm.yyyy)" with the link in the channel's format."""
    title = str(source.get("title") or "").strip()
    url = str(source.get("url") or "").strip() or None
    reviewed = _german_date(source.get("last_reviewed"))
    stand = f" (Stand: {reviewed})" if reviewed else ""
    if url is not None and not _URL.fullmatch(url):
        url = None  # only http(s) links are ever sent as links
    if link_format == "html":
        linked = (
            f'<a href="{html.escape(url, quote=True)}">{html.escape(title, quote=False)}</a>'
            if url
            else html.escape(title, quote=False)
        )
        return f"Quelle: {linked}{stand}"
    if link_format == "markdown":
        linked = f"[{escape(title, 'markdown')}]({url.replace(')', '%29')})" if url else escape(title, "markdown")
        return f"Quelle: {linked}{escape(stand, 'markdown')}"
    if link_format == "whatsapp":
        # WhatsApp links only bare URLs: on a line of their own, so the preview shows the page.
        return f"Quelle: {title}{stand}" + (f"\n{url}" if url else "")
    return f"Quelle: {title}" + (f" – {url}" if url else "") + stand


def _german_date(value: Any) -> str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10]).strftime("%d.%m.%Y")
    except ValueError:
        return None


def split_text(text: str, style: ChannelStyle, limit: int | None = None) -> list[str]:
    """``text`` in chunks of at most ``limit`` (default ``style.max_text``) characters (and ``max_bytes``).

    Breaks at the best boundary in the last half of each window: paragraph, then line, then sentence,
    then word; never inside a protected span (a link). Only a single word longer than the limit is cut.
    """
    limit = limit or style.max_text
    text = text.strip()
    if not text:
        return []
    protected = [match.span() for match in _PROTECTED[style.link_format].finditer(text)]
    candidates = _break_candidates(text, protected)
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = _window_end(text, start, limit, style.max_bytes)
        if end >= len(text):
            chunks.append(text[start:].strip())
            break
        cut = _best_break(candidates, start, end)
        if cut is None:
            cut = _outside_protected(end, start, protected)
        chunks.append(text[start:cut].strip())
        start = cut
        while start < len(text) and text[start].isspace():
            start += 1
    return [chunk for chunk in chunks if chunk]


def _window_end(text: str, start: int, limit: int, max_bytes: int | None) -> int:
    end = min(len(text), start + limit)
    if max_bytes is not None:
        used = 0
        for index in range(start, end):
            used += len(text[index].encode("utf-8", "surrogatepass"))
            if used > max_bytes:
                return index
    return end


def _break_candidates(text: str, protected: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``(position, rank)`` of every place a chunk may end (rank 0 best: a paragraph break)."""
    found: list[tuple[int, int]] = []
    for rank, pattern in enumerate((r"\n\s*\n", r"\n", None, r"\s+")):
        matches = _SENTENCE_END.finditer(text) if pattern is None else re.finditer(pattern, text)
        for match in matches:
            # A sentence end's match is the closing quote (kept with its sentence) and the white space.
            closing = len(match.group()) - len(match.group().lstrip('"“”»)')) if pattern is None else 0
            position = match.start() + closing
            if not any(low < position < high for low, high in protected):
                found.append((position, rank))
    return found


def _best_break(candidates: list[tuple[int, int]], start: int, end: int) -> int | None:
    """The best-ranked break in the second half of ``(start, end]``, else the best anywhere in it."""
    middle = start + (end - start) // 2
    for low in (middle, start):
        inside = [(rank, -position) for position, rank in candidates if low < position <= end]
        if inside:
            rank, negative = min(inside)
            return -negative
    return None


def _outside_protected(end: int, start: int, protected: list[tuple[int, int]]) -> int:
    """A hard cut at ``end``, moved before a link it would cut when that link starts after ``start``."""
    for low, high in protected:
        if low < end < high and low > start:
            return low
    return end
