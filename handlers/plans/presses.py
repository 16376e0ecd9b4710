"""Checked presses and typed answers of the plan handlers, and plan changes run from them.

Every handler starts the same way, so the checks are written once here, as decorators:

- :func:`on_plan_button`: a plan button (``pln:...``, from a card, a list or a reminder). The
  presser is checked, the plan loaded with their rights, and the press refused when the plan
  is gone or the right is missing; the handler gets a :class:`PlanPress`.
- :func:`on_flow_button`: a button of the running flow's current step; the handler gets a
  :class:`FlowPress` (a :class:`Step` with the button's data).
- :func:`on_text`: text typed in a step; the handler gets the :class:`Step` and the text. A
  handler refuses the text by raising :class:`Unusable`, ``PlanError`` or ``DateParseError``:
  the reason is said and the question asked again.

:func:`run_change` runs a change of storage/plans/store.py with the reminder policy, the
working calendar and the time now; :func:`change_pressed` runs one on the pressed plan.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from telegram import CallbackQuery, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.buttons import ButtonData
from bot.context import BotContext
from bot.dates import DateParseError
from bot.i18n import Lang, t
from handlers.common import authorise, checked_press, refuse, user_lang
from handlers.plans.buttons import (
    FollowUpButton,
    FollowUpTimeButton,
    PlanButton,
    PlanPersonButton,
    PlanPickerPageButton,
    PlanTypeButton,
    UndoHeldButton,
)
from handlers.plans.flow import PlanDraft, ask_again, end_flow, flow
from storage.people import store as staff_store
from storage.people.models import Staff
from storage.plans import store as plans_store
from storage.plans.duetimes import ReminderPolicy, WorkCalendar
from storage.plans.policy import policy_from_settings
from storage.plans.reminders import Scheduling
from storage.plans.store import PlanError, PlanView

B = TypeVar("B", bound=ButtonData)
# The plan buttons that name a plan.
OnPlan = TypeVar(
    "OnPlan",
    PlanButton,
    PlanPersonButton,
    PlanPickerPageButton,
    FollowUpButton,
    FollowUpTimeButton,
    UndoHeldButton,
    PlanTypeButton,
)
R = TypeVar("R")
T = TypeVar("T")
# A handler as python-telegram-bot calls it, and the shapes of the decorated ones.
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, R]]
StepResult = int | None  # the conversation's next state; None: this step again
TextStep = Callable[[Update, BotContext, "Step", str], Awaitable[StepResult]]
FlowButtonStep = Callable[[Update, BotContext, "FlowPress[B]"], Awaitable[StepResult]]
PlanButtonHandler = Callable[[Update, BotContext, "PlanPress[OnPlan]"], Awaitable[StepResult]]
# Database ids are 32-bit integers and Telegram user ids fit in 52 bits: a larger number in
# typed text is refused here, before the database rejects it with an error.
MAX_TELEGRAM_ID_DIGITS: Final = 15


class Unusable(Exception):
    """Typed text a step cannot use; ``key`` is the catalogue text that says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


# What a text step may raise to refuse the text (each with the ``key`` of the reason).
REFUSED: Final = (Unusable, PlanError, DateParseError)


# -- steps of a running flow --------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A person in a running plan flow: who, in which language, and their draft."""

    staff: Staff
    lang: Lang
    draft: PlanDraft


@dataclass(frozen=True)
class FlowPress(Step, Generic[B]):
    """A checked, answered press of a button of the flow's current step."""

    data: B


async def flow_step(update: Update, context: BotContext) -> Step | None:
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
        query is not None and (query.message is None or query.message.message_id != draft.msg)
    ):
        await refuse(update, t("core.stale_button", lang))
        return None
    return Step(staff, lang, draft)


async def flow_press(
    update: Update,
    context: BotContext,
    kind: type[B],
    *,
    valid: Callable[[B], bool] = lambda _data: True,
) -> FlowPress[B] | None:
    """A checked press of a flow button of ``kind`` on the flow's current message whose data
    passes ``valid``: answered, or refused as stale."""
    step = await flow_step(update, context)
    if step is None:
        return None
    query = update.callback_query
    assert query is not None
    data = kind.parse(query.data)
    if data is None or not valid(data):
        await query.answer(t("core.stale_button", step.lang), show_alert=True)
        return None
    await query.answer()
    return FlowPress(step.staff, step.lang, step.draft, data)


def on_flow_button(
    kind: type[B], *, valid: Callable[[B], bool] = lambda _data: True
) -> Callable[[FlowButtonStep[B]], Handler[StepResult]]:
    """A handler for a press of ``kind`` in the current step (see :func:`flow_press`)."""

    def decorate(handle: FlowButtonStep[B]) -> Handler[StepResult]:
        @functools.wraps(handle)
        async def handler(update: Update, context: BotContext) -> StepResult:
            press = await flow_press(update, context, kind, valid=valid)
            return None if press is None else await handle(update, context, press)

        return handler

    return decorate


def on_text(handle: TextStep) -> Handler[StepResult]:
    """A handler for text typed in the current step; what it refuses (see :data:`REFUSED`)
    is explained and the question asked again."""

    @functools.wraps(handle)
    async def handler(update: Update, context: BotContext) -> StepResult:
        step = await flow_step(update, context)
        if step is None:
            return None
        assert update.effective_message is not None
        try:
            return await handle(update, context, step, update.effective_message.text or "")
        except REFUSED as exc:
            await ask_again(update, context, t(exc.key, step.lang))
            return None

    return handler


