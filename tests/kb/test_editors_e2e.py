"""End to end over the real Application and the Bot API stand-in: an editor proposes a change
on a phone, another editor approves it and the next question gets the new answer; the
proposer cannot approve their own proposal; a forged callback is refused; the editor
permission is granted from /staff with taps."""

from __future__ import annotations

import datetime as dt

from bot.context import DalsbotApp
from bot.i18n import t, tn
from bot.settings import Settings
from bot.shell.app import build_application, running
from bot.shell.standin import BotApiStandIn, ChatEvent, SimUser
from handlers.kb.buttons import KbDecideButton
from knowledge.service import KnowledgeBase
from storage.knowledge import articles as store
from tests.ask.cards import shown
from tests.conftest import ADMIN_ID, FakeClock
from tests.helpers import staff_chat

NEW_SHORT = "Barnkontakten kallar till SIP-mötet och skickar kallelsen minst två veckor före mötet."
QUESTION = "vem kallar till SIP?"


def _editor(app: DalsbotApp, standin: BotApiStandIn, telegram_id: int, name: str) -> SimUser:
    user = staff_chat(app, standin, telegram_id, name, role="coordinator")
    db = app.bot_data.db

    def grant(session: store.Session) -> None:
        staff = store.select(store.Staff).where(store.Staff.telegram_id == telegram_id)
        person = session.exec(staff).one()
        assert person.id is not None
        store.set_editor(
            session, staff_id=person.id, editor=True, by_staff_id=None, now=dt.datetime.now(dt.UTC)
        )

    db.call(grant)
    return user


def _labels(event: ChatEvent) -> list[str]:
    return [button["text"] for button in event.buttons]


def _proposal_id(event: ChatEvent) -> int:
    button = KbDecideButton.parse(event.buttons[0]["callback_data"])
    assert button is not None
    return button.version_id


async def _propose_short_answer(editor: SimUser) -> ChatEvent:
    card = await editor.ask("/kb_artikel sip")
    assert card.text.startswith("✏️ ")
    assert _labels(card) == [
        t("kb.field_short", "sv"),
        t("kb.field_title", "sv"),
        t("kb.field_add_question", "sv"),
        t("kb.field_remove_question", "sv"),
        t("kb.cancel_button", "sv"),
    ]
    prompt = await editor.tap(card, t("kb.field_short", "sv"))
    assert prompt.text.startswith("Skriv det nya korta svaret")
    preview = await editor.ask(NEW_SHORT)
    assert preview.text.startswith("Förhandsvisning")
    assert f"Efter:\n{NEW_SHORT}" in preview.text
    assert _labels(preview)[0] == t("kb.send_button", "sv")
    return preview


