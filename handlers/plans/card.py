"""The plan card's buttons: open, add and remove participants, close and re-open, and the
calendar file. Each press reloads the plan and the presser's rights (handlers.plans.presses);
the date buttons live in handlers/plans/dates.py."""

from __future__ import annotations

import datetime as dt
from typing import Any, Unpack

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.context import BotContext
from bot.i18n import Lang, t
from handlers.common import keyboard, municipality_label
from handlers.plans import notices
from handlers.plans.buttons import (
    FollowUpButton,
    PlanButton,
    PlanPersonButton,
    PlanPickerPageButton,
)
from handlers.plans.flow import (
    ADD_PARTICIPANT,
    PlanDraft,
    Rows,
    back_row,
    flow,
    local_today,
    people_rows,
    show,
    show_card,
    start_flow,
)
from handlers.plans.ics import follow_up_ics
from handlers.plans.presses import (
    TEXT,
    PlanPress,
    Step,
    StepTable,
    Unusable,
    change_pressed,
    find_typed_person,
    load_view,
    on_plan_button,
    on_text,
    run_change,
)
from handlers.plans.render import card_text, escape, plan_type_label
from storage.people.models import Staff
from storage.plans import store as plans_store
from storage.plans.reminders import Scheduling
from storage.plans.store import Person, PlanView


@on_plan_button(PlanButton, need="view")
async def open_card(update: Update, context: BotContext, press: PlanPress[PlanButton]) -> None:
    """A plan in /planer or "back to the plan": its card."""
    await show_card(update, context, press.view, press.lang)


def more_rows(view: PlanView, lang: Lang, today: dt.date) -> Rows:
    """The card's secondary buttons (behind "More ▾"), only those the viewer may use."""
    rights, day, rows = view.rights, view.next_follow_up, []

    def button(key: str, data: str) -> tuple[str, str]:
        return t(key, lang), data

    if view.active and rights.act and day is not None:
        rows.append([
            button("plans.btn_time", FollowUpButton.about("time", view.id, day).pack()),
            button("plans.btn_place", FollowUpButton.about("place", view.id, day).pack()),
        ])  # fmt: skip
        if day > today:
            early = FollowUpButton.about("early", view.id, day).pack()
            rows.append([button("plans.btn_held_earlier", early)])
    if view.active and rights.manage:
        rows.append([
            button("plans.btn_responsible", PlanButton("resp", view.id).pack()),
            button("plans.btn_type", PlanButton("type", view.id).pack()),
        ])  # fmt: skip
        team = [button("plans.btn_add", PlanButton("addp", view.id).pack())]
        if view.participants:
            team.append(button("plans.btn_remove", PlanButton("rml", view.id).pack()))
        rows.append(team)
    if view.active and day is not None:
        rows.append([button("plans.btn_ics", PlanButton("ics", view.id).pack())])
    if rights.manage:
        if view.active:
            rows.append([button("plans.btn_close", PlanButton("close", view.id).pack())])
        else:
            rows.append([button("plans.btn_reopen", PlanButton("reopen", view.id).pack())])
    rows.append(back_row(view, lang))
    return rows


@on_plan_button(PlanButton, need="view")
async def open_more(update: Update, context: BotContext, press: PlanPress[PlanButton]) -> None:
    """ "More ▾": the card with its secondary buttons."""
    view, lang, today = press.view, press.lang, local_today(context)
    text = card_text(view, lang, today)
    await show(update, context, text, keyboard(more_rows(view, lang, today)), html=True)


# -- participants -------------------------------------------------------------------------------


@on_plan_button(PlanButton, need="manage", active=True)
async def start_add_participant(
    update: Update, context: BotContext, press: PlanPress[PlanButton]
) -> int:
    """ "Add participant": staff of the plan's municipality and the region, or @username."""
    start_flow(context, PlanDraft(mode="add", plan_id=press.view.id))
    text, markup = await _add_picker(context, press.view, press.lang)
    await show(update, context, text, markup)
    return ADD_PARTICIPANT


