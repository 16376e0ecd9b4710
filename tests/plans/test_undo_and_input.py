"""Findings of the issue-11 attack report on the plan flows, end to end: undo stays on the
card for its ten minutes (also after a new date or "decide later"), "it was held earlier"
is recorded as held today, a time already past today is refused, a repeated wrong input is
answered in place (never a second calendar), places with a first name are refused, a typed
type label is accepted. The real Application against the stand-in, with the fake clock.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from bot.context import DalsbotApp
from bot.i18n import t
from bot.shell.standin import BotApiStandIn, ChatEvent, SimUser
from storage.plans.models import FollowUp, Plan
from tests.conftest import FakeClock
from tests.plans.helpers import add_staff
from tests.plans.test_chat import ANNA, BO, labels, make_plan
from tests.plans.test_followups import pending, short_enough
from tests.reminders.helpers import utc

UNDO = t("plans.btn_undo", "sv")


@pytest.fixture
def team(app: DalsbotApp) -> dict[str, int]:
    """Staff ids: Anna (coordinator) and Bo, in Mellerud."""
    db = app.bot_data.db
    return {
        "anna": add_staff(db, ANNA, "Anna Ek", role="coordinator", username="anna"),
        "bo": add_staff(db, BO, "Bo Al", username="bo"),
    }


def plan_row(app: DalsbotApp, plan_id: int) -> Plan:
    found = app.bot_data.db.call(lambda s: s.get(Plan, plan_id))
    assert found is not None
    return found


def held_rows(app: DalsbotApp) -> list[tuple[dt.date, dt.date]]:
    """Each held follow-up: the day it was booked for, the day it was held."""
    return app.bot_data.db.call(
        lambda s: [(f.scheduled_for, f.held_on) for f in s.exec(select(FollowUp))]
    )


async def hold(user: SimUser, card: ChatEvent) -> ChatEvent:
    confirm = await user.tap(card, t("plans.btn_held", "sv"))
    return await user.tap(confirm, "Ja, den hölls")


async def test_undo_stays_on_the_card_for_ten_minutes_and_replaces_a_new_booking(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """Held → a new date booked → the card still offers undo; undo books the held follow-up
    again exactly, removes the new date and its reminders, and tells the team. Held →
    "decide later" → the card offers undo too; after ten minutes the card no longer does."""
    clock.set(utc(2026, 11, 25, 6))  # 07:00 in Stockholm
    plan_id = make_plan(app, clock, "BP-17", team["anna"], day=dt.date(2026, 11, 25),
                        at=dt.time(13, 30), participants=(team["bo"],))  # fmt: skip
    anna, bo = standin.user(ANNA, "Anna"), standin.user(BO, "Bo")
    before = pending(app, plan_id)
    card = await anna.ask("/plan BP-17")
    assert UNDO not in labels(card)
    question = await hold(anna, card)
    assert UNDO in labels(question)
    step = await anna.ask("2026-12-10")
    step = await anna.tap(step, t("plans.btn_no_time", "sv"))
    card = await anna.tap(step, t("plans.btn_skip_place", "sv"))
    assert card.text.startswith("📅 Nästa uppföljning är bokad: torsdag 10 december 2026.")
    assert UNDO in labels(card)
    assert (await bo.reply()).text.startswith("📅 Anna Ek har bokat nästa uppföljning")
    assert {row[4] for row in pending(app, plan_id)} == {dt.date(2026, 12, 10)}
    clock.advance(minutes=9)
    card = await anna.tap(card, UNDO)
    assert card.text.startswith(
        "↩ Ångrat: uppföljningen 25 november 2026 är bokad igen, med sina påminnelser.\n"
        "Den nya bokningen tors 10 dec. är borttagen."
    ), card.text
    plan = plan_row(app, plan_id)
    assert (plan.next_follow_up, plan.follow_up_time, plan.place) == (
        dt.date(2026, 11, 25), dt.time(13, 30), "Familjecentralen",
    )  # fmt: skip
    assert pending(app, plan_id) == before
    assert held_rows(app) == []
    told = await bo.reply()
    assert told.text.startswith("🕘 Anna Ek har ändrat uppföljningen av BP-17: onsdag 25 november")

    # Held again, then "decide later": the card offers undo until ten minutes have passed.
    question = await hold(anna, card)
    card = await anna.tap(question, t("plans.btn_later", "sv"))
    assert UNDO in labels(card)
    clock.advance(minutes=10, seconds=1)
    card = await anna.ask("/plan BP-17")
    assert UNDO not in labels(card)
    more = await anna.tap(card, t("plans.btn_more", "sv"))
    assert UNDO not in labels(more)
    short_enough(anna, bo)


async def test_held_earlier_is_recorded_as_held_today_and_undo_restores_the_booking(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """ "It was held earlier" on 26 November for a 17 December follow-up: held today, and
    the line says so; undo (from the card) books 17 December at the same time and place."""
    clock.set(utc(2026, 11, 26, 11, 30))  # 12:30 in Stockholm
    plan_id = make_plan(app, clock, "BP-17", team["anna"], day=dt.date(2026, 12, 17),
                        at=dt.time(14, 0))  # fmt: skip
    anna = standin.user(ANNA, "Anna")
    before = pending(app, plan_id)
    card = await anna.ask("/plan BP-17")
    more = await anna.tap(card, t("plans.btn_more", "sv"))
    confirm = await anna.tap(more, t("plans.btn_held_earlier", "sv"))
    question = await anna.tap(confirm, "Ja, den hölls")
    assert question.text.startswith(
        "✅ Uppföljningen som var bokad 17 december är registrerad som hållen i dag, 26 november."
    ), question.text
    assert held_rows(app) == [(dt.date(2026, 12, 17), dt.date(2026, 11, 26))]
    card = await anna.tap(question, t("plans.btn_later", "sv"))
    card = await anna.tap(card, UNDO)
    plan = plan_row(app, plan_id)
    assert (plan.next_follow_up, plan.follow_up_time, plan.place) == (
        dt.date(2026, 12, 17), dt.time(14, 0), "Familjecentralen",
    )  # fmt: skip
    assert pending(app, plan_id) == before and held_rows(app) == []
    short_enough(anna)
