"""Dates and times typed in chat, in Swedish or English.

:func:`parse_date` understands what staff actually type: ``15/12``, ``15.12``,
``2026-12-15``, ``15/12-26``, ``15 dec``, ``den 15 december``, ``i morgon``, ``i
övermorgon``, ``om 3 veckor``, ``om tre dagar``, ``nästa fredag``, ``fredag``, ``tisdag nästa
vecka``, ``tomorrow``, ``in 3 weeks``, ``next friday``, ``friday next week``... Decisions:

- **Numeric forms** (``15/12``, ``15.12``, ``15/12/2026``, ``15/12-26``, ``2026-12-15``) are
  read by a strict pattern, day before month, because ``dateparser`` guesses on them
  (``32/13`` becomes 13 December 2032 and ``15.12`` a time of day). Everything else goes to
  the maintained ``dateparser`` library (languages sv and en, day-month-year order, future
  dates preferred), after rewriting the Swedish relative forms it does not know itself.
- **Future first**: a date without a year is the next one on or after today (``15/10``
  typed on 20 December 2026 is 15 October 2027; ``15/12`` typed on 15 December is today),
  except when that day and month passed within the last :data:`RECENT_PAST_DAYS` days
  (``15/12`` typed on 20 December): that is a slip or a date that has been, not a meeting
  almost a year ahead, so it is refused as past rather than silently booked a year late
  (with the year typed, ``15/12/2027``, it is taken). A weekday
  alone, or with "nästa"/"next"/"på"/"on", is the first such day after today (``fredag``
  typed on a Friday is the Friday a week later; "i dag" is today). "<weekday> nästa vecka" /
  "<weekday> next week" is that day in the following Monday-to-Sunday week.
- **Refused**: dates before today (``plans.date_past``), and anything that is not one day:
  junk, a bare number, a month alone, a date with a time of day, or a date more than
  :data:`MAX_YEARS_AHEAD` years ahead (``plans.date_unreadable``).

:func:`parse_time` reads ``13:30``, ``13.30``, ``1330``, ``kl 9``, ``kl. 9.15``, ``9``,
``klockan 14``, ``at 9``, ``9am``, ``2 pm``.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from bot.i18n import Lang

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

MAX_YEARS_AHEAD: Final = 5
# A day and month without a year that passed this recently is refused, not moved a year on.
RECENT_PAST_DAYS: Final = 31
_STOCKHOLM: Final = ZoneInfo("Europe/Stockholm")

# Built once; only the relative base changes, and the parser for a given day is cached.
_SETTINGS: Final[dict[str, Any]] = {
    "DATE_ORDER": "DMY",
    "PREFER_DATES_FROM": "future",
    "RETURN_AS_TIMEZONE_AWARE": False,
    "STRICT_PARSING": False,
}

# re.ASCII: only 0-9 count as digits, not the digits of other scripts.
_NUMERIC: Final = re.compile(
    r"(?P<d>\d{1,2})[./](?P<m>\d{1,2})(?:(?:[./-])(?P<y>\d{4}|\d{2}))?\.?", re.ASCII
)
_ISO: Final = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})", re.ASCII)
_BARE_NUMBER: Final = re.compile(r"\d+", re.ASCII)
_RELATIVE: Final = re.compile(r"\b(om|in|nästa|next|efter|after)\b")
_FOUR_DIGITS: Final = re.compile(r"\d{4}")
_NUMBER: Final = re.compile(r"\d+")

_WEEKDAY_NAMES: Final[dict[str, int]] = {
    **{name: i for i, name in enumerate(("måndag", "tisdag", "onsdag", "torsdag", "fredag"))},
    **{name: i for i, name in enumerate(("mån", "tis", "ons", "tors", "fre"))},
    "lördag": 5, "söndag": 6, "lör": 5, "sön": 6, "tor": 3,
    **{
        name: i
        for i, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
}  # fmt: skip
_WEEKDAY: Final = "|".join(sorted(_WEEKDAY_NAMES, key=len, reverse=True))
_NEXT_WEEK_DAY: Final = re.compile(
    rf"(?:(?:på\s+|on\s+)?(?P<a>{_WEEKDAY})\s+(?:nästa|next)\s+(?:vecka|week)"
    rf"|(?:nästa|next)\s+(?:vecka|week)\s+(?:på\s+|on\s+)?(?P<b>{_WEEKDAY}))"
)
_NUMBER_WORDS: Final[dict[str, str]] = {
    "en": "1", "ett": "1", "två": "2", "tre": "3", "fyra": "4", "fem": "5", "sex": "6",
    "sju": "7", "åtta": "8", "nio": "9", "tio": "10", "elva": "11", "tolv": "12",
}  # fmt: skip
_OM_NUMBER: Final = re.compile(
    r"\bom\s+(" + "|".join(_NUMBER_WORDS) + r")\s+(dag|dagar|vecka|veckor|månad|månader|år)\b"
)
# Swedish forms dateparser does not know, rewritten to forms it does.
_REWRITES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"^(?:i\s*)?övermorgon$"), "in 2 days"),
    (re.compile(r"^i\s*morgon$"), "tomorrow"),
    (re.compile(rf"^(?:nästa|på|next|on)\s+({_WEEKDAY})$"), r"\1"),
)

_TIME: Final = re.compile(
    r"(?:(?:kl|klockan|at)\.?\s*)?"
    r"(?:(?P<h1>\d{1,2})[:.](?P<m1>\d{2})|(?P<h2>\d{2})(?P<m2>\d{2})|(?P<h3>\d{1,2}))"
    r"(?:\s*(?P<ampm>am|pm|a\.m\.|p\.m\.))?",
    re.ASCII,
)


class DateParseError(ValueError):
    """Text that is not a usable date or time; ``key`` is the catalogue text to show."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@lru_cache(maxsize=8)
