"""Handled once: the claims of storage/updates.py on both engines, and the advisory person
locks on PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from storage import updates
from storage.db import Database
from storage.updates import Claim, PersonLocks

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def test_a_claim_is_new_busy_taken_over_and_done(db: Database) -> None:
    """New for the first comer; busy for anyone else (and for the holder itself) while the
    lease runs; taken over when it ran out or the caller holds the person's lock; done for
    everyone once finished."""
    assert db.call(updates.claim, 7, holder="a", now=NOW) is Claim.NEW
    assert db.call(updates.claim, 7, holder="a", now=NOW) is Claim.BUSY
    assert db.call(updates.claim, 7, holder="b", now=NOW) is Claim.BUSY
    later = NOW + updates.LEASE + dt.timedelta(seconds=1)
    assert db.call(updates.claim, 7, holder="b", now=later) is Claim.TAKEN_OVER
    assert db.call(updates.claim, 7, holder="c", now=later, take_over=True) is Claim.TAKEN_OVER
    assert not db.call(updates.finish, 7, holder="b", now=later)  # c holds it now
    assert db.call(updates.finish, 7, holder="c", now=later)
    assert db.call(updates.claim, 7, holder="a", now=later, take_over=True) is Claim.DONE


def test_the_journal_lives_while_the_update_is_in_flight(db: Database) -> None:
    """What a claim did at the Bot API is kept for the one who takes it over, and dropped
    when the update is done or released."""
    db.call(updates.claim, 8, holder="a", now=NOW)
    db.call(updates.record_effect, 8, 0, "sendMessage", message_id=41, sent_date=5,
            chat_type="private")  # fmt: skip
    db.call(updates.record_effect, 8, 1, "answerCallbackQuery")
    assert db.call(updates.claim, 8, holder="b", now=NOW, take_over=True) is Claim.TAKEN_OVER
    journal = db.call(updates.effects, 8)
    assert [(e.seq, e.method, e.message_id) for e in journal.values()] == [
        (0, "sendMessage", 41), (1, "answerCallbackQuery", None),
    ]  # fmt: skip
    assert db.call(updates.finish, 8, holder="b", now=NOW)
    assert db.call(updates.effects, 8) == {}
    db.call(updates.claim, 9, holder="a", now=NOW)
    db.call(updates.record_effect, 9, 0, "sendMessage", message_id=42)
    db.call(updates.release, 9, holder="a")
    assert db.call(updates.effects, 9) == {}
    assert db.call(updates.claim, 9, holder="b", now=NOW) is Claim.NEW


def test_prune_forgets_old_updates_in_batches(db: Database) -> None:
    """Handled updates older than KEEP go, and claims whose lease ran out that long ago; newer
    ones stay."""
    old = NOW - updates.KEEP - dt.timedelta(hours=1)
    for update_id in range(1, 4):
        db.call(updates.claim, update_id, holder="a", now=old)
    db.call(updates.finish, 1, holder="a", now=old)
    db.call(updates.finish, 2, holder="a", now=NOW)  # handled just now, after a long wait
    db.call(updates.claim, 4, holder="a", now=NOW)
    assert db.call(updates.prune, NOW) == 2  # 1 (done long ago) and 3 (lease long gone)
    assert db.call(updates.count) == 2
    assert db.call(updates.prune, NOW) == 0


async def test_person_locks_exclude_other_processes_and_die_with_them(db: Database) -> None:
    """A person's lock held on one connection keeps another connection out until released,
    and is released by PostgreSQL when its connection goes (a killed process)."""
    if db.dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    first, second = PersonLocks(db.url), PersonLocks(db.url)
    try:
        assert await first.acquire(123, timeout=1)
        assert not await second.acquire(123, timeout=0.05)
        assert await second.acquire(124, timeout=1)  # someone else: no wait
        waiting = asyncio.create_task(second.acquire(123, timeout=5))
        await asyncio.sleep(0.1)
        await first.release(123)
        assert await waiting
        await second.close()  # the process dies with the lock held
        assert await first.acquire(123, timeout=1)
        db.call(updates.claim, 11, holder="a", now=NOW)
        await first.record_effect(11, 0, "sendMessage", message_id=9, chat_type="private")
        assert db.call(updates.effects, 11)[0].message_id == 9
    finally:
        await first.close()
        await second.close()
