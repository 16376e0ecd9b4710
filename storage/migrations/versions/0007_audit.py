"""The audit log (who created, changed, viewed or closed a plan; every admin action)."""

import sqlalchemy as sa
from alembic import op

from storage.columns import id_key, moment


def upgrade() -> None:
    op.create_table(
        "audit_event",
        id_key(),
        moment("at", nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    op.create_index("ix_audit_event_actor_id", "audit_event", ["actor_id"])
    op.create_index("ix_audit_event_plan_id", "audit_event", ["plan_id"])


def downgrade() -> None:
    op.drop_table("audit_event")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0007_audit", "0001_core"
branch_labels = ("audit",)
