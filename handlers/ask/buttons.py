"""The knowledge base's button kinds (see bot/buttons.py), one class per shape of ``kb`` data.

Every ``kb`` button works from any message (an answer card, an article list, a forwarded
question) and carries only ids: each press reloads what it names and the presser's rights.
"""

from __future__ import annotations

import enum
import re
from typing import Final, Literal, get_args

from bot.buttons import ButtonData, Page, RowId, Small, Token
from bot.i18n import Lang
from storage.knowledge import store as kb_store

# An article id as the knowledge base's checker allows it (lower-case words joined by "-").
ARTICLE_ID: Final = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")

Vote = Literal["up", "down"]
if set(get_args(Vote)) != set(kb_store.VOTES):  # the buttons offer exactly the stored votes
    raise RuntimeError("Vote must list storage.knowledge.store.VOTES")


# A card's lead when the question has no related article of its own.
NO_LEAD: Final = "-"


class View(enum.IntFlag):
    """How an answer card is drawn (a card button carries it; it only changes the display)."""

    NONE = 0
    EXPANDED = 1  # the whole article instead of the short answer
    MENU = 2  # "More ▾" open: related articles, the coordinator, "Less ▴"
    SAFETY = 4  # the question may be about a child in danger: a line about 112
    UNSUPPORTED = 8  # asked in another language: the bilingual note first


class CardButton(ButtonData, prefix="kb"):
    """``kb:card:<question log id>:<view>:<lead>``: redraw answer card ``log id`` in place as
    ``view`` (read more or less, open or close "More ▾"); ``lead`` is the question's own first
    related article or ``-``."""

    action: Literal["card"]
    log_id: RowId
    view: Small
    lead: Token

    @property
    def well_formed(self) -> bool:
        """True when the view is one a card has and the lead can be an article id."""
        known = self.view <= max(View)
        return known and (self.lead == NO_LEAD or ARTICLE_ID.fullmatch(self.lead) is not None)


class ArticleButton(ButtonData, prefix="kb"):
    """``kb:more:<article id>:<lang>`` (the whole article; on cards sent before "read more"
    redrew the card) or ``kb:art:<article id>:<lang>`` (its answer card, from a related,
    suggestion or topic button)."""

    action: Literal["more", "art"]
    article_id: Token
    lang: Lang

    @property
    def well_formed(self) -> bool:
        """True when the id can be an article's (whether it exists is the knowledge base's
        to say)."""
        return ARTICLE_ID.fullmatch(self.article_id) is not None


class VoteButton(ButtonData, prefix="kb"):
    """``kb:vote:<question log id>:up|down``: 👍/👎 on an answer card."""

    action: Literal["vote"]
    log_id: RowId
    vote: Vote


class ForwardButton(ButtonData, prefix="kb"):
    """``kb:coord:<question log id>``: pass the question on to a coordinator."""

    action: Literal["coord"]
    log_id: RowId


class ReplyButton(ButtonData, prefix="kb"):
    """``kb:reply:<coordinator question id>``: a coordinator answers a passed-on question (or
    writes again in the thread they answered)."""

    action: Literal["reply"]
    forwarded_id: RowId


class ThreadButton(ButtonData, prefix="kb"):
    """``kb:again:<coordinator question id>`` (the asker writes back to the coordinator who
    answered) or ``kb:thanks:<coordinator question id>`` (the asker thanks them)."""

    action: Literal["again", "thanks"]
    forwarded_id: RowId


class ArticlesPageButton(ButtonData, prefix="kb"):
    """``kb:page:<page>``: ◀/▶ in /artiklar."""

    action: Literal["page"]
    page: Page
