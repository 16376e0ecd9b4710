"""/planer at national scale: a staff member's plans are found through an index on
``planparticipant.staff_id`` (the primary key starts with ``plan_id``, so finding the plans one
person takes part in read the whole table: 1.7 million rows for 580,000 plans)."""

from alembic import op


def upgrade() -> None:
    op.create_index("ix_planparticipant_staff_id", "planparticipant", ["staff_id"])


def downgrade() -> None:
    op.drop_index("ix_planparticipant_staff_id", table_name="planparticipant")


# Alembic: this revision and the one it follows.
revision, down_revision = "0017_scale_indexes", "0013_followup_undo"
