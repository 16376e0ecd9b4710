"""Joint plans in chat: /ny_plan, /planer (my plans), /plan REF (the card) and its buttons.

Every plan flow that waits for typed text (a new plan; a new date after "change date" or
"follow-up held"; adding a participant by @username) is a state of ONE conversation, so a
person is in at most one flow at a time and starting another one replaces it
(``allow_reentry``). Plan buttons work from any message, also after a restart: the card
buttons are plain handlers, and the flow entry points (a new date, "yes, it was held", add a
participant, the follow-up's time or place) start their flow wherever they are pressed (the
reminders carry the follow-up's buttons, handlers/plans/held.py).
The button kinds are in handlers/plans/buttons.py and handlers/plans/calendar_keyboard.py.

Rights (checked on every press, see storage/plans/store.py): the responsible, the participants,
coordinators of the plan's municipality or the region, and admins see the plan and may mark
the follow-up held and book the next date; only the responsible, those coordinators and
admins change the team or close and re-open the plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Final

from sqlmodel import Session
from telegram import Update
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    filters,
)

from bot.context import BotContext, DalsbotApp
from bot.i18n import Lang, t, tn
from handlers.common import (
    STAFF_ROLES,
    CommandSpec,
    authorise,
    checked_press,
    keyboard,
    private_only,
    refuse,
    reply,
    user_lang,
)
from handlers.people.home import HomeButton
from handlers.plans import card as plan_card
from handlers.plans import create as plan_create
from handlers.plans import dates as plan_dates
from handlers.plans import edit as plan_edit
from handlers.plans import held as plan_held
from handlers.plans.buttons import (
    FollowUpButton,
    FollowUpTimeButton,
    NewPlanStepButton,
    PlanButton,
    PlanListPageButton,
    PlanPersonButton,
    PlanPickerPageButton,
    PlanTypeButton,
    TimeButton,
    UndoHeldButton,
    any_of,
    under,
)
from handlers.plans.calendar_keyboard import calendar_data
from handlers.plans.flow import END, Rows, end_flow, flow, local_today, show, show_card
from handlers.plans.presses import Pattern, button_handler, step_handlers
from handlers.plans.render import list_button, list_line
from storage.people.models import Staff
from storage.plans import store as plans_store
from storage.plans.store import PlanView

LIST_PAGE_SIZE: Final = 10

COMMANDS = [
    CommandSpec("ny_plan", "plans.commands.ny_plan", STAFF_ROLES),
    CommandSpec("planer", "plans.commands.planer", STAFF_ROLES),
    CommandSpec("plan", "plans.commands.plan", STAFF_ROLES),
]


# -- /planer and /plan REF ----------------------------------------------------------------------


async def list_my_plans(update: Update, context: BotContext) -> None:
    """/planer: my active plans by next follow-up, overdue ones marked ⚠️, each a button."""
    staff = await authorise(update, context)
    if staff is None:
        return
    await _show_list(update, context, staff, user_lang(update, context, staff), page=0, new=True)


async def _show_list(
    update: Update, context: BotContext, staff: Staff, lang: Lang, *, page: int, new: bool
) -> None:
    assert staff.id is not None
    staff_id, today = staff.id, local_today(context)
    summaries = await context.db.run(
        lambda session: plans_store.plans_for_staff(session, staff_id=staff_id, today=today)
    )
    if not summaries:
        # The home menu's "➕ New plan": the press runs /ny_plan, as typing it would.
        create = keyboard([[(t("core.home_new_plan", lang), HomeButton("new_plan").pack())]])
        await show(update, context, t("plans.list_empty", lang), create, new=new)
        return
    pages = -(-len(summaries) // LIST_PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = summaries[page * LIST_PAGE_SIZE : (page + 1) * LIST_PAGE_SIZE]
    lines = [tn("plans.list_title", len(summaries), lang), ""]
    lines += [list_line(summary, lang) for summary in shown]
    rows: Rows = [
        [(list_button(summary, lang), PlanButton("card", summary.id).pack())] for summary in shown
    ]
    if pages > 1:
        lines += ["", t("plans.list_more", lang, page=page + 1, pages=pages)]
        nav = []
        if page > 0:
            nav.append((t("core.previous_page", lang), PlanListPageButton("list", page - 1).pack()))
        if page < pages - 1:
            nav.append((t("core.next_page", lang), PlanListPageButton("list", page + 1).pack()))
        rows.append(nav)
    await show(update, context, "\n".join(lines), keyboard(rows), new=new)


async def page_my_plans(update: Update, context: BotContext) -> None:
    """◀/▶ in /planer."""
    press = await checked_press(update, context, PlanListPageButton)
    if press is None:
        return
    await press.query.answer()
    await _show_list(update, context, press.staff, press.lang, page=press.data.page, new=False)


async def show_plan(update: Update, context: BotContext) -> None:
    """/plan REF: the plan's card, if this person may see it (else the same "not found")."""
    staff = await authorise(update, context)
    if staff is None:
        return
    lang = user_lang(update, context, staff)
    if not context.args:
        await reply(update, t("plans.plan_usage", lang))
        return
    reference, viewer = " ".join(context.args), staff.id

    def find(session: Session) -> PlanView | None:
        plan = plans_store.get_plan_by_reference(session, reference=reference)
        if plan is None or plan.id is None:
            return None
        return plans_store.plan_view(session, plan_id=plan.id, viewer_id=viewer)

    view = await context.db.run(find)
    # A plan the person may not see is answered like one that does not exist.
    if view is None or not view.rights.view:
        await reply(update, t("plans.plan_unknown", lang))
        return
    await show_card(update, context, view, lang, new=True)


