"""A tap-first month calendar for choosing a follow-up date.

The keyboard is a plain :class:`telegram.InlineKeyboardMarkup`; the handler that shows it
passes a ``scope`` (a short token of its own, such as ``fu`` or ``snz-12``) so several
calendars can live side by side. Callback data is compact and always under 64 bytes::

    cal:<scope>:d:<YYYYMMDD>   a day was tapped
    cal:<scope>:m:<YYYYMM>     show another month
    cal:<scope>:noop           a label, a blank or a past day: answer the query, do nothing

Weeks start on Monday. Days before ``today`` are shown as "·" and cannot be chosen. The
months run from the current one to :data:`MAX_MONTHS_AHEAD` months ahead; ◀ and ▶ appear
only where there is a month to go to. Month and weekday names come from Babel
(:func:`bot.i18n.month_name`, :func:`bot.i18n.weekday_initials`).

Days off are marked but stay selectable (a follow-up on a Saturday is rare, not wrong):
Saturdays and Sundays as ``(6)``, Swedish public holidays and the de facto days off
(julafton, midsommarafton, nyårsafton; the maintained ``holidays`` package, as the reminders'
working calendar uses) as ``24*``; the flow then names the holiday
(:func:`holiday_name`). A day already chosen is shown as ``[5]``.

Callback data comes from the user's client and may be forged, so
:func:`parse_calendar_callback` checks every part again and answers ``None`` to anything
malformed, past or out of range; it never raises.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Final, Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.buttons import ButtonData, Token
from bot.i18n import as_lang, month_name, weekday_initials

MAX_MONTHS_AHEAD: Final = 24
PAST_DAY: Final = "·"
# Telegram refuses a button whose label is white space: the Braille blank shows as nothing.
BLANK: Final = "\u2800"
PREVIOUS: Final = "◀"
NEXT: Final = "▶"

_SCOPE: Final = re.compile(r"[A-Za-z0-9_-]{1,16}")
# Public holidays and the de facto days off (as storage/plans/duetimes.py's WorkCalendar).
_HOLIDAY_CATEGORIES: Final = ("public", "de_facto")
# The holidays package's name for each of our languages.
_HOLIDAY_LANGUAGES: Final = {"sv": "sv", "en": "en_US"}

CalendarKind = Literal["pick", "month", "noop"]


class CalendarDayButton(ButtonData, prefix="cal"):
    """``cal:<scope>:d:<YYYYMMDD>``: a day was tapped."""

    scope: Token
    kind: Literal["d"]
    day: Token


class CalendarMonthButton(ButtonData, prefix="cal"):
    """``cal:<scope>:m:<YYYYMM>``: show another month."""

    scope: Token
    kind: Literal["m"]
    month: Token


class CalendarNoopButton(ButtonData, prefix="cal"):
    """``cal:<scope>:noop``: a label, a blank or a past day."""

    scope: Token
    kind: Literal["noop"]


PREFIX: Final = CalendarNoopButton.PREFIX


def calendar_pattern(scope: str) -> Callable[[object], bool]:
    """A ``CallbackQueryHandler`` pattern: well-formed presses of the calendars of ``scope``
    (whether the day or month is still current is checked by :func:`parse_calendar_callback`)."""
    kinds = (CalendarDayButton, CalendarMonthButton, CalendarNoopButton)
    patterns = [kind.matching(scope=scope) for kind in kinds]
    return lambda data: any(pattern(data) for pattern in patterns)


def calendar_data(scope: str) -> Callable[[object], bool]:
    """A pattern for a catch-all: any data of the calendars of ``scope``, well-formed or not."""
    return lambda data: isinstance(data, str) and data.split(":")[:2] == [PREFIX, scope]


@dataclass(frozen=True)
class CalendarAction:
    """A checked calendar press.

    ``pick``: ``day`` is the chosen date. ``month``: ``day`` is the first day of the month to
    show. ``noop``: nothing to do but answer the callback query.
    """

    scope: str
    kind: CalendarKind
    day: dt.date | None = None


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _month_start(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def _check_scope(scope: str) -> None:
    if not _SCOPE.fullmatch(scope):
        raise ValueError("a calendar scope is 1–16 characters of A–Z, a–z, 0–9, _ and -")


def _noop(scope: str, text: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=CalendarNoopButton(scope, "noop").pack())


def _month_button(scope: str, text: str, index: int) -> InlineKeyboardButton:
    month = _month_start(index)
    data = CalendarMonthButton(scope, "m", f"{month:%Y%m}").pack()
    return InlineKeyboardButton(text, callback_data=data)


@cache
def _days_off(year: int, lang: str) -> dict[dt.date, str]:
    """Swedish holidays of ``year`` (weekends not included), each with its name in ``lang``."""
    import holidays  # at the first calendar, not at start-up

    found = holidays.country_holidays(
        "SE", years=year, categories=_HOLIDAY_CATEGORIES, language=_HOLIDAY_LANGUAGES[lang]
    )
    return dict(found.items())


def holiday_name(day: dt.date, lang: str) -> str | None:
    """The name of the Swedish holiday (or de facto day off) on ``day``, or None."""
    return _days_off(day.year, as_lang(lang)).get(day)


def day_label(day: dt.date, chosen: dt.date | None = None) -> str:
    """A selectable day's label: ``24*`` a holiday, ``(6)`` a weekend, ``[5]`` chosen."""
    label = str(day.day)
    if holiday_name(day, "sv") is not None:
        label += "*"
    elif day.weekday() >= 5:
        label = f"({label})"
    return f"[{label}]" if day == chosen else label


