"""The wording of reminders, notices and the daily digest, in the recipient's language.

Pure functions over plain values (a :class:`storage.plans.reminders.Delivery`, the local date), so
they are tested without Telegram. "In 7 days" / "tomorrow" / "today" is counted from the
day the message is actually sent, not from when it was planned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Lang, as_lang, format_date, format_time, t
from handlers.plans.buttons import FollowUpButton, SnoozeButton
from handlers.plans.render import escape, plan_type_label
from storage.plans.models import ReminderKind
from storage.plans.reminders import ACTIONABLE_KINDS, Delivery, DigestItem


def long_date(day: dt.date, lang: Lang) -> str:
    """A date with its weekday: ``onsdag 2 december 2026``."""
    return f"{t(f'reminders.day_{day.weekday()}', lang)} {format_date(day, lang)}"


def when_text(days: int, lang: Lang) -> str:
    """``i dag`` / ``i morgon`` / ``om 7 dagar``."""
    if days <= 0:
        return t("reminders.when_today", lang)
    if days == 1:
        return t("reminders.when_tomorrow", lang)
    return t("reminders.when_in_days", lang, days=days)


def _details(delivery: Delivery, lang: Lang) -> list[str]:
    lines = [t("reminders.line_date", lang, date=long_date(delivery.follow_up_date, lang))]
    if delivery.follow_up_time is not None:
        lines.append(t("reminders.line_time", lang, time=format_time(delivery.follow_up_time)))
    if delivery.place:
        lines.append(t("reminders.line_place", lang, place=escape(delivery.place)))
    return lines


def reminder_text(delivery: Delivery, today: dt.date, *, overdue_notices: int = 3) -> str:
    """The message for one claimed reminder, sent on the local date ``today``: HTML, its
    first line bold, every value escaped."""
    head, _, rest = _reminder_text(delivery, today, overdue_notices).partition("\n")
    return f"<b>{head}</b>\n{rest}" if rest else f"<b>{head}</b>"


def _reminder_text(delivery: Delivery, today: dt.date, overdue_notices: int) -> str:
    lang = as_lang(delivery.lang)
    names = {
        "reference": escape(delivery.reference),
        "plan_type": plan_type_label(delivery.plan_type, lang, in_reminder=True),
        "date": long_date(delivery.follow_up_date, lang),
    }
    days = (delivery.follow_up_date - today).days
    kind = delivery.kind
    if kind == ReminderKind.ESCALATION.value:
        return t("reminders.escalation", lang, notices=delivery.seq, **names)
    if kind == ReminderKind.UNDELIVERED.value:
        name = escape(delivery.unreachable_name or t("reminders.someone", lang))
        return t("reminders.undelivered", lang, name=name, reference=names["reference"])
    if kind == ReminderKind.OVERDUE.value:
        return t("reminders.overdue", lang, notice=delivery.seq, total=overdue_notices, **names)
    if kind == ReminderKind.SNOOZE.value and days < 0:
        return t("reminders.snooze_overdue", lang, **names)
    key = "reminders.snooze" if kind == ReminderKind.SNOOZE.value else "reminders.before"
    head = t(key, lang, when=when_text(days, lang), **names)
    return "\n".join([head, *_details(delivery, lang)])


def reminder_buttons(delivery: Delivery, today: dt.date) -> InlineKeyboardMarkup | None:
    """New date / remind me tomorrow on reminders the recipient can act on, and "held" from
    the follow-up's day on (``today`` is the local date of sending). Each follow-up button
    carries the day it is about, so it is refused once the plan has another follow-up."""
    if delivery.kind not in ACTIONABLE_KINDS:
        return None
    lang = as_lang(delivery.lang)
    plan_id, day = delivery.plan_id, delivery.follow_up_date

    def button(key: str, data: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(t(key, lang), callback_data=data)

    first = [button("reminders.button_new_date", FollowUpButton.about("date", plan_id, day).pack())]
    if day <= today:
        first.insert(
            0, button("reminders.button_held", FollowUpButton.about("held", plan_id, day).pack())
        )
    snooze = SnoozeButton("snooze", delivery.reminder_id).pack()
    return InlineKeyboardMarkup([first, [button("reminders.button_snooze", snooze)]])


def digest_text(items: Sequence[DigestItem], today: dt.date, lang_value: str | None) -> str | None:
    """Today's and the rest of this week's follow-ups, or None when there are none."""
    if not items:
        return None
    lang = as_lang(lang_value)
    lines = [t("reminders.digest_title", lang)]
    todays = [item for item in items if item.day == today]
    later = [item for item in items if item.day > today]
    if todays:
        lines += ["", t("reminders.digest_today", lang)]
        lines += [_digest_line(item, lang, with_day=False) for item in todays]
    if later:
        lines += ["", t("reminders.digest_week", lang)]
        lines += [_digest_line(item, lang, with_day=True) for item in later]
    return "\n".join(lines)


def _digest_line(item: DigestItem, lang: Lang, *, with_day: bool) -> str:
    parts: list[str] = []
    if with_day:
        parts.append(long_date(item.day, lang))
    if item.at is not None:
        parts.append(t("reminders.line_time", lang, time=format_time(item.at)))
    if item.place:
        parts.append(t("reminders.line_place", lang, place=item.place))
    details = (", " + ", ".join(parts)) if parts else ""
    if item.responsible:
        details += t("reminders.digest_responsible", lang)
    return t(
        "reminders.digest_item",
        lang,
        reference=item.reference,
        plan_type=plan_type_label(item.plan_type, lang, in_reminder=True),
        details=details,
    )
