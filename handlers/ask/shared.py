"""What the knowledge base's handler modules share: the knowledge base and phone numbers loaded
at start-up, sending a card, and the person's pending text (a question or a reply)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from telegram import Update

from bot.context import BotContext
from bot.state import flow_draft
from handlers.ask.render import Card
from handlers.common import keyboard, reply
from knowledge.contacts import Contacts
from knowledge.service import KnowledgeBase

EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def knowledge_base(context: BotContext) -> KnowledgeBase:
    """The knowledge base loaded at start-up (``handlers.ask.admin.register``)."""
    return context.data.services.get(KnowledgeBase)


def contact_numbers(context: BotContext) -> Contacts:
    """The emergency card's phone numbers loaded at start-up (``handlers.ask.admin.register``)."""
    return context.data.services.get(Contacts)


async def send_card(update: Update, card: Card) -> None:
    """Send a card (HTML) to the update's chat, without link previews (a source link would
    otherwise fill the phone screen: ``reply`` sends none)."""
    await reply(update, card.text, keyboard(card.rows) if card.rows else None, html=True)


@flow_draft("pending_text")
@dataclass
class PendingText:
    """The person's next text in ``chat`` is a question (after /fraga) or a coordinator's
    reply to question ``forwarded_id`` (after "Svara"), if it comes within 30 minutes."""

    kind: str = "question"  # question or reply
    chat: int = 0
    at: dt.datetime = EPOCH
    forwarded_id: int = 0
