"""The plan card's buttons: open, add and remove participants, close and re-open, and the
calendar file. Each press reloads the plan and the presser's rights (handlers.plan_ui);
the date buttons live in handlers/plan_dates.py."""

from __future__ import annotations

from sqlmodel import Session
from telegram import InputFile, Update

from bot.context import BotContext
from bot.i18n import Lang, t
from bot.ics import follow_up_ics
from bot.plan_render import municipality_name, plan_type_label
from handlers.common import keyboard
from handlers.plan_ui import (
    ADD_PARTICIPANT,
    Rows,
    ask_again,
    back_row,
    flow,
    flow_step,
    is_handle,
    load_view,
    people_rows,
    person_label,
    plan_press,
    scheduling,
    show,
    show_card,
    start_flow,
)
from storage import plans as plans_store
from storage import staff as staff_store
from storage.models import Staff
from storage.plans import Person, PlanError, PlanView


async def open_card(update: Update, context: BotContext) -> None:
    """A plan in /planer or "back to the plan": its card."""
    press = await plan_press(update, context, count=2, need="view")
    if press is None:
        return
    _staff, lang, view, _parts = press
    assert update.callback_query is not None
    await update.callback_query.answer()
    await show_card(update, context, view, lang)


# -- participants -------------------------------------------------------------------------------


async def start_add_participant(update: Update, context: BotContext) -> int | None:
    """ "Add participant": staff of the plan's municipality and the region, or @username."""
    press = await plan_press(update, context, count=2, need="manage")
    if press is None:
        return None
    _staff, lang, view, _parts = press
    query = update.callback_query
    assert query is not None
    if not view.active:
        await query.answer(t("plans.closed", lang), show_alert=True)
        return None
    await query.answer()
    start_flow(context, mode="add", plan_id=view.id)
    await _show_add_picker(update, context, view, lang, page=0)
    return ADD_PARTICIPANT


async def _show_add_picker(
    update: Update,
    context: BotContext,
    view: PlanView,
    lang: Lang,
    *,
    page: int,
    notice: str | None = None,
    new: bool = False,
) -> None:
    exclude = {view.responsible.id, *(p.id for p in view.participants)}
    people = await context.db.run(
        lambda session: plans_store.staff_to_pick(
            session, municipality=view.municipality, exclude=exclude
        )
    )
    if people:
        text = t("plans.add_pick", lang, reference=view.reference)
    else:
        place = municipality_name(view.municipality, lang)
        text = t("plans.add_nobody", lang, municipality=place)
    rows = people_rows(
        people,
        page,
        item=lambda p: (person_label(p, lang), f"pln:addpk:{view.id}:{p.id}"),
        page_data=lambda n: f"pln:addpg:{view.id}:{n}",
        lang=lang,
    )
    rows.append(back_row(view, lang))
    draft = flow(context)
    if draft is not None and draft.get("mode") == "add":
        draft["plan_id"] = view.id
    await show(update, context, f"{notice}\n\n{text}" if notice else text, keyboard(rows), new=new)


async def page_add_picker(update: Update, context: BotContext) -> int:
    """◀/▶ among the people who can be added."""
    press = await plan_press(update, context, count=3, need="manage")
    if press is not None:
        _staff, lang, view, parts = press
        assert update.callback_query is not None
        await update.callback_query.answer()
        await _show_add_picker(update, context, view, lang, page=int(parts[2]))
    return ADD_PARTICIPANT


async def add_picked(update: Update, context: BotContext) -> int:
    """A name is tapped: that person joins the plan (and its reminders)."""
    press = await plan_press(update, context, count=3, need="manage")
    if press is None:
        return ADD_PARTICIPANT
    staff, lang, view, parts = press
    query = update.callback_query
    assert query is not None
    notice = await _add(context, staff, lang, view, int(parts[2]))
    if notice.startswith("!"):
        await query.answer(notice[1:], show_alert=True)
        return ADD_PARTICIPANT
    await query.answer()
    fresh = await load_view(context, view.id, staff)
    assert fresh is not None
    await _show_add_picker(update, context, fresh, lang, page=0, notice=notice)
    return ADD_PARTICIPANT


async def type_add_participant(update: Update, context: BotContext) -> int | None:
    """An @username (or user id) is typed: that person joins the plan."""
    step = await flow_step(update, context)
    if step is None:
        return None
    staff, lang, draft = step
    assert update.effective_message is not None
    handle = (update.effective_message.text or "").strip()
    if not (handle.startswith("@") or handle.isdigit()):
        await ask_again(update, context, t("plans.expected_button", lang))
        return None
    person = (
        await context.db.run(lambda session: staff_store.find_staff(session, handle=handle))
        if is_handle(handle)
        else None
    )
    view = await load_view(context, draft["plan_id"], staff)
    if view is None or not view.rights.manage:
        await ask_again(update, context, t("plans.not_allowed", lang))
        return None
    if person is None or person.id is None:
        await ask_again(update, context, t("plans.staff_not_found", lang))
        return None
    notice = await _add(context, staff, lang, view, person.id)
    if notice.startswith("!"):
        await ask_again(update, context, notice[1:])
        return None
    fresh = await load_view(context, view.id, staff)
    assert fresh is not None
    await _show_add_picker(update, context, fresh, lang, page=0, notice=notice, new=True)
    return ADD_PARTICIPANT


