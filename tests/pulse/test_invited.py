"""Invited-only pulses: personal one-time links, so the organiser cannot answer twice.

Before anyone answered, the organiser turns a pulse into an invited-only one: the shared link
and QR code stop working; each person in a plan's team gets their own link from the bot (the
organiser never sees it), and the organiser one for themselves. A link gives one answer,
whoever holds it; only a hash of it is stored, and none is left once the pulse closes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest
from sqlmodel import select

from bot.context import DalsbotApp
from bot.i18n import t
from bot.shell.standin import BotApiStandIn
from storage.db import Database
from storage.plans import store as plans_store
from storage.pulse import store as pulse_store
from storage.pulse.models import PulseAnswer, PulseInvite
from tests.conftest import FakeClock
from tests.helpers import add_staff
from tests.plans.helpers import CALENDAR, POLICY
from tests.pulse.helpers import answer_from, link_command, open_pulse

PERSONAL = re.compile(r"start=pinv_([A-Za-z0-9_-]+)")


async def test_personal_links_give_one_answer_each_and_the_shared_link_stops(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    db = app.bot_data.db
    organiser = add_staff(db, 930, "Olle")
    ann, bo = add_staff(db, 931, "Ann"), add_staff(db, 932, "Bo")
    assert organiser.id is not None and ann.id is not None and bo.id is not None
    db.call(
        lambda s: plans_store.create_plan(
            s, reference="INV-1", plan_type="sip", municipality="Mellerud",
            responsible_id=organiser.id, participant_ids=[ann.id, bo.id],
            next_follow_up=clock.now.date() + dt.timedelta(days=9), created_by=organiser.id,
            policy=POLICY, calendar=CALENDAR, now=clock.now,
        )
    )  # fmt: skip
    olle = standin.user(930, "Olle")
    ann_chat, bo_chat = standin.user(931, "Ann"), standin.user(932, "Bo")
    stranger = standin.user(933, "Sven")
    await olle.tap(await olle.ask("/puls"), "Barnteamsmöte")
    k_menu = await olle.tap(await olle.ask("Barnteam Väst"), "48 timmar")
    await olle.tap(k_menu, "3 svar", count=2)
    created = olle.events()[-2]
    pulse = db.call(lambda s: s.exec(select(pulse_store.Pulse)).one())
    # Personal links only: the shared link no longer takes answers.
    done = await olle.tap(created, t("pulse.invited_button", "sv"))
    assert done.text == t("pulse.invited_done", "sv", label="Barnteam Väst")
    refused = await stranger.ask(link_command(pulse))
    assert refused.text == t("pulse.invited_only", "sv")
    # The team gets one personal link each, sent by the bot.
    picker = await olle.tap(done, t("pulse.send_to_plan", "sv"))
    sent = await olle.tap(picker, "INV-1")
    assert sent.text == t("pulse.plan_sent", "sv", sent=2, total=2, reference="INV-1")
    links = {}
    for person in (ann_chat, bo_chat):
        match = PERSONAL.search(person.events()[-1].text)
        assert match is not None
        links[person.id] = match.group(1)
    assert len(set(links.values())) == 2
    assert all(token not in e.text for token in links.values() for e in olle.events())
    stored = db.call(lambda s: [i.token_hash for i in s.exec(select(PulseInvite))])
    assert len(stored) == 2 and not set(links.values()) & set(stored)
    # The organiser's own link: one, however often the button is pressed.
    await olle.press(done, t("pulse.own_link_button", "sv"))
    await olle.press(done, t("pulse.own_link_button", "sv"))
    events = await olle.next(2)
    own = [PERSONAL.search(e.text or "") for e in events]
    assert len([m for m in own if m]) == 1
    # Ann answers with her link; the same link, forwarded to the stranger, is used up.
    ann_chat.skip_pending()
    first = await ann_chat.ask(f"/start pinv_{links[931]}")
    thanks = await answer_from(ann_chat, first, [4, 4, 4, 4, 4])
    assert thanks.text == t("pulse.thanks", "sv")
    forwarded = await stranger.ask(f"/start pinv_{links[931]}")
    assert forwarded.text == t("pulse.invite_used", "sv")
    assert len(db.call(lambda s: list(s.exec(select(PulseAnswer))))) == 1
    # An open pulse someone has answered can no longer be made invited-only.
    other = open_pulse(db, organiser, now=clock.now, label="Öppet möte")
    stranger.skip_pending()
    opened = await stranger.ask(link_command(other))
    await answer_from(stranger, opened, [2, 2, 2, 2, 2])
    olle.skip_pending()
    await olle.press(created, 0, data=f"pinv:{other.id}")
    assert (await olle.reply()).alert == t("pulse.invited_too_late", "sv")
    # Closing leaves no link behind.
    assert pulse.id is not None
    pulse_id = pulse.id
    db.call(lambda s: pulse_store.close_pulse(s, pulse_id=pulse_id, now=clock.now))
    assert db.call(lambda s: list(s.exec(select(PulseInvite)))) == []


async def test_a_personal_link_opened_twice_at_once_counts_once(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Two people holding the same link both reach "send": one answer is stored."""
    db = app.bot_data.db
    organiser = add_staff(db, 940, "Olle")
    pulse = open_pulse(db, organiser, now=clock.now)
    assert pulse.id is not None and organiser.id is not None
    pulse_id, organiser_id = pulse.id, organiser.id
    db.call(
        lambda s: pulse_store.make_invited_only(
            s, pulse_id=pulse_id, organiser_id=organiser_id, now=clock.now
        )
    )
    token = db.call(lambda s: pulse_store.make_invites(s, pulse_id=pulse_id, count=1))[0]
    one, two = standin.user(941, "Ett"), standin.user(942, "Två")
    first = await one.ask(f"/start pinv_{token}")
    second = await two.ask(f"/start pinv_{token}")
    done_one = await answer_from(one, first, [3, 3, 3, 3, 3])
    done_two = await answer_from(two, second, [5, 5, 5, 5, 5])
    assert sorted([done_one.text, done_two.text]) == sorted(
        [t("pulse.thanks", "sv"), t("pulse.invite_used", "sv")]
    )
    assert len(db.call(lambda s: list(s.exec(select(PulseAnswer))))) == 1


