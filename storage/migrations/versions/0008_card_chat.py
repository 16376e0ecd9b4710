"""The chat an answer card was sent in, so that only its asker or, in a group, the group's
members may rate it (a forged vote from elsewhere is refused).
"""

import sqlalchemy as sa
from alembic import op


def upgrade() -> None:
    with op.batch_alter_table("kbquestion") as batch:
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kbquestion") as batch:
        batch.drop_column("chat_id")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0008_card_chat", "0002_knowledge"
