"""Personal data is removed before an unanswered question is stored."""

from __future__ import annotations

import pytest

from kumpel_knowledge.answers.scrub import scrub


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Schreiben Sie an erika.muster@example.org bitte", "Schreiben Sie an [E-Mail] bitte"),
        ("Meine IBAN DE89 3704 0044 0532 0130 00 geht nicht", "Meine IBAN [IBAN] geht nicht"),
        ("DE89370400440532013000", "[IBAN]"),
        ("Ruf mich an: 0151 23456789", "Ruf mich an: [Nummer]"),
        ("Tel. +49 (2151) 86-2000", "Tel. [Nummer]"),
        ("Chip 276098100123456 verloren", "Chip [Nummer] verloren"),
        ("Ich heiße Erika Muster und wohne Ostwall 104", "Ich heiße [Name] und wohne [Adresse]"),
        ("mein Name ist Max. Hilfe", "mein Name ist [Name]. Hilfe"),
        ("Ich wohne in der Dionysiusstraße 12a", "Ich wohne in der [Adresse]"),
        ("Siehe https://example.org/ich?id=4", "Siehe [Link]"),
    ],
)
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Wann hat das Bürgerbüro am 24.12. auf?",
        "Ich bin umgezogen",
        "Hundesteuer 2026 für 2 Hunde",
        "Kosten Reisepass 70 EUR?",
    ],
)
def test_ordinary_questions_stay_as_they_are(text: str) -> None:
    assert scrub(text) == text


# Cases a member of staff would notice: names and addresses the first scrubber left in, and
# questions it must not touch. Taken from the dev split (bench/data/scrub_dev.yml) or written
# here; none from the held-out test split (bench/data/scrub_heldout.yml).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ich heisse jürgen meier und mein hund ist weggelaufen", "ich heisse [Name] und mein hund ist weggelaufen"),
        (
            "Ich heiße Dr. Sabine Krüger-Wolff und brauche ein Führungszeugnis",
            "Ich heiße Dr. [Name] und brauche ein Führungszeugnis",
        ),
        ("Mein Name ist Karl-Heinz von der Heide.", "Mein Name ist [Name]."),
        (
            "Ich bin Thomas Müller und möchte meinen Wohnsitz ummelden.",
            "Ich bin [Name] und möchte meinen Wohnsitz ummelden.",
        ),
        (
            "Hallo, hier ist Petra Schneider. Wann hat das Bürgerbüro offen?",
            "Hallo, hier ist [Name]. Wann hat das Bürgerbüro offen?",
        ),
        (
            "Frau Schmidt vom Bürgerbüro hat gesagt, ich soll hier fragen.",
            "Frau [Name] vom Bürgerbüro hat gesagt, ich soll hier fragen.",
        ),
        (
            "Herr Dr. Becker aus dem Ordnungsamt ist nicht erreichbar.",
            "Herr Dr. [Name] aus dem Ordnungsamt ist nicht erreichbar.",
        ),
        (
            "Meine Telefonnummer ist 02151 86-0, bitte rufen Sie mich an, Gruß Monika Ernst",
            "Meine Telefonnummer ist [Nummer], bitte rufen Sie mich an, Gruß [Name]",
        ),
        ("Viele Grüße, Stefan Lange", "Viele Grüße, [Name]"),
        ("Ich wohne in der Uerdinger Straße 44 b", "Ich wohne in der [Adresse]"),
        ("Neue Adresse: Kölner Str. 120, wie melde ich mich um?", "Neue Adresse: [Adresse], wie melde ich mich um?"),
        ("Ich wohne Im Brahm 21", "Ich wohne Im [Adresse]"),
        ("wohne in der goethestr 9", "wohne in der [Adresse]"),
        (
            "Wir sind von der Moerser Straße 3 in die Rheinstraße 77 umgezogen.",
            "Wir sind von der [Adresse] in die [Adresse] umgezogen.",
        ),
        ("Die Wohnung Lindenweg 4-6 ist leer", "Die Wohnung [Adresse] ist leer"),
        ("Geburtsdatum: 03.04.1978", "Geburtsdatum: [Nummer]"),
    ],
)
def test_names_addresses_and_dates_of_birth_are_replaced(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Ich heiße Sie herzlich willkommen, sagt der Bürgermeister immer.",
        "Ich heiße das nicht gut, dass die Parkgebühren steigen.",
        "Mein Name ist im Ausweis falsch geschrieben, was kann ich tun?",
        "Ich bin Rentner, bekomme ich eine Ermäßigung?",
        "Ich bin neu in Krefeld und muss mich anmelden.",
        "Platz 2 beim Stadtlauf, gibt es da eine Urkunde?",
        "Gilt die Parkzone auch am Ostwall?",
        "Kann ich auf dem Parkplatz 2 Stunden parken?",
        "Hat das Standesamt am 24.12.2025 geöffnet?",
        "Öffnungszeiten 10 - 12.30 Uhr?",
        "Hier ist Parken verboten, wer kontrolliert das?",
    ],
)
def test_questions_that_look_personal_stay_as_they_are(text: str) -> None:
    assert scrub(text) == text


