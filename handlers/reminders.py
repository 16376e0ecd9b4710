"""Reminders in chat: the dispatcher's wiring, "remind me tomorrow" and /installningar.

``register(app)`` puts the reminder policy and the working calendar in
``bot_data.services`` (``reminder_policy``, ``work_calendar``) for the plan flows, creates the
dispatcher (``reminder_dispatcher``) and has the JobQueue wake it at start-up and every
:data:`DISPATCH_INTERVAL` seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Final

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext, DalsbotApp
from bot.dispatcher import Dispatcher
from bot.duetimes import ReminderPolicy, WorkCalendar
from bot.i18n import Lang, format_time, t
from bot.reminder_policy import calendar_from_settings, policy_from_settings
from bot.reminder_texts import long_date
from handlers.common import (
    STAFF_ROLES,
    CommandSpec,
    authorise,
    callback_parts,
    edit_or_send,
    keyboard,
    parse_id,
    private_only,
    refuse,
    user_lang,
)
from storage import reminders as store

logger = logging.getLogger(__name__)

DISPATCH_INTERVAL: Final = 30.0
JOB_NAME: Final = "reminders:dispatch"

COMMANDS = [CommandSpec("installningar", "reminders.settings_command", STAFF_ROLES)]


def _policy(context: BotContext) -> ReminderPolicy:
    policy: ReminderPolicy = context.data.services["reminder_policy"]
    return policy


def _calendar(context: BotContext) -> WorkCalendar:
    calendar: WorkCalendar = context.data.services["work_calendar"]
    return calendar


def _local(moment: dt.datetime, policy: ReminderPolicy) -> dt.datetime:
    return moment.astimezone(policy.tz)


# -- "remind me tomorrow" ------------------------------------------------------------------------


async def snooze_reminder(update: Update, context: BotContext) -> None:
    """The recipient of a reminder taps "remind me tomorrow": a new one next working day."""
    query = update.callback_query
    assert query is not None
    parts = callback_parts(query.data, "rem", 2)
    staff = await authorise(update, context)
    if staff is None:
        return
    lang = user_lang(update, context, staff)
    if parts is None or parts[0] != "snooze" or parse_id(parts[1]) is None:
        await refuse(update, t("reminders.snooze_gone", lang))
        return
    assert staff.id is not None
    policy = _policy(context)
    result = await context.db.run(
        store.snooze_reminder,
        reminder_id=int(parts[1]),
        staff_id=staff.id,
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
    rows = [
        [button for button in row if not str(button.callback_data or "").startswith("rem:")]
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
        await message.edit_text(
            f"{message.text}\n\n{confirmation}", reply_markup=_without_snooze(message.reply_markup)
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


# -- /installningar ---------------------------------------------------------------------------


def _settings_view(
    enabled: bool, lang: Lang, policy: ReminderPolicy
) -> tuple[str, InlineKeyboardMarkup]:
    at = format_time(policy.clamp(policy.send_at))
    state = t(
        "reminders.settings_digest_on" if enabled else "reminders.settings_digest_off",
        lang,
        time=at,
    )
    text = f"{t('reminders.settings_title', lang)}\n\n{state}"
    if enabled:
        button = (t("reminders.settings_turn_off", lang), "rem:digest:off")
    else:
        button = (t("reminders.settings_turn_on", lang), "rem:digest:on")
    return text, keyboard([[button]])


async def show_settings(update: Update, context: BotContext) -> None:
    """A staff member opens /installningar: the daily digest and a button to toggle it."""
    staff = await authorise(update, context)
    if staff is None:
        return
    assert staff.id is not None
    lang = user_lang(update, context, staff)
    preference = await context.db.run(store.get_preference, staff_id=staff.id)
    text, markup = _settings_view(preference.daily_digest, lang, _policy(context))
    await edit_or_send(update, text, markup)


async def toggle_digest(update: Update, context: BotContext) -> None:
    """A staff member turns the daily digest on or off; the settings message is updated."""
    query = update.callback_query
    assert query is not None
    staff = await authorise(update, context)
    if staff is None:
        return
    assert staff.id is not None
    lang = user_lang(update, context, staff)
    parts = callback_parts(query.data, "rem", 2)
    if parts is None or parts[0] != "digest" or parts[1] not in ("on", "off"):
        await query.answer()
        return
    enabled = parts[1] == "on"
    await context.db.run(store.set_daily_digest, staff_id=staff.id, enabled=enabled)
    await query.answer(
        t("reminders.settings_saved_on" if enabled else "reminders.settings_saved_off", lang)
    )
    text, markup = _settings_view(enabled, lang, _policy(context))
    await edit_or_send(update, text, markup)


# -- wiring ------------------------------------------------------------------------------------


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The snooze button, /installningar and its toggle."""
    return [
        CallbackQueryHandler(snooze_reminder, pattern=r"^rem:snooze:"),
        CallbackQueryHandler(toggle_digest, pattern=r"^rem:digest:"),
        CommandHandler("installningar", show_settings, filters.ChatType.PRIVATE),
        CommandHandler("installningar", private_only, ~filters.ChatType.PRIVATE),
    ]


async def wake_dispatcher(context: BotContext) -> None:
    """JobQueue callback: start a dispatcher run in the background (it may take a while)."""
    dispatcher: Dispatcher = context.data.services["reminder_dispatcher"]
    dispatcher.wake(context.application.create_task)


def register(app: DalsbotApp) -> None:
    """Share the policy and calendar, create the dispatcher and schedule its wake-ups."""
    data = app.bot_data
    policy = policy_from_settings(data.settings)
    data.services["reminder_policy"] = policy
    data.services["work_calendar"] = calendar_from_settings(data.settings)
    data.services["reminder_dispatcher"] = Dispatcher(
        db=data.db,
        send=app.bot.send_message,
        clock=data.clock,
        policy=policy,
        calendar=data.services["work_calendar"],
        is_running=lambda: app.running,
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