# -- buttons ------------------------------------------------------------------------------------

OnPress = Callable[[Update, BotContext], Awaitable[object]]

# Card buttons that need no typed answer: which data → handler (the data is checked there).
_CARD_BUTTONS: tuple[tuple[Pattern, OnPress], ...] = (
    (PlanButton.matching(action="card"), plan_card.open_card),
    (PlanButton.matching(action="more"), plan_card.open_more),
    (FollowUpButton.matching(action="held"), plan_held.ask_held),
    (FollowUpButton.matching(action="early"), plan_held.ask_held),
    (UndoHeldButton.matching(), plan_held.undo_held),
    (PlanButton.matching(action="resp"), plan_edit.pick_responsible),
    (PlanPickerPageButton.matching(action="resppg"), plan_edit.page_responsible),
    (PlanPersonButton.matching(action="setresp"), plan_edit.set_responsible),
    (PlanButton.matching(action="type"), plan_edit.pick_type),
    (PlanTypeButton.matching(), plan_edit.set_type),
    (FollowUpTimeButton.matching(), plan_edit.set_time),
    (FollowUpButton.matching(action="noplace"), plan_edit.set_no_place),
    (PlanListPageButton.matching(), page_my_plans),
    (PlanButton.matching(action="rml"), plan_card.ask_remove_participant),
    (PlanPersonButton.matching(action="rmp"), plan_card.remove_participant),
    (PlanButton.matching(action="close"), plan_card.ask_close),
    (PlanButton.matching(action="closeok"), plan_card.change_status),
    (PlanButton.matching(action="reopen"), plan_card.change_status),
    (PlanButton.matching(action="ics"), plan_card.send_calendar_file),
    (PlanPersonButton.matching(action="addpk"), plan_card.add_picked),
    (PlanPickerPageButton.matching(action="addpg"), plan_card.page_add_picker),
)
# Every plan button, well-formed or not: what no handler above takes is refused as stale.
_PLAN_DATA = under(PlanButton.PREFIX)
# The flow's own buttons (/ny_plan, the time and place, the calendar), well-formed or not.
_FLOW_DATA = any_of(
    under(NewPlanStepButton.PREFIX), under(TimeButton.PREFIX), calendar_data(plan_dates.CAL_SCOPE)
)


