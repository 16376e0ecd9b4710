"""A follow-up's date, time and place, chosen tap first or typed.

Three ways in: the first follow-up of /ny_plan, "change date" (``pln:date:<id>``) and
"follow-up held" (``pln:held:<id>``, which records the follow-up and then asks for the next
date, offers to close the plan or to decide later). The last two work from any message
(the card and the reminders). The date comes from the calendar keyboard or typed Swedish or
English forms (bot.dates); past days are refused. Then the time (buttons for common times,
typed ``13:30``, or none) and the place (typed, through the personal-data guard, or skipped;
a new plan offers the person's last place, a moved follow-up its own place).

The calendar marks weekends and holidays (a legend line under the question says how) and the
time question names a holiday that was picked. The time and place steps have "◀ Back" (and
the date step of /ny_plan back to the team); a typed date or time that cannot be used is
answered by one line under the question, in the same message.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.dates import parse_date, parse_time
from bot.i18n import Lang, format_time, t
from handlers.common import keyboard
from handlers.plans import notices
from handlers.plans.buttons import (
    LaterButton,
    NewPlanBackButton,
    PlaceButton,
    PlanButton,
    TimeButton,
)
from handlers.plans.calendar_keyboard import (
    calendar_keyboard,
    calendar_pattern,
    holiday_name,
    parse_calendar_callback,
)
from handlers.plans.flow import (
    DATE,
    END,
    PLACE,
    TIME,
    PlanDraft,
    Rows,
    back_button,
    back_row,
    chosen_label,
    end_flow,
    flow,
    local_today,
    show,
    show_card,
    show_question,
    start_flow,
    time_past,
)
from handlers.plans.participants import ask_participants
from handlers.plans.presses import (
    TEXT,
    FlowPress,
    PlanPress,
    Step,
    StepTable,
    Unusable,
    flow_step,
    load_view,
    on_flow_button,
    on_plan_button,
    on_text,
    run_change,
)
from handlers.plans.render import day_with_weekday, escape, follow_up_when
from handlers.plans.summary import show_summary
from storage.people import store as staff_store
from storage.plans import store as plans_store
from storage.plans import suggestions
from storage.plans.store import PlanError

CAL_SCOPE: Final = "pf"
TIME_CHOICES: Final = tuple(dt.time(hour) for hour in (8, 9, 10, 13, 14, 15))


def date_markup(
    lang: Lang,
    today: dt.date,
    month: dt.date | None = None,
    extra: Rows | None = None,
    chosen: dt.date | None = None,
) -> InlineKeyboardMarkup:
    """The calendar keyboard (``chosen`` marked), with the flow's extra buttons below it."""
    calendar = calendar_keyboard(CAL_SCOPE, lang, today, month, chosen=chosen)
    rows = [list(row) for row in calendar.inline_keyboard]
    for row in extra or []:
        rows.append([InlineKeyboardButton(label, callback_data=data) for label, data in row])
    return InlineKeyboardMarkup(rows)


async def ask_date(
    update: Update, context: BotContext, lang: Lang, question: str, *, problem: str | None = None
) -> int:
    """The calendar and the question (with the calendar's legend); ``problem`` (what was
    wrong) on a line under it. The month of a day chosen before is shown, that day marked."""
    draft = flow(context)
    assert draft is not None
    draft.date_question = question
    chosen = draft.when()[0]
    markup = date_markup(lang, local_today(context), chosen, draft.extra, chosen)
    text = f"{question}\n{t('plan_wizard.calendar_legend', lang)}"
    await show_question(update, context, text, markup, problem=problem)
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
        markup = date_markup(lang, today, action.day, draft.extra, draft.when()[0])
        await query.edit_message_reply_markup(markup)
        if draft.question is not None:  # a problem line later keeps this month
            draft.question = (draft.question[0], markup.to_dict())
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
    if draft.date != day.isoformat():
        draft.date, draft.time = day.isoformat(), None
    return await _ask_time(update, context, lang, draft)


