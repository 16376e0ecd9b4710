"""Reminders are claimed in priority order: escalations and bounce notices first, then day-of
reminders, overdue notices and "remind me tomorrow", then earlier reminders.

``priority`` is computed by the database from ``kind`` and ``seq`` (a generated column:
nothing that writes reminder rows, bulk loads included, has to know about it), and a partial
index over the pending rows serves the claim: ``state = 'pending' AND priority = :p AND
due_at <= :now ORDER BY due_at, id``, one range per priority.
"""

import sqlalchemy as sa
from alembic import op

# Written out here (not imported from the model) so this revision keeps meaning what it meant.
PRIORITY = (
    "CASE WHEN kind IN ('escalation', 'undelivered') THEN 0"
    " WHEN kind IN ('overdue', 'snooze') OR (kind = 'before' AND seq = 0) THEN 1"
    " ELSE 2 END"
)
PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    # PostgreSQL stores the value; SQLite can only add a virtual generated column.
    stored = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "reminder",
        sa.Column(
            "priority", sa.SmallInteger(), sa.Computed(PRIORITY, persisted=stored), nullable=False
        ),
    )
    op.create_index(
        "ix_reminder_claim",
        "reminder",
        ["priority", "due_at", "id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_reminder_claim", table_name="reminder")
    with op.batch_alter_table("reminder") as batch:
        batch.drop_column("priority")


revision, down_revision = "0016_reminder_priority", "0013_followup_undo"
