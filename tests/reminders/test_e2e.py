"""Reminders end to end: the real Application, the Bot API stand-in and a controlled clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlmodel import Session

from bot.context import DalsbotApp
from bot.i18n import t
from bot.settings import Settings
from bot.shell.app import build_application, running
from bot.shell.standin import BotApiStandIn, ChatEvent, RateLimits, SimUser
from handlers.plans.dispatcher import Dispatcher
from storage.db import Database
from storage.people import store as staff_store
from storage.plans.models import Reminder
from tests.conftest import ADMIN_ID, FakeClock
from tests.helpers import new_staff
from tests.reminders.helpers import make_plan, rows, utc

FOLLOW_UP = dt.date(2026, 12, 9)  # Wednesday
SEVEN_DAYS = utc(2026, 12, 2, 7)  # Wednesday 2 December, 08:00 in Stockholm


@dataclass
class Team:
    """A plan BP-17 with Anna responsible (sv), Bo participant (en), Cia coordinator."""

    plan_id: int
    anna: SimUser
    bo: SimUser
    cia: SimUser


def _build_team(session: Session, now: dt.datetime) -> int:
    anna = new_staff(session, 201, "Anna")
    bo = new_staff(session, 202, "Bo", language="en")
    new_staff(session, 203, "Cia", role="coordinator")
    plan = make_plan(
        session,
        reference="BP-17",
        responsible=anna,
        participants=[bo],
        next_follow_up=FOLLOW_UP,
        follow_up_time=dt.time(10, 0),
        place="Skolan",
        now=now,
    )
    return plan.id or 0


def team(app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock) -> Team:
    """Create the team's people and plan in the database, and their chats."""
    plan_id = app.bot_data.db.call(_build_team, clock.now)
    return Team(
        plan_id,
        standin.user(201, "Anna"),
        standin.user(202, "Bo", language_code="en"),
        standin.user(203, "Cia"),
    )


def dispatcher(app: DalsbotApp) -> Dispatcher:
    """The running bot's dispatcher."""
    found = app.bot_data.services.get(Dispatcher)
    return found


async def dispatch_at(app: DalsbotApp, clock: FakeClock, moment: dt.datetime) -> None:
    """Move the clock and run the dispatcher job now (it returns when everything is sent)."""
    clock.set(moment)
    await dispatcher(app).run_once()


def reminder_rows(app: DalsbotApp) -> list[Reminder]:
    """All reminder rows."""
    return app.bot_data.db.call(rows)


def sid(app: DalsbotApp, telegram_id: int) -> int:
    """The staff id of a Telegram user."""
    staff = app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=telegram_id))
    assert staff is not None and staff.id is not None
    return staff.id


def data_of(event: ChatEvent) -> list[str]:
    """The callback data of a message's buttons."""
    return [button["callback_data"] for button in event.buttons]


