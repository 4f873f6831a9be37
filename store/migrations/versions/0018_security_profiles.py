"""sites.security_profile: the OCPP security profile its chargers must connect with
(1 Basic Auth, 2 TLS + Basic Auth, 3 TLS + client certificate)

Revision ID: 0018_security_profiles
Revises: 0017_ocpp201
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_security_profiles"
down_revision = "0017_ocpp201"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(
            sa.Column("security_profile", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("security_profile")
