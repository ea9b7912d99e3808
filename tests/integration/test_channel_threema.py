"""Threema with the real trained bot: signed callbacks in, what the citizen reads through a fake Gateway out.

One stack for the module, with the Threema variables set and ``KUMPEL_THREEMA_API_URL`` pointing at a
loopback fake of the Gateway (key directory and ``send_e2e``) that records every message our side
sends. The test plays the Gateway: it posts callbacks encrypted for the city's key and signed with
the API secret, as the Gateway does after the citizen typed, and reads the citizen's screen by
decrypting what the fake received with the citizen's key. Threema has no buttons: every choice is
a numbered list and the citizen answers with the number.
"""

from __future__ import annotations

import re
import secrets
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from bot.channels.messenger.identity import conversation_id
from kumpel_stack.launcher import Stack
from tests.channels.threema_fake import API_SECRET, GATEWAY_ID, Citizen, FakeThreemaGateway, encode, running_gateway

from .channel_checks import DOG_TAX_STEPS, REFERENCE, all_logs, channel_stack, tracker_senders

pytestmark = pytest.mark.integration

ID_SECRET = "integration-channel-id-secret-threema-0123456789"
# How long one turn may take under load (the NLU and the action server on 2 shared cores).
TURN_SECONDS = 90


@dataclass
class Threema:
    stack: Stack
    gateway: FakeThreemaGateway

    @property
    def webhook(self) -> str:
        return f"{self.stack.rasa_url}/webhooks/threema/webhook"

    def post(self, body: bytes) -> httpx.Response:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return httpx.post(self.webhook, content=body, headers=headers, timeout=TURN_SECONDS)


@pytest.fixture(scope="module")
def threema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Threema]:
    with running_gateway() as gateway:
        env = {
            "KUMPEL_THREEMA_ID": GATEWAY_ID,
            "KUMPEL_THREEMA_SECRET": API_SECRET,
            "KUMPEL_THREEMA_PRIVATE_KEY": gateway.private_key,
            "KUMPEL_THREEMA_API_URL": gateway.url,
        }
        with channel_stack(tmp_path_factory, "threema", env, id_secret=ID_SECRET) as stack:
            yield Threema(stack, gateway)


def new_threema_id() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8))


@dataclass
class Phone:
    """A citizen's Threema app: writes to the city's ID and shows the replies of each turn."""

    app: Threema
    citizen: Citizen = field(init=False)
    last: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.citizen = self.app.gateway.citizen(new_threema_id())

    def say(self, text: str, expect: str) -> str:
        seen = len(self.citizen.replies())
        answer = self.app.post(encode(self.citizen.callback(text)))
        assert answer.status_code == 200, answer.text
        # The webhook answers once the turn's replies are sent; a short bounded wait covers the rest.
        deadline = time.monotonic() + 10
        while expect not in "\n".join(self.citizen.replies()[seen:]) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.last = self.citizen.replies()[seen:]
        assert expect in self.text, f"after {text!r}, no {expect!r} in {self.last}"
        return self.text

    @property
    def text(self) -> str:
        return "\n".join(self.last)

    def number_of(self, title_part: str) -> str:
        """The number of the option whose title contains ``title_part`` in the last numbered list."""
        for line in self.text.splitlines():
            match = re.match(r"^(\d+)\) (.*)$", line)
            if match and title_part in match.group(2):
                return match.group(1)
        raise AssertionError(f"no option with {title_part!r} in {self.last}")


def test_a_knowledge_question_is_answered_with_its_source(threema: Threema) -> None:
    phone = Phone(threema)
    text = phone.say("Wann hat das Bürgerbüro geöffnet?", expect="Quelle:")
    assert re.search(r"\d{1,2}:\d\d Uhr", text), text
    assert re.search(r"Quelle: .+ – https?://\S+ \(Stand: \d\d\.\d\d\.\d{4}\)", text), text
    # The conversation is stored under a keyed hash, never under the Threema ID.
    senders = tracker_senders(threema.stack)
    assert conversation_id("threema", phone.citizen.threema_id, secret=ID_SECRET) in senders
    assert not any(phone.citizen.threema_id in sender for sender in senders)


def test_a_meinten_sie_choice_is_picked_by_its_number(threema: Threema) -> None:
    phone = Phone(threema)
    text = phone.say("Ich habe eine Frage zu meinem Auto", expect="Meinten Sie")
    assert "Antworten Sie einfach mit der Nummer." in text
    number = phone.number_of("außer Betrieb")
    text = phone.say(number, expect="Quelle:")
    assert "außer Betrieb" in text, text


def test_a_dog_tax_registration_is_completed_to_its_reference_number(threema: Threema) -> None:
    phone = Phone(threema)
    text = phone.say("Ich möchte meinen Hund anmelden", expect="Datenschutzhinweis")
    assert re.search(r"^1\) Ja$", text, re.MULTILINE) and re.search(r"^2\) Nein$", text, re.MULTILINE), text
    phone.say("1", expect="Vor- und Nachname")
    for message, next_question in DOG_TAX_STEPS:
        phone.say(message, expect=next_question)
    assert "Erika Mustermann" in phone.text and "111,32 EUR" in phone.text
    text = phone.say("Ja, absenden", expect="HST-")
    match = REFERENCE.search(text)
    assert match and match.group(1) == "HST", text


@pytest.mark.parametrize("attack", ["unsigned", "wrongly signed", "replayed", "oversized"])
def test_forged_replayed_or_oversized_callbacks_are_refused_and_reach_no_tracker(threema: Threema, attack: str) -> None:
    citizen = threema.gateway.citizen(new_threema_id())
    fields = citizen.callback("Ich möchte meinen Hund anmelden")
    if attack == "unsigned":
        del fields["mac"]
        expected = 401
    elif attack == "wrongly signed":
        fields = citizen.callback("Ich möchte meinen Hund anmelden", secret="guessed-secret")
        expected = 403
    elif attack == "replayed":
        fields = citizen.callback("Hallo", date=int(time.time()) - 600)
        expected = 403
    else:
        fields["nickname"] = "x" * 70_000
        expected = 413
    answer = threema.post(encode(fields))
    assert answer.status_code == expected, answer.text
    if expected != 413:
        assert answer.headers["content-type"].startswith("application/json")
    assert citizen.replies() == []
    assert conversation_id("threema", citizen.threema_id, secret=ID_SECRET) not in tracker_senders(threema.stack)
    # Nothing of the callback reached the logs (the text never left the box: it was not decrypted).
    log = all_logs(threema.stack)
    assert citizen.threema_id not in log


def test_a_second_delivery_of_a_callback_runs_no_second_turn(threema: Threema) -> None:
    phone = Phone(threema)
    fields = phone.citizen.callback("Was kostet die Hundesteuer?")
    assert threema.post(encode(fields)).status_code == 200
    replies = len(phone.citizen.replies())
    again = threema.post(encode(fields))
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert len(phone.citizen.replies()) == replies
