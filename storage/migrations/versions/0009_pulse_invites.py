"""Invited-only pulses: personal one-time links (only their hash is kept), at most one set
per plan and one own link for the organiser per pulse.

Revision ID: 0009_pulse_invites
Revises: 0004_pulse
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_pulse_invites"
down_revision: str | None = "0004_pulse"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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
        sa.Column(
            "pulse_id", sa.Integer(), sa.ForeignKey("pulse.id", ondelete="CASCADE"), nullable=False
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_pulse_invite_pulse_id", "pulse_invite", ["pulse_id"])
    op.create_table(
        "pulse_sent_to_plan",
        sa.Column(
            "pulse_id",
            sa.Integer(),
            sa.ForeignKey("pulse.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("plan_id", sa.Integer(), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("pulse_sent_to_plan")
    op.drop_table("pulse_invite")
    with op.batch_alter_table("pulse") as batch:
        batch.drop_column("own_link_sent")
        batch.drop_column("invited_only")
