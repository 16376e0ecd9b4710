"""Anonymous pulse feedback: /puls, answering through the deep link, results, trends.

- ``/puls`` (staff): template → label (typed, checked by the guard) → closing time → k; the
  organiser gets the deep link, a QR code picture and a button that sends the link to the
  people in one of their plans, and one that makes the pulse invited-only before anyone
  answered: then ``/start pinv_<token>`` personal one-time links, sent by the bot to each
  person of a plan's team (and one to the organiser), are the only way to answer.
- ``/start pulse_<token>`` (anyone, no registration): one message, edited in place as the
  person taps 1–5 or skips, with a summary where answers can be changed and a comment added.
  The unfinished answer lives only in memory (:class:`PulseDrafts`), never in the database
  or ``user_data``, and is dropped when sent, after 15 minutes without a tap, or when the
  pulse closes (the person is told at once).
- ``/puls_resultat``: results of a closed pulse (text + PNG); for an open pulse only the
  number of answers, with the choice to close it now. Results are never shown while a pulse
  is open, so nobody can work out one person's answer by comparing the results before and
  after it. Only the organiser and admins see a pulse's results.
- ``/puls_trend``: a template's trend as text + chart. Admins see all of Dalsland,
  coordinators their municipality, other staff only the pulses they organised themselves
  (they may not see colleagues' pulse results, and a trend shows each pulse's means).
- A repeating job closes due pulses, sends each organiser the results (or only that there
  were too few answers) and drops expired unfinished answers and those of closed pulses.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext, DalsbotApp
from bot.guard import contains_identity_number, normalise_line, redact
from bot.i18n import Lang, as_lang, format_date_short, format_datetime, t
from bot.pulse_logic import (
    DRAFT_TTL,
    TELEGRAM_TEXT_LIMIT,
    CommentError,
    DraftError,
    PulseAnswerDraft,
    PulseResults,
    answer_key,
    error_params,
    qr_png,
    render_results_png,
    render_results_text,
    render_trend_png,
    render_trend_text,
    shuffled_comments,
)
from bot.pulse_secret import load_pulse_secret
from bot.pulse_templates import Template, load_all_templates, site_templates_dir
from handlers.common import (
    STAFF_ROLES,
    CommandSpec,
    authorise,
    callback_parts,
    edit_or_send,
    first_press,
    keyboard,
    municipality_label,
    parse_id,
    reply,
    staff_press,
    user_lang,
)
from storage import pulse as pulse_store
from storage import staff as staff_store
from storage.models import Pulse, Staff

logger = logging.getLogger(__name__)

TEMPLATE, LABEL, CLOSING, K = range(4)
CLOSING_HOURS: Final = (2, 24, 48, 168)
DEFAULT_CLOSING_HOURS: Final = 48
K_CHOICES: Final = (3, 5, 10)
DEFAULT_K: Final = 3
LABEL_MAX: Final = 60
JOB_NAME: Final = "pulse_close"
JOB_INTERVAL_SECONDS: Final = 60
PULSE_LINK: Final = re.compile(r"^/start(?:@\w+)?\s+pulse_([A-Za-z0-9_-]{1,58})\s*$")
# A personal one-time link to an invited-only pulse.
INVITE_LINK: Final = re.compile(r"^/start(?:@\w+)?\s+pinv_([A-Za-z0-9_-]{16,40})\s*$")

COMMANDS = [
    CommandSpec("puls", "pulse.commands.puls", STAFF_ROLES),
    CommandSpec("puls_resultat", "pulse.commands.puls_resultat", STAFF_ROLES),
    CommandSpec("puls_trend", "pulse.commands.puls_trend", STAFF_ROLES),
]


# -- unfinished answers, in memory only ---------------------------------------------------


@dataclass
class DraftEntry:
    """One person's unfinished answer and the message that shows it."""

    draft: PulseAnswerDraft
    template: Template
    label: str
    lang: Lang
    chat_id: int
    message_id: int = 0
    awaiting_comment: bool = False
    # The personal link it was opened with (an invited-only pulse), used up when sent.
    invite: str | None = None


class PulseDrafts:
    """Unfinished answers keyed by (pulse id, Telegram user id), in this process's memory.

    Nothing here is ever written anywhere: a restart drops every unfinished answer, which is
    the point. The closing job calls :meth:`pop_expired` every minute, and
    :meth:`pop_pulse` for each pulse it closes.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[int, int], DraftEntry] = {}
        # People whose answer was dropped while the bot waited for their comment, until
        # when: the comment they send late is caught and dropped, never taken as a question
        # (the knowledge base would store it with their staff id, naming the comment's
        # author).
        self._late_comments: dict[int, dt.datetime] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, pulse_id: int, user_id: int) -> DraftEntry | None:
        return self._entries.get((pulse_id, user_id))

    def put(self, pulse_id: int, user_id: int, entry: DraftEntry) -> None:
        self._entries[pulse_id, user_id] = entry

    def pop(self, pulse_id: int, user_id: int) -> DraftEntry | None:
        return self._entries.pop((pulse_id, user_id), None)

    def awaiting_comment(self, user_id: int) -> tuple[int, DraftEntry] | None:
        """The pulse id and entry where ``user_id`` pressed "add a comment" most recently."""
        found = [
            (entry.draft.expires_at, pulse_id, entry)
            for (pulse_id, uid), entry in self._entries.items()
            if uid == user_id and entry.awaiting_comment
        ]
        if not found:
            return None
        _, pulse_id, entry = max(found, key=lambda item: item[0])
        return pulse_id, entry

    def latest_active(self, user_id: int, now: dt.datetime) -> tuple[int, DraftEntry] | None:
        """The pulse id and entry of ``user_id``'s most recent unfinished, unexpired answer."""
        found = [
            (entry.draft.expires_at, pulse_id, entry)
            for (pulse_id, uid), entry in self._entries.items()
            if uid == user_id and not entry.draft.is_expired(now)
        ]
        if not found:
            return None
        _, pulse_id, entry = max(found, key=lambda item: item[0])
        return pulse_id, entry

    def pop_expired(self, now: dt.datetime) -> list[DraftEntry]:
        """Remove and return every entry whose time is up."""
        expired = [key for key, entry in self._entries.items() if entry.draft.is_expired(now)]
        return self._drop(expired, now)

    def pop_pulse(self, pulse_id: int, now: dt.datetime) -> list[DraftEntry]:
        """Remove and return every unfinished answer to ``pulse_id`` (it has closed)."""
        keys = [key for key in self._entries if key[0] == pulse_id]
        return self._drop(keys, now)

    def _drop(self, keys: list[tuple[int, int]], now: dt.datetime) -> list[DraftEntry]:
        dropped = [(key[1], self._entries.pop(key)) for key in keys]
        for user_id, entry in dropped:
            if entry.awaiting_comment or entry.draft.at_comment:
                self._late_comments[user_id] = now + LATE_COMMENT_WINDOW
        self._late_comments = {u: t for u, t in self._late_comments.items() if t > now}
        return [entry for _, entry in dropped]

    def take_late_comment(self, user_id: int, now: dt.datetime) -> bool:
        """True (once) if ``user_id``'s answer was dropped while waiting for their comment."""
        until = self._late_comments.pop(user_id, None)
        return until is not None and until > now


