"""The organiser is told when their pulse closes: once, never lost (issue 11, item 5)."""

from __future__ import annotations

import asyncio

from bot.context import DalsbotApp
from bot.i18n import t
from bot.shell.standin import BotApiStandIn
from storage.pulse import store as pulse_store
from tests.conftest import FakeClock
from tests.helpers import add_staff
from tests.pulse.helpers import answer, open_pulse
from tests.pulse.test_e2e import run_closing_job

NOTICE = "🔒 Pulsen ”Teamet” har stängt: 3 svar."


async def _closed_pulse_with_answers(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> int:
    db = app.bot_data.db
    pulse = open_pulse(db, add_staff(db, 50, "Olle"), now=clock.now, label="Teamet", hours=2)
    for user_id in (161, 162, 163):
        await answer(standin, user_id, pulse, [4, 4, 4, 4, 4])
    assert pulse.id is not None
    return pulse.id


async def test_a_pulse_closed_while_no_one_told_is_told_at_the_next_run(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """A pulse closed by a process that stopped before telling (a restart, a crash) is told
    at the closing job's next run, once."""
    pulse_id = await _closed_pulse_with_answers(app, standin, clock)
    olle = standin.user(50, "Olle")
    clock.advance(hours=3)
    closed = app.bot_data.db.call(lambda s: pulse_store.close_due_pulses(s, now=clock.now))
    assert closed == [pulse_id]
    await run_closing_job(app)
    (notice,) = await olle.next(1)
    assert notice.text == NOTICE
    await run_closing_job(app)
    await asyncio.sleep(0.2)
    assert len(olle.events()) == 1


async def test_two_runs_at_once_tell_the_organiser_once(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Two closing jobs at the same moment (two processes) claim the notice in the database:
    one notice."""
    await _closed_pulse_with_answers(app, standin, clock)
    olle = standin.user(50, "Olle")
    clock.advance(hours=2)
    await asyncio.gather(run_closing_job(app), run_closing_job(app), run_closing_job(app))
    (notice,) = await olle.next(1)
    assert notice.text == NOTICE
    await asyncio.sleep(0.3)
    assert len(olle.events()) == 1


async def test_a_notice_lost_on_the_way_is_sent_at_the_next_run(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """When Telegram cannot be reached, the claim is given back and the next run tells the
    organiser; a blocked organiser is not retried forever."""
    pulse_id = await _closed_pulse_with_answers(app, standin, clock)
    olle = standin.user(50, "Olle")
    clock.advance(hours=2)
    standin.drop_next_requests = 1
    await run_closing_job(app)
    await asyncio.sleep(0.2)
    assert olle.events() == []
    assert app.bot_data.db.call(pulse_store.pulses_to_notify) == [pulse_id]
    clock.advance(minutes=1)
    await run_closing_job(app)
    (notice,) = await olle.next(1)
    assert notice.text == NOTICE
    assert app.bot_data.db.call(pulse_store.pulses_to_notify) == []


async def test_closing_by_hand_tells_once_with_the_results(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Closed by hand: the confirmation becomes the notice and the results picture follows
    (4 taps from /puls_resultat); the closing job sends nothing more. Every message fits a
    phone."""
    await _closed_pulse_with_answers(app, standin, clock)
    olle = standin.user(50, "Olle")
    listing = await olle.ask("/puls_resultat")
    status = await olle.tap(listing, "Teamet")
    confirm = await olle.tap(status, t("pulse.close_now", "sv"))
    await olle.press(confirm, t("pulse.close_yes", "sv"))
    told, card = await olle.next(2)
    assert told.text == NOTICE and card.file_name == "puls-resultat.png"
    clock.advance(hours=3)
    await run_closing_job(app)
    await asyncio.sleep(0.2)
    assert olle.events()[-1].message["message_id"] == card.message["message_id"]
    assert all(len(event.text) <= 1200 for event in olle.events())
    assert len(card.text) <= 1024 and card.text.count("\n") < 10


async def test_an_organiser_in_english_is_told_in_english(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """The notice is in the organiser's language, with the English plural."""
    db = app.bot_data.db
    organiser = add_staff(db, 54, "Kim", language="en")
    pulse = open_pulse(db, organiser, now=clock.now, label="Team", hours=1)
    for user_id in (171, 172, 173):
        await answer(standin, user_id, pulse, [5, 5, 5, 5, 5])
    kim = standin.user(54, "Kim")
    clock.advance(hours=1)
    await run_closing_job(app)
    (notice,) = await kim.next(1)
    assert notice.text == "🔒 Your pulse “Team” has closed: 3 answers."
    card = await kim.tap(notice, "Show the results")
    assert card.text.splitlines()[1] == "3 answers · closed Wed 25 Nov"
