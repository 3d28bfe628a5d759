"""event.merged_into: changes made inside one grace window are pushed as one message

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 08:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_event_merged_into"), ["merged_into"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_merged_into"))
        batch_op.drop_column("merged_into")
