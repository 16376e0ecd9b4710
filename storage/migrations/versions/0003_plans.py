"""Plans: plans, participants, follow-up history, reminders, staff preferences.

Revision ID: 0003_plans
Revises: 0001_core
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0003_plans"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("plans",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("reference_key", sa.String(32), nullable=False, unique=True),
        sa.Column("plan_type", sa.String(16), nullable=False),
        sa.Column("municipality", sa.String(16), nullable=False),
        sa.Column("responsible_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("next_follow_up", sa.Date(), nullable=True),
        sa.Column("follow_up_time", sa.Time(), nullable=True),
        sa.Column("place", sa.String(100), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_plan_municipality", "plan", ["municipality"])
    op.create_index("ix_plan_responsible_id", "plan", ["responsible_id"])
    op.create_index("ix_plan_next_follow_up", "plan", ["next_follow_up"])
    op.create_index("ix_plan_status", "plan", ["status"])
    op.create_table(
        "planparticipant",
        sa.Column(
            "plan_id", sa.Integer(), sa.ForeignKey("plan.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), primary_key=True),
    )
    op.create_table(
        "followup",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "plan_id", sa.Integer(), sa.ForeignKey("plan.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("scheduled_for", sa.Date(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_followup_plan_id", "followup", ["plan_id"])
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "plan_id", sa.Integer(), sa.ForeignKey("plan.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("follow_up_date", sa.Date(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(14), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(64), nullable=True),
        sa.UniqueConstraint(
            "plan_id", "staff_id", "kind", "follow_up_date", "seq", name="uq_reminder_once"
        ),
    )
    op.create_index("ix_reminder_plan_id", "reminder", ["plan_id"])
    op.create_index("ix_reminder_due", "reminder", ["state", "due_at"])
    op.create_table(
        "staffpreference",
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), primary_key=True),
        sa.Column("daily_digest", sa.Boolean(), nullable=False),
        sa.Column("last_digest_on", sa.Date(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("staffpreference")
    op.drop_index("ix_reminder_due", table_name="reminder")
    op.drop_index("ix_reminder_plan_id", table_name="reminder")
    op.drop_table("reminder")
    op.drop_index("ix_followup_plan_id", table_name="followup")
    op.drop_table("followup")
    op.drop_table("planparticipant")
    for name in ("status", "next_follow_up", "responsible_id", "municipality"):
        op.drop_index(f"ix_plan_{name}", table_name="plan")
    op.drop_table("plan")
