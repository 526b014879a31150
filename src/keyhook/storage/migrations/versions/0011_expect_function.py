"""keyhook_expect(): a check inside one statement that fails the whole statement

A PostgreSQL write that runs as one statement (keyhook.storage.postgres_write) checks
what it assumed, such as the actions catalog's generation, in the same statement:
``keyhook_expect(ok, message)`` raises SQLSTATE KH001 when ``ok`` is not true, so
nothing of the statement is written. SQLite runs every statement at once and needs
no such function.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION keyhook_expect(ok boolean, message text) RETURNS integer "
        "LANGUAGE plpgsql VOLATILE AS $$ BEGIN "
        "IF ok IS NOT TRUE THEN RAISE EXCEPTION USING ERRCODE = 'KH001', MESSAGE = message; "
        "END IF; RETURN 1; END $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS keyhook_expect(boolean, text)")
