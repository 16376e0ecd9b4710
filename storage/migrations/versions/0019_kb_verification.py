"""Review reminders sent to article owners (once per due date) and questions handled in the
gap list (a hash, no text)."""

import sqlalchemy as sa
from alembic import op

from storage.columns import id_key, moment


def upgrade() -> None:
    op.create_table(
        "kb_review_notice",
        id_key(),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column(
            "staff_id", sa.Integer(), sa.ForeignKey("staff.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("state", sa.String(12), nullable=False),
        moment("created_at", nullable=False),
        moment("answered_at", nullable=True),
        sa.UniqueConstraint("article_id", "due_date", name="uq_kb_review_notice_once"),
    )
    op.create_table(
        "kb_gap_done",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=True),
        sa.Column(
            "by_staff_id",
            sa.Integer(),
            sa.ForeignKey("staff.id", ondelete="SET NULL"),
            nullable=True,
        ),
        moment("done_at", nullable=False),
    )
    op.create_index("ix_kb_gap_done_done_at", "kb_gap_done", ["done_at"])


def downgrade() -> None:
    op.drop_index("ix_kb_gap_done_done_at", table_name="kb_gap_done")
    op.drop_table("kb_gap_done")
    op.drop_table("kb_review_notice")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0019_kb_verification", "0018_kb_articles"
