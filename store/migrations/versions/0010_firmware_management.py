"""firmware management: firmware updates and diagnostics uploads asked of chargers, and every
status notification about them

Revision ID: 0010
Revises: 0016
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0016"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "firmware_requests",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("charger_id", sa.String(length=64), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("retrieve_date", UTC, nullable=False),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("retry_interval", sa.Integer(), nullable=True),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("answered_at", UTC, nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("status_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firmware_requests")),
    )
    op.create_index(
        op.f("ix_firmware_requests_charger_id_id"), "firmware_requests", ["charger_id", "id"]
    )
    op.create_table(
        "diagnostics_requests",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("charger_id", sa.String(length=64), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=True),
        sa.Column("start_time", UTC, nullable=True),
        sa.Column("stop_time", UTC, nullable=True),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("retry_interval", sa.Integer(), nullable=True),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("answered_at", UTC, nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("status_at", UTC, nullable=True),
        sa.Column("upload_name", sa.String(length=255), nullable=True),
        sa.Column("upload_size", sa.BigInteger(), nullable=True),
        sa.Column("upload_sha256", sa.String(length=64), nullable=True),
        sa.Column("upload_path", sa.Text(), nullable=True),
        sa.Column("uploaded_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnostics_requests")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_diagnostics_requests_token_digest")),
    )
    op.create_index(
        op.f("ix_diagnostics_requests_charger_id_id"), "diagnostics_requests", ["charger_id", "id"]
    )
    op.create_table(
        "firmware_status_history",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("charger_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firmware_status_history")),
    )
    op.create_index(
        op.f("ix_firmware_status_history_charger_id_kind_id"),
        "firmware_status_history",
        ["charger_id", "kind", "id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_firmware_status_history_charger_id_kind_id"), table_name="firmware_status_history"
    )
    op.drop_table("firmware_status_history")
    op.drop_index(op.f("ix_diagnostics_requests_charger_id_id"), table_name="diagnostics_requests")
    op.drop_table("diagnostics_requests")
    op.drop_index(op.f("ix_firmware_requests_charger_id_id"), table_name="firmware_requests")
    op.drop_table("firmware_requests")
