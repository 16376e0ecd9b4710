"""The reminder policy and working calendar as configured (``DALSBOT_REMINDER_*``)."""

from __future__ import annotations

from bot.settings import Settings
from storage.plans.duetimes import ReminderPolicy, WorkCalendar


def policy_from_settings(settings: Settings) -> ReminderPolicy:
    """The :class:`ReminderPolicy` for these settings: offsets, send time and time zone."""
    return ReminderPolicy(
        offsets_days=tuple(settings.reminder_offsets),
        send_at=settings.reminder_time.replace(tzinfo=None),
        tz=settings.tz,
    )


def calendar_from_settings(_settings: Settings) -> WorkCalendar:
    """The working-day calendar (Swedish public holidays; no extra days off configured)."""
    return WorkCalendar()
