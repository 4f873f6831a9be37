"""invoice KID: the per-site KID mode and each issued invoice's KID

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("billing_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kid_mode", sa.String(length=8), server_default="mod10", nullable=False)
        )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kid", sa.String(length=25), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_invoices_site_id_kid"), ["site_id", "kid"])


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_invoices_site_id_kid"), type_="unique")
        batch_op.drop_column("kid")
    with op.batch_alter_table("billing_settings", schema=None) as batch_op:
        batch_op.drop_column("kid_mode")
