"""A follow-up's buttons end to end (issue 11): every one names the follow-up it is about,
"held" is confirmed, offered from the day on only, and can be undone; plans are edited from
the card's "More ▾"; the people concerned are told. The real Application against the
stand-in, with the fake clock (it starts on Wednesday 25 November 2026, 10:00 in Stockholm).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from bot.context import BotContext, DalsbotApp
from bot.i18n import t
from bot.shell.standin import BotApiStandIn, ChatEvent, SimUser
from handlers.plans import notices
from storage.plans.models import FollowUp, Plan, PlanParticipant, Reminder
from tests.conftest import FakeClock
from tests.plans.helpers import add_staff
from tests.plans.test_chat import ANNA, ASA, BO, CIA, DAN, EVA, labels, make_plan
from tests.reminders.helpers import utc

# Every message of these flows fits a phone.
MAX_CHARS = 1200
MAX_LINES = 15


@pytest.fixture
def team(app: DalsbotApp) -> dict[str, int]:
    """Staff ids: Anna (coordinator, Mellerud), Bo, Dan and Eva (Mellerud), Cia (Åmål), Åsa
    (coordinator, Åmål), as in test_chat.py."""
    db = app.bot_data.db
    return {
        "anna": add_staff(db, ANNA, "Anna Ek", role="coordinator", username="anna"),
        "bo": add_staff(db, BO, "Bo Al", username="bo"),
        "cia": add_staff(db, CIA, "Cia Berg", municipality="Åmål", username="cia"),
        "dan": add_staff(db, DAN, "Dan Ulf", username="dan"),
        "eva": add_staff(db, EVA, "Eva Ny", username="eva"),
        "asa": add_staff(db, ASA, "Åsa Ås", role="coordinator", municipality="Åmål"),
    }


def plain(event: ChatEvent) -> str:
    """The text as the phone shows it (the stand-in keeps Telegram's plain text)."""
    return event.text


def short_enough(*users: SimUser) -> None:
    """No message the bot sent or edited for ``users`` is longer than a phone screen."""
    for user in users:
        for event in user.events():
            if event.kind in ("send", "edit"):
                assert len(event.text) <= MAX_CHARS, event.text
                assert len(event.text.splitlines()) <= MAX_LINES, event.text


def pending(app: DalsbotApp, plan_id: int) -> list[tuple[object, ...]]:
    """The plan's pending reminder rows: id, who, kind, seq, day, due time."""
    return app.bot_data.db.call(
        lambda s: [
            (r.id, r.staff_id, r.kind, r.seq, r.follow_up_date, r.due_at)
            for r in s.exec(
                select(Reminder)
                .where(Reminder.plan_id == plan_id, Reminder.state == "pending")
                .order_by(Reminder.id)  # type: ignore[arg-type]
            )
        ]
    )


def plan_row(app: DalsbotApp, plan_id: int) -> Plan:
    found = app.bot_data.db.call(lambda s: s.get(Plan, plan_id))
    assert found is not None
    return found


def held_rows(app: DalsbotApp) -> list[dt.date]:
    return app.bot_data.db.call(lambda s: [f.scheduled_for for f in s.exec(select(FollowUp))])


async def dispatch_at(app: DalsbotApp, clock: FakeClock, moment: dt.datetime) -> None:
    from handlers.plans.dispatcher import Dispatcher

    clock.set(moment)
    await app.bot_data.services.get(Dispatcher).run_once()


def notices_to(user: SimUser) -> list[ChatEvent]:
    """Messages the bot sent this person on its own (not answers to their taps)."""
    return [e for e in user.events() if e.kind == "send"]


async def test_held_on_an_old_reminder_after_a_new_date_is_refused(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """The issue's scenario: today's reminder → held (confirmed) → a new date on 5 January;
    "held" again on the same old reminder is refused with both dates, and the 5 January
    follow-up and its reminders are untouched. Bo (in the team) is told of the new date."""
    plan_id = make_plan(app, clock, "BP-17", team["anna"], day=dt.date(2026, 12, 9),
                        at=dt.time(10, 0), participants=(team["bo"],))  # fmt: skip
    anna, bo = standin.user(ANNA, "Anna"), standin.user(BO, "Bo")
    await dispatch_at(app, clock, utc(2026, 12, 9, 7))  # 08:00 on the day
    reminder = await anna.reply()
    await bo.reply()
    assert labels(reminder) == ["✅ Hölls", "📅 Nytt datum", "⏰ Påminn mig i morgon"]
    confirm = await anna.tap(reminder, "Hölls")  # tap 1
    assert plain(confirm) == (
        "Markera uppföljningen onsdag 9 december 2026 av BP-17 som hållen?\n"
        "Påminnelserna om den slutar då. Du kan ångra i 10 minuter."
    )
    assert held_rows(app) == []  # nothing recorded before the confirmation
    question = await anna.tap(confirm, "Ja, den hölls")  # tap 2
    assert plain(question).startswith("✅ Uppföljningen 9 december 2026 är registrerad som hållen.")
    assert t("plans.btn_undo", "sv") in labels(question)
    step = await anna.ask("2027-01-05")
    step = await anna.tap(step, t("plans.btn_no_time", "sv"))
    card = await anna.tap(step, t("plans.btn_skip_place", "sv"))
    assert plain(card).startswith("📅 Nästa uppföljning är bokad: tisdag 5 januari 2027.")
    told = await bo.reply()
    assert plain(told) == "📅 Anna Ek har bokat nästa uppföljning av BP-17: tisdag 5 januari 2027"
    before = pending(app, plan_id)
    assert {row[4] for row in before} == {dt.date(2027, 1, 5)} and before

    await anna.press(reminder, "Hölls")
    alert = await anna.reply()
    assert alert.alert == (
        "Knappen gällde uppföljningen 9 december 2026. Planens nästa uppföljning är 5 januari 2027."
    )
    # The old confirmation's data (its message now shows the next step) is refused too.
    await anna.press(reminder, 0, data=f"pln:heldok:{plan_id}:20261209")
    assert (await anna.reply()).alert == alert.alert
    await anna.press(reminder, "Nytt datum")
    assert (await anna.reply()).alert == alert.alert
    assert plan_row(app, plan_id).next_follow_up == dt.date(2027, 1, 5)
    assert pending(app, plan_id) == before
    assert held_rows(app) == [dt.date(2026, 12, 9)]
    assert [e.text for e in notices_to(bo)][1:] == [told.text]  # one notice, nothing more
    short_enough(anna, bo)


async def test_held_is_offered_from_the_day_on_and_earlier_only_behind_more(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """The 7-days-before reminder and the card before the day carry no "held"; a forged one
    is refused; "More ▾ → it was held earlier" asks to confirm and then records it."""
    plan_id = make_plan(app, clock, "BP-17", team["anna"], day=dt.date(2026, 12, 9),
                        at=dt.time(10, 0))  # fmt: skip
    anna = standin.user(ANNA, "Anna")
    await dispatch_at(app, clock, utc(2026, 12, 2, 7))  # seven days before
    week_before = await anna.reply()
    assert labels(week_before) == ["📅 Nytt datum", "⏰ Påminn mig i morgon"]
    card = await anna.ask("/plan BP-17")
    assert labels(card) == [t("plans.btn_date", "sv"), t("plans.btn_more", "sv")]
    await anna.press(card, 0, data=f"pln:held:{plan_id}:20261209")
    refused = await anna.reply()
    assert refused.alert == t("plans.held_too_early", "sv", date="9 december 2026")
    more = await anna.tap(card, t("plans.btn_more", "sv"))
    assert t("plans.btn_held_earlier", "sv") in labels(more)
    assert len(more.buttons) <= 10
    confirm = await anna.tap(more, t("plans.btn_held_earlier", "sv"))
    assert "Hölls den redan?" in plain(confirm) and "Påminnelserna om den slutar" in plain(confirm)
    question = await anna.tap(confirm, "Ja, den hölls")
    assert plain(question).startswith(
        "✅ Uppföljningen som var bokad 9 december är registrerad som hållen i dag, 2 december."
    )
    card = await anna.tap(question, t("plans.btn_later", "sv"))
    assert plan_row(app, plan_id).next_follow_up is None
    assert held_rows(app) == [dt.date(2026, 12, 9)]
    assert pending(app, plan_id) == []
    short_enough(anna)


async def test_undo_restores_the_follow_up_and_its_reminders_exactly(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """ "Undo" after "held" books the follow-up again with the same time and place, and the
    same reminder rows pending with the same due times; what was sent is not sent again.
    After ten minutes undo is refused."""
    clock.set(utc(2026, 11, 25, 6))  # 07:00 in Stockholm, before the day-of reminder
    plan_id = make_plan(app, clock, "BP-17", team["anna"], day=dt.date(2026, 11, 25),
                        at=dt.time(13, 30), participants=(team["bo"],))  # fmt: skip
    anna, bo = standin.user(ANNA, "Anna"), standin.user(BO, "Bo")
    await dispatch_at(app, clock, utc(2026, 11, 25, 7))
    await anna.reply()
    await bo.reply()
    before = pending(app, plan_id)
    assert before  # the overdue notices and the escalation
    card = await anna.ask("/plan BP-17")
    confirm = await anna.tap(card, t("plans.btn_held", "sv"))
    question = await anna.tap(confirm, "Ja, den hölls")
    assert pending(app, plan_id) == []
    card = await anna.tap(question, t("plans.btn_undo", "sv"))
    assert plain(card).startswith("↩ Ångrat: uppföljningen 25 november 2026 är bokad igen")
    assert "Nästa uppföljning: onsdag 25 november 2026 kl. 13:30, Familjecentralen" in plain(card)
    plan = plan_row(app, plan_id)
    assert (plan.next_follow_up, plan.follow_up_time, plan.place) == (
        dt.date(2026, 11, 25), dt.time(13, 30), "Familjecentralen",
    )  # fmt: skip
    assert pending(app, plan_id) == before
    assert held_rows(app) == []
    sent_before = len(standin.sent_messages(ANNA)) + len(standin.sent_messages(BO))
    await dispatch_at(app, clock, utc(2026, 11, 25, 8))  # nothing due: nothing sent twice
    assert len(standin.sent_messages(ANNA)) + len(standin.sent_messages(BO)) == sent_before
    # Held again, and undo eleven minutes later: too late.
    confirm = await anna.tap(card, t("plans.btn_held", "sv"))
    question = await anna.tap(confirm, "Ja, den hölls")
    clock.advance(minutes=11)
    await anna.press(question, t("plans.btn_undo", "sv"))
    assert (await anna.reply()).alert == t("plans.undo_expired", "sv")
    assert plan_row(app, plan_id).next_follow_up is None
    short_enough(anna, bo)


async def test_plan_created_tells_the_responsible_and_the_team_once(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """A new plan: the responsible and each participant are told once, in their language,
    with the card's button; the creator is not; a person who blocked the bot is skipped."""
    plan_id = make_plan(app, clock, "BP-17", team["bo"], participants=(team["anna"], team["dan"],
                        team["eva"]))  # fmt: skip
    standin.blocked.add(EVA)
    anna, bo = standin.user(ANNA, "Anna"), standin.user(BO, "Bo")
    dan, eva = standin.user(DAN, "Dan"), standin.user(EVA, "Eva")
    context = BotContext(app)
    await notices.tell_plan_created(context, plan_id, team["anna"])
    told_bo, told_dan = await bo.reply(), await dan.reply()
    assert plain(told_bo) == (
        "📋 Anna Ek har skapat planen BP-17 (SIP) med dig som ansvarig.\n"
        "Nästa uppföljning: fredag 18 december 2026 kl. 13:30, Familjecentralen"
    )
    assert plain(told_dan).startswith("📋 Anna Ek har lagt till dig i den nya planen BP-17 (SIP).")
    assert labels(told_dan) == [t("plans.btn_open_card", "sv")]
    assert anna.events() == [] and eva.events() == []
    card = await dan.tap(told_dan, t("plans.btn_open_card", "sv"))
    assert plain(card).startswith("📋 BP-17 · SIP")
    assert len(notices_to(bo)) == 1


async def test_team_changes_tell_the_people_concerned(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """Added, removed, responsibility moved, type, time and place changed, closed: each
    person concerned is told once, never the one who made the change; taps counted."""
    plan_id = make_plan(app, clock, "BP-17", team["bo"], participants=(team["dan"],))
    anna, bo = standin.user(ANNA, "Anna"), standin.user(BO, "Bo")
    dan, eva = standin.user(DAN, "Dan"), standin.user(EVA, "Eva")
    card = await anna.ask("/plan BP-17")
    # Add a participant: More ▾, Add, the name (3 taps; before: 2, the card showed "Add").
    more = await anna.tap(card, t("plans.btn_more", "sv"))
    picker = await anna.tap(more, t("plans.btn_add", "sv"))
    picker = await anna.tap(picker, "Eva Ny")
    assert plain(picker).startswith("➕ Eva Ny är nu med i planen.")
    added = await eva.reply()
    assert plain(added).startswith("➕ Anna Ek har lagt till dig i planen BP-17 (SIP).")
    # Responsibility moves from Bo to Dan: both are told; Bo stays in the team.
    card = await anna.tap(picker, t("plans.btn_back", "sv"))
    more = await anna.tap(card, t("plans.btn_more", "sv"))
    choose = await anna.tap(more, t("plans.btn_responsible", "sv"))
    assert "Bo Al · Mellerud" not in labels(choose)
    card = await anna.tap(choose, "Dan Ulf")
    assert plain(card).startswith("👤 Dan Ulf är nu ansvarig.")
    assert "Ansvarig: Dan Ulf\nDeltagare: Bo Al, Eva Ny\n" in plain(card)
    assert plain(await dan.reply()).startswith("👤 Anna Ek har gjort dig ansvarig för planen BP-17")
    assert plain(await bo.reply()) == (
        "👤 Anna Ek har gjort Dan Ulf ansvarig för planen BP-17. Du är kvar som deltagare."
    )
    # The type, the time (typed) and the place (typed): the whole team is told each time.
    more = await anna.tap(card, t("plans.btn_more", "sv"))
    kinds = await anna.tap(more, t("plans.btn_type", "sv"))
    card = await anna.tap(kinds, "Barnets plan")
    assert plain(card).startswith("🏷 Planen är nu: Barnets plan.")
    more = await anna.tap(card, t("plans.btn_more", "sv"))
    await anna.tap(more, t("plans.btn_time", "sv"))
    card = await anna.ask("14:15")
    assert "Nästa uppföljning: fredag 18 december 2026 kl. 14:15, Familjecentralen" in plain(card)
    more = await anna.tap(card, t("plans.btn_more", "sv"))
    await anna.tap(more, t("plans.btn_place", "sv"))
    refused = await anna.ask("hos 19900101-0017")
    assert t("plans.place_personnummer", "sv") in plain(refused)
    card = await anna.ask("Skolan")
    assert "kl. 14:15, Skolan" in plain(card)
    plan = plan_row(app, plan_id)
    assert (plan.plan_type, plan.follow_up_time, plan.place) == ("barnets_plan", dt.time(14, 15),
                                                                 "Skolan")  # fmt: skip
    for person in (bo, dan, eva):
        assert [plain(e) for e in await person.next(3)] == [
            "🏷 Anna Ek har ändrat planen BP-17 till Barnets plan.",
            "🕘 Anna Ek har ändrat uppföljningen av BP-17: "
            "fredag 18 december 2026 kl. 14:15, Familjecentralen",
            "🕘 Anna Ek har ändrat uppföljningen av BP-17: "
            "fredag 18 december 2026 kl. 14:15, Skolan",
        ]
    # Remove Eva: she is told, without a card button (she can no longer open it).
    more = await anna.tap(card, t("plans.btn_more", "sv"))
    choose = await anna.tap(more, t("plans.btn_remove", "sv"))
    await anna.tap(choose, "Eva Ny")
    removed = await eva.reply()
    assert plain(removed) == (
        "➖ Anna Ek har tagit bort dig från planen BP-17. Du får inga fler påminnelser om den."
    )
    assert removed.buttons == []
    # Close: More ▾, Close, Yes (3 taps; before: 2); Bo and Dan are told, Eva no longer.
    card = anna.last()
    more = await anna.tap(card, t("plans.btn_more", "sv"))
    confirm = await anna.tap(more, t("plans.btn_close", "sv"))
    await anna.tap(confirm, t("plans.btn_close_yes", "sv"))
    for person in (bo, dan):
        assert plain(await person.reply()).startswith("🔒 Anna Ek har stängt planen BP-17.")
    counts = {name: len(notices_to(p)) for name, p in (("bo", bo), ("dan", dan), ("eva", eva))}
    assert counts == {"bo": 5, "dan": 5, "eva": 5}
    assert [e for e in anna.events() if e.kind == "send" and "Anna Ek har" in e.text] == []
    members = app.bot_data.db.call(lambda s: set(s.exec(
        select(PlanParticipant.staff_id).where(PlanParticipant.plan_id == plan_id))))  # fmt: skip
    assert members == {team["bo"]}
    short_enough(anna, bo, dan, eva)


async def test_participants_may_not_edit_what_only_managers_may(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """A participant's "More ▾" has the follow-up's time and place but not the responsible,
    the type, the team or closing; forged presses are refused and change nothing."""
    plan_id = make_plan(app, clock, "BP-17", team["bo"], participants=(team["dan"],))
    dan = standin.user(DAN, "Dan")
    card = await dan.ask("/plan BP-17")
    more = await dan.tap(card, t("plans.btn_more", "sv"))
    assert t("plans.btn_time", "sv") in labels(more)
    for key in ("btn_responsible", "btn_type", "btn_add", "btn_close"):
        assert t(f"plans.{key}", "sv") not in labels(more), key
    for data in (f"pln:setresp:{plan_id}:{team['dan']}", f"pln:settype:{plan_id}:annan",
                 f"pln:resp:{plan_id}"):  # fmt: skip
        await dan.press(more, 0, data=data)
        assert (await dan.reply()).alert == t("plans.not_allowed", "sv"), data
    await dan.press(more, 0, data=f"pln:settime:{plan_id}:20261217:0900")
    assert (await dan.reply()).alert == t("plans.follow_up_moved", "sv")
    plan = plan_row(app, plan_id)
    assert (plan.responsible_id, plan.plan_type, plan.follow_up_time) == (
        team["bo"], "sip", dt.time(13, 30),
    )  # fmt: skip


class Counted:
    """A person whose taps and the messages the bot sends them are counted."""

    def __init__(self, user: SimUser) -> None:
        self.user, self.taps = user, 0
        self._sends = self.sends_now()

    def sends_now(self) -> int:
        return len([e for e in self.user.events() if e.kind == "send"])

    async def tap(self, event: ChatEvent, button: str) -> ChatEvent:
        self.taps += 1
        return await self.user.tap(event, button)

    def new_messages(self) -> int:
        return self.sends_now() - self._sends


async def test_taps_and_messages_of_the_card_tasks(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """The README's table: mark held from the day's reminder 2 taps (was 1: now confirmed),
    a new date from a reminder 4 taps (unchanged), add a participant 3 taps and close a plan
    3 taps (were 2: both behind "More ▾"); each task sends one new message at most, the rest
    is edited in place, and every message fits a phone."""
    make_plan(app, clock, "BP-17", team["anna"], day=dt.date(2026, 12, 9), at=dt.time(10, 0))
    make_plan(app, clock, "BP-18", team["anna"], day=dt.date(2026, 12, 9), at=dt.time(14, 0))
    anna = standin.user(ANNA, "Anna")
    await dispatch_at(app, clock, utc(2026, 12, 9, 7))
    first, second = await anna.next(2)
    held_from = first if "BP-17" in first.text else second
    date_from = second if held_from is first else first

    held = Counted(anna)
    confirm = await held.tap(held_from, "Hölls")
    await held.tap(confirm, t("plans.btn_held_yes", "sv"))
    assert (held.taps, held.new_messages()) == (2, 1)
    await anna.ask("/cancel")

    moved = Counted(anna)
    calendar = await moved.tap(date_from, "Nytt datum")
    step = await moved.tap(calendar, "16")
    step = await moved.tap(step, t("plans.btn_no_time", "sv"))
    card = await moved.tap(step, t("plans.btn_skip_place", "sv"))
    assert plain(card).startswith("📅 Nästa uppföljning är bokad: onsdag 16 december 2026.")
    assert (moved.taps, moved.new_messages()) == (4, 1)

    added = Counted(anna)
    more = await added.tap(card, t("plans.btn_more", "sv"))
    picker = await added.tap(more, t("plans.btn_add", "sv"))
    picker = await added.tap(picker, "Bo Al")
    assert plain(picker).startswith("➕ Bo Al är nu med i planen.")
    assert (added.taps, added.new_messages()) == (3, 0)

    closed = Counted(anna)
    card = await closed.tap(picker, t("plans.btn_back", "sv"))
    closed.taps = 0  # back to the card is not part of closing
    more = await closed.tap(card, t("plans.btn_more", "sv"))
    confirm = await closed.tap(more, t("plans.btn_close", "sv"))
    done = await closed.tap(confirm, t("plans.btn_close_yes", "sv"))
    assert plain(done).startswith(t("plans.closed_notice", "sv"))
    assert (closed.taps, closed.new_messages()) == (3, 0)
    short_enough(anna)
