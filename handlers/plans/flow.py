"""Shared pieces of the plan handlers: the flow draft, the messages shown, the card.

The plan flows (``/ny_plan``, a new date, a held follow-up, adding a participant) keep a
:class:`PlanDraft` in the person's state with the id of the message whose buttons belong to the
current step (``msg``); a press on any other message of a flow is answered as stale, so an
old calendar can never set a date for the wrong plan (the checks are in
handlers/plans/presses.py). Plan buttons (``pln:...``, see handlers/plans/buttons.py) carry
only ids; every press reloads the plan and the presser's rights from the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any, Final

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.i18n import Lang, t
from bot.state import flow_draft
from handlers.common import edit_or_send, keyboard, municipality_label, parse_mode, user_lang
from handlers.plans.buttons import (
    FollowUpButton,
    NewPlanBackButton,
    PlanButton,
    UndoHeldButton,
    WizardStep,
)
from handlers.plans.render import card_text
from storage.plans.store import Person, PlanRights, PlanView, time_has_passed

END: Final = ConversationHandler.END
# The plan conversation's states (one conversation for every plan flow, see handlers/plans/menu.py).
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
PAGE_SIZE: Final = 8
# The ids of the last messages this feature showed a person (cards, flow steps): a press on
# one of them edits it; a press on any other message (a reminder, or after a restart)
# answers with a new message, so a reminder's text is never overwritten.
OWN_KEPT: Final = 50
# How long "undo" stays on offer after "held" (on the card, whatever was tapped since).
UNDO_FOR: Final = dt.timedelta(minutes=10)

Rows = list[list[tuple[str, str]]]


def local_today(context: BotContext) -> dt.date:
    """Today in the bot's time zone (Europe/Stockholm)."""
    return context.now().astimezone(context.settings.tz).date()


def time_past(context: BotContext, day: dt.date, time: dt.time | None) -> bool:
    """True when ``time`` on ``day`` has already passed (Europe/Stockholm, to the minute)."""
    return time_has_passed(day, time, context.now().astimezone(context.settings.tz))


# -- the flow draft -----------------------------------------------------------------------------


@flow_draft("plan")
@dataclass
class PlanDraft:
    """A running plan flow: what ``mode`` it is and what the person chose so far."""

    mode: str = "new"  # new (/ny_plan), add (a participant), date (a new date), held
    plan_id: int = 0  # 0: no plan yet (/ny_plan)
    reference: str = ""
    plan_type: str = ""
    municipality: str = ""
    responsible: int = 0  # 0: not chosen yet
    participants: list[int] = field(default_factory=list)
    page: int = 0
    extra: Rows = field(default_factory=list)  # button rows under every date question
    confirmable: bool = False
    date: str | None = None  # ISO date
    time: str | None = None  # HH:MM
    place: str | None = None
    old_place: str | None = None
    suggested: str = ""  # the generated reference offered as a button (/ny_plan)
    resume: bool = False  # a new reference goes straight back to the summary
    date_question: str = ""  # the date step's question, to go back to it
    # The current question (text, keyboard as Telegram's JSON; HTML or not) and the message
    # showing it.
    question: tuple[str, dict[str, Any] | None] | None = None
    html: bool = False
    msg: int | None = None
    # The problem line under the current question and how often it was said in a row: a
    # repeat is numbered ("⚠️ … (2)"), so the message can always be edited in place.
    problem: str = ""
    repeats: int = 0

    def when(self) -> tuple[dt.date | None, dt.time | None]:
        """The date and time chosen so far."""
        day = dt.date.fromisoformat(self.date) if self.date else None
        time = dt.time.fromisoformat(self.time) if self.time else None
        return day, time


@flow_draft("plan_messages")
@dataclass
class PlanMessages:
    """The ids of the last messages this feature showed a person (cards, flow steps)."""

    ids: list[int] = field(default_factory=list)


def flow(context: BotContext) -> PlanDraft | None:
    """The running plan flow's draft, or None."""
    return context.state.get(PlanDraft)


def start_flow(context: BotContext, draft: PlanDraft) -> PlanDraft:
    """Start ``draft``, replacing any earlier flow."""
    context.state.put(draft)
    return draft


def end_flow(context: BotContext) -> int:
    """Forget the draft; returns the conversation's END."""
    context.state.pop(PlanDraft)
    return END


def _own_message(context: BotContext, message: object) -> bool:
    """True for a message this feature sent or edited for this person (a card, a step)."""
    own = context.state.get(PlanMessages)
    return isinstance(message, Message) and own is not None and message.message_id in own.ids


def _remember_own(context: BotContext, message_id: int) -> None:
    own = context.state.ensure(PlanMessages).ids
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
    html: bool = False,
) -> None:
    """Edit the pressed plan message, or send a new one; the flow remembers which it is
    (and, with ``remember``, the question, for :func:`ask_again`). With ``html`` the text
    is formatted (every value in it escaped)."""
    query = update.callback_query
    if not new and query is not None and _own_message(context, query.message):
        assert query.message is not None
        message_id = query.message.message_id
        await edit_or_send(update, text, markup, html=html)  # the pressed message is edited
    else:
        chat = update.effective_chat
        assert chat is not None
        sent = await chat.send_message(
            text, reply_markup=markup, parse_mode=parse_mode(html), disable_web_page_preview=True
        )
        message_id = sent.message_id
    _remember_own(context, message_id)
    draft = flow(context)
    if draft is not None:
        draft.msg = message_id
        if remember:
            draft.question = (text, markup.to_dict() if markup else None)
            draft.html = html
            draft.problem, draft.repeats = "", 0


