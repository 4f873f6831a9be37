"""smart charging: the charging profiles sent to chargers, and a site's power limit

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("power_limit_w", sa.BigInteger(), nullable=True))
    op.create_table(
        "charging_profiles",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("charger_id", sa.String(length=64), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("stack_level", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["charger_id"],
            ["chargers.id"],
            name=op.f("fk_charging_profiles_charger_id_chargers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charging_profiles")),
    )
    op.create_index(
        op.f("ix_charging_profiles_charger_id_cleared_at"),
        "charging_profiles",
        ["charger_id", "cleared_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_charging_profiles_charger_id_cleared_at"), table_name="charging_profiles"
    )
    op.drop_table("charging_profiles")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("power_limit_w")
