"""Staff removal: when a person's access was taken away.

An invitation made before that moment no longer registers them again (removal means
removal: they come back only through a new invitation).
"""

from alembic import op

from storage.columns import moment


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(moment("removed_at", nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("removed_at")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0005_staff_removed", "0001_core"
branch_labels = ("staff_removed",)
