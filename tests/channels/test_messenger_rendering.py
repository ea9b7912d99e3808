"""What a citizen sees of one bot reply on each messenger: split, source line, escaping, options."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.channels.messenger.rendering import (
    FACEBOOK,
    MATRIX,
    NUMBERED_HINT,
    TELEGRAM,
    THREEMA,
    WHATSAPP,
    Button,
    ChannelStyle,
    render,
    split_text,
)

ALL_STYLES = [TELEGRAM, WHATSAPP, FACEBOOK, MATRIX, THREEMA]
SOURCE = {
    "title": "Hundesteuer & Hundemarke",
    "url": "https://www.krefeld.de/de/steuern/hundesteuer?a=1&b=2",
    "last_reviewed": "2026-10-01",
}
ANSWER = "Die Hundesteuer kostet für einen Hund 111,32 EUR im Jahr."


def knowledge_reply(text: str = ANSWER, buttons: list[dict[str, str]] | None = None) -> list[dict[str, object]]:
    """A reply as Rasa's output channel hands it over: text (with actions/replies.py's citation), then custom."""
    message: dict[str, object] = {
        "recipient_id": "x",
        "text": f"{text}\n\nQuelle: {SOURCE['title']} – {SOURCE['url']} (Stand: 01.10.2026)",
    }
    if buttons:
        message["buttons"] = buttons
    return [message, {"recipient_id": "x", "custom": {"kumpel": {"status": "answer", "source": SOURCE}}}]


def options(count: int, title: str = "Option") -> list[dict[str, str]]:
    return [{"title": f"{title} {n}", "payload": f'/choose_entry{{"entity_id": "e{n}"}}'} for n in range(1, count + 1)]


def long_text(sentences: int) -> str:
    return " ".join(f"Satz Nummer {n} erklärt die Hundesteuer in Krefeld ausführlich." for n in range(sentences))


@pytest.mark.parametrize("style", ALL_STYLES, ids=lambda style: style.name)
def test_long_answers_are_split_at_the_limit_on_sentence_boundaries(style: ChannelStyle) -> None:
    text = long_text(style.max_text // 40)  # about 1.5 times the limit
    parts = render([{"text": text}], style)
    assert len(parts) >= 2
    for part in parts:
        assert len(part.text) <= style.max_text
        assert part.text.endswith("ausführlich.")  # every part ends with a whole sentence
    assert " ".join(part.text for part in parts) == text  # nothing lost, nothing doubled


def test_a_threema_part_also_fits_its_byte_limit() -> None:
    text = " ".join("Grüße aus dem Bürgerbüro, schönen Tag noch. 😀" for _ in range(200))
    parts = render([{"text": text}], THREEMA)
    assert len(parts) >= 3
    assert all(len(part.text.encode("utf-8")) <= 3500 for part in parts)


def test_a_split_never_cuts_a_word_or_a_link() -> None:
    style = ChannelStyle("small", max_text=70, max_buttons_native=0, link_format="html")
    text = "Weitere Informationen finden Sie online unter https://www.krefeld.de/de/buergerservice/hundesteuer-anmelden heute"
    chunks = split_text(text, style)
    assert len(chunks) == 2
    assert any(chunk.split()[0] == "https://www.krefeld.de/de/buergerservice/hundesteuer-anmelden" for chunk in chunks)
    words = text.split()
    assert [word for chunk in chunks for word in chunk.split()] == words


def test_an_html_source_link_is_never_split() -> None:
    style = ChannelStyle("small", max_text=120, max_buttons_native=0, link_format="html")
    parts = render(knowledge_reply(long_text(2)), style)
    anchors = [part.text for part in parts if "<a href" in part.text]
    assert len(anchors) == 1 and "</a>" in anchors[0]


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        (
            TELEGRAM,
            'Quelle: <a href="https://www.krefeld.de/de/steuern/hundesteuer?a=1&amp;b=2">Hundesteuer &amp; Hundemarke</a> (Stand: 01.10.2026)',
        ),
        (
            MATRIX,
            'Quelle: <a href="https://www.krefeld.de/de/steuern/hundesteuer?a=1&amp;b=2">Hundesteuer &amp; Hundemarke</a> (Stand: 01.10.2026)',
        ),
        (
            FACEBOOK,
            "Quelle: Hundesteuer & Hundemarke – https://www.krefeld.de/de/steuern/hundesteuer?a=1&b=2 (Stand: 01.10.2026)",
        ),
        (
            THREEMA,
            "Quelle: Hundesteuer & Hundemarke – https://www.krefeld.de/de/steuern/hundesteuer?a=1&b=2 (Stand: 01.10.2026)",
        ),
        (
            WHATSAPP,
            "Quelle: Hundesteuer & Hundemarke (Stand: 01.10.2026)\nhttps://www.krefeld.de/de/steuern/hundesteuer?a=1&b=2",
        ),
        (
            ChannelStyle("md", max_text=4000, max_buttons_native=0, link_format="markdown"),
            r"Quelle: [Hundesteuer & Hundemarke](https://www.krefeld.de/de/steuern/hundesteuer?a=1&b=2) \(Stand: 01.10.2026\)",
        ),
    ],
    ids=lambda value: value.name if isinstance(value, ChannelStyle) else "",
)
def test_the_source_line_is_formatted_for_the_channel(style: ChannelStyle, expected: str) -> None:
    (part,) = render(knowledge_reply(), style)
    assert part.text.startswith(ANSWER)
    assert part.text.endswith(expected)
    assert part.text.count("Quelle:") == 1  # the plain citation in the text is replaced, not repeated


def test_telegram_html_escapes_what_the_bot_says() -> None:
    (part,) = render([{"text": "Gebühr <10 EUR> & mehr", "buttons": [{"title": "A & <B>", "payload": "/a"}]}], TELEGRAM)
    assert part.text == "Gebühr &lt;10 EUR&gt; &amp; mehr"
    assert part.buttons == [Button("A & <B>", "/a")]  # button labels are no HTML on Telegram


def test_a_source_without_a_web_link_gets_no_link() -> None:
    messages = [
        {"text": "Antwort.", "custom": {"kumpel": {"source": {"title": "Satzung", "url": "javascript:alert(1)"}}}}
    ]
    (part,) = render(messages, TELEGRAM)
    assert part.text == "Antwort.\n\nQuelle: Satzung"


@pytest.mark.parametrize(
    ("style", "limit"), [(TELEGRAM, 100), (FACEBOOK, 13), (WHATSAPP, 3)], ids=lambda v: getattr(v, "name", str(v))
)
def test_buttons_stay_native_up_to_the_channel_limit(style: ChannelStyle, limit: int) -> None:
    (part,) = render([{"text": "Meinten Sie …?", "buttons": options(limit, "Wahl")}], style)
    assert [button.title for button in part.buttons] == [f"Wahl {n}" for n in range(1, limit + 1)]
    assert part.text == "Meinten Sie …?"


def test_whatsapp_shows_four_to_ten_options_as_a_list() -> None:
    (part,) = render([{"text": "Meinten Sie …?", "buttons": options(7)}], WHATSAPP)
    assert part.buttons == []
    assert [row.title for row in part.list_rows] == [f"Option {n}" for n in range(1, 8)]


@pytest.mark.parametrize(
    ("style", "count"),
    [(FACEBOOK, 14), (WHATSAPP, 11), (MATRIX, 2), (THREEMA, 3)],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_options_beyond_the_native_limit_become_numbered_lines(style: ChannelStyle, count: int) -> None:
    (part,) = render([{"text": "Meinten Sie …?", "buttons": options(count)}], style)
    assert part.buttons == [] and part.list_rows == []
    lines = part.text.split("\n")
    assert lines[0] == "Meinten Sie …?"
    assert lines[2 : 2 + count] == [f"{n}) Option {n}" for n in range(1, count + 1)]
    assert lines[-1] == NUMBERED_HINT


def test_titles_too_long_for_native_buttons_are_numbered_not_cut() -> None:
    title = "Hundesteuer Anmeldung für gefährliche Hunde"
    (part,) = render(
        [
            {
                "text": "Meinten Sie …?",
                "buttons": [{"title": title, "payload": "/a"}, {"title": "Nein", "payload": "/b"}],
            }
        ],
        WHATSAPP,
    )
    assert part.buttons == [] and part.list_rows == []
    assert f"1) {title}" in part.text


def test_buttons_come_with_the_last_part_of_a_long_answer() -> None:
    parts = render([{"text": long_text(150), "buttons": options(2)}], TELEGRAM)
    assert len(parts) >= 2
    assert all(part.buttons == [] for part in parts[:-1])
    assert len(parts[-1].buttons) == 2


def test_the_whatsapp_message_with_buttons_fits_the_interactive_limit() -> None:
    parts = render([{"text": long_text(40), "buttons": options(2)}], WHATSAPP)
    assert len(parts[-1].buttons) == 2
    assert len(parts[-1].text) <= 1024


def privacy_notice() -> str:
    spec = Path(__file__).resolve().parents[2] / "forms/src/kumpel_forms/specs/dog_tax_registration.yml"
    fields = yaml.safe_load(spec.read_text(encoding="utf-8"))["fields"]
    prompt = next(field["prompt"] for field in fields if field["name"] == "privacy_consent")
    return str(prompt).replace("{city}", "Krefeld")


@pytest.mark.parametrize("style", ALL_STYLES, ids=lambda style: style.name)
def test_the_privacy_notice_of_a_form_is_kept_whole(style: ChannelStyle) -> None:
    notice = privacy_notice()
    assert "Datenschutzhinweis" in notice
    parts = render(
        [{"text": notice, "buttons": [{"title": "Ja", "payload": "/affirm"}, {"title": "Nein", "payload": "/deny"}]}],
        style,
    )
    assert len(parts) == 1
    assert notice in parts[0].text


def test_several_messages_of_one_turn_stay_separate_parts() -> None:
    parts = render([{"text": "Erste Nachricht."}, {"text": "Zweite Nachricht."}], THREEMA)
    assert [part.text for part in parts] == ["Erste Nachricht.", "Zweite Nachricht."]


def test_sentence_ends_are_not_found_in_abbreviations_and_dates() -> None:
    style = ChannelStyle("small", max_text=70, max_buttons_native=0, link_format="plain")
    text = "Zahlen Sie z. B. am 15.02.2026 per Überweisung an die Stadtkasse. Danach kommt die Marke."
    chunks = split_text(text, style)
    assert chunks == ["Zahlen Sie z. B. am 15.02.2026 per Überweisung an die Stadtkasse.", "Danach kommt die Marke."]
    assert not any(re.search(r"\bz\.$", chunk) for chunk in chunks)
