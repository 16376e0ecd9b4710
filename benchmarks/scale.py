"""National-scale benchmark on PostgreSQL: ``python benchmarks/scale.py [--scale 1.0]``.

A deployment for all 290 Swedish municipalities: 580,000 active plans (a responsible and two
participants each, follow-ups spread over the next 45 working days), their reminder rows as
``sync_plan_reminders`` plans them (about 7 million pending rows) and a working morning of
about 116,000 due reminders. Everything is generated in bulk: staff, plans and teams with
``COPY``, the reminder rows with one ``INSERT ... SELECT`` joining each plan to its schedule
(the schedules come from ``reminder_schedule``/``overdue_schedule`` themselves, one per
follow-up day and time), in a database of its own (``dalsbot_scale``, dropped afterwards
unless ``--keep``). ``--scale 0.02`` is a quick run; the smoke test uses a tiny one.

Measured, each figure printed beside its target:

1. start-up of a real ``python -m bot run`` on that database until it polls the Bot API
   stand-in (median of three), and the same on a small database for comparison;
2. the reminder claim (``claim_due``, as on main when the script runs) with the morning due
   among millions of pending rows, and ``EXPLAIN (ANALYZE, BUFFERS)`` of its ``FOR UPDATE``
   query (a ``Seq Scan on reminder`` fails the target);
3. ``/planer`` for a coordinator with 500 plans, through the real Application and the
   stand-in (p50/p95), and the same on the small database;
4. the morning through three real bot processes sharing one send budget: (a) all of it with
   the stand-in allowing paid-broadcast rates (``DALSBOT_ALLOW_PAID_BROADCAST=true``,
   ``DALSBOT_SEND_RATE=1000``); (b) a 60-second slice at the free rate, from which the time
   of a whole morning at the free rate is computed. Time, 429s, lost and duplicates;
5. the database's size and its biggest tables and indexes.

Ends with a Markdown table for the README. Exits with status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
import sqlalchemy as sa
from pydantic import SecretStr

from bot.i18n import LANGUAGES, Lang
from bot.settings import Settings
from bot.shell.app import all_commands, build_application, running
from bot.shell.standin import BotApiStandIn, RateLimits, StoredFile
from handlers.people import menus
from handlers.plans.dispatcher import MAX_HOLD
from storage import migrate, sendbudget
from storage.db import Database
from storage.plans import reminders as reminder_store
from storage.plans.duetimes import (
    ReminderPolicy,
    WorkCalendar,
    local_instant,
    overdue_schedule,
    reminder_schedule,
    upcoming,
)

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:" + "S" * 35
DEFAULT_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NATIONAL_PLANS = 580_000
MUNICIPALITIES = 290
PLANS_PER_STAFF = 5  # 116,000 staff for 580,000 plans; each takes part in about 15 plans
WORKING_DAYS = 45  # follow-ups spread over the next 45 working days (about two months)
COORDINATOR_PLANS = 500
TELEGRAM_BASE = 10_000_000
REFERENCE = re.compile(r"\bN-\d{7}\b")
# Meetings in the afternoon, so a day-of reminder due at 08:00 is still useful when the
# benchmark sends it (local time is about 09:00 then, see bench_zone).
MEETING_TIMES = tuple(dt.time(h, m) for h in (13, 14, 15, 16) for m in (0, 30))
LOCAL_HOUR = 9

TARGET_READY_S = 0.8
TARGET_CLAIM_QUERY_MS = 10.0
TARGET_PLANER_P95_MS = 500.0
# Reminders draw the free budget less a reserve for replies (25 of 27.5 a second): at least
# 95% of that, sustained.
TARGET_FREE_RATE = 0.95 * sendbudget.reminder_rate(27.5, paid_broadcast=False)
MAX_429_SHARE = 0.0


def bench_zone(now: dt.datetime) -> str:
    """A fixed-offset zone where it is LOCAL_HOUR o'clock now: a real bot process uses the
    real clock, and the morning (08:00) has just passed there."""
    offset = now.hour - LOCAL_HOUR  # Etc/GMT+N is N hours *behind* UTC
    if offset > 12:
        offset -= 24
    if offset < -14:
        offset += 24
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'+' if offset > 0 else '-'}{abs(offset)}"


class MorningCalendar(WorkCalendar):
    """Swedish working days, with today one of them (the benchmark's morning is today)."""

    def __init__(self, today: dt.date) -> None:
        super().__init__()
        self.today = today

    def is_working_day(self, day: dt.date) -> bool:
        """As :meth:`WorkCalendar.is_working_day`, and True for today."""
        return day == self.today or super().is_working_day(day)


# -- the data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """How big the generated deployment is at a given scale."""

    plans: int
    staff: int  # ordinary staff, besides one coordinator per municipality
    municipalities: int
    coordinator_plans: int

    @classmethod
    def at(cls, scale: float) -> Shape:
        plans = max(60, round(NATIONAL_PLANS * scale))
        municipalities = max(1, min(MUNICIPALITIES, plans // 200))
        staff = max(plans // PLANS_PER_STAFF, 4 * municipalities)
        staff -= staff % municipalities
        return cls(plans, staff, municipalities, min(COORDINATOR_PLANS, plans // 4))


@dataclass(frozen=True)
class Moment:
    """The benchmark's clock: the zone, its today, and the morning's send instant."""

    zone: str
    today: dt.date
    morning_at: dt.datetime  # today 08:00 local: the instant of the morning's reminders
    planned_at: dt.datetime  # when the rows are taken to have been planned (07:59 local)

    @classmethod
    def now(cls, zone: str | None = None) -> Moment:
        zone = zone or bench_zone(dt.datetime.now(dt.UTC))
        today = dt.datetime.now(ZoneInfo(zone)).date()
        morning = local_instant(today, dt.time(8, 0), ZoneInfo(zone))
        return cls(zone, today, morning, morning - dt.timedelta(minutes=1))

    @property
    def policy(self) -> ReminderPolicy:
        return ReminderPolicy(tz=ZoneInfo(self.zone))


def municipality(m: int) -> str:
    return f"kommun-{m:03d}"


def coordinator_telegram_id(m: int = 0) -> int:
    return TELEGRAM_BASE + m


def _copy(cursor: psycopg.Cursor[Any], table: str, columns: str, lines: Iterator[str]) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= 20_000:
                copy.write("".join(chunk))
                chunk.clear()
        if chunk:
            copy.write("".join(chunk))


def _role(j: int, municipalities: int) -> str:
    return "coordinator" if j < municipalities else "staff"


def _lang(j: int) -> Lang:
    return "en" if j % 4 == 3 else "sv"


def _menu_digests() -> dict[tuple[str, Lang], str]:
    """The digest of each role's menu in each language, as the bot keeps it per chat."""
    commands = all_commands()
    return {
        (role, lang): menus.digest(menus.menu(role, lang, commands))
        for role in ("coordinator", "staff")
        for lang in LANGUAGES
    }


def _staff_lines(shape: Shape, created: str) -> Iterator[str]:
    m_count = shape.municipalities
    for j in range(m_count + shape.staff):
        yield (
            f"{TELEGRAM_BASE + j}\tPerson {j}\t{_role(j, m_count)}\t{municipality(j % m_count)}"
            f"\tskola\t{_lang(j)}\tt\t{created}\n"
        )


def _schedules(moment: Moment, days: list[dt.date]) -> list[tuple[Any, ...]]:
    """Every reminder a follow-up on ``days`` at MEETING_TIMES calls for that is still ahead
    of ``moment.planned_at``, as (day, time, kind, seq, due_at, target) with target ``team``,
    ``responsible`` or ``coordinators`` (whom planned_rows sends it to)."""
    calendar = MorningCalendar(moment.today)
    policy = moment.policy
    rows: list[tuple[Any, ...]] = []
    for day in days:
        overdue = upcoming(overdue_schedule(day, policy, calendar), moment.planned_at)
        for at in MEETING_TIMES:
            before = upcoming(reminder_schedule(day, at, policy, calendar), moment.planned_at)
            for planned in before:
                kind = "before"  # a day-of reminder is stored as before/0
                rows.append((day, at, kind, planned.seq, planned.due_at, "team"))
            for planned in overdue:
                target = "responsible" if planned.kind == "overdue" else "coordinators"
                rows.append((day, at, planned.kind, planned.seq, planned.due_at, target))
    return rows


def generate(url: str, shape: Shape, moment: Moment, *, seed: int = 12) -> dict[str, float]:
    """Staff, plans, teams and every reminder row due after the morning; returns timings."""
    rng = random.Random(seed)
    calendar = MorningCalendar(moment.today)
    days = [moment.today]
    while len(days) < WORKING_DAYS:
        days.append(calendar.next_working_day(days[-1]))
    created = dt.datetime.now(dt.UTC).isoformat()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    m_count = shape.municipalities
    per_municipality = shape.staff // m_count
    with psycopg.connect(_libpq(url)) as connection, connection.cursor() as cursor:
        _copy(
            cursor,
            "staff",
            "telegram_id, display_name, role, municipality, organisation, language, active, "
            "created_at",
            _staff_lines(shape, created),
        )
        cursor.execute("SELECT min(id) FROM staff")
        first_staff = int(cursor.fetchone()[0])  # type: ignore[index]
        # Every chat already has its menu (as after the first start): a restart sets none.
        menus = _menu_digests()
        _copy(
            cursor,
            "command_menu",
            "chat_id, digest, updated_at",
            (
                f"{TELEGRAM_BASE + j}\t{menus[_role(j, m_count), _lang(j)]}\t{created}\n"
                for j in range(m_count + shape.staff)
            ),
        )

        def staff_id(m: int, k: int) -> int:
            # ordinary staff k of municipality m (see _staff_lines: index m_count + m + m_count*k)
            return first_staff + m_count + m + m_count * k

        plans: list[str] = []
        teams: list[str] = []
        for i in range(shape.plans):
            if i < shape.coordinator_plans:
                m, responsible = 0, first_staff  # the benchmark's coordinator (kommun-000)
                members = rng.sample(range(per_municipality), 2)
            else:
                m = i % m_count
                chosen = rng.sample(range(per_municipality), 3)
                responsible, members = staff_id(m, chosen[0]), chosen[1:]
            day = days[rng.randrange(len(days))]
            at = MEETING_TIMES[rng.randrange(len(MEETING_TIMES))]
            reference = f"N-{i:07d}"
            plans.append(
                f"{reference}\t{reference}\t{('sip', 'barnets_plan', 'annan')[i % 3]}\t"
                f"{municipality(m)}\t{responsible}\t{day.isoformat()}\t{at.isoformat()}\t"
                f"active\t{first_staff}\t{created}\t{created}\n"
            )
            teams.extend(f"{i}\t{staff_id(m, k)}\n" for k in members)
        _copy(
            cursor,
            "plan",
            "reference, reference_key, plan_type, municipality, responsible_id, next_follow_up, "
            "follow_up_time, status, created_by, created_at, updated_at",
            iter(plans),
        )
        cursor.execute("SELECT min(id) FROM plan")
        first_plan = int(cursor.fetchone()[0])  # type: ignore[index]
        cursor.execute("CREATE TEMP TABLE team_in (n integer, staff_id integer)")
        _copy(cursor, "team_in", "n, staff_id", iter(teams))
        cursor.execute(
            "INSERT INTO planparticipant (plan_id, staff_id) SELECT n + %s, staff_id FROM team_in",
            (first_plan,),
        )
        connection.commit()
        timings["people_and_plans_s"] = time.perf_counter() - started

        started = time.perf_counter()
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_schedule (follow_up_date date, follow_up_time time,"
            " kind varchar(12), seq integer, due_at timestamptz, target text)"
        )
        cursor.execute("TRUNCATE bench_schedule")
        with cursor.copy(
            "COPY bench_schedule (follow_up_date, follow_up_time, kind, seq, due_at, target) "
            "FROM STDIN"
        ) as copy:
            for row in _schedules(moment, days):
                copy.write_row(row)
        cursor.execute("ANALYZE bench_schedule")
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (zone text)")
        cursor.execute("DELETE FROM bench_meta")
        cursor.execute("INSERT INTO bench_meta (zone) VALUES (%s)", (moment.zone,))
        connection.commit()
        # A bulk load: the reminder table's secondary indexes are built once afterwards (the
        # same definitions, read back from the catalogue), not maintained row by row.
        cursor.execute("SET maintenance_work_mem = '512MB'")
        with _indexes_rebuilt(cursor, "reminder"):
            insert_reminders(cursor, after=moment.morning_at)
        connection.commit()
        timings["reminders_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE)")
    timings["vacuum_s"] = time.perf_counter() - started
    return timings


# The rows planned_rows calls for: the plan's schedule for its team (the responsible and the
# participants, all active here), the overdue notices for the responsible and the escalation
# for the municipality's coordinators.
REMINDER_ROWS = """
INSERT INTO reminder (plan_id, staff_id, kind, seq, follow_up_date, due_at, state, attempts)
SELECT p.id, who.staff_id, s.kind, s.seq, s.follow_up_date, s.due_at, 'pending', 0
FROM plan p
JOIN bench_schedule s
  ON s.follow_up_date = p.next_follow_up AND s.follow_up_time = p.follow_up_time
JOIN (
    SELECT id AS plan_id, responsible_id AS staff_id, true AS responsible FROM plan
    UNION ALL
    SELECT plan_id, staff_id, false FROM planparticipant
) who ON who.plan_id = p.id
  AND (s.target = 'team' OR (s.target = 'responsible' AND who.responsible))
WHERE p.status = 'active' AND s.target IN ('team', 'responsible') AND {condition}
UNION ALL
SELECT p.id, c.id, s.kind, s.seq, s.follow_up_date, s.due_at, 'pending', 0
FROM plan p
JOIN bench_schedule s
  ON s.follow_up_date = p.next_follow_up AND s.follow_up_time = p.follow_up_time
JOIN staff c ON c.municipality = p.municipality AND c.role = 'coordinator' AND c.active
WHERE p.status = 'active' AND s.target = 'coordinators' AND {condition}
"""


@contextmanager
def _indexes_rebuilt(cursor: psycopg.Cursor[Any], table: str) -> Iterator[None]:
    """Drop ``table``'s indexes and unique constraints (not its primary key) for the block,
    then create them again as they were."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'u'",
        (table,),
    )
    constraints = [(str(name), str(definition)) for name, definition in cursor.fetchall()]
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        (table,),
    )
    indexes = [(str(name), str(definition)) for name, definition in cursor.fetchall()]
    for name, _definition in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    yield
    for name, definition in constraints:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:
        cursor.execute(definition)


def insert_reminders(cursor: psycopg.Cursor[Any], *, after: dt.datetime) -> None:
    """Every reminder row due after ``after`` (the bulk of the 7 million)."""
    cursor.execute(REMINDER_ROWS.format(condition="s.due_at > %(at)s"), {"at": after})


def delete_morning(url: str, moment: Moment) -> None:
    """Remove the morning's rows (and whatever an earlier run made of them)."""
    with psycopg.connect(_libpq(url)) as connection:
        connection.execute(
            "DELETE FROM reminder WHERE due_at <= %s OR kind = 'undelivered'"
            " OR last_error IS NOT NULL",
            (moment.morning_at,),
        )


def insert_morning(url: str, moment: Moment) -> int:
    """The morning: every row due at today 08:00 (again, when a run left some); how many."""
    delete_morning(url, moment)
    with psycopg.connect(_libpq(url)) as connection, connection.cursor() as cursor:
        cursor.execute(
            REMINDER_ROWS.format(condition="s.due_at = %(at)s"), {"at": moment.morning_at}
        )
        count = cursor.rowcount
        connection.commit()
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) reminder")
    return count


def morning_keys(url: str, moment: Moment) -> set[tuple[int, str]]:
    """(chat, plan reference) of every reminder of the morning."""
    with psycopg.connect(_libpq(url)) as connection:
        rows = connection.execute(
            "SELECT s.telegram_id, p.reference FROM reminder r JOIN staff s ON s.id = r.staff_id"
            " JOIN plan p ON p.id = r.plan_id WHERE r.due_at <= %s",
            (moment.morning_at,),
        ).fetchall()
    return {(int(chat), str(ref)) for chat, ref in rows}


def morning_states(url: str, moment: Moment) -> Counter[str]:
    with psycopg.connect(_libpq(url)) as connection:
        rows = connection.execute(
            "SELECT state, count(*) FROM reminder WHERE due_at <= %s"
            " OR last_error = '429 retry after' GROUP BY state",
            (moment.morning_at,),
        ).fetchall()
    return Counter({str(state): int(n) for state, n in rows})


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_database(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


@contextmanager
def database(base: str, name: str, *, keep: bool, reuse: bool = False) -> Iterator[str]:
    """A database ``name`` on the server of ``base`` (created fresh unless ``reuse``)."""
    admin = _libpq(_with_database(base, "postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if exists and not reuse:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or not reuse:
            connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(base, name)
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _kept_zone(base: str, name: str) -> str | None:
    """The zone a kept database was generated for (its morning is at 08:00 there)."""
    try:
        with psycopg.connect(_libpq(_with_database(base, name))) as connection:
            row = connection.execute("SELECT zone FROM bench_meta").fetchone()
    except psycopg.Error:
        return None
    return str(row[0]) if row else None


def pending_rows(url: str) -> int:
    with psycopg.connect(_libpq(url)) as connection:
        row = connection.execute("SELECT count(*) FROM reminder WHERE state = 'pending'").fetchone()
    return int(row[0]) if row else 0


def plan_count(url: str) -> int:
    with psycopg.connect(_libpq(url)) as connection:
        row = connection.execute("SELECT count(*) FROM plan WHERE status = 'active'").fetchone()
    return int(row[0]) if row else 0


def sizes(url: str) -> dict[str, Any]:
    """pg_database_size and the biggest tables and indexes."""
    with psycopg.connect(_libpq(url)) as connection:
        total = connection.execute("SELECT pg_database_size(current_database())").fetchone()
        tables = connection.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
            " ORDER BY 2 DESC LIMIT 5"
        ).fetchall()
        indexes = connection.execute(
            "SELECT c.relname, pg_relation_size(c.oid)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'i'"
            " ORDER BY 2 DESC LIMIT 6"
        ).fetchall()
    return {
        "total": int(total[0]) if total else 0,
        "tables": [(str(a), int(b), int(c)) for a, b, c in tables],
        "indexes": [(str(a), int(b)) for a, b in indexes],
    }


# -- the stand-in with paid broadcasts -------------------------------------------------------------


@dataclass
class BroadcastLimits(RateLimits):
    """Telegram's limits with paid broadcasts: a send that carries ``allow_paid_broadcast``
    may go up to ``paid_per_second`` a second overall; the rest stay at ``per_second``. One
    a second per chat for both. Counts 429s by cause."""

    paid_per_second: int = 1000
    paid: bool = False
    paid_requests: int = 0
    per_chat_rejections: int = 0
    paid_times: list[float] = field(default_factory=list)

    def check(self, chat_id: int, now: float) -> int | None:
        """As :meth:`RateLimits.check`, with the paid allowance for a paid send."""
        last = self.last_per_chat.get(chat_id)
        if last is not None and now - last < self.per_chat_interval:
            self.per_chat_rejections += 1
        if not self.paid:
            return super().check(chat_id, now)
        self.paid_requests += 1
        while self.sent_times and now - self.sent_times[0] >= 1.0:
            self.sent_times.popleft()
        if (last is not None and now - last < self.per_chat_interval) or len(
            self.sent_times
        ) >= self.paid_per_second:
            self.rejected += 1
            return 1
        self.sent_times.append(now)
        self.last_per_chat[chat_id] = now
        return None


class BroadcastStandIn(BotApiStandIn):
    """The stand-in, telling its limits whether each send asked for a paid broadcast."""

    def __init__(self, limits: BroadcastLimits) -> None:
        super().__init__()
        self.rate_limits = self.limits = limits

    async def call(self, method: str, params: dict[str, Any], files: dict[str, StoredFile]) -> Any:
        """As :meth:`BotApiStandIn.call` (the limits are checked before its first await)."""
        self.limits.paid = str(params.get("allow_paid_broadcast", "")).lower() in ("true", "1")
        return await super().call(method, params, files)


# -- bot processes -----------------------------------------------------------------------------


async def start_bot(
    *, url: str, api_url: str, workdir: Path, zone: str, name: str, **settings: str
) -> asyncio.subprocess.Process:
    """A real ``python -m bot run`` with its own data folder, warnings-only logging."""
    data = workdir / name
    data.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("DALSBOT_")}
    env.update(
        DALSBOT_TELEGRAM_TOKEN=TOKEN,
        DALSBOT_TELEGRAM_API_URL=api_url,
        DALSBOT_DATABASE_URL=url,
        DALSBOT_DATA_DIR=str(data),
        DALSBOT_TIMEZONE=zone,
        DALSBOT_LOG_LEVEL="WARNING",
        DALSBOT_PULSE_SECRET="scale-benchmark-secret-0123456789",
        XDG_CONFIG_HOME=str(data / "config"),
        PYTHONPATH=str(ROOT),
        PTB_TIMEDELTA="true",
        **settings,
    )
    with (workdir / f"{name}.log").open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=data, stdout=out, stderr=out
        )


async def stop_bots(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def measure_startup(url: str, workdir: Path, zone: str, *, runs: int = 3) -> list[float]:
    """Seconds from process start until it polls for updates, ``runs`` times."""
    times: list[float] = []
    for n in range(runs):
        standin = BotApiStandIn()
        await standin.start()
        started = time.perf_counter()
        process = await start_bot(
            url=url, api_url=standin.url, workdir=workdir, zone=zone, name=f"start{n}"
        )
        try:
            # Polled: the stand-in signals waiters when a call ends, and a long poll lasts.
            while standin.calls["getUpdates"] == 0:
                if time.perf_counter() - started > 120 or process.returncode is not None:
                    raise RuntimeError(f"the bot did not start; see {workdir}/start{n}.log")
                await asyncio.sleep(0.005)
            times.append(time.perf_counter() - started)
        finally:
            await stop_bots([process])
            await standin.stop()
    return times


# -- /planer ---------------------------------------------------------------------------------------


async def measure_planer(
    url: str, workdir: Path, zone: str, *, expected: int, runs: int = 25
) -> list[float]:
    """Milliseconds from /planer to its reply for the coordinator, ``runs`` times (the first
    is a warm-up and is not returned)."""
    db = Database(url)
    standin = BotApiStandIn()
    await standin.start()
    person = standin.user(coordinator_telegram_id(), "Koordinator")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=workdir,
        database_url=url,
        timezone=zone,
        telegram_api_url=standin.url,
        pulse_secret=SecretStr("scale-benchmark-secret-0123456789"),
    )
    os.environ["PTB_TIMEDELTA"] = "true"
    app = build_application(settings, db=db, api_root=standin.url)
    latencies: list[float] = []
    try:
        async with running(app, poll_timeout=1):
            for _ in range(runs + 1):
                person.skip_pending()
                started = time.perf_counter()
                await person.send("/planer")
                reply = await person.reply(timeout=60)
                latencies.append((time.perf_counter() - started) * 1000)
                if str(expected) not in reply.text:
                    raise RuntimeError(f"/planer did not list {expected} plans: {reply.text[:80]}")
    finally:
        await standin.stop()
        db.dispose()
    return latencies[1:]


# -- the claim ----------------------------------------------------------------------------------


def measure_claim(url: str, moment: Moment, *, runs: int = 15) -> dict[str, Any]:
    """The dispatcher's claim (claim_due, 48 rows, up to 47 chats busy) rolled back each time,
    and EXPLAIN (ANALYZE, BUFFERS) of the FOR UPDATE query it sent."""
    db = Database(url)
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "FOR UPDATE" in statement and "reminder" in statement:
            statements.append((statement, params))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    now = dt.datetime.now(dt.UTC)
    with psycopg.connect(_libpq(url)) as connection:
        due_chats = [
            int(r[0])
            for r in connection.execute(
                "SELECT DISTINCT staff_id FROM reminder WHERE state = 'pending' AND due_at <= %s"
                " LIMIT 94",
                (now,),
            ).fetchall()
        ]
    # Steady state: up to 47 messages in flight, to chats that have more due (half of them).
    busy = due_chats[: len(due_chats) // 2]
    times: list[float] = []
    claimed = 0
    try:
        for _ in range(runs):
            statements.clear()  # the queries of the last claim are explained
            with db.session() as session:
                started = time.perf_counter()
                claim = reminder_store.claim_due(
                    session,
                    owner="scale-bench",
                    now=now,
                    limit=48,
                    busy=busy,
                    tz=moment.policy.tz,
                    gate=sendbudget.bot_key(TOKEN),  # as the dispatcher on PostgreSQL
                    hold=MAX_HOLD,
                )
                times.append((time.perf_counter() - started) * 1000)
                claimed = claim.found
                session.rollback()
        sa.event.remove(db.engine, "before_cursor_execute", capture)
        if not statements:
            raise RuntimeError("the claim sent no FOR UPDATE query on reminder")
        plan: list[str] = []
        execution_ms = 0.0
        with db.engine.connect() as conn:
            for statement, params in statements:
                explained = [
                    str(row[0])
                    for row in conn.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, params
                    )
                ]
                conn.rollback()
                executed = [line for line in explained if "Execution Time" in line]
                execution_ms += float(re.findall(r"[\d.]+", executed[-1])[0])
                plan += explained
    finally:
        if sa.event.contains(db.engine, "before_cursor_execute", capture):
            sa.event.remove(db.engine, "before_cursor_execute", capture)
        db.dispose()
    return {
        "claim_ms": times,
        "claimed": claimed,
        "execution_ms": execution_ms,
        "plan": plan,
        "statements": [statement for statement, _ in statements],
        "seq_scan": any("Seq Scan on reminder" in line for line in plan),
    }


# -- the morning ----------------------------------------------------------------------------------


@dataclass
class MorningResult:
    expected: int
    delivered: int
    duplicates: int
    lost: int
    strays: int
    seconds: float  # first to last delivery
    since_start: float  # process start to last delivery
    rate: float
    requests: int
    rejected: int
    per_chat_rejections: int
    paid_requests: int
    states: Counter[str]


async def run_morning(
    url: str,
    workdir: Path,
    moment: Moment,
    *,
    processes: int,
    paid: bool,
    slice_s: float | None,
    cap_s: float = 3600.0,
    stall_s: float = 90.0,
    startup_s: float = 300.0,
) -> MorningResult:
    """Send the morning through ``processes`` real bot processes; all of it, or for
    ``slice_s`` seconds after the first delivery."""
    expected = morning_keys(url, moment)
    limits = BroadcastLimits()
    standin = BroadcastStandIn(limits)
    await standin.start()
    delivered: Counter[tuple[int, str]] = Counter()
    times: list[float] = []

    def on_send(chat: int, message: dict[str, Any]) -> None:
        match = REFERENCE.search(str(message.get("text", "")))
        if match:
            delivered[(chat, match.group(0))] += 1
            times.append(time.perf_counter())

    standin.on_send = on_send
    for chat, _reference in expected:
        standin.chats[chat] = {"id": chat, "type": "private", "first_name": "Person"}
    extra = {"DALSBOT_SEND_RATE": "1000", "DALSBOT_ALLOW_PAID_BROADCAST": "true"} if paid else {}
    started = time.perf_counter()
    bots = [
        await start_bot(
            url=url,
            api_url=standin.url,
            workdir=workdir,
            zone=moment.zone,
            name=f"{'paid' if paid else 'free'}{n}",
            **extra,
        )
        for n in range(processes)
    ]
    last_progress, last_count = time.perf_counter(), 0
    try:
        while True:
            await asyncio.sleep(0.5)
            # Keep the stand-in's memory flat: the counts above are all this needs.
            standin.events.clear()
            standin.messages.clear()
            now = time.perf_counter()
            if len(times) != last_count:
                last_progress, last_count = now, len(times)
            if slice_s is not None and times and now - times[0] >= slice_s:
                break
            # Three processes starting together on a busy machine take a while: the stall
            # clock runs from the first delivery.
            stalled = now - last_progress > (stall_s if times else startup_s)
            if len(delivered) >= len(expected) or stalled or now - started > cap_s:
                break
            if any(bot.returncode is not None for bot in bots):
                raise RuntimeError(f"a bot process stopped; see the logs in {workdir}")
        await asyncio.sleep(1.0)
    finally:
        await stop_bots(bots)
        await standin.stop()
    got = set(delivered)
    states = morning_states(url, moment)
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    return MorningResult(
        expected=len(expected),
        delivered=len(got & expected),
        duplicates=sum(n - 1 for n in delivered.values()),
        # Rows still pending (or in flight) when the run stopped are queued, not lost.
        lost=len(expected - got) - states["pending"] - states["sending"] if slice_s is None else 0,
        strays=len(got - expected),
        seconds=span,
        since_start=(times[-1] - started) if times else float("nan"),
        rate=(len(times) - 1) / span if len(times) > 1 else 0.0,
        requests=standin.calls["sendMessage"],
        rejected=limits.rejected,
        per_chat_rejections=limits.per_chat_rejections,
        paid_requests=limits.paid_requests,
        states=states,
    )


# -- the report ----------------------------------------------------------------------------------


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def _check(ok: bool) -> str:
    return "ok" if ok else "MISSED"


@dataclass
class Report:
    lines: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def add(self, figure: str, value: str, small: str, target: str, grows: str, ok: bool) -> None:
        self.lines.append((figure, value, small, target + ("" if ok else " **(missed)**"), grows))
        print(f"  {figure:<44} {value:>22}   target {target:<26} {_check(ok)}")
        if not ok:
            self.missed.append(figure)


async def main(argv: list[str] | None = None) -> int:
    """Generate, measure, print; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 580,000 plans")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DALSBOT_TEST_POSTGRES_URL", DEFAULT_BASE),
        help="a URL on the server to use (its database name is replaced)",
    )
    parser.add_argument("--database", default="dalsbot_scale")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="use a kept database of the same scale, same day"
    )
    parser.add_argument("--slice", type=float, default=60.0, help="seconds at the free rate")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument(
        "--cap", type=float, default=3600.0, help="at most this many seconds for the paid morning"
    )
    parser.add_argument("--zone", help="the benchmark's time zone (default: where it is 09:00)")
    parser.add_argument("--logs", help="a folder to keep the bot processes' logs in")
    parser.add_argument("--skip-morning", action="store_true", help="no sending (smoke test)")
    args = parser.parse_args(argv)
    base = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
    shape = Shape.at(args.scale)
    # The same coordinator with the same 500 plans, in a database of 1,160.
    small_shape = replace(Shape.at(0.002), coordinator_plans=COORDINATOR_PLANS)
    moment = Moment.now(args.zone or (_kept_zone(base, args.database) if args.reuse else None))
    report = Report()
    print(
        f"National scale x{args.scale}: {shape.plans:,} plans,"
        f" {shape.staff + shape.municipalities:,} staff in {shape.municipalities} municipalities;"
        f" zone {moment.zone} (local time about {LOCAL_HOUR}:00, the morning due at 08:00)"
    )
    with tempfile.TemporaryDirectory(prefix="dalsbot-scale-") as folder:
        workdir = Path(args.logs or folder)
        # The small database: the same coordinator with the same 500 plans, little else.
        with database(base, f"{args.database}_small", keep=False) as small_url:
            migrate.upgrade(db := Database(small_url))
            db.dispose()
            generate(small_url, small_shape, moment)
            # Start-up and /planer before the morning is there (a bot would send it).
            small_start = await measure_startup(small_url, workdir, moment.zone)
            small_planer = await measure_planer(
                small_url, workdir, moment.zone, expected=small_shape.coordinator_plans
            )
            insert_morning(small_url, moment)
            small_claim = measure_claim(small_url, moment)
        with database(base, args.database, keep=args.keep, reuse=args.reuse) as url:
            migrate.upgrade(db := Database(url))
            db.dispose()
            reused = args.reuse and plan_count(url) == shape.plans
            if reused:
                print("Reusing the kept database (its rows were planned earlier today).")
                delete_morning(url, moment)
            else:
                timings = generate(url, shape, moment)
                print(
                    "Generated in "
                    + ", ".join(f"{k.removesuffix('_s')} {v:.0f} s" for k, v in timings.items())
                )
            print(f"{pending_rows(url):,} pending reminder rows, none due yet")
            start = await measure_startup(url, workdir, moment.zone)
            planer = await measure_planer(
                url, workdir, moment.zone, expected=shape.coordinator_plans
            )
            morning_count = insert_morning(url, moment)
            pending = pending_rows(url)
            print(f"{pending:,} pending reminder rows, {morning_count:,} of them due this morning")
            size = sizes(url)
            claim = measure_claim(url, moment)
            paid = free = claim_after = None
            if not args.skip_morning:
                paid = await run_morning(
                    url,
                    workdir,
                    moment,
                    processes=args.processes,
                    paid=True,
                    slice_s=None,
                    cap_s=args.cap,
                )
                insert_morning(url, moment)
                # Again, now that every chat of the morning has its gate row (send_chat).
                claim_after = measure_claim(url, moment)
                free = await run_morning(
                    url, workdir, moment, processes=args.processes, paid=False, slice_s=args.slice
                )

    print(f"\nThe claim's FOR UPDATE queries ({len(claim['statements'])}), the first:")
    print("  " + re.sub(r"(, %\(staff_id_1_\d+\)s::INTEGER)+", ", ...", claim["statements"][0]))
    print("EXPLAIN (ANALYZE, BUFFERS) of each, national scale:")
    for line in claim["plan"]:
        print("  " + line)
    print("\nFigures (the machine may be shared; re-run on a quiet one):")
    small_note = f"{small_shape.plans:,} plans"
    report.add(
        "plans / pending reminder rows",
        f"{shape.plans:,} / {pending:,}",
        f"{small_note}",
        "580,000 / ~7 million",
        "the data (linear)",
        True,
    )
    ready = statistics.median(start)
    report.add(
        "start until ready (median of 3)",
        f"{ready:.2f} s",
        f"{statistics.median(small_start):.2f} s",
        f"≤ {TARGET_READY_S} s",
        "must not grow",
        ready <= TARGET_READY_S,
    )
    claim_p50 = statistics.median(claim["claim_ms"])
    report.add(
        f"claim query, {morning_count:,} due (EXPLAIN)",
        f"{claim['execution_ms']:.2f} ms",
        f"{small_claim['execution_ms']:.2f} ms",
        f"≤ {TARGET_CLAIM_QUERY_MS:.0f} ms, index scan",
        "must not grow",
        claim["execution_ms"] <= TARGET_CLAIM_QUERY_MS and not claim["seq_scan"],
    )
    report.add(
        f"claim_due of {claim['claimed']} rows (p50)",
        f"{claim_p50:.1f} ms",
        f"{statistics.median(small_claim['claim_ms']):.1f} ms",
        "(the dispatcher's claim)",
        "must not grow",
        True,
    )
    if claim_after is not None:
        report.add(
            "claim query, every chat with a gate row",
            f"{claim_after['execution_ms']:.2f} ms",
            "",
            f"≤ {TARGET_CLAIM_QUERY_MS:.0f} ms, index scan",
            "must not grow",
            claim_after["execution_ms"] <= TARGET_CLAIM_QUERY_MS and not claim_after["seq_scan"],
        )
        if claim_after["seq_scan"]:
            print(
                "    a Seq Scan on reminder after the morning:\n      "
                + "\n      ".join(claim_after["plan"])
            )
    p50, p95 = _ms(planer, 0.5), _ms(planer, 0.95)
    report.add(
        f"/planer, coordinator with {shape.coordinator_plans} plans, p50 / p95",
        f"{p50:.0f} / {p95:.0f} ms",
        f"{_ms(small_planer, 0.5):.0f} / {_ms(small_planer, 0.95):.0f} ms",
        f"p95 ≤ {TARGET_PLANER_P95_MS:.0f} ms",
        "must not grow",
        p95 <= TARGET_PLANER_P95_MS,
    )
    if paid is not None and free is not None:
        share = paid.rejected / paid.requests if paid.requests else 1.0
        ok = paid.lost == 0 and paid.duplicates == 0 and share <= MAX_429_SHARE
        report.add(
            f"morning, {paid.expected:,} reminders, {args.processes} processes, paid",
            f"{paid.since_start:.0f} s ({paid.rate:.0f}/s)",
            "",
            "0 lost, 0 duplicates, 0 429",
            "with the morning (linear)",
            ok and paid.delivered == paid.expected,
        )
        print(
            f"    delivered {paid.delivered:,} of {paid.expected:,}, lost {paid.lost},"
            f" duplicates {paid.duplicates}, 429s {paid.rejected} of {paid.requests:,} requests"
            f" ({paid.per_chat_rejections} per chat), requests asking for a paid broadcast"
            f" {paid.paid_requests:,}; first to last {paid.seconds:.0f} s; rows {dict(paid.states)}"
        )
        free_ok = (
            free.rate >= TARGET_FREE_RATE
            and free.rejected == 0
            and free.duplicates == 0
            and free.strays == 0
        )
        report.add(
            f"free rate, {args.slice:.0f} s slice, {args.processes} processes",
            f"{free.rate:.1f}/s, {free.rejected} 429s",
            "",
            f"≥ {TARGET_FREE_RATE:.1f}/s, ≤ 30/s, 0 429",
            "must not grow",
            free_ok and free.rate <= 30.5,
        )
        print(
            f"    delivered {free.delivered:,} in the slice, duplicates {free.duplicates},"
            f" 429s {free.rejected} of {free.requests:,} requests; rows {dict(free.states)}"
        )
        morning_h = free.expected / free.rate / 3600 if free.rate else float("nan")
        report.add(
            f"a morning of {free.expected:,} at the free rate (computed)",
            f"{morning_h:.2f} h",
            "",
            "(information)",
            "with the morning (linear)",
            True,
        )
    report.add(
        "database size",
        _mb(size["total"]),
        "",
        "(information)",
        "linear",
        True,
    )
    print("    biggest tables (with indexes / heap):")
    for name, total, heap in size["tables"]:
        print(f"      {name:<24} {_mb(total):>10} / {_mb(heap):>10}")
    print("    biggest indexes:")
    for name, total in size["indexes"]:
        print(f"      {name:<32} {_mb(total):>10}")
    print("\n| figure | national scale | small database | target | grows with plans? |")
    print("| --- | --- | --- | --- | --- |")
    for line in report.lines:
        print("| " + " | ".join(line) + " |")
    print("\ntargets met" if not report.missed else "\nTARGET MISSED: " + ", ".join(report.missed))
    return 0 if not report.missed else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
