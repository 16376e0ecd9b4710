"""Changing a plan after it was made, from the card's "More ▾": the responsible, the type,
and the next follow-up's time and place (its date: handlers/plans/held.py).

The same rights as everywhere on the card (storage/plans/store.py): the team may change the
follow-up's time and place; the responsible, the municipality's coordinators and admins the
responsible and the type. Each change is checked again in the database when it is made and
tells the people it concerns (handlers/plans/notices.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal

from telegram import Update

from bot.context import BotContext
from bot.dates import parse_time
from bot.i18n import Lang, t
from handlers.common import keyboard
from handlers.plans import notices
from handlers.plans.buttons import (
    PLAN_TYPE_NAMES,
    FollowUpButton,
    FollowUpTimeButton,
    PlanButton,
    PlanPersonButton,
    PlanPickerPageButton,
    PlanTypeButton,
    TimeButton,
)
from handlers.plans.flow import (
    END,
    PlanDraft,
    Rows,
    back_row,
    end_flow,
    people_rows,
    show,
    show_card,
    start_flow,
    time_past,
)
from handlers.plans.held import about_current
from handlers.plans.presses import (
    TEXT,
    PlanPress,
    Step,
    StepTable,
    change_pressed,
    load_view,
    on_plan_button,
    on_text,
    run_change,
)
from handlers.plans.render import day_with_weekday, escape, follow_up_when, plan_type_label
from storage.plans import store as plans_store
from storage.plans.store import PlanError, PlanView

# The conversation's states for typed edits (beside handlers/plans/flow.py's).
EDIT_TIME, EDIT_PLACE = 40, 41
TIME_CHOICES: Final = ("0800", "0900", "1000", "1300", "1400", "1500")


async def _changed_card(
    update: Update, context: BotContext, press: PlanPress[Any], notice: str
) -> None:
    view = await load_view(context, press.view.id, press.staff)
    assert view is not None
    await show_card(update, context, view, press.lang, notice=notice)


# -- the responsible ----------------------------------------------------------------------------


async def _responsible_picker(
    update: Update, context: BotContext, view: PlanView, lang: Lang, page: int
) -> None:
    people = await context.db.run(
        lambda session: plans_store.staff_to_pick(
            session, municipality=view.municipality, exclude={view.responsible.id}
        )
    )
    rows = people_rows(
        people,
        page,
        lang,
        data=lambda p: PlanPersonButton("setresp", view.id, p.id).pack(),
        page_data=lambda n: PlanPickerPageButton("resppg", view.id, n).pack(),
    )
    rows.append(back_row(view, lang))
    await show(update, context, t("plans.pick_responsible", lang, reference=view.reference),
               keyboard(rows))  # fmt: skip


@on_plan_button(PlanButton, need="manage", active=True)
async def pick_responsible(
    update: Update, context: BotContext, press: PlanPress[PlanButton]
) -> None:
    """ "Change responsible": staff of the plan's municipality and the region."""
    await _responsible_picker(update, context, press.view, press.lang, 0)


@on_plan_button(PlanPickerPageButton, need="manage", active=True)
async def page_responsible(
    update: Update, context: BotContext, press: PlanPress[PlanPickerPageButton]
) -> None:
    """◀/▶ among the people who may be responsible."""
    await _responsible_picker(update, context, press.view, press.lang, press.data.page)


@on_plan_button(PlanPersonButton, need="manage", active=True, answer=False)
async def set_responsible(
    update: Update, context: BotContext, press: PlanPress[PlanPersonButton]
) -> None:
    """A name is tapped: they are responsible, the one before stays in the team; both told."""
    moved = await change_pressed(
        context, press, plans_store.change_responsible, staff_id=press.data.staff_id
    )
    if moved is None:  # refused, and said why
        return
    view = await load_view(context, press.view.id, press.staff)
    assert view is not None
    notice = t("plans.responsible_changed", press.lang, name=escape(view.responsible.name))
    await show_card(update, context, view, press.lang, notice=notice)
    if moved:
        await notices.tell_responsible(
            context, view.id, press.staff.id, moved.before, moved.after, view.responsible.name
        )


# -- the type -----------------------------------------------------------------------------------


@on_plan_button(PlanButton, need="manage", active=True)
async def pick_type(update: Update, context: BotContext, press: PlanPress[PlanButton]) -> None:
    """ "Change type": the three kinds of plan."""
    view, lang = press.view, press.lang
    rows: Rows = [
        [(plan_type_label(name, lang), PlanTypeButton("settype", view.id, name).pack())]
        for name in PLAN_TYPE_NAMES
    ]
    rows.append(back_row(view, lang))
    await show(update, context, t("plans.new_pick_type", lang, reference=view.reference),
               keyboard(rows))  # fmt: skip


@on_plan_button(PlanTypeButton, need="manage", active=True, answer=False)
async def set_type(update: Update, context: BotContext, press: PlanPress[PlanTypeButton]) -> None:
    """A type is tapped: the plan is of that type; the team is told."""
    changed = await change_pressed(
        context, press, plans_store.set_plan_type, plan_type=press.data.plan_type
    )
    if changed is None:
        return
    label = plan_type_label(press.data.plan_type, press.lang)
    key = "plans.type_changed" if changed else "plans.unchanged"
    notice = t(key, press.lang, plan_type=escape(label))
    await _changed_card(update, context, press, notice)
    if changed:
        await notices.tell_team(context, press.view.id, press.staff.id, "plans.notice_type_changed")


# -- the follow-up's time and place -------------------------------------------------------------


