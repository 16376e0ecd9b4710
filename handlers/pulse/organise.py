"""/puls: opening a pulse (template, label, closing time, k), its link and QR code, with the
buttons that hand it out (handlers/pulse/share.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Final, Literal, cast

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, ConversationHandler

from bot.buttons import ButtonData, Token
from bot.context import BotContext, DalsbotApp
from bot.guard import contains_identity_number, normalise_line, redact
from bot.i18n import Lang, format_datetime, t
from bot.state import flow_draft
from handlers.common import (
    authorise,
    checked_press,
    edit_or_send,
    first_press,
    keyboard,
    reply,
    user_lang,
)
from handlers.pulse.common import (
    local_time,
    pulse_link,
    site_templates,
    staff_in_private,
    template_label,
)
from handlers.pulse.render import qr_png
from handlers.pulse.share import PulseInvitedButton, PulsePlansButton
from storage.plans.references import first_name_in
from storage.pulse import store as pulse_store

logger = logging.getLogger(__name__)

TEMPLATE, LABEL, CLOSING, K = range(4)
# The flow's name (its persisted conversation).
NEW_PULSE_FLOW: Final = "new_pulse"
CLOSING_HOURS: Final = (2, 24, 48, 168)
DEFAULT_CLOSING_HOURS: Final = 48
K_CHOICES: Final = (3, 5, 10)
DEFAULT_K: Final = 3
LABEL_MAX: Final = 60


class NewPulseButton(ButtonData, prefix="pnew"):
    """``pnew:<step>:<value>``, a tap in one step of /puls: ``pnew:tpl:<template key>``,
    ``pnew:close:<hours>`` (when the pulse closes), ``pnew:k:<k>`` (the fewest answers whose
    results are shown). A value the step did not offer is refused as stale."""

    step: Literal["tpl", "close", "k"]
    value: Token


class NewPulseBackButton(ButtonData, prefix="pnew"):
    """``pnew:back:<to>``: "◀ Back" to the template (``tpl``, the one chosen marked) or
    "✖ Cancel" (``exit``: the new pulse is dropped, nothing was stored)."""

    action: Literal["back"]
    to: Literal["exit", "tpl"]


def _offered(value: str, choices: tuple[int, ...]) -> int | None:
    """The choice a button's ``value`` stands for, or None when it was not offered."""
    return next((choice for choice in choices if str(choice) == value), None)


# -- /puls: opening a pulse ---------------------------------------------------------------

Found = tuple[BaseHandler[Update, BotContext, object], object]


def _app(context: BotContext) -> DalsbotApp:
    return cast("DalsbotApp", context.application)


def _handler_after_flow(update: Update, context: BotContext) -> Found | None:
    """The handler of the main group that would take ``update`` if /puls were not running:
    the first after this flow that matches, with its check result."""
    handlers = _app(context).handlers.get(0, [])
    mine = next(
        (
            index
            for index, handler in enumerate(handlers)
            if isinstance(handler, ConversationHandler) and handler.name == NEW_PULSE_FLOW
        ),
        len(handlers),
    )
    for handler in handlers[mine + 1 :]:
        check = handler.check_update(update)
        if check is not None and check is not False:
            return handler, check
    return None


async def step_aside(update: Update, context: BotContext) -> object:
    """During /puls, a command other than /cancel, or a button that is not this flow's.

    A command, or a button that starts another flow, ends the new pulse with one short line
    (so the next text goes to what the person turned to, not into the label) and then runs;
    any other button (a pulse answer, a reminder) just runs and the step stays.
    """
    found = _handler_after_flow(update, context)
    leave = update.callback_query is None or (
        found is not None and isinstance(found[0], ConversationHandler)
    )
    if leave:
        context.state.pop(NewPulseDraft)
        await reply(update, t("pulse.new_left", user_lang(update, context)))
    state = ConversationHandler.END if leave else None
    if found is not None:
        handler, check = found
        try:
            await handler.handle_update(update, _app(context), check, context)
        except ApplicationHandlerStop:
            raise ApplicationHandlerStop(state) from None
    return state


@flow_draft("pulse_new")
@dataclass
class NewPulseDraft:
    """A pulse being opened with /puls: template, label, closing time, one step each."""

    template: str = ""
    label: str | None = None
    hours: int | None = None


def _new(context: BotContext) -> NewPulseDraft:
    return context.state.ensure(NewPulseDraft)


async def start_pulse(update: Update, context: BotContext) -> int:
    """Staff start a pulse: first they pick the template."""
    checked = await staff_in_private(update, context)
    if checked is None:
        return ConversationHandler.END
    _staff, lang = checked
    context.state.pop(NewPulseDraft)
    await reply(update, t("pulse.new_pick_template", lang), await _template_keyboard(context, lang))
    return TEMPLATE


def _nav_row(lang: Lang, back: bool) -> list[tuple[str, str]]:
    """The last row of a step: "◀ Back" (from the second step on) and "✖ Cancel"."""
    cancel = (t("pulse.btn_cancel", lang), NewPulseBackButton("back", "exit").pack())
    if not back:
        return [cancel]
    return [(t("pulse.btn_back", lang), NewPulseBackButton("back", "tpl").pack()), cancel]


async def _template_keyboard(context: BotContext, lang: Lang) -> InlineKeyboardMarkup:
    """One template a row (the one chosen before going back marked ✅), then "✖ Cancel"."""
    templates = await site_templates(context)
    draft = context.state.get(NewPulseDraft)
    chosen = draft.template if draft is not None else ""
    rows = []
    for key, template in templates.items():
        label = template_label(template, lang)
        if key == chosen:
            label = t("pulse.chosen", lang, label=label)
        rows.append([(label, NewPulseButton("tpl", key).pack())])
    return keyboard([*rows, _nav_row(lang, back=False)])


