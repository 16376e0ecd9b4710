"""Plans: plans, participants, follow-up history, reminders, staff preferences."""

import sqlalchemy as sa
from alembic import op

from storage.columns import id_key, moment, owned_by, staff_ref


def upgrade() -> None:
    op.create_table(
        "plan",
        id_key(),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("reference_key", sa.String(32), nullable=False, unique=True),
        sa.Column("plan_type", sa.String(16), nullable=False),
        sa.Column("municipality", sa.String(16), nullable=False),
        staff_ref("responsible_id", nullable=False),
        sa.Column("next_follow_up", sa.Date(), nullable=True),
        sa.Column("follow_up_time", sa.Time(), nullable=True),
        sa.Column("place", sa.String(100), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        staff_ref("created_by", nullable=True),
        moment("created_at", nullable=False),
        moment("updated_at", nullable=False),
    )
    op.create_index("ix_plan_municipality", "plan", ["municipality"])
    op.create_index("ix_plan_responsible_id", "plan", ["responsible_id"])
    op.create_index("ix_plan_next_follow_up", "plan", ["next_follow_up"])
    op.create_index("ix_plan_status", "plan", ["status"])
    op.create_table(
        "planparticipant",
        owned_by("plan_id", "plan", primary_key=True),
        staff_ref("staff_id", primary_key=True),
    )
    op.create_table(
        "followup",
        id_key(),
        owned_by("plan_id", "plan", nullable=False),
        sa.Column("scheduled_for", sa.Date(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        staff_ref("recorded_by", nullable=True),
        moment("recorded_at", nullable=False),
    )
    op.create_index("ix_followup_plan_id", "followup", ["plan_id"])
    op.create_table(
        "reminder",
        id_key(),
        owned_by("plan_id", "plan", nullable=False),
        staff_ref("staff_id", nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("follow_up_date", sa.Date(), nullable=False),
        moment("due_at", nullable=False),
        sa.Column("state", sa.String(14), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        moment("claimed_at", nullable=True),
        moment("sent_at", nullable=True),
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
        staff_ref("staff_id", primary_key=True),
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


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0003_plans", "0001_core"
branch_labels = ("plans",)
