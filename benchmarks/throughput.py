"""Dalsbot against a minimal echo bot: ``python benchmarks/throughput.py [--users 200]``.

Both bots run in their own process (``dalsbot run``, and benchmarks/echo_bot.py: PTB's own echo
example with its defaults), one after the other, against **the same** local Bot API stand-in
in this process, driven by **the same** simulated people: each of ``--users`` registered staff
members sends a question at the same moment, and waits for the bot's reply in their chat
(Dalsbot's answer card, the echo bot's echo). The questions are those of every evaluation set
in tests/knowledge (written blind, in the messy form of real use), in a fixed shuffled order,
and no question is asked twice of one bot: people rarely ask the same thing twice, and a
repeated text would find its language detection cached (about 2–3 ms of a new question's CPU
on this machine: the largest single part of a question's work). Both bots get the same ones.
A round is one such burst; the first round of each bot is not counted (its first answers,
caches), then ``--rounds`` rounds are. Before the first round and after it, the benchmark
waits until the bot has made no call but ``getUpdates`` for a second: Dalsbot's start-up sets
each new staff member's command menu in the background (once; unchanged menus are not set
again), which is not the work being measured.

Per round: updates per second (the burst's size over the time from the first send to the last
reply), reply p95 (from a person's send to their reply) and CPU per update (the bot process's
user + system CPU over the round, from ``/proc``, over the updates). Printed per bot as the
median of the rounds, and Dalsbot's updates/s as a share of the echo bot's (target ≥ 0.7)
and its CPU per question (target ≤ 3 ms).

SQLite in a temporary folder (the staff rows are inserted before the bots start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.shell.standin import BotApiStandIn, ChatEvent  # noqa: E402
from knowledge.evaluation import load_eval_set  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.people.models import Staff  # noqa: E402

PYTHON = sys.executable
TOKEN = "123456:BENCHMARK-THROUGHPUT-TOKEN-0000000"
RATIO_TARGET = 0.7
CPU_TARGET_MS = 3.0
FIRST_USER = 30_000
SHUFFLE_SEED = 12
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
QUESTION_SETS = ROOT / "tests" / "knowledge"


class _StandIn(BotApiStandIn):
    """The stand-in, queueing each chat's sent messages for the person waiting there, and
    noting the first ``getUpdates`` (a bot process is then running)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: defaultdict[int, asyncio.Queue[ChatEvent]] = defaultdict(asyncio.Queue)
        self.polled = asyncio.Event()
        self.last_call = 0.0

    def _record_send(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        message = super()._record_send(params, content)
        chat_id = int(message["chat"]["id"])
        self.arrived[chat_id].put_nowait(self.events[chat_id][-1])
        return message

    async def _api_getUpdates(self, params: dict[str, Any], files: object) -> Any:
        self.polled.set()
        return await super()._api_getUpdates(params, files)

    async def call(self, method: str, params: dict[str, Any], files: Any) -> Any:
        if method != "getUpdates":
            self.last_call = time.perf_counter()
        return await super().call(method, params, files)

    async def quiet(self, seconds: float) -> None:
        """Until no call but getUpdates has come for ``seconds`` (start-up work is done:
        Dalsbot sets each new staff member's command menu in the background)."""
        while time.perf_counter() - self.last_call < seconds:  # noqa: ASYNC110
            await asyncio.sleep(0.1)


@dataclass
class Round:
    """One burst: its updates/s, reply p95 (ms) and CPU per update (ms)."""

    updates_per_s: float
    p95_ms: float
    cpu_ms: float


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def _ask(standin: _StandIn, user_id: int, text: str) -> float:
    """Send ``text`` as ``user_id`` and wait for the bot's reply; the seconds it took."""
    person = standin.user(user_id, f"P{user_id}")
    arrived = standin.arrived[user_id]
    started = time.perf_counter()
    await person.send(text)
    await asyncio.wait_for(arrived.get(), 120)
    return time.perf_counter() - started


async def _burst(standin: _StandIn, pid: int, users: range, questions: list[str]) -> Round:
    cpu = _cpu_seconds(pid)
    started = time.perf_counter()
    waits = await asyncio.gather(
        *(_ask(standin, user, question) for user, question in zip(users, questions, strict=True))
    )
    wall = time.perf_counter() - started
    used = _cpu_seconds(pid) - cpu
    return Round(len(users) / wall, _percentile(waits, 0.95) * 1000, used / len(users) * 1000)


async def measure(
    standin: _StandIn, command: list[str], env: dict[str, str], users: range, rounds: int,
    questions: list[str],
) -> list[Round]:  # fmt: skip
    """Start the bot, run one uncounted and ``rounds`` counted bursts, stop it."""
    standin.polled.clear()
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await asyncio.wait_for(standin.polled.wait(), 60)
        await asyncio.wait_for(standin.quiet(1.0), 300)
        size = len(users)
        await _burst(standin, process.pid, users, questions[:size])
        await asyncio.wait_for(standin.quiet(1.0), 300)
        return [
            await _burst(standin, process.pid, users, questions[size * k : size * (k + 1)])
            for k in range(1, rounds + 1)
        ]
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)


