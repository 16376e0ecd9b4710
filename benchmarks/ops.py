"""Operations benchmark: ``python benchmarks/ops.py`` (SQLite; add ``--postgres URL`` for
PostgreSQL too). About a minute.

1. **Counting an update.** What the instrumentation in ``DalsbotApplication.process_update``
   adds per update (count by kind, liveness, histogram), on a real ``Update``: target ≤ 20 µs
   (a question costs about 5 ms of CPU).
2. **Scraping with a full queue.** A database with ``--pending`` pending reminders (default
   200,000) of which ``--due`` (default 5,000) are due now; the real Application polls the Bot
   API stand-in and serves ``/healthz`` and ``/metrics``. Median and worst of 30 scrapes over
   HTTP: target ``/metrics`` ≤ 50 ms and ``/healthz`` ≤ 20 ms (median), measured on a bot
   built without the plans feature (the scrape alone); then again, without a target, with the
   full bot while its dispatcher drains the due reminders.
   The plans of the two queue queries are printed: both must use the ``(state, due_at)``
   index ``ix_reminder_due`` (target: yes), so a scrape reads only due and in-flight rows.
3. **SQLite backup while the bot writes** (SQLite only). ``dalsbot db backup``'s copy of that
   database while a writer commits one row per transaction: the copy's time and size, and
   the writer's slowest commit during the copy. Targets: the copy ≤ 5 s, the slowest commit
   ≤ 0.5 s (the bot is not held up).

Exits with status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import sqlalchemy as sa
from telegram import Bot, Update

from bot.metrics import Liveness, UpdateTimer
from bot.settings import Settings
from bot.shell.app import FEATURES, build_application, running
from bot.shell.ops import OpsServer
from bot.shell.standin import BotApiStandIn
from handlers.plans import FEATURE as plans
from storage import backup, migrate
from storage.db import Database
from storage.people.models import Staff
from storage.plans.backlog import backlog_queries
from storage.plans.models import Plan, Reminder

TARGETS = {
    "update_us": 20.0,
    "metrics_ms": 50.0,
    "health_ms": 20.0,
    "backup_s": 5.0,
    "writer_stall_s": 0.5,
}


def count_an_update(iterations: int = 100_000) -> float:
    """Microseconds per update for the instrumentation alone."""
    bot = Bot("123456:" + "A" * 35)
    update = Update.de_json(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "Ada"},
                "text": "/hjalp",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        },
        bot,
    )
    liveness = Liveness()
    started = time.perf_counter()
    for _ in range(iterations):
        UpdateTimer.start(update, liveness).done()
    return (time.perf_counter() - started) / iterations * 1e6


def fill_queue(db: Database, *, pending: int, due: int, now: dt.datetime) -> float:
    """One person, 1,000 plans and ``pending`` pending reminders, ``due`` of them due now."""
    started = time.perf_counter()
    with db.session() as session:
        staff = Staff.__table__  # type: ignore[attr-defined]
        plans = Plan.__table__  # type: ignore[attr-defined]
        reminders = Reminder.__table__  # type: ignore[attr-defined]
        session.execute(
            staff.insert(),
            [{"telegram_id": 4242, "display_name": "Ada", "role": "staff",
              "municipality": "Åmål", "organisation": "skola", "language": "sv",
              "active": True, "created_at": now}],
        )  # fmt: skip
        staff_id = session.execute(sa.select(staff.c.id)).scalar_one()
        session.execute(
            plans.insert(),
            [{"reference": f"Q-{i}", "reference_key": f"Q-{i}", "plan_type": "sip",
              "municipality": "Åmål", "responsible_id": staff_id, "status": "active",
              "created_at": now, "updated_at": now} for i in range(1000)],
        )  # fmt: skip
        plan_ids = list(session.execute(sa.select(plans.c.id).order_by(plans.c.id)).scalars())
        today = now.date()
        for start in range(0, pending, 20_000):
            rows: list[dict[str, Any]] = []
            for r in range(start, min(pending, start + 20_000)):
                due_at = (
                    now - dt.timedelta(seconds=r + 1) if r < due else now + dt.timedelta(minutes=r)
                )
                rows.append(
                    {"plan_id": plan_ids[r % 1000], "staff_id": staff_id, "kind": "before",
                     "seq": 0, "follow_up_date": today + dt.timedelta(days=r // 1000),
                     "due_at": due_at, "state": "pending", "attempts": 0}
                )  # fmt: skip
            session.execute(reminders.insert(), rows)
        session.commit()
    return time.perf_counter() - started


def explain_backlog(db: Database, now: dt.datetime) -> list[str]:
    """The query plans of the scrape's two queue queries, one line each."""
    plans = []
    with db.engine.connect() as connection:
        for query in backlog_queries(now):
            sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
            rows = connection.execute(sa.text(prefix + sql)).fetchall()
            plans.append(" | ".join(str(row[-1]) for row in rows))
    return plans


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def scrape(
    db: Database, workdir: Path, *, dispatching: bool, rounds: int = 30
) -> dict[str, float]:
    """Median and worst time of GET /metrics and GET /healthz from the running bot; without
    ``dispatching`` the bot has no reminder dispatcher (the scrape alone is measured)."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=workdir,
        database_url=db.url,
        pulse_secret="benchmark-secret-for-hmac",  # type: ignore[arg-type]
        ops_port=free_port(),
    )
    standin = BotApiStandIn()
    await standin.start()
    figures: dict[str, float] = {}
    try:
        features = FEATURES if dispatching else tuple(f for f in FEATURES if f is not plans)
        app = build_application(settings, db=db, api_root=standin.url, features=features)
        async with running(app, poll_timeout=2):
            url = app.bot_data.services.get(OpsServer).url
            async with httpx.AsyncClient(timeout=30) as client:
                for page in ("metrics", "healthz"):
                    times = []
                    for _ in range(rounds):
                        started = time.perf_counter()
                        response = await client.get(f"{url}/{page}")
                        times.append((time.perf_counter() - started) * 1000)
                        assert response.status_code == 200, response.text
                    figures[f"{page}_median_ms"] = statistics.median(times)
                    figures[f"{page}_worst_ms"] = max(times)
                text = (await client.get(f"{url}/metrics")).text
                due_line = next(
                    x for x in text.splitlines() if x.startswith("dalsbot_reminders_due")
                )
                figures["due_reported"] = float(due_line.split()[-1])
    finally:
        await standin.stop()
    return figures


def backup_while_writing(db: Database, target: Path) -> dict[str, float]:
    """Copy the SQLite database while a writer commits; the copy's time and the writer's
    slowest commit meanwhile."""
    staff = Staff.__table__  # type: ignore[attr-defined]
    stop = threading.Event()
    slowest = [0.0]
    written = [0]
    copying = threading.Event()

    def write() -> None:
        telegram_id = 10_000_000
        while not stop.is_set():
            started = time.perf_counter()
            with db.session() as session:
                session.execute(
                    staff.insert(),
                    [{"telegram_id": telegram_id, "display_name": "Bo", "role": "staff",
                      "municipality": "Åmål", "organisation": "skola", "language": "sv",
                      "active": True, "created_at": dt.datetime.now(dt.UTC)}],
                )  # fmt: skip
                session.commit()
            if copying.is_set():
                slowest[0] = max(slowest[0], time.perf_counter() - started)
                written[0] += 1
            telegram_id += 1

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    time.sleep(0.2)
    copying.set()
    started = time.perf_counter()
    copied = backup.backup_sqlite(backup.sqlite_path(db.url), target)
    took = time.perf_counter() - started
    copying.clear()
    stop.set()
    writer.join(10)
    return {
        "backup_s": took,
        "backup_mb": copied.size / 1e6,
        "writer_stall_s": slowest[0],
        "written_during": float(written[0]),
    }


def main() -> int:
    """Run the parts and print each figure beside its target; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=200_000)
    parser.add_argument("--due", type=int, default=5_000)
    parser.add_argument("--postgres", help="also on this PostgreSQL server (a new database)")
    args = parser.parse_args()
    ok = True

    def report(label: str, value: float, unit: str, target: str | None) -> None:
        nonlocal ok
        if target is not None:
            met = value <= TARGETS[target]
            ok = ok and met
            print(f"  {label:<34}{value:>10.2f} {unit:<4} target ≤ {TARGETS[target]:g} {unit}"
                  f"  {'ok' if met else 'MISSED'}")  # fmt: skip
        else:
            print(f"  {label:<34}{value:>10.2f} {unit}")

    print("Counting an update (instrumentation in process_update):")
    report("per update", count_an_update(), "µs", "update_us")
    now = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        engines = [("SQLite", f"sqlite:///{workdir / 'ops.sqlite3'}")]
        if args.postgres:
            name = f"dalsbot_ops_bench_{int(time.time())}"
            admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            engines.append(
                ("PostgreSQL", sa.engine.make_url(args.postgres).set(database=name)
                 .render_as_string(hide_password=False))
            )  # fmt: skip
        try:
            for engine, url in engines:
                db = Database(url)
                migrate.upgrade(db)
                filled = fill_queue(db, pending=args.pending, due=args.due, now=now)
                print(f"{engine}: {args.pending:,} pending reminders, {args.due:,} due now "
                      f"(filled in {filled:.1f} s):")  # fmt: skip
                for line in explain_backlog(db, now):
                    used = "uses ix_reminder_due" if "ix_reminder_due" in line else "NO INDEX"
                    print(f"  queue query plan ({used}): {line[:110]}")
                    ok = ok and "ix_reminder_due" in line
                figures = asyncio.run(scrape(db, workdir, dispatching=False))
                report("GET /metrics, median", figures["metrics_median_ms"], "ms", "metrics_ms")
                report("GET /metrics, worst of 30", figures["metrics_worst_ms"], "ms", None)
                report("GET /healthz, median", figures["healthz_median_ms"], "ms", "health_ms")
                report("GET /healthz, worst of 30", figures["healthz_worst_ms"], "ms", None)
                print(f"  dalsbot_reminders_due reported    {figures['due_reported']:>10,.0f}")
                busy = asyncio.run(scrape(db, workdir, dispatching=True))
                print("  while the dispatcher drains the due reminders:")
                report("GET /metrics, median", busy["metrics_median_ms"], "ms", None)
                report("GET /healthz, median", busy["healthz_median_ms"], "ms", None)
                if engine == "SQLite":
                    copy = backup_while_writing(db, workdir / "copy.sqlite3")
                    print(f"SQLite backup of {copy['backup_mb']:.1f} MB while the bot writes "
                          f"({copy['written_during']:.0f} commits during the copy):")  # fmt: skip
                    report("copy took", copy["backup_s"], "s", "backup_s")
                    report("slowest commit during the copy", copy["writer_stall_s"], "s",
                           "writer_stall_s")  # fmt: skip
                db.dispose()
        finally:
            if args.postgres:
                with admin.connect() as connection:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
