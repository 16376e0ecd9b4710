"""The models and stores load no database dialect they do not use (start-up time), and the
reminder claim's index stays partial on both databases."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from storage.schema import metadata


def _create_index_sql(url: str) -> list[str]:
    statements: list[str] = []
    engine = sa.create_mock_engine(
        url, lambda sql, *_, **__: statements.append(str(sql.compile(dialect=engine.dialect)))
    )
    metadata.create_all(engine, checkfirst=False)
    return [s.strip() for s in statements if "ix_reminder_claim" in s]


def test_the_claim_index_is_partial_on_both_databases() -> None:
    partial = (
        "CREATE INDEX ix_reminder_claim ON reminder (priority, due_at, id) WHERE state = 'pending'"
    )
    assert _create_index_sql("sqlite://") == [partial]
    assert _create_index_sql("postgresql+psycopg://") == [partial]


def test_the_tables_and_stores_do_not_import_the_postgresql_dialect() -> None:
    code = (
        "import sys; import storage.schema, storage.sendbudget, storage.people.menus, "
        "storage.pulse.drafts, storage.plans.models; "
        "print('sqlalchemy.dialects.postgresql' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
