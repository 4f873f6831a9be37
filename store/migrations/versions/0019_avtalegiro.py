"""AvtaleGiro: a site's agreement with Nets, subscribers' mandates, the claim files written
and the invoices they claimed, the mandate files read

Revision ID: 0019
Revises: 0015
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0015"
branch_labels = None
depends_on = None


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def _utc(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _site_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["site_id"], ["sites.id"], name=op.f(f"fk_{table}_site_id_sites")
    )


def upgrade() -> None:
    op.create_table(
        "avtalegiro_agreements",
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("customer_unit", sa.String(length=8), nullable=False),
        sa.Column("agreement_id", sa.String(length=9), nullable=True),
        sa.Column("account", sa.String(length=11), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        _utc("updated_at"),
        _site_fk("avtalegiro_agreements"),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_avtalegiro_agreements")),
    )
    op.create_table(
        "avtalegiro_mandates",
        _id(),
        sa.Column("subscriber_id", sa.BigInteger(), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("kid", sa.String(length=25), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        _utc("updated_at"),
        _site_fk("avtalegiro_mandates"),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_avtalegiro_mandates_subscriber_id_subscribers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_avtalegiro_mandates")),
        sa.UniqueConstraint("subscriber_id", name=op.f("uq_avtalegiro_mandates_subscriber_id")),
    )
    op.create_table(
        "avtalegiro_claim_files",
        _id(),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("transmission_number", sa.String(length=7), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        _utc("created_at"),
        _site_fk("avtalegiro_claim_files"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_avtalegiro_claim_files")),
    )
    op.create_table(
        "avtalegiro_claims",
        _id(),
        sa.Column("invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("kid", sa.String(length=25), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("due_on", sa.String(length=10), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        _utc("created_at"),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["avtalegiro_claim_files.id"],
            name=op.f("fk_avtalegiro_claims_file_id_avtalegiro_claim_files"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_avtalegiro_claims_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_avtalegiro_claims")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_avtalegiro_claims_invoice_id")),
    )
    op.create_table(
        "avtalegiro_mandate_files",
        _id(),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("transmission_number", sa.String(length=7), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.Text(), server_default="{}", nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        _utc("imported_at"),
        _site_fk("avtalegiro_mandate_files"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_avtalegiro_mandate_files")),
        sa.UniqueConstraint("sha256", name=op.f("uq_avtalegiro_mandate_files_sha256")),
    )


def downgrade() -> None:
    for table in (
        "avtalegiro_mandate_files",
        "avtalegiro_claims",
        "avtalegiro_claim_files",
        "avtalegiro_mandates",
        "avtalegiro_agreements",
    ):
        op.drop_table(table)
