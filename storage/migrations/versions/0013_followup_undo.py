"""A held follow-up keeps the time and place it was booked with, so "undo" can restore it."""

import sqlalchemy as sa
from alembic import op


def upgrade() -> None:
    with op.batch_alter_table("followup") as batch:
        batch.add_column(sa.Column("scheduled_time", sa.Time(), nullable=True))
        batch.add_column(sa.Column("scheduled_place", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("followup") as batch:
        batch.drop_column("scheduled_place")
        batch.drop_column("scheduled_time")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0013_followup_undo", "0003_plans"