async def test_links_are_handed_out_once_per_pulse_in_private_only(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """The organiser's own link and a plan's set of links: once per pulse, however often,
    from whatever chat and however many days later; never in a group. Pressing "personal
    links only" again says the same thing whether or not someone has answered since."""
    db = app.bot_data.db
    organiser = add_staff(db, 950, "Olle")
    ann = add_staff(db, 951, "Ann")
    assert organiser.id is not None and ann.id is not None
    plan = db.call(
        lambda s: plans_store.create_plan(
            s, reference="INV-2", plan_type="sip", municipality="Mellerud",
            responsible_id=organiser.id, participant_ids=[ann.id],
            next_follow_up=clock.now.date() + dt.timedelta(days=9), created_by=organiser.id,
            policy=POLICY, calendar=CALENDAR, now=clock.now,
        )
    )  # fmt: skip
    pulse = open_pulse(db, organiser, now=clock.now, hours=24 * 7)
    olle, ann_chat = standin.user(950, "Olle"), standin.user(951, "Ann")
    carrier = await olle.ask("/help")
    await olle.press(carrier, 0, data=f"pinv:{pulse.id}")
    view = await olle.reply()
    assert view.text == t("pulse.invited_done", "sv", label=pulse.label)
    await olle.press(carrier, 0, data=f"pown:{pulse.id}")
    assert PERSONAL.search((await olle.reply()).text or "")
    await olle.press(carrier, 0, data=f"ppl:{pulse.id}:{plan.id}")
    await olle.reply()
    clock.set(clock.now + dt.timedelta(days=3))
    other = await olle.ask("/help")
    for data in (f"pown:{pulse.id}", f"ppl:{pulse.id}:{plan.id}"):
        await olle.press(other, 0, data=data)
        assert (await olle.reply()).alert == t("core.already_done", "sv")
    group = -955
    standin.group(group)
    await olle.send("/help", chat_id=group)
    await standin.wait_for(lambda: bool(standin.sent_messages(group)))
    in_group = standin.sent_messages(group)[-1]
    await olle.press(in_group.message, 0, data=f"pown:{pulse.id}")
    await asyncio.sleep(0.2)
    assert not any(PERSONAL.search(e.text or "") for e in standin.sent_messages(group))
    assert len([e for e in ann_chat.events() if PERSONAL.search(e.text or "")]) == 1
    # Ann answers; pressing "personal links only" again tells nothing new.
    token = PERSONAL.search(ann_chat.events()[-1].text)
    assert token is not None
    ann_chat.skip_pending()
    first = await ann_chat.ask(f"/start pinv_{token.group(1)}")
    await answer_from(ann_chat, first, [4, 4, 4, 4, 4])
    olle.skip_pending()
    await olle.press(other, 0, data=f"pinv:{pulse.id}")
    again = await olle.reply()
    assert again.text == view.text and again.alert is None


def test_a_shared_link_claim_racing_the_switch_is_refused(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim's check ran before the pulse became invited-only (SQLite: outside the write
    transaction); the marker's insert itself refuses it."""
    now = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
    organiser = add_staff(db, 960, "Olle")
    pulse = open_pulse(db, organiser, now=now)
    assert pulse.id is not None and organiser.id is not None
    pulse_id, organiser_id = pulse.id, organiser.id
    db.call(
        lambda s: pulse_store.make_invited_only(
            s, pulse_id=pulse_id, organiser_id=organiser_id, now=now
        )
    )
    monkeypatch.setattr(pulse_store, "_open_pulse_for_answer", lambda session, pid, at: pulse)
    claimed = db.call(
        lambda s: pulse_store.claim_respondent(s, pulse_id=pulse_id, key_hash="k" * 64, now=now)
    )
    assert claimed is pulse_store.ClaimResult.CLOSED


def test_personal_links_are_stored_in_random_order(db: Database) -> None:
    """Their place in the table (PostgreSQL's ctid; SQLite keeps them in hash order) must
    not follow the order they were sent in, or it would tell whose link was used."""
    import hashlib

    import sqlalchemy as sa

    now = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
    organiser = add_staff(db, 961, "Olle")
    pulse = open_pulse(db, organiser, now=now)
    assert pulse.id is not None
    pulse_id = pulse.id
    tokens = db.call(lambda s: pulse_store.make_invites(s, pulse_id=pulse_id, count=24))
    sent_order = [hashlib.sha256(tk.encode()).hexdigest() for tk in tokens]
    order = "ctid" if db.dialect == "postgresql" else "token_hash"
    stored = db.call(
        lambda s: [
            row[0]
            for row in s.execute(sa.text(f"SELECT token_hash FROM pulse_invite ORDER BY {order}"))
        ]
    )
    assert sorted(stored) == sorted(sent_order) and stored != sent_order
