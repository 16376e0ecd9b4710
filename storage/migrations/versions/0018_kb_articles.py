"""Knowledge base in the database: articles, their versions, example questions, editors and
the revision counter every process checks (storage/knowledge/articles.py)."""

import sqlalchemy as sa
from alembic import op

from storage.columns import id_key, moment, staff_ref


def upgrade() -> None:
    op.create_table(
        "kb_article",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("lang", sa.String(2), primary_key=True),
        sa.Column("version_no", sa.Integer(), nullable=False),
        staff_ref("owner_staff_id", nullable=True),
        sa.Column("review_days", sa.Integer(), nullable=True),
        sa.Column("reviewed", sa.Date(), nullable=False),
        staff_ref("reviewed_by", nullable=True),
        moment("imported_at", nullable=True),
        moment("changed_at", nullable=True),
    )
    op.create_table(
        "kb_article_version",
        id_key(),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("no", sa.Integer(), nullable=False),
        sa.Column("base_no", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        staff_ref("created_by", nullable=True),
        moment("created_at", nullable=False),
        staff_ref("decided_by", nullable=True),
        moment("decided_at", nullable=True),
        sa.Column("note", sa.String(200), nullable=True),
        sa.UniqueConstraint("article_id", "lang", "no", name="uq_kb_article_version_no"),
    )
    op.create_index("ix_kb_article_version_article", "kb_article_version", ["article_id", "lang"])
    op.create_index("ix_kb_article_version_state", "kb_article_version", ["state"])
    op.create_table(
        "kb_example_question",
        id_key(),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        staff_ref("added_by", nullable=True),
        moment("added_at", nullable=False),
        sa.Column(
            "source_question_id",
            sa.Integer(),
            sa.ForeignKey("kbquestion.id", ondelete="SET NULL"),
            nullable=True,
        ),
        staff_ref("removed_by", nullable=True),
        moment("removed_at", nullable=True),
    )
    op.create_index("ix_kb_example_question_article", "kb_example_question", ["article_id", "lang"])
    revision_table = op.create_table(
        "kb_revision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        moment("changed_at", nullable=True),
    )
    op.bulk_insert(revision_table, [{"id": 1, "revision": 0, "changed_at": None}])
    op.create_table(
        "kb_editor",
        staff_ref("staff_id", primary_key=True),
        staff_ref("granted_by", nullable=True),
        moment("granted_at", nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kb_editor")
    op.drop_table("kb_revision")
    op.drop_index("ix_kb_example_question_article", table_name="kb_example_question")
    op.drop_table("kb_example_question")
    op.drop_index("ix_kb_article_version_state", table_name="kb_article_version")
    op.drop_index("ix_kb_article_version_article", table_name="kb_article_version")
    op.drop_table("kb_article_version")
    op.drop_table("kb_article")


# Alembic: this revision and the one it follows (the knowledge branch).
revision, down_revision = "0018_kb_articles", "0002_knowledge"
