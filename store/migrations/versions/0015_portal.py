"""web portal: portal users, their sessions, subscribers' one-time sign-in links

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def _utc(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "portal_users",
        _id(),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), server_default="en", nullable=False),
        _utc("created_at"),
        _utc("disabled_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_portal_users_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_users")),
        sa.UniqueConstraint("email", name=op.f("uq_portal_users_email")),
    )
    op.create_table(
        "portal_sessions",
        _id(),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("subscriber_id", sa.BigInteger(), nullable=True),
        _utc("created_at"),
        _utc("expires_at"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["portal_users.id"], name=op.f("fk_portal_sessions_user_id_portal_users")
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_portal_sessions_subscriber_id_subscribers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_sessions_token_hash")),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_sessions_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "portal_sign_in_links",
        _id(),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("subscriber_id", sa.BigInteger(), nullable=False),
        _utc("created_at"),
        _utc("expires_at"),
        _utc("used_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_portal_sign_in_links_subscriber_id_subscribers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sign_in_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_sign_in_links_token_hash")),
    )
    with op.batch_alter_table("portal_sign_in_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_sign_in_links_subscriber_id"), ["subscriber_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("portal_sign_in_links")
    op.drop_table("portal_sessions")
    op.drop_table("portal_users")
