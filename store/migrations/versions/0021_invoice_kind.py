"""invoice kind: 'automatic' (the monthly run's, one per subscriber and period) or 'manual'
(made by hand, any number); a manual line's quantity and unit price

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05

On SQLite dropping the old UNIQUE(subscriber_id, period) rebuilds the invoices table, which
store.migrate runs with foreign keys off (and checked after), so populated databases upgrade.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

AUTOMATIC = sa.text("kind = 'automatic'")


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="automatic", nullable=False)
        )
        batch_op.drop_constraint("uq_invoices_subscriber_id_period", type_="unique")
    op.create_index(
        "uq_invoices_automatic_subscriber_period",
        "invoices",
        ["subscriber_id", "period"],
        unique=True,
        sqlite_where=AUTOMATIC,
        postgresql_where=AUTOMATIC,
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quantity_milli", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("unit_price", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_column("unit_price")
        batch_op.drop_column("quantity_milli")
    op.drop_index("uq_invoices_automatic_subscriber_period", table_name="invoices")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_invoices_subscriber_id_period", ["subscriber_id", "period"]
        )
        batch_op.drop_column("kind")
