"""Due times of follow-up reminders: offsets, working days, quiet hours, DST, overdue, snooze."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.plans.duetimes import (
    DEFAULT_CALENDAR,
    STOCKHOLM,
    PlannedReminder,
    ReminderPolicy,
    WorkCalendar,
    local_instant,
    overdue_schedule,
    reminder_schedule,
    snooze_until,
    still_useful,
    upcoming,
)

UTC = dt.UTC


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def local_days(reminders: list[PlannedReminder]) -> list[dt.date]:
    return [r.due_at.astimezone(STOCKHOLM).date() for r in reminders]


def keys(reminders: list[PlannedReminder]) -> list[str]:
    return [r.key for r in reminders]


# -- the working-day calendar ---------------------------------------------------------------


PUBLIC_HOLIDAYS = {
    dt.date(2026, 1, 1): "nyårsdagen",
    dt.date(2026, 1, 6): "trettondedag jul",
    dt.date(2026, 4, 3): "långfredagen",
    dt.date(2026, 4, 6): "annandag påsk",
    dt.date(2026, 5, 1): "första maj",
    dt.date(2026, 5, 14): "Kristi himmelsfärds dag",
    dt.date(2026, 12, 25): "juldagen",
    dt.date(2027, 1, 1): "nyårsdagen 2027",
}
DE_FACTO_DAYS_OFF = {
    dt.date(2027, 6, 25): "midsommarafton 2027",
    dt.date(2026, 6, 19): "midsommarafton",
    dt.date(2026, 12, 24): "julafton",
    dt.date(2026, 12, 31): "nyårsafton",
}


@pytest.mark.parametrize(("day", "name"), [*PUBLIC_HOLIDAYS.items(), *DE_FACTO_DAYS_OFF.items()])
def test_holidays_and_de_facto_days_off_are_not_working_days(day: dt.date, name: str) -> None:
    """Public holidays and midsommarafton, julafton, nyårsafton are days off."""
    assert day.weekday() < 5, name
    assert not DEFAULT_CALENDAR.is_working_day(day), name


def test_ordinary_weekdays_are_working_days_and_weekends_are_not() -> None:
    """Monday–Friday work, Saturday and Sunday do not."""
    assert DEFAULT_CALENDAR.is_working_day(dt.date(2026, 11, 25))
    assert DEFAULT_CALENDAR.is_working_day(dt.date(2026, 5, 15))  # the squeeze day is work
    assert not DEFAULT_CALENDAR.is_working_day(dt.date(2026, 11, 28))
    assert not DEFAULT_CALENDAR.is_working_day(dt.date(2026, 11, 29))


def test_previous_and_next_working_day_skip_weekends_and_holidays() -> None:
    """Stepping over Christmas and New Year finds the right days."""
    cal = WorkCalendar()
    assert cal.previous_working_day(dt.date(2026, 12, 28)) == dt.date(2026, 12, 23)
    assert cal.next_working_day(dt.date(2026, 12, 30)) == dt.date(2027, 1, 4)
    assert cal.next_working_day(dt.date(2026, 12, 30), inclusive=True) == dt.date(2026, 12, 30)
    assert cal.previous_working_day(dt.date(2026, 12, 27), inclusive=True) == dt.date(2026, 12, 23)


def test_extra_days_off_are_honoured() -> None:
    """A calendar can be given local days off on top of the national ones."""
    cal = WorkCalendar(extra_days_off=[dt.date(2026, 11, 25)])
    assert not cal.is_working_day(dt.date(2026, 11, 25))
    assert cal.next_working_day(dt.date(2026, 11, 24)) == dt.date(2026, 11, 26)


# -- reminders before a follow-up ----------------------------------------------------------


def test_default_offsets_on_an_ordinary_week() -> None:
    """7 days and 1 day before and the morning of the day, at 08:00 Stockholm time."""
    schedule = reminder_schedule(dt.date(2026, 11, 26), None)
    assert schedule == [
        PlannedReminder("before", utc(2026, 11, 19, 7), days_before=7),
        PlannedReminder("before", utc(2026, 11, 25, 7), days_before=1),
        PlannedReminder("day_of", utc(2026, 11, 26, 7)),
    ]
    assert keys(schedule) == ["before:7", "before:1", "day_of"]
    assert [r.seq for r in schedule] == [7, 1, 0]


@pytest.mark.parametrize(
    ("follow_up", "meeting", "days_before"),
    [
        # A Monday meeting: the day-before reminder is sent on Friday, three days before.
        pytest.param(dt.date(2026, 11, 30), dt.time(13, 0), (7, 3, 0), id="weekend"),
        # Tuesday after Easter: Monday, the weekend and Good Friday are skipped to Thursday.
        pytest.param(dt.date(2026, 4, 7), None, (7, 5, 0), id="langfredagen"),
        # Monday after midsommar: the reminder skips midsommarafton to Thursday.
        pytest.param(dt.date(2026, 6, 22), None, (7, 4, 0), id="midsommar"),
        # Julafton–annandag and nyårsafton–nyårsdagen are skipped backwards.
        pytest.param(dt.date(2026, 12, 28), None, (7, 5, 0), id="christmas"),
        pytest.param(dt.date(2027, 1, 4), None, (7, 5, 0), id="new-year"),
        # A Friday follow-up after Ascension Day is reminded on Wednesday.
        pytest.param(dt.date(2026, 5, 15), None, (7, 2, 0), id="kristi-himmelsfard"),
    ],
)
def test_reminders_move_back_over_weekends_and_holidays(
    follow_up: dt.date, meeting: dt.time | None, days_before: tuple[int, ...]
) -> None:
    """A reminder that would fall on a day off is sent on the working day before it; its
    key says how many days before the follow-up that is (the day-of reminder: 0)."""
    schedule = reminder_schedule(follow_up, meeting)
    assert local_days(schedule) == [follow_up - dt.timedelta(days=n) for n in days_before]
    assert keys(schedule) == [f"before:{n}" if n else "day_of" for n in days_before]


def test_a_follow_up_on_midsommarafton_merges_day_of_into_the_day_before() -> None:
    """Day-of and day-before land on the same Thursday and become one reminder."""
    schedule = reminder_schedule(dt.date(2026, 6, 19), dt.time(10, 0))
    assert schedule == [
        PlannedReminder("before", utc(2026, 6, 12, 6), days_before=7),
        PlannedReminder("before", utc(2026, 6, 18, 6), days_before=1),
    ]


def test_offsets_landing_on_the_same_day_are_merged_keeping_the_closest() -> None:
    """Offsets 1, 2 and 3 before a Monday all fall back to Friday: one reminder remains."""
    policy = ReminderPolicy(offsets_days=(3, 2, 1))
    schedule = reminder_schedule(dt.date(2026, 11, 30), None, policy)
    assert schedule == [PlannedReminder("before", utc(2026, 11, 27, 7), days_before=3)]


@pytest.mark.parametrize(
    ("follow_up", "meeting", "hours_utc"),
    [
        # Around 29 March 2026: 08:00 is 07:00 UTC before the switch and 06:00 UTC after.
        pytest.param(dt.date(2026, 3, 30), None, (7, 7, 6), id="spring-forward"),
        # Around 25 October 2026: 08:00 is 06:00 UTC before the switch and 07:00 UTC after.
        pytest.param(dt.date(2026, 10, 26), dt.time(10, 0), (6, 6, 7), id="fall-back"),
    ],
)
def test_the_dst_switch_gives_the_right_utc_instants(
    follow_up: dt.date, meeting: dt.time | None, hours_utc: tuple[int, ...]
) -> None:
    """08:00 Stockholm time is 07:00 UTC in winter and 06:00 UTC in summer."""
    schedule = reminder_schedule(follow_up, meeting)
    days = local_days(schedule)
    assert days == [follow_up - dt.timedelta(days=n) for n in (7, 3, 0)]
    assert [r.due_at for r in schedule] == [
        utc(day.year, day.month, day.day, hour) for day, hour in zip(days, hours_utc, strict=True)
    ]


def test_local_instant_in_the_missing_and_the_repeated_hour() -> None:
    """02:30 on spring-forward is read as 03:30 summer time; on fall-back as the first one."""
    assert local_instant(dt.date(2026, 3, 29), dt.time(2, 30)) == utc(2026, 3, 29, 1, 30)
    assert local_instant(dt.date(2026, 10, 25), dt.time(2, 30)) == utc(2026, 10, 25, 0, 30)


@pytest.mark.parametrize(
    ("meeting", "expected"),
    [
        (dt.time(9, 0), utc(2026, 11, 26, 7)),  # 08:00 local, before the meeting
        (dt.time(8, 0), utc(2026, 11, 26, 6)),  # at the send time: 07:00 instead
        (dt.time(7, 30), utc(2026, 11, 26, 6)),  # 07:00, still before the meeting
        (dt.time(7, 0), None),  # 07:00 would not be before the meeting: dropped
        (dt.time(6, 30), None),
    ],
)
def test_day_of_reminder_is_never_at_or_after_the_meeting(
    meeting: dt.time, expected: dt.datetime | None
) -> None:
    """An early meeting gets its day-of reminder at 07:00, or none when that is too late."""
    day_of = [r for r in reminder_schedule(dt.date(2026, 11, 26), meeting) if r.kind == "day_of"]
    assert [r.due_at for r in day_of] == ([expected] if expected else [])


def test_send_times_inside_quiet_hours_are_clamped() -> None:
    """A 06:00 send time is moved to 07:00 and a 21:30 one back to 20:00."""
    early = reminder_schedule(dt.date(2026, 11, 26), None, ReminderPolicy(send_at=dt.time(6)))
    late = reminder_schedule(dt.date(2026, 11, 26), None, ReminderPolicy(send_at=dt.time(21, 30)))
    assert early[0].due_at == utc(2026, 11, 19, 6)
    assert late[0].due_at == utc(2026, 11, 19, 19)


def test_quiet_hours_boundaries() -> None:
    """20:00 and 07:00 themselves may be used; the minutes between may not."""
    policy = ReminderPolicy()
    assert not policy.is_quiet(dt.time(20, 0))
    assert not policy.is_quiet(dt.time(7, 0))
    assert policy.is_quiet(dt.time(20, 1))
    assert policy.is_quiet(dt.time(3, 0))
    assert policy.is_quiet(dt.time(6, 59))
    assert not policy.is_quiet(dt.time(12, 0))


def test_policy_rejects_nonsense() -> None:
    """Negative offsets and a quiet window that does not wrap midnight are refused."""
    with pytest.raises(ValueError, match="offsets"):
        ReminderPolicy(offsets_days=(-1,))
    with pytest.raises(ValueError, match="quiet"):
        ReminderPolicy(quiet_start=dt.time(6), quiet_end=dt.time(7))
    with pytest.raises(ValueError, match="overdue"):
        ReminderPolicy(overdue_notices=-1)


def test_upcoming_drops_reminders_already_past() -> None:
    """A follow-up set three days ahead keeps only the reminders still to come."""
    schedule = reminder_schedule(dt.date(2026, 11, 26), None)
    assert keys(upcoming(schedule, utc(2026, 11, 23, 12))) == ["before:1", "day_of"]


# -- overdue and escalation ----------------------------------------------------------------


def test_overdue_notices_on_the_following_working_days_then_escalation() -> None:
    """Three notices after a Wednesday follow-up, escalation on the next working day."""
    schedule = overdue_schedule(dt.date(2026, 11, 25))
    assert schedule == [
        PlannedReminder("overdue", utc(2026, 11, 26, 7), notice=1),
        PlannedReminder("overdue", utc(2026, 11, 27, 7), notice=2),
        PlannedReminder("overdue", utc(2026, 11, 30, 7), notice=3),
        PlannedReminder("escalation", utc(2026, 12, 1, 7), notice=3),
    ]
    assert keys(schedule) == ["overdue:1", "overdue:2", "overdue:3", "escalation"]
    assert [r.seq for r in schedule] == [1, 2, 3, 3]


def test_overdue_over_christmas_and_new_year() -> None:
    """After 23 December: 28, 29, 30 December, then escalation on 4 January."""
    assert local_days(overdue_schedule(dt.date(2026, 12, 23))) == [
        dt.date(2026, 12, 28),
        dt.date(2026, 12, 29),
        dt.date(2026, 12, 30),
        dt.date(2027, 1, 4),
    ]


def test_overdue_across_the_spring_switch() -> None:
    """A Friday follow-up's first notice is Monday 08:00 summer time, 06:00 UTC."""
    assert overdue_schedule(dt.date(2026, 3, 27))[0].due_at == utc(2026, 3, 30, 6)