async def find_typed_person(context: BotContext, text: str) -> Staff | None:
    """The staff member typed as ``@username`` or user id, or None; other text is refused
    (:class:`Unusable`)."""
    handle = text.strip()
    if not (handle.startswith("@") or handle.isdigit()):
        raise Unusable("plans.expected_button")
    if not is_handle(handle):
        return None
    return await context.db.run(lambda session: staff_store.find_staff(session, handle=handle))


def is_handle(text: str) -> bool:
    """True for a typed ``@username`` or a plausible Telegram user id."""
    if text.startswith("@"):
        return True
    return text.isascii() and text.isdigit() and len(text) <= MAX_TELEGRAM_ID_DIGITS


# -- plan buttons -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanPress(Generic[OnPlan]):
    """A checked press of a plan button: the presser, the plan as they see it, the data."""

    query: CallbackQuery
    staff: Staff
    lang: Lang
    view: PlanView
    data: OnPlan

    async def refuse(self, key: str, **params: object) -> None:
        """Tell the presser no: the catalogue text ``key`` as an alert."""
        await self.query.answer(t(key, self.lang, **params), show_alert=True)


async def plan_press(
    update: Update, context: BotContext, kind: type[OnPlan], *, need: str
) -> PlanPress[OnPlan] | None:
    """Check a press of a plan button of ``kind`` against the database.

    Answers the query with an alert and returns None when the data is malformed, the plan
    is gone, or the presser lacks the right ``need`` (``view``, ``act``, ``manage``).
    """
    press = await checked_press(update, context, kind)
    if press is None:
        return None
    view = await load_view(context, press.data.plan_id, press.staff)
    if view is None:
        await press.query.answer(t("plans.not_found", press.lang), show_alert=True)
        return None
    checked = PlanPress(press.query, press.staff, press.lang, view, press.data)
    if not getattr(view.rights, need):
        await checked.refuse("plans.not_allowed")
        return None
    return checked


def on_plan_button(
    kind: type[OnPlan],
    *,
    need: str,
    active: bool = False,
    answer: bool = True,
    refused: StepResult = None,
) -> Callable[[PlanButtonHandler[OnPlan]], Handler[StepResult]]:
    """A handler for a press of a plan button of ``kind`` (see :func:`plan_press`).

    With ``active`` a closed plan is refused (``plans.closed``); with ``answer`` the query is
    answered before the handler runs (without, the handler answers it); a refused press
    returns ``refused``.
    """

    def decorate(handle: PlanButtonHandler[OnPlan]) -> Handler[StepResult]:
        @functools.wraps(handle)
        async def handler(update: Update, context: BotContext) -> StepResult:
            press = await plan_press(update, context, kind, need=need)
            if press is None:
                return refused
            if active and not press.view.active:
                await press.refuse("plans.closed")
                return refused
            if answer:
                await press.query.answer()
            return await handle(update, context, press)

        return handler

    return decorate


async def load_view(context: BotContext, plan_id: int, staff: Staff) -> PlanView | None:
    """The plan as ``staff`` sees it now."""
    viewer = staff.id
    return await context.db.run(
        lambda session: plans_store.plan_view(session, plan_id=plan_id, viewer_id=viewer)
    )


# -- changes ------------------------------------------------------------------------------------


def scheduling(context: BotContext) -> Scheduling:
    """The reminder policy and working calendar the reminders feature set up (or our own),
    and the time now: what every plan change re-plans the reminders with."""
    services = context.data.services
    policy = services.get_or_add(ReminderPolicy, lambda: policy_from_settings(context.settings))
    calendar = services.get_or_add(WorkCalendar, WorkCalendar)
    return Scheduling(policy=policy, calendar=calendar, now=context.now())


async def run_change(context: BotContext, change: Callable[..., T], **arguments: Any) -> T:
    """Run ``change`` (of storage/plans/store.py) with ``arguments`` and :func:`scheduling`."""
    return await context.db.run(change, **arguments, **scheduling(context))


async def change_pressed(
    context: BotContext, press: PlanPress[Any], change: Callable[..., T], **arguments: Any
) -> T | None:
    """Run ``change`` on the pressed plan, by the presser: its result, with the query
    answered; or None, with the presser told why the change was refused."""
    try:
        result = await run_change(
            context, change, plan_id=press.view.id, by=press.staff.id, **arguments
        )
    except PlanError as exc:
        await press.refuse(exc.key)
        return None
    await press.query.answer()
    return result


# -- the conversation's handlers ---------------------------------------------------------------

Pattern = Callable[[object], bool]
# In a step table: the step's handler for typed text (instead of a button's pattern).
TEXT: Final = None
StepTable = dict[int, list[tuple[Handler[Any], Pattern | None]]]


def text_handler(callback: Handler[Any]) -> MessageHandler[BotContext, object]:
    """A handler for typed text (not a command)."""
    return MessageHandler(filters.TEXT & ~filters.COMMAND, callback)


def button_handler(
    callback: Handler[Any], pattern: Pattern
) -> CallbackQueryHandler[BotContext, object]:
    """A handler for presses whose data ``pattern`` matches."""
    return CallbackQueryHandler(callback, pattern=pattern)


def step_handlers(
    *tables: StepTable,
) -> dict[object, list[BaseHandler[Update, BotContext, object]]]:
    """The conversation's ``states`` from step tables: each state's handlers, in order."""
    return {
        state: [
            text_handler(callback) if pattern is TEXT else button_handler(callback, pattern)
            for callback, pattern in steps
        ]
        for table in tables
        for state, steps in table.items()
    }
