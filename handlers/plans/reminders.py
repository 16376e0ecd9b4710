"""Reminders in chat: the dispatcher's wiring and "remind me tomorrow".

``register(app)`` puts the reminder policy and the working calendar in
``bot_data.services`` (``reminder_policy``, ``work_calendar``) for the plan flows, creates the
dispatcher (``reminder_dispatcher``) and has the JobQueue wake it at start-up and every
:data:`DISPATCH_INTERVAL` seconds.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from typing import Final

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext, DalsbotApp
from bot.i18n import format_time, t
from handlers.common import CommandSpec, checked_press, refuse
from handlers.plans.buttons import SnoozeButton
from handlers.plans.dispatcher import Dispatcher
from handlers.plans.reminder_texts import long_date
from storage.plans import reminders as store
from storage.plans.duetimes import ReminderPolicy, WorkCalendar
from storage.plans.policy import calendar_from_settings, policy_from_settings
from storage.sendbudget import budget_for

logger = logging.getLogger(__name__)

DISPATCH_INTERVAL: Final = 30.0
JOB_NAME: Final = "reminders:dispatch"

# /installningar (/settings) and its daily digest toggle live in handlers/people/settings.py.
COMMANDS: list[CommandSpec] = []


def _policy(context: BotContext) -> ReminderPolicy:
    return context.data.services.get(ReminderPolicy)


def _calendar(context: BotContext) -> WorkCalendar:
    return context.data.services.get(WorkCalendar)


def _local(moment: dt.datetime, policy: ReminderPolicy) -> dt.datetime:
    return moment.astimezone(policy.tz)


# -- "remind me tomorrow" ------------------------------------------------------------------------


async def snooze_reminder(update: Update, context: BotContext) -> None:
    """The recipient of a reminder taps "remind me tomorrow": a new one next working day."""
    press = await checked_press(update, context, SnoozeButton)
    if press is None:
        return
    query, lang = press.query, press.lang
    policy = _policy(context)
    result = await context.db.run(
        store.snooze_reminder,
        reminder_id=press.data.reminder_id,
        staff_id=press.staff_id,
        now=context.now(),
        policy=policy,
        calendar=_calendar(context),
    )
    if result.status is store.SnoozeStatus.NOT_YOURS:
        await refuse(update, t("reminders.snooze_not_yours", lang))
        return
    if result.status is store.SnoozeStatus.GONE:
        await refuse(update, t("reminders.snooze_gone", lang))
        await _drop_buttons(query.message, keep_snooze=False)
        return
    assert result.due_at is not None
    due = _local(result.due_at, policy)
    key = (
        "reminders.snoozed"
        if result.status is store.SnoozeStatus.OK
        else "reminders.snooze_already"
    )
    confirmation = t(key, lang, date=long_date(due.date(), lang), time=format_time(due.time()))
    await query.answer(confirmation)
    await _confirm_on_message(query.message, confirmation)


def _without_snooze(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    if markup is None:
        return None
    snooze = SnoozeButton.matching()
    rows = [
        [button for button in row if not snooze(button.callback_data)]
        for row in markup.inline_keyboard
    ]
    kept = [row for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None


async def _confirm_on_message(message: object, confirmation: str) -> None:
    # The reminder keeps its held/new date buttons and says when the next one comes.
    if not isinstance(message, Message) or message.text is None:
        return
    if confirmation in message.text:
        return
    try:
        # The reminder's own formatting (its bold first line) is kept.
        await message.edit_text(
            f"{message.text_html}\n\n{html.escape(confirmation, quote=False)}",
            reply_markup=_without_snooze(message.reply_markup),
            parse_mode=ParseMode.HTML,
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _drop_buttons(message: object, *, keep_snooze: bool) -> None:
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    markup = message.reply_markup if keep_snooze else None
    try:
        await message.edit_reply_markup(reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


# -- wiring ------------------------------------------------------------------------------------


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The snooze button."""
    return [CallbackQueryHandler(snooze_reminder, pattern=SnoozeButton.matching())]


async def wake_dispatcher(context: BotContext) -> None:
    """JobQueue callback: start a dispatcher run in the background (it may take a while)."""
    context.data.services.get(Dispatcher).wake(context.application.create_task)


def register(app: DalsbotApp) -> None:
    """Share the policy and calendar, create the dispatcher and schedule its wake-ups."""
    data = app.bot_data
    policy = policy_from_settings(data.settings)
    calendar = calendar_from_settings(data.settings)
    data.services.add(policy)
    data.services.add(calendar)
    data.services.add(
        Dispatcher(
            db=data.db,
            send=app.bot.send_message,
            clock=data.clock,
            policy=policy,
            calendar=calendar,
            is_running=lambda: app.running,
            budget=budget_for(
                data.db,
                token=app.bot.token,
                send_rate=data.settings.send_rate,
                paid_broadcast=data.settings.allow_paid_broadcast,
            ),
            paid_broadcast=data.settings.allow_paid_broadcast,
        )
    )
    assert app.job_queue is not None, "the JobQueue extra (APScheduler) is required"
    # At start-up (a one-off: an interval trigger whose start passed during start-up would
    # skip to its next interval), then every DISPATCH_INTERVAL seconds.
    late_is_fine = {"misfire_grace_time": None, "coalesce": True}
    app.job_queue.run_once(
        wake_dispatcher, when=0, name=f"{JOB_NAME}:startup", job_kwargs=late_is_fine
    )
    app.job_queue.run_repeating(
        wake_dispatcher,
        interval=DISPATCH_INTERVAL,
        first=DISPATCH_INTERVAL,
        name=JOB_NAME,
        job_kwargs=late_is_fine,
    )
