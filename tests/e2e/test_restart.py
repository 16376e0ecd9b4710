"""A restart in the middle of a flow loses nothing: the real bot process is killed (SIGKILL, no
chance to save anything on the way out) halfway through /ny_plan and halfway through a pulse
answer, started again, and the person carries on with the next tap where they were."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
from pathlib import Path

from bot.i18n import t
from bot.shell.standin import BotApiStandIn
from handlers.plans.flow import MUNICIPALITY
from tests.conftest import ADMIN_ID
from tests.e2e.processes import bot_env, start_bot, wait_exit
from tests.helpers import eventually

STRANGER = 4711  # answers the pulse: not registered, as anyone with the link


async def restart(
    standin: BotApiStandIn,
    process: subprocess.Popen[str],
    env: dict[str, str],
    processes: list[subprocess.Popen[str]],
    log: Path,
    stored: str | None = None,
) -> subprocess.Popen[str]:
    """Stop the bot and start it again; return once it polls for updates.

    With ``stored`` (SQL that counts rows) the bot is killed outright (SIGKILL) as soon as the
    database holds the last step: the step is written right after the reply, so a crash in
    between would lose that one step. Without it the bot gets SIGTERM, as in a deploy."""
    if stored is not None:
        await eventually(lambda: _count(env, stored) > 0)
    process.send_signal(signal.SIGKILL if stored is not None else signal.SIGTERM)
    await wait_exit(process)
    before = standin.calls["getUpdates"]
    restarted = start_bot(env, processes, log)
    await standin.wait_for(lambda: standin.calls["getUpdates"] > before, 60)
    return restarted


def _count(env: dict[str, str], sql: str) -> int:
    path = Path(env["DALSBOT_DATA_DIR"]) / "dalsbot.sqlite3"
    with sqlite3.connect(path) as connection:
        return int(connection.execute(sql).fetchone()[0])


async def test_a_half_made_plan_and_an_unfinished_pulse_answer_survive_restarts(
    tmp_path: Path, standin: BotApiStandIn, processes: list[subprocess.Popen[str]]
) -> None:
    """Halfway through /ny_plan (an admin) and halfway through a pulse answer (a stranger with
    the link): killed, started again, both carry on; a deploy's SIGTERM restart the same. The
    unfinished pulse answer is in the database under keyed hashes only."""
    env, log = bot_env(tmp_path, standin), tmp_path / "bot.log"
    process = start_bot(env, processes, log)
    await standin.wait_for(lambda: standin.calls["getUpdates"] >= 1, 60)
    admin, person = standin.user(ADMIN_ID, "Astrid"), standin.user(STRANGER, "Ulla")

    # A pulse to answer, opened by the admin with /puls.
    step = await admin.ask("/puls")
    step = await admin.tap(step, 0)  # the first template
    step = await admin.ask("Elevhälsomöte")
    step = await admin.tap(step, 0)  # the first closing time
    await admin.tap(step, 0, count=2)  # the first k: the link, then the QR code
    link = next(e.text for e in admin.events() if "start=pulse_" in e.text)
    token = re.search(r"start=pulse_([A-Za-z0-9_-]+)", link)
    assert token is not None
    question = await person.ask(f"/start pulse_{token.group(1)}")
    assert "Fråga 1 av" in question.text
    question = await person.tap(question, "4")
    assert "Fråga 2 av" in question.text

    # /ny_plan up to its municipality step.
    assert (await admin.ask("/ny_plan")).text == t("plans.new_ask_reference", "sv")
    step = await admin.ask("BP-41")
    assert step.text == "Vilken sorts plan är BP-41?"
    step = await admin.tap(step, "SIP")

    at_municipality = f"SELECT count(*) FROM conversation_state WHERE state = {MUNICIPALITY}"
    one_score = "SELECT count(*) FROM pulse_draft WHERE data LIKE '%\"index\":1%'"
    await eventually(lambda: _count(env, one_score) > 0)
    process = await restart(standin, process, env, processes, log, stored=at_municipality)

    # The draft in the database: keyed hashes, no user id or chat id anywhere in it.
    with sqlite3.connect(tmp_path / "data" / "dalsbot.sqlite3") as connection:
        rows = connection.execute("SELECT * FROM pulse_draft").fetchall()
    assert len(rows) == 1 and str(STRANGER) not in repr(rows)
    question = await person.tap(question, "3")  # the same message as before the restart
    assert "Fråga 3 av" in question.text
    step = await admin.tap(step, 0)  # the first municipality, on the message shown before
    step = await admin.tap(step, t("plans.btn_me", "sv"))
    assert step.text == t("plans.new_pick_participants", "sv")
    process = await restart(standin, process, env, processes, log)  # SIGTERM, as a deploy

    while "Fråga" in question.text:
        question = await person.tap(question, "5")
    thanks = await person.tap(question, t("pulse.send_without_comment", "sv"))
    assert thanks.text == t("pulse.thanks", "sv")
    step = await admin.tap(step, "Klar")
    assert step.text.startswith(t("plans.new_ask_date", "sv"))
    step = await admin.ask("2030-03-14")
    step = await admin.tap(step, "13:00")
    assert step.text == t("plans.ask_place", "sv")
    step = await admin.ask("Skolan")
    assert "BP-41" in step.text
    card = await admin.tap(step, "Skapa planen")
    assert card.text.startswith(t("plans.created", "sv"))
    assert "torsdag 14 mars 2030 kl. 13:00, Skolan" in card.text
    process.send_signal(signal.SIGTERM)
    assert await wait_exit(process) == 0
    assert "Traceback" not in log.read_text()
