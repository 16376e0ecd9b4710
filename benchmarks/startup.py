"""Start-up figures: ``python benchmarks/startup.py [-n RUNS]``.

1. **Start until ready**: ``dalsbot run`` against the local Bot API stand-in (a token and
   ``DALSBOT_TELEGRAM_API_URL`` pointing at it, SQLite already at head, as on every restart),
   paired run by run with a minimal python-telegram-bot echo bot (benchmarks/echo_bot.py)
   started the same way. *Ready* is the moment the stand-in receives the process's first
   ``getUpdates``: PTB sends it only after the whole handler table is built, ``post_init``
   has run (the database checked, the administrators and the pulse secret in place) and any
   webhook is deleted, so from then on updates are being fetched and handled. What no update
   needs in order to be received comes after, in the background (bot/shell/started.py): the
   knowledge base's articles, index and topic model with numpy (a question meanwhile waits
   for them, never answered without them), the descriptions and the menus. On SQLite,
   SQLAlchemy's PostgreSQL dialect is never imported (tests/test_start_imports.py). The
   process is then stopped; the figure is the wall time from starting the process to that
   request, and the CPU the process had used by then (``/proc``). Target: at most 0.8 s.
2. **A one-shot question**: ``dalsbot ask "..." --json`` as a whole process against
   ``python -c "import telegram"`` in the same run, pair by pair (A B A B ...), wall and CPU
   time from the operating system's accounting (``wait4``). Target: at most 3 times.

Each command runs once first, uncounted (files in the page cache, the pattern cache
written, the database migrated). Figures: minimum, median and maximum; ratios per pair.

The project's modules are byte-compiled first (``compileall``), as ``pip install`` does for
an installed package (the Docker image): a checkout with ``PYTHONDONTWRITEBYTECODE`` set
would otherwise compile every module from source on every start, which no deployment does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.shell.standin import BotApiStandIn  # noqa: E402

PYTHON = sys.executable
DALSBOT = [PYTHON, "-m", "bot"]
READY_TARGET_S = 0.8
ASK_TARGET_RATIO = 3.0
QUESTION = "Hur gör jag en orosanmälan?"
TOKEN = "123456:BENCHMARK-STARTUP-TOKEN-000000000"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class _ReadyStandIn(BotApiStandIn):
    """The stand-in, noting when the first ``getUpdates`` after :meth:`arm` arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.first_poll = threading.Event()
        self.first_poll_at = 0.0

    def arm(self) -> None:
        self.first_poll.clear()

    async def _api_getUpdates(self, params: dict[str, Any], files: object) -> Any:
        if not self.first_poll.is_set():
            self.first_poll_at = time.perf_counter()
            self.first_poll.set()
        return await super()._api_getUpdates(params, files)


class _StandInThread:
    """The stand-in served from its own thread and event loop."""

    def __init__(self) -> None:
        self.standin = _ReadyStandIn()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self.standin.start(), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.standin.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def time_until_ready(
    server: _StandInThread, command: Sequence[str], env: dict[str, str]
) -> tuple[float, float]:
    """Wall seconds from starting ``command`` to its first getUpdates, and its CPU by then."""
    server.standin.arm()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        if not server.standin.first_poll.wait(60):
            raise RuntimeError(f"{command} did not poll within 60 s")
        wall = server.standin.first_poll_at - started
        cpu = _cpu_seconds(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return wall, cpu


def time_process(command: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one whole run of ``command`` (its output discarded)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command} exited with {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def _row(label: str, values: Sequence[float], unit: str = "s", target: str = "") -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    fmt = "{:8.3f}" if unit == "s" else "{:8.2f}"
    cells = "  ".join(fmt.format(v) for v in (low, mid, high))
    return f"  {label:<34}{cells}  {unit:<2}{target}"


def paired(
    runs: int, first: Any, second: Any
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """``first`` and ``second`` in turn, once each uncounted, then ``runs`` counted pairs."""
    first()
    second()
    a, b = [], []
    for _ in range(runs):
        a.append(first())
        b.append(second())
    return a, b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=7, help="counted pairs (default 7)")
    args = parser.parse_args()
    ok = True
    packages = [str(ROOT / name) for name in ("bot", "handlers", "knowledge", "storage")]
    subprocess.run([PYTHON, "-m", "compileall", "-q", *packages], check=True)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        server = _StandInThread()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DALSBOT_TELEGRAM_TOKEN": TOKEN,
            "DALSBOT_TELEGRAM_API_URL": server.url,
            "DALSBOT_DATA_DIR": str(data),
            "DALSBOT_DATABASE_URL": f"sqlite:///{data / 'startup.sqlite3'}",
            "DALSBOT_PULSE_SECRET": "benchmark-secret",
            "DALSBOT_LOG_LEVEL": "WARNING",
            "XDG_CONFIG_HOME": str(data / "config"),
        }
        try:
            dalsbot, echo = paired(
                args.runs,
                lambda: time_until_ready(server, [*DALSBOT, "run"], env),
                lambda: time_until_ready(
                    server,
                    [PYTHON, str(ROOT / "benchmarks" / "echo_bot.py"), server.url, TOKEN],
                    env,
                ),
            )
        finally:
            server.close()
        ask, telegram = paired(
            args.runs,
            lambda: time_process([*DALSBOT, "ask", QUESTION, "--json"], env),
            lambda: time_process([PYTHON, "-c", "import telegram"], env),
        )
    print(
        f"{'':36}{'min':>8}  {'median':>8}  {'max':>8}"
        f"   ({args.runs} pairs, {os.cpu_count()} cores)"
    )
    print("1. start until ready (first getUpdates)")
    ready = [wall for wall, _ in dalsbot]
    print(_row("dalsbot run: wall", ready, target=f"  target ≤ {READY_TARGET_S} s"))
    print(_row("dalsbot run: CPU by then", [cpu for _, cpu in dalsbot]))
    print(_row("echo bot: wall", [wall for wall, _ in echo]))
    print(_row("echo bot: CPU by then", [cpu for _, cpu in echo]))
    print(
        _row(
            "ratio dalsbot / echo (wall)",
            [a[0] / b[0] for a, b in zip(dalsbot, echo, strict=True)],
            "×",
        )
    )
    print("2. a one-shot question")
    print(_row("dalsbot ask --json: wall", [wall for wall, _ in ask]))
    print(_row("dalsbot ask --json: CPU", [cpu for _, cpu in ask]))
    print(_row("import telegram: wall", [wall for wall, _ in telegram]))
    print(_row("import telegram: CPU", [cpu for _, cpu in telegram]))
    wall_ratio = [a[0] / b[0] for a, b in zip(ask, telegram, strict=True)]
    cpu_ratio = [a[1] / b[1] for a, b in zip(ask, telegram, strict=True)]
    print(
        _row(
            "ratio ask / import telegram (wall)", wall_ratio, "×", f"  target ≤ {ASK_TARGET_RATIO}×"
        )
    )
    print(_row("ratio ask / import telegram (CPU)", cpu_ratio, "×"))
    if statistics.median(ready) > READY_TARGET_S:
        print(f"MISSED: start until ready, median over {READY_TARGET_S} s")
        ok = False
    if statistics.median(wall_ratio) > ASK_TARGET_RATIO:
        print(f"MISSED: dalsbot ask, median over {ASK_TARGET_RATIO}× import telegram")
        ok = False
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
