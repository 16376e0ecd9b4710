"""When follow-up reminders are due: pure functions over dates, times and a policy.

Nothing here touches Telegram or the database. The storage layer turns the
:class:`PlannedReminder` values into reminder rows (the database is the source of truth) and
the dispatcher sends the rows that are due.

Decisions, in one place:

- **Working days** are Monday–Friday minus Swedish public holidays from the maintained
  ``holidays`` library (category ``public``) and the de facto days off midsommarafton,
  julafton and nyårsafton (category ``de_facto``).
- **Reminders before a follow-up** are planned at ``policy.offsets_days`` (default 7, 1 and 0
  days before) at ``policy.send_at`` local time. One that falls on a non-working day moves to
  the previous working day. When two land on the same day they are merged into one, the one
  closest to the follow-up. The kind follows the day the reminder is actually sent:
  ``day_of`` only when it is sent on the follow-up date, otherwise ``before`` with
  ``days_before`` counted from the sending day, so the text never says "tomorrow" on a
  Thursday for a Saturday meeting.
- **Quiet hours**: nothing is sent strictly between ``quiet_start`` (20:00) and ``quiet_end``
  (07:00); the two boundaries themselves are allowed. A send time in the evening part moves
  back to ``quiet_start`` (never later than intended); one in the early morning part moves
  on to ``quiet_end``.
- **Early meetings**: a day-of reminder is never at or after the meeting's time. When the
  meeting starts at or before the send time, the reminder is sent at ``quiet_end`` (07:00) if
  that is still before the meeting, and dropped otherwise (the day-before reminder has
  already told the person).
- **Overdue**: the responsible person gets up to ``policy.overdue_notices`` (3) notices on the
  *working days* after an un-held follow-up, at the send time; on the working day after the
  last one the municipality's coordinators get one escalation (the reference only). Weekends
  and holidays are skipped like for every other reminder.
- **Snooze** ("remind me tomorrow") moves to the next working day after today, at the send
  time.
- **Daylight saving time**: local dates and times are turned into UTC with ``zoneinfo``, so
  the last Sundays of March and October give the right instants. With the default quiet
  hours no send time ever falls in the missing or repeated hour (02:00–03:00); with a custom
  policy a missing local time is read with the offset before the switch (02:30 becomes
  03:30 summer time) and a repeated one as its first occurrence.
- **Start-up after down time**: see :func:`still_useful`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal
from zoneinfo import ZoneInfo

# When a planned reminder is due; stored as storage.plans.models.ReminderKind ("day_of" is
# stored as "before" with offset 0).
PlannedKind = Literal["before", "day_of", "overdue", "escalation"]
REMINDER_KINDS: Final[tuple[PlannedKind, ...]] = ("before", "day_of", "overdue", "escalation")

STOCKHOLM: Final = ZoneInfo("Europe/Stockholm")
_ONE_DAY: Final = dt.timedelta(days=1)
# Holidays a working day may not be: public ones, and midsommarafton, julafton, nyårsafton.
_HOLIDAY_CATEGORIES: Final = ("public", "de_facto")
# Far enough for any real search; guards the loops against a calendar with no working days.
_MAX_SEARCH_DAYS: Final = 366


class WorkCalendar:
    """Swedish working days; the holidays of each year are computed once and cached."""

    def __init__(self, *, extra_days_off: Iterable[dt.date] = ()) -> None:
        self._extra = frozenset(extra_days_off)
        self._by_year: dict[int, frozenset[dt.date]] = {}

    def days_off(self, year: int) -> frozenset[dt.date]:
        """The holidays of ``year`` that are not working days (weekends not included)."""
        cached = self._by_year.get(year)
        if cached is None:
            import holidays  # at the first year asked for, not at start-up

            found = holidays.country_holidays("SE", years=year, categories=_HOLIDAY_CATEGORIES)
            cached = frozenset(found.keys()) | {d for d in self._extra if d.year == year}
            self._by_year[year] = cached
        return cached

    def is_working_day(self, day: dt.date) -> bool:
        """True on Monday–Friday unless the day is a holiday or a de facto day off."""
        return day.weekday() < 5 and day not in self.days_off(day.year)

    def previous_working_day(self, day: dt.date, *, inclusive: bool = False) -> dt.date:
        """The last working day before ``day`` (or ``day`` itself when ``inclusive``)."""
        return self._walk(day if inclusive else day - _ONE_DAY, -_ONE_DAY)

    def next_working_day(self, day: dt.date, *, inclusive: bool = False) -> dt.date:
        """The first working day after ``day`` (or ``day`` itself when ``inclusive``)."""
        return self._walk(day if inclusive else day + _ONE_DAY, _ONE_DAY)

    def _walk(self, day: dt.date, step: dt.timedelta) -> dt.date:
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                return day
            day += step
        raise ValueError("no working day within a year")


DEFAULT_CALENDAR: Final = WorkCalendar()


@dataclass(frozen=True)
class ReminderPolicy:
    """How and when reminders go out; the defaults are the product's.

    The quiet window must wrap midnight (``quiet_end`` earlier in the day than
    ``quiet_start``). A ``send_at`` inside it is clamped out of it, see the module docstring.
    """

    offsets_days: tuple[int, ...] = (7, 1, 0)
    send_at: dt.time = dt.time(8, 0)
    quiet_start: dt.time = dt.time(20, 0)
    quiet_end: dt.time = dt.time(7, 0)
    tz: ZoneInfo = field(default=STOCKHOLM)
    overdue_notices: int = 3

    def __post_init__(self) -> None:
        if any(offset < 0 or offset > 365 for offset in self.offsets_days):
            raise ValueError("reminder offsets must be between 0 and 365 days")
        if not self.quiet_end < self.quiet_start:
            raise ValueError("quiet hours must run over midnight (quiet_end < quiet_start)")
        if not 0 <= self.overdue_notices <= 30:
            raise ValueError("overdue_notices must be between 0 and 30")
        for value in (self.send_at, self.quiet_start, self.quiet_end):
            if value.tzinfo is not None:
                raise ValueError("policy times are local wall-clock times, without tzinfo")

    def is_quiet(self, local_time: dt.time) -> bool:
        """True strictly between ``quiet_start`` and ``quiet_end`` (over midnight)."""
        return local_time > self.quiet_start or local_time < self.quiet_end

    def clamp(self, local_time: dt.time) -> dt.time:
        """``local_time`` moved out of the quiet hours to the nearest allowed boundary."""
        if local_time > self.quiet_start:
            return self.quiet_start
        if local_time < self.quiet_end:
            return self.quiet_end
        return local_time


DEFAULT_POLICY: Final = ReminderPolicy()


@dataclass(frozen=True)
class PlannedReminder:
    """One reminder to send at ``due_at`` (aware, UTC).

    ``days_before``: for ``before``, whole days from the local sending day to the follow-up
    (0 for ``day_of``). ``notice``: for ``overdue`` the notice number 1..n; for
    ``escalation`` the number of notices that preceded it.
    """

    kind: PlannedKind
    due_at: dt.datetime
    days_before: int = 0
    notice: int = 0

    @property
    def seq(self) -> int:
        """The number stored beside the kind (``Reminder.seq``): the days before for
        ``before`` and ``day_of`` (0), the notice number for ``overdue`` and ``escalation``.
        A ``day_of`` reminder is stored as kind ``before`` with ``seq`` 0."""
        return self.days_before if self.kind in ("before", "day_of") else self.notice

    @property
    def key(self) -> str:
        """A deterministic name, unique within one plan's schedule (for rows and jobs)."""
        if self.kind == "before":
            return f"before:{self.days_before}"
        if self.kind == "overdue":
            return f"overdue:{self.notice}"
        return self.kind


