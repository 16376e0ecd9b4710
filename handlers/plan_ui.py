"""Shared pieces of the plan handlers: the flow draft, checked button presses, the card.

The plan flows (``/ny_plan``, a new date, a held follow-up, adding a participant) keep a
draft in ``user_data["plan_flow"]`` with the id of the message whose buttons belong to the
current step (``msg``); a press on any other message of a flow is answered as stale, so an
old calendar can never set a date for the wrong plan. Plan buttons (``pln:...``) carry only
the plan id; every press reloads the plan and the presser's rights from the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Final

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.duetimes import ReminderPolicy, WorkCalendar
from bot.i18n import Lang, t
from bot.plan_render import card_text
from bot.reminder_policy import policy_from_settings
from handlers.common import (
    authorise,
    callback_parts,
    keyboard,
    parse_id,
    parse_page,
    refuse,
    staff_press,
    user_lang,
)
from storage import plans as plans_store
from storage.models import Staff
from storage.plans import Person, PlanRights, PlanView

END: Final = ConversationHandler.END
# The plan conversation's states (one conversation for every plan flow, see handlers/plans.py).
(
    REFERENCE,
    PLAN_TYPE,
    MUNICIPALITY,
    RESPONSIBLE,
    PARTICIPANTS,
    DATE,
    TIME,
    PLACE,
    CONFIRM,
    ADD_PARTICIPANT,
) = range(10)
FLOW_KEY: Final = "plan_flow"
PAGE_SIZE: Final = 8
# The ids of the last messages this feature showed a person (cards, flow steps): a press on
# one of them edits it; a press on any other message (a reminder, or after a restart)
# answers with a new message, so a reminder's text is never overwritten.
OWN_KEY: Final = "plan_messages"
OWN_KEPT: Final = 50
# Database ids are 32-bit integers and Telegram user ids fit in 52 bits: a larger number in
# callback data or typed text is refused here, before the database rejects it with an error.
MAX_TELEGRAM_ID_DIGITS: Final = 15

Draft = dict[str, Any]
Rows = list[list[tuple[str, str]]]


def scheduling(context: BotContext) -> tuple[ReminderPolicy, WorkCalendar]:
    """The reminder policy and working calendar the reminders feature set up (or our own)."""
    services = context.data.services
    policy = services.get("reminder_policy")
    if not isinstance(policy, ReminderPolicy):
        policy = services.setdefault("reminder_policy", policy_from_settings(context.settings))
    calendar = services.get("work_calendar")
    if not isinstance(calendar, WorkCalendar):
        calendar = services.setdefault("work_calendar", WorkCalendar())
    return policy, calendar


def local_today(context: BotContext) -> dt.date:
    """Today in the bot's time zone (Europe/Stockholm)."""
    return context.now().astimezone(context.settings.tz).date()


def is_handle(text: str) -> bool:
    """True for a typed ``@username`` or a plausible Telegram user id."""
    if text.startswith("@"):
        return True
    return text.isascii() and text.isdigit() and len(text) <= MAX_TELEGRAM_ID_DIGITS


# -- the flow draft -----------------------------------------------------------------------------


def flow(context: BotContext) -> Draft | None:
    """The running plan flow's draft, or None."""
    if context.user_data is None:
        return None
    draft = context.user_data.get(FLOW_KEY)
    return draft if isinstance(draft, dict) else None


def start_flow(context: BotContext, **values: Any) -> Draft:
    """A fresh draft, replacing any earlier flow."""
    assert context.user_data is not None
    draft: Draft = dict(values)
    context.user_data[FLOW_KEY] = draft
    return draft


def end_flow(context: BotContext) -> int:
    """Forget the draft; returns the conversation's END."""
    if context.user_data is not None:
        context.user_data.pop(FLOW_KEY, None)
    return END


def _own_message(context: BotContext, message: object) -> bool:
    """True for a message this feature sent or edited for this person (a card, a step)."""
    if not isinstance(message, Message) or context.user_data is None:
        return False
    return message.message_id in context.user_data.get(OWN_KEY, ())


def _remember_own(context: BotContext, message_id: int) -> None:
    if context.user_data is None:
        return
    own: list[int] = context.user_data.setdefault(OWN_KEY, [])
    if message_id not in own:
        own.append(message_id)
        del own[:-OWN_KEPT]


async def show(
    update: Update,
    context: BotContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    new: bool = False,
    remember: bool = True,
) -> None:
    """Edit the pressed plan message, or send a new one; the flow remembers which it is
    (and, with ``remember``, the question, for :func:`ask_again`)."""
    query = update.callback_query
    if not new and query is not None and _own_message(context, query.message):
        assert query.message is not None
        message_id = query.message.message_id
        try:
            await query.edit_message_text(text, reply_markup=markup)
        except BadRequest as exc:
            # A double tap asks for the same text again; Telegram refuses "not modified".
            if "not modified" not in str(exc).lower():
                raise
    else:
        chat = update.effective_chat
        assert chat is not None
        sent = await chat.send_message(text, reply_markup=markup)
        message_id = sent.message_id
    _remember_own(context, message_id)
    draft = flow(context)
    if draft is not None:
        draft["msg"] = message_id
        if remember:
            draft["question"] = (text, markup)


async def ask_again(update: Update, context: BotContext, problem: str) -> None:
    """Say what was wrong with typed text, then the current question again."""
    draft = flow(context)
    text, markup = draft["question"] if draft and "question" in draft else ("", None)
    combined = f"{problem}\n\n{text}" if text else problem
    await show(update, context, combined, markup, new=True, remember=False)