def test_overdue_count_follows_the_policy() -> None:
    """With one notice the escalation comes on the second working day."""
    schedule = overdue_schedule(dt.date(2026, 11, 25), ReminderPolicy(overdue_notices=1))
    assert keys(schedule) == ["overdue:1", "escalation"]
    assert local_days(schedule) == [dt.date(2026, 11, 26), dt.date(2026, 11, 27)]


# -- snooze ----------------------------------------------------------------------------------


def test_snooze_on_a_weekday_is_tomorrow_at_the_send_time() -> None:
    """Wednesday afternoon: Thursday 08:00."""
    assert snooze_until(utc(2026, 11, 25, 14)) == utc(2026, 11, 26, 7)


def test_snooze_on_friday_skips_the_weekend() -> None:
    """Friday: Monday 08:00."""
    assert snooze_until(utc(2026, 11, 27, 9)) == utc(2026, 11, 30, 7)


def test_snooze_over_easter_and_the_dst_switch() -> None:
    """Thursday before Easter 2026: Tuesday 7 April 08:00 summer time."""
    assert snooze_until(utc(2026, 4, 2, 12)) == utc(2026, 4, 7, 6)


def test_snooze_uses_the_local_date() -> None:
    """23:30 UTC on Wednesday is already Thursday in Stockholm: snooze to Friday."""
    assert snooze_until(utc(2026, 11, 25, 23, 30)) == utc(2026, 11, 27, 7)