def local_instant(day: dt.date, at: dt.time, tz: ZoneInfo = STOCKHOLM) -> dt.datetime:
    """The UTC instant of the local wall-clock time ``at`` on ``day`` in ``tz``."""
    return dt.datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz).astimezone(dt.UTC)


def _day_of_time(follow_up_time: dt.time | None, policy: ReminderPolicy) -> dt.time | None:
    at = policy.clamp(policy.send_at)
    if follow_up_time is None or at < follow_up_time:
        return at
    if policy.quiet_end < follow_up_time:
        return policy.quiet_end
    return None


def reminder_schedule(
    follow_up_date: dt.date,
    follow_up_time: dt.time | None = None,
    policy: ReminderPolicy = DEFAULT_POLICY,
    cal: WorkCalendar = DEFAULT_CALENDAR,
) -> list[PlannedReminder]:
    """The reminders before one follow-up, earliest first.

    Moves each reminder off non-working days to the previous working day, merges those
    landing on the same day (the one closest to the follow-up stays), keeps them out of
    quiet hours, and never puts a day-of reminder at or after the meeting's time. Callers
    planning a new or moved follow-up should drop the entries already past, see
    :func:`upcoming`.
    """
    send_days: dict[dt.date, int] = {}
    for offset in sorted(set(policy.offsets_days)):
        day = cal.previous_working_day(follow_up_date - offset * _ONE_DAY, inclusive=True)
        send_days.setdefault(day, offset)

    planned: list[PlannedReminder] = []
    for day in sorted(send_days):
        days_before = (follow_up_date - day).days
        if days_before == 0:
            at = _day_of_time(follow_up_time, policy)
            if at is None:
                continue
            planned.append(PlannedReminder("day_of", local_instant(day, at, policy.tz)))
        else:
            due = local_instant(day, policy.clamp(policy.send_at), policy.tz)
            planned.append(PlannedReminder("before", due, days_before=days_before))
    return planned


