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

from bot.context import BotContext
from bot.dates import parse_date, parse_time
from bot.i18n import Lang, format_date, format_time, t
from handlers.common import keyboard
from handlers.plans.buttons import LaterButton, PlaceButton, PlanButton, TimeButton
from handlers.plans.calendar_keyboard import (
    calendar_keyboard,
    calendar_pattern,
    parse_calendar_callback,
)
from handlers.plans.flow import (
    DATE,
    END,
    PLACE,
    TIME,
    PlanDraft,
    Rows,
    back_row,
    end_flow,
    flow,
    local_today,
    show,
    show_card,
    start_flow,
)
from handlers.plans.presses import (
    TEXT,
    FlowPress,
    PlanPress,
    Step,
    StepTable,
    change_pressed,
    flow_step,
    load_view,
    on_flow_button,
    on_plan_button,
    on_text,
    run_change,
)
from handlers.plans.render import day_with_weekday, follow_up_when
from handlers.plans.summary import show_summary
from storage.plans import store as plans_store
from storage.plans.store import PlanError

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


async def ask_date(
    update: Update, context: BotContext, lang: Lang, question: str, *, problem: str | None = None
) -> int:
    """The calendar and the question; ``problem`` (what was wrong) goes first."""
    draft = flow(context)
    assert draft is not None
    markup = date_markup(lang, local_today(context), extra=draft.extra)
    text = f"{problem}\n\n{question}" if problem else question
    await show(update, context, text, markup, remember=False)
    draft.question = (question, markup.to_dict() if markup else None)
    return DATE


# -- the ways in --------------------------------------------------------------------------------


@on_plan_button(PlanButton, need="act", active=True)
async def change_date(update: Update, context: BotContext, press: PlanPress[PlanButton]) -> int:
    """ "Change date" / "Book next follow-up": the calendar for the plan's next follow-up."""
    view, lang = press.view, press.lang
    # The place is offered again at the place step, so moving a meeting does not lose it.
    start_flow(
        context,
        PlanDraft(mode="date", plan_id=view.id, extra=[back_row(view, lang)], old_place=view.place),
    )
    return await ask_date(
        update, context, lang, t("plans.ask_new_date", lang, reference=view.reference)
    )


@on_plan_button(PlanButton, need="act", answer=False)
async def mark_held(
    update: Update, context: BotContext, press: PlanPress[PlanButton]
) -> int | None:
    """ "Follow-up held": recorded at once; then the next date, closing, or later."""
    view, lang = press.view, press.lang
    held = await change_pressed(context, press, plans_store.mark_follow_up_held)
    if held is None:
        return None
    extra: Rows = [[(t("plans.btn_later", lang), LaterButton("later").pack())]]
    if view.rights.manage:
        extra.append([(t("plans.btn_close", lang), PlanButton("close", view.id).pack())])
    start_flow(context, PlanDraft(mode="held", plan_id=view.id, extra=extra))
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
    lang, draft = step.lang, step.draft
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
        await query.edit_message_reply_markup(date_markup(lang, today, action.day, draft.extra))
        return None
    assert action.day is not None
    return await _chose_date(update, context, lang, draft, action.day)


@on_text
async def type_date(update: Update, context: BotContext, step: Step, text: str) -> int:
    """A typed date: understood, or explained and asked again (past days too)."""
    day = parse_date(text, step.lang, local_today(context))
    return await _chose_date(update, context, step.lang, step.draft, day)


async def _chose_date(
    update: Update, context: BotContext, lang: Lang, draft: PlanDraft, day: dt.date
) -> int:
    draft.date = day.isoformat()
    times = [(format_time(value), TimeButton.of(value).pack()) for value in TIME_CHOICES]
    rows = [times[:3], times[3:], [(t("plans.btn_no_time", lang), TimeButton.of(None).pack())]]
    question = t("plans.ask_time", lang, date=_capitalised(day_with_weekday(day, lang)))
    await show(update, context, question, keyboard(rows))
    return TIME


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


@on_flow_button(LaterButton)
async def decide_later(update: Update, context: BotContext, press: FlowPress[LaterButton]) -> int:
    """ "Decide later" after a held follow-up: the card, with no date booked."""
    view = await load_view(context, press.draft.plan_id, press.staff)
    end_flow(context)
    if view is None or not view.rights.view:
        await show(update, context, t("plans.not_found", press.lang))
        return END
    await show_card(update, context, view, press.lang, notice=t("plans.held_later", press.lang))
    return END


# -- the time and the place ---------------------------------------------------------------------


@on_flow_button(TimeButton, valid=lambda data: data.valid)
async def pick_time(update: Update, context: BotContext, press: FlowPress[TimeButton]) -> int:
    """A time button (or "no time"): then the place."""
    press.draft.time = press.data.chosen
    return await _ask_place(update, context, press.lang)


@on_text
async def type_time(update: Update, context: BotContext, step: Step, text: str) -> int:
    """A typed time (``13:30``, ``kl 9``): then the place."""
    step.draft.time = format_time(parse_time(text))
    return await _ask_place(update, context, step.lang)


async def _ask_place(update: Update, context: BotContext, lang: Lang) -> int:
    rows: Rows = []
    draft = flow(context)
    old_place = draft.old_place if draft is not None else None
    if old_place:
        keep = PlaceButton("place", "keep").pack()
        rows.append([(t("plans.btn_keep_place", lang, place=old_place), keep)])
    rows.append([(t("plans.btn_skip_place", lang), PlaceButton("place", "skip").pack())])
    await show(update, context, t("plans.ask_place", lang), keyboard(rows))
    return PLACE


@on_flow_button(PlaceButton)
async def skip_place(update: Update, context: BotContext, press: FlowPress[PlaceButton]) -> int:
    """No place, or (for a moved follow-up) the same place as before."""
    draft = press.draft
    draft.place = draft.old_place if press.data.choice == "keep" else None
    return await _finish(update, context, press)


@on_text
async def type_place(update: Update, context: BotContext, step: Step, text: str) -> int:
    """A typed place; refused when it looks like a personnummer (nothing is kept)."""
    step.draft.place = plans_store.check_place(text)
    return await _finish(update, context, step)


async def _finish(update: Update, context: BotContext, step: Step) -> int:
    """A new plan goes to its summary; a plan's new date is stored and its card shown."""
    lang, draft = step.lang, step.draft
    if draft.mode == "new":
        return await show_summary(update, context, lang, draft)
    day, time = draft.when()
    assert day is not None
    try:
        await run_change(
            context, plans_store.set_next_follow_up, plan_id=draft.plan_id, day=day, time=time,
            place=draft.place, by=step.staff.id,
        )  # fmt: skip
    except PlanError as exc:
        end_flow(context)
        await show(update, context, t(exc.key, lang))
        return END
    view = await load_view(context, draft.plan_id, step.staff)
    end_flow(context)
    assert view is not None
    notice = t(
        "plans.date_saved",
        lang,
        next=follow_up_when(view.next_follow_up, view.follow_up_time, view.place, lang),
    )
    await show_card(update, context, view, lang, notice=notice)
    return END


# The conversation's steps of a follow-up's date, time and place (see handlers/plans/menu.py).
STEPS: StepTable = {
    DATE: [
        (pick_calendar_day, calendar_pattern(CAL_SCOPE)),
        (decide_later, LaterButton.matching()),
        (type_date, TEXT),
    ],
    TIME: [(pick_time, TimeButton.matching()), (type_time, TEXT)],
    PLACE: [(skip_place, PlaceButton.matching()), (type_place, TEXT)],
}