async def _start_follow_up_edit(
    context: BotContext, press: PlanPress[FollowUpButton], mode: Literal["time", "place"]
) -> dt.date | None:
    """The follow-up the press is about, when it is still the plan's next one (else the
    presser was told): the press is answered and the edit's flow started."""
    day = await about_current(press)
    if day is None:
        return None
    await press.query.answer()
    start_flow(context, PlanDraft(mode=mode, plan_id=press.view.id, date=day.isoformat()))
    return day


@on_plan_button(FollowUpButton, need="act", active=True, answer=False)
async def ask_time(
    update: Update, context: BotContext, press: PlanPress[FollowUpButton]
) -> int | None:
    """ "Change time": common times as buttons, "no time", or a typed time."""
    day = await _start_follow_up_edit(context, press, "time")
    if day is None:
        return None
    view, lang = press.view, press.lang
    stamp = f"{day:%Y%m%d}"
    times = [
        (f"{at[:2]}:{at[2:]}", FollowUpTimeButton("settime", view.id, stamp, at).pack())
        for at in TIME_CHOICES
        if not time_past(context, day, dt.time(int(at[:2]), int(at[2:])))  # today: ahead only
    ]
    none = FollowUpTimeButton("settime", view.id, stamp, TimeButton.of(None).at).pack()
    rows: Rows = [row for row in (times[:3], times[3:]) if row]
    rows.append([(t("plans.btn_no_time", lang), none)])
    rows.append(back_row(view, lang))
    question = t("plans.ask_edit_time", lang, date=day_with_weekday(day, lang))
    await show(update, context, question, keyboard(rows))
    return EDIT_TIME


@on_plan_button(FollowUpButton, need="act", active=True, answer=False)
async def ask_place(
    update: Update, context: BotContext, press: PlanPress[FollowUpButton]
) -> int | None:
    """ "Change place": typed (through the personal-data guard), or "no place"."""
    day = await _start_follow_up_edit(context, press, "place")
    if day is None:
        return None
    view, lang = press.view, press.lang
    no_place = FollowUpButton.about("noplace", view.id, day).pack()
    rows: Rows = [[(t("plans.btn_no_place", lang), no_place)], back_row(view, lang)]
    question = t("plans.ask_edit_place", lang, date=day_with_weekday(day, lang))
    await show(update, context, question, keyboard(rows))
    return EDIT_PLACE


async def _store_follow_up(
    update: Update, context: BotContext, who: Step, plan_id: int, day: dt.date, **change: object
) -> None:
    """Store the follow-up's new time or place (a refusal raises ``PlanError``), end the
    flow, show the card and tell the team."""
    staff, lang = who.staff, who.lang
    changed = await run_change(
        context, plans_store.change_follow_up, plan_id=plan_id, day=day, by=staff.id, **change
    )
    end_flow(context)
    view = await load_view(context, plan_id, staff)
    assert view is not None
    when = follow_up_when(view.next_follow_up, view.follow_up_time, view.place, lang)
    key = "plans.follow_up_changed" if changed else "plans.unchanged"
    await show_card(update, context, view, lang, notice=t(key, lang, next=escape(when)))
    if changed:
        await notices.tell_team(context, plan_id, staff.id, "plans.notice_follow_up_changed")


async def _store_pressed(
    update: Update, context: BotContext, press: PlanPress[Any], day: dt.date, **change: object
) -> None:
    """:func:`_store_follow_up` for a button: a refusal is an alert."""
    try:
        await _store_follow_up(
            update, context, Step(press.staff, press.lang, PlanDraft()), press.view.id, day,
            **change,
        )  # fmt: skip
    except PlanError as exc:
        await press.refuse(exc.key)
        return
    await press.query.answer()


@on_plan_button(FollowUpTimeButton, need="act", active=True, answer=False)
async def set_time(
    update: Update, context: BotContext, press: PlanPress[FollowUpTimeButton]
) -> None:
    """A time button (or "no time"): the follow-up's time is changed."""
    data = press.data
    day = FollowUpButton("time", data.plan_id, data.day).follow_up
    chosen = TimeButton("time", data.at)
    if day is None or not chosen.valid:
        await press.refuse("core.stale_button")
        return
    time = dt.time.fromisoformat(chosen.chosen) if chosen.chosen else None
    await _store_pressed(update, context, press, day, time=time, fields={"time"})


@on_plan_button(FollowUpButton, need="act", active=True, answer=False)
async def set_no_place(
    update: Update, context: BotContext, press: PlanPress[FollowUpButton]
) -> None:
    """ "No place": the follow-up's place is cleared."""
    day = press.data.follow_up
    if day is None:
        await press.refuse("core.stale_button")
        return
    await _store_pressed(update, context, press, day, place=None, fields={"place"})


@on_text
async def type_time(update: Update, context: BotContext, step: Step, text: str) -> int:
    """A typed time (``13:30``, ``kl 9``) for the follow-up."""
    time = parse_time(text)
    day = dt.date.fromisoformat(step.draft.date or "")
    await _store_follow_up(
        update, context, step, step.draft.plan_id, day, time=time, fields={"time"}
    )
    return END


@on_text
async def type_place(update: Update, context: BotContext, step: Step, text: str) -> int:
    """A typed place (refused when it looks like a personnummer; nothing is kept)."""
    day = dt.date.fromisoformat(step.draft.date or "")
    await _store_follow_up(
        update, context, step, step.draft.plan_id, day, place=text, fields={"place"}
    )
    return END


# The conversation's steps of typed edits (see handlers/plans/menu.py); their buttons are
# plan buttons, taken wherever they are pressed.
STEPS: StepTable = {
    EDIT_TIME: [(type_time, TEXT)],
    EDIT_PLACE: [(type_place, TEXT)],
}