def _parser(lang: Lang, today: dt.date) -> DateDataParser:
    # Imported at the first date, not at start-up (the warm-up does it in the background).
    from dateparser.date import DateDataParser

    languages = ["en", "sv"] if lang == "en" else ["sv", "en"]
    settings = {**_SETTINGS, "RELATIVE_BASE": dt.datetime.combine(today, dt.time())}
    return DateDataParser(languages=languages, settings=settings)


def _normalise(text: str) -> str:
    cleaned = " ".join(text.strip().lower().replace(",", " ").split())
    return cleaned.removeprefix("den ").removeprefix("the ").strip()


def _numeric_date(text: str, today: dt.date) -> dt.date | None:
    """``15/12``, ``15.12.2026``, ``15/12-26``, ``2026-12-15``; None when not numeric."""
    match = _ISO.fullmatch(text) or _NUMERIC.fullmatch(text)
    if match is None:
        return None
    day, month = int(match["d"]), int(match["m"])
    year_text = match["y"]
    if year_text is not None:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        return _make_date(year, month, day)
    if _recently_passed(month, day, today):
        raise DateParseError("plans.date_past")
    # The next such day on or after today; up to four years ahead finds the next 29 February.
    for year in range(today.year, today.year + 5):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise DateParseError("plans.date_unreadable")


def _recently_passed(month: int, day: int, today: dt.date) -> bool:
    """True when this day and month (typed without a year) fell in the last few weeks."""
    for year in (today.year, today.year - 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        if today - dt.timedelta(days=RECENT_PAST_DAYS) <= candidate < today:
            return True
    return False


def _make_date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise DateParseError("plans.date_unreadable") from None


def _weekday_next_week(text: str, today: dt.date) -> dt.date | None:
    match = _NEXT_WEEK_DAY.fullmatch(text)
    if match is None:
        return None
    weekday = _WEEKDAY_NAMES[match["a"] or match["b"]]
    next_monday = today + dt.timedelta(days=7 - today.weekday())
    return next_monday + dt.timedelta(days=weekday)


def _rewrite(text: str) -> str:
    text = _OM_NUMBER.sub(lambda m: f"om {_NUMBER_WORDS[m[1]]} {m[2]}", text)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


def _dateparser_date(text: str, lang: Lang, today: dt.date) -> dt.date:
    if _BARE_NUMBER.fullmatch(text):
        raise DateParseError("plans.date_unreadable")
    data = _parser(lang, today).get_date_data(_rewrite(text))
    found = data.date_obj
    if found is None or found.time() != dt.time():
        raise DateParseError("plans.date_unreadable")
    relative = _RELATIVE.search(text) is not None
    if data.period in ("month", "year") and not relative:
        raise DateParseError("plans.date_unreadable")
    result = found.date()
    # dateparser's "future" pushes today's own day and month a year ahead: "15 dec" on 15 Dec.
    same_day_next_year = (result.year, result.month, result.day) == (
        today.year + 1,
        today.month,
        today.day,
    )
    no_year = not relative and not _FOUR_DIGITS.search(text)
    if same_day_next_year and no_year:
        return today
    # Only the day's number typed ("15 dec"): dateparser moved a day just past a year ahead.
    if (
        no_year
        and len(_NUMBER.findall(text)) <= 1
        and _recently_passed(result.month, result.day, today)
    ):
        raise DateParseError("plans.date_past")
    return result


def parse_date(text: str, lang: Lang = "sv", today: dt.date | None = None) -> dt.date:
    """The day meant by ``text``, or :class:`DateParseError` with the catalogue key.

    ``today`` is the user's local date; it defaults to today in Europe/Stockholm.
    """
    today = today or dt.datetime.now(_STOCKHOLM).date()
    cleaned = _normalise(text)
    if not cleaned or len(cleaned) > 64:
        raise DateParseError("plans.date_unreadable")
    result = (
        _numeric_date(cleaned, today)
        or _weekday_next_week(cleaned, today)
        or _dateparser_date(cleaned, lang, today)
    )
    if result < today:
        raise DateParseError("plans.date_past")
    if result.year - today.year > MAX_YEARS_AHEAD:
        raise DateParseError("plans.date_unreadable")
    return result


def parse_time(text: str) -> dt.time:
    """A time of day from ``13:30``, ``13.30``, ``kl 9``, ``9``, ``klockan 14``, ``2 pm``..."""
    match = _TIME.fullmatch(" ".join(text.strip().lower().split()))
    if match is None:
        raise DateParseError("plans.time_unreadable")
    hour = int(match["h1"] or match["h2"] or match["h3"])
    minute = int(match["m1"] or match["m2"] or 0)
    ampm = (match["ampm"] or "").replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise DateParseError("plans.time_unreadable")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        raise DateParseError("plans.time_unreadable")
    return dt.time(hour, minute)
