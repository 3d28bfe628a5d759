"""Indexes for follows of a court or a city (case.court, case.city) and for a person's
history read newest first a page at a time (event.person_id, event.id), which takes the place
of the index on event.person_id alone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 13:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_case_court", "case", ["court"], unique=False)
    op.create_index("ix_case_city", "case", ["city"], unique=False)
    op.create_index("ix_event_person_history", "event", ["person_id", "id"], unique=False)
    op.drop_index("ix_event_person_id", table_name="event")


def downgrade() -> None:
    op.create_index("ix_event_person_id", "event", ["person_id"], unique=False)
    op.drop_index("ix_event_person_history", table_name="event")
    op.drop_index("ix_case_city", table_name="case")
    op.drop_index("ix_case_court", table_name="case")
