"""Subscriber experience: follows of a court or a city with chosen kinds and mute, name
watches, hearing sequence numbers for calendars, and the shared secrets.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HAS_PLACE = sa.text("place IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("place", sa.String(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("muted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_subscription_place", ["scope", "place"], unique=False)
    op.create_index(
        "uq_subscription_place",
        "subscription",
        ["chat_id", "scope", "place"],
        unique=True,
        sqlite_where=HAS_PLACE,
        postgresql_where=HAS_PLACE,
    )
    with op.batch_alter_table("hearing", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sequence", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "name_watch",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["chat_id"], ["chat.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "key", name="uq_name_watch"),
    )
    with op.batch_alter_table("name_watch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_name_watch_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_name_watch_key"), ["key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_name_watch_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "secret",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("secret")
    op.drop_table("name_watch")
    with op.batch_alter_table("hearing", schema=None) as batch_op:
        batch_op.drop_column("sequence")
    op.drop_index("uq_subscription_place", table_name="subscription")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_place")
        batch_op.drop_column("muted")
        batch_op.drop_column("place")
