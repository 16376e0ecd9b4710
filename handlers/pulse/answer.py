"""Answering a pulse: the deep link, one message edited as the person taps, the comment, sending.

Anyone may answer (no registration). The unfinished answer is kept in the database by keyed
hashes only (handlers/pulse/unfinished.py)."""

from __future__ import annotations

import contextlib
import functools
import html
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Final, Literal, Self, get_args

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
)

from bot.buttons import ButtonData, RowId
from bot.context import BotContext
from bot.i18n import Lang, t
from bot.metrics import PULSE_ANSWERS
from handlers.common import (
    edit_or_send,
    keyboard,
    parse_mode,
    reply,
    user_lang,
)
from handlers.pulse.common import (
    flow_takes,
    is_cancel,
    local_time,
    pulse_secret,
)
from handlers.pulse.render import MESSAGE_LIMIT, error_params, visible_length
from handlers.pulse.unfinished import (
    DraftEntry,
    awaiting_comment,
    change_draft,
    draft_keeper,
    drafts_of,
    save_draft,
    take_draft,
    take_draft_and,
)
from storage.people import store as staff_store
from storage.pulse import store as pulse_store
from storage.pulse.logic import DRAFT_TTL, CommentError, DraftError, PulseAnswerDraft, answer_key
from storage.pulse.models import Pulse

logger = logging.getLogger(__name__)

PULSE_LINK: Final = re.compile(r"^/start(?:@\w+)?\s+pulse_([A-Za-z0-9_-]{1,58})\s*$")
# A personal one-time link to an invited-only pulse.
INVITE_LINK: Final = re.compile(r"^/start(?:@\w+)?\s+pinv_([A-Za-z0-9_-]{16,40})\s*$")


# -- the answering buttons -----------------------------------------------------------------

