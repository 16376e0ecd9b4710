"""Approve or reject a proposal: the other editors and admins get it with two buttons. Only an
editor or an admin may decide, never the proposer (checked again in the database on every
press); an approval is live at once for everyone (this process rebuilds its index now, the
others at their next revision check), and the proposer is told either way."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from bot.i18n import as_lang, t
from handlers.common import checked_press, edit_or_send
from handlers.kb.buttons import KbDecideButton
from handlers.kb.edit import tell
from knowledge.service import KnowledgeBase
from storage.knowledge import articles as store
from storage.people import store as staff_store
from storage.people.models import Staff

logger = logging.getLogger(__name__)


async def decide_proposal(update: Update, context: BotContext) -> None:
    """✅ / ❌ on a proposal: checked against the database (an editor or admin, not the
    proposer, still undecided), then made live or rejected, and the proposer told."""
    press = await checked_press(update, context, KbDecideButton)
    if press is None:
        return
    lang, approve, now = press.lang, press.data.action == "ok", context.now()
    decision = await context.db.run(
        lambda s: store.decide(
            s,
            version_id=press.data.version_id,
            approve=approve,
            by_staff_id=press.staff_id,
            now=now,
        )
    )
    status = decision.status
    if status is store.DecideStatus.GONE:
        await press.stale()
        return
    if status is store.DecideStatus.OWN:
        await press.query.answer(t("kb.own_proposal", lang), show_alert=True)
        return
    if status is store.DecideStatus.NOT_EDITOR:
        logger.warning("A proposal decision by a non-editor was refused")
        await press.query.answer(t("kb.not_editor", lang), show_alert=True)
        return
    if status is store.DecideStatus.ALREADY:
        await press.query.answer(t("kb.already_decided", lang), show_alert=True)
        with contextlib.suppress(BadRequest):
            await press.query.edit_message_reply_markup(None)
        return
    if status is store.DecideStatus.STALE:
        await press.query.answer(t("kb.stale_proposal", lang), show_alert=True)
    else:
        await press.query.answer()
    version = decision.version
    assert version is not None
    if status is store.DecideStatus.APPROVED:
        kb = context.data.services.get(KnowledgeBase)
        await asyncio.to_thread(kb.refresh, force=True)
        logger.info(
            "Knowledge-base proposal %d approved (revision %s)", version.id, decision.revision
        )
    key = {
        store.DecideStatus.APPROVED: "kb.approved_by",
        store.DecideStatus.STALE: "kb.stale_by",
    }.get(status, "kb.rejected_by")
    message = press.query.message
    shown = message.text if isinstance(message, Message) and message.text else ""
    await edit_or_send(update, f"{shown}\n\n{t(key, lang, name=press.staff.display_name)}")
    await _tell_proposer(context, version, press.staff, status)


async def _tell_proposer(
    context: BotContext, version: store.Version, decider: Staff, status: store.DecideStatus
) -> None:
    if version.created_by is None:
        return
    proposer = await context.db.run(staff_store.get_staff_by_id, staff_id=version.created_by)
    if proposer is None:
        return
    their = as_lang(proposer.language)
    key = {
        store.DecideStatus.APPROVED: "kb.approved_notice",
        store.DecideStatus.STALE: "kb.stale_notice",
    }.get(status, "kb.rejected_notice")
    await tell(
        context,
        proposer.telegram_id,
        t(key, their, title=version.content.title, name=decider.display_name),
    )


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The Approve / Reject buttons."""
    return [CallbackQueryHandler(decide_proposal, pattern=KbDecideButton.matching())]
