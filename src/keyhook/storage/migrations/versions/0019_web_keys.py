"""web keys: a signing key's state and type (WebKeyService); an application's ID token
signing algorithm

Revision ID: 0019
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    with op.batch_alter_table("oidc_signing_keys") as batch:
        batch.add_column(sa.Column("state", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("key_config", sa.Text(), nullable=True))
        batch.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
    # The keys before web keys were all ES256 (P-256) keys, active or retired.
    op.execute(
        "UPDATE oidc_signing_keys SET state = CASE WHEN active THEN 'active' ELSE 'inactive' "
        'END, key_config = \'{"ecdsa":{"curve":"ECDSA_CURVE_P256"}}\', changed_at = created_at'
    )
    with op.batch_alter_table("oidc_signing_keys") as batch:
        batch.alter_column("state", existing_type=sa.String(length=20), nullable=False)
        batch.alter_column("key_config", existing_type=sa.Text(), nullable=False)
        batch.alter_column("changed_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("id_token_alg", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("id_token_alg")
    with op.batch_alter_table("oidc_signing_keys") as batch:
        batch.drop_column("changed_at")
        batch.drop_column("key_config")
        batch.drop_column("state")
