"""cards: when a site charges them and how often a declined charge is retried; refunds of
credit notes (by Stripe or by bank); every Stripe webhook event applied, by its id

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("billing_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("card_charge_at", sa.String(length=8), server_default="issue", nullable=False)
        )
        batch_op.add_column(
            sa.Column("card_retries", sa.Integer(), server_default=sa.text("3"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("card_retry_days", sa.Integer(), server_default=sa.text("3"), nullable=False)
        )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invoice_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("credit_note_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("method", sa.String(length=16), server_default="bank", nullable=False)
        )
        batch_op.add_column(sa.Column("stripe_refund_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("failure", sa.String(length=300), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_refunds_invoice_id_invoices"), "invoices", ["invoice_id"], ["id"]
        )
        batch_op.create_foreign_key(
            op.f("fk_refunds_credit_note_id_credit_notes"),
            "credit_notes",
            ["credit_note_id"],
            ["id"],
        )
        batch_op.create_unique_constraint(op.f("uq_refunds_credit_note_id"), ["credit_note_id"])
        batch_op.create_unique_constraint(op.f("uq_refunds_stripe_refund_id"), ["stripe_refund_id"])
        batch_op.create_unique_constraint(op.f("uq_refunds_idempotency_key"), ["idempotency_key"])
    op.create_table(
        "stripe_events",
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("result", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_stripe_events")),
    )


def downgrade() -> None:
    op.drop_table("stripe_events")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_refunds_idempotency_key"), type_="unique")
        batch_op.drop_constraint(op.f("uq_refunds_stripe_refund_id"), type_="unique")
        batch_op.drop_constraint(op.f("uq_refunds_credit_note_id"), type_="unique")
        batch_op.drop_constraint(op.f("fk_refunds_credit_note_id_credit_notes"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_refunds_invoice_id_invoices"), type_="foreignkey")
        for column in (
            "failure",
            "idempotency_key",
            "stripe_refund_id",
            "method",
            "credit_note_id",
            "invoice_id",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("billing_settings", schema=None) as batch_op:
        batch_op.drop_column("card_retry_days")
        batch_op.drop_column("card_retries")
        batch_op.drop_column("card_charge_at")
