"""Calendar files for a follow-up, read back with icalendar."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Component

from handlers.plans.ics import follow_up_ics

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def read(data: bytes) -> tuple[Calendar, Component]:
    calendar = Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def timed(**overrides: object) -> bytes:
    arguments: dict[str, object] = {
        "uid": "plan-12-follow-up@dalsbot",
        "reference": "BP-17",
        "plan_type_label": "SIP",
        "date": dt.date(2026, 3, 30),
        "time": dt.time(9, 30),
        "place": "Rum 3, Åmål",
        "now": NOW,
    }
    arguments.update(overrides)
    return follow_up_ics(**arguments)  # type: ignore[arg-type]


def test_timed_event_in_stockholm_with_vtimezone() -> None:
    """The start is 09:30 Stockholm summer time, 07:30 UTC, and the zone is described."""
    calendar, event = read(timed())
    start = event.decoded("dtstart")
    assert start == dt.datetime(2026, 3, 30, 9, 30, tzinfo=STOCKHOLM)
    assert start.astimezone(dt.UTC) == dt.datetime(2026, 3, 30, 7, 30, tzinfo=dt.UTC)
    assert event.decoded("dtend") - start == dt.timedelta(minutes=60)
    assert b"DTSTART;TZID=Europe/Stockholm:20260330T093000" in timed()
    (zone,) = calendar.walk("VTIMEZONE")
    assert str(zone["tzid"]) == "Europe/Stockholm"


def test_fields_hold_only_the_reference_type_and_place() -> None:
    """SUMMARY, LOCATION, UID, DTSTAMP and nothing personal."""
    calendar, event = read(timed())
    assert str(event["summary"]) == "Uppföljning SIP BP-17"
    assert str(event["location"]) == "Rum 3, Åmål"
    assert str(event["uid"]) == "plan-12-follow-up@dalsbot"
    assert event.decoded("dtstamp") == NOW
    assert str(calendar["version"]) == "2.0"
    assert "description" not in event


def test_alarm_the_day_before() -> None:
    """A display alarm 24 hours before a timed event."""
    _, event = read(timed())
    (alarm,) = event.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY"
    assert alarm.decoded("trigger") == dt.timedelta(days=-1)
    assert str(alarm["description"]) == "I morgon: uppföljning BP-17"


def test_all_day_event_without_time_or_place() -> None:
    """No time: a one-day all-day event, no time zone, no location; alarm 09:00 the day before."""
    data = timed(time=None, place=None, lang="en")
    calendar, event = read(data)
    assert event.decoded("dtstart") == dt.date(2026, 3, 30)
    assert event.decoded("dtend") == dt.date(2026, 3, 31)
    assert b"DTSTART;VALUE=DATE:20260330" in data
    assert "location" not in event
    assert calendar.walk("VTIMEZONE") == []
    assert str(event["summary"]) == "Follow-up SIP BP-17"
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("trigger") == dt.timedelta(hours=-15)


def test_alarm_and_duration_are_optional() -> None:
    """Without an alarm there is no VALARM; the duration sets DTEND."""
    _, event = read(timed(alarm=False, duration_minutes=90, sequence=2))
    assert event.walk("VALARM") == []
    assert event.decoded("dtend") == dt.datetime(2026, 3, 30, 11, 0, tzinfo=STOCKHOLM)
    assert event.decoded("sequence") == 2


def test_winter_time_event() -> None:
    """In November 09:30 Stockholm is 08:30 UTC."""
    _, event = read(timed(date=dt.date(2026, 11, 30)))
    assert event.decoded("dtstart").astimezone(dt.UTC) == dt.datetime(
        2026, 11, 30, 8, 30, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"place": "Hos 900101-0017"},
        {"reference": "19900101-0017"},
        {"now": NOW.replace(tzinfo=None)},
    ],
)
def test_personal_data_and_naive_times_are_refused(overrides: dict[str, object]) -> None:
    """An identity number never reaches a calendar file."""
    with pytest.raises(ValueError):
        timed(**overrides)
