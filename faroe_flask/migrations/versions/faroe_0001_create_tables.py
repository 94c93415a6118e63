"""Create Faroe's tables: the storage table, and the users table unless the app has its own.

Revision ID: faroe_0001
Revises:
Create Date: 2026-01-01

The table names come from the migration settings (faroe_flask.sql.migrate.migration_options);
the users table is left out when ``faroe_users_table`` is empty or ``none``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from faroe_flask.sql.migrate import check_tables_are_new, migration_options

revision: str = "faroe_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("faroe",)
depends_on: str | Sequence[str] | None = None

_MYSQL = ("mysql", "mariadb")
_TABLE_OPTIONS: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _exact_string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_bin"), *_MYSQL)


def _timestamp() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=False).with_variant(mysql.DATETIME(fsp=6), *_MYSQL)


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    options = migration_options(op.get_context().config)
    check_tables_are_new(options)  # run before under another version table: a clear error
    storage = options.storage_table
    op.create_table(
        storage,
        sa.Column("key", _exact_string(255), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        _counter("counter"),
        sa.Column("expires_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=f"pk_{storage}"),
        **_TABLE_OPTIONS,
    )
    op.create_index(f"ix_{storage}_expires_at", storage, ["expires_at"])

    users = options.users_table
    if users is None:
        return
    op.create_table(
        users,
        sa.Column("id", _exact_string(255), nullable=False),
        sa.Column("email_address", _exact_string(255), nullable=False),
        sa.Column("password_hash", sa.LargeBinary(), nullable=False),
        sa.Column("password_salt", sa.LargeBinary(), nullable=False),
        sa.Column("password_hash_algorithm_id", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("display_name", sa.String(255), server_default="", nullable=False),
        _counter("email_address_counter"),
        _counter("password_hash_counter"),
        _counter("disabled_counter"),
        _counter("sessions_counter"),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{users}"),
        sa.UniqueConstraint("email_address", name=f"uq_{users}_email_address"),
        **_TABLE_OPTIONS,
    )


def downgrade() -> None:
    options = migration_options(op.get_context().config)
    if options.users_table is not None:
        op.drop_table(options.users_table)
    op.drop_index(f"ix_{options.storage_table}_expires_at", table_name=options.storage_table)
    op.drop_table(options.storage_table)
