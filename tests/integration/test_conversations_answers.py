"""Precise answers with the real trained bot over REST (issue 12): the flagship dog-tax questions are
answered, not asked back; a name written in a question does not override what it asks; a follow-up
after a completed form is about that form's service."""

from __future__ import annotations

import re

import pytest

from kumpel_stack.testing import Conversation
from tests.integration.test_forms import fill_until_summary

pytestmark = pytest.mark.integration


def kumpel_status(conversation: Conversation) -> str:
    payloads = [c["kumpel"] for c in conversation.custom if "kumpel" in c]
    assert payloads, f"no machine-readable payload in {conversation.last}"
    return str(payloads[-1]["status"])


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("Wie viel Hundesteuer zahlt man für einen Hund?", "Ein Hund: 111,32 EUR pro Jahr."),
        ("Was kostet die Hundesteuer für zwei Hunde?", "Zwei Hunde: 129,47 EUR je Hund und Jahr."),
        ("Wie hoch ist die Hundesteuer für einen Pitbull?", "Gefährlicher Hund / gelistete Rasse: 800,00 EUR"),
        ("Welche Unterlagen brauche ich für die Hundeanmeldung?", "Kaufvertrag, Übernahmevertrag"),
        ("An welche Mail schreib ich wegen Hundesteuer?", "E-Mail: hundesteuer@krefeld.de"),
    ],
)
def test_the_flagship_dog_tax_questions_are_answered_directly(
    conversation: Conversation, question: str, said: str
) -> None:
    conversation.say(question)
    assert not conversation.buttons, f"asked back: {conversation.text}"
    assert said in conversation.text, conversation.text
    assert "Quelle:" in conversation.text


def test_a_question_about_photos_for_the_passport_is_not_answered_with_the_application(
    conversation: Conversation,
) -> None:
    # "Pass" is a synonym of the passport application; the question is about the photo.
    conversation.say("Wo kann ich Fotos für den neuen Pass machen?")
    assert not conversation.text.startswith("Reisepass beantragen"), conversation.text
    assert "Passbild" in conversation.text, conversation.text


def test_a_lost_identity_card_is_not_answered_with_the_application(conversation: Conversation) -> None:
    conversation.say("Ich finde meinen Personalausweis nicht mehr, was jetzt?")
    assert not conversation.text.startswith("Personalausweis beantragen"), conversation.text
    assert "Verlust" in conversation.text, conversation.text


def test_what_it_costs_after_a_completed_dog_tax_registration(conversation: Conversation) -> None:
    fill_until_summary(conversation)
    conversation.say("Ja, absenden")
    assert re.search(r"\bHST-\d{4}-\d{6}\b", conversation.text), conversation.text
    conversation.say("Was kostet das?")
    assert kumpel_status(conversation) == "answer", conversation.text
    assert "111,32 EUR" in conversation.text, conversation.text
