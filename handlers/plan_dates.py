"""A follow-up's date, time and place, chosen tap first or typed.

Three ways in: the first follow-up of /ny_plan, "change date" (``pln:date:<id>``) and
"follow-up held" (``pln:held:<id>``, which records the follow-up and then asks for the next
date, offers to close the plan or to decide later). The last two work from any message
(the card and the reminders). The date comes from the calendar keyboard or typed Swedish or
English forms (bot.dates); past days are refused. Then the time (buttons for common times,
typed ``13:30``, or none) and the place (typed, through the personal-data guard, or skipped).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.calendar_keyboard import calendar_keyboard, parse_calendar_callback
from bot.context import BotContext
from bot.dates import DateParseError, parse_date, parse_time
from bot.i18n import Lang, format_date, format_time, t
from bot.plan_render import day_with_weekday, follow_up_when
from handlers.common import keyboard
from handlers.plan_ui import (
    DATE,
    END,
    PLACE,
    TIME,
    Draft,
    Rows,
    ask_again,
    back_row,
    end_flow,
    flow,
    flow_press,
    flow_step,
    load_view,
    local_today,
    plan_press,
    scheduling,
    show,
    show_card,
    start_flow,
)
from storage import plans as plans_store
from storage.plans import PlanError

CAL_SCOPE: Final = "pf"
TIME_CHOICES: Final = tuple(dt.time(hour) for hour in (8, 9, 10, 13, 14, 15))


def date_markup(
    lang: Lang, today: dt.date, month: dt.date | None = None, extra: Rows | None = None
) -> InlineKeyboardMarkup:
    """The calendar keyboard, with the flow's extra buttons below it."""
    rows = [list(row) for row in calendar_keyboard(CAL_SCOPE, lang, today, month).inline_keyboard]
    for row in extra or []:
        rows.append([InlineKeyboardButton(label, callback_data=data) for label, data in row])
    return InlineKeyboardMarkup(rows)


def draft_when(draft: Draft) -> tuple[dt.date | None, dt.time | None]:
    """The date and time chosen so far."""
    day = dt.date.fromisoformat(draft["date"]) if draft.get("date") else None
    time = dt.time.fromisoformat(draft["time"]) if draft.get("time") else None
    return day, time


async def ask_date(
    update: Update, context: BotContext, lang: Lang, question: str, *, problem: str | None = None
) -> int:
    """The calendar and the question; ``problem`` (what was wrong) goes first."""
    draft = flow(context)
    assert draft is not None
    markup = date_markup(lang, local_today(context), extra=draft.get("extra"))
    text = f"{problem}\n\n{question}" if problem else question
    await show(update, context, text, markup, remember=False)
    draft["question"] = (question, markup)
    return DATE


# -- the ways in --------------------------------------------------------------------------------


async def change_date(update: Update, context: BotContext) -> int | None:
    """ "Change date" / "Book next follow-up": the calendar for the plan's next follow-up."""
    press = await plan_press(update, context, count=2, need="act")
    if press is None:
        return None
    _staff, lang, view, _parts = press
    query = update.callback_query
    assert query is not None
    if not view.active:
        await query.answer(t("plans.closed", lang), show_alert=True)
        return None
    await query.answer()
    # The place is offered again at the place step, so moving a meeting does not lose it.
    start_flow(
        context, mode="date", plan_id=view.id, extra=[back_row(view, lang)], old_place=view.place
    )
    return await ask_date(
        update, context, lang, t("plans.ask_new_date", lang, reference=view.reference)
    )


async def mark_held(update: Update, context: BotContext) -> int | None:
    """ "Follow-up held": recorded at once; then the next date, closing, or later."""
    press = await plan_press(update, context, count=2, need="act")
    if press is None:
        return None
    staff, lang, view, _parts = press
    query = update.callback_query
    assert query is not None
    policy, calendar = scheduling(context)
    now = context.now()
    try:
        held = await context.db.run(
            lambda session: plans_store.mark_follow_up_held(
                session, plan_id=view.id, by=staff.id, policy=policy, calendar=calendar, now=now
            )
        )
    except PlanError as exc:
        await query.answer(t(exc.key, lang), show_alert=True)
        return None
    await query.answer()
    extra: Rows = [[(t("plans.btn_later", lang), "pf:later")]]
    if view.rights.manage:
        extra.append([(t("plans.btn_close", lang), f"pln:close:{view.id}")])
    start_flow(context, mode="held", plan_id=view.id, extra=extra)
    question = t(
        "plans.held_ask_next",
        lang,
        date=format_date(held.scheduled_for, lang),
        reference=view.reference,
    )
    return await ask_date(update, context, lang, question)


# -- the date -----------------------------------------------------------------------------------


async def pick_calendar_day(update: Update, context: BotContext) -> int | None:
    """A calendar press: another month is shown, or the day is taken."""
    step = await flow_step(update, context)
    if step is None:
        return None
    _staff, lang, draft = step
    query = update.callback_query
    assert query is not None
    today = local_today(context)
    action = parse_calendar_callback(query.data, today)
    if action is None or action.scope != CAL_SCOPE:
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return None
    await query.answer()
    if action.kind == "noop":
        return None
    if action.kind == "month":
        await query.edit_message_reply_markup(
            date_markup(lang, today, action.day, draft.get("extra"))
        )
        return None
    assert action.day is not None
    return await _chose_date(update, context, lang, draft, action.day)


