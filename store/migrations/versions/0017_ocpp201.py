"""OCPP 2.0.1: the version each charger last spoke, the charger's own transaction id on a
session (a string in 2.0.1), idTokens of up to 36 characters, and the reports a 2.0.1
charger sends (NotifyReport, NotifyEvent, security events, log status)

Revision ID: 0017_ocpp201
Revises: 0020
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_ocpp201"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chargers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ocpp_version", sa.String(length=12), nullable=True))
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transaction_ref", sa.String(length=36), nullable=True))
        batch_op.alter_column("id_tag", type_=sa.String(length=36), existing_nullable=False)
        batch_op.alter_column("stop_id_tag", type_=sa.String(length=36), existing_nullable=True)
        batch_op.create_unique_constraint(
            batch_op.f("uq_sessions_charger_id_transaction_ref"), ["charger_id", "transaction_ref"]
        )
    op.create_table(
        "charger_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("charger_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("seq_no", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charger_reports")),
    )
    op.create_index(
        op.f("ix_charger_reports_charger_id_kind_request_id"),
        "charger_reports",
        ["charger_id", "kind", "request_id"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_charger_reports_charger_id_kind_request_id"), "charger_reports")
    op.drop_table("charger_reports")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_sessions_charger_id_transaction_ref"), type_="unique"
        )
        batch_op.alter_column("stop_id_tag", type_=sa.String(length=20), existing_nullable=True)
        batch_op.alter_column("id_tag", type_=sa.String(length=20), existing_nullable=False)
        batch_op.drop_column("transaction_ref")
    with op.batch_alter_table("chargers", schema=None) as batch_op:
        batch_op.drop_column("ocpp_version")