# How long after a dropped answer a late comment is still caught.
LATE_COMMENT_WINDOW = dt.timedelta(hours=2)


def _drafts(context: BotContext) -> PulseDrafts:
    drafts: PulseDrafts = context.data.services.setdefault("pulse_drafts", PulseDrafts())
    return drafts


def _secret(context: BotContext) -> bytes:
    secret = context.data.services.get("pulse_secret")
    if secret is None:
        secret = context.data.services["pulse_secret"] = load_pulse_secret(context.settings)
    assert isinstance(secret, bytes)
    return secret


# The largest id a database integer column holds: bigger "ids" in button data are forged.


def invite_link(bot_username: str, token: str) -> str:
    """A personal one-time link to an invited-only pulse."""
    return f"https://t.me/{bot_username}?start=pinv_{token}"


def pulse_link(bot_username: str, token: str) -> str:
    """The deep link that opens the pulse in the bot."""
    return f"https://t.me/{bot_username}?start=pulse_{token}"


def _local(moment: dt.datetime, context: BotContext) -> dt.datetime:
    return moment.astimezone(context.settings.tz)


def _tg_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefixed(prefix: str, text: str) -> str:
    """``prefix`` above ``text`` when both fit one message; otherwise ``text`` alone."""
    combined = f"{prefix}\n\n{text}"
    return combined if _tg_len(combined) <= TELEGRAM_TEXT_LIMIT else text


async def _templates(context: BotContext) -> dict[str, Template]:
    folder = site_templates_dir(context.settings.data_dir)
    return await asyncio.to_thread(load_all_templates, folder)


def _private(update: Update) -> bool:
    # Results, comments and trends go only to a private chat, never to a group the
    # organiser happens to type in (and /puls is for the organiser's own chat too).
    return update.effective_chat is not None and update.effective_chat.type == "private"


def _template_label(template: Template, lang: Lang) -> str:
    title = template.title.get(lang)
    return t("pulse.template_family", lang, title=title) if template.audience == "family" else title


# -- /puls: opening a pulse ---------------------------------------------------------------


def _new(context: BotContext) -> dict[str, str]:
    assert context.user_data is not None
    draft: dict[str, str] = context.user_data.setdefault("pulse_new", {})
    return draft


async def start_pulse(update: Update, context: BotContext) -> int:
    """Staff start a pulse: first they pick the template."""
    staff = await authorise(update, context)
    if staff is None:
        return ConversationHandler.END
    lang = user_lang(update, context, staff)
    if not _private(update):
        await reply(update, t("core.private_only", lang))
        return ConversationHandler.END
    templates = await _templates(context)
    _new(context).clear()
    rows = [
        [(_template_label(template, lang), f"pnew:tpl:{key}")]
        for key, template in templates.items()
    ]
    await reply(update, t("pulse.new_pick_template", lang), keyboard(rows))
    return TEMPLATE


async def _step(update: Update, context: BotContext, name: str) -> tuple[str, Staff, Lang] | None:
    """The pressed value of ``pnew:<name>:<value>`` after re-checking the presser."""
    press = await staff_press(update, context, "pnew", 2, valid=lambda p: p[0] == name)
    if press is None:
        return None
    return press.parts[1], press.staff, press.lang


async def pick_template(update: Update, context: BotContext) -> int:
    """The template is chosen: now the meeting label."""
    step = await _step(update, context, "tpl")
    if step is None:
        return TEMPLATE
    key, _staff, lang = step
    assert update.callback_query is not None
    template = (await _templates(context)).get(key)
    if template is None:
        await update.callback_query.answer(t("core.stale_button", lang), show_alert=True)
        return TEMPLATE
    await update.callback_query.answer()
    _new(context)["template"] = key
    title = _template_label(template, lang)
    await edit_or_send(update, t("pulse.new_label", lang, title=title, max=LABEL_MAX))
    return LABEL


