"""A calendar file (.ics) for one follow-up, built with the maintained ``icalendar`` package.

- Without a time the follow-up is an all-day event (``DTSTART;VALUE=DATE``, ending the next
  day). With a time it is a timed event in the plan's time zone (Europe/Stockholm) and the
  file carries the matching ``VTIMEZONE``, which Outlook needs to place it correctly.
- ``SUMMARY`` is "Uppföljning <type> <reference>" (or the English text), ``LOCATION`` is set
  only when a place is given, and an optional ``VALARM`` reminds the day before: 24 hours
  before a timed event, 09:00 the day before an all-day one.
- Nothing beyond the pseudonymous reference, the plan type and the place is written, and a
  text holding a personal identity number is refused with ``ValueError``.
- The ``UID`` comes from the caller and should stay the same for a plan's follow-up, with a
  higher ``sequence`` when it moves, so calendars update the event instead of adding one.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from bot.guard import contains_identity_number
from bot.i18n import t

if TYPE_CHECKING:
    from icalendar import Alarm

PRODID: Final = "-//Backa barnet Dalsland//Dalsbot//SV"
STOCKHOLM: Final = ZoneInfo("Europe/Stockholm")
_TIMEZONE_SPAN: Final = dt.timedelta(days=366)
_TIMED_ALARM: Final = dt.timedelta(days=-1)
# Relative to an all-day event's midnight start: 09:00 the day before.
_ALL_DAY_ALARM: Final = dt.timedelta(hours=-15)


def follow_up_ics(
    *,
    uid: str,
    reference: str,
    plan_type_label: str,
    date: dt.date,
    time: dt.time | None,
    place: str | None,
    now: dt.datetime,
    tz: ZoneInfo = STOCKHOLM,
    duration_minutes: int = 60,
    lang: str = "sv",
    alarm: bool = True,
    sequence: int = 0,
) -> bytes:
    """The ``.ics`` bytes of one follow-up meeting; ``now`` (aware) is the DTSTAMP."""
    from icalendar import Calendar, Event  # at the first calendar file, not at start-up

    place = (place or "").strip() or None
    for text in (reference, plan_type_label, place or ""):
        if contains_identity_number(text):
            raise ValueError("calendar text may not hold a personal identity number")
    if now.tzinfo is None or duration_minutes <= 0:
        raise ValueError("now must be aware and the duration positive")

    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(dt.UTC))
    event.add("sequence", sequence)
    event.add(
        "summary", t("plans.ics_summary", lang, plan_type=plan_type_label, reference=reference)
    )
    if time is None:
        event.add("dtstart", date)
        event.add("dtend", date + dt.timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    else:
        start = dt.datetime.combine(date, time.replace(tzinfo=None), tzinfo=tz)
        event.add("dtstart", start)
        event.add("dtend", start + dt.timedelta(minutes=duration_minutes))
    if place:
        event.add("location", place)
    if alarm:
        event.add_component(_alarm(reference, lang, all_day=time is None))

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add_component(event)
    if time is not None:
        # A year either side keeps the VTIMEZONE short but covers any later move.
        cal.add_missing_timezones(first_date=date - _TIMEZONE_SPAN, last_date=date + _TIMEZONE_SPAN)
    return bytes(cal.to_ical())


def _alarm(reference: str, lang: str, *, all_day: bool) -> Alarm:
    from icalendar import Alarm

    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", t("plans.ics_alarm", lang, reference=reference))
    alarm.add("trigger", _ALL_DAY_ALARM if all_day else _TIMED_ALARM)
    return alarm