async def test_a_proposal_approved_by_another_editor_answers_the_next_question(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    elin = _editor(app, standin, 201, "Elin Berg")
    olle = _editor(app, standin, 202, "Olle Ström")
    asker = staff_chat(app, standin, 203, "Pia Lund")
    admin = standin.user(ADMIN_ID, "Astrid")
    before = await asker.ask(QUESTION)
    assert NEW_SHORT not in shown(before)

    preview = await _propose_short_answer(elin)
    await elin.press(preview, t("kb.send_button", "sv"))
    proposal = await olle.reply()
    assert proposal.text.startswith("📝 Förslag från Elin Berg (svenska):")
    assert _labels(proposal) == [t("kb.approve_button", "sv"), t("kb.reject_button", "sv")]
    sent = await elin.reply()
    assert sent.text.endswith(tn("kb.sent", 2, "sv"))  # Olle and the admin

    # Unapproved, nothing has changed for users.
    assert NEW_SHORT not in shown(await asker.ask(QUESTION))

    # The proposer cannot approve their own proposal, even with forged button data.
    own = KbDecideButton("ok", _proposal_id(proposal)).pack()
    await elin.press(proposal, 0, data=own)
    assert (await elin.reply()).alert == t("kb.own_proposal", "sv")

    approved = await olle.tap(proposal, t("kb.approve_button", "sv"))
    assert approved.text.endswith(t("kb.approved_by", "sv", name="Olle Ström"))
    assert approved.buttons == []
    notice = await elin.reply()
    assert notice.text.startswith("✅ Ditt förslag för")

    after = await asker.ask(QUESTION)
    assert NEW_SHORT in shown(after)
    kb = app.bot_data.services.get(KnowledgeBase)
    assert kb.revision == app.bot_data.db.call(store.kb_revision)

    # The admin's copy of the proposal: already decided.
    admin_copy = next(e for e in admin.events() if e.text.startswith("📝 Förslag"))
    admin.skip_pending()
    await admin.press(admin_copy, t("kb.approve_button", "sv"))
    assert (await admin.reply()).alert == t("kb.already_decided", "sv")


async def test_a_stranger_and_a_non_editor_are_refused(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    elin = _editor(app, standin, 201, "Elin Berg")
    olle = _editor(app, standin, 202, "Olle Ström")
    plain = staff_chat(app, standin, 203, "Pia Lund", role="coordinator")
    stranger = standin.user(999, "Mallory")

    refused = await plain.ask("/kb_artikel")
    assert refused.text == t("kb.not_editor", "sv")

    preview = await _propose_short_answer(elin)
    await elin.press(preview, t("kb.send_button", "sv"))
    proposal = await olle.reply()
    forged = KbDecideButton("ok", _proposal_id(proposal)).pack()
    await stranger.press(proposal, 0, data=forged)
    assert (await stranger.reply()).alert == t("core.not_registered", "sv")
    await plain.press(proposal, 0, data=forged)
    assert (await plain.reply()).alert == t("kb.not_editor", "sv")
    version = app.bot_data.db.call(store.get_version, _proposal_id(proposal))
    assert version is not None and version.state is store.VersionState.PROPOSED

    rejected = await olle.tap(proposal, t("kb.reject_button", "sv"))
    assert rejected.text.endswith(t("kb.rejected_by", "sv", name="Olle Ström"))
    article = app.bot_data.db.call(store.current_article, "sip", "sv")
    assert article is not None and article.short_answer != NEW_SHORT


async def test_typed_text_with_a_name_or_personnummer_is_refused(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    elin = _editor(app, standin, 201, "Elin Berg")
    card = await elin.ask("/kb_artikel sip")
    await elin.tap(card, t("kb.field_add_question", "sv"))
    refused = await elin.ask("vem kallar till SIP när Lisa inte vill")
    assert refused.text == t("kb.refused_name", "sv", word="Lisa")
    refused = await elin.ask("vem kallar till SIP för 19121212-1212")
    assert refused.text == t("kb.refused_personnummer", "sv")
    # Still waiting for the question: a clean one gets the preview.
    preview = await elin.ask("vem skickar kallelsen till SIP-mötet")
    assert "Ny fråga: ”vem skickar kallelsen till SIP-mötet”" in preview.text
    # "Rewrite" asks again; a command instead drops the change in one line, then runs.
    again = await elin.tap(preview, t("kb.rewrite_button", "sv"))
    assert again.text == t("kb.prompt_add_question", "sv")
    await elin.send("/kb_artikel")
    cancelled, listed = await elin.next(2)
    assert cancelled.text == t("kb.cancelled", "sv")
    assert listed.text == t("kb.articles_title", "sv", page=1, pages=4)
    assert len(listed.buttons) == 8 + 1  # a page of articles and ▶
    # The question typed next is a question again, not a change.
    answered = await elin.ask("vem kallar till SIP?")
    assert shown(answered).startswith("📘 SIP")


async def test_an_admin_grants_the_editor_permission_with_taps(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    olle = staff_chat(app, standin, 202, "Olle Ström", role="coordinator")
    admin = standin.user(ADMIN_ID, "Astrid")
    listed = await admin.ask("/staff")
    card = await admin.tap(listed, "Olle Ström")
    screen = await admin.tap(card, t("kb.editor_button", "sv"))
    assert screen.text == t("kb.editor_is_not", "sv", name="Olle Ström")
    granted = await admin.tap(screen, t("kb.editor_grant", "sv"))
    assert granted.text == t("kb.editor_granted", "sv", name="Olle Ström")
    assert (await olle.reply()).text == t("kb.editor_granted_notice", "sv")
    opened = await olle.ask("/kb_artikel")
    assert opened.text == t("kb.articles_title", "sv", page=1, pages=4)


async def test_an_answer_card_offers_editors_a_change(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    elin = _editor(app, standin, 201, "Elin Berg")
    pia = staff_chat(app, standin, 203, "Pia Lund")
    theirs = await pia.tap(await pia.ask(QUESTION), t("ask.menu_button", "sv"))
    assert t("kb.edit_button", "sv") not in _labels(theirs)
    menu = await elin.tap(await elin.ask(QUESTION), t("ask.menu_button", "sv"))
    card = await elin.tap(menu, t("kb.edit_button", "sv"))
    assert card.kind == "send" and card.text.startswith("✏️ SIP")
    # The answer card stays as it was.
    assert elin.standin.messages[(elin.id, menu.message["message_id"])]["text"] == menu.text


async def test_tapping_another_button_drops_a_change_being_typed(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    elin = _editor(app, standin, 201, "Elin Berg")
    answer = await elin.ask(QUESTION)
    card = await elin.ask("/kb_artikel sip")
    await elin.tap(card, t("kb.field_title", "sv"))
    # Back to the answer card instead of typing the title: the next text is a question.
    await elin.tap(answer, t("ask.menu_button", "sv"))
    again = await elin.ask(QUESTION)
    assert shown(again).startswith("📘 SIP")
    assert app.bot_data.db.call(store.pending_proposals) == []


async def test_a_removed_question_and_a_second_process(
    app: DalsbotApp, standin: BotApiStandIn, settings: Settings, clock: FakeClock
) -> None:
    """An editor removes a question, the admin approves; a second bot process on the same
    database answers from the new revision at its next check, without a restart."""
    elin = _editor(app, standin, 201, "Elin Berg")
    admin = standin.user(ADMIN_ID, "Astrid")
    db = app.bot_data.db
    before = db.call(store.current_article, "sip", "sv")
    assert before is not None
    second_standin = BotApiStandIn()
    await second_standin.start()
    second = build_application(settings, db=db, api_root=second_standin.url, clock=clock)
    try:
        async with running(second, poll_timeout=2):
            other_kb = second.bot_data.services.get(KnowledgeBase)
            assert other_kb.revision == 1
            card = await elin.ask("/kb_artikel sip")
            listed = await elin.tap(card, t("kb.field_remove_question", "sv"))
            assert listed.text == t("kb.pick_question", "sv")
            assert _labels(listed)[0] == before.questions[0][:48]
            preview = await elin.tap(listed, 0)
            assert f"Frågan tas bort: ”{before.questions[0]}”" in preview.text
            await elin.press(preview, t("kb.send_button", "sv"))
            proposal = await admin.reply()
            await admin.tap(proposal, t("kb.approve_button", "sv"))
            after = db.call(store.current_article, "sip", "sv")
            assert after is not None and after.questions == before.questions[1:]
            # The other process: its index follows at its next check.
            other_kb.check_every = 0.0
            pia = second_standin.user(203, "Pia")
            staff_chat(second, second_standin, 203, "Pia Lund")
            await pia.ask("vem kallar till SIP?")
            assert other_kb.revision == db.call(store.kb_revision) == 2
            stored = other_kb.get("sip", "sv")
            assert stored is not None and stored.questions == before.questions[1:]
    finally:
        await second_standin.stop()