async def _add_picker(
    context: BotContext, view: PlanView, lang: Lang, page: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """Who can be added to the plan (a page of them), and the way back to the card."""
    exclude = {view.responsible.id, *(p.id for p in view.participants)}
    people = await context.db.run(
        lambda session: plans_store.staff_to_pick(
            session, municipality=view.municipality, exclude=exclude
        )
    )
    if people:
        text = t("plans.add_pick", lang, reference=view.reference)
    else:
        place = municipality_label(view.municipality, lang)
        text = t("plans.add_nobody", lang, municipality=place)
    rows = people_rows(
        people,
        page,
        lang,
        data=lambda p: PlanPersonButton("addpk", view.id, p.id).pack(),
        page_data=lambda n: PlanPickerPageButton("addpg", view.id, n).pack(),
    )
    rows.append(back_row(view, lang))
    draft = flow(context)
    if draft is not None and draft.mode == "add":
        draft.plan_id = view.id
    return text, keyboard(rows)


@on_plan_button(PlanPickerPageButton, need="manage", refused=ADD_PARTICIPANT)
async def page_add_picker(
    update: Update, context: BotContext, press: PlanPress[PlanPickerPageButton]
) -> int:
    """◀/▶ among the people who can be added."""
    text, markup = await _add_picker(context, press.view, press.lang, press.data.page)
    await show(update, context, text, markup)
    return ADD_PARTICIPANT


@on_plan_button(PlanPersonButton, need="manage", answer=False, refused=ADD_PARTICIPANT)
async def add_picked(
    update: Update, context: BotContext, press: PlanPress[PlanPersonButton]
) -> int:
    """A name is tapped: that person joins the plan (and its reminders)."""
    added = await change_pressed(context, press, _add_and_find, staff_id=press.data.staff_id)
    if added is not None:
        await _show_added(update, context, press.staff, press.lang, press.view, added)
        if added[0]:
            await notices.tell_added(context, press.view.id, press.staff.id, press.data.staff_id)
    return ADD_PARTICIPANT


@on_text
async def type_add_participant(
    update: Update, context: BotContext, step: Step, text: str
) -> int | None:
    """An @username (or user id) is typed: that person joins the plan."""
    person = await find_typed_person(context, text)
    view = await load_view(context, step.draft.plan_id, step.staff)
    if view is None or not view.rights.manage:
        raise Unusable("plans.not_allowed")
    if person is None or person.id is None:
        raise Unusable("plans.staff_not_found")
    added = await run_change(
        context, _add_and_find, plan_id=view.id, staff_id=person.id, by=step.staff.id
    )
    await _show_added(update, context, step.staff, step.lang, view, added, new=True)
    if added[0]:
        await notices.tell_added(context, view.id, step.staff.id, person.id)
    return ADD_PARTICIPANT


def _add_and_find(
    session: Session, *, plan_id: int, staff_id: int, by: int | None, **when: Unpack[Scheduling]
) -> tuple[bool, Person | None]:
    """Add the person to the plan: whether they were added (not in it already), and who."""
    added = plans_store.add_participant(session, plan_id=plan_id, staff_id=staff_id, by=by, **when)
    found = plans_store.people(session, staff_ids=[staff_id])
    return added, found[0] if found else None


async def _show_added(
    update: Update,
    context: BotContext,
    staff: Staff,
    lang: Lang,
    view: PlanView,
    added: tuple[bool, Person | None],
    *,
    new: bool = False,
) -> None:
    """The picker again, with what happened first."""
    joined, person = added
    name = person.name if person is not None else "–"
    notice = t("plans.added" if joined else "plans.already_in", lang, name=name)
    fresh = await load_view(context, view.id, staff)
    assert fresh is not None
    text, markup = await _add_picker(context, fresh, lang)
    await show(update, context, f"{notice}\n\n{text}", markup, new=new)


@on_plan_button(PlanButton, need="manage")
async def ask_remove_participant(
    update: Update, context: BotContext, press: PlanPress[PlanButton]
) -> None:
    """ "Remove participant": the team as buttons."""
    view, lang = press.view, press.lang
    rows: Rows = [
        [(f"➖ {p.name}", PlanPersonButton("rmp", view.id, p.id).pack())] for p in view.participants
    ]
    rows.append(back_row(view, lang))
    await show(
        update, context, t("plans.remove_pick", lang, reference=view.reference), keyboard(rows)
    )


@on_plan_button(PlanPersonButton, need="manage", answer=False)
async def remove_participant(
    update: Update, context: BotContext, press: PlanPress[PlanPersonButton]
) -> None:
    """A name is tapped: that person leaves the plan (their pending reminders are cancelled)."""
    person_id = press.data.staff_id
    removed = await change_pressed(
        context, press, plans_store.remove_participant, staff_id=person_id
    )
    if removed is None:
        return
    # The name as the list showed it; someone whose access was taken away meanwhile is no
    # longer among the plan's (active) participants, so they are removed without a notice.
    name = {p.id: p.name for p in press.view.participants}.get(person_id)
    notice = (
        t("plans.removed", press.lang, name=escape(name)) if removed and name is not None else None
    )
    await show_fresh_card(update, context, press, notice)
    if removed:
        await notices.tell_removed(context, press.view.id, press.staff.id, person_id)


async def show_fresh_card(
    update: Update, context: BotContext, press: PlanPress[Any], notice: str | None
) -> None:
    """The pressed plan's card as it is after a change, with ``notice`` first."""
    fresh = await load_view(context, press.view.id, press.staff)
    assert fresh is not None
    await show_card(update, context, fresh, press.lang, notice=notice)


# -- closing ------------------------------------------------------------------------------------


@on_plan_button(PlanButton, need="manage")
async def ask_close(update: Update, context: BotContext, press: PlanPress[PlanButton]) -> None:
    """ "Close plan": asks to confirm."""
    view, lang = press.view, press.lang
    if not view.active:
        await show_card(update, context, view, lang)
        return
    rows = [
        [(t("plans.btn_close_yes", lang), PlanButton("closeok", view.id).pack())],
        [(t("plans.btn_close_no", lang), PlanButton("card", view.id).pack())],
    ]
    await show(
        update, context, t("plans.close_confirm", lang, reference=view.reference), keyboard(rows)
    )


@on_plan_button(PlanButton, need="manage", answer=False)
async def change_status(update: Update, context: BotContext, press: PlanPress[PlanButton]) -> None:
    """Closing confirmed (no more follow-ups or reminders), or "re-open plan" (active again;
    the card offers to book the next follow-up): the card says so."""
    close = press.data.action == "closeok"
    change = plans_store.close_plan if close else plans_store.reopen_plan
    changed = await change_pressed(context, press, change)
    if changed is None:
        return
    notice = None
    if changed:
        notice = t("plans.closed_notice" if close else "plans.reopened_notice", press.lang)
    await show_fresh_card(update, context, press, notice)
    if changed:
        key = "plans.notice_closed" if close else "plans.notice_reopened"
        await notices.tell_team(context, press.view.id, press.staff.id, key)


# -- the calendar file --------------------------------------------------------------------------


def ics_file_name(reference: str) -> str:
    """``uppfoljning-BP-17.ics``."""
    return f"uppfoljning-{reference}.ics"


@on_plan_button(PlanButton, need="view", answer=False)
async def send_calendar_file(
    update: Update, context: BotContext, press: PlanPress[PlanButton]
) -> None:
    """ "Calendar file": the next follow-up as an .ics document, for Outlook."""
    view, lang = press.view, press.lang
    assert update.effective_chat is not None
    if not view.active or view.next_follow_up is None:
        await press.refuse("plans.no_date_for_ics")
        return
    await press.query.answer()
    # One event per follow-up (the UID); a moved date gets a higher SEQUENCE so calendars
    # update the event they already have.
    content = follow_up_ics(
        uid=f"dalsbot-plan-{view.id}-{view.held_count + 1}@backabarnet-dalsland",
        reference=view.reference,
        plan_type_label=plan_type_label(view.plan_type, lang),
        date=view.next_follow_up,
        time=view.follow_up_time,
        place=view.place,
        now=context.now(),
        tz=context.settings.tz,
        lang=lang,
        sequence=max(0, int((view.updated_at - view.created_at).total_seconds())),
    )
    await update.effective_chat.send_document(
        InputFile(content, filename=ics_file_name(view.reference), attach=True),
        caption=t("plans.ics_caption", lang, reference=view.reference),
    )


# The conversation's step of adding a participant (see handlers/plans/menu.py).
STEPS: StepTable = {
    ADD_PARTICIPANT: [
        (add_picked, PlanPersonButton.matching(action="addpk")),
        (page_add_picker, PlanPickerPageButton.matching(action="addpg")),
        (type_add_participant, TEXT),
    ],
}