def _register(db: Database, users: range) -> None:
    def add(session: Any) -> None:
        for user in users:
            session.add(
                Staff(
                    telegram_id=user,
                    display_name=f"Benchmark {user}",
                    role="staff",
                    municipality="Mellerud",
                    organisation="skola",
                )
            )

    db.call(add)


def _fresh_questions(count: int) -> list[str]:
    """``count`` different questions from the evaluation sets, in a fixed shuffled order."""
    found: set[str] = set()
    for path in sorted(QUESTION_SETS.glob("*.yaml")):
        with contextlib.suppress(ValueError, KeyError, TypeError):  # not an evaluation set
            found.update(item.question for item in load_eval_set(path))
    questions = sorted(found)
    random.Random(SHUFFLE_SEED).shuffle(questions)
    if len(questions) < count:
        raise SystemExit(f"{count} questions needed, the evaluation sets hold {len(questions)}")
    return questions[:count]


def _summary(label: str, rounds: list[Round]) -> tuple[float, float, float]:
    rate = statistics.median(r.updates_per_s for r in rounds)
    p95 = statistics.median(r.p95_ms for r in rounds)
    cpu = statistics.median(r.cpu_ms for r in rounds)
    each = ", ".join(f"{r.updates_per_s:.0f}" for r in rounds)
    print(f"  {label:<9} {rate:8.0f} updates/s   reply p95 {p95:7.0f} ms   "
          f"CPU {cpu:6.2f} ms/update   (rounds: {each} updates/s)")  # fmt: skip
    return rate, p95, cpu


async def run(users_count: int, rounds: int, folder: Path) -> bool:
    url = f"sqlite:///{folder / 'throughput.sqlite3'}"
    db = Database(url)
    migrate.upgrade(db)
    users = range(FIRST_USER, FIRST_USER + users_count)
    _register(db, users)
    db.dispose()
    questions = _fresh_questions((rounds + 1) * users_count)
    standin = _StandIn()
    await standin.start()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DALSBOT_TELEGRAM_TOKEN": TOKEN,
        "DALSBOT_TELEGRAM_API_URL": standin.url,
        "DALSBOT_DATA_DIR": str(folder),
        "DALSBOT_DATABASE_URL": url,
        "DALSBOT_PULSE_SECRET": "benchmark-throughput-secret-0123456789",
        "DALSBOT_LOG_LEVEL": "WARNING",
        "XDG_CONFIG_HOME": str(folder / "config"),
    }
    try:
        echo = await measure(
            standin, [PYTHON, str(ROOT / "benchmarks" / "echo_bot.py"), standin.url, TOKEN],
            env, users, rounds, questions,
        )  # fmt: skip
        dalsbot = await measure(
            standin, [PYTHON, "-m", "bot", "run"], env, users, rounds, questions
        )
    finally:
        await standin.stop()
    print(
        f"{users_count} people asking at once, {rounds} counted rounds each, {os.cpu_count()} cores"
    )
    echo_rate, _, _ = _summary("echo bot", echo)
    rate, _, cpu = _summary("Dalsbot", dalsbot)
    ratio = rate / echo_rate
    print(f"  Dalsbot / echo bot updates/s: {ratio:.2f}   (target ≥ {RATIO_TARGET})")
    print(f"  Dalsbot CPU per question: {cpu:.2f} ms   (target ≤ {CPU_TARGET_MS:g} ms)")
    return ratio >= RATIO_TARGET and cpu <= CPU_TARGET_MS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    packages = [str(ROOT / name) for name in ("bot", "handlers", "knowledge", "storage")]
    subprocess.run([PYTHON, "-m", "compileall", "-q", *packages], check=True)
    with tempfile.TemporaryDirectory() as folder:
        ok = asyncio.run(run(args.users, args.rounds, Path(folder)))
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
