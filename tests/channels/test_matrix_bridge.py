"""The Matrix bridge's rules without a homeserver: what a citizen reads, what "2" picks, the settings.

The bridge process itself (matrix-nio, only in .venv/matrix) runs against a real Synapse in
tests/integration/test_channel_matrix.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.bridges.matrix_messages import BridgeSettings, RememberedOptions, last_options, matrix_contents, plain_body

SOURCE = {
    "title": "Bürgerbüro <Rathaus>",
    "url": "https://www.krefeld.de/buergerbuero?a=1&b=2",
    "last_reviewed": "2026-10-01",
}
MEINTEN_SIE: dict[str, Any] = {
    "text": "Meinten Sie eines davon?",
    "buttons": [
        {"title": "Sperrmüll anmelden", "payload": '/choose_entry{"entry_id": "svc-sperrmuell"}'},
        {"title": "Wertstoffhof", "payload": '/choose_entry{"entry_id": "svc-wertstoffhof"}'},
    ],
}


def test_an_answer_has_an_html_body_with_a_clickable_source_and_a_plain_body_with_its_url() -> None:
    [content] = matrix_contents(
        [{"text": "Das Bürgerbüro hat Mo–Fr geöffnet & Sa nach Termin."}, {"custom": {"kumpel": {"source": SOURCE}}}]
    )
    assert content["msgtype"] == "m.text" and content["format"] == "org.matrix.custom.html"
    assert (
        '<a href="https://www.krefeld.de/buergerbuero?a=1&amp;b=2">Bürgerbüro &lt;Rathaus&gt;</a>'
        in content["formatted_body"]
    )
    assert "geöffnet &amp; Sa" in content["formatted_body"]
    assert (
        "Quelle: Bürgerbüro <Rathaus> – https://www.krefeld.de/buergerbuero?a=1&b=2 (Stand: 01.10.2026)"
        in content["body"]
    )
    assert "geöffnet & Sa" in content["body"]


def test_options_are_numbered_lines_and_keep_their_line_breaks_in_html() -> None:
    [content] = matrix_contents([MEINTEN_SIE])
    assert "1) Sperrmüll anmelden\n2) Wertstoffhof" in content["body"]
    assert "1) Sperrmüll anmelden<br>2) Wertstoffhof" in content["formatted_body"]


@pytest.mark.parametrize("reply", ["2", "2.", "Nr. 2", "zwei"])
def test_a_number_picks_the_option_shown_last_in_that_room(reply: str) -> None:
    options = RememberedOptions()
    options.remember("!room-a", last_options([{"text": "Hallo"}, MEINTEN_SIE]))
    assert options.resolve("!room-a", reply) == '/choose_entry{"entry_id": "svc-wertstoffhof"}'
    assert options.resolve("!room-b", reply) == reply  # another citizen's room: just text


def test_a_number_out_of_range_or_after_a_turn_without_options_is_sent_on_as_text() -> None:
    options = RememberedOptions()
    options.remember("!room", last_options([MEINTEN_SIE]))
    assert options.resolve("!room", "7") == "7"
    options.remember("!room", last_options([{"text": "Wie viele Hunde?"}]))
    assert options.resolve("!room", "2") == "2"  # "2 Hunde" is an answer now, not a choice


def test_remembered_rooms_are_bounded() -> None:
    options = RememberedOptions(limit=2)
    for room in ("!a", "!b", "!c"):
        options.remember(room, MEINTEN_SIE["buttons"])
    assert options.resolve("!a", "1") == "1"
    assert options.resolve("!c", "1").startswith("/choose_entry")


def test_plain_body_drops_markup() -> None:
    assert (
        plain_body('<b>Achtung</b>: <a href="https://x.de/?a&amp;b">Seite</a>') == "Achtung: Seite – https://x.de/?a&b"
    )


def test_missing_settings_stop_the_bridge_with_their_names() -> None:
    with pytest.raises(SystemExit, match="KUMPEL_MATRIX_ACCESS_TOKEN"):
        BridgeSettings.from_environment(
            {"KUMPEL_MATRIX_HOMESERVER": "https://matrix.krefeld.de", "KUMPEL_MATRIX_USER": "@kumpel:krefeld.de"}
        )
    settings = BridgeSettings.from_environment(
        {
            "KUMPEL_MATRIX_HOMESERVER": "https://matrix.krefeld.de/",
            "KUMPEL_MATRIX_USER": "@kumpel:krefeld.de",
            "KUMPEL_MATRIX_ACCESS_TOKEN": "syt_x",
            "KUMPEL_RASA_URL": "http://127.0.0.1:5005/",
        }
    )
    assert settings.homeserver == "https://matrix.krefeld.de"
    assert settings.rest_webhook == "http://127.0.0.1:5005/webhooks/rest/webhook"
