"""Reminder benchmark: ``python benchmarks/reminders.py`` (about two minutes).

1. **Start-up with 10,000 active plans.** 1,000 staff and 10,000 plans (two participants
   each, follow-ups spread over the next 90 days) are created with bulk inserts and planned
   with ``sync_plan_reminders``. Then a real ``python -m bot run`` starts against the Bot
   API stand-in; reported: the time until it polls for updates (migrations checked, the
   dispatcher's first run started) and its resident memory a moment later.
2. **2,000 due reminders through Telegram's limits.** 2,000 reminders due now for 400 staff
   (five each, so the one-a-second-per-chat limit matters), sent by the real Application's
   dispatcher to the stand-in enforcing 30 messages a second overall and one a second per
   chat (429 with ``retry_after`` beyond them). Reported: sustained messages a second (first
   to last delivery), 429s received, duplicates and lost reminders.

3. **The same burst from three bot processes on PostgreSQL** (``--processes``, default 3):
   real ``python -m bot run`` processes on one PostgreSQL database (a database of its own,
   ``dalsbot_sendbudget_bench``, created and dropped on ``--postgres``, by default
   ``DALSBOT_TEST_POSTGRES_URL`` or the local server), one bot token, one stand-in enforcing
   the limits. They share one send budget (storage/sendbudget.py). Reported as in 2, and how
   many reminders each process sent. ``--paid``: allow_paid_broadcast with send_rate 1,000
   against a stand-in allowing 1,000 a second (Telegram's paid broadcasts).

Targets: the reminders' share of the budget (25 messages a second by default: send_rate 27.5
less 2.5 for interactive replies; at least 95% of it sustained), 0 lost, 0 duplicates, at
most 1% of requests answered 429 with one process and 0 with three. ``--only shared`` runs
part 3 alone. Exits with status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.settings import Settings
from bot.shell.app import build_application, running
from bot.shell.standin import BotApiStandIn, RateLimits
from storage import migrate
from storage.db import Database
from storage.people.models import Staff
from storage.plans.duetimes import DEFAULT_POLICY, WorkCalendar
from storage.plans.models import Plan, PlanParticipant, Reminder
from storage.plans.reminders import sync_plan_reminders
from storage.sendbudget import reminder_rate
from tests.reminders.helpers import daytime_zone, due_burst, start_bot

TOKEN = "123456789:" + "B" * 35
REFERENCE = re.compile(r"\bR-\d+\b")  # the due reminders' plans (see due_burst)
# The reminders' share of the default budget (send_rate 27.5 less the reserve for replies).
FREE_BUDGET = reminder_rate(27.5, paid_broadcast=False)
TARGET_RATE = FREE_BUDGET * 0.95
PAID_RATE = 1000.0
MAX_429_SHARE = 0.01
BENCH_DATABASE = "dalsbot_sendbudget_bench"
NICE = 10  # the bot processes' niceness in part 3 (see measure_shared)


class ExplainedLimits(RateLimits):
    """The stand-in's limits, also counting which one each 429 came from."""

    def __init__(self, per_second: int = 30) -> None:
        super().__init__(per_second=per_second)
        self.per_chat_rejections = 0
        self.rejected_at: list[float] = []  # when each 429 was given (time.monotonic)
        self.accepted_at: list[float] = []  # when each send was let through
        self.first_at: float | None = None

    def check(self, chat_id: int, now: float) -> int | None:
        """As :meth:`RateLimits.check`; remembers per-chat rejections."""
        last = self.last_per_chat.get(chat_id)
        wait = super().check(chat_id, now)
        self.first_at = now if self.first_at is None else self.first_at
        if wait is not None:
            self.rejected_at.append(now - self.first_at)
        else:
            self.accepted_at.append(now)
        if wait is not None and last is not None and now - last < self.per_chat_interval:
            self.per_chat_rejections += 1
        return wait


def _bulk_staff(session: Session, count: int, first_id: int) -> list[int]:
    table = Staff.__table__  # type: ignore[attr-defined]
    session.execute(
        table.insert(),
        [
            {
                "telegram_id": first_id + i,
                "display_name": f"Person {i}",
                "role": "coordinator" if i % 100 == 0 else "staff",
                "municipality": ("Bengtsfors", "Dals-Ed", "Färgelanda", "Mellerud", "Åmål")[i % 5],
                "organisation": "skola",
                "language": "sv" if i % 4 else "en",
                "active": True,
                "created_at": dt.datetime.now(dt.UTC),
            }
            for i in range(count)
        ],
    )
    return list(session.exec(select(Staff.id).where(Staff.telegram_id >= first_id)).all())  # type: ignore[arg-type]


