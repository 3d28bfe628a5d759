"""Editor workflow: provenance of each change (verification level, corrections), complete
records (relations between people, a case's lawyer and the case it appeals), roles given to a
@username, editors' pending commands, and an audit log the database keeps append-only.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY = "audit_entry is append-only"


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verification", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("correction", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lawyer", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("appeal_of", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key("fk_case_appeal_of", "case", ["appeal_of"], ["id"])
        batch_op.create_index("ix_case_appeal_of", ["appeal_of"], unique=False)
    op.create_table(
        "person_relation",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("other_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["other_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "other_id", "kind", name="uq_relation"),
    )
    op.create_index("ix_person_relation_person_id", "person_relation", ["person_id"])
    op.create_index("ix_person_relation_other_id", "person_relation", ["other_id"])
    op.create_table(
        "admin_invite",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "editor_draft",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_editor_draft_user_id", "editor_draft", ["user_id"])
    # /audit <who> pages a person's entries newest first: (person_id, id) serves it.
    op.create_index(
        "ix_audit_entry_person_history", "audit_entry", ["person_id", "id"], unique=False
    )
    op.drop_index("ix_audit_entry_person_id", table_name="audit_entry")
    _make_audit_append_only()


def _make_audit_append_only() -> None:
    """The database itself refuses to change or remove an audit entry."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entry_no_{action.lower()} BEFORE {action} ON audit_entry "
                "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
            )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_entry_no_{action.lower()} BEFORE {action} ON audit_entry "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )


def downgrade() -> None:
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_entry_no_{action} ON audit_entry"
                   if op.get_bind().dialect.name == "postgresql"
                   else f"DROP TRIGGER IF EXISTS audit_entry_no_{action}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    op.create_index("ix_audit_entry_person_id", "audit_entry", ["person_id"], unique=False)
    op.drop_index("ix_audit_entry_person_history", table_name="audit_entry")
    op.drop_index("ix_editor_draft_user_id", table_name="editor_draft")
    op.drop_table("editor_draft")
    op.drop_table("admin_invite")
    op.drop_index("ix_person_relation_other_id", table_name="person_relation")
    op.drop_index("ix_person_relation_person_id", table_name="person_relation")
    op.drop_table("person_relation")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_appeal_of")
        batch_op.drop_constraint("fk_case_appeal_of", type_="foreignkey")
        batch_op.drop_column("appeal_of")
        batch_op.drop_column("lawyer")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("correction")
        batch_op.drop_column("verification")
