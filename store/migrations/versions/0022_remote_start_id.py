"""sessions.remote_start_id: the id of the OCPP 2.0.1 RequestStartTransaction a transaction
answers (TransactionEvent's transactionInfo.remoteStartId), so a remote start finds its session

Revision ID: 0022_remote_start_id
Revises: 0018_security_profiles
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_remote_start_id"
down_revision = "0018_security_profiles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("remote_start_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("remote_start_id")
