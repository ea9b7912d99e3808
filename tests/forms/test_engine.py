"""The form engine with the real specs: values in any order, re-prompts, corrections, cancel, questions."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from actions.forms import engine
from kumpel_forms.spec import SpecError, all_forms, load_spec, parse_spec

TODAY = date(2026, 11, 21)
DOG_TAX = load_spec("dog_tax_registration")
# What the seed knowledge base says about the town (GET /api/v1/forms/dog_tax_registration/town).
KREFELD = engine.town_facts(
    {
        "town": "die Stadtverwaltung Krefeld",
        "state": "NW",
        "city": "Krefeld",
        "postcodes": [
            "47798",
            "47799",
            "47800",
            "47802",
            "47803",
            "47804",
            "47805",
            "47807",
            "47809",
            "47829",
            "47839",
        ],
        "email": "hundesteuer@krefeld.de",
        "office": "die Abteilung Steuern und Abgaben",
    }
)


class Chat:
    """Feeds messages to the engine like Rasa does, one turn at a time, 10 s apart."""

    def __init__(self, form: str = "dog_tax_registration") -> None:
        self.spec = load_spec(form)
        self.state = engine.step(self.spec, None, "start", today=TODAY, town=KREFELD).state
        self.clock = 1000.0
        self.result: engine.StepResult | None = None

    def say(
        self, text: str, *, gap: float = 10.0, intent: str | None = None, confidence: float = 0.0
    ) -> engine.StepResult:
        self.clock += gap
        self.result = engine.step(
            self.spec, self.state, text, today=TODAY, now_ts=self.clock, intent=intent, intent_confidence=confidence
        )
        self.state = self.result.state
        return self.result

    @property
    def values(self) -> dict[str, Any]:
        return self.state["values"]

    @property
    def pending(self) -> str:
        return self.state["pending"]

    @property
    def said(self) -> str:
        assert self.result is not None
        return "\n".join(self.result.messages)


def consented(form: str = "dog_tax_registration") -> Chat:
    chat = Chat(form)
    chat.say("Ja")
    return chat


def test_every_spec_loads_and_starts_with_the_privacy_consent() -> None:
    assert set(all_forms()) >= {"dog_tax_registration", "dog_tax_deregistration", "water_meter_reading"}
    for form in all_forms():
        spec = load_spec(form)
        assert spec.fields[0].type == "consent"
        assert "Datenschutz" in spec.fields[0].prompt


def test_no_personal_question_before_consent_and_nothing_kept_from_the_first_message() -> None:
    chat = Chat()
    assert chat.pending == "privacy_consent"
    assert "Datenschutzhinweis" in engine.prompt_for(chat.spec, chat.state)["text"]
    chat.say("Erika Mustermann, Chip 276098100123456")
    assert chat.values == {} and chat.pending == "privacy_consent"
    assert "„Ja“" in chat.said


def test_declining_consent_ends_the_form_with_another_way_to_register() -> None:
    chat = Chat()
    result = chat.say("Nein")
    assert result.outcome == "declined"
    assert "hundesteuer@krefeld.de" in chat.said


def test_several_values_in_one_message_in_any_order() -> None:
    chat = consented()
    chat.say("Erika Mustermann")
    chat.say("Ostwall 12, 47798 Krefeld")
    assert chat.values["owner_street"] == "Ostwall 12" and chat.values["owner_postcode"] == "47798"
    chat.say("keine")
    chat.say("Bello, ein Labrador, Chip 276098100123456")
    assert (chat.values["dog_name"], chat.values["dog_breed"], chat.values["dog_chip"]) == (
        "Bello",
        "Labrador",
        "276098100123456",
    )
    assert chat.pending == "dog_dangerous"


def test_values_given_early_are_not_asked_again() -> None:
    chat = consented()
    chat.say("Ich heiße Erika Mustermann, mein Hund heißt Bello, geboren am 3.4.2024, bei uns seit 1.6.2024")
    assert chat.values["owner_name"] == "Erika Mustermann"
    assert chat.values["dog_birth_date"] == "2024-04-03" and chat.values["dog_joined_date"] == "2024-06-01"
    asked: list[str] = []
    for answer in ["Ostwall 12", "47798", "keine", "Bello", "Dackel", "nein", "276098100123456", "0", "keine", "nein"]:
        asked.append(chat.pending)
        chat.say(answer)
    assert "dog_birth_date" not in asked and "dog_joined_date" not in asked
    assert chat.pending == engine.CONFIRM


@pytest.mark.parametrize(
    ("field", "answer", "says"),
    [
        ("dog_birth_date", "31.02.2024", "gibt es nicht"),
        ("dog_birth_date", "01.05.2027", "Zukunft"),
        ("dog_chip", "27609810012345", "14 Ziffern"),
        ("dog_chip", "2760981001234567", "16 Ziffern"),
        ("owner_postcode", "47051", "nicht in Krefeld"),
        ("owner_name", "R2D2", "Vor- und Nachnamen"),
    ],
)
def test_each_wrong_value_gets_a_polite_reprompt_and_is_not_stored(field: str, answer: str, says: str) -> None:
    chat = consented()
    chat.state["values"].update({f.name: None for f in chat.spec.fields[1:]})
    filled = {
        "owner_name": "Erika Mustermann",
        "owner_street": "Ostwall 12",
        "owner_postcode": "47798",
        "owner_email": "",
        "dog_name": "Bello",
        "dog_breed": "Dackel",
        "dog_dangerous": False,
        "dog_birth_date": "2024-04-03",
        "dog_joined_date": "2024-06-01",
        "dog_chip": "276098100123456",
    }
    order = list(filled)
    chat.state["values"].update({name: filled[name] for name in order[: order.index(field)]})
    chat.state["pending"] = field
    chat.say(answer)
    assert says in chat.said
    assert chat.values.get(field) is None and chat.pending == field


def test_joined_before_born_is_refused() -> None:
    chat = consented()
    chat.say("Hund geboren am 03.04.2024, bei uns seit 01.03.2024")
    assert "vor seiner Geburt" in chat.said
    assert chat.values["dog_birth_date"] == "2024-04-03" and chat.values.get("dog_joined_date") is None


def test_a_late_registration_gets_the_deadline_warning_but_is_accepted() -> None:
    chat = consented()
    chat.say("bei uns seit 01.09.2026")
    assert chat.values["dog_joined_date"] == "2026-09-01"
    assert "zwei Wochen" in chat.said and "Frist" in chat.said
    chat = consented()
    chat.say("bei uns seit 15.11.2026")
    assert "Frist" not in chat.said


# Every dog-tax answer before the SEPA question.
FILLED = {
    "owner_name": "Erika Mustermann",
    "owner_street": "Ostwall 12",
    "owner_postcode": "47798",
    "owner_email": "",
    "dog_name": "Bello",
    "dog_breed": "Dackel",
    "dog_dangerous": False,
    "dog_birth_date": "",
    "dog_joined_date": "2026-11-01",
    "dog_chip": "276098100123456",
    "dogs_already_registered": 0,
    "tax_relief": "keine",
}


def test_invalid_iban_is_asked_again_and_iban_is_only_asked_for_direct_debit() -> None:
    chat = consented()
    chat.state["values"].update(FILLED)
    chat.state["pending"] = "sepa_mandate"
    chat.say("Nein")
    assert chat.pending == engine.CONFIRM
    chat.say("Die Lastschrift ist falsch")
    assert chat.pending == "sepa_mandate"
    chat.say("Ja")
    assert chat.pending == "iban"
    chat.say("DE89 3704 0044 0532 0130 01")
    assert "IBAN ist ungültig" in chat.said and chat.pending == "iban"
    chat.say("DE89 3704 0044 0532 0130 00")
    assert chat.values["iban"] == "DE89370400440532013000" and chat.pending == engine.CONFIRM
    summary = engine.prompt_for(chat.spec, chat.state, "Voraussichtliche Hundesteuer: 111,32 EUR")["text"]
    assert "DE89 **** **** **** **** 00" in summary and "111,32 EUR" in summary


def complete(chat: Chat) -> None:
    for answer in [
        "Erika Mustermann",
        "Ostwall 12, 47798 Krefeld",
        "keine",
        "Bello, ein Labrador, Chip 276098100123456",
        "nein",
        "3.4.2024",
        "1.11.2026",
        "0",
        "keine",
        "nein",
    ]:
        chat.say(answer)
    assert chat.pending == engine.CONFIRM


def test_correction_in_words_asks_that_field_again_and_returns_to_the_summary() -> None:
    chat = consented()
    complete(chat)
    chat.say("Die Chipnummer ist falsch")
    assert chat.pending == "dog_chip" and "Chipnummer" in chat.said
    chat.say("276098100654321")
    assert chat.values["dog_chip"] == "276098100654321" and chat.pending == engine.CONFIRM
    assert chat.say("Ja, absenden").outcome == "confirmed"


def test_correction_with_the_new_value_in_the_same_message() -> None:
    chat = consented()
    complete(chat)
    chat.say("Der Name des Hundes ist falsch, er heißt Rex")
    assert chat.values["dog_name"] == "Rex" and chat.pending == engine.CONFIRM


def test_no_at_the_summary_asks_which_value_to_change() -> None:
    chat = consented()
    complete(chat)
    chat.say("Nein")
    assert chat.pending == engine.CORRECT
    prompt = engine.prompt_for(chat.spec, chat.state)
    assert "Welche Angabe" in prompt["text"] and any(b["title"].startswith("Chipnummer") for b in prompt["buttons"])
    chat.say("Chip ändern")
    assert chat.pending == "dog_chip"


@pytest.mark.parametrize("text", ["abbrechen", "Stopp", "stop", "Ich möchte abbrechen", "bitte abbrechen"])
def test_cancel_at_any_point(text: str) -> None:
    chat = consented()
    chat.say("Erika Mustermann")
    result = chat.say(text)
    assert result.outcome == "cancelled" and "abgebrochen" in chat.said


def test_cancel_before_consent_and_at_the_summary() -> None:
    assert Chat().say("abbrechen").outcome == "cancelled"
    chat = consented()
    complete(chat)
    assert chat.say("abbrechen").outcome == "cancelled"


@pytest.mark.parametrize(
    "text", ["Wann hat das Bürgerbüro offen?", "Was kostet die Hundesteuer", "Welche Unterlagen brauche ich?"]
)
def test_a_question_in_the_middle_is_flagged_and_the_question_stays(text: str) -> None:
    chat = consented()
    chat.say("Erika Mustermann")
    result = chat.say(text)
    assert result.outcome == "question"
    assert chat.pending == "owner_street" and chat.values["owner_name"] == "Erika Mustermann"


def test_a_duplicated_message_does_not_fill_the_next_field() -> None:
    chat = consented()
    chat.say("Erika Mustermann")
    chat.say("Erika Mustermann", gap=0.4)
    assert chat.pending == "owner_street" and chat.said == ""
    chat.say("Ostwall 12")
    assert chat.values["owner_street"] == "Ostwall 12"


def test_the_same_answer_twice_on_purpose_to_two_yes_no_questions_counts_twice() -> None:
    chat = consented()
    complete(chat)
    chat.say("Die Lastschrift ist falsch")
    chat.say("nein")
    assert chat.pending == engine.CONFIRM


@pytest.mark.parametrize(
    "text",
    ["", "   ", "x" * 10_000, "<script>alert(1)</script>", "'; DROP TABLE submissions; --", "🐶🐶🐶"],
)
def test_bad_input_is_answered_and_never_stored(text: str) -> None:
    chat = consented()
    result = chat.say(text)
    assert result.outcome == "continue"
    assert chat.values.get("owner_name") is None and chat.pending == "owner_name"
    assert result.messages


def test_emoji_around_a_value_are_ignored() -> None:
    chat = consented()
    chat.say("🐶 Erika Mustermann 😀")
    assert chat.values["owner_name"] == "Erika Mustermann"


def test_export_data_uses_the_spec_export_names_and_skips_fields_that_do_not_apply() -> None:
    chat = consented()
    complete(chat)
    data = engine.export_data(chat.spec, chat.values)
    assert data["Hund.Transpondernummer"] == "276098100123456"
    assert data["Halter.Anschrift.Postleitzahl"] == "47798"
    assert "Zahlung.IBAN" not in data and "Antrag.Begruendung" not in data


def test_deregistration_and_water_meter_are_just_specs() -> None:
    chat = consented("dog_tax_deregistration")
    for answer in [
        "Max Muster",
        "Dionysiusstraße 5, 47798 Krefeld",
        "Bello",
        "Marke 4711",
        "verstorben",
        "am 1.11.2026",
    ]:
        chat.say(answer)
    assert chat.pending == engine.CONFIRM
    assert chat.values["reason"] == "verstorben" and chat.values["tag_number"] == "4711"
    assert "reason_detail" not in engine.export_data(chat.spec, chat.values)

    chat = consented("water_meter_reading")
    for answer in ["Max Muster", "Dionysiusstraße 5, 47798 Krefeld", "Zählernummer 18-447321, Stand 1234,5", "gestern"]:
        chat.say(answer)
    assert chat.pending == engine.CONFIRM
    assert chat.values["meter_reading"] == "1234.5" and chat.values["reading_date"] == "2026-11-20"
    assert "1234,5 m³" in engine.prompt_for(chat.spec, chat.state)["text"]


def test_a_water_reading_date_in_the_future_is_refused() -> None:
    chat = consented("water_meter_reading")
    chat.state["values"].update(
        {
            "owner_name": "Max Muster",
            "property_street": "Ostwall 1",
            "property_postcode": "47798",
            "meter_number": "18447321",
            "meter_reading": "12",
        }
    )
    chat.state["pending"] = "reading_date"
    chat.say("morgen ist der 22.11.2026")
    assert "Zukunft" in chat.said and chat.pending == "reading_date"


@pytest.mark.parametrize(
    "broken",
    [
        {"form": "x", "title": "x", "submitted_text": "", "cancelled_text": "", "declined_text": "", "fields": []},
        {
            "form": "x",
            "title": "x",
            "submitted_text": "",
            "cancelled_text": "",
            "declined_text": "",
            "fields": [
                {"name": "c", "type": "consent", "prompt": "p", "label": "l", "export": "e"},
                {"name": "a", "type": "colour", "prompt": "p", "label": "l", "export": "e"},
            ],
        },
        {
            "form": "x",
            "title": "x",
            "submitted_text": "",
            "cancelled_text": "",
            "declined_text": "",
            "fields": [
                {"name": "c", "type": "consent", "prompt": "p", "label": "l", "export": "e"},
                {
                    "name": "a",
                    "type": "text",
                    "prompt": "p",
                    "label": "l",
                    "export": "e",
                    "when": {"field": "b", "equals": 1},
                },
                {"name": "b", "type": "yes_no", "prompt": "p", "label": "l", "export": "e"},
            ],
        },
    ],
)
def test_a_broken_spec_is_refused_when_loaded(broken: dict[str, Any]) -> None:
    with pytest.raises(SpecError):
        parse_spec(broken)


def test_a_no_that_nlu_takes_for_stop_still_answers_a_yes_no_question() -> None:
    chat = consented()
    complete(chat)
    chat.say("Die Lastschrift ist falsch")
    result = chat.say("Nein", intent="stop", confidence=0.95)
    assert result.outcome == "continue" and chat.values["sepa_mandate"] is False
    assert chat.say("lass mal gut sein", intent="stop", confidence=0.95).outcome == "cancelled"


def test_a_list_of_values_gives_only_its_first_free_part_to_the_question_asked() -> None:
    chat = consented()
    chat.state["pending"] = "dog_name"
    chat.say("Luna, Hündin, Border Collie, geb. 01.02.2023, seit 10.11.2026 bei uns")
    assert chat.values["dog_name"] == "Luna"
    assert chat.values["dog_birth_date"] == "2023-02-01" and chat.values["dog_joined_date"] == "2026-11-10"


# ---------------------------------------------------------------- implicit answers (issue 12, item 6)


def at_question(field: str) -> Chat:
    """A dog-tax chat where every question before ``field`` is answered and ``field`` is asked."""
    chat = consented()
    order = list(FILLED)
    chat.state["values"].update(
        {name: FILLED[name] for name in order[: order.index(field)]} if field in order else FILLED
    )
    chat.state["pending"] = field
    assert engine.next_pending(chat.spec, chat.values) == field
    return chat


@pytest.mark.parametrize(
    "answer",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "Ja, DE89 3704 0044 0532 0130 00",
        "IBAN: DE89 3704 0044 0532 0130 00",
        "Ja gerne, meine IBAN ist DE89 3704 0044 0532 0130 00",
    ],
)
def test_an_iban_typed_to_the_sepa_question_means_yes_and_the_iban_is_not_asked_again(answer: str) -> None:
    chat = at_question("sepa_mandate")
    chat.say(answer)
    assert chat.values["sepa_mandate"] is True
    assert chat.values["iban"] == "DE89370400440532013000"
    assert chat.pending == engine.CONFIRM
    assert "SEPA-Lastschrift: Ja" in engine.prompt_for(chat.spec, chat.state)["text"]


def test_a_mistyped_iban_to_the_sepa_question_means_yes_and_says_what_is_wrong_with_the_iban() -> None:
    chat = at_question("sepa_mandate")
    chat.say("DE89 3704 0044 0532 0130 01")
    assert chat.values["sepa_mandate"] is True and chat.values.get("iban") is None
    assert chat.pending == "iban" and "IBAN ist ungültig" in chat.said


def test_an_explicit_no_to_the_sepa_question_wins_over_an_iban_in_the_same_message() -> None:
    chat = at_question("sepa_mandate")
    chat.say("Nein, DE89 3704 0044 0532 0130 00 ist nicht mein Konto")
    assert chat.values["sepa_mandate"] is False and chat.pending == engine.CONFIRM
    assert chat.values.get("iban") is None and "Zahlung.IBAN" not in engine.export_data(chat.spec, chat.values)


BIRTH_DATE_KNOWN = parse_spec(
    {
        "form": "dog_birth",
        "title": "Test",
        "submitted_text": "",
        "cancelled_text": "",
        "declined_text": "",
        "fields": [
            {"name": "consent", "type": "consent", "prompt": "Datenschutz?", "label": "l", "export": "e"},
            {"name": "known", "type": "yes_no", "prompt": "Wissen Sie das Geburtsdatum?", "label": "l", "export": "k"},
            {
                "name": "birth_date",
                "type": "date",
                "when": {"field": "known", "equals": True},
                "prompt": "Wann wurde Ihr Hund geboren?",
                "label": "Geburtsdatum",
                "export": "d",
            },
            {"name": "dog_name", "type": "short_name", "prompt": "Wie heißt er?", "label": "Name", "export": "n"},
        ],
    }
)


def birth_chat() -> Chat:
    chat = Chat.__new__(Chat)
    chat.spec = BIRTH_DATE_KNOWN
    chat.state = engine.step(chat.spec, None, "start", today=TODAY).state
    chat.clock = 1000.0
    chat.result = None
    chat.say("Ja")
    assert chat.pending == "known"
    return chat


@pytest.mark.parametrize("answer", ["3.4.2024", "am 03.04.2024", "ja, am 3. April 2024"])
def test_a_date_typed_to_do_you_know_the_birth_date_means_yes_and_is_taken(answer: str) -> None:
    chat = birth_chat()
    chat.say(answer)
    assert chat.values["known"] is True and chat.values["birth_date"] == "2024-04-03"
    assert chat.pending == "dog_name"


def test_an_impossible_date_to_do_you_know_the_birth_date_means_yes_and_says_what_is_wrong() -> None:
    chat = birth_chat()
    chat.say("31.02.2024")
    assert chat.values["known"] is True and chat.pending == "birth_date"
    assert "gibt es nicht im Kalender" in chat.said


def test_a_no_to_do_you_know_the_birth_date_skips_the_date() -> None:
    chat = birth_chat()
    chat.say("nein")
    assert chat.values["known"] is False and chat.pending == "dog_name"


@pytest.mark.parametrize(
    ("field", "answer", "says"),
    [
        ("owner_name", "DE89 3704 0044 0532 0130 00", "Vor- und Nachnamen"),
        ("dog_dangerous", "DE89 3704 0044 0532 0130 00", "„Ja“ oder „Nein“"),
        ("dogs_already_registered", "DE89 3704 0044 0532 0130 00", "Anzahl"),
        ("dog_chip", "DE89 3704 0044 0532 0130 00", "15 Ziffern"),
        ("dog_breed", "DE89 3704 0044 0532 0130 00", "Rasse"),
        ("sepa_mandate", "vielleicht später", "oder nennen Sie gleich Ihre IBAN"),
        ("dog_birth_date", "irgendwann im Frühling", "Datum"),
    ],
)
def test_an_answer_that_is_not_understood_is_told_what_is_expected_never_just_asked_again(
    field: str, answer: str, says: str
) -> None:
    chat = at_question(field)
    chat.say(answer)
    assert chat.pending == field and chat.values.get(field) is None
    assert chat.said, "a silent re-ask"
    assert says in chat.said
    assert chat.said != engine.prompt_for(chat.spec, chat.state)["text"]


@pytest.mark.parametrize(
    ("field", "says"), [("dog_breed", "Rasse"), ("dog_name", "Namen"), ("owner_name", "Vor- und Nachnamen")]
)
@pytest.mark.parametrize("answer", ["Nein", "ja", "keine Ahnung", "weiß ich nicht"])
def test_nonsense_for_a_name_or_a_breed_is_refused_politely_with_what_is_expected(
    field: str, says: str, answer: str
) -> None:
    chat = at_question(field)
    chat.say(answer)
    assert chat.values.get(field) is None and chat.pending == field
    assert "leider" in chat.said and says in chat.said


def test_a_no_to_the_breed_question_is_no_stop_even_when_nlu_thinks_so() -> None:
    chat = at_question("dog_breed")
    result = chat.say("Nein", intent="stop", confidence=0.95)
    assert result.outcome == "continue" and chat.pending == "dog_breed" and "Rasse" in chat.said


@pytest.mark.parametrize(("field", "answer"), [("owner_email", "keine"), ("dog_birth_date", "unbekannt")])
def test_keine_or_unbekannt_still_skips_an_optional_field(field: str, answer: str) -> None:
    chat = at_question(field)
    chat.say(answer)
    assert chat.values[field] == "" and chat.pending != field and chat.said == ""


def test_keine_angabe_still_skips_an_optional_free_text_field() -> None:
    chat = consented("dog_tax_deregistration")
    for answer in ["Max Muster", "Dionysiusstraße 5, 47798 Krefeld", "Bello", "Marke 4711", "abgegeben"]:
        chat.say(answer)
    assert chat.pending == "reason_detail"
    chat.say("ja")
    assert chat.pending == "reason_detail" and "leider" in chat.said
    chat.say("keine Angabe")
    assert chat.values["reason_detail"] == "" and chat.pending == "end_date"


def test_a_hint_must_be_text() -> None:
    fields: list[dict[str, Any]] = [
        {"name": "c", "type": "consent", "prompt": "p", "label": "l", "export": "e"},
        {"name": "a", "type": "text", "prompt": "p", "label": "l", "export": "e", "hint": ""},
    ]
    base = {"form": "x", "title": "x", "submitted_text": "", "cancelled_text": "", "declined_text": ""}
    with pytest.raises(SpecError):
        parse_spec({**base, "fields": fields})
    fields[1]["hint"] = "Bitte nennen Sie etwas."
    assert parse_spec({**base, "fields": fields}).fields[1].hint == "Bitte nennen Sie etwas."


# ---------------------------------------------------------------- the town is data
MUSTERSTADT = engine.town_facts(
    {
        "town": "die Stadtverwaltung Musterstadt",
        "city": "Musterstadt",
        "postcodes": ["12345", "12347"],
        "email": "steuern@musterstadt.example",
        "office": "das Steueramt",
    }
)


def test_the_specs_texts_name_the_town_of_the_knowledge_base() -> None:
    state = engine.step(DOG_TAX, None, "start", today=TODAY, town=MUSTERSTADT).state
    assert "Die Stadtverwaltung Musterstadt (Steueramt)" in engine.prompt_for(DOG_TAX, state)["text"]
    chat = Chat()
    chat.state = state
    chat.say("Ja")
    chat.say("Erika Mustermann")
    assert (
        engine.prompt_for(DOG_TAX, chat.state)["text"]
        == "Wie lautet Ihre Anschrift in Musterstadt (Straße und Hausnummer)?"
    )
    chat.say("Hauptstraße 3")
    chat.say("47798")
    assert "Die Postleitzahl 47798 liegt nicht in Musterstadt" in chat.said and "12345, 12347" in chat.said
    chat.say("12347")
    assert chat.values["owner_postcode"] == "12347"
    closing = engine.submitted_text(DOG_TAX, chat.state, "HST-2026-000007")
    assert "Ihr Aktenzeichen lautet HST-2026-000007." in closing
    assert "schickt Ihnen die Stadtverwaltung Musterstadt per Post" in closing
    assert "Fragen dazu beantwortet steuern@musterstadt.example" in closing
    assert "Krefeld" not in closing and "krefeld" not in closing


def test_without_the_towns_facts_the_texts_are_neutral_and_any_postcode_is_taken() -> None:
    towns: tuple[dict[str, Any] | None, ...] = (None, {})
    for town in towns:
        chat = Chat()
        chat.state = engine.step(DOG_TAX, None, "start", today=TODAY, town=town).state
        assert "Die Stadt Ihre" not in engine.prompt_for(DOG_TAX, chat.state)["text"]
        assert "Ihre Stadtverwaltung (Steueramt) verarbeitet" in engine.prompt_for(DOG_TAX, chat.state)["text"]
        declined = chat.say("Nein")
        # No e-mail sentence rather than a wrong one (and no placeholder left).
        assert declined.messages == ["Ohne Ihre Einwilligung kann ich die Anmeldung nicht im Chat aufnehmen."]
        chat.state = engine.step(DOG_TAX, None, "start", today=TODAY, town=town).state
        chat.say("Ja")
        chat.say("Erika Mustermann")
        assert engine.prompt_for(DOG_TAX, chat.state)["text"] == "Wie lautet Ihre Anschrift (Straße und Hausnummer)?"
        chat.say("Hauptstraße 3")
        assert engine.prompt_for(DOG_TAX, chat.state)["text"] == "Und Ihre Postleitzahl?"
        chat.say("99999")
        assert chat.values["owner_postcode"] == "99999"
        closing = engine.submitted_text(DOG_TAX, chat.state, "HST-2026-000008")
        assert "schickt Ihnen Ihre Stadtverwaltung per Post" in closing and "{" not in closing
        assert "Fragen dazu" not in closing


def test_fill_keeps_other_placeholders_and_drops_only_the_sentence_with_an_unknown_e_mail() -> None:
    text = "Ihr Aktenzeichen lautet {reference}. Fragen an {email} (bitte angeben). Danke, {town}!"
    assert engine.fill(text, MUSTERSTADT) == (
        "Ihr Aktenzeichen lautet {reference}. Fragen an steuern@musterstadt.example (bitte angeben). "
        "Danke, die Stadtverwaltung Musterstadt!"
    )
    assert engine.fill(text, {}, reference="X-1") == "Ihr Aktenzeichen lautet X-1. Danke, Ihre Stadtverwaltung!"
    assert engine.fill("{office} prüft {unknown}.", {}) == "die zuständige Stelle prüft {unknown}."
    assert engine.town_facts({"postcodes": ["1234", "12345", 12346], "city": None}) == {
        "town": "", "city": "", "email": "", "office": "", "state": "", "postcodes": ["12345", "12346"]
    }  # fmt: skip
    assert engine.town_facts("down") == {}


def test_sentences_of_state_law_are_said_only_in_that_state() -> None:
    bavaria, nrw = {**MUSTERSTADT, "state": "BY"}, {**MUSTERSTADT, "state": "NW"}
    question = DOG_TAX.field("dog_dangerous").prompt
    assert "Landeshundegesetz NRW" in engine.fill(question, nrw)
    for town in (bavaria, MUSTERSTADT):  # another state, or one not known: the general question
        text = engine.fill(question, town)
        assert "NRW" not in text and text.startswith("Gilt Ihr Hund nach dem Recht Ihres Bundeslandes als gefährlich")
        assert "_state" not in text
    chat = Chat()
    chat.state = engine.step(DOG_TAX, None, "start", today=TODAY, town=bavaria).state
    closing = engine.submitted_text(DOG_TAX, chat.state, "HST-2026-000009")
    assert "Landeshundegesetz" not in closing and "Ihr Aktenzeichen lautet HST-2026-000009." in closing
    nrw_state = engine.step(DOG_TAX, None, "start", today=TODAY, town=nrw).state
    assert "§ 11 Landeshundegesetz NRW" in engine.submitted_text(DOG_TAX, nrw_state, "HST-2026-000010")
