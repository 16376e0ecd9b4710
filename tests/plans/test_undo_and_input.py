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
from tests.plans.test_wizard_flow import BACK, LEGEND, sends, to_date_step
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


async def test_a_time_already_past_today_is_refused_in_the_wizard(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """At 12:30 on 26 November: today's time step offers only later times; a typed 08:00 or
    12:29 is refused by one line under the question (the same message), 12:30 is taken."""
    clock.set(utc(2026, 11, 26, 11, 30))  # 12:30 in Stockholm
    anna = standin.user(ANNA, "Anna")
    step = await to_date_step(anna)
    step = await anna.ask("26/11")
    assert step.text.startswith("Torsdag 26 november 2026. Vilken tid?")
    assert labels(step) == ["13:00", "14:00", "15:00", t("plans.btn_no_time", "sv"), BACK]
    question, sent = step.text, sends(anna)
    refused = await anna.ask("08:00")
    assert refused.kind == "edit", [(e.kind, e.text[:60]) for e in anna.events()]
    assert refused.text == question + "\n\n⚠️ " + t("plans.time_past", "sv")
    refused = await anna.ask("kl 12.29")
    assert refused.text.endswith(t("plans.time_past", "sv") + " (2)")
    assert sends(anna) == sent
    step = await anna.ask("12:30")
    assert step.text == t("plans.ask_place", "sv")
    short_enough(anna)


async def test_a_time_already_past_today_is_refused_on_the_card(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """ "Change time" on the card at 12:30 offers only later times; a past time pressed
    (an older message's button) is refused with the reason and nothing changes; a later
    one is stored."""
    clock.set(utc(2026, 11, 26, 11, 30))  # 12:30 in Stockholm
    anna = standin.user(ANNA, "Anna")
    plan_id = make_plan(app, clock, "BP-18", team["anna"], day=dt.date(2026, 11, 26),
                        at=dt.time(15, 0))  # fmt: skip
    card = await anna.ask("/plan BP-18")
    more = await anna.tap(card, t("plans.btn_more", "sv"))
    step = await anna.tap(more, t("plans.btn_time", "sv"))
    assert labels(step)[:3] == ["13:00", "14:00", "15:00"] and "08:00" not in labels(step)
    await anna.press(step, 0, data=f"pln:settime:{plan_id}:20261126:0800")
    assert (await anna.reply()).alert == t("plans.time_past", "sv")
    assert plan_row(app, plan_id).follow_up_time == dt.time(15, 0)
    card = await anna.tap(step, "13:00")
    assert plan_row(app, plan_id).follow_up_time == dt.time(13, 0)
    short_enough(anna)


async def test_a_repeated_wrong_input_is_numbered_in_place_never_a_second_prompt(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """32/13 then 33/13 at the calendar, kl 25 then 25:00 at the time, text twice at a
    button step: each answered by editing the question's message (the repeat numbered);
    the bot sends no new message, so there is never a second calendar."""
    anna = standin.user(ANNA, "Anna")
    await anna.ask("/ny_plan")
    step = await anna.ask("BP-17")
    sent = sends(anna)
    wrong = await anna.ask("vad är en SIP?")
    assert wrong.kind == "edit"
    assert wrong.text.endswith("⚠️ " + t("plans.expected_button", "sv"))
    wrong = await anna.ask("vad är en SIP?")
    assert wrong.kind == "edit"
    assert wrong.text.endswith("⚠️ " + t("plans.expected_button", "sv") + " (2)")
    wrong = await anna.ask("vad är en plan?")
    assert wrong.text.endswith(t("plans.expected_button", "sv") + " (3)")
    step = await anna.tap(wrong, "SIP")
    step = await anna.tap(await anna.tap(step, "Mellerud"), "Jag själv")
    step = await anna.tap(step, "Klar")
    unreadable = "⚠️ " + t("plans.date_unreadable", "sv")
    wrong = await anna.ask("32/13")
    assert wrong.kind == "edit" and wrong.text.endswith(unreadable)
    wrong = await anna.ask("33/13")
    assert wrong.kind == "edit" and wrong.text.endswith(unreadable + " (2)")
    assert sends(anna) == sent  # every answer so far an edit of the one message
    step = await anna.ask("15/12")  # a typed answer: the time question comes as a new message
    sent = sends(anna)
    unreadable = "⚠️ " + t("plans.time_unreadable", "sv")
    wrong = await anna.ask("kl 25")
    assert wrong.kind == "edit" and wrong.text.endswith(unreadable)
    wrong = await anna.ask("25:00")
    assert wrong.kind == "edit" and wrong.text.endswith(unreadable + " (2)")
    step = await anna.tap(wrong, "10:00")
    assert step.text == t("plans.ask_place", "sv")
    assert sends(anna) == sent  # the wrong times and the tap: edits of that message
    calendars = [e for e in anna.events() if e.kind == "send" and LEGEND in e.text]
    assert calendars == []
    short_enough(anna)


async def test_a_typed_type_label_is_taken_as_its_button(
    app: DalsbotApp, standin: BotApiStandIn, team: dict[str, int]
) -> None:
    """ "SIP", "sip", "barnets plan" and the English "Other plan" at the type step are
    taken as the button with that label; other text is still refused."""
    anna = standin.user(ANNA, "Anna")
    for typed, stored in (("SIP", "SIP"), ("sip", "SIP"), ("  barnets  PLAN ", "Barnets plan"),
                          ("Other plan", "Annan plan")):  # fmt: skip
        await anna.ask("/ny_plan")
        await anna.ask("BP-17")
        step = await anna.ask(typed)
        assert step.text == t("plans.new_pick_municipality", "sv"), typed
        step = await anna.tap(step, BACK)
        assert "✅ " + stored in labels(step), typed
        await anna.ask("/avbryt")
    await anna.ask("/ny_plan")
    await anna.ask("BP-17")
    wrong = await anna.ask("SIPP")
    assert wrong.text.endswith(t("plans.expected_button", "sv"))


async def test_empty_list_offers_a_new_plan_and_a_closed_card_says_closed_once(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """/planer with no plans has "➕ Ny plan", which starts the wizard; closing says
    "closed" once; re-opening is "🔓 Återöppna planen" (the view button keeps "Öppna")."""
    anna = standin.user(ANNA, "Anna")
    empty = await anna.ask("/planer")
    assert empty.text == t("plans.list_empty", "sv")
    assert labels(empty) == [t("core.home_new_plan", "sv")]
    started = await anna.tap(empty, t("core.home_new_plan", "sv"))
    assert started.text.startswith(t("plans.new_ask_reference", "sv")[:20])
    await anna.ask("/avbryt")
    make_plan(app, clock, "BP-17", team["anna"])
    card = await anna.ask("/plan BP-17")
    more = await anna.tap(card, t("plans.btn_more", "sv"))
    confirm = await anna.tap(more, t("plans.btn_close", "sv"))
    closed = await anna.tap(confirm, t("plans.btn_close_yes", "sv"))
    assert closed.text.count("stängd") == 1, closed.text
    assert labels(closed) == [t("plans.btn_more", "sv")]
    more = await anna.tap(closed, t("plans.btn_more", "sv"))
    assert "🔓 Återöppna planen" in labels(more)
    assert t("plans.btn_reopen", "en") == "🔓 Reopen the plan"
    assert "DSL-2026-014" in t("plans.ref_invalid", "sv") + t("plan_wizard.ref_first_name", "sv")
    short_enough(anna)


async def test_a_place_with_a_first_name_is_refused_in_the_wizard_and_on_the_card(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """ "Hos Lisa hemma" is refused by one line under the place question (wizard) and under
    "change place" (card); nothing with the name is stored or sent to the team."""
    anna, bo = standin.user(ANNA, "Anna"), standin.user(BO, "Bo")
    await to_date_step(anna)
    await anna.tap(await anna.ask("15/12"), "10:00")
    refused = await anna.ask("Hos Lisa hemma")
    assert refused.kind == "edit"
    assert refused.text.endswith("⚠️ " + t("plans.place_first_name", "sv"))
    summary = await anna.ask("Familjecentralen")
    assert "Familjecentralen" in summary.text
    await anna.ask("/avbryt")
    plan_id = make_plan(app, clock, "BP-18", team["anna"], participants=(team["bo"],))
    more = await anna.tap(await anna.ask("/plan BP-18"), t("plans.btn_more", "sv"))
    await anna.tap(more, t("plans.btn_place", "sv"))
    refused = await anna.ask("hemma hos Elin")
    assert refused.text.endswith("⚠️ " + t("plans.place_first_name", "sv"))
    assert plan_row(app, plan_id).place == "Familjecentralen"
    assert all("Elin" not in e.text and "Lisa" not in e.text for e in bo.events())
    short_enough(anna)
