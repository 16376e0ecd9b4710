"""The editor permission: an admin opens it from a person's card in /staff (one button),
sees whether the person is an editor and grants or removes it with one tap; the person is
told. Admins are always editors. Every press is checked again (an admin, the person still
here)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from bot.i18n import Lang, as_lang, t
from handlers.common import ADMIN_ONLY, checked_press, edit_or_send, keyboard
from handlers.kb.buttons import KbEditorButton
from handlers.kb.edit import tell
from handlers.people.buttons import StaffButton
from storage.knowledge import articles as store
from storage.people import store as staff_store
from storage.people.models import Role, Staff


def _screen(person: Staff, editor: bool, lang: Lang) -> tuple[str, list[list[tuple[str, str]]]]:
    assert person.id is not None
    back = [(t("kb.back_button", lang), StaffButton("view", person.id).pack())]
    if person.role == Role.ADMIN.value:
        return t("kb.editor_admin", lang, name=person.display_name), [back]
    if editor:
        text = t("kb.editor_is", lang, name=person.display_name)
        change = (t("kb.editor_revoke", lang), KbEditorButton("off", person.id).pack())
    else:
        text = t("kb.editor_is_not", lang, name=person.display_name)
        change = (t("kb.editor_grant", lang), KbEditorButton("on", person.id).pack())
    return text, [[change], back]


async def editor_button(update: Update, context: BotContext) -> None:
    """The permission screen, and "make editor" / "remove as editor" (then the person told)."""
    press = await checked_press(update, context, KbEditorButton, roles=ADMIN_ONLY)
    if press is None:
        return
    lang, person_id, action = press.lang, press.data.staff_id, press.data.action
    person = await context.db.run(staff_store.get_staff_by_id, staff_id=person_id)
    if person is None:
        await press.query.answer(t("core.admin_gone", lang), show_alert=True)
        return
    if action == "view" or person.role == Role.ADMIN.value:
        editor = await context.db.run(store.is_editor, person_id)
        await press.query.answer()
        text, rows = _screen(person, editor, lang)
        await edit_or_send(update, text, keyboard(rows))
        return
    grant, admin_id, now = action == "on", press.staff_id, context.now()
    changed = await context.db.run(
        lambda s: store.set_editor(
            s, staff_id=person_id, editor=grant, by_staff_id=admin_id, now=now
        )
    )
    await press.query.answer()
    text, rows = _screen(person, grant, lang)
    done = t("kb.editor_granted" if grant else "kb.editor_revoked", lang, name=person.display_name)
    await edit_or_send(update, done, keyboard(rows[1:]))
    if changed:
        their = as_lang(person.language)
        notice = "kb.editor_granted_notice" if grant else "kb.editor_revoked_notice"
        await tell(context, person.telegram_id, t(notice, their))


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The editor permission's buttons."""
    return [CallbackQueryHandler(editor_button, pattern=KbEditorButton.matching())]
