"""Opening-hours reasoning and its German sentences, with fixed datetimes (no clock, no database)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest

from kumpel_knowledge.answers.hours import Closure, OfficeHours, to_local, validate_opening_hours
from kumpel_knowledge.answers.hours_text import describe_day, describe_now, weekly_overview

BUERGERBUERO = "Mo-We 08:00-16:00; Th 08:00-18:00; Fr 08:00-12:30; PH off"
SPLIT_DAY = "Mo-Fr 08:00-12:00; Th 08:00-12:00,14:00-18:00; PH off"


def hours(expression: str = BUERGERBUERO, **kwargs: Any) -> OfficeHours:
    return OfficeHours(expression, holiday_region="NW", **kwargs)


def test_open_now_says_until_when() -> None:
    thursday = datetime(2026, 11, 19, 10, 0)
    assert describe_now("das Bürgerbüro", hours(), thursday) == "Das Bürgerbüro hat heute bis 18:00 Uhr geöffnet."


def test_open_in_the_morning_mentions_the_afternoon_opening() -> None:
    thursday = datetime(2026, 11, 19, 9, 0)
    text = describe_now("das Amt", hours(SPLIT_DAY), thursday)
    assert text == "Das Amt hat heute bis 12:00 Uhr geöffnet. Danach wieder von 14:00 bis 18:00 Uhr."


def test_at_lunch_break_says_when_it_opens_again_today() -> None:
    text = describe_now("das Amt", hours(SPLIT_DAY), datetime(2026, 11, 19, 12, 30))
    assert text == "Das Amt ist gerade geschlossen und hat heute noch von 14:00 bis 18:00 Uhr geöffnet."


def test_after_closing_names_the_next_opening() -> None:
    text = describe_now("das Bürgerbüro", hours(), datetime(2026, 11, 19, 18, 0))
    assert text == "Das Bürgerbüro hat heute nicht mehr geöffnet. Nächste Öffnung: Freitag, 20.11., 8:00 Uhr."


def test_weekend_is_closed_with_next_opening_on_monday() -> None:
    text = describe_now("das Bürgerbüro", hours(), datetime(2026, 11, 21, 11, 0))
    assert text == "Das Bürgerbüro ist heute geschlossen. Nächste Öffnung: Montag, 23.11., 8:00 Uhr."


def test_christmas_day_is_a_holiday_and_the_next_opening_is_after_the_holidays() -> None:
    text = describe_now("das Bürgerbüro", hours(), datetime(2026, 12, 25, 9, 0))
    assert text == (
        "Das Bürgerbüro ist heute geschlossen (Feiertag: Erster Weihnachtstag). "
        "Nächste Öffnung: Montag, 28.12., 8:00 Uhr."
    )


def test_nrw_holidays_apply_but_not_holidays_of_other_states() -> None:
    corpus_christi = date(2026, 6, 4)  # Fronleichnam: a holiday in NRW, not in Berlin
    assert hours().day(corpus_christi).intervals == ()
    assert hours().day(corpus_christi).closed_reason == "Feiertag: Fronleichnam"
    berlin = OfficeHours(BUERGERBUERO, holiday_region="BE")
    assert berlin.day(corpus_christi).intervals == ((datetime(2026, 6, 4, 8), datetime(2026, 6, 4, 18)),)


def test_a_later_rule_for_the_same_day_replaces_the_earlier_one_as_osm_specifies() -> None:
    # The trap in "Mo-Fr 08:00-12:00; Th 14:00-18:00": Thursday is open only in the afternoon.
    office = OfficeHours("Mo-Fr 08:00-12:00; Th 14:00-18:00", holiday_region="NW")
    assert office.day(date(2026, 11, 19)).intervals == ((datetime(2026, 11, 19, 14), datetime(2026, 11, 19, 18)),)
    additive = OfficeHours("Mo-Fr 08:00-12:00, Th 14:00-18:00", holiday_region="NW")
    assert len(additive.day(date(2026, 11, 19)).intervals) == 2


def test_without_ph_rule_the_weekly_pattern_applies_on_holidays() -> None:
    always = OfficeHours("Mo-Su 10:00-14:00", holiday_region="NW")
    assert always.is_open(datetime(2026, 12, 25, 11, 0))


def test_a_closure_notice_closes_the_whole_day_and_names_its_reason() -> None:
    closure = Closure(datetime(2026, 12, 24), datetime(2026, 12, 25), "Heiligabend")
    office = hours(closures=(closure,))
    text = describe_day("das Bürgerbüro", office, date(2026, 12, 24), datetime(2026, 12, 21, 9, 0))
    assert text == (
        "Das Bürgerbüro ist am Donnerstag, 24.12. geschlossen (Heiligabend). Nächste Öffnung: Montag, 28.12., 8:00 Uhr."
    )
    assert not office.is_open(datetime(2026, 12, 24, 10, 0))


def test_a_partial_closure_shortens_the_day() -> None:
    closure = Closure(datetime(2026, 12, 7, 7, 30), datetime(2026, 12, 7, 10, 0), "IT-Umstellung")
    office = hours(closures=(closure,))
    assert office.day(date(2026, 12, 7)).intervals == ((datetime(2026, 12, 7, 10), datetime(2026, 12, 7, 16)),)
    assert describe_now("das Amt", office, datetime(2026, 12, 7, 8, 0)) == (
        "Das Amt ist gerade geschlossen und hat heute noch von 10:00 bis 16:00 Uhr geöffnet."
    )


def test_asked_day_tomorrow_and_a_day_with_two_spans() -> None:
    now = datetime(2026, 11, 18, 15, 0)  # Wednesday
    text = describe_day("das Amt", hours(SPLIT_DAY), date(2026, 11, 19), now)
    assert text == "Das Amt hat morgen von 8:00 bis 12:00 Uhr und von 14:00 bis 18:00 Uhr geöffnet."


def test_next_opening_skips_a_long_holiday_run() -> None:
    start, _end = hours().next_opening(datetime(2026, 12, 24, 17, 0)) or (None, None)
    assert start == datetime(2026, 12, 28, 8, 0)


def test_times_are_taken_in_berlin_time_in_winter_and_summer() -> None:
    assert to_local(datetime(2026, 11, 19, 9, 0, tzinfo=timezone.utc), "Europe/Berlin") == datetime(2026, 11, 19, 10, 0)
    assert to_local(datetime(2026, 7, 2, 9, 0, tzinfo=timezone.utc), "Europe/Berlin") == datetime(2026, 7, 2, 11, 0)
    # 15:30 UTC on a summer Thursday is 17:30 in Krefeld: still open, until 18:00.
    assert hours().is_open(to_local(datetime(2026, 7, 2, 15, 30, tzinfo=timezone.utc), "Europe/Berlin"))


def test_invalid_syntax_is_reported_and_valid_syntax_is_not() -> None:
    assert validate_opening_hours(BUERGERBUERO) is None
    problem = validate_opening_hours("Mo-Fx 8-12")
    assert problem is not None and "opening_hours" in problem


@pytest.mark.parametrize(
    ("expression", "overview"),
    [
        (BUERGERBUERO, "Mo-Mi 8:00-16:00 Uhr; Do 8:00-18:00 Uhr; Fr 8:00-12:30 Uhr; an Feiertagen geschlossen"),
        ("Tu,Th 08:30-12:00", "Di,Do 8:30-12:00 Uhr"),
    ],
)
def test_weekly_overview_is_german(expression: str, overview: str) -> None:
    assert weekly_overview(expression) == overview
