"""local authorization lists: per charger, the version it accepted and what it holds

Revision ID: 0007
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "charger_local_lists",
        sa.Column("charger_id", sa.String(length=64), nullable=False),
        sa.Column("supported", sa.Boolean(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("entries", sa.Text(), server_default="{}", nullable=False),
        sa.Column("full_next", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("dirty", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("expires_next", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=True),
        sa.Column("last_version", sa.Integer(), nullable=True),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["charger_id"],
            ["chargers.id"],
            name=op.f("fk_charger_local_lists_charger_id_chargers"),
        ),
        sa.PrimaryKeyConstraint("charger_id", name=op.f("pk_charger_local_lists")),
    )
    op.create_index(
        op.f("ix_charger_local_lists_dirty"), "charger_local_lists", ["dirty"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_charger_local_lists_dirty"), table_name="charger_local_lists")
    op.drop_table("charger_local_lists")
