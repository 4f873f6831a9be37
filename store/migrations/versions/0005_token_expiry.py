"""token expiry and a site's authorization policy (who may charge off monthly payment)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("sites") as batch:
        batch.add_column(
            sa.Column("auth_policy", sa.String(length=16), nullable=False, server_default="open")
        )


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("auth_policy")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("expires_at")