async def flow_step(update: Update, context: BotContext) -> tuple[Staff, Lang, Draft] | None:
    """The presser or typer, their language and the draft, when this belongs to the flow.

    A press on a message that is not the flow's current step is answered as stale; a press
    that belongs is not answered yet (see :func:`flow_press`).
    """
    staff = await authorise(update, context)
    if staff is None:
        end_flow(context)
        return None
    lang = user_lang(update, context, staff)
    draft = flow(context)
    query = update.callback_query
    if draft is None or (
        query is not None
        and (query.message is None or query.message.message_id != draft.get("msg"))
    ):
        await refuse(update, t("core.stale_button", lang))
        return None
    return staff, lang, draft


async def flow_press(
    update: Update,
    context: BotContext,
    prefix: str,
    count: int,
    valid: Callable[[list[str]], bool] = lambda _parts: True,
) -> tuple[Staff, Lang, Draft, list[str]] | None:
    """A checked press of a flow button ``prefix:part...``: answered, or refused as stale."""
    step = await flow_step(update, context)
    if step is None:
        return None
    staff, lang, draft = step
    query = update.callback_query
    assert query is not None
    parts = callback_parts(query.data, prefix, count)
    if parts is None or not valid(parts):
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return None
    await query.answer()
    return staff, lang, draft, parts


# -- plan buttons -------------------------------------------------------------------------------


def _plan_parts(parts: list[str]) -> bool:
    """``<action>:<plan id>[:<staff id>]``; a page-turning action ends in a page number (0 is
    the first page)."""
    if parse_id(parts[1]) is None:
        return False
    if parts[0].endswith("pg"):
        return all(parse_page(x) is not None for x in parts[2:])
    return all(parse_id(x) is not None for x in parts[2:])


async def plan_press(
    update: Update, context: BotContext, *, count: int, need: str
) -> tuple[Staff, Lang, PlanView, list[str]] | None:
    """Check a ``pln:<action>:<plan_id>[:<staff_id>]`` press against the database.

    Answers the query with an alert and returns None when the data is malformed, the plan
    is gone, or the presser lacks the right ``need`` (``view``, ``act``, ``manage``).
    """
    press = await staff_press(update, context, "pln", count, valid=_plan_parts)
    if press is None:
        return None
    query, staff, lang, parts = press.query, press.staff, press.lang, press.parts
    plan_id, viewer = int(parts[1]), staff.id
    view = await context.db.run(
        lambda session: plans_store.plan_view(session, plan_id=plan_id, viewer_id=viewer)
    )
    if view is None:
        await query.answer(t("plans.not_found", lang), show_alert=True)
        return None
    if not getattr(view.rights, need):
        await query.answer(t("plans.not_allowed", lang), show_alert=True)
        return None
    return staff, lang, view, parts


async def load_view(context: BotContext, plan_id: int, staff: Staff) -> PlanView | None:
    """The plan as ``staff`` sees it now."""
    viewer = staff.id
    return await context.db.run(
        lambda session: plans_store.plan_view(session, plan_id=plan_id, viewer_id=viewer)
    )


def card_markup(view: PlanView, lang: Lang) -> InlineKeyboardMarkup:
    """The card's buttons, only those the viewer may use."""
    rights: PlanRights = view.rights
    pid = view.id
    rows: Rows = []
    if view.active and rights.act:
        if view.next_follow_up is not None:
            rows.append(
                [(t("plans.btn_held", lang), f"pln:held:{pid}"),
                 (t("plans.btn_date", lang), f"pln:date:{pid}")]
            )  # fmt: skip
        else:
            rows.append([(t("plans.btn_book", lang), f"pln:date:{pid}")])
    if view.active and rights.manage:
        row = [(t("plans.btn_add", lang), f"pln:addp:{pid}")]
        if view.participants:
            row.append((t("plans.btn_remove", lang), f"pln:rml:{pid}"))
        rows.append(row)
    if view.active and view.next_follow_up is not None:
        rows.append([(t("plans.btn_ics", lang), f"pln:ics:{pid}")])
    if rights.manage:
        if view.active:
            rows.append([(t("plans.btn_close", lang), f"pln:close:{pid}")])
        else:
            rows.append([(t("plans.btn_reopen", lang), f"pln:reopen:{pid}")])
    return keyboard(rows)


async def show_card(
    update: Update,
    context: BotContext,
    view: PlanView,
    lang: Lang,
    *,
    notice: str | None = None,
    new: bool = False,
) -> None:
    """The plan card (edited into the pressed plan message, or sent)."""
    text = card_text(view, lang, local_today(context), notice)
    await show(update, context, text, card_markup(view, lang), new=new)


def back_row(view: PlanView, lang: Lang) -> list[tuple[str, str]]:
    """The button back to the card."""
    return [(t("plans.btn_back", lang), f"pln:card:{view.id}")]


def people_rows(
    people: Sequence[Person],
    page: int,
    *,
    item: Callable[[Person], tuple[str, str]],
    page_data: Callable[[int], str],
    lang: Lang,
) -> Rows:
    """One button per person on ``page`` (``PAGE_SIZE`` each), with ◀/▶ when needed."""
    pages = max(1, -(-len(people) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    rows: Rows = [[item(person)] for person in people[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]]
    nav = []
    if page > 0:
        nav.append((t("core.previous_page", lang), page_data(page - 1)))
    if page < pages - 1:
        nav.append((t("core.next_page", lang), page_data(page + 1)))
    if nav:
        rows.append(nav)
    return rows


def person_label(person: Person, lang: Lang) -> str:
    """``Anna Ek · Mellerud``."""
    place = (
        t("core.municipality_region", lang)
        if person.municipality == "region"
        else (person.municipality)
    )
    return f"{person.name} · {place}"
