"""Updates handled by the webhook replicas, so a re-delivered update is handled once, and
the journal of what an update in flight has sent (replayed when a replica takes it over)."""

import sqlalchemy as sa
from alembic import op

from storage.columns import moment


def upgrade() -> None:
    op.create_table(
        "processed_update",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("holder", sa.String(64), nullable=False),
        moment("claimed_until", nullable=False),
        moment("done_at", nullable=True, index=True),
    )
    op.create_table(
        "update_effect",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_date", sa.BigInteger(), nullable=True),
        sa.Column("chat_type", sa.String(16), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("update_effect")
    op.drop_table("processed_update")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0014_processed_updates", "0001_core"
branch_labels = ("updates",)