def test_snooze_needs_an_aware_time() -> None:
    """A naive datetime is a programming error."""
    with pytest.raises(ValueError, match="aware"):
        snooze_until(dt.datetime(2026, 11, 25, 12))


# -- reminders missed while the bot was down ------------------------------------------------


def test_missed_before_reminder_is_useful_until_the_meeting() -> None:
    """Sent at start-up while the follow-up is ahead, stale once it has begun."""
    day, at = dt.date(2026, 11, 26), dt.time(10, 0)
    assert still_useful("before", day, at, utc(2026, 11, 26, 8, 59))
    assert not still_useful("before", day, at, utc(2026, 11, 26, 9, 0))
    assert still_useful("day_of", day, None, utc(2026, 11, 26, 22, 59))
    assert not still_useful("day_of", day, None, utc(2026, 11, 26, 23, 0))


def test_missed_overdue_notice_is_useful_only_on_its_own_day() -> None:
    """An overdue notice missed by a short restart still goes; an older one is stale."""
    due = utc(2026, 11, 26, 7)
    day = dt.date(2026, 11, 25)
    assert still_useful("overdue", day, None, utc(2026, 11, 26, 9), due_at=due)
    assert not still_useful("overdue", day, None, utc(2026, 11, 27, 9), due_at=due)
    assert not still_useful("overdue", day, None, utc(2026, 11, 26, 9))


