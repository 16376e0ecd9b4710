"""A follow-up's own buttons, on a reminder or the card: "held" (confirmed, then undo for a
few minutes), "it was held earlier" and "new date".

Every one of them carries the day of the follow-up it was about
(:class:`handlers.plans.buttons.FollowUpButton`) and is refused with both dates when the
plan's next follow-up is another one, so "held" on an old reminder can never record a later
follow-up. "Held" is offered from the follow-up's day on (Europe/Stockholm); before that only
behind "More ▾ → it was held earlier". Confirming records it and asks for the next date, with
an undo button that restores the follow-up and its pending reminders exactly
(storage.plans.store.undo_follow_up_held).
"""

from __future__ import annotations

import datetime as dt

from telegram import Update

from bot.context import BotContext
from bot.i18n import format_date, format_date_short, t
from handlers.common import keyboard
from handlers.plans import dates as plan_dates
from handlers.plans import notices
from handlers.plans.buttons import FollowUpButton, LaterButton, PlanButton, UndoHeldButton
from handlers.plans.flow import (
    UNDO_FOR,
    PlanDraft,
    Rows,
    back_row,
    local_today,
    show,
    show_card,
    start_flow,
)
from handlers.plans.presses import PlanPress, change_pressed, load_view, on_plan_button
from handlers.plans.render import day_with_weekday, escape
from storage.plans import store as plans_store


async def about_current(press: PlanPress[FollowUpButton]) -> dt.date | None:
    """The follow-up the button was about, while it is still the plan's next one; else the
    presser is told which it was and which is next (an alert), and None."""
    day, lang = press.data.follow_up, press.lang
    if day is None:
        await press.refuse("core.stale_button")
        return None
    current = press.view.next_follow_up if press.view.active else None
    if current == day:
        return day
    was = format_date(day, lang)
    if current is None:
        await press.refuse("plans.follow_up_was_none", was=was)
    else:
        await press.refuse("plans.follow_up_was", was=was, next=format_date(current, lang))
    return None


@on_plan_button(FollowUpButton, need="act", active=True, answer=False)
async def ask_held(update: Update, context: BotContext, press: PlanPress[FollowUpButton]) -> None:
    """ "✅ Held" (from the follow-up's day on) or "it was held earlier": asks to confirm,
    saying that its reminders stop."""
    day = await about_current(press)
    if day is None:
        return
    view, lang = press.view, press.lang
    early = day > local_today(context)
    if early and press.data.action == "held":
        await press.refuse("plans.held_too_early", date=format_date(day, lang))
        return
    await press.query.answer()
    key = "plans.held_confirm_early" if early else "plans.held_confirm"
    text = t(
        key,
        lang,
        date=escape(day_with_weekday(day, lang)),
        reference=escape(view.reference),
        minutes=int(UNDO_FOR.total_seconds() // 60),
    )
    rows = [
        [(t("plans.btn_held_yes", lang), FollowUpButton.about("heldok", view.id, day).pack())],
        back_row(view, lang),
    ]
    await show(update, context, text, keyboard(rows), html=True)


@on_plan_button(FollowUpButton, need="act", active=True, answer=False)
async def record_held(
    update: Update, context: BotContext, press: PlanPress[FollowUpButton]
) -> int | None:
    """ "Yes, it was held": recorded (checked again: the same follow-up, the right to act);
    then the next date, "decide later", closing, or undo."""
    day = await about_current(press)
    if day is None:
        return None
    view, lang = press.view, press.lang
    held = await change_pressed(context, press, plans_store.mark_follow_up_held, day=day)
    if held is None or held.id is None:
        return None
    extra: Rows = [[(t("plans.btn_later", lang), LaterButton("later").pack())]]
    if view.rights.manage:
        extra.append([(t("plans.btn_close", lang), PlanButton("close", view.id).pack())])
    extra.append([(t("plans.btn_undo", lang), UndoHeldButton("undo", view.id, held.id).pack())])
    start_flow(context, PlanDraft(mode="held", plan_id=view.id, extra=extra))
    if held.held_on < day:  # held before the booked day: recorded as held today
        question = t(
            "plans.held_early_ask_next", lang, booked=_day_month(day, lang),
            today=_day_month(held.held_on, lang), reference=view.reference,
        )  # fmt: skip
    else:
        question = t(
            "plans.held_ask_next", lang, date=format_date(day, lang), reference=view.reference
        )
    return await plan_dates.ask_date(update, context, lang, question)


def _day_month(day: dt.date, lang: str) -> str:
    """``17 december`` / ``17 December`` (the year is the current one in these lines)."""
    full = format_date(day, lang)
    return full.rsplit(" ", 1)[0] if full.endswith(str(day.year)) else full


@on_plan_button(UndoHeldButton, need="act", active=True, answer=False)
async def undo_held(update: Update, context: BotContext, press: PlanPress[UndoHeldButton]) -> None:
    """ "↩ Undo" within :data:`UNDO_FOR` (offered on the card for that long, whatever was
    tapped since): the follow-up is booked again with its reminders.

    When a next date was booked after "held", undo replaces that booking with the restored
    follow-up (its reminders are cancelled, storage.plans.store.undo_follow_up_held), the
    card says which date was removed and the team, who were told of the new date, are told
    the follow-up changed back."""
    booked = press.view.next_follow_up
    undone = await change_pressed(
        context, press, plans_store.undo_follow_up_held, held_id=press.data.held_id,
        within=UNDO_FOR,
    )  # fmt: skip
    if undone is None:
        return
    fresh = await load_view(context, press.view.id, press.staff)
    assert fresh is not None
    lang = press.lang
    notice = t("plans.undone", lang, date=format_date(undone.scheduled_for, lang))
    if booked is not None:
        notice += "\n" + t("plans.undone_booking", lang, date=format_date_short(booked, lang))
    await show_card(update, context, fresh, lang, notice=notice)
    if booked is not None:
        await notices.tell_team(context, fresh.id, press.staff.id, "plans.notice_follow_up_changed")


@on_plan_button(FollowUpButton, need="act", active=True, answer=False)
async def change_follow_up_date(
    update: Update, context: BotContext, press: PlanPress[FollowUpButton]
) -> int | None:
    """ "📅 New date" on a reminder or the card: the calendar, if the button's follow-up is
    still the plan's next one."""
    if await about_current(press) is None:
        return None
    await press.query.answer()
    view, lang = press.view, press.lang
    # The place is offered again at the place step, so moving a meeting does not lose it.
    draft = PlanDraft(mode="date", plan_id=view.id, extra=[back_row(view, lang)])
    draft.old_place = view.place
    start_flow(context, draft)
    question = t("plans.ask_new_date", lang, reference=view.reference)
    return await plan_dates.ask_date(update, context, lang, question)
