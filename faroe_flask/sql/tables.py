"""The SQL tables: Faroe's key-value storage and a users table (foundations.md F7, F10.1).

Both are plain SQLAlchemy Core ``Table`` objects. ``metadata``, ``storage_table`` and
``users_table`` are the defaults; ``make_storage_table`` and ``make_users_table`` build the same
tables under other names, on a ``MetaData`` the caller supplies (for example the application's own,
so that its Alembic autogenerate sees them).

Every column that is compared in a ``WHERE`` (the storage key, the user id and the email address)
must compare exactly, case included (F4.3). PostgreSQL and SQLite do that by default; on MySQL and
MariaDB these columns get the binary collation ``utf8mb4_bin``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeEngine

__all__ = [
    "DEFAULT_STORAGE_TABLE_NAME",
    "DEFAULT_USERS_TABLE_NAME",
    "MYSQL_TABLE_OPTIONS",
    "OPTIONAL_USER_COLUMNS",
    "USER_COLUMNS",
    "exact_string",
    "make_storage_table",
    "make_users_table",
    "metadata",
    "storage_table",
    "timestamp",
    "users_table",
]

DEFAULT_STORAGE_TABLE_NAME = "faroe_storage"
DEFAULT_USERS_TABLE_NAME = "faroe_users"

#: Every logical column of the users table, in table order: the fields of ``User`` + ``created_at``.
USER_COLUMNS: tuple[str, ...] = (
    "id",
    "email_address",
    "password_hash",
    "password_salt",
    "password_hash_algorithm_id",
    "disabled",
    "display_name",
    "email_address_counter",
    "password_hash_counter",
    "disabled_counter",
    "sessions_counter",
    "created_at",
)

#: Columns an application's own users table may lack (``SQLUserStore`` then does without them).
OPTIONAL_USER_COLUMNS: frozenset[str] = frozenset({"display_name", "created_at"})

#: Table options for MySQL/MariaDB: InnoDB (transactions, row locks) and 4-byte UTF-8.
MYSQL_TABLE_OPTIONS: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}

_MYSQL = ("mysql", "mariadb")


def exact_string(length: int) -> TypeEngine[str]:
    """A ``VARCHAR`` that compares case-sensitively everywhere (``utf8mb4_bin`` on MySQL)."""
    return String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_bin"), *_MYSQL)


def timestamp() -> TypeEngine[Any]:
    """A timezone-naive UTC timestamp with microseconds on every database."""
    return DateTime(timezone=False).with_variant(mysql.DATETIME(fsp=6), *_MYSQL)


def make_storage_table(metadata: MetaData, name: str = DEFAULT_STORAGE_TABLE_NAME) -> Table:
    """The storage table: ``key`` (<= 255 characters), ``value``, ``counter``, ``expires_at``."""
    return Table(
        name,
        metadata,
        Column("key", exact_string(255), nullable=False),
        Column("value", LargeBinary(), nullable=False),
        Column("counter", Integer(), nullable=False, server_default=text("0")),
        Column("expires_at", timestamp(), nullable=False),
        PrimaryKeyConstraint("key", name=f"pk_{name}"),
        Index(f"ix_{name}_expires_at", "expires_at"),
        **MYSQL_TABLE_OPTIONS,
    )


def make_users_table(
    metadata: MetaData,
    name: str = DEFAULT_USERS_TABLE_NAME,
    column_names: Mapping[str, str] | None = None,
) -> Table:
    """The users table: every field of the user record (F10.1) plus ``created_at``.

    ``column_names`` renames columns in the database, e.g. ``{"email_address": "email"}``. The
    ``Column`` objects keep the logical names as their keys, so ``table.c.email_address`` works
    whatever the database column is called.
    """
    renamed = dict(column_names or {})
    unknown = set(renamed) - set(USER_COLUMNS)
    if unknown:
        raise ValueError(f"unknown user columns: {sorted(unknown)}")

    def column(key: str, type_: TypeEngine[Any], **options: Any) -> Column[Any]:
        return Column(renamed.get(key, key), type_, key=key, nullable=False, **options)

    return Table(
        name,
        metadata,
        column("id", exact_string(255)),
        column("email_address", exact_string(255)),
        column("password_hash", LargeBinary()),
        column("password_salt", LargeBinary()),
        column("password_hash_algorithm_id", String(255)),
        column("disabled", Boolean(), server_default=false()),
        column("display_name", String(255), server_default=""),
        column("email_address_counter", Integer(), server_default=text("0")),
        column("password_hash_counter", Integer(), server_default=text("0")),
        column("disabled_counter", Integer(), server_default=text("0")),
        column("sessions_counter", Integer(), server_default=text("0")),
        column("created_at", timestamp()),
        PrimaryKeyConstraint("id", name=f"pk_{name}"),
        UniqueConstraint("email_address", name=f"uq_{name}_email_address"),
        **MYSQL_TABLE_OPTIONS,
    )


#: The package's own ``MetaData``: Alembic's target and what ``metadata.create_all`` creates.
metadata = MetaData()
storage_table = make_storage_table(metadata)
users_table = make_users_table(metadata)
