"""The migrations build exactly the schema the code declares."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from keyhook.storage import schema
from keyhook.storage.database import Database
from keyhook.storage.migrate import upgrade


async def test_migrations_match_the_declared_schema(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'keyhook.db'}")
    await upgrade(db)

    def differences(conn: Connection) -> list[Any]:
        with warnings.catch_warnings():
            # SQLite's reflection cannot see expression indexes; they are checked below.
            warnings.filterwarnings("ignore", message=".*expression-based index")
            return list(compare_metadata(MigrationContext.configure(conn), schema.metadata))

    # The schema is inspected through SQLAlchemy, on an engine of the test's own.
    engine = create_async_engine(db.url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(differences)
    finally:
        await engine.dispose()
        await db.close()
    assert found == [], "a schema change without its migration: " + repr(found)


async def test_migrations_build_the_declared_expression_indexes(tmp_path: Path) -> None:
    path = tmp_path / "keyhook.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    await db.close()
    declared = {
        index.name
        for table in schema.metadata.tables.values()
        for index in table.indexes
        if any(not hasattr(expression, "table") for expression in index.expressions)
    }
    assert declared, "the schema declares an expression index (lower(user_name))"
    with sqlite3.connect(path) as raw:
        built = {
            name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
    assert declared <= built, f"declared but not built: {declared - built}"


async def test_the_row_counts_migration_counts_the_users_already_there(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'keyhook.db'}")
    try:
        await upgrade(db, "0008")
        async with db.write() as conn:
            for n, instance in enumerate(["i1", "i1", "i1", "i2"]):
                await conn.execute(
                    "INSERT INTO users (id, instance_id, org_id, user_name, kind, state, "
                    "given_name, family_name, display_name, nick_name, preferred_language, "
                    "email, email_verified, phone, phone_verified, failed_attempts, sequence, "
                    "created_at, changed_at) VALUES (:id, :instance, 'o', :name, 'human', "
                    "'USER_STATE_ACTIVE', '', '', '', '', '', '', 0, '', 0, 0, 1, "
                    "'2026-12-03 00:00:00.000000', '2026-12-03 00:00:00.000000')",
                    {"id": f"u{n}", "instance": instance, "name": f"user-{n}"},
                )
        await upgrade(db)
        async with db.read() as conn:
            totals = {
                (r.instance_id, r.table_name): r.row_count
                for r in await conn.execute("SELECT * FROM row_counts")
            }
        assert totals == {("i1", "users"): 3, ("i2", "users"): 1}
    finally:
        await db.close()


async def test_the_web_keys_migration_gives_the_keys_before_it_their_state(
    tmp_path: Path,
) -> None:
    """0019: the ES256 keys from before web keys become active or inactive P-256 keys."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'keyhook.db'}")
    try:
        await upgrade(db, "0018")
        async with db.write() as conn:
            for kid, active in (("new", 1), ("old", 0)):
                await conn.execute(
                    "INSERT INTO oidc_signing_keys (id, instance_id, algorithm, "
                    "private_key_sealed, public_jwk, active, retired_until, created_at) "
                    "VALUES (:id, 'i1', 'ES256', 'v1:x', '{}', :active, NULL, "
                    "'2026-12-03 00:00:00.000000')",
                    {"id": kid, "active": active},
                )
        await upgrade(db)
        async with db.read() as conn:
            rows = {
                r.id: r
                for r in await conn.execute(
                    "SELECT id, state, key_config, changed_at FROM oidc_signing_keys"
                )
            }
            app_columns = [
                r.name
                for r in await conn.execute("SELECT name FROM pragma_table_info('applications')")
            ]
        assert rows["new"].state == "active" and rows["old"].state == "inactive"
        assert rows["new"].key_config == '{"ecdsa":{"curve":"ECDSA_CURVE_P256"}}'
        assert rows["old"].changed_at is not None
        assert "id_token_alg" in app_columns
    finally:
        await db.close()
