"""Invited-only pulses: personal one-time links (only their hash is kept), at most one set
per plan and one own link for the organiser per pulse.
"""

import sqlalchemy as sa
from alembic import op

from storage.columns import owned_by


def upgrade() -> None:
    with op.batch_alter_table("pulse") as batch:
        batch.add_column(
            sa.Column("invited_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("own_link_sent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "pulse_invite",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        owned_by("pulse_id", "pulse", nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_pulse_invite_pulse_id", "pulse_invite", ["pulse_id"])
    op.create_table(
        "pulse_sent_to_plan",
        owned_by("pulse_id", "pulse", primary_key=True),
        sa.Column("plan_id", sa.Integer(), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("pulse_sent_to_plan")
    op.drop_table("pulse_invite")
    with op.batch_alter_table("pulse") as batch:
        batch.drop_column("own_link_sent")
        batch.drop_column("invited_only")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0009_pulse_invites", "0004_pulse"