async def back_or_cancel(update: Update, context: BotContext) -> int:
    """ "◀ Back" on the label step: the templates again, the chosen one marked; "✖ Cancel"
    on the first two steps: the draft is dropped and the message says so (nothing stored)."""
    press = await checked_press(update, context, NewPulseBackButton)
    if press is None:
        return TEMPLATE
    await press.query.answer()
    if press.data.to == "exit":
        context.state.pop(NewPulseDraft)
        await edit_or_send(update, t("core.cancelled", press.lang))
        return ConversationHandler.END
    markup = await _template_keyboard(context, press.lang)
    await edit_or_send(update, t("pulse.new_pick_template", press.lang), markup)
    return TEMPLATE


async def pick_template(update: Update, context: BotContext) -> int:
    """The template is chosen: now the meeting label."""
    press = await checked_press(update, context, NewPulseButton)
    if press is None:
        return TEMPLATE
    key, lang = press.data.value, press.lang
    template = (await site_templates(context)).get(key)
    if template is None:
        await press.stale()
        return TEMPLATE
    await press.query.answer()
    _new(context).template = key
    title = template_label(template, lang)
    text = t("pulse.new_label", lang, title=title, max=LABEL_MAX)
    await edit_or_send(update, text, keyboard([_nav_row(lang, back=True)]))
    return LABEL


def label_problem(label: str) -> str | None:
    """The text key explaining why ``label`` cannot be used, or None when it can. A label is
    shown to everyone who answers, so, like a plan reference, it may hold no common first
    name ("SIP Lisa"): the same check as references (storage/plans/references.py)."""
    if not 2 <= len(label) <= LABEL_MAX or label.startswith("/"):
        return "pulse.label_invalid"
    if contains_identity_number(label) or redact(label) != label:
        return "pulse.label_personal"
    if first_name_in(label) is not None:
        return "pulse.label_first_name"
    return None


async def type_label(update: Update, context: BotContext) -> int:
    """The organiser types the label; the guard checks it before it is kept."""
    assert update.effective_message is not None
    staff = await authorise(update, context)
    if staff is None:
        return ConversationHandler.END
    lang = user_lang(update, context, staff)
    label = normalise_line(update.effective_message.text or "")
    problem = label_problem(label)
    if problem is not None:
        name = first_name_in(label) or ""
        await reply(update, t(problem, lang, max=LABEL_MAX, name=name))
        return LABEL
    _new(context).label = label
    row = []
    for hours in CLOSING_HOURS:
        if hours % 24 == 0 and hours > 48:
            text = t("pulse.closing_days", lang, n=hours // 24)
        elif hours == DEFAULT_CLOSING_HOURS:
            text = t("pulse.closing_hours_default", lang, n=hours)
        else:
            text = t("pulse.closing_hours", lang, n=hours)
        row.append((text, NewPulseButton("close", str(hours)).pack()))
    await reply(update, t("pulse.new_closing", lang), keyboard([row[:2], row[2:]]))
    return CLOSING


async def pick_closing(update: Update, context: BotContext) -> int:
    """The closing time is chosen: now k."""
    press = await checked_press(update, context, NewPulseButton)
    if press is None:
        return CLOSING
    lang, hours = press.lang, _offered(press.data.value, CLOSING_HOURS)
    if _new(context).label is None or hours is None:
        await press.stale()
        return CLOSING
    await press.query.answer()
    _new(context).hours = hours
    row = [
        (
            t("pulse.k_option_default" if k == DEFAULT_K else "pulse.k_option", lang, k=k),
            NewPulseButton("k", str(k)).pack(),
        )
        for k in K_CHOICES
    ]
    await edit_or_send(update, t("pulse.new_k", lang), keyboard([row]))
    return K


async def pick_k(update: Update, context: BotContext) -> int:
    """k is chosen: the pulse opens; the organiser gets the link and the QR code."""
    press = await checked_press(update, context, NewPulseButton)
    if press is None:
        return K
    query, staff, lang = press.query, press.staff, press.lang
    k, new = _offered(press.data.value, K_CHOICES), _new(context)
    template = (await site_templates(context)).get(new.template)
    if template is None or new.hours is None or new.label is None or k is None:
        await press.stale()
        return K
    if not await first_press(update, context):
        return K
    await query.answer()
    now = context.now()
    pulse = await context.db.run(
        pulse_store.create_pulse,
        template=template,
        label=new.label,
        organiser=staff,
        k=k,
        closes_at=now + dt.timedelta(hours=new.hours),
        now=now,
    )
    context.state.pop(NewPulseDraft)
    assert pulse.id is not None
    logger.info("Pulse %s opened (template %s)", pulse.id, template.key)
    link = pulse_link(context.data.bot_username, pulse.token)
    title = template.title.get(lang)
    text = t(
        "pulse.created",
        lang,
        title=title,
        label=pulse.label,
        link=link,
        k=pulse.k,
        closes=format_datetime(local_time(pulse.closes_at, context), lang),
    )
    markup = keyboard(
        [
            [(t("pulse.send_to_plan", lang), PulsePlansButton(pulse.id).pack())],
            [(t("pulse.invited_button", lang), PulseInvitedButton(pulse.id).pack())],
        ]
    )
    await edit_or_send(update, text, markup)
    picture = await asyncio.to_thread(qr_png, link)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_photo(
        InputFile(picture, filename="puls-qr.png"),
        caption=t("pulse.qr_caption", lang, title=title, label=pulse.label),
    )
    return ConversationHandler.END
