"""Hardening: split messages resume where they stopped, chats remember when they left,
and a chat follows "everyone" at most once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALL_SCOPE = sa.text("scope = 'all'")


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("parts_sent", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True)
        )
    # The composite unique constraint lets any number of (chat, 'all', NULL) rows through:
    # keep the oldest of each chat, then a partial unique index that holds with NULLs.
    op.execute(
        "DELETE FROM subscription WHERE scope = 'all' AND id NOT IN "
        "(SELECT MIN(id) FROM subscription WHERE scope = 'all' GROUP BY chat_id)"
    )
    op.create_index(
        "uq_subscription_all",
        "subscription",
        ["chat_id"],
        unique=True,
        sqlite_where=ALL_SCOPE,
        postgresql_where=ALL_SCOPE,
    )


def downgrade() -> None:
    op.drop_index("uq_subscription_all", table_name="subscription")
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.drop_column("deactivated_at")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("parts_sent")
