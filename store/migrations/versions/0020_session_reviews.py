"""session reviews: a flagged session approved for billing or excluded from it, with the
reason, who and when

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_reviews",
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("reviewed_by", sa.String(length=120), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_session_reviews_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_reviews")),
    )


def downgrade() -> None:
    op.drop_table("session_reviews")