async def show_question(
    update: Update,
    context: BotContext,
    question: str,
    markup: InlineKeyboardMarkup | None,
    *,
    problem: str | None = None,
    new: bool = False,
) -> None:
    """A step's question (see :func:`show`), with ``problem`` (what was wrong, already in
    the person's language) on one line under it; the question alone is remembered."""
    if problem is None:
        await show(update, context, question, markup, new=new)
        return
    line = t("plan_wizard.problem", user_lang(update, context), problem=problem)
    await show(update, context, f"{question}\n\n{line}", markup, new=new, remember=False)
    draft = flow(context)
    if draft is not None:
        draft.question = (question, markup.to_dict() if markup else None)
        draft.html = False
        draft.problem, draft.repeats = line, 1


def chosen_label(label: str, chosen: bool, lang: Lang) -> str:
    """A button's label, marked ✅ when it is what was chosen before (going back)."""
    return t("plan_wizard.chosen", lang, label=label) if chosen else label


def back_button(lang: Lang, to: WizardStep) -> list[tuple[str, str]]:
    """The row with the back button to the step ``to``."""
    return [(t("plan_wizard.btn_back", lang), NewPlanBackButton("back", to).pack())]


async def ask_again(update: Update, context: BotContext, problem: str) -> None:
    """Say what was wrong in one line under the current question: the message showing the
    question is edited (its buttons, a calendar say, stay where they are). The same problem
    again is numbered (``⚠️ … (2)``), so the edit always changes the message and a second
    calendar is never sent. Only when that message cannot be edited (gone, too old) is the
    question sent again, so the person always sees an answer."""
    draft = flow(context)
    text, raw = draft.question if draft and draft.question else ("", None)
    html = draft.html if draft is not None else False
    markup = InlineKeyboardMarkup.de_json(raw, None) if raw else None
    line = t("plan_wizard.problem", user_lang(update, context), problem=problem)
    if draft is not None:
        draft.repeats = draft.repeats + 1 if draft.problem == line else 1
        draft.problem = line
        if draft.repeats > 1:
            line = f"{line} ({draft.repeats})"
    combined = f"{text}\n\n{escape(line) if html else line}" if text else line
    chat = update.effective_chat
    if draft is not None and draft.msg is not None and chat is not None and text:
        try:
            await context.bot.edit_message_text(
                combined,
                chat_id=chat.id,
                message_id=draft.msg,
                reply_markup=markup,
                parse_mode=parse_mode(html),
                disable_web_page_preview=True,
            )
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return  # already showing exactly this (cannot happen with the numbering)
            # too old to edit, or deleted: a new message
    await show(update, context, combined, markup, new=True, remember=False, html=html)


def undo_row(view: PlanView, lang: Lang, now: dt.datetime | None) -> Rows:
    """ "↩ Undo" for the plan's last held follow-up, while it may be undone
    (:data:`UNDO_FOR` after it was recorded) by a viewer who may act; else no row."""
    if (
        now is None
        or not (view.active and view.rights.act)
        or view.last_held_id is None
        or view.last_held_at is None
        or view.last_held_at < now - UNDO_FOR
    ):
        return []
    return [
        [(t("plans.btn_undo", lang), UndoHeldButton("undo", view.id, view.last_held_id).pack())]
    ]


def card_markup(
    view: PlanView, lang: Lang, today: dt.date, now: dt.datetime | None = None
) -> InlineKeyboardMarkup:
    """The card's buttons, only those the viewer may use: the follow-up's ("held" only from
    its day on), "↩ Undo" for ten minutes after "held" (see :func:`undo_row`) and "More ▾"
    for the rest (see handlers/plans/card.py)."""
    rights: PlanRights = view.rights
    rows: Rows = []
    day = view.next_follow_up
    if view.active and rights.act:
        if day is None:
            rows.append([(t("plans.btn_book", lang), PlanButton("date", view.id).pack())])
        else:
            row = [(t("plans.btn_date", lang), FollowUpButton.about("date", view.id, day).pack())]
            if day <= today:
                held = FollowUpButton.about("held", view.id, day).pack()
                row.insert(0, (t("plans.btn_held", lang), held))
            rows.append(row)
    rows.extend(undo_row(view, lang, now))
    if view.active or rights.manage:
        rows.append([(t("plans.btn_more", lang), PlanButton("more", view.id).pack())])
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
    """The plan card (edited into the pressed plan message, or sent); ``notice`` is HTML."""
    today = local_today(context)
    text = card_text(view, lang, today, notice)
    markup = card_markup(view, lang, today, context.now())
    await show(update, context, text, markup, new=new, html=True)


def back_row(view: PlanView, lang: Lang) -> list[tuple[str, str]]:
    """The button back to the card."""
    return [(t("plans.btn_back", lang), PlanButton("card", view.id).pack())]


def people_rows(
    people: Sequence[Person],
    page: int,
    lang: Lang,
    *,
    data: Callable[[Person], str],
    page_data: Callable[[int], str],
    chosen: Collection[int] = (),
) -> Rows:
    """One button per person on ``page`` (``PAGE_SIZE`` each), with ◀/▶ when needed: their
    name and municipality (see :func:`person_label`), marked ✅ when among ``chosen``."""
    pages = max(1, -(-len(people) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    rows: Rows = [
        [(("✅ " if person.id in chosen else "") + person_label(person, lang), data(person))]
        for person in people[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    ]
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
    return f"{person.name} · {municipality_label(person.municipality, lang)}"