def label_problem(label: str) -> str | None:
    """The text key explaining why ``label`` cannot be used, or None when it can."""
    if not 2 <= len(label) <= LABEL_MAX or label.startswith("/"):
        return "pulse.label_invalid"
    if contains_identity_number(label) or redact(label) != label:
        return "pulse.label_personal"
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
        await reply(update, t(problem, lang, max=LABEL_MAX))
        return LABEL
    _new(context)["label"] = label
    row = []
    for hours in CLOSING_HOURS:
        if hours % 24 == 0 and hours > 48:
            text = t("pulse.closing_days", lang, n=hours // 24)
        elif hours == DEFAULT_CLOSING_HOURS:
            text = t("pulse.closing_hours_default", lang, n=hours)
        else:
            text = t("pulse.closing_hours", lang, n=hours)
        row.append((text, f"pnew:close:{hours}"))
    await reply(update, t("pulse.new_closing", lang), keyboard([row[:2], row[2:]]))
    return CLOSING


async def pick_closing(update: Update, context: BotContext) -> int:
    """The closing time is chosen: now k."""
    step = await _step(update, context, "close")
    if step is None:
        return CLOSING
    value, _staff, lang = step
    assert update.callback_query is not None
    if value not in {str(hours) for hours in CLOSING_HOURS} or "label" not in _new(context):
        await update.callback_query.answer(t("core.stale_button", lang), show_alert=True)
        return CLOSING
    await update.callback_query.answer()
    _new(context)["hours"] = value
    row = [
        (
            t("pulse.k_option_default" if k == DEFAULT_K else "pulse.k_option", lang, k=k),
            f"pnew:k:{k}",
        )
        for k in K_CHOICES
    ]
    await edit_or_send(update, t("pulse.new_k", lang), keyboard([row]))
    return K


async def pick_k(update: Update, context: BotContext) -> int:
    """k is chosen: the pulse opens; the organiser gets the link and the QR code."""
    step = await _step(update, context, "k")
    if step is None:
        return K
    value, staff, lang = step
    query = update.callback_query
    assert query is not None
    new = dict(_new(context))
    template = (await _templates(context)).get(new.get("template", ""))
    if value not in {str(k) for k in K_CHOICES} or template is None or "hours" not in new:
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return K
    if not await first_press(update, context):
        return K
    await query.answer()
    now = context.now()
    closes_at = now + dt.timedelta(hours=int(new["hours"]))
    pulse = await context.db.run(
        lambda session: pulse_store.create_pulse(
            session,
            template=template,
            label=new["label"],
            organiser=staff,
            k=int(value),
            closes_at=closes_at,
            now=now,
        )
    )
    _new(context).clear()
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
        closes=format_datetime(_local(closes_at, context), lang),
    )
    markup = keyboard(
        [
            [(t("pulse.send_to_plan", lang), f"ppl:{pulse.id}:0")],
            [(t("pulse.invited_button", lang), f"pinv:{pulse.id}")],
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


async def expect_button(update: Update, context: BotContext) -> None:
    """Text where a button is expected: say so, keep the state."""
    await reply(update, t("pulse.label_expected_button", user_lang(update, context)))


async def cancel_new_pulse(update: Update, context: BotContext) -> int:
    """/cancel while opening a pulse: nothing is opened."""
    _new(context).clear()
    await reply(update, t("core.cancelled", user_lang(update, context)))
    return ConversationHandler.END


# -- sending the link to a plan's people --------------------------------------------------


async def _own_open_pulse(
    update: Update, context: BotContext, pulse_id: int, staff: Staff, lang: Lang
) -> Pulse | None:
    """The organiser's own open pulse, pressed in their private chat (links are never
    handed out in a group), or None after an alert."""
    pulse = await context.db.run(lambda s: pulse_store.get_pulse(s, pulse_id=pulse_id))
    query = update.callback_query
    assert query is not None
    private = update.effective_chat is not None and update.effective_chat.type == "private"
    if pulse is None or pulse.organiser_id != staff.id or not private:
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return None
    if not pulse_store.is_open(pulse, context.now()):
        await query.answer(t("pulse.closed", lang), show_alert=True)
        return None
    return pulse


async def make_invited_only(update: Update, context: BotContext) -> None:
    """ "Personal links only": before anyone answered, the organiser turns the pulse into an
    invited-only one. The shared link and QR code stop working; each person in a plan's team
    gets their own one-time link from the bot, and the organiser one for themselves, so
    answering twice needs somebody else's link."""
    press = await staff_press(
        update, context, "pinv", 1, valid=lambda p: parse_id(p[0]) is not None
    )
    if press is None:
        return
    query, staff, lang = press.query, press.staff, press.lang
    pulse_id, staff_id = int(press.parts[0]), press.staff_id
    pulse = await _own_open_pulse(update, context, pulse_id, staff, lang)
    if pulse is None:
        return
    changed = await context.db.run(
        lambda s: pulse_store.make_invited_only(
            s, pulse_id=pulse_id, organiser_id=staff_id, now=context.now()
        )
    )
    if changed is None:
        await query.answer(t("pulse.invited_too_late", lang), show_alert=True)
        return
    await query.answer()
    rows = [
        [(t("pulse.send_to_plan", lang), f"ppl:{pulse_id}:0")],
        [(t("pulse.own_link_button", lang), f"pown:{pulse_id}")],
    ]
    await edit_or_send(update, t("pulse.invited_done", lang, label=pulse.label), keyboard(rows))


async def send_own_link(update: Update, context: BotContext) -> None:
    """The organiser's own personal link to their invited-only pulse (one, ever)."""
    press = await staff_press(
        update, context, "pown", 1, valid=lambda p: parse_id(p[0]) is not None
    )
    if press is None:
        return
    query, staff, lang = press.query, press.staff, press.lang
    pulse_id = int(press.parts[0])
    pulse = await _own_open_pulse(update, context, pulse_id, staff, lang)
    if pulse is None or not pulse.invited_only:
        if pulse is not None:
            await query.answer(t("core.stale_button", lang), show_alert=True)
        return
    staff_id = press.staff_id
    token = await context.db.run(
        lambda s: pulse_store.own_link_once(s, pulse_id=pulse_id, organiser_id=staff_id)
    )
    if token is None:
        await query.answer(t("core.already_done", lang), show_alert=True)
        return
    await query.answer()
    link = invite_link(context.data.bot_username, token)
    await reply(update, t("pulse.own_link", lang, label=pulse.label, link=link))


async def send_to_plan(update: Update, context: BotContext) -> None:
    """The organiser picks one of their plans; its people get the link in a message."""
    # The plan part is 0 on the first button ("pick a plan"), a plan id after that.
    press = await staff_press(
        update,
        context,
        "ppl",
        2,
        valid=lambda p: parse_id(p[0]) is not None and (p[1] == "0" or parse_id(p[1]) is not None),
    )
    if press is None:
        return
    query, staff, lang = press.query, press.staff, press.lang
    pulse_id, plan_id = int(press.parts[0]), int(press.parts[1])
    pulse = await _own_open_pulse(update, context, pulse_id, staff, lang)
    if pulse is None:
        return
    assert staff.id is not None and pulse.id is not None
    staff_id = staff.id
    if plan_id == 0:
        plans = await context.db.run(lambda s: pulse_store.plans_of(s, staff_id=staff_id))
        await query.answer()
        if not plans:
            await reply(update, t("pulse.plan_none", lang))
            return
        rows = [[(plan.reference, f"ppl:{pulse.id}:{plan.id}")] for plan in plans]
        await reply(update, t("pulse.plan_pick", lang), keyboard(rows))
        return
    found = await context.db.run(
        lambda s: (
            pulse_store.plan_recipients(s, plan_id=plan_id, staff_id=staff_id),
            pulse_store.plans_of(s, staff_id=staff_id),
        )
    )
    recipients, plans = found
    reference = next((plan.reference for plan in plans if plan.id == plan_id), "")
    if recipients is None:
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return
    invites = len(recipients) if pulse.invited_only else 0
    tokens = await context.db.run(
        lambda s: pulse_store.send_to_plan_once(
            s, pulse_id=pulse_id, plan_id=plan_id, invites=invites
        )
    )
    if tokens is None:
        await query.answer(t("core.already_done", lang), show_alert=True)
        return
    await query.answer()
    if not recipients:
        await edit_or_send(update, t("pulse.plan_nobody", lang, reference=reference))
        return
    sent = await _send_invitations(context, pulse, staff, recipients, tokens or None)
    await edit_or_send(
        update, t("pulse.plan_sent", lang, sent=sent, total=len(recipients), reference=reference)
    )


async def _send_invitations(
    context: BotContext,
    pulse: Pulse,
    organiser: Staff,
    recipients: list[Staff],
    tokens: list[str] | None = None,
) -> int:
    """Send each recipient the pulse's link: the shared one, or (``tokens``, invited-only)
    each their own personal link, which nobody else, the organiser included, ever sees."""
    shared = pulse_link(context.data.bot_username, pulse.token)
    template = pulse_store.pulse_template(pulse)
    sent = 0
    for index, person in enumerate(recipients):
        link = invite_link(context.data.bot_username, tokens[index]) if tokens else shared
        lang = as_lang(person.language)
        text = t(
            "pulse.plan_invite",
            lang,
            name=organiser.display_name,
            label=pulse.label,
            title=template.title.get(lang),
            link=link,
        )
        try:
            await context.bot.send_message(person.telegram_id, text)
        except (Forbidden, BadRequest):
            logger.info("Pulse %s: the link could not be delivered to one person", pulse.id)
            continue
        sent += 1
    return sent


# -- answering ----------------------------------------------------------------------------


def _score_label(score: int | None, lang: Lang) -> str:
    return t("pulse.skipped", lang) if score is None else str(score)


def answer_view(entry: DraftEntry, pulse_id: int) -> tuple[str, InlineKeyboardMarkup]:
    """The answering message for the draft's current step: a question, the summary, or the
    comment prompt."""
    draft, template, lang = entry.draft, entry.template, entry.lang
    heading = t("pulse.answer_heading", lang, title=template.title.get(lang), label=entry.label)
    prefix = f"pa:{pulse_id}"
    if entry.awaiting_comment:
        text = "\n\n".join(
            [heading, template.comment_prompt.get(lang), t("pulse.comment_hint", lang)]
        )
        return text, keyboard(
            [
                [(t("pulse.back", lang), f"{prefix}:sum:0")],
                [(t("pulse.send_without_comment", lang), f"{prefix}:send:nocom")],
            ]
        )
    if draft.at_comment:
        lines = [heading, "", t("pulse.summary_title", lang)]
        for number, question in enumerate(template.questions, start=1):
            score = _score_label(draft.scores.get(question.key), lang)
            short = question.short.get(lang)
            lines.append(t("pulse.summary_line", lang, number=number, short=short, score=score))
        lines.append("")
        if draft.comment:
            lines.append(t("pulse.summary_comment", lang, comment=draft.comment))
        else:
            lines.append(t("pulse.summary_no_comment", lang))
        lines += ["", t("pulse.change_hint", lang)]
        changes = [
            (t("pulse.change_question", lang, number=index + 1), f"{prefix}:edit:{index}")
            for index in range(len(template.questions))
        ]
        comment_key = "pulse.edit_comment" if draft.comment else "pulse.add_comment"
        send_key = "pulse.send" if draft.comment else "pulse.send_without_comment"
        rows = [
            changes,
            [(t(comment_key, lang), f"{prefix}:com:0")],
            [("✅ " + t(send_key, lang), f"{prefix}:send:0")],
        ]
        return "\n".join(lines), keyboard(rows)
    index = draft.index
    question = template.questions[index]
    lines = [
        heading,
        t("pulse.anonymous_note", lang),
        "",
        t("pulse.progress", lang, number=index + 1, total=len(template.questions)),
        question.text.get(lang),
        t("pulse.scale_hint", lang, low=question.low.get(lang), high=question.high.get(lang)),
    ]
    current = draft.scores.get(question.key)
    if current is not None:
        lines.append(t("pulse.your_answer", lang, score=current))
    scores = [(str(score), f"{prefix}:q{index}:{score}") for score in range(1, 6)]
    controls = [(t("pulse.skip", lang), f"{prefix}:q{index}:skip")]
    if index > 0:
        controls.append((t("pulse.back", lang), f"{prefix}:back:0"))
    return "\n".join(lines), keyboard([scores, controls])


def apply_tap(entry: DraftEntry, action: str, argument: str) -> None:
    """Change the draft as the button ``action:argument`` says; DraftError when it cannot."""
    draft, questions = entry.draft, entry.draft.questions
    numbered = re.fullmatch(r"q([0-9])", action)
    if numbered is not None:
        index = int(numbered.group(1))
        if index >= len(questions):
            raise DraftError("no such question")
        if argument == "skip":
            entry.draft = draft.skip(questions[index])
        elif argument in {"1", "2", "3", "4", "5"}:
            entry.draft = draft.set_score(int(argument), questions[index])
        else:
            raise DraftError("not a score")
        entry.awaiting_comment = False
    elif action == "back" and argument == "0":
        entry.draft, entry.awaiting_comment = draft.back(), False
    elif action == "edit" and argument.isdigit() and int(argument) < len(questions):
        entry.draft, entry.awaiting_comment = draft.change(questions[int(argument)]), False
    elif action == "com" and argument == "0" and draft.is_complete:
        entry.awaiting_comment = True
    elif action == "sum" and argument == "0" and draft.is_complete:
        entry.awaiting_comment = False
    else:
        raise DraftError("not a known button")


def _link_token(update: Update, link: re.Pattern[str]) -> str:
    """The token of a deep link the handler's filter already matched."""
    message = update.effective_message
    match = link.match(message.text or "") if message is not None else None
    assert match is not None
    return match.group(1)


async def open_pulse(update: Update, context: BotContext) -> None:
    """Someone opens a pulse's shared link: the first question, or why they cannot answer."""
    token = _link_token(update, PULSE_LINK)
    find = functools.partial(pulse_store.get_pulse_by_token, token=token)
    await _start_answering(update, context, find, invite=None)


async def open_invite(update: Update, context: BotContext) -> None:
    """Someone opens their personal link to an invited-only pulse."""
    token = _link_token(update, INVITE_LINK)
    find = functools.partial(pulse_store.get_pulse_by_invite, token=token)
    await _start_answering(update, context, find, invite=token)


async def _start_answering(
    update: Update,
    context: BotContext,
    find: Callable[[Session], Pulse | None],
    *,
    invite: str | None,
) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    user_id = user.id
    secret = _secret(context)

    def look_up(session: Session) -> tuple[Pulse | None, bool, Staff | None]:
        pulse = find(session)
        staff = staff_store.get_staff(session, telegram_id=user_id)
        if pulse is None or pulse.id is None:
            return None, False, staff
        key_hash = answer_key(secret, pulse.id, user_id)
        return pulse, pulse_store.has_answered(session, pulse_id=pulse.id, key_hash=key_hash), staff

    pulse, answered, staff = await context.db.run(look_up)
    lang = user_lang(update, context, staff)
    now = context.now()
    if pulse is None or pulse.id is None:
        key = "pulse.invite_used" if invite is not None else "pulse.unknown_link"
        await reply(update, t(key, lang))
        return
    if not pulse_store.is_open(pulse, now):
        await reply(update, t("pulse.closed", lang))
        return
    if pulse.invited_only and invite is None:
        await reply(update, t("pulse.invited_only", lang))
        return
    if answered:
        await reply(update, t("pulse.already_answered", lang))
        return
    template = pulse_store.pulse_template(pulse)
    draft = PulseAnswerDraft.start(pulse.id, template.question_keys, now)
    entry = DraftEntry(
        draft=draft,
        template=template,
        label=pulse.label,
        lang=lang,
        chat_id=chat.id,
        invite=invite,
    )
    text, markup = answer_view(entry, pulse.id)
    # Kept before the message is sent (a quick tap may arrive before the send returns).
    # Opening the link again starts over; the older message's buttons stop working.
    _drafts(context).put(pulse.id, user_id, entry)
    sent = await chat.send_message(text, reply_markup=markup)
    entry.message_id = sent.message_id


async def tap_answer(update: Update, context: BotContext) -> None:
    """A tap on the answering message: a score, skip, back, change, comment or send."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    parts = callback_parts(query.data, "pa", 3)
    drafts = _drafts(context)
    pulse_id = parse_id(parts[0]) if parts else None
    entry = drafts.get(pulse_id, user.id) if pulse_id is not None else None
    # message_id 0: the message is still being sent, and a tap on it may already arrive.
    if (
        parts is None
        or entry is None
        or query.message is None
        or pulse_id is None
        or entry.message_id not in (0, query.message.message_id)
    ):
        await query.answer(t("pulse.button_invalid", user_lang(update, context)), show_alert=True)
        return
    now = context.now()
    if entry.draft.is_expired(now):
        drafts.pop(pulse_id, user.id)
        await query.answer()
        await edit_or_send(update, t("pulse.expired", entry.lang))
        return
    if parts[1] == "send" and parts[2] in ("0", "nocom") and entry.draft.is_complete:
        await submit_answer(update, context, pulse_id, entry, without_comment=parts[2] == "nocom")
        return
    try:
        apply_tap(entry, parts[1], parts[2])
    except DraftError:
        await query.answer(t("pulse.button_invalid", entry.lang), show_alert=True)
        return
    entry.draft = replace(entry.draft, expires_at=now + DRAFT_TTL)
    await query.answer()
    await edit_or_send(update, *answer_view(entry, pulse_id))


async def submit_answer(
    update: Update, context: BotContext, pulse_id: int, entry: DraftEntry, *, without_comment: bool
) -> None:
    """Store the answer anonymously: first the person's marker, then, in a separate
    transaction, the answer itself (see storage/models/pulse.py for why)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    # Taken out before anything is awaited, so a double tap on "send" finds no draft.
    _drafts(context).pop(pulse_id, user.id)
    await query.answer()
    draft = replace(entry.draft, comment="") if without_comment else entry.draft
    scores, comment = draft.to_answer(), draft.comment
    key_hash = answer_key(_secret(context), pulse_id, user.id)
    now = context.now()
    answered_on = _local(now, context).date()
    claim = await context.db.run(
        lambda s: pulse_store.claim_respondent(
            s, pulse_id=pulse_id, key_hash=key_hash, now=now, invite=entry.invite
        )
    )
    if claim is not pulse_store.ClaimResult.CLAIMED:
        key = {
            pulse_store.ClaimResult.ALREADY: "pulse.already_answered",
            pulse_store.ClaimResult.INVITE_USED: "pulse.invite_used",
        }.get(claim, "pulse.closed")
        await edit_or_send(update, t(key, entry.lang))
        return
    try:
        stored = await context.db.run(
            lambda s: pulse_store.store_answer(
                s,
                pulse_id=pulse_id,
                scores=scores,
                comment=comment,
                answered_on=answered_on,
                now=now,
            )
        )
    except Exception:
        await context.db.run(
            lambda s: pulse_store.release_respondent(
                s, pulse_id=pulse_id, key_hash=key_hash, invite=entry.invite
            )
        )
        raise
    if not stored:
        await edit_or_send(update, t("pulse.closed", entry.lang))
        return
    await edit_or_send(update, t("pulse.thanks", entry.lang))


async def type_comment(update: Update, context: BotContext) -> None:
    """After "add a comment", the person's next text is the comment (checked, redacted).

    Runs in an earlier handler group than every other text handler; when the person is not
    writing a pulse comment it does nothing and the text goes on to the other features.
    """
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    drafts = _drafts(context)
    now = context.now()
    waiting = drafts.awaiting_comment(user.id)
    if waiting is None:
        # Text typed while answering must never reach another feature (the knowledge base
        # would log it with the person's staff id): at the comment step it is the comment,
        # before that the person is shown how to answer.
        active = drafts.latest_active(user.id, now)
        if active is None:
            if drafts.take_late_comment(user.id, now):
                await reply(update, t("pulse.comment_late", user_lang(update, context)))
                raise ApplicationHandlerStop
            return
        if not active[1].draft.at_comment:
            await reply(update, t("pulse.type_while_answering", active[1].lang))
            raise ApplicationHandlerStop
        waiting = active
    pulse_id, entry = waiting
    if entry.draft.is_expired(now):
        drafts.pop(pulse_id, user.id)
        await reply(update, t("pulse.expired", entry.lang))
        raise ApplicationHandlerStop
    try:
        draft = entry.draft.set_comment(message.text)
    except CommentError as error:
        await reply(update, t(error.key, entry.lang, **error_params(error, entry.lang)))
        raise ApplicationHandlerStop from None
    entry.draft = replace(draft, expires_at=now + DRAFT_TTL)
    entry.awaiting_comment = False
    # The summary moves below the comment, where the person is looking.
    old_message_id, entry.message_id = entry.message_id, 0
    text, markup = answer_view(entry, pulse_id)
    sent = await message.chat.send_message(text, reply_markup=markup)
    entry.message_id = sent.message_id
    try:
        await context.bot.delete_message(entry.chat_id, old_message_id)
    except BadRequest:
        logger.debug("The earlier pulse message was already gone")
    raise ApplicationHandlerStop


# -- results ------------------------------------------------------------------------------


async def _results_and_comments(
    context: BotContext, pulse: Pulse
) -> tuple[PulseResults, list[str]]:
    assert pulse.id is not None
    pulse_id = pulse.id
    return await context.db.run(
        lambda s: (
            pulse_store.pulse_results(s, pulse=pulse),
            pulse_store.pulse_comments(s, pulse_id=pulse_id),
        )
    )


async def send_results(
    context: BotContext, chat_id: int, pulse: Pulse, lang: Lang, heading: str
) -> None:
    """The closed pulse's results as text (comments in random order) and, when there is
    anything that may be shown, as a PNG chart."""
    results, comments = await _results_and_comments(context, pulse)
    template = pulse_store.pulse_template(pulse)
    closed_on = _local(pulse.closed_at, context).date() if pulse.closed_at else None
    shown = shuffled_comments(comments) if results.visible else []
    text = render_results_text(results, template, lang, shown, date=closed_on, closed=True)
    await context.bot.send_message(chat_id, _prefixed(heading, text))
    if results.visible:
        picture = await asyncio.to_thread(render_results_png, results, template, lang)
        await context.bot.send_photo(chat_id, InputFile(picture, filename="puls-resultat.png"))


async def list_results(update: Update, context: BotContext) -> None:
    """Staff see their pulses (admins everyone's) as buttons, newest first."""
    staff = await authorise(update, context)
    if staff is None:
        return
    lang = user_lang(update, context, staff)
    if not _private(update):
        await reply(update, t("core.private_only", lang))
        return
    pulses = await context.db.run(lambda s: pulse_store.pulses_for(s, staff=staff))
    if not pulses:
        await reply(update, t("pulse.results_none", lang))
        return
    now = context.now()
    rows = []
    for pulse in pulses:
        key = (
            "pulse.results_option_open"
            if pulse_store.is_open(pulse, now)
            else ("pulse.results_option_closed")
        )
        date = format_date_short(_local(pulse.created_at, context).date(), lang)
        rows.append([(t(key, lang, label=pulse.label, date=date), f"pres:{pulse.id}:show")])
    await reply(update, t("pulse.results_pick", lang), keyboard(rows))


async def show_results(update: Update, context: BotContext) -> None:
    """A pulse's results; for an open pulse its count so far and the choice to close it."""
    actions = ("show", "close", "closeyes", "keep")
    press = await staff_press(
        update,
        context,
        "pres",
        2,
        valid=lambda p: parse_id(p[0]) is not None and p[1] in actions and _private(update),
    )
    if press is None:
        return
    query, staff, lang = press.query, press.staff, press.lang
    pulse_id, action = int(press.parts[0]), press.parts[1]
    pulse = await context.db.run(lambda s: pulse_store.get_pulse(s, pulse_id=pulse_id))
    # Admins may look at every pulse's results, but only the organiser closes a pulse early.
    organiser = staff.id == pulse.organiser_id if pulse is not None else False
    if (
        pulse is None
        or not pulse_store.may_see_results(pulse, staff)
        or (action != "show" and not organiser)
    ):
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return
    await query.answer()
    now = context.now()
    template = pulse_store.pulse_template(pulse)
    chat = update.effective_chat
    assert chat is not None
    if action == "closeyes" and pulse_store.is_open(pulse, now):
        pulse = (
            await context.db.run(lambda s: _close_now(s, pulse_id, now, delivered=True)) or pulse
        )
        await context.db.truncate_log_async()
        logger.info("Pulse %s closed by its organiser", pulse_id)
    if not pulse_store.is_open(pulse, now):
        if pulse.closed_at is None:  # due, but the job has not closed it yet
            pulse = (
                await context.db.run(lambda s: _close_now(s, pulse_id, now, delivered=organiser))
                or pulse
            )
            await context.db.truncate_log_async()
        await _drop_drafts_of_closed(context, [pulse_id])
        heading = t("pulse.results_label", lang, label=pulse.label)
        await send_results(context, chat.id, pulse, lang, heading)
        return
    if action == "close":
        rows = [
            [(t("pulse.close_yes", lang), f"pres:{pulse_id}:closeyes")],
            [(t("pulse.close_no", lang), f"pres:{pulse_id}:keep")],
        ]
        await edit_or_send(
            update, t("pulse.close_confirm", lang, label=pulse.label), keyboard(rows)
        )
        return
    if action in ("keep", "closeyes"):
        await edit_or_send(update, t("pulse.close_kept", lang))
        return
    count = await context.db.run(lambda s: pulse_store.answer_count(s, pulse_id=pulse_id))
    # Never the exact count while open: watching it step from k-1 to k would tell the
    # organiser when one person answered (and, with their own answers, what).
    shown = "count_at_least_k" if count >= pulse.k else "count_below_k"
    text = t(
        "pulse.results_open",
        lang,
        title=template.title.get(lang),
        label=pulse.label,
        count=t(f"pulse.{shown}", lang, k=pulse.k),
        closes=format_datetime(_local(pulse.closes_at, context), lang),
    )
    close = keyboard([[(t("pulse.close_now", lang), f"pres:{pulse_id}:close")]])
    await reply(update, text, close if organiser else None)


def _close_now(
    session: Session, pulse_id: int, now: dt.datetime, *, delivered: bool
) -> Pulse | None:
    """Close the pulse; ``delivered``: the organiser is looking at the results, so the
    closing job need not send them."""
    pulse = pulse_store.close_pulse(session, pulse_id=pulse_id, now=now)
    if delivered:
        pulse_store.claim_notification(session, pulse_id=pulse_id, now=now)
    return pulse


# -- trends -------------------------------------------------------------------------------


async def pick_trend(update: Update, context: BotContext) -> None:
    """Staff pick the template whose trend they want to see."""
    staff = await authorise(update, context)
    if staff is None:
        return
    lang = user_lang(update, context, staff)
    if not _private(update):
        await reply(update, t("core.private_only", lang))
        return
    templates = await _templates(context)
    rows = [
        [(_template_label(template, lang), f"ptr:{key}")] for key, template in templates.items()
    ]
    await reply(update, t("pulse.trend_pick", lang), keyboard(rows))


def _scope_text(scope: pulse_store.TrendScope, lang: Lang) -> str:
    if scope.organiser_id is not None:
        return t("pulse.trend_scope_own", lang)
    if scope.municipality is not None:
        municipality = municipality_label(scope.municipality, lang)
        return t("pulse.trend_scope_municipality", lang, municipality=municipality)
    return t("pulse.trend_scope_all", lang)


async def show_trend(update: Update, context: BotContext) -> None:
    """A template's trend over the last closed pulses in the person's scope: text and chart."""
    templates = await _templates(context)
    press = await staff_press(
        update, context, "ptr", 1, valid=lambda p: p[0] in templates and _private(update)
    )
    if press is None:
        return
    query, staff, lang, template = press.query, press.staff, press.lang, templates[press.parts[0]]
    await query.answer()
    scope, tz = pulse_store.trend_scope(staff), context.settings.tz
    points = await context.db.run(
        lambda s: pulse_store.trend_points(s, template_key=template.key, scope=scope, tz=tz)
    )
    text = render_trend_text(points, template, lang)
    await edit_or_send(update, _prefixed(_scope_text(scope, lang), text))
    if points:
        picture = await asyncio.to_thread(render_trend_png, points, template, lang)
        chat = update.effective_chat
        assert chat is not None
        await chat.send_photo(InputFile(picture, filename="puls-trend.png"))


# -- the closing job ----------------------------------------------------------------------


async def _end_drafts(context: BotContext, entries: list[DraftEntry], key: str) -> None:
    """Replace the answering messages of dropped unfinished answers with the text ``key``."""
    for entry in entries:
        try:
            await context.bot.edit_message_text(
                t(key, entry.lang), chat_id=entry.chat_id, message_id=entry.message_id
            )
        except (BadRequest, Forbidden, NetworkError):
            logger.debug("A dropped pulse answer's message could not be updated")


async def _drop_drafts_of_closed(context: BotContext, pulse_ids: list[int]) -> None:
    # They can no longer be sent: say so now rather than after the last tap, and forget them.
    drafts = _drafts(context)
    now = context.now()
    entries = [entry for pulse_id in pulse_ids for entry in drafts.pop_pulse(pulse_id, now)]
    await _end_drafts(context, entries, "pulse.closed")


async def _notify_organiser(context: BotContext, pulse_id: int, now: dt.datetime) -> None:
    def claim(session: Session) -> tuple[Pulse, Staff] | None:
        if not pulse_store.claim_notification(session, pulse_id=pulse_id, now=now):
            return None
        pulse = pulse_store.get_pulse(session, pulse_id=pulse_id)
        assert pulse is not None
        organiser = staff_store.get_staff_by_id(session, staff_id=pulse.organiser_id)
        return (pulse, organiser) if organiser is not None and organiser.active else None

    claimed = await context.db.run(claim)
    if claimed is None:
        return
    pulse, organiser = claimed
    lang = as_lang(organiser.language)
    heading = t("pulse.closed_notice", lang, label=pulse.label)
    try:
        await send_results(context, organiser.telegram_id, pulse, lang, heading)
    except (BadRequest, Forbidden, NetworkError) as exc:
        # The organiser can still ask with /puls_resultat.
        logger.warning("Pulse %s: results not delivered (%s)", pulse_id, type(exc).__name__)


async def close_due_pulses(context: BotContext) -> None:
    """Every minute: drop expired drafts, close due pulses, send their organisers the results."""
    now = context.now()
    await _end_drafts(context, _drafts(context).pop_expired(now), "pulse.expired")
    closed = await context.db.run(lambda s: pulse_store.close_due_pulses(s, now=now))
    if closed:
        await context.db.truncate_log_async()
        logger.info("Closed %d pulse(s)", len(closed))
        await _drop_drafts_of_closed(context, closed)
    for pulse_id in await context.db.run(pulse_store.pulses_to_notify):
        await _notify_organiser(context, pulse_id, now)


async def _load_secret(app: DalsbotApp) -> None:
    # At start-up, so a short DALSBOT_PULSE_SECRET stops the bot with a clear message.
    data = app.bot_data
    data.services["pulse_secret"] = await asyncio.to_thread(load_pulse_secret, data.settings)


def register(app: DalsbotApp) -> None:
    """The draft store, the secret, the comment catcher and the closing job."""
    app.bot_data.services["pulse_drafts"] = PulseDrafts()
    app.bot_data.services.setdefault("post_init_hooks", []).append(_load_secret)
    # Group -1: checked before every feature's free-text handler, and it only keeps the text
    # (ApplicationHandlerStop) when the person is writing a pulse comment.
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, type_comment),
        group=-1,
    )
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            close_due_pulses,
            interval=JOB_INTERVAL_SECONDS,
            first=JOB_INTERVAL_SECONDS,
            name=JOB_NAME,
        )


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The pulse handlers; the deep link must come before the generic /start."""
    new_pulse: ConversationHandler[BotContext] = ConversationHandler(
        entry_points=[CommandHandler("puls", start_pulse)],
        states={
            TEMPLATE: [
                CallbackQueryHandler(pick_template, pattern=r"^pnew:tpl:"),
                MessageHandler(filters.TEXT & ~filters.COMMAND, expect_button),
            ],
            LABEL: [MessageHandler(filters.TEXT & ~filters.COMMAND, type_label)],
            CLOSING: [
                CallbackQueryHandler(pick_closing, pattern=r"^pnew:close:"),
                MessageHandler(filters.TEXT & ~filters.COMMAND, expect_button),
            ],
            K: [
                CallbackQueryHandler(pick_k, pattern=r"^pnew:k:"),
                MessageHandler(filters.TEXT & ~filters.COMMAND, expect_button),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel_new_pulse)],
        name="new_pulse",
        conversation_timeout=30 * 60,
    )
    return [
        CommandHandler(
            "start", open_pulse, filters.ChatType.PRIVATE & filters.Regex(PULSE_LINK.pattern)
        ),
        CommandHandler(
            "start", open_invite, filters.ChatType.PRIVATE & filters.Regex(INVITE_LINK.pattern)
        ),
        new_pulse,
        CallbackQueryHandler(tap_answer, pattern=r"^pa:"),
        CallbackQueryHandler(send_to_plan, pattern=r"^ppl:"),
        CallbackQueryHandler(make_invited_only, pattern=r"^pinv:"),
        CallbackQueryHandler(send_own_link, pattern=r"^pown:"),
        CommandHandler("puls_resultat", list_results),
        CallbackQueryHandler(show_results, pattern=r"^pres:"),
        CommandHandler("puls_trend", pick_trend),
        CallbackQueryHandler(show_trend, pattern=r"^ptr:"),
    ]
