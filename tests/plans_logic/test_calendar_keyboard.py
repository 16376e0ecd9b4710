"""The tap-first month calendar and its strictly checked callback data."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import InlineKeyboardMarkup

from handlers.plans.calendar_keyboard import (
    BLANK,
    CalendarAction,
    calendar_keyboard,
    day_label,
    holiday_name,
    parse_calendar_callback,
)

TODAY = dt.date(2026, 11, 25)
B = BLANK


def texts(markup: InlineKeyboardMarkup) -> list[list[str]]:
    return [[button.text for button in row] for row in markup.inline_keyboard]


def data(markup: InlineKeyboardMarkup) -> list[list[str]]:
    return [[str(button.callback_data) for button in row] for row in markup.inline_keyboard]


def test_current_month_in_swedish() -> None:
    """Header, Monday-first weekday initials (Babel), past days greyed out, weeks wholly
    past left out (they take phone lines and offer nothing), no way back, weekends in
    brackets."""
    markup = calendar_keyboard("fu", "sv", TODAY)
    rows = texts(markup)
    assert rows[0] == [B, "November 2026", "▶"]
    assert rows[1] == ["M", "T", "O", "T", "F", "L", "S"]
    assert rows[2] == ["·", "·", "25", "26", "27", "(28)", "(29)"]
    assert rows[3] == ["30", B, B, B, B, B, B]
    assert len(rows) == 4
    callbacks = data(markup)
    assert callbacks[0] == ["cal:fu:noop", "cal:fu:noop", "cal:fu:m:202612"]
    assert callbacks[2][:3] == ["cal:fu:noop", "cal:fu:noop", "cal:fu:d:20261125"]
    # A later month shows every week, from its first day.
    later = texts(calendar_keyboard("fu", "sv", TODAY, dt.date(2027, 2, 1)))
    assert later[2][0] == "1" and len(later) == 6


def test_english_headers() -> None:
    """Weekdays and month names follow the language."""
    rows = texts(calendar_keyboard("fu", "en", TODAY, dt.date(2027, 1, 10)))
    assert rows[0] == ["◀", "January 2027", "▶"]
    assert rows[1] == ["M", "T", "W", "T", "F", "S", "S"]


def test_holidays_are_marked_and_still_selectable() -> None:
    """24–26 and 31 December and 6 January carry a star and their day's data; weekends are
    bracketed; a chosen day is framed."""
    december = calendar_keyboard(
        "fu", "sv", TODAY, dt.date(2026, 12, 1), chosen=dt.date(2026, 12, 9)
    )
    rows, callbacks = texts(december), data(december)
    assert rows[5] == ["21", "22", "23", "24*", "25*", "26*", "(27)"]
    assert callbacks[5][3:6] == ["cal:fu:d:20261224", "cal:fu:d:20261225", "cal:fu:d:20261226"]
    assert rows[6][:4] == ["28", "29", "30", "31*"]
    assert rows[3][2] == "[9]"
    january = texts(calendar_keyboard("fu", "en", TODAY, dt.date(2027, 1, 1)))
    assert january[2] == [B, B, B, B, "1*", "(2)", "(3)"]
    assert january[3][2] == "6*"
    # 6 June 2027 (national day) is a Sunday: the holiday mark wins.
    assert "6*" in texts(calendar_keyboard("fu", "sv", TODAY, dt.date(2027, 6, 1)))[2]


@pytest.mark.parametrize(
    ("day", "lang", "name"),
    [
        (dt.date(2026, 12, 24), "sv", "Julafton"),
        (dt.date(2026, 12, 25), "en", "Christmas Day"),
        (dt.date(2027, 1, 6), "sv", "Trettondedag jul"),
        (dt.date(2027, 6, 25), "sv", "Midsommarafton"),
        (dt.date(2026, 12, 23), "sv", None),
        (dt.date(2026, 11, 29), "sv", None),  # a Sunday is no holiday
    ],
)
def test_holiday_names_in_both_languages(day: dt.date, lang: str, name: str | None) -> None:
    """The name the time question shows for a picked holiday."""
    assert holiday_name(day, lang) == name


def test_navigation_stops_24_months_ahead() -> None:
    """The last month has no ▶ and later months are clamped to it."""
    last = calendar_keyboard("fu", "sv", TODAY, dt.date(2028, 11, 1))
    assert texts(last)[0] == ["◀", "November 2028", B]
    assert data(last)[0][0] == "cal:fu:m:202810"
    assert texts(calendar_keyboard("fu", "sv", TODAY, dt.date(2031, 1, 1)))[0][1] == (
        "November 2028"
    )
    assert texts(calendar_keyboard("fu", "sv", TODAY, dt.date(2020, 1, 1)))[0][1] == (
        "November 2026"
    )


def test_callback_data_stays_within_64_bytes() -> None:
    """Even with the longest scope."""
    markup = calendar_keyboard("a" * 16, "sv", TODAY, dt.date(2027, 5, 1))
    assert max(len(d.encode()) for row in data(markup) for d in row) <= 64


def test_bad_scopes_are_refused() -> None:
    """A scope is 1–16 characters of [A-Za-z0-9_-]."""
    for scope in ("", "a" * 17, "a:b", "å"):
        with pytest.raises(ValueError, match="scope"):
            calendar_keyboard(scope, "sv", TODAY)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("cal:fu:d:20261125", CalendarAction("fu", "pick", dt.date(2026, 11, 25))),
        ("cal:snz-12:d:20281130", CalendarAction("snz-12", "pick", dt.date(2028, 11, 30))),
        ("cal:fu:m:202611", CalendarAction("fu", "month", dt.date(2026, 11, 1))),
        ("cal:fu:m:202811", CalendarAction("fu", "month", dt.date(2028, 11, 1))),
        ("cal:fu:noop", CalendarAction("fu", "noop")),
    ],
)
def test_valid_callbacks(payload: str, expected: CalendarAction) -> None:
    """Today, days and months within range, and no-ops are understood."""
    assert parse_calendar_callback(payload, TODAY) == expected


@pytest.mark.parametrize(
    "payload",
    [
        "cal:fu:d:20261124",  # yesterday
        "cal:fu:d:20281201",  # 25 months ahead
        "cal:fu:m:202610",  # last month
        "cal:fu:m:202812",
        "cal:fu:d:20261131",  # no such day
        "cal:fu:m:202613",
        "cal:fu:d:00000101",
        "cal:fu:d:2026112",
        "cal:fu:d:202611250",
        "cal:fu:x:20261125",
        "cal::noop",
        "cal:" + "a" * 17 + ":noop",
        "cal:f u:noop",
        "cal:fu:d:20261125:extra",
        "CAL:fu:noop",
        "cal:fu:noop\n",
        "cal:fu:d:２０２６１１２５",
        "cal:fu:d:+2026112",
        "",
        "x" * 100,
        None,
        123,
    ],
)
def test_forged_or_malformed_callbacks_are_ignored(payload: object) -> None:
    """Anything not exactly as the keyboard makes it, or out of range, is None."""
    assert parse_calendar_callback(payload, TODAY) is None


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 24), st.sampled_from(["sv", "en"]))
def test_every_button_of_every_month_parses(months_ahead: int, lang: str) -> None:
    """What the keyboard offers is accepted, with selectable days never in the past."""
    index = TODAY.year * 12 + TODAY.month - 1 + months_ahead
    markup = calendar_keyboard("fu", lang, TODAY, dt.date(index // 12, index % 12 + 1, 1))
    for row in markup.inline_keyboard:
        for button in row:
            action = parse_calendar_callback(button.callback_data, TODAY)
            assert action is not None
            if action.kind == "pick":
                assert action.day is not None and action.day >= TODAY
                assert button.text == day_label(action.day)
                assert button.text.strip("()*") == str(action.day.day)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"cal:[a-z]{1,3}:(d:[0-9]{8}|m:[0-9]{6}|noop)"))
def test_parsing_never_raises(payload: str) -> None:
    """Arbitrary text gives an action or None, never an exception."""
    action = parse_calendar_callback(payload, TODAY)
    assert action is None or isinstance(action, CalendarAction)