async def _ask_time(
    update: Update,
    context: BotContext,
    lang: Lang,
    draft: PlanDraft,
    *,
    problem: str | None = None,
) -> int:
    """The time question for the chosen day (a holiday named), the time chosen before
    marked; today, only times still ahead are offered. ``problem`` on a line under it."""
    day = draft.when()[0]
    assert day is not None

    def button(value: dt.time | None, label: str) -> tuple[str, str]:
        data = TimeButton.of(value)
        picked = draft.time == "" if value is None else data.chosen == draft.time
        return chosen_label(label, picked, lang), data.pack()

    ahead = [value for value in TIME_CHOICES if not time_past(context, day, value)]
    times = [button(value, format_time(value)) for value in ahead]
    rows = [row for row in (times[:3], times[3:]) if row]
    rows.append([button(None, t("plans.btn_no_time", lang))])
    rows.append(back_button(lang, "date"))
    question = t("plans.ask_time", lang, date=_capitalised(day_with_weekday(day, lang)))
    holiday = holiday_name(day, lang)
    if holiday is not None:
        question += "\n" + t("plan_wizard.holiday_note", lang, name=holiday)
    await show_question(update, context, question, keyboard(rows), problem=problem)
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
    # "" is "no time" chosen (kept when going back), None not chosen yet.
    chosen = press.data.chosen
    day = press.draft.when()[0]
    if chosen and day is not None and time_past(context, day, dt.time.fromisoformat(chosen)):
        problem = t("plans.time_past", press.lang)  # shown before that time, pressed after
        return await _ask_time(update, context, press.lang, press.draft, problem=problem)
    press.draft.time = chosen or ""
    return await ask_place(update, context, press.lang)


@on_text
async def type_time(update: Update, context: BotContext, step: Step, text: str) -> int:
    """A typed time (``13:30``, ``kl 9``): then the place; a time already past today is
    refused."""
    time, day = parse_time(text), step.draft.when()[0]
    if day is not None and time_past(context, day, time):
        raise Unusable("plans.time_past")
    step.draft.time = format_time(time)
    return await ask_place(update, context, step.lang)


async def ask_place(update: Update, context: BotContext, lang: Lang) -> int:
    """The place question: a new plan offers the place chosen before (going back) or the
    person's last place; a moved follow-up its own place."""
    draft = flow(context)
    assert draft is not None
    if draft.mode == "new":
        draft.old_place = draft.place or await _last_place(update, context)
    rows: Rows = []
    if draft.old_place:
        keep = PlaceButton("place", "keep").pack()
        key = "plan_wizard.btn_last_place" if draft.mode == "new" else "plans.btn_keep_place"
        rows.append([(t(key, lang, place=draft.old_place), keep)])
    rows.append([(t("plans.btn_skip_place", lang), PlaceButton("place", "skip").pack())])
    rows.append(back_button(lang, "time"))
    await show(update, context, t("plans.ask_place", lang), keyboard(rows))
    return PLACE


async def _last_place(update: Update, context: BotContext) -> str | None:
    user = update.effective_user
    if user is None:
        return None
    telegram_id = user.id

    def find(session: Session) -> str | None:
        staff = staff_store.get_staff(session, telegram_id=telegram_id)
        if staff is None or staff.id is None:
            return None
        return suggestions.last_place(session, staff_id=staff.id)

    return await context.db.run(find)


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
        next=escape(follow_up_when(view.next_follow_up, view.follow_up_time, view.place, lang)),
    )
    await show_card(update, context, view, lang, notice=notice)
    await notices.tell_team(context, view.id, step.staff.id, "plans.notice_date_set")
    return END


# -- back ---------------------------------------------------------------------------------------


@on_flow_button(NewPlanBackButton)
async def back_to_participants(
    update: Update, context: BotContext, press: FlowPress[NewPlanBackButton]
) -> int | None:
    """ "Back" from the first follow-up's date (/ny_plan): the team, those chosen kept."""
    if press.draft.mode != "new":
        return None  # forged: only /ny_plan's calendar has this button (the press is answered)
    return await ask_participants(update, context, press, page=press.draft.page)


@on_flow_button(NewPlanBackButton)
async def back_to_date(
    update: Update, context: BotContext, press: FlowPress[NewPlanBackButton]
) -> int:
    """ "Back" from the time: the calendar again, at the chosen day's month, that day marked."""
    question = press.draft.date_question or t("plans.new_ask_date", press.lang)
    return await ask_date(update, context, press.lang, question)


@on_flow_button(NewPlanBackButton)
async def back_to_time(
    update: Update, context: BotContext, press: FlowPress[NewPlanBackButton]
) -> int:
    """ "Back" from the place: the time question again, the time chosen marked."""
    return await _ask_time(update, context, press.lang, press.draft)


# The conversation's steps of a follow-up's date, time and place (see handlers/plans/menu.py).
STEPS: StepTable = {
    DATE: [
        (pick_calendar_day, calendar_pattern(CAL_SCOPE)),
        (decide_later, LaterButton.matching()),
        (back_to_participants, NewPlanBackButton.matching(to="part")),
        (type_date, TEXT),
    ],
    TIME: [
        (pick_time, TimeButton.matching()),
        (back_to_date, NewPlanBackButton.matching(to="date")),
        (type_time, TEXT),
    ],
    PLACE: [
        (skip_place, PlaceButton.matching()),
        (back_to_time, NewPlanBackButton.matching(to="time")),
        (type_place, TEXT),
    ],
}