async def type_date(update: Update, context: BotContext) -> int | None:
    """A typed date: understood, or explained and asked again (past days too)."""
    step = await flow_step(update, context)
    if step is None:
        return None
    _staff, lang, draft = step
    assert update.effective_message is not None
    try:
        day = parse_date(update.effective_message.text or "", lang, local_today(context))
    except DateParseError as exc:
        await ask_again(update, context, t(exc.key, lang))
        return None
    return await _chose_date(update, context, lang, draft, day)


async def _chose_date(
    update: Update, context: BotContext, lang: Lang, draft: Draft, day: dt.date
) -> int:
    draft["date"] = day.isoformat()
    times = [(format_time(value), f"pf:time:{value:%H%M}") for value in TIME_CHOICES]
    rows = [times[:3], times[3:], [(t("plans.btn_no_time", lang), "pf:time:none")]]
    question = t("plans.ask_time", lang, date=_capitalised(day_with_weekday(day, lang)))
    await show(update, context, question, keyboard(rows))
    return TIME


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


async def decide_later(update: Update, context: BotContext) -> int | None:
    """ "Decide later" after a held follow-up: the card, with no date booked."""
    press = await flow_press(update, context, "pf", 1)
    if press is None:
        return None
    staff, lang, draft, _parts = press
    view = await load_view(context, draft["plan_id"], staff)
    end_flow(context)
    if view is None or not view.rights.view:
        await show(update, context, t("plans.not_found", lang))
        return END
    await show_card(update, context, view, lang, notice=t("plans.held_later", lang))
    return END


# -- the time and the place ---------------------------------------------------------------------


def _valid_time(parts: list[str]) -> bool:
    if parts[1] == "none":
        return True
    try:
        dt.time(int(parts[1][:2]), int(parts[1][2:]))
    except ValueError:
        return False
    return len(parts[1]) == 4 and parts[1].isdigit()


async def pick_time(update: Update, context: BotContext) -> int | None:
    """A time button (or "no time"): then the place."""
    press = await flow_press(update, context, "pf", 2, _valid_time)
    if press is None:
        return None
    _staff, lang, draft, parts = press
    value = parts[1]
    draft["time"] = None if value == "none" else f"{value[:2]}:{value[2:]}"
    return await _ask_place(update, context, lang)


async def type_time(update: Update, context: BotContext) -> int | None:
    """A typed time (``13:30``, ``kl 9``): then the place."""
    step = await flow_step(update, context)
    if step is None:
        return None
    _staff, lang, draft = step
    assert update.effective_message is not None
    try:
        value = parse_time(update.effective_message.text or "")
    except DateParseError as exc:
        await ask_again(update, context, t(exc.key, lang))
        return None
    draft["time"] = format_time(value)
    return await _ask_place(update, context, lang)


async def _ask_place(update: Update, context: BotContext, lang: Lang) -> int:
    rows: Rows = []
    draft = flow(context)
    old_place = draft.get("old_place") if draft is not None else None
    if old_place:
        rows.append([(t("plans.btn_keep_place", lang, place=old_place), "pf:place:keep")])
    rows.append([(t("plans.btn_skip_place", lang), "pf:place:skip")])
    await show(update, context, t("plans.ask_place", lang), keyboard(rows))
    return PLACE


async def skip_place(update: Update, context: BotContext) -> int | None:
    """No place, or (for a moved follow-up) the same place as before."""
    press = await flow_press(update, context, "pf", 2, lambda p: p[1] in ("skip", "keep"))
    if press is None:
        return None
    staff, lang, draft, parts = press
    draft["place"] = draft.get("old_place") if parts[1] == "keep" else None
    return await _finish(update, context, staff.id, lang, draft)


async def type_place(update: Update, context: BotContext) -> int | None:
    """A typed place; refused when it looks like a personnummer (nothing is kept)."""
    step = await flow_step(update, context)
    if step is None:
        return None
    staff, lang, draft = step
    assert update.effective_message is not None
    try:
        place = plans_store.check_place(update.effective_message.text)
    except PlanError as exc:
        await ask_again(update, context, t(exc.key, lang))
        return None
    draft["place"] = place
    return await _finish(update, context, staff.id, lang, draft)


async def _finish(
    update: Update, context: BotContext, staff_id: int | None, lang: Lang, draft: Draft
) -> int:
    """A new plan goes to its summary; a plan's new date is stored and its card shown."""
    if draft["mode"] == "new":
        # Imported here: the new-plan flow imports this module for its date step.
        from handlers import plan_create

        return await plan_create.show_summary(update, context, lang, draft)
    policy, calendar = scheduling(context)
    day, time = draft_when(draft)
    assert day is not None
    now = context.now()
    try:
        await context.db.run(
            lambda session: plans_store.set_next_follow_up(
                session, plan_id=draft["plan_id"], day=day, time=time, place=draft.get("place"),
                by=staff_id, policy=policy, calendar=calendar, now=now,
            )
        )  # fmt: skip
    except PlanError as exc:
        end_flow(context)
        await show(update, context, t(exc.key, lang))
        return END
    viewer = draft["plan_id"]
    view = await context.db.run(
        lambda session: plans_store.plan_view(session, plan_id=viewer, viewer_id=staff_id)
    )
    end_flow(context)
    assert view is not None
    notice = t(
        "plans.date_saved",
        lang,
        next=follow_up_when(view.next_follow_up, view.follow_up_time, view.place, lang),
    )
    await show_card(update, context, view, lang, notice=notice)
    return END
