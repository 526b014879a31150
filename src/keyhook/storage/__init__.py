"""Storage: the SQL engine (SQLite or PostgreSQL), the table definitions and
their Alembic migrations. Imports nothing of Keyhook above ``config``/``errors``."""
