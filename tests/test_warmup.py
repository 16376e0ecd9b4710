"""Start-up leaves the heavy libraries for later; the warm-up loads them in its own thread
while the event loop goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from storage.db import Database
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]

# Builds the real application on a migrated database, notes what start-up imported, then runs
# the warm-up hook inside an event loop and watches the loop while the thread works.
SCRIPT = """
import asyncio, json, sys, threading
from pathlib import Path
from bot.settings import Settings
from bot.shell.app import build_application
from bot.shell.warmup import WarmUp
from storage.migrate import open_database

folder = Path(sys.argv[1])
url = f"sqlite:///{folder / 'warm.sqlite3'}"
settings = Settings(_env_file=None, data_dir=folder, database_url=url, pulse_secret="s")
db = open_database(url)
app = build_application(settings, db=db)
heavy = ("alembic", "matplotlib", "dateparser", "faker", "qrcode")
at_start = [name for name in heavy if name in sys.modules]
warm = app.bot_data.services.get(WarmUp)

async def main():
    loop_thread = threading.get_ident()
    await warm.start(app)
    returned_before_done = not warm.done.is_set()
    turns = 0
    while not warm.done.is_set():
        await asyncio.sleep(0.005)
        turns += 1
    return loop_thread, returned_before_done, turns

loop_thread, returned_before_done, turns = asyncio.run(main())
db.dispose()
print(json.dumps({
    "at_start": at_start,
    "after": [name for name in heavy if name in sys.modules],
    "loop_thread": loop_thread,
    "warm_thread": warm.thread.ident,
    "step_threads": sorted(warm.thread_ids),
    "returned_before_done": returned_before_done,
    "turns": turns,
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
    # Every step ran in the warm-up thread, not on the event loop's thread, and the hook
    # returned at once: the loop kept turning until the thread was done.
    assert report["step_threads"] == [report["warm_thread"]]
    assert report["warm_thread"] != report["loop_thread"]
    assert report["returned_before_done"] is True
    assert report["turns"] > 0