# Issue 17: titles and salutations, "Nachname, Vorname", e-mail addresses spelt out, secrets and
# postcodes. Written here (none from the held-out split); the staff still read what was asked.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Frau Dr. Erika Mustermann hat mir den Antrag gegeben", "Frau Dr. [Name] hat mir den Antrag gegeben"),
        (
            "Herr Prof. Dr. Max Müller-Lüdenscheidt ist im Urlaub, wer vertritt ihn?",
            "Herr Prof. Dr. [Name] ist im Urlaub, wer vertritt ihn?",
        ),
        ("Sehr geehrte Frau Dr. med. Erika Mustermann", "Sehr geehrte Frau Dr. med. [Name]"),
        ("Dr. Erika Mustermann hat mir ein Attest geschrieben", "Dr. [Name] hat mir ein Attest geschrieben"),
        ("Dipl.-Ing. Max Müller hat das Gutachten erstellt", "Dipl.-Ing. [Name] hat das Gutachten erstellt"),
        ("Name: Mustermann, Erika", "Name: [Name]"),
        (
            "Name, Vorname: Mustermann, Erika. Ich brauche eine Meldebescheinigung",
            "Name, Vorname: [Name]. Ich brauche eine Meldebescheinigung",
        ),
        ("Mein Name ist Mustermann, Erika und ich ziehe um", "Mein Name ist [Name] und ich ziehe um"),
        ("Mein Name ist Meier, ich brauche einen Pass", "Mein Name ist [Name], ich brauche einen Pass"),
        ("Viele Grüße, Mustermann, Erika", "Viele Grüße, [Name]"),
        (
            "Mustermann, Erika, geb. 03.04.1978, braucht eine Meldebescheinigung",
            "[Name], geb. [Nummer], braucht eine Meldebescheinigung",
        ),
        ("Antragstellerin: Erika Mustermann", "Antragstellerin: [Name]"),
    ],
)
def test_names_with_titles_and_inverted_names_are_replaced(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Schreiben Sie an erika(at)example(dot)org bitte", "Schreiben Sie an [E-Mail] bitte"),
        ("erika [at] example [dot] org", "[E-Mail]"),
        ("Meine Mail: erika at example dot org", "Meine Mail: [E-Mail]"),
        ("Antwort bitte an erika.mustermann (ät) example.de", "Antwort bitte an [E-Mail]"),
        ("erika{at}mail[punkt]example[punkt]de ist meine Adresse", "[E-Mail] ist meine Adresse"),
    ],
)
def test_spelt_out_email_addresses_are_replaced(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mein Passwort ist Sommer2024!", "mein Passwort ist [Passwort]!"),
        (
            "Mein Passwort für das Bürgerkonto ist Sommer2024, es geht nicht",
            "Mein Passwort für das Bürgerkonto ist [Passwort], es geht nicht",
        ),
        ("Kennwort: Blumenwiese", "Kennwort: [Passwort]"),
        ('Mein Kennwort ist "hallo welt"', "Mein Kennwort ist [Passwort]"),
        ("PIN 1234 geht nicht", "PIN [Passwort] geht nicht"),
        ("Meine PIN ist 1234", "Meine PIN ist [Passwort]"),
        ("Meine TAN lautet 839201", "Meine TAN lautet [Passwort]"),
        ("Zugangscode: 4711-AB", "Zugangscode: [Passwort]"),
    ],
)
def test_passwords_pins_and_tans_are_replaced(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ich wohne in 47798 Krefeld, wo ist das Bürgerbüro?", "Ich wohne in [PLZ] Krefeld, wo ist das Bürgerbüro?"),
        ("Meine Adresse ist Hauptstr. 5, 47798 Krefeld", "Meine Adresse ist [Adresse], [PLZ] Krefeld"),
        ("PLZ 47877, gehöre ich zu Krefeld?", "PLZ [PLZ], gehöre ich zu Krefeld?"),
        ("Postleitzahl: 47800", "Postleitzahl: [PLZ]"),
        (
            "Ich ziehe nach D-47877 Willich, muss ich mich abmelden?",
            "Ich ziehe nach [PLZ] Willich, muss ich mich abmelden?",
        ),
        ("47798 Krefeld, Ostwall 12", "[PLZ] Krefeld, [Adresse]"),
    ],
)
def test_postcodes_are_replaced_and_the_town_stays(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Krefeld, Rathaus: wann ist geöffnet?",
        "Wo ist Krefeld, Rathaus, Zimmer 3?",
        "Uerdingen, Bürgerbüro: brauche ich einen Termin?",
        "Mein Passwort ist abgelaufen, was nun?",
        "PIN vergessen, was tun?",
        "Passwort: vergessen. Wer hilft mir?",
        "Was ist eine TAN: ein Code per SMS?",
        "Wie lange ist eine TAN gültig?",
        "Kann ich mit der Bürger-PIN den Ausweis nutzen?",
        "Wie viele der 12000 Hunde in Krefeld sind angemeldet?",
        "Wir erwarten 15000 Besucher beim Stadtfest, wer genehmigt das?",
        "Wir sind 12345 Leute im Verein, brauchen wir eine Genehmigung?",
        "Krefeld hat 47000 Hunde? Wie viele davon sind angemeldet?",
        "Ich bin at home und frage nach dem Bürgerbüro",
        "Dr.-Ulrich-Straße, wo ist das?",
    ],
)
def test_municipal_words_that_look_like_names_secrets_or_postcodes_stay(text: str) -> None:
    assert scrub(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mustermann, Erika - ich brauche einen neuen Ausweis", "[Name] - ich brauche einen neuen Ausweis"),
        (
            "Hallo, Mustermann, Erika hier. Wo melde ich meinen Hund an?",
            "Hallo, [Name] hier. Wo melde ich meinen Hund an?",
        ),
        ("Antrag von Mustermann, Erika, Hundesteuer", "Antrag von [Name], Hundesteuer"),
        ("Erika Mustermann braucht einen Pass", "[Name] braucht einen Pass"),
        ("Hans Müller will heiraten, was brauche ich?", "[Name] will heiraten, was brauche ich?"),
        ("Anna Łukasiewicz fragt nach dem Parkausweis", "[Name] fragt nach dem Parkausweis"),
    ],
)
def test_names_without_a_cue_are_found_by_a_known_first_name(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Bürgerbüro Krefeld, Linn Öffnungszeiten",
        "Linn Öffnungszeiten am Samstag",
        "Wann ist der Sankt Martin Umzug?",
        "Wo ist die Albert Schweitzer Realschule?",
        "Anmeldung an der Anne Frank Gesamtschule",
        "Parkausweis am Willy Brandt Platz",
        "Termin am 3. August im Standesamt",
    ],
)
def test_first_names_inside_place_names_and_words_stay(text: str) -> None:
    assert scrub(text) == text