def test_missed_escalation_is_always_useful() -> None:
    """The coordinators are told even after down time."""
    assert still_useful("escalation", dt.date(2026, 11, 1), None, utc(2026, 11, 26, 9))


# -- properties --------------------------------------------------------------------------------

follow_up_dates = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2030, 12, 31))
meeting_times = st.none() | st.times().map(lambda t: t.replace(second=0, microsecond=0))
policies = st.builds(
    ReminderPolicy,
    offsets_days=st.lists(st.integers(0, 30), max_size=5).map(tuple),
    send_at=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
)


@settings(max_examples=300, deadline=None)
@given(follow_up_dates, meeting_times, policies)
def test_every_reminder_is_on_a_working_day_outside_quiet_hours_and_not_late(
    day: dt.date, meeting: dt.time | None, policy: ReminderPolicy
) -> None:
    """Whatever the date, time and policy, the schedule keeps all the rules."""
    schedule = reminder_schedule(day, meeting, policy)
    for reminder in schedule:
        local = reminder.due_at.astimezone(STOCKHOLM)
        assert reminder.due_at.tzinfo is UTC
        assert DEFAULT_CALENDAR.is_working_day(local.date())
        assert not policy.is_quiet(local.time())
        assert local.date() <= day
        if meeting is not None:
            assert reminder.due_at < local_instant(day, meeting)
        assert (reminder.kind == "day_of") == (local.date() == day)
    assert len({r.key for r in schedule}) == len(schedule)
    assert [r.due_at for r in schedule] == sorted(r.due_at for r in schedule)


@settings(max_examples=200, deadline=None)
@given(follow_up_dates, st.integers(0, 5))
def test_overdue_notices_are_on_working_days_after_the_follow_up(day: dt.date, count: int) -> None:
    """Notices and escalation fall on successive working days after the follow-up."""
    schedule = overdue_schedule(day, ReminderPolicy(overdue_notices=count))
    days = local_days(schedule)
    assert len(schedule) == count + 1
    assert all(DEFAULT_CALENDAR.is_working_day(d) for d in days)
    assert days[0] > day
    assert days == sorted(set(days))
    assert schedule[-1].kind == "escalation"
