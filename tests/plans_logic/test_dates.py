"""Dates and times typed in chat, Swedish and English."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from bot.dates import DateParseError, parse_date, parse_time
from bot.i18n import Lang

# A Wednesday.
TODAY = dt.date(2026, 11, 25)


# What staff type, by the day it is read as (today being TODAY).
SWEDISH: dict[dt.date, tuple[str, ...]] = {
    dt.date(2026, 12, 15): (
        "15/12",
        "15.12",
        "15.12.",
        "2026-12-15",
        "15/12/2026",
        "15.12.2026",
        "15 dec",
        "15 december",
        "den 15 december",
    ),
    dt.date(2027, 12, 15): ("15/12-27", "15 december 2027"),
    dt.date(2026, 11, 25): ("i dag", "idag"),
    dt.date(2026, 11, 26): ("i morgon", "imorgon", "I morgon"),
    dt.date(2026, 11, 27): ("i övermorgon", "nästa fredag", "fredag", "Fredag", "på fredag"),
    dt.date(2026, 12, 16): ("om 3 veckor", "om tre veckor"),
    dt.date(2026, 12, 2): ("om en vecka",),
    dt.date(2026, 12, 5): ("om 10 dagar",),
    dt.date(2027, 1, 25): ("om 2 månader",),
    dt.date(2026, 11, 30): ("måndag",),
    dt.date(2026, 12, 1): ("tisdag nästa vecka",),
    dt.date(2026, 12, 4): ("fredag nästa vecka",),
}
ENGLISH: dict[dt.date, tuple[str, ...]] = {
    dt.date(2026, 12, 15): ("15/12", "2026-12-15", "15 Dec", "December 15", "December 15th"),
    dt.date(2026, 11, 25): ("today",),
    dt.date(2026, 11, 26): ("tomorrow",),
    dt.date(2026, 12, 16): ("in 3 weeks",),
    dt.date(2026, 11, 27): ("in 2 days", "next friday", "Friday"),
    dt.date(2026, 11, 30): ("on monday",),
    dt.date(2026, 12, 4): ("friday next week",),
}


def _readings(forms: dict[dt.date, tuple[str, ...]]) -> list[tuple[str, dt.date]]:
    return [(text, day) for day, texts in forms.items() for text in texts]


@pytest.mark.parametrize(("text", "expected"), _readings(SWEDISH))
def test_swedish_forms(text: str, expected: dt.date) -> None:
    """What Swedish staff type is read as the intended day."""
    assert parse_date(text, "sv", TODAY) == expected


@pytest.mark.parametrize(("text", "expected"), _readings(ENGLISH))
def test_english_forms(text: str, expected: dt.date) -> None:
    """What English-speaking staff type is read as the intended day."""
    assert parse_date(text, "en", TODAY) == expected


@pytest.mark.parametrize("text", ["15/12", "15 dec", "i morgon", "tomorrow", "fredag"])
def test_the_user_language_only_orders_the_guesses(text: str) -> None:
    """Swedish and English users get the same day for the same text."""
    assert parse_date(text, "sv", TODAY) == parse_date(text, "en", TODAY)


@pytest.mark.parametrize(
    ("text", "lang"), [("15/10", "sv"), ("15 okt", "sv"), ("15.10", "en"), ("15 October", "en")]
)
def test_a_date_without_year_that_has_passed_is_next_year(text: str, lang: Lang) -> None:
    """15/10 typed on 20 December 2026 is 15 October 2027."""
    assert parse_date(text, lang, dt.date(2026, 12, 20)) == dt.date(2027, 10, 15)


@pytest.mark.parametrize(
    ("text", "today"),
    [
        ("15/12", dt.date(2026, 12, 20)),
        ("15 dec", dt.date(2026, 12, 20)),
        ("15.12", dt.date(2026, 12, 20)),
        ("den 15 december", dt.date(2026, 12, 20)),
        ("24/11", dt.date(2026, 11, 25)),
        ("1 nov", dt.date(2026, 11, 25)),
        ("28/12", dt.date(2027, 1, 5)),
    ],
)
def test_a_date_without_year_that_just_passed_is_refused(text: str, today: dt.date) -> None:
    """A day and month that passed in the last month is refused as past, not booked almost a
    year later without a word; typed with its year it is taken."""
    with pytest.raises(DateParseError) as caught:
        parse_date(text, "sv", today)
    assert caught.value.key == "plans.date_past"
    assert parse_date("15/12/2027", "sv", dt.date(2026, 12, 20)) == dt.date(2027, 12, 15)
    assert parse_date("15 dec 2027", "sv", dt.date(2026, 12, 20)) == dt.date(2027, 12, 15)


@pytest.mark.parametrize(
    ("text", "lang"), [("15/12", "sv"), ("15 dec", "sv"), ("15 december", "en")]
)
def test_a_date_without_year_on_its_own_day_is_today(text: str, lang: Lang) -> None:
    """15/12 or 15 dec typed on 15 December is that very day."""
    today = dt.date(2026, 12, 15)
    assert parse_date(text, lang, today) == today


@pytest.mark.parametrize(("text", "lang"), [("fredag", "sv"), ("friday", "en")])
def test_a_weekday_typed_on_that_weekday_is_next_week(text: str, lang: Lang) -> None:
    """ "fredag" on a Friday is the Friday a week later."""
    assert parse_date(text, lang, dt.date(2026, 11, 27)) == dt.date(2026, 12, 4)


def test_29_february_without_year_is_the_next_one() -> None:
    """29/2 typed in 2026 is 29 February 2028."""
    assert parse_date("29/2", "sv", TODAY) == dt.date(2028, 2, 29)


@pytest.mark.parametrize(
    "text", ["2026-11-01", "15/11/2026", "1 november 2026", "igår", "yesterday", "3 days ago"]
)
def test_past_dates_are_refused(text: str) -> None:
    """A date before today is answered with date_past."""
    with pytest.raises(DateParseError) as caught:
        parse_date(text, "sv", TODAY)
    assert caught.value.key == "plans.date_past"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hej",
        "banan",
        "asdf 12",
        "32/13",
        "31/4",
        "0/5",
        "29/2/2027",
        "3",
        "december",
        "2027",
        "15:30",
        "in 3 weeks at 14:00",
        "15 dec 2040",
        "x" * 200,
    ],
)
def test_junk_is_refused(text: str) -> None:
    """Anything that is not one day is answered with date_unreadable."""
    with pytest.raises(DateParseError) as caught:
        parse_date(text, "sv", TODAY)
    assert caught.value.key == "plans.date_unreadable"


def test_parsing_is_fast() -> None:
    """A hundred dates parse well within a second once the parser is warm."""
    parse_date("i morgon", "sv", TODAY)
    started = time.perf_counter()
    for _ in range(10):
        for text in ("15/12", "15 dec", "i morgon", "om 3 veckor", "nästa fredag"):
            parse_date(text, "sv", TODAY)
        for text in ("tomorrow", "in 3 weeks", "next friday", "15.12", "fredag"):
            parse_date(text, "en", TODAY)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13:30", dt.time(13, 30)),
        ("13.30", dt.time(13, 30)),
        ("1330", dt.time(13, 30)),
        ("kl 9", dt.time(9, 0)),
        ("kl. 9", dt.time(9, 0)),
        ("Kl 8.05", dt.time(8, 5)),
        ("9", dt.time(9, 0)),
        ("09:00", dt.time(9, 0)),
        ("klockan 14", dt.time(14, 0)),
        ("at 9:15", dt.time(9, 15)),
        ("9am", dt.time(9, 0)),
        ("2 pm", dt.time(14, 0)),
        ("12 pm", dt.time(12, 0)),
        ("0:00", dt.time(0, 0)),
    ],
)
def test_times(text: str, expected: dt.time) -> None:
    """Times in the forms staff type."""
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "hej", "24:00", "kl 25", "13:60", "13:3", "13 pm", "1.5"])
def test_bad_times_are_refused(text: str) -> None:
    """Anything else is answered with time_unreadable."""
    with pytest.raises(DateParseError) as caught:
        parse_time(text)
    assert caught.value.key == "plans.time_unreadable"