async def press_plan_button(update: Update, context: BotContext) -> None:
    """Any card button (``pln:<action>:...``) outside a flow."""
    query = update.callback_query
    assert query is not None
    action = next((press for matches, press in _CARD_BUTTONS if matches(query.data)), None)
    if action is None:
        await refuse(update, t("core.stale_button", user_lang(update, context)))
        return
    await action(update, context)


async def press_plan_button_in_flow(update: Update, context: BotContext) -> int:
    """A card button during a flow (the card, "close" after a held follow-up): the flow ends."""
    end_flow(context)
    await press_plan_button(update, context)
    return END


async def press_stale_flow_button(update: Update, context: BotContext) -> None:
    """A button of a flow that is over (or of another step): said so."""
    await refuse(update, t("core.stale_button", user_lang(update, context)))


# -- leaving a flow -----------------------------------------------------------------------------


async def cancel_flow(update: Update, context: BotContext) -> int:
    """/cancel: the draft is dropped (a follow-up already marked held stays recorded)."""
    draft = flow(context)
    held = draft is not None and draft.mode == "held"
    end_flow(context)
    lang = user_lang(update, context)
    await reply(update, t("plans.held_later" if held else "core.cancelled", lang))
    return END


async def list_instead(update: Update, context: BotContext) -> int:
    """/planer during a flow: the flow ends, the list is shown."""
    end_flow(context)
    await list_my_plans(update, context)
    return END


async def plan_instead(update: Update, context: BotContext) -> int:
    """/plan REF during a flow: the flow ends, the card is shown."""
    end_flow(context)
    await show_plan(update, context)
    return END


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The plan handlers, in order: groups refused, the flows, the commands, the buttons."""
    private = filters.ChatType.PRIVATE
    flows: ConversationHandler[BotContext] = ConversationHandler(
        entry_points=[
            CommandHandler("ny_plan", plan_create.start_new_plan, private),
            button_handler(plan_dates.change_date, PlanButton.matching(action="date")),
            button_handler(plan_held.change_follow_up_date, FollowUpButton.matching(action="date")),
            button_handler(plan_held.record_held, FollowUpButton.matching(action="heldok")),
            button_handler(plan_card.start_add_participant, PlanButton.matching(action="addp")),
            button_handler(plan_edit.ask_time, FollowUpButton.matching(action="time")),
            button_handler(plan_edit.ask_place, FollowUpButton.matching(action="place")),
        ],
        states=step_handlers(plan_create.STEPS, plan_dates.STEPS, plan_card.STEPS, plan_edit.STEPS),
        fallbacks=[
            CommandHandler("cancel", cancel_flow),
            CommandHandler("planer", list_instead),
            CommandHandler("plan", plan_instead),
            button_handler(press_plan_button_in_flow, _PLAN_DATA),
            # Our own flow buttons pressed in the wrong step; other features' pass by.
            button_handler(press_stale_flow_button, _FLOW_DATA),
        ],
        allow_reentry=True,
        name="plans",
        persistent=True,
    )
    return [
        CommandHandler(["ny_plan", "planer", "plan"], private_only, ~private),
        flows,
        CommandHandler("planer", list_my_plans, private),
        CommandHandler("plan", show_plan, private),
        button_handler(press_plan_button, _PLAN_DATA),
        button_handler(press_stale_flow_button, _FLOW_DATA),
    ]


# The daily deletion of closed plans past their retention (DALSBOT_PLAN_RETENTION_MONTHS).
RETENTION_TIME: Final = dt.time(3, 40)


async def purge_closed_plans(context: BotContext) -> None:
    """Daily job: delete plans closed longer ago than the retention period."""
    months, now = context.settings.plan_retention_months, context.now()
    await context.db.run(
        lambda session: plans_store.purge_closed_plans(session, months=months, now=now)
    )


def register(app: DalsbotApp) -> None:
    """Schedule the daily retention job."""
    if app.job_queue is not None:
        app.job_queue.run_daily(
            purge_closed_plans,
            time=RETENTION_TIME.replace(tzinfo=app.bot_data.settings.tz),
            name="plans:retention",
        )
