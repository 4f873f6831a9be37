"""reservations: the OCPP 1.6 reservations sent to chargers and what became of them

Revision ID: 0008
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reservations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("charger_id", sa.String(length=64), nullable=False),
        sa.Column("reservation_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("id_tag", sa.String(length=20), nullable=False),
        sa.Column("parent_id_tag", sa.String(length=20), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("cancel_status", sa.String(length=16), nullable=True),
        sa.Column("session_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["charger_id"], ["chargers.id"], name=op.f("fk_reservations_charger_id_chargers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
        sa.UniqueConstraint(
            "charger_id", "reservation_id", name=op.f("uq_reservations_charger_id_reservation_id")
        ),
    )
    op.create_index(
        op.f("ix_reservations_charger_id_state"), "reservations", ["charger_id", "state"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_reservations_charger_id_state"), table_name="reservations")
    op.drop_table("reservations")
