"""billing settings and plans: the legal reminder-fee cap and fee count per site; bundles,
one-off charges and creation times on subscriber plans

NULL cap or count means the default for the site's currency (billing.dunning_rules).

Revision ID: 0014
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("billing_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_fee_cap", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("fee_reminders", sa.Integer(), nullable=True))
    with op.batch_alter_table("subscriber_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bundle", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("one_off", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriber_plans", schema=None) as batch_op:
        batch_op.drop_column("created_at")
        batch_op.drop_column("one_off")
        batch_op.drop_column("bundle")
    with op.batch_alter_table("billing_settings", schema=None) as batch_op:
        batch_op.drop_column("fee_reminders")
        batch_op.drop_column("reminder_fee_cap")
