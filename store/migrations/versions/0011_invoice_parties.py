"""invoice parties: the seller of each site, the buyer details of each subscriber, the
parties as they were at issue on each invoice, and the unit prices of each session line

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sellers",
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=2), server_default="NO", nullable=False),
        sa.Column("orgnr", sa.String(length=32), nullable=True),
        sa.Column("vat_number", sa.String(length=40), nullable=True),
        sa.Column(
            "foretaksregisteret", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("f_skatt", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("bank_account", sa.String(length=11), nullable=True),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("invoice_email", sa.String(length=254), nullable=True),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_sellers_site_id_sites")),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_sellers")),
    )
    op.create_table(
        "buyers",
        sa.Column("subscriber_id", sa.BigInteger(), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=2), server_default="NO", nullable=False),
        sa.Column("orgnr", sa.String(length=32), nullable=True),
        sa.Column("vat_number", sa.String(length=40), nullable=True),
        sa.Column("buyer_reference", sa.String(length=100), nullable=True),
        sa.Column("document_format", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id"], ["subscribers.id"], name=op.f("fk_buyers_subscriber_id_subscribers")
        ),
        sa.PrimaryKeyConstraint("subscriber_id", name=op.f("pk_buyers")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seller", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("buyer", sa.Text(), nullable=True))
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_prices", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_column("unit_prices")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("buyer")
        batch_op.drop_column("seller")
    op.drop_table("buyers")
    op.drop_table("sellers")
