"""The wording of reminders and digests, and the send pacing, without Telegram."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from handlers.plans.reminder_texts import digest_text, reminder_buttons, reminder_text, when_text
from storage.plans.reminders import Delivery, DigestItem
from storage.sendbudget import SendLimiter

DAY = dt.date(2026, 12, 9)


def _delivery(kind: str, seq: int = 0, lang: str = "sv", **extra: object) -> Delivery:
    values: dict[str, object] = {
        "reminder_id": 7, "kind": kind, "seq": seq, "plan_id": 3, "reference": "BP-17",
        "plan_type": "barnets_plan", "follow_up_date": DAY, "follow_up_time": None,
        "place": None, "staff_id": 1, "chat_id": 201, "lang": lang,
    }  # fmt: skip
    values.update(extra)
    return Delivery(**values)  # type: ignore[arg-type]


def test_when_is_counted_from_the_sending_day() -> None:
    """i dag / i morgon / om 3 dagar, and the English forms."""
    assert [when_text(n, "sv") for n in (0, 1, 3)] == ["i dag", "i morgon", "om 3 dagar"]
    assert [when_text(n, "en") for n in (0, 1, 3)] == ["today", "tomorrow", "in 3 days"]


def test_day_of_reminder_without_time_or_place() -> None:
    """The morning of the day: "i dag", the date with its weekday, nothing else."""
    text = reminder_text(_delivery("before"), DAY)
    assert text == (
        "<b>🔔 Påminnelse: uppföljning i dag</b>\nBarnets plan BP-17\n📅 onsdag 9 december 2026"
    )


def test_reminders_are_html_with_every_value_escaped() -> None:
    """A place or name with ``<`` or ``&`` cannot break the formatting; short for a phone."""
    text = reminder_text(_delivery("before", 7, place="Skola <A> & B"), DAY - dt.timedelta(days=7))
    assert text.endswith("📍 Skola &lt;A&gt; &amp; B")
    bounce = reminder_text(_delivery("undelivered", 5, unreachable_name="Bo <3"), DAY)
    assert "Bo &lt;3" in bounce and bounce.startswith("<b>⚠️")
    assert all(
        len(reminder_text(_delivery(kind, 1), DAY)) < 1200
        for kind in ("before", "overdue", "escalation", "snooze")
    )


def test_snooze_after_the_date_reads_as_overdue() -> None:
    """A snoozed reminder that comes after the date says the follow-up is not marked held."""
    text = reminder_text(_delivery("snooze", 1, lang="en"), DAY + dt.timedelta(days=1))
    assert text.startswith(
        "<b>⏰ You asked to be reminded: the follow-up of Child's plan BP-17 was due"
    )


def test_escalation_and_bounce_notice_have_no_buttons() -> None:
    """Coordinators get the reference only; nobody can snooze a notice."""
    later = DAY + dt.timedelta(days=3)
    assert reminder_buttons(_delivery("escalation", 3), later) is None
    assert reminder_buttons(_delivery("undelivered", 5, unreachable_name="Bo"), later) is None
    markup = reminder_buttons(_delivery("overdue", 2), later)
    assert markup is not None
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    day = f"{DAY:%Y%m%d}"
    assert data == [f"pln:held:3:{day}", f"pln:date:3:{day}", "rem:snooze:7"]


def test_held_is_offered_only_from_the_follow_up_day_on() -> None:
    """The 7-days-before reminder has no "held"; the day-of one has; every follow-up button
    names the follow-up's day."""
    week_before = reminder_buttons(_delivery("before", 7), DAY - dt.timedelta(days=7))
    assert week_before is not None
    labels = [b.text for row in week_before.inline_keyboard for b in row]
    assert labels == ["📅 Nytt datum", "⏰ Påminn mig i morgon"]
    day_of = reminder_buttons(_delivery("before", 0), DAY)
    assert day_of is not None
    data = [b.callback_data for row in day_of.inline_keyboard for b in row]
    assert data[:2] == [f"pln:held:3:{DAY:%Y%m%d}", f"pln:date:3:{DAY:%Y%m%d}"]


def test_digest_lists_today_then_the_rest_of_the_week() -> None:
    """Today's follow-ups first (time, place, responsible marked), then later days."""
    items = [
        DigestItem("SIP-2", "sip", DAY, dt.time(9, 30), "Skolan", True),
        DigestItem("BP-17", "barnets_plan", DAY + dt.timedelta(days=2), None, None, False),
    ]
    assert digest_text(items, DAY, "sv") == (
        "☀️ God morgon! Dina uppföljningar\n\nI dag:\n"
        "• SIP-2 – SIP, 🕘 kl. 09:30, 📍 Skolan (du är ansvarig)\n\n"
        "Resten av veckan:\n• BP-17 – Barnets plan, fredag 11 december 2026"
    )
    assert digest_text([], DAY, "sv") is None


async def test_limiter_paces_overall_and_per_chat() -> None:
    """Ten chats at 50 a second take about 0.18 s; two sends to one chat a full interval."""
    limiter = SendLimiter(per_second=50, per_chat_interval=0.3)
    started = time.monotonic()

    async def send(chat: int) -> float:
        await limiter.acquire(chat)
        await limiter.done(chat)
        return time.monotonic() - started

    times = await asyncio.gather(*(send(chat) for chat in range(10)))
    assert max(times) >= 0.17
    first = await send(99)
    second = await send(99)
    assert second - first >= 0.29
