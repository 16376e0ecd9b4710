"""Start-up leaves the heavy libraries for later; the warm-up loads them in its own thread
while the event loop goes on."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from bot.shell.warmup import WarmUp
from storage.db import Database
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]

# Runs the real application against the stand-in on a migrated database, notes what start-up
# imported, and watches the event loop while the warm-up thread works.
SCRIPT = """
import asyncio, json, sys, threading
from pathlib import Path
from bot.settings import Settings
from bot.shell.app import build_application, running
from bot.shell.standin import BotApiStandIn
from bot.shell.warmup import WarmUp
from storage.migrate import open_database

folder = Path(sys.argv[1])
url = f"sqlite:///{folder / 'warm.sqlite3'}"
settings = Settings(_env_file=None, data_dir=folder, database_url=url, pulse_secret="s" * 32)
db = open_database(url)
heavy = ("alembic", "matplotlib", "dateparser", "faker", "qrcode")

async def main():
    standin = BotApiStandIn()
    await standin.start()
    app = build_application(settings, db=db, api_root=standin.url)
    warm = app.bot_data.services.get(WarmUp)
    loop_thread = threading.get_ident()
    async with running(app, poll_timeout=1):
        at_start = [name for name in heavy if name in sys.modules]
        turns = 0
        while not warm.done.is_set():  # the loop keeps serving while the thread works
            await asyncio.sleep(0.005)
            turns += 1
        user = standin.user(4711, "Kim")
        await user.send("/start")
        replied = bool(await user.next())
    await standin.stop()
    return warm, at_start, loop_thread, turns, replied

warm, at_start, loop_thread, turns, replied = asyncio.run(main())
db.dispose()
print(json.dumps({
    "at_start": at_start,
    "after": [name for name in heavy if name in sys.modules],
    "loop_thread": loop_thread,
    "warm_thread": warm.thread.ident,
    "step_threads": sorted(warm.thread_ids),
    "turns": turns,
    "replied": replied,
    "steps": sorted(warm.timings),
    "failed": warm.failed,
}))
"""


def test_warm_up_loads_what_start_up_leaves_out_in_its_own_thread(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'warm.sqlite3'}")
    upgrade(database)
    database.dispose()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # Start-up (at head) imported none of them ...
    assert report["at_start"] == []
    # ... the warm-up did, except qrcode (an invitation's picture is rare and quick).
    assert report["after"] == ["matplotlib", "dateparser", "faker"]
    assert report["steps"] == ["answers", "chart", "dates", "names"]
    assert report["failed"] == []
    # Every step ran in the warm-up thread, not on the event loop's thread; the loop kept
    # turning meanwhile, and the bot answers.
    assert report["step_threads"] == [report["warm_thread"]]
    assert report["warm_thread"] != report["loop_thread"]
    assert report["turns"] > 0
    assert report["replied"] is True


async def test_shutdown_waits_for_the_running_step_and_starts_no_other() -> None:
    """A daemon thread still inside a step (native code) when the interpreter ends aborts the
    process; so shutdown lets the running step finish and starts no further one."""
    began, ran = threading.Event(), []

    def slow() -> None:
        began.set()
        time.sleep(0.3)
        ran.append("slow")

    warm = WarmUp(
        steps=[("test-shutdown-slow", slow), ("test-shutdown-next", lambda: ran.append("next"))]
    )
    warm.launch()
    assert await asyncio.to_thread(began.wait, 10)
    await warm.stop(None)  # type: ignore[arg-type]  # the application is not used
    assert warm.thread is not None and not warm.thread.is_alive()
    assert ran == ["slow"]
    assert warm.done.is_set()