async def test_reminder_is_delivered_at_its_time_in_each_language(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Nothing before 08:00 seven days ahead; then both get it, in Swedish and English, once."""
    people = team(app, standin, clock)
    await dispatch_at(app, clock, SEVEN_DAYS - dt.timedelta(minutes=1))
    assert standin.sent_messages(201) == [] and standin.sent_messages(202) == []
    await dispatch_at(app, clock, SEVEN_DAYS)
    anna, bo = await people.anna.reply(), await people.bo.reply()
    assert anna.text == (
        "🔔 Påminnelse: uppföljning om 7 dagar\nSIP BP-17\n"
        "📅 onsdag 9 december 2026\n🕘 kl. 10:00\n📍 Skolan"
    )
    assert bo.text == (
        "🔔 Reminder: follow-up in 7 days\nSIP BP-17\n"
        "📅 Wednesday 9 December 2026\n🕘 at 10:00\n📍 Skolan"
    )
    [anna_row] = [
        r for r in reminder_rows(app) if r.staff_id == sid(app, 201) and r.state == "sent"
    ]
    # Seven days before: no "held" yet; the follow-up's button names its day.
    assert data_of(anna) == [f"pln:date:{people.plan_id}:20261209", f"rem:snooze:{anna_row.id}"]
    assert [b["text"] for b in anna.buttons] == ["📅 Nytt datum", "⏰ Påminn mig i morgon"]
    assert anna_row.telegram_message_id == anna.message["message_id"]
    await dispatch_at(app, clock, SEVEN_DAYS + dt.timedelta(minutes=5))
    assert len(standin.sent_messages(201)) == 1 and len(standin.sent_messages(202)) == 1


async def test_remind_me_tomorrow_sends_again_next_working_day(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """The snooze button confirms, drops itself from the message, and the reminder comes
    back the next working day at 08:00; someone else's snooze is refused."""
    people = team(app, standin, clock)
    await dispatch_at(app, clock, SEVEN_DAYS)
    reminder, bo_reminder = await people.anna.reply(), await people.bo.reply()
    await people.bo.press(bo_reminder, 0, data=reminder.buttons[1]["callback_data"])
    refused = await people.bo.reply()
    assert refused.alert == t("reminders.snooze_not_yours", "en")
    await people.anna.press(reminder, "Påminn mig i morgon")
    answer, edited = await people.anna.next(2)
    expected = "⏰ Jag påminner dig igen torsdag 3 december 2026 kl. 08:00."
    assert answer.alert == expected
    assert edited.text.endswith("\n\n" + expected)
    assert data_of(edited) == [f"pln:date:{people.plan_id}:20261209"]
    snoozes = [r for r in reminder_rows(app) if r.kind == "snooze"]
    assert [(r.staff_id, r.due_at, r.state) for r in snoozes] == [
        (sid(app, 201), utc(2026, 12, 3, 7), "pending")
    ]
    await dispatch_at(app, clock, utc(2026, 12, 3, 7))
    again = await people.anna.reply()
    assert again.text.startswith("⏰ Du bad om en ny påminnelse: uppföljning om 6 dagar\nSIP BP-17")
    assert data_of(again)[1].startswith("rem:snooze:")


async def test_rate_limited_send_waits_and_is_delivered_once(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 (someone else just wrote to the chat) is waited out, not lost, not doubled."""
    # PTB warns (an error under pytest) about int time periods unless asked for timedeltas.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    people = team(app, standin, clock)
    standin.rate_limits = RateLimits()
    await app.bot.send_message(201, "Hej!")  # uses the chat's one message a second
    await dispatch_at(app, clock, SEVEN_DAYS)
    assert standin.rate_limits.rejected == 1
    assert dispatcher(app).stats.rate_limited == 1
    texts = [e.text for e in standin.sent_messages(201)]
    assert texts[0] == "Hej!" and len(texts) == 2 and "BP-17" in texts[1]
    assert {r.state for r in reminder_rows(app) if r.due_at == SEVEN_DAYS} == {"sent"}
    assert people.bo.last().text.startswith("🔔 Reminder")


async def test_blocked_participant_is_undeliverable_and_responsible_is_told(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """403 for Bo: his row is undeliverable and Anna hears about it, once."""
    people = team(app, standin, clock)
    standin.blocked.add(202)
    await dispatch_at(app, clock, SEVEN_DAYS)
    reminder, notice = await people.anna.next(2)
    assert reminder.text.startswith("🔔 Påminnelse")
    assert notice.text == (
        "⚠️ En påminnelse om plan BP-17 kunde inte lämnas till Bo: Dalsbot är blockerad i hens "
        "Telegram. Be hen öppna Dalsbot och trycka på Starta igen."
    )
    assert notice.buttons == []
    states = {(r.staff_id, r.kind): r.state for r in reminder_rows(app) if r.due_at <= clock.now}
    anna_id, bo_id = sid(app, 201), sid(app, 202)
    assert states[(bo_id, "before")] == "undeliverable"
    assert states[(anna_id, "undelivered")] == "sent"
    await dispatch_at(app, clock, utc(2026, 12, 8, 7))  # the 1-day reminder bounces too
    assert len(standin.sent_messages(201)) == 3  # the 1-day reminder, no second notice


async def test_blocked_responsible_makes_an_admin_told(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """403 for the responsible herself: the admin is told instead."""
    people = team(app, standin, clock)
    admin = standin.user(ADMIN_ID, "Astrid")
    standin.blocked.add(201)
    await dispatch_at(app, clock, SEVEN_DAYS)
    notice = await admin.reply()
    assert "kunde inte lämnas till Anna" in notice.text and "BP-17" in notice.text
    assert (await people.bo.reply()).text.startswith("🔔 Reminder")


async def test_network_errors_are_retried_with_backoff_and_never_lost(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """A dropped connection gives the row back with a 15 s backoff; then it goes out once."""
    people = team(app, standin, clock)
    standin.drop_next_requests = 1
    await dispatch_at(app, clock, SEVEN_DAYS)
    waiting = [r for r in reminder_rows(app) if r.due_at > SEVEN_DAYS and r.attempts]
    assert [(r.state, r.attempts, r.due_at) for r in waiting] == [
        ("pending", 1, SEVEN_DAYS + dt.timedelta(seconds=15))
    ]
    assert len(standin.sent_messages()) == 1
    await dispatch_at(app, clock, SEVEN_DAYS + dt.timedelta(seconds=15))
    assert len(standin.sent_messages(201)) == 1 and len(standin.sent_messages(202)) == 1
    assert people.anna.last().text.startswith("🔔")


async def test_overdue_notices_then_escalation_to_the_coordinator(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Not marked held: three daily notices to Anna (working days), then Cia gets the
    reference only; Bo gets none of it."""
    people = team(app, standin, clock)
    for day, notice in ((10, 1), (11, 2), (14, 3)):
        await dispatch_at(app, clock, utc(2026, 12, day, 7))
        overdue = await people.anna.reply()
        assert overdue.text == (
            "⚠️ Uppföljningen av SIP BP-17 skulle ha hållits onsdag 9 december 2026, men är "
            "inte markerad som hållen.\nHölls den? Markera den eller välj ett nytt datum. "
            f"(Påminnelse {notice} av 3.)"
        )
        assert data_of(overdue)[:2] == [
            f"pln:held:{people.plan_id}:20261209",
            f"pln:date:{people.plan_id}:20261209",
        ]
    assert standin.sent_messages(203) == []
    await dispatch_at(app, clock, utc(2026, 12, 15, 7))
    escalation = await people.cia.reply()
    assert escalation.text == (
        "⚠️ Plan BP-17: uppföljningen onsdag 9 december 2026 är fortfarande inte markerad som "
        "hållen, efter 3 påminnelser till den ansvariga.\nÖppna planen med /plan BP-17"
    )
    assert escalation.buttons == []
    assert standin.sent_messages(202) == []  # the missed before-reminders went stale
    assert {r.state for r in reminder_rows(app) if r.staff_id == sid(app, 202)} == {"stale"}


async def test_nothing_is_sent_in_the_quiet_hours(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """A reminder due while the bot could not send waits from 21:30 until 07:00."""
    people = team(app, standin, clock)
    await dispatch_at(app, clock, utc(2026, 12, 2, 20, 30))
    assert standin.sent_messages(201) == []
    await dispatch_at(app, clock, utc(2026, 12, 3, 6))
    assert (await people.anna.reply()).text.startswith("🔔 Påminnelse: uppföljning om 6 dagar")


async def test_daily_digest_opt_in_and_sent_once_a_day(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Bo turns the digest on in /installningar and gets it on a working morning, once."""
    people = team(app, standin, clock)
    menu = await people.bo.ask("/installningar")
    assert menu.text.startswith("⚙️ Settings") and "☀️ Daily digest: off" in menu.text
    await people.bo.press(menu, "Turn on")
    answer, menu = await people.bo.next(2)
    assert answer.alert == "The daily digest is on."
    assert menu.text.endswith("☀️ Daily digest: on, working days at 08:00")
    await dispatch_at(app, clock, utc(2026, 12, 7, 7))  # Monday 08:00
    digests = [e for e in standin.sent_messages(202) if e.text.startswith("☀️ Good morning")]
    assert [d.text for d in digests] == [
        "☀️ Good morning! Your follow-ups\n\nLater this week:\n"
        "• BP-17 – SIP, Wednesday 9 December 2026, 🕘 at 10:00, 📍 Skolan"
    ]
    await dispatch_at(app, clock, utc(2026, 12, 7, 9))
    again = [e for e in standin.sent_messages(202) if e.text.startswith("☀️ Good morning")]
    assert len(again) == 1
    assert not [e for e in standin.sent_messages(201) if e.text.startswith("☀️")]


async def test_missed_and_interrupted_reminders_go_out_at_start_up(
    settings: Settings, sqlite_db: Database, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Rows due while the bot was down, and one a killed process had claimed, are sent as
    soon as the bot starts; a reminder for a follow-up already past is marked stale."""
    plan_id = sqlite_db.call(_build_team, clock.now)
    bo_id = sqlite_db.call(lambda s: staff_store.get_staff(s, telegram_id=202)).id  # type: ignore[union-attr]
    with sqlite_db.session() as session:
        for row in rows(session, plan_id):
            if row.seq == 7 and row.kind == "before" and row.staff_id == bo_id:
                row.state, row.claimed_by, row.claimed_at = "sending", "dead:1:x", SEVEN_DAYS
                session.add(row)
        session.commit()
    anna, bo = standin.user(201, "Anna"), standin.user(202, "Bo")
    clock.set(utc(2026, 12, 3, 9))
    app = build_application(settings, db=sqlite_db, api_root=standin.url, clock=clock)
    async with running(app, poll_timeout=1):
        first_anna, first_bo = await anna.reply(), await bo.reply()
    assert "om 6 dagar" in first_anna.text and "in 6 days" in first_bo.text
    assert {r.state for r in reminder_rows(app) if r.seq == 7} == {"sent"}


async def test_new_date_button_on_a_reminder_moves_the_reminders(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """ "📅 Nytt datum" on the reminder opens the plan's date flow; the old date's reminders
    are cancelled and the new date's are planned."""
    people = team(app, standin, clock)
    await dispatch_at(app, clock, SEVEN_DAYS)
    reminder = await people.anna.reply()
    calendar = await people.anna.tap(reminder, "Nytt datum")
    assert calendar.text.startswith(t("plans.ask_new_date", "sv", reference="BP-17"))
    step = await people.anna.ask("16/12")
    step = await people.anna.tap(step, t("plans.btn_no_time", "sv"))
    card = await people.anna.tap(step, t("plans.btn_skip_place", "sv"))
    assert card.text.startswith("📅 Nästa uppföljning är bokad: onsdag 16 december 2026.")
    pending = [r for r in reminder_rows(app) if r.state == "pending"]
    assert {r.follow_up_date for r in pending} == {dt.date(2026, 12, 16)}
    sent_before = len(standin.sent_messages(201))
    await dispatch_at(app, clock, utc(2026, 12, 8, 7))  # the old date's day before: nothing
    assert len(standin.sent_messages(201)) == sent_before
    await dispatch_at(app, clock, utc(2026, 12, 9, 7))  # seven days before the new date
    [moved] = standin.sent_messages(201)[sent_before:]
    assert moved.text.startswith("🔔 Påminnelse: uppföljning om 7 dagar\nSIP BP-17\n📅 onsdag 16")


async def test_held_button_on_an_overdue_notice_stops_the_notices(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """ "✅ Hölls" on the first overdue notice records the follow-up: no more notices and no
    escalation for it."""
    people = team(app, standin, clock)
    await dispatch_at(app, clock, utc(2026, 12, 10, 7))
    notice = await people.anna.reply()
    confirm = await people.anna.tap(notice, "Hölls")
    question = await people.anna.tap(confirm, t("plans.btn_held_yes", "sv"))
    assert question.text.startswith("✅ Uppföljningen 9 december 2026 är registrerad som hållen.")
    for day in (11, 14, 15):
        await dispatch_at(app, clock, utc(2026, 12, day, 7))
    assert len([e for e in standin.sent_messages(201) if e.text.startswith("⚠️")]) == 1
    assert standin.sent_messages(203) == []
    old = [r for r in reminder_rows(app) if r.follow_up_date == FOLLOW_UP]
    # Stopped as "held" (kept apart from other cancellations, for an undo).
    assert {r.kind for r in old if r.state == "held"} == {"overdue", "escalation"}
