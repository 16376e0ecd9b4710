"""Joint plans in chat: /ny_plan, /planer (my plans), /plan REF (the card) and its buttons.

Every plan flow that waits for typed text (a new plan; a new date after "change date" or
"follow-up held"; adding a participant by @username) is a state of ONE conversation, so a
person is in at most one flow at a time and starting another one replaces it
(``allow_reentry``). Plan buttons work from any message, also after a restart: the card
buttons are plain handlers, and the flow entry points (``pln:date``, ``pln:held``,
``pln:addp``) start their flow wherever they are pressed (the reminders carry the first two).

Rights (checked on every press, see storage/plans.py): the responsible, the participants,
coordinators of the plan's municipality or the region, and admins see the plan and may mark
the follow-up held and book the next date; only the responsible, those coordinators and
admins change the team or close and re-open the plan.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlmodel import Session
from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext, DalsbotApp
from bot.i18n import Lang, t
from bot.plan_render import list_button, list_line
from handlers import plan_card, plan_create, plan_dates
from handlers.common import (
    STAFF_ROLES,
    CommandSpec,
    authorise,
    keyboard,
    private_only,
    refuse,
    reply,
    staff_press,
    user_lang,
)
from handlers.plan_ui import (
    ADD_PARTICIPANT,
    CONFIRM,
    DATE,
    END,
    MUNICIPALITY,
    PARTICIPANTS,
    PLACE,
    PLAN_TYPE,
    REFERENCE,
    RESPONSIBLE,
    TIME,
    Rows,
    end_flow,
    flow,
    local_today,
    show,
    show_card,
)
from storage import plans as plans_store
from storage.models import Staff
from storage.plans import PlanView

LIST_PAGE_SIZE: Final = 10
FLOW_TIMEOUT: Final = 30 * 60

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
        await show(update, context, t("plans.list_empty", lang), new=new)
        return
    pages = -(-len(summaries) // LIST_PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = summaries[page * LIST_PAGE_SIZE : (page + 1) * LIST_PAGE_SIZE]
    lines = [t("plans.list_title", lang, count=len(summaries)), ""]
    lines += [list_line(summary, lang) for summary in shown]
    rows: Rows = [[(list_button(summary, lang), f"pln:card:{summary.id}")] for summary in shown]
    if pages > 1:
        lines += ["", t("plans.list_more", lang, page=page + 1, pages=pages)]
        nav = []
        if page > 0:
            nav.append((t("core.previous_page", lang), f"pln:list:{page - 1}"))
        if page < pages - 1:
            nav.append((t("core.next_page", lang), f"pln:list:{page + 1}"))
        rows.append(nav)
    await show(update, context, "\n".join(lines), keyboard(rows), new=new)


async def page_my_plans(update: Update, context: BotContext) -> None:
    """◀/▶ in /planer."""
    press = await staff_press(update, context, "pln", 2, valid=lambda p: p[1].isdigit())
    if press is None:
        return
    await press.query.answer()
    await _show_list(update, context, press.staff, press.lang, page=int(press.parts[1]), new=False)


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

# Card buttons that need no typed answer: action → handler (the data is checked there).
_CARD_ACTIONS = {
    "card": plan_card.open_card,
    "list": page_my_plans,
    "rml": plan_card.ask_remove_participant,
    "rmp": plan_card.remove_participant,
    "close": plan_card.ask_close,
    "closeok": plan_card.close_plan,
    "reopen": plan_card.reopen_plan,
    "ics": plan_card.send_calendar_file,
    "addpk": plan_card.add_picked,
    "addpg": plan_card.page_add_picker,
}


async def press_plan_button(update: Update, context: BotContext) -> None:
    """Any card button (``pln:<action>:...``) outside a flow."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    action = _CARD_ACTIONS.get(parts[1]) if len(parts) > 2 else None
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
    held = draft is not None and draft.get("mode") == "held"
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


def _text(callback: object) -> MessageHandler[BotContext, object]:
    return MessageHandler(filters.TEXT & ~filters.COMMAND, callback)  # type: ignore[arg-type]


def _button(callback: object, pattern: str) -> CallbackQueryHandler[BotContext, object]:
    return CallbackQueryHandler(callback, pattern=pattern)  # type: ignore[arg-type]


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The plan handlers, in order: groups refused, the flows, the commands, the buttons."""
    private = filters.ChatType.PRIVATE
    flows: ConversationHandler[BotContext] = ConversationHandler(
        entry_points=[
            CommandHandler("ny_plan", plan_create.start_new_plan, private),
            _button(plan_dates.change_date, r"^pln:date:\d+$"),
            _button(plan_dates.mark_held, r"^pln:held:\d+$"),
            _button(plan_card.start_add_participant, r"^pln:addp:\d+$"),
        ],
        states={
            REFERENCE: [_text(plan_create.type_reference)],
            PLAN_TYPE: [
                _button(plan_create.pick_type, r"^np:type:"),
                _text(plan_create.expect_button),
            ],
            MUNICIPALITY: [
                _button(plan_create.pick_municipality, r"^np:mun:"),
                _text(plan_create.expect_button),
            ],
            RESPONSIBLE: [
                _button(plan_create.pick_responsible, r"^np:resp:"),
                _button(plan_create.page_responsible, r"^np:rpg:"),
                _text(plan_create.type_responsible),
            ],
            PARTICIPANTS: [
                _button(plan_create.toggle_participant, r"^np:part:"),
                _button(plan_create.page_participants, r"^np:ppg:"),
                _button(plan_create.participants_done, r"^np:done$"),
                _text(plan_create.type_participant),
            ],
            DATE: [
                _button(plan_dates.pick_calendar_day, rf"^cal:{plan_dates.CAL_SCOPE}:"),
                _button(plan_dates.decide_later, r"^pf:later$"),
                _text(plan_dates.type_date),
            ],
            TIME: [_button(plan_dates.pick_time, r"^pf:time:"), _text(plan_dates.type_time)],
            PLACE: [_button(plan_dates.skip_place, r"^pf:place:"), _text(plan_dates.type_place)],
            CONFIRM: [
                _button(plan_create.confirm_plan, r"^np:ok$"),
                _button(plan_create.restart_plan, r"^np:again$"),
                _text(plan_create.expect_button),
            ],
            ADD_PARTICIPANT: [
                _button(plan_card.add_picked, r"^pln:addpk:"),
                _button(plan_card.page_add_picker, r"^pln:addpg:"),
                _text(plan_card.type_add_participant),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel_flow),
            CommandHandler("planer", list_instead),
            CommandHandler("plan", plan_instead),
            _button(press_plan_button_in_flow, r"^pln:"),
            # Our own flow buttons pressed in the wrong step; other features' pass by.
            _button(press_stale_flow_button, r"^(np:|pf:|cal:pf:)"),
        ],
        allow_reentry=True,
        name="plans",
        conversation_timeout=FLOW_TIMEOUT,
    )
    return [
        CommandHandler(["ny_plan", "planer", "plan"], private_only, ~private),
        flows,
        CommandHandler("planer", list_my_plans, private),
        CommandHandler("plan", show_plan, private),
        _button(press_plan_button, r"^pln:"),
        _button(press_stale_flow_button, r"^(np:|pf:|cal:pf:)"),
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
