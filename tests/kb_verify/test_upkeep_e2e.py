"""End to end over HTTP (the real Application and the Bot API stand-in): the owner's review
reminder, "Not mine" reaching an admin, and an unanswered question taught through /kb_gaps."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from bot.context import DalsbotApp
from bot.i18n import format_date, t, tn
from bot.shell.standin import BotApiStandIn, SimUser
from handlers.kb.verify import JOB_NAME, ReviewButton
from knowledge.service import KnowledgeBase
from storage.knowledge import articles as kb_articles
from storage.knowledge.models import KbQuestion
from storage.knowledge.verification import KbReviewNotice
from storage.people.models import Role
from tests.ask.cards import shown
from tests.conftest import ADMIN_ID, FakeClock
from tests.helpers import staff_chat

OLD_REVIEW = dt.date(2026, 1, 10)


def _make_due(app: DalsbotApp, article_id: str, owner_telegram_id: int | None) -> None:
    """Give the article an owner and an old review date (every language)."""

    def change(session: Session) -> None:
        owner = None
        if owner_telegram_id is not None:
            from storage.people import store

            staff = store.get_staff(session, telegram_id=owner_telegram_id)
            assert staff is not None
            owner = staff.id
        for row in session.exec(
            select(kb_articles.KbArticle).where(kb_articles.KbArticle.id == article_id)
        ):
            row.reviewed, row.owner_staff_id = OLD_REVIEW, owner
            session.add(row)

    app.bot_data.db.call(change)
    # Written straight to the rows (no revision bump): this process rebuilds its index now.
    app.bot_data.services.get(KnowledgeBase).refresh(force=True)


async def _run_job(app: DalsbotApp) -> None:
    assert app.job_queue is not None
    (job,) = app.job_queue.get_jobs_by_name(JOB_NAME)
    await job.run(app)


def _reviewed(app: DalsbotApp, article_id: str) -> set[dt.date]:
    return app.bot_data.db.call(
        lambda s: {
            row.reviewed
            for row in s.exec(
                select(kb_articles.KbArticle).where(kb_articles.KbArticle.id == article_id)
            )
        }
    )


async def test_owner_is_reminded_once_and_still_correct_updates_the_date(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """The owner gets one reminder with title, short answer and three buttons; the job again
    (and another process's run) sends nothing; "Still correct" sets today's date; the answer
    card loses its overdue mark."""
    owner = staff_chat(app, standin, 301, "Olle Ek", role=Role.ADMIN)
    _make_due(app, "sip", 301)
    asker = staff_chat(app, standin, 302, "Pia Ek")
    before = await asker.ask("vem kallar till SIP?")
    assert tn("kb.verify.overdue", 10, "sv", date=format_date(OLD_REVIEW, "sv")) in shown(before)
    await _run_job(app)
    reminder = await owner.reply()
    article = app.bot_data.db.call(lambda s: kb_articles.current_article(s, "sip", "sv"))
    assert article is not None
    assert shown(reminder).startswith("🔎 Dags att granska en artikel du ansvarar för.")
    assert article.title in shown(reminder)
    assert [b["text"] for b in reminder.buttons] == [
        "✅ Stämmer",
        "✏️ Behöver ändras",
        "🙅 Inte min",
    ]
    await _run_job(app)
    await _run_job(app)
    notices = app.bot_data.db.call(lambda s: list(s.exec(select(KbReviewNotice))))
    assert [(n.article_id, n.state) for n in notices if n.staff_id is not None] == [("sip", "sent")]
    assert [e for e in owner.events() if e.kind == "send" and "Dags att granska" in e.text] == [
        reminder
    ]
    done = await owner.tap(reminder, "✅ Stämmer")
    today = dt.date(2026, 11, 25)
    assert done.text.startswith(
        f"✅ Tack! ”{article.title}” är granskad {format_date(today, 'sv')}."
    )
    assert _reviewed(app, "sip") == {today}
    await owner.press(reminder, 0, data=reminder.buttons[0]["callback_data"])
    again = await owner.reply()
    assert again.text == t("kb.verify.answered", "sv")
    clock.advance(seconds=5)
    after = await asker.ask("vem kallar till SIP?")
    assert shown(after).endswith(f"Granskad {format_date(today, 'sv')}")


async def test_not_mine_reaches_an_admin_who_picks_a_new_owner(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """ "Not mine": the admins are told with a button; the chosen editor becomes the owner
    and is told; the next morning's run reminds them once."""
    owner = staff_chat(app, standin, 311, "Olle Ek", role=Role.ADMIN)
    staff_chat(app, standin, 312, "Maja Ek", role=Role.ADMIN)
    admin = standin.user(ADMIN_ID, "Astrid")
    _make_due(app, "samtycke", 311)
    await _run_job(app)
    reminder = [e for e in owner.events() if "Dags att granska" in e.text][-1]
    owner.skip_pending()
    handed = await owner.tap(reminder, "🙅 Inte min")
    assert handed.text.startswith("🙅 Tack! Administratörerna")
    await standin.wait_for(
        lambda: any("ansvarar inte för" in e.text for e in standin.sent_messages(ADMIN_ID))
    )
    told = [e for e in standin.sent_messages(ADMIN_ID) if "ansvarar inte för" in e.text][-1]
    assert told.text.startswith("🙅 Olle Ek ansvarar inte för")
    admin.skip_pending()
    picker = await admin.tap(told, "👤 Välj ansvarig")
    assert "Maja Ek" in [b["text"] for b in picker.buttons]
    chosen = await admin.tap(picker, "Maja Ek")
    assert chosen.text.startswith("👤 Maja Ek ansvarar nu för")
    maja = standin.user(312, "Maja")
    await standin.wait_for(lambda: any("Du ansvarar nu" in e.text for e in maja.events()))
    await _run_job(app)
    await standin.wait_for(lambda: any("Dags att granska" in e.text for e in maja.events()))
    await _run_job(app)
    assert sum("Dags att granska" in e.text for e in maja.events() if e.kind == "send") == 1


async def test_someone_elses_or_a_forged_reminder_button_is_refused(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Another person pressing the owner's reminder (or forging its data) changes nothing."""
    owner = staff_chat(app, standin, 321, "Olle Ek", role=Role.ADMIN)
    _make_due(app, "sip", 321)
    await _run_job(app)
    reminder = await owner.reply()
    notice_id = int(reminder.buttons[0]["callback_data"].split(":")[-1])
    other = staff_chat(app, standin, 322, "Kim Ek")
    await other.send("hej")
    await other.next()
    await other.press(reminder, 0, data=ReviewButton("ok", notice_id).pack())
    refused = await other.reply()
    assert refused.text == t("kb.verify.not_yours", "sv")
    stranger = standin.user(323, "Nils")
    await stranger.press(reminder, 0, data=ReviewButton("ok", notice_id).pack())
    assert (await stranger.reply()).text == t("core.not_registered", "sv")
    assert _reviewed(app, "sip") == {OLD_REVIEW}


async def test_an_unanswered_question_becomes_an_example_question_and_is_answered_next(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser
) -> None:
    """Unanswered → /kb_gaps → the question → "➕ <article>" → the exact text → Save → the
    next person asking it gets that article."""
    question = "hur många elever går ut nian med behörighet i bengtsfors"
    first = await person.ask(question)
    assert shown(first).startswith(t("ask.dont_know", "sv"))
    admin = standin.user(ADMIN_ID, "Astrid")
    work = await admin.ask("/kb_gaps")
    assert [b["text"] for b in work.buttons] == [f"1× {question[:39]}…"]
    opened = await admin.tap(work, 0)
    article = app.bot_data.db.call(
        lambda s: kb_articles.current_article(s, "fullfoljda-studier", "sv")
    )
    assert article is not None
    title = article.title
    confirm = await admin.tap(opened, f"➕ {title}"[:20])
    assert f"”{question}”" in confirm.text and "✅ Spara" in [b["text"] for b in confirm.buttons]
    saved = await admin.tap(confirm, "✅ Spara")
    assert saved.text.startswith("✅ Sparad.")
    # Stale buttons: a second Save on the same message counts once; the question's old
    # buttons find it handled.
    await admin.press(confirm, 0, data=confirm.buttons[0]["callback_data"])
    assert (await admin.reply()).text == t("core.already_done", "sv")
    await admin.press(opened, 0, data=opened.buttons[0]["callback_data"])
    assert (await admin.reply()).text == t("kb.gaps.gone", "sv")
    examples = app.bot_data.db.call(
        lambda s: kb_articles.example_questions(s, "fullfoljda-studier", "sv")
    )
    assert [text for _id, text in examples] == [question]
    other = staff_chat(app, standin, 331, "Vera Ek")
    answered = await other.ask(question)
    assert shown(answered).startswith(f"📘 {title}")
    empty = await admin.ask("/kb_gaps")
    assert empty.buttons == [] and t("kb.gaps.none", "sv") in empty.text


async def test_a_personnummer_in_a_gap_question_is_refused_at_the_confirm(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser, clock: FakeClock
) -> None:
    """A stored question with a personnummer (logged before a guard improvement) cannot be
    saved: the confirm step refuses it and offers no Save."""
    staff_id = app.bot_data.db.call(lambda s: s.exec(select(KbQuestion.id)).first())
    assert staff_id is None
    app.bot_data.db.call(
        lambda s: s.add(
            KbQuestion(
                question="gäller sip för barn med pnr 19121212-1212 i skolan",
                answered=False,
                lang="sv",
                created_at=clock.now,
            )
        )
    )
    admin = standin.user(ADMIN_ID, "Astrid")
    work = await admin.ask("/kb_gaps")
    opened = await admin.tap(work, 0)
    refused = await admin.tap(opened, "➕")
    assert refused.text == t("kb.gaps.personnummer", "sv")
    assert "✅ Spara" not in [b["text"] for b in refused.buttons]


async def test_a_non_editor_cannot_press_the_work_lists_buttons(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser
) -> None:
    """A staff member forging a Save on the work list is refused; nothing is added."""
    await person.ask("hur många elever går ut nian med behörighet i bengtsfors")
    admin = standin.user(ADMIN_ID, "Astrid")
    work = await admin.ask("/kb_gaps")
    question_id = work.buttons[0]["callback_data"].split(":")[-1]
    await person.press(work, 0, data=f"kbgap:save:{question_id}:fullfoljda-studier")
    assert (await person.reply()).text == t("kb.gaps.editors_only", "sv")
    examples = app.bot_data.db.call(
        lambda s: kb_articles.example_questions(s, "fullfoljda-studier", "sv")
    )
    assert examples == []
