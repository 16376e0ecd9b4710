"""The knowledge-base editors' buttons (typed, see bot/buttons.py). Each carries ids only:
every press reloads the article, the proposal and the presser's rights from the database."""

from __future__ import annotations

from typing import Literal

from bot.buttons import ButtonData, Page, RowId, Small, Token
from bot.i18n import Lang, t
from storage.people.models import Role, Staff

Lang2 = Literal["sv", "en"]


class KbPageButton(ButtonData, prefix="kbp"):
    """``kbp:<page>``: a page of /kb_artikel's list of articles."""

    page: Page


class KbOpenButton(ButtonData, prefix="kbo"):
    """``kbo:<article id>:<lang>``: the article's editor card."""

    article_id: Token
    lang: Lang2


class KbFieldButton(ButtonData, prefix="kbf"):
    """``kbf:<field>:<article id>:<lang>``: what to change on the article (or cancel)."""

    action: Literal["short", "title", "addq", "rmq", "send", "redo", "cancel"]
    article_id: Token
    lang: Lang2


class KbRemoveQuestionButton(ButtonData, prefix="kbq"):
    """``kbq:<article id>:<lang>:<n>``: remove the article's question number ``n``."""

    article_id: Token
    lang: Lang2
    index: Small


class KbDecideButton(ButtonData, prefix="kbd"):
    """``kbd:ok|no:<version id>``: approve or reject a proposal."""

    action: Literal["ok", "no"]
    version_id: RowId


class KbEditorButton(ButtonData, prefix="kbed"):
    """``kbed:view|on|off:<staff id>``: a person's editor permission, from /staff."""

    action: Literal["view", "on", "off"]
    staff_id: RowId


def editor_row(person: Staff, lang: Lang) -> list[tuple[str, str]] | None:
    """The button on a person's /staff card (none for an admin: always an editor)."""
    if person.id is None or person.role == Role.ADMIN.value:
        return None
    return [(t("kb.editor_button", lang), KbEditorButton("view", person.id).pack())]