def overdue_schedule(
    follow_up_date: dt.date,
    policy: ReminderPolicy = DEFAULT_POLICY,
    cal: WorkCalendar = DEFAULT_CALENDAR,
) -> list[PlannedReminder]:
    """Overdue notices 1..n on the working days after the follow-up, then one escalation.

    Planned when a follow-up is set; the storage layer cancels them once the follow-up is
    marked held or moved.
    """
    at = policy.clamp(policy.send_at)
    planned: list[PlannedReminder] = []
    day = follow_up_date
    for notice in range(1, policy.overdue_notices + 1):
        day = cal.next_working_day(day)
        planned.append(PlannedReminder("overdue", local_instant(day, at, policy.tz), notice=notice))
    day = cal.next_working_day(day)
    escalation = local_instant(day, at, policy.tz)
    planned.append(PlannedReminder("escalation", escalation, notice=policy.overdue_notices))
    return planned


def snooze_until(
    now: dt.datetime,
    policy: ReminderPolicy = DEFAULT_POLICY,
    cal: WorkCalendar = DEFAULT_CALENDAR,
) -> dt.datetime:
    """ "Remind me tomorrow": the next working day after today (local), at the send time."""
    today = _aware(now).astimezone(policy.tz).date()
    return local_instant(cal.next_working_day(today), policy.clamp(policy.send_at), policy.tz)


def upcoming(reminders: Iterable[PlannedReminder], now: dt.datetime) -> list[PlannedReminder]:
    """The reminders still in the future: what to store for a new or moved follow-up."""
    moment = _aware(now)
    return [reminder for reminder in reminders if reminder.due_at > moment]


def still_useful(
    reminder_kind: PlannedKind,
    follow_up_date: dt.date,
    follow_up_time: dt.time | None,
    now: dt.datetime,
    *,
    due_at: dt.datetime | None = None,
    tz: ZoneInfo = STOCKHOLM,
) -> bool:
    """Whether a reminder missed while the bot was down should still be sent at start-up.

    - ``before`` / ``day_of``: yes while the follow-up is still ahead: before its time when
      it has one, otherwise until the end of its date (local).
    - ``overdue``: only on the local day it was due (``due_at``), as after a short restart;
      an older one is stale, because the next notice (or the escalation) follows anyway.
      Without ``due_at`` it is stale.
    - ``escalation``: always, since nothing would tell the coordinators otherwise. Cancelling
      it once the follow-up is marked held is the storage layer's job.
    """
    moment = _aware(now)
    if reminder_kind in ("before", "day_of"):
        if follow_up_time is not None:
            return moment < local_instant(follow_up_date, follow_up_time, tz)
        return moment.astimezone(tz).date() <= follow_up_date
    if reminder_kind == "overdue":
        if due_at is None:
            return False
        return _aware(due_at).astimezone(tz).date() == moment.astimezone(tz).date()
    if reminder_kind == "escalation":
        return True
    raise ValueError(f"unknown reminder kind {reminder_kind!r}")


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return moment
