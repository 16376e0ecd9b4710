"""Updates handled by the webhook replicas, so a re-delivered update is handled once."""

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


def downgrade() -> None:
    op.drop_table("processed_update")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0014_processed_updates", "0001_core"
branch_labels = ("updates",)