async def _add(
    context: BotContext, staff: Staff, lang: Lang, view: PlanView, person_id: int
) -> str:
    """Add the person; the notice to show, or ``!`` and the reason it was refused."""
    policy, calendar = scheduling(context)
    now = context.now()

    def add(session: Session) -> tuple[bool, list[Person]]:
        added = plans_store.add_participant(
            session, plan_id=view.id, staff_id=person_id, by=staff.id,
            policy=policy, calendar=calendar, now=now,
        )  # fmt: skip
        return added, plans_store.people(session, staff_ids=[person_id])

    try:
        added, found = await context.db.run(add)
    except PlanError as exc:
        return "!" + t(exc.key, lang)
    name = found[0].name if found else "–"
    return t("plans.added" if added else "plans.already_in", lang, name=name)


async def ask_remove_participant(update: Update, context: BotContext) -> None:
    """ "Remove participant": the team as buttons."""
    press = await plan_press(update, context, count=2, need="manage")
    if press is None:
        return
    _staff, lang, view, _parts = press
    assert update.callback_query is not None
    await update.callback_query.answer()
    rows: Rows = [[(f"➖ {p.name}", f"pln:rmp:{view.id}:{p.id}")] for p in view.participants]
    rows.append(back_row(view, lang))
    await show(
        update, context, t("plans.remove_pick", lang, reference=view.reference), keyboard(rows)
    )


async def remove_participant(update: Update, context: BotContext) -> None:
    """A name is tapped: that person leaves the plan (their pending reminders are cancelled)."""
    press = await plan_press(update, context, count=3, need="manage")
    if press is None:
        return
    staff, lang, view, parts = press
    query = update.callback_query
    assert query is not None
    person_id = int(parts[2])
    policy, calendar = scheduling(context)
    now = context.now()
    try:
        removed = await context.db.run(
            lambda session: plans_store.remove_participant(
                session, plan_id=view.id, staff_id=person_id, by=staff.id,
                policy=policy, calendar=calendar, now=now,
            )
        )  # fmt: skip
    except PlanError as exc:
        await query.answer(t(exc.key, lang), show_alert=True)
        return
    await query.answer()
    # The name as the list showed it; someone whose access was taken away meanwhile is no
    # longer among the plan's (active) participants, so they are removed without a notice.
    name = {p.id: p.name for p in view.participants}.get(person_id)
    notice = t("plans.removed", lang, name=name) if removed and name is not None else None
    fresh = await load_view(context, view.id, staff)
    assert fresh is not None
    await show_card(update, context, fresh, lang, notice=notice)


# -- closing ------------------------------------------------------------------------------------


async def ask_close(update: Update, context: BotContext) -> None:
    """ "Close plan": asks to confirm."""
    press = await plan_press(update, context, count=2, need="manage")
    if press is None:
        return
    _staff, lang, view, _parts = press
    assert update.callback_query is not None
    await update.callback_query.answer()
    if not view.active:
        await show_card(update, context, view, lang)
        return
    rows = [
        [(t("plans.btn_close_yes", lang), f"pln:closeok:{view.id}")],
        [(t("plans.btn_close_no", lang), f"pln:card:{view.id}")],
    ]
    await show(
        update, context, t("plans.close_confirm", lang, reference=view.reference), keyboard(rows)
    )


async def close_plan(update: Update, context: BotContext) -> None:
    """Closing confirmed: no more follow-ups or reminders; the card says so."""
    await _change_status(update, context, close=True)


async def reopen_plan(update: Update, context: BotContext) -> None:
    """ "Re-open plan": active again; the card offers to book the next follow-up."""
    await _change_status(update, context, close=False)


async def _change_status(update: Update, context: BotContext, *, close: bool) -> None:
    press = await plan_press(update, context, count=2, need="manage")
    if press is None:
        return
    staff, lang, view, _parts = press
    query = update.callback_query
    assert query is not None
    policy, calendar = scheduling(context)
    now = context.now()
    change = plans_store.close_plan if close else plans_store.reopen_plan
    try:
        changed = await context.db.run(
            lambda session: change(
                session, plan_id=view.id, by=staff.id, policy=policy, calendar=calendar, now=now
            )
        )
    except PlanError as exc:
        await query.answer(t(exc.key, lang), show_alert=True)
        return
    await query.answer()
    fresh = await load_view(context, view.id, staff)
    assert fresh is not None
    notice = None
    if changed:
        notice = t("plans.closed_notice" if close else "plans.reopened_notice", lang)
    await show_card(update, context, fresh, lang, notice=notice)


# -- the calendar file --------------------------------------------------------------------------


def ics_file_name(reference: str) -> str:
    """``uppfoljning-BP-17.ics``."""
    return f"uppfoljning-{reference}.ics"


async def send_calendar_file(update: Update, context: BotContext) -> None:
    """ "Calendar file": the next follow-up as an .ics document, for Outlook."""
    press = await plan_press(update, context, count=2, need="view")
    if press is None:
        return
    _staff, lang, view, _parts = press
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    if not view.active or view.next_follow_up is None:
        await query.answer(t("plans.no_date_for_ics", lang), show_alert=True)
        return
    await query.answer()
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