def _header(scope: str, lang: str, shown: int, first: int) -> list[InlineKeyboardButton]:
    month = _month_start(shown)
    name = month_name(month.month, lang)
    title = f"{name[:1].upper()}{name[1:]} {month.year}"
    previous = _month_button(scope, PREVIOUS, shown - 1) if shown > first else _noop(scope, BLANK)
    following = (
        _month_button(scope, NEXT, shown + 1)
        if shown < first + MAX_MONTHS_AHEAD
        else _noop(scope, BLANK)
    )
    return [previous, _noop(scope, title), following]


def _weekday_row(scope: str, lang: str) -> list[InlineKeyboardButton]:
    return [_noop(scope, name.upper()) for name in weekday_initials(lang)]


def _day_button(
    scope: str, day: dt.date, today: dt.date, chosen: dt.date | None
) -> InlineKeyboardButton:
    if day < today:
        return _noop(scope, PAST_DAY)
    data = CalendarDayButton(scope, "d", f"{day:%Y%m%d}").pack()
    return InlineKeyboardButton(day_label(day, chosen), callback_data=data)


def calendar_keyboard(
    scope: str,
    lang: str,
    today: dt.date,
    month: dt.date | None = None,
    *,
    chosen: dt.date | None = None,
) -> InlineKeyboardMarkup:
    """The month containing ``month`` (default: today's), limited to the allowed range;
    ``chosen`` (a day picked before) is marked; weeks wholly past are left out."""
    _check_scope(scope)
    first = _month_index(today)
    shown = min(max(_month_index(month or today), first), first + MAX_MONTHS_AHEAD)
    start = _month_start(shown)
    rows = [_header(scope, lang, shown, first), _weekday_row(scope, lang)]
    for week in calendar.Calendar(firstweekday=calendar.MONDAY).monthdayscalendar(
        start.year, start.month
    ):
        if all(number == 0 or start.replace(day=number) < today for number in week):
            continue  # a week already past takes a phone line and offers nothing
        rows.append(
            [
                _day_button(scope, start.replace(day=number), today, chosen)
                if number
                else _noop(scope, BLANK)
                for number in week
            ]
        )
    return InlineKeyboardMarkup(rows)


def _parse_day(text: str) -> dt.date | None:
    """``YYYYMMDD`` as a date, or None."""
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def parse_calendar_callback(data: object, today: dt.date) -> CalendarAction | None:
    """The press ``data`` stands for, or ``None`` when it is not a valid, current one."""
    first = _month_index(today)
    if noop := CalendarNoopButton.parse(data):
        return CalendarAction(noop.scope, "noop") if _SCOPE.fullmatch(noop.scope) else None
    if shown := CalendarMonthButton.parse(data):
        month = _parse_day(shown.month + "01") if len(shown.month) == 6 else None
        if (
            not _SCOPE.fullmatch(shown.scope)
            or month is None
            or not first <= _month_index(month) <= first + MAX_MONTHS_AHEAD
        ):
            return None
        return CalendarAction(shown.scope, "month", month)
    picked = CalendarDayButton.parse(data)
    day = _parse_day(picked.day) if picked is not None else None
    if (
        picked is None
        or not _SCOPE.fullmatch(picked.scope)
        or day is None
        or day < today
        or _month_index(day) > first + MAX_MONTHS_AHEAD
    ):
        return None
    return CalendarAction(picked.scope, "pick", day)
