"""What ``dalsbot run`` imports before it fetches updates leaves out what only later work
needs (benchmarks/startup.py): numpy comes with the knowledge base's load, SQLAlchemy's
PostgreSQL dialect only on PostgreSQL, babel's dates at the first date written out."""

from __future__ import annotations

import subprocess
import sys

from bot import state

LATER = ("numpy", "sqlalchemy.dialects.postgresql", "babel.dates")


def test_the_run_path_does_not_import_what_comes_later() -> None:
    code = (
        "import sys; import bot.shell.cli.main, bot.settings, bot.shell.runner, bot.shell.app; "
        f"print([name for name in {LATER!r} if name in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_every_declared_draft_has_an_adapter() -> None:
    # Adapters are built at first use; a draft pydantic cannot (de)serialise fails here.
    import bot.shell.app  # noqa: F401  (declares every feature's drafts)

    assert state._KINDS
    for kind in state._KINDS.values():
        assert state._adapter(kind) is state._adapter(kind)
