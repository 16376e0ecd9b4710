"""Which command menu each chat was last given, so start-up sets only the ones that changed."""

import sqlalchemy as sa
from alembic import op

from storage.columns import moment


def upgrade() -> None:
    op.create_table(
        "command_menu",
        sa.Column("chat_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("digest", sa.String(32), nullable=False),
        moment("updated_at", nullable=False),
    )


def downgrade() -> None:
    op.drop_table("command_menu")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0012_command_menu", "0001_core"
branch_labels = ("command_menu",)
