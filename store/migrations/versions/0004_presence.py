"""presence: instances and their heartbeat, and which instance holds each charger's socket

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
    )
    op.create_table(
        "charger_presence",
        sa.Column("charger_id", sa.String(length=64), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("charger_id", name=op.f("pk_charger_presence")),
    )
    op.create_index(op.f("ix_charger_presence_instance_id"), "charger_presence", ["instance_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_charger_presence_instance_id"), table_name="charger_presence")
    op.drop_table("charger_presence")
    op.drop_table("instances")