# "q<n>": a score or "skip" for the n-th question (from 0).
QuestionAction = Literal["q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9"]
AnswerAction = Literal[QuestionAction, "back", "edit", "com", "sum", "send"]
# A question index, a score, or 0 for the actions that need no argument.
Digit = Literal[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
AnswerArgument = Literal[Digit, "skip", "nocom"]
_QUESTIONS: Final[tuple[QuestionAction, ...]] = get_args(QuestionAction)
_DIGITS: Final[tuple[Digit, ...]] = get_args(Digit)
_SCORES: Final = _DIGITS[1:6]


class PulseAnswerButton(ButtonData, prefix="pa"):
    """A tap on the answering message, ``pa:<pulse id>:<action>:<argument>``: ``q<n>`` with a
    score 1–5 or ``skip``; ``edit`` with a question index; ``back``, ``com`` (write a comment)
    and ``sum`` (back to the summary) with 0; ``send`` with 0 or ``nocom`` (without the
    comment). Anyone may press these (no registration), so they are parsed with ``parse``."""

    pulse_id: RowId
    action: AnswerAction
    argument: AnswerArgument

    @classmethod
    def on_question(cls, pulse_id: int, index: int, argument: AnswerArgument) -> Self:
        """A button of question ``index`` (from 0): a score or ``skip``."""
        return cls(pulse_id, _QUESTIONS[index], argument)

    @property
    def question(self) -> int | None:
        """The question (from 0) of a ``q<n>`` button; None for the other actions."""
        return _QUESTIONS.index(self.action) if self.action in _QUESTIONS else None


def is_answer_tap(data: object) -> bool:
    """The pattern of ``tap_answer``: every ``pa:`` press, well-formed or not, so that forged
    data gets the answering message's own alert."""
    return isinstance(data, str) and data.startswith(f"{PulseAnswerButton.PREFIX}:")


# -- answering ----------------------------------------------------------------------------


def _score_label(score: int | None, lang: Lang) -> str:
    return t("pulse.skipped", lang) if score is None else str(score)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def answer_view(entry: DraftEntry, pulse_id: int) -> tuple[str, InlineKeyboardMarkup]:
    """The answering message (HTML) for the draft's current step: a question, the summary, or
    the comment prompt. The comment shows in an expandable quote, so the summary stays short
    even with a long comment."""
    draft, template, lang = entry.draft, entry.template, entry.lang
    title, label = _escape(template.title.get(lang)), _escape(entry.label)
    heading = f"<b>{t('pulse.answer_heading', lang, title=title, label=label)}</b>"
    if entry.awaiting_comment:
        text = "\n\n".join(
            [heading, _escape(template.comment_prompt.get(lang)), t("pulse.comment_hint", lang)]
        )
        return text, keyboard(
            [
                [(t("pulse.back", lang), PulseAnswerButton(pulse_id, "sum", 0).pack())],
                [
                    (
                        t("pulse.send_without_comment", lang),
                        PulseAnswerButton(pulse_id, "send", "nocom").pack(),
                    )
                ],
            ]
        )
    if draft.at_comment:
        lines = [heading, "", t("pulse.summary_title", lang)]
        for number, question in enumerate(template.questions, start=1):
            score = _score_label(draft.scores.get(question.key), lang)
            short = _escape(question.short.get(lang))
            lines.append(t("pulse.summary_line", lang, number=number, short=short, score=score))
        lines.append("")
        hint = ["", t("pulse.change_hint", lang)]
        if draft.comment:
            lines.append(t("pulse.summary_comment", lang))
            # The whole message stays within a phone's limit: a very long comment is shown
            # cut (it is stored whole).
            room = MESSAGE_LIMIT - visible_length("\n".join([*lines, *hint])) - 2
            shown = draft.comment if len(draft.comment) <= room else draft.comment[: room - 1] + "…"
            lines.append(f"<blockquote expandable>{_escape(shown)}</blockquote>")
        else:
            lines.append(t("pulse.summary_no_comment", lang))
        lines += hint
        changes = [
            (
                t("pulse.change_question", lang, number=index + 1),
                PulseAnswerButton(pulse_id, "edit", _DIGITS[index]).pack(),
            )
            for index in range(len(template.questions))
        ]
        comment_key = "pulse.edit_comment" if draft.comment else "pulse.add_comment"
        send_key = "pulse.send" if draft.comment else "pulse.send_without_comment"
        rows = [
            changes,
            [(t(comment_key, lang), PulseAnswerButton(pulse_id, "com", 0).pack())],
            [("✅ " + t(send_key, lang), PulseAnswerButton(pulse_id, "send", 0).pack())],
        ]
        return "\n".join(lines), keyboard(rows)
    index = draft.index
    question = template.questions[index]
    lines = [
        heading,
        t("pulse.anonymous_note", lang),
        "",
        t("pulse.progress", lang, number=index + 1, total=len(template.questions)),
        _escape(question.text.get(lang)),
        t(
            "pulse.scale_hint",
            lang,
            low=_escape(question.low.get(lang)),
            high=_escape(question.high.get(lang)),
        ),
    ]
    current = draft.scores.get(question.key)
    if current is not None:
        lines.append(t("pulse.your_answer", lang, score=current))
    scores = [
        (str(score), PulseAnswerButton.on_question(pulse_id, index, score).pack())
        for score in _SCORES
    ]
    skip = PulseAnswerButton.on_question(pulse_id, index, "skip")
    controls = [(t("pulse.skip", lang), skip.pack())]
    if index > 0:
        controls.append((t("pulse.back", lang), PulseAnswerButton(pulse_id, "back", 0).pack()))
    return "\n".join(lines), keyboard([scores, controls])


def apply_tap(entry: DraftEntry, button: PulseAnswerButton) -> None:
    """Change the draft as ``button`` says; DraftError when it cannot."""
    draft, questions = entry.draft, entry.draft.questions
    action, argument, index = button.action, button.argument, button.question
    if index is not None:
        if index >= len(questions):
            raise DraftError("no such question")
        if argument == "skip":
            entry.draft = draft.skip(questions[index])
        elif isinstance(argument, int) and argument in _SCORES:
            entry.draft = draft.set_score(argument, questions[index])
        else:
            raise DraftError("not a score")
        entry.awaiting_comment = False
    elif action == "back" and argument == 0:
        entry.draft, entry.awaiting_comment = draft.back(), False
    elif action == "edit" and isinstance(argument, int) and argument < len(questions):
        entry.draft, entry.awaiting_comment = draft.change(questions[argument]), False
    elif action == "com" and argument == 0 and draft.is_complete:
        entry.awaiting_comment = True
    elif action == "sum" and argument == 0 and draft.is_complete:
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
    user_id, chat_id = user.id, chat.id
    secret = pulse_secret(context)
    now = context.now()
    keep = draft_keeper(context, user_id, chat_id)

    def look_up(session: Session) -> tuple[str | None, DraftEntry | None, Lang]:
        """Why the person cannot answer (a text's key), or their new draft, kept before the
        message is sent (a quick tap may arrive before the send returns): one transaction."""
        pulse = find(session)
        staff = staff_store.get_staff(session, telegram_id=user_id)
        lang = user_lang(update, context, staff)
        if pulse is None or pulse.id is None:
            return ("pulse.invite_used" if invite is not None else "pulse.unknown_link"), None, lang
        if not pulse_store.is_open(pulse, now):
            return "pulse.closed", None, lang
        if pulse.invited_only and invite is None:
            return "pulse.invited_only", None, lang
        key_hash = answer_key(secret, pulse.id, user_id)
        if pulse_store.has_answered(session, pulse_id=pulse.id, key_hash=key_hash):
            return "pulse.already_answered", None, lang
        template = pulse_store.pulse_template(pulse)
        entry = DraftEntry(
            draft=PulseAnswerDraft.start(pulse.id, template.question_keys, now),
            template=template,
            label=pulse.label,
            lang=lang,
            invite=invite,
        )
        # Opening the link again starts over; the older message's buttons stop working.
        keep(session, entry)
        return None, entry, lang

    refusal, entry, lang = await context.db.run(look_up)
    if entry is None:
        await reply(update, t(refusal or "pulse.unknown_link", lang))
        return
    pulse_id = entry.draft.pulse_id
    text, markup = answer_view(entry, pulse_id)
    sent = await chat.send_message(text, reply_markup=markup, parse_mode=parse_mode(True))
    entry.message_id = sent.message_id
    await save_draft(context, pulse_id, user_id, entry, chat_id)


async def tap_answer(update: Update, context: BotContext) -> None:
    """A tap on the answering message: a score, skip, back, change, comment or send."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = PulseAnswerButton.parse(query.data)
    message, now = query.message, context.now()
    outcome: list[str] = []

    def tap(entry: DraftEntry) -> bool:
        """Apply the tap to the draft read in the same transaction; True: store it again.
        Asked again if the draft changed meanwhile (another process): only the last counts."""
        assert button is not None and message is not None
        outcome.clear()
        # message_id 0: the message is still being sent, and a tap on it may already arrive.
        if entry.message_id not in (0, message.message_id):
            outcome.append("invalid")
        elif entry.draft.is_expired(now):
            outcome.append("expired")
        elif button.action == "send" and button.argument in (0, "nocom"):
            outcome.append("send" if entry.draft.is_complete else "invalid")
        else:
            try:
                apply_tap(entry, button)
            except DraftError:
                outcome.append("invalid")
                return False
            entry.draft = replace(entry.draft, expires_at=now + DRAFT_TTL)
            outcome.append("changed")
            return True
        return False

    entry = None
    if button is not None and message is not None:
        entry = await change_draft(context, button.pulse_id, user.id, message.chat.id, tap)
    if button is None or entry is None or outcome == ["invalid"]:
        lang = entry.lang if entry is not None else user_lang(update, context)
        await query.answer(t("pulse.button_invalid", lang), show_alert=True)
        return
    pulse_id = button.pulse_id
    if outcome == ["expired"]:
        await take_draft(context, pulse_id, user.id)
        await query.answer()
        await edit_or_send(update, t("pulse.expired", entry.lang))
        return
    if outcome == ["send"]:
        without_comment = button.argument == "nocom"
        await submit_answer(update, context, pulse_id, entry, without_comment=without_comment)
        return
    # The next question first, where the person is looking; then the press is answered
    # (which only ends the button's spinner), also when the edit failed.
    try:
        await edit_or_send(update, *answer_view(entry, pulse_id), html=True)
    finally:
        with contextlib.suppress(TelegramError):
            await query.answer()


async def submit_answer(
    update: Update, context: BotContext, pulse_id: int, entry: DraftEntry, *, without_comment: bool
) -> None:
    """Store the answer anonymously: first the person's marker, then, in a separate
    transaction, the answer itself (see storage/pulse/models.py for why)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    try:
        await _submit(update, context, pulse_id, entry, without_comment=without_comment)
    finally:
        # After the person sees the outcome (which only ends the button's spinner).
        await query.answer()


async def _submit(
    update: Update, context: BotContext, pulse_id: int, entry: DraftEntry, *, without_comment: bool
) -> None:
    user = update.effective_user
    assert user is not None
    draft = replace(entry.draft, comment="") if without_comment else entry.draft
    scores, comment = draft.to_answer(), draft.comment
    key_hash = answer_key(pulse_secret(context), pulse_id, user.id)
    now = context.now()
    answered_on = local_time(now, context).date()
    # The draft is taken out in the marker's transaction (never the answer's), so a double
    # tap on "send", in this process or another, finds no draft and stores nothing.
    claim = await take_draft_and(
        context,
        pulse_id,
        user.id,
        lambda s: pulse_store.claim_respondent(
            s, pulse_id=pulse_id, key_hash=key_hash, now=now, invite=entry.invite
        ),
    )
    if claim is None:
        return
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
    PULSE_ANSWERS.inc()
    await edit_or_send(update, t("pulse.thanks", entry.lang))


async def type_comment(update: Update, context: BotContext) -> None:
    """After "add a comment", the person's next text is the comment (checked, redacted).

    Runs in an earlier handler group than every other text handler. Only the explicit comment
    step takes text: any other text, also in the middle of an answer, goes on to the other
    features (a question, a flow's step), and the answering buttons keep working.
    """
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    now = context.now()
    waiting = await awaiting_comment(context, user.id, now)
    if isinstance(waiting, bool):
        # A comment typed just after its answer was dropped is never taken as a question
        # (the knowledge base would log it with the person's staff id).
        if waiting:
            await reply(update, t("pulse.comment_late", user_lang(update, context)))
            raise ApplicationHandlerStop
        return
    pulse_id, entry = waiting
    if entry.draft.is_expired(now):
        await take_draft(context, pulse_id, user.id)
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
    await save_draft(context, pulse_id, user.id, entry, message.chat_id)
    text, markup = answer_view(entry, pulse_id)
    sent = await message.chat.send_message(text, reply_markup=markup, parse_mode=parse_mode(True))
    entry.message_id = sent.message_id
    await save_draft(context, pulse_id, user.id, entry, message.chat_id)
    try:
        await context.bot.delete_message(message.chat_id, old_message_id)
    except BadRequest:
        logger.debug("The earlier pulse message was already gone")
    raise ApplicationHandlerStop


async def cancel_answer(update: Update, context: BotContext) -> None:
    """/cancel while answering a pulse: the unfinished answer ends (nothing of it is stored),
    its buttons go, and the person is told in one line. A flow running beside it is cancelled
    by its own /cancel, whose line then says it."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    mine = await drafts_of(context, user.id)
    taken = [entry for pulse_id, entry in mine if await take_draft(context, pulse_id, user.id)]
    if not taken:
        return
    for entry in taken:
        if entry.message_id:
            try:
                await context.bot.edit_message_reply_markup(chat.id, entry.message_id)
            except BadRequest:
                logger.debug("The cancelled pulse answer's message was already gone")
    if flow_takes(update, context):
        return
    await reply(update, t("pulse.answer_cancelled", taken[0].lang))
    raise ApplicationHandlerStop


async def first_look(update: Update, context: BotContext) -> None:
    """What the pulse sees of a person's text before every feature: /cancel, or a comment."""
    message = update.effective_message
    if message is not None and is_cancel(message.text):
        await cancel_answer(update, context)
    else:
        await type_comment(update, context)
