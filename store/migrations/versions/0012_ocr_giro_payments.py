"""payments by bank giro: imported Nets OCR Giro files and their transactions, payments no
invoice took (unmatched), refunds owed to payers

Revision ID: 0012
Revises: 0014
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ocr_files",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data_transmitter", sa.String(length=8), nullable=False),
        sa.Column("transmission_number", sa.String(length=7), nullable=False),
        sa.Column("data_recipient", sa.String(length=8), nullable=False),
        sa.Column("nets_date", sa.String(length=10), nullable=True),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=200), server_default="", nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("summary", sa.Text(), server_default="{}", nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_ocr_files_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocr_files")),
        sa.UniqueConstraint(
            "data_transmitter",
            "transmission_number",
            name=op.f("uq_ocr_files_data_transmitter_transmission_number"),
        ),
        sa.UniqueConstraint("sha256", name=op.f("uq_ocr_files_sha256")),
    )
    op.create_table(
        "ocr_transactions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("data_transmitter", sa.String(length=8), nullable=False),
        sa.Column("transmission_number", sa.String(length=7), nullable=False),
        sa.Column("assignment_number", sa.String(length=7), nullable=False),
        sa.Column("transaction_number", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.String(length=9), nullable=True),
        sa.Column("account", sa.String(length=11), nullable=False),
        sa.Column("transaction_type", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=25), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.String(length=10), nullable=False),
        sa.Column("debit_account", sa.String(length=11), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["ocr_files.id"], name=op.f("fk_ocr_transactions_file_id_ocr_files")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_ocr_transactions_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocr_transactions")),
        sa.UniqueConstraint(
            "data_transmitter",
            "transmission_number",
            "assignment_number",
            "transaction_number",
            name="uq_ocr_transactions_identity",
        ),
    )
    op.create_index(
        op.f("ix_ocr_transactions_file_id"), "ocr_transactions", ["file_id"], unique=False
    )
    op.create_table(
        "unmatched_payments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ocr_transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("kid", sa.String(length=25), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_on", sa.String(length=10), nullable=False),
        sa.Column("payer_account", sa.String(length=11), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("assigned_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("resolved_by", sa.String(length=120), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_invoice_id"],
            ["invoices.id"],
            name=op.f("fk_unmatched_payments_assigned_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_unmatched_payments_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["ocr_transaction_id"],
            ["ocr_transactions.id"],
            name=op.f("fk_unmatched_payments_ocr_transaction_id_ocr_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_unmatched_payments_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_unmatched_payments_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmatched_payments")),
        sa.UniqueConstraint(
            "ocr_transaction_id", name=op.f("uq_unmatched_payments_ocr_transaction_id")
        ),
    )
    op.create_index(
        op.f("ix_unmatched_payments_state"), "unmatched_payments", ["state"], unique=False
    )
    op.create_table(
        "refunds",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("unmatched_id", sa.BigInteger(), nullable=True),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payer_account", sa.String(length=11), nullable=True),
        sa.Column("kid", sa.String(length=25), nullable=True),
        sa.Column("reason", sa.String(length=200), server_default="", nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_refunds_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["unmatched_id"],
            ["unmatched_payments.id"],
            name=op.f("fk_refunds_unmatched_id_unmatched_payments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("unmatched_id", name=op.f("uq_refunds_unmatched_id")),
    )
    op.create_index(op.f("ix_refunds_state"), "refunds", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_refunds_state"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_index(op.f("ix_unmatched_payments_state"), table_name="unmatched_payments")
    op.drop_table("unmatched_payments")
    op.drop_index(op.f("ix_ocr_transactions_file_id"), table_name="ocr_transactions")
    op.drop_table("ocr_transactions")
    op.drop_table("ocr_files")
