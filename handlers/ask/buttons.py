"""The knowledge base's button kinds (see bot/buttons.py), one class per shape of ``kb`` data.

Every ``kb`` button works from any message (an answer card, an article list, a forwarded
question) and carries only ids: each press reloads what it names and the presser's rights.
"""

from __future__ import annotations

import re
from typing import Final, Literal, get_args

from bot.buttons import ButtonData, Page, RowId, Token
from bot.i18n import Lang
from storage.knowledge import store as kb_store

# An article id as the knowledge base's checker allows it (lower-case words joined by "-").
ARTICLE_ID: Final = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")

Vote = Literal["up", "down"]
if set(get_args(Vote)) != set(kb_store.VOTES):  # the buttons offer exactly the stored votes
    raise RuntimeError("Vote must list storage.knowledge.store.VOTES")


class ArticleButton(ButtonData, prefix="kb"):
    """``kb:more:<article id>:<lang>`` (the whole article) or ``kb:art:<article id>:<lang>``
    (its answer card, from a related, suggestion or topic button)."""

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
    """``kb:reply:<coordinator question id>``: a coordinator answers a passed-on question."""

    action: Literal["reply"]
    forwarded_id: RowId


class ArticlesPageButton(ButtonData, prefix="kb"):
    """``kb:page:<page>``: ◀/▶ in /artiklar."""

    action: Literal["page"]
    page: Page
