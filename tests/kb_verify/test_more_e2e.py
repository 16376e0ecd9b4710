"""More of the upkeep end to end: a coordinator's reply becomes an approved article, ignoring a
question, 👎'd answers on the work list, the admins' review list, no reminders on a Saturday
or twice after a restart."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from bot.context import DalsbotApp
from bot.i18n import t
from bot.settings import Settings
from bot.shell.app import build_application
from bot.shell.standin import BotApiStandIn, SimUser
from handlers.kb.verify import JOB_NAME
from storage.db import Database
from storage.knowledge import articles as kb_articles
from storage.knowledge.models import KbCoordinatorQuestion, KbQuestion
from storage.knowledge.verification import KbReviewNotice
from storage.people import store as staff_store
from storage.people.models import Role
from tests.ask.cards import shown
from tests.conftest import ADMIN_ID, FakeClock
from tests.helpers import staff_chat
from tests.kb_verify.test_upkeep_e2e import _make_due, _reviewed

UNANSWERED = "hur många elever går ut nian med behörighet i bengtsfors"


def labels(event: object) -> list[str]:
    return [b["text"] for b in event.buttons]  # type: ignore[attr-defined]


async def _job(app: DalsbotApp) -> None:
    assert app.job_queue is not None
    (job,) = app.job_queue.get_jobs_by_name(JOB_NAME)
    await job.run(app)


def _reminders(app: DalsbotApp) -> list[KbReviewNotice]:
    return app.bot_data.db.call(lambda s: list(s.exec(select(KbReviewNotice))))


async def test_a_coordinators_reply_becomes_a_new_article_another_admin_approves(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser, clock: FakeClock
) -> None:
    """The reply is shown as the draft, sent as a proposal; another admin approves it with
    a tap and the next person asking the question gets the new article."""
    staff_chat(app, standin, 401, "Cecilia Ek", role=Role.COORDINATOR)
    staff_chat(app, standin, 402, "Maja Ek", role=Role.ADMIN)
    question = "vem betalar för tolk på ett barnteamsmöte"
    await person.ask(question)
    reply = "Skolan beställer och betalar tolken när mötet hålls i skolan."

    def forwarded(session: Session) -> None:
        # The question went to the coordinator, who answered (the forwarding flow's rows).
        row = session.exec(select(KbQuestion)).one()
        responder = staff_store.get_staff(session, telegram_id=401)
        assert row.staff_id is not None and responder is not None
        session.add(
            KbCoordinatorQuestion(
                question_id=row.id, asker_id=row.staff_id, municipality="Mellerud",
                question=row.question, answered_by=responder.id, answer=reply,
                created_at=clock.now, answered_at=clock.now,
            )
        )  # fmt: skip

    app.bot_data.db.call(forwarded)
    admin = standin.user(ADMIN_ID, "Astrid")
    work = await admin.ask("/kb_gaps")
    opened = await admin.tap(work, 0)
    assert t("kb.gaps.reply_button", "sv") in labels(opened)
    draft = await admin.tap(opened, t("kb.gaps.reply_button", "sv"))
    assert f"Kort svar: {reply}" in draft.text and f"Fråga: {question}" in draft.text
    sent = await admin.tap(draft, t("kb.gaps.propose_button", "sv"))
    assert sent.text == t("kb.gaps.proposed", "sv")
    maja = standin.user(402, "Maja")
    await standin.wait_for(lambda: any("föreslår en ny artikel" in e.text for e in maja.events()))
    proposal = [e for e in maja.events() if "föreslår en ny artikel" in e.text][-1]
    assert reply in proposal.text
    maja.skip_pending()
    approved = await maja.tap(proposal, t("kb.approve_button", "sv"))
    assert "Godkänt av Maja Ek" in approved.text
    other = staff_chat(app, standin, 403, "Vera Ek")
    card = await other.ask(question)
    assert shown(card).startswith("📘 vem betalar för tolk på ett barnteamsmöte")
    assert reply in shown(card)


async def test_ignore_takes_a_question_off_the_list_and_a_disliked_answer_joins_it(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser
) -> None:
    """ "Ignore" removes the question; an answer that got 👎 is listed with its article named,
    and that article is not among the suggestions."""
    await person.ask(UNANSWERED)
    admin = standin.user(ADMIN_ID, "Astrid")
    work = await admin.ask("/kb_gaps")
    opened = await admin.tap(work, 0)
    await admin.press(opened, t("kb.gaps.ignore_button", "sv"))
    events = await admin.next(2)
    assert events[0].text == t("kb.gaps.ignored", "sv")
    assert t("kb.gaps.none", "sv") in events[1].text and events[1].buttons == []
    card = await person.ask("vem kallar till SIP?")
    await person.tap(card, "👎")
    work = await admin.ask("/kb_gaps")
    assert labels(work) == ["1× vem kallar till SIP?"]
    opened = await admin.tap(work, 0)
    sip = app.bot_data.db.call(lambda s: kb_articles.current_article(s, "sip", "sv"))
    assert sip is not None
    assert t("kb.gaps.disliked_answer", "sv", title=sip.title) in opened.text
    assert f"➕ {sip.title}"[:58] not in " ".join(labels(opened))


async def test_the_admins_review_list_marks_an_article_reviewed(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser
) -> None:
    """/kb_granska: staff are refused; the admin sees the counts and the overdue article,
    opens it and marks it as reviewed."""
    assert (await person.ask("/kb_granska")).text == t("core.not_allowed", "sv")
    staff_chat(app, standin, 411, "Olle Ek", role=Role.ADMIN)
    _make_due(app, "sip", 411)
    admin = standin.user(ADMIN_ID, "Astrid")
    listing = await admin.ask("/kb_granska")
    assert listing.text.startswith(t("kb.verify.list_title", "sv"))
    sip = app.bot_data.db.call(lambda s: kb_articles.current_article(s, "sip", "sv"))
    assert sip is not None
    opened = await admin.tap(listing, f"⚠️ {sip.title}"[:30])
    assert "Ansvarig: Olle Ek" in opened.text
    done = await admin.tap(opened, t("kb.verify.mark_button", "sv"))
    assert done.text.startswith(f"✅ ”{sip.title}” är granskad")
    assert _reviewed(app, "sip") == {dt.date(2026, 11, 25)}


async def test_no_reminder_on_a_saturday_nor_again_after_a_restart(
    app: DalsbotApp,
    standin: BotApiStandIn,
    clock: FakeClock,
    settings: Settings,
    sqlite_db: Database,
) -> None:
    """Saturday: nothing. Monday: one reminder. A new process on the same database (a
    restart) runs the job again: nothing more."""
    owner = staff_chat(app, standin, 421, "Olle Ek", role=Role.ADMIN)
    _make_due(app, "sip", 421)
    clock.set(dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC))
    await _job(app)
    assert _reminders(app) == []
    clock.set(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC))
    await _job(app)
    await owner.reply()
    restarted = build_application(settings, db=sqlite_db, api_root=standin.url, clock=clock)
    await restarted.initialize()
    try:
        await _job(restarted)
    finally:
        await restarted.shutdown()
    sent = [e for e in owner.events() if e.kind == "send" and "Dags att granska" in e.text]
    assert len(sent) == 1
    assert [(n.article_id, n.state) for n in _reminders(app) if n.staff_id] == [("sip", "sent")]


async def test_needs_a_change_opens_the_editors_proposal_flow_for_the_article(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """ "Needs a change" answers the reminder and offers the article's ✏️ button; it opens
    the editors' card for that article (what to change)."""
    owner = staff_chat(app, standin, 431, "Olle Ek", role=Role.ADMIN)
    _make_due(app, "sip", 431)
    await _job(app)
    reminder = await owner.reply()
    hint = await owner.tap(reminder, "✏️ Behöver ändras")
    sip = app.bot_data.db.call(lambda s: kb_articles.current_article(s, "sip", "sv"))
    assert sip is not None
    assert hint.text == t("kb.verify.change_hint", "sv", title=sip.title)
    card = await owner.tap(hint, t("kb.verify.edit_button", "sv"))
    assert card.text.startswith(f"✏️ {sip.title}\n\nKort svar:")
    assert t("kb.field_short", "sv") in labels(card)
    states = [(n.article_id, n.state) for n in _reminders(app) if n.staff_id]
    assert states == [("sip", "change")]