def create_active_plans(db: Database, *, plans: int, staff: int) -> float:
    """Bulk-insert staff and plans, then plan their reminders; returns the seconds taken."""
    started = time.perf_counter()
    rng = random.Random(4)
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(DEFAULT_POLICY.tz).date()
    with db.session() as session:
        ids = _bulk_staff(session, staff, 700_000)
        plan_table = Plan.__table__  # type: ignore[attr-defined]
        rows = []
        for i in range(plans):
            rows.append(
                {
                    "reference": f"A-{i}",
                    "reference_key": f"A-{i}",
                    "plan_type": ("sip", "barnets_plan", "annan")[i % 3],
                    "municipality": ("Bengtsfors", "Dals-Ed", "Färgelanda", "Mellerud", "Åmål")[
                        i % 5
                    ],
                    "responsible_id": ids[i % len(ids)],
                    "next_follow_up": today + dt.timedelta(days=rng.randint(1, 90)),
                    "follow_up_time": dt.time(rng.randint(8, 15), 0),
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        session.execute(plan_table.insert(), rows)
        plan_ids = list(session.exec(select(Plan.id).order_by(Plan.id)).all())  # type: ignore[arg-type]
        links = [
            {"plan_id": plan_id, "staff_id": ids[(n + k) % len(ids)]}
            for n, plan_id in enumerate(plan_ids)
            for k in (7, 13)
        ]
        session.execute(PlanParticipant.__table__.insert(), links)  # type: ignore[attr-defined]
        session.commit()
    calendar = WorkCalendar()
    for start in range(0, len(plan_ids), 500):
        with db.session() as session:
            for plan_id in plan_ids[start : start + 500]:
                sync_plan_reminders(
                    session,
                    plan_id=plan_id or 0,
                    policy=DEFAULT_POLICY,
                    calendar=calendar,
                    now=now,
                )
            session.commit()
    return time.perf_counter() - started


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure_startup(workdir: Path, *, plans: int) -> dict[str, float]:
    """Start a real bot process on a database with ``plans`` active plans."""
    url = f"sqlite:///{workdir / 'startup.sqlite3'}"
    db = Database(url)
    migrate.upgrade(db)
    creation = create_active_plans(db, plans=plans, staff=1_000)
    with db.session() as session:
        pending = len(session.exec(select(Reminder.id).where(Reminder.state == "pending")).all())
    db.dispose()
    standin = BotApiStandIn()
    await standin.start()
    started = time.perf_counter()
    process = await start_bot(
        token=TOKEN,
        api_url=standin.url,
        database_url=url,
        workdir=workdir,
        log=workdir / "startup.log",
    )
    try:
        # Polled: the stand-in only signals waiters when a call *ends*, and a long poll lasts.
        while standin.calls["getUpdates"] == 0:
            if time.perf_counter() - started > 60 or process.returncode is not None:
                raise RuntimeError("the bot did not start; see startup.log")
            await asyncio.sleep(0.01)
        ready = time.perf_counter() - started
        await asyncio.sleep(2)
        rss = _rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
        await standin.stop()
    return {"creation_s": creation, "pending_rows": pending, "ready_s": ready, "rss_mb": rss}


def _due_burst(session: Session, *, reminders: int, staff: int, now: dt.datetime) -> None:
    ids = _bulk_staff(session, staff, 800_000)
    due_burst(session, ids, count=reminders, days_before=3, now=now)
    session.commit()


async def measure_dispatch(workdir: Path, *, reminders: int, staff: int) -> dict[str, float]:
    """Send ``reminders`` due reminders through the rate-limited stand-in."""
    now = dt.datetime.now(dt.UTC)
    zone = daytime_zone(now)
    url = f"sqlite:///{workdir / 'dispatch.sqlite3'}"
    db = Database(url)
    migrate.upgrade(db)
    db.call(lambda s: _due_burst(s, reminders=reminders, staff=staff, now=now))
    standin = BotApiStandIn()
    await standin.start()
    for i in range(staff):
        standin.user(800_000 + i, f"P{i}")
    limits = ExplainedLimits()
    standin.rate_limits = limits
    delivered: Counter[str] = Counter()
    times: list[float] = []

    def on_send(_chat: int, message: dict[str, Any]) -> None:
        match = REFERENCE.search(str(message.get("text", "")))
        if match:
            delivered[match.group(0)] += 1
            times.append(time.perf_counter())

    standin.on_send = on_send
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=workdir,
        database_url=url,
        timezone=zone,
        telegram_api_url=standin.url,
    )
    os.environ["PTB_TIMEDELTA"] = "true"
    app = build_application(settings, db=db, api_root=standin.url)
    try:
        # A time-out here is not an error of the script: what did not arrive is reported as lost.
        with contextlib.suppress(AssertionError):
            async with running(app, poll_timeout=1):
                await standin.wait_for(lambda: len(delivered) >= reminders, timeout=reminders / 10)
                await asyncio.sleep(1)
    finally:
        await standin.stop()
    with db.session() as session:
        states = Counter(session.exec(select(Reminder.state)).all())
    db.dispose()
    span = (times[-1] - times[0]) if len(times) > 1 else float("nan")
    requests = standin.calls["sendMessage"]
    return {
        "delivered": len(delivered),
        "rate": (len(times) - 1) / span if span else float("nan"),
        "seconds": span,
        "requests": requests,
        "429s": limits.rejected,
        "429s_per_chat": limits.per_chat_rejections,
        "duplicates": sum(count - 1 for count in delivered.values()),
        "lost": reminders - len(delivered),
        "rows_sent": states.get("sent", 0),
    }


def busiest_second(times: list[float]) -> int:
    """The most messages accepted within any one second, as the stand-in's limit counts."""
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


@contextlib.contextmanager
def bench_database(base: str) -> Iterator[str]:
    """A database of this benchmark's own on the server of ``base``, dropped afterwards."""
    base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    server = sa.engine.make_url(base)
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"))
        connection.execute(sa.text(f"CREATE DATABASE {BENCH_DATABASE}"))
    try:
        yield server.set(database=BENCH_DATABASE).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"))
        admin.dispose()


async def measure_shared(
    workdir: Path, *, url: str, reminders: int, staff: int, processes: int, paid: bool
) -> dict[str, float]:
    """Send ``reminders`` due reminders from ``processes`` bot processes on PostgreSQL."""
    now = dt.datetime.now(dt.UTC)
    zone = daytime_zone(now)
    db = Database(url)
    migrate.upgrade(db)
    db.call(lambda s: _due_burst(s, reminders=reminders, staff=staff, now=now))
    standin = BotApiStandIn()
    await standin.start()
    for i in range(staff):
        standin.user(800_000 + i, f"P{i}")
    limits = ExplainedLimits(per_second=int(PAID_RATE) if paid else 30)
    standin.rate_limits = limits
    delivered: Counter[str] = Counter()
    times: list[float] = []

    def on_send(_chat: int, message: dict[str, Any]) -> None:
        match = REFERENCE.search(str(message.get("text", "")))
        if match:
            delivered[match.group(0)] += 1
            times.append(time.perf_counter())

    standin.on_send = on_send
    options = {"DALSBOT_TIMEZONE": zone}
    if paid:
        options.update(DALSBOT_ALLOW_PAID_BROADCAST="true", DALSBOT_SEND_RATE=str(PAID_RATE))
    bots = [
        await start_bot(
            token=TOKEN,
            api_url=standin.url,
            database_url=url,
            workdir=workdir,
            log=workdir / f"shared-{n}.log",
            **options,
        )
        for n in range(processes)
    ]
    for bot in bots:
        # The stand-in plays Telegram's servers, which our processes never slow down: on a
        # small shared machine the bots yield the CPU to it, so it sees requests as they come
        # (a starved stand-in takes a queue of them at one instant, as no real server would).
        os.setpriority(os.PRIO_PROCESS, bot.pid, NICE)
    try:
        with contextlib.suppress(AssertionError):
            await standin.wait_for(lambda: len(delivered) >= reminders, timeout=reminders / 5)
            await asyncio.sleep(1)
    finally:
        for bot in bots:
            bot.send_signal(signal.SIGTERM)
        for bot in bots:
            await asyncio.wait_for(bot.wait(), 30)
        await standin.stop()
    with db.session() as session:
        states = Counter(session.exec(select(Reminder.state)).all())
        senders = Counter(
            session.exec(select(Reminder.claimed_by).where(Reminder.state == "sent")).all()
        )
    db.dispose()
    span = (times[-1] - times[0]) if len(times) > 1 else float("nan")
    return {
        "delivered": len(delivered),
        "rate": (len(times) - 1) / span if span else float("nan"),
        "seconds": span,
        "requests": standin.calls["sendMessage"],
        "429s": limits.rejected,
        "429s_per_chat": limits.per_chat_rejections,
        "duplicates": sum(count - 1 for count in delivered.values()),
        "lost": reminders - len(delivered),
        "rows_sent": states.get("sent", 0),
        "per_process": sorted(senders.values(), reverse=True),  # type: ignore[dict-item]
        "rejected_at": limits.rejected_at,  # type: ignore[dict-item]
        "busiest": busiest_second(limits.accepted_at),
    }


def report_shared(
    sent: dict[str, Any], *, reminders: int, staff: int, processes: int, paid: bool
) -> bool:
    """Print part 3; whether its targets were met."""
    budget = reminder_rate(PAID_RATE, paid_broadcast=True) if paid else FREE_BUDGET
    limit = f"{PAID_RATE:,.0f}/s (paid broadcast)" if paid else "30/s"
    print(
        f"{reminders:,} due reminders to {staff} chats from {processes} bot processes on "
        f"PostgreSQL, one token, limits {limit} and 1/s per chat:"
    )
    print(
        f"  sustained rate         {sent['rate']:.1f} messages/s over {sent['seconds']:.1f} s "
        f"(budget for reminders {budget:.1f}/s, "
        + (
            "no target: at paid rates the processes' CPU, not the budget, sets the pace"
            if paid
            else f"target ≥ {budget * 0.95:.1f}"
        )
        + ")"
    )
    print(
        f"  429s received          {sent['429s']:.0f} of {sent['requests']:.0f} requests "
        f"({sent['429s_per_chat']:.0f} for the per-chat limit; target 0)"
    )
    print(f"  busiest second         {sent['busiest']} messages accepted (limit {limit})")
    if sent["rejected_at"]:
        moments = ", ".join(f"{t:.2f}" for t in sent["rejected_at"][:20])
        print(f"  429s at                {moments} s after the first send")
    print(f"  duplicates             {sent['duplicates']:.0f} (target 0)")
    print(
        f"  lost                   {sent['lost']:.0f} (rows marked sent: {sent['rows_sent']:.0f})"
    )
    shares = ", ".join(str(n) for n in sent["per_process"])
    print(f"  sent by each process   {shares}")
    morning = 116_000 / budget / 60
    print(f"  a morning of 116,000 reminders at {budget:.0f}/s: {morning:.0f} min (computed)")
    if paid:
        print(f"  ... at the rate measured here: {116_000 / sent['rate'] / 60:.0f} min")
    fast_enough = paid or sent["rate"] >= budget * 0.95
    return (
        fast_enough
        and sent["429s"] == 0
        and sent["lost"] == 0
        and sent["duplicates"] == 0
        and len(sent["per_process"]) == processes
    )


async def main(argv: list[str] | None = None) -> int:
    """Run both parts and print the figures; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=10_000)
    parser.add_argument("--reminders", type=int, default=2_000)
    parser.add_argument("--staff", type=int, default=400)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DALSBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/test"),
        help="a PostgreSQL server (its database is not touched: one of the benchmark's own)",
    )
    parser.add_argument("--paid", action="store_true", help="paid broadcasts, 1,000/s")
    parser.add_argument("--only", choices=["shared"], help="run part 3 alone")
    args = parser.parse_args(argv)
    ok = True
    if args.only != "shared":
        ok = await single_process(args)
    with (
        tempfile.TemporaryDirectory(prefix="dalsbot-bench-") as folder,
        bench_database(args.postgres) as url,
    ):
        shared = await measure_shared(
            Path(folder),
            url=url,
            reminders=args.reminders,
            staff=args.staff,
            processes=args.processes,
            paid=args.paid,
        )
    ok = (
        report_shared(
            shared,
            reminders=args.reminders,
            staff=args.staff,
            processes=args.processes,
            paid=args.paid,
        )
        and ok
    )
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


async def single_process(args: argparse.Namespace) -> bool:
    """Parts 1 and 2 (SQLite, one process); whether their targets were met."""
    with tempfile.TemporaryDirectory(prefix="dalsbot-bench-") as folder:
        workdir = Path(folder)
        start = await measure_startup(workdir, plans=args.plans)
        print(
            f"Start-up with {args.plans:,} active plans ({start['pending_rows']:,.0f} pending "
            f"reminder rows, created and planned in {start['creation_s']:.1f} s):"
        )
        print(f"  ready (polling) after  {start['ready_s']:.2f} s")
        print(f"  resident memory        {start['rss_mb']:.0f} MB")
        sent = await measure_dispatch(workdir, reminders=args.reminders, staff=args.staff)
    share = sent["429s"] / sent["requests"] if sent["requests"] else 1.0
    print(f"{args.reminders:,} due reminders to {args.staff} chats, limits 30/s and 1/s per chat:")
    print(
        f"  sustained rate         {sent['rate']:.1f} messages/s over {sent['seconds']:.1f} s"
        f" (budget {FREE_BUDGET:.1f}/s, target ≥ {TARGET_RATE:.1f})"
    )
    print(
        f"  429s received          {sent['429s']:.0f} of {sent['requests']:.0f} requests "
        f"({share:.2%}; {sent['429s_per_chat']:.0f} for the per-chat limit)"
    )
    print(f"  duplicates             {sent['duplicates']:.0f}")
    print(
        f"  lost                   {sent['lost']:.0f} (rows marked sent: {sent['rows_sent']:.0f})"
    )
    return (
        sent["rate"] >= TARGET_RATE
        and sent["lost"] == 0
        and sent["duplicates"] == 0
        and share <= MAX_429_SHARE
    )


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
