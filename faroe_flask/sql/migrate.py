"""Running the packaged Alembic migrations (``faroe_flask/migrations``).

Three ways in, one set of migration scripts:

* ``upgrade_database(url_or_engine)`` / ``downgrade_database(...)`` from Python (the CLI
  ``flask faroe db upgrade`` and the example app use these);
* ``alembic upgrade head`` from the repository root (``alembic.ini`` + ``alembic/env.py``);
* an application's own Alembic, with ``faroe_flask:migrations/versions`` added to its
  ``version_locations`` and ``faroe_flask.sql.alembic_filters`` in its ``env.py``.

Faroe's first migration refuses (``MigrationConflictError``) to create tables that exist already
while its version table does not record them: Faroe's migrations then ran under another version
table, and the error says which.

Settings, each looked up in ``Config.attributes``, then ``-x name=value``, then the ``[alembic]``
section of the ini file (so that an application's own Alembic setup can set them too):

* ``faroe_storage_table`` (default ``faroe_storage``), ``faroe_users_table`` (default
  ``faroe_users``; an empty value or ``none`` skips the users table, for an application that
  brings its own);
* ``faroe_version_table`` (default ``faroe_alembic_version``; only used by Faroe's own env.py, so
  that Faroe's migration state never mixes with the application's ``alembic_version``);
* the database: ``Config.attributes["connection"]`` (a Connection), ``-x url=...``, the
  ``FAROE_DATABASE_URL`` environment variable, or ``sqlalchemy.url``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from logging.config import fileConfig
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, inspect, text

from .engine import create_engine
from .tables import (
    DEFAULT_STORAGE_TABLE_NAME,
    DEFAULT_USERS_TABLE_NAME,
    make_storage_table,
    make_users_table,
)

__all__ = [
    "DEFAULT_VERSION_TABLE",
    "MigrationConflictError",
    "check_tables_are_new",
    "current_revisions",
    "recorded_revisions",
    "MIGRATIONS_LOCATION",
    "VERSIONS_LOCATION",
    "MigrationOptions",
    "downgrade_database",
    "make_alembic_config",
    "migration_options",
    "run_env",
    "upgrade_database",
]

#: Alembic ``script_location`` and ``version_locations`` of the packaged migrations.
MIGRATIONS_LOCATION = "faroe_flask:migrations"
VERSIONS_LOCATION = "faroe_flask:migrations/versions"
DEFAULT_VERSION_TABLE = "faroe_alembic_version"
URL_ENVIRONMENT_VARIABLE = "FAROE_DATABASE_URL"


class MigrationConflictError(RuntimeError):
    """Faroe's tables exist already, created under another version table than this run's."""


@dataclasses.dataclass(frozen=True)
class MigrationOptions:
    """What the migrations create: the storage table, the users table (or none), and which
    version table Faroe's own env.py records the revision in."""

    storage_table: str = DEFAULT_STORAGE_TABLE_NAME
    users_table: str | None = DEFAULT_USERS_TABLE_NAME
    version_table: str = DEFAULT_VERSION_TABLE

    def target_metadata(self) -> MetaData:
        """The tables as ``faroe_flask.sql.tables`` defines them, under these names."""
        target = MetaData()
        make_storage_table(target, self.storage_table)
        if self.users_table is not None:
            make_users_table(target, self.users_table)
        return target


def _setting(config: Config | None, name: str) -> str | None:
    if config is None:
        return None
    if name in config.attributes:
        value = config.attributes[name]
        return "" if value is None else str(value)
    arguments: list[str] = getattr(config.cmd_opts, "x", None) or []
    for argument in arguments:
        key, separator, setting = argument.partition("=")
        if separator and key.strip() == name:
            return setting.strip()
    return config.get_main_option(name)


def migration_options(config: Config | None) -> MigrationOptions:
    """The settings in effect for ``config`` (``None``: the defaults); migration scripts call it."""
    storage = _setting(config, "faroe_storage_table") or DEFAULT_STORAGE_TABLE_NAME
    users = _setting(config, "faroe_users_table")
    if users is None:
        users = DEFAULT_USERS_TABLE_NAME
    elif users.strip().lower() in ("", "none"):
        users = None
    version = _setting(config, "faroe_version_table") or DEFAULT_VERSION_TABLE
    return MigrationOptions(storage, users, version)


def database_url(config: Config) -> str:
    url = _setting(config, "url") or os.environ.get(URL_ENVIRONMENT_VARIABLE)
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            f"no database: set {URL_ENVIRONMENT_VARIABLE}, or pass -x url=..., or sqlalchemy.url"
        )
    return url


def run_env() -> None:
    """The body of Faroe's Alembic ``env.py`` (packaged and top-level)."""
    from alembic import context

    config = context.config
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    options = migration_options(config)
    own_tables = {options.storage_table, options.users_table} - {None}

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        # Autogenerate looks at Faroe's tables only, never at the application's.
        return type_ != "table" or name in own_tables

    settings: dict[str, Any] = dict(
        target_metadata=options.target_metadata(),
        version_table=options.version_table,
        include_name=include_name,
        compare_type=True,
    )
    if context.is_offline_mode():
        context.configure(url=database_url(config), literal_binds=True, **settings)
        with context.begin_transaction():
            context.run_migrations()
        return

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection, render_as_batch=connection.dialect.name == "sqlite", **settings
        )
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = create_engine(database_url(config), sqlite_foreign_keys=False)  # batch mode: see engine.py
    try:
        with engine.begin() as connection:
            run(connection)
    finally:
        engine.dispose()


def make_alembic_config(
    *,
    storage_table: str = DEFAULT_STORAGE_TABLE_NAME,
    users_table: str | None = DEFAULT_USERS_TABLE_NAME,
    version_table: str = DEFAULT_VERSION_TABLE,
) -> Config:
    """An in-memory Alembic ``Config`` for the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_LOCATION)
    config.set_main_option("path_separator", "space")
    config.attributes["faroe_storage_table"] = storage_table
    config.attributes["faroe_users_table"] = users_table
    config.attributes["faroe_version_table"] = version_table
    return config


@contextmanager
def _connected(config: Config, url_or_engine: str | Engine) -> Iterator[Config]:
    engine = (
        create_engine(url_or_engine, sqlite_foreign_keys=False)  # batch mode: see engine.py
        if isinstance(url_or_engine, str)
        else url_or_engine
    )
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            yield config
    finally:
        config.attributes.pop("connection", None)
        if isinstance(url_or_engine, str):
            engine.dispose()


def upgrade_database(
    url_or_engine: str | Engine,
    revision: str = "head",
    *,
    storage_table: str = DEFAULT_STORAGE_TABLE_NAME,
    users_table: str | None = DEFAULT_USERS_TABLE_NAME,
    version_table: str = DEFAULT_VERSION_TABLE,
) -> None:
    """Apply the packaged migrations up to ``revision`` (creates the tables on a new database).

    ``users_table=None`` leaves out the users table (for an application with its own).
    """
    config = make_alembic_config(
        storage_table=storage_table, users_table=users_table, version_table=version_table
    )
    with _connected(config, url_or_engine):
        # Before Alembic creates its version table (DDL is not transactional on MySQL).
        options = migration_options(config)
        _refuse_conflict(config.attributes["connection"], options, options.version_table)
        command.upgrade(config, revision)


def downgrade_database(
    url_or_engine: str | Engine,
    revision: str = "base",
    *,
    storage_table: str = DEFAULT_STORAGE_TABLE_NAME,
    users_table: str | None = DEFAULT_USERS_TABLE_NAME,
    version_table: str = DEFAULT_VERSION_TABLE,
) -> None:
    """Revert the packaged migrations down to ``revision`` (``base`` drops Faroe's tables)."""
    config = make_alembic_config(
        storage_table=storage_table, users_table=users_table, version_table=version_table
    )
    with _connected(config, url_or_engine):
        command.downgrade(config, revision)


def current_revisions(
    url_or_engine: str | Engine, *, version_table: str = DEFAULT_VERSION_TABLE
) -> tuple[str, ...]:
    """The Faroe revisions recorded in ``version_table`` (empty: none, or no such table)."""
    return recorded_revisions(url_or_engine, (version_table,)).get(version_table, ())


def recorded_revisions(
    url_or_engine: str | Engine, version_tables: tuple[str, ...] = (DEFAULT_VERSION_TABLE, "alembic_version")
) -> dict[str, tuple[str, ...]]:
    """Faroe's revisions (``faroe_...``) in each of ``version_tables`` that records some: Faroe's
    own version table, and the application's ``alembic_version`` when its Alembic ran them."""
    found: dict[str, tuple[str, ...]] = {}
    config = make_alembic_config()
    with _connected(config, url_or_engine):
        connection: Connection = config.attributes["connection"]
        for table in version_tables:
            context = MigrationContext.configure(connection, opts={"version_table": table})
            heads = sorted(head for head in context.get_current_heads() if head.startswith("faroe_"))
            if heads:
                found[table] = tuple(heads)
    return found


_KNOWN_VERSION_TABLES = ("alembic_version", DEFAULT_VERSION_TABLE)


def check_tables_are_new(options: MigrationOptions) -> None:
    """Called by Faroe's first migration before it creates the tables (online runs only).

    If a table it would create exists already, Faroe's migrations were run before under another
    version table (``flask faroe db upgrade`` records them in ``faroe_alembic_version``, an
    application's own Alembic in its ``alembic_version``): raise ``MigrationConflictError`` that
    says so, rather than let ``CREATE TABLE`` fail with the database's "duplicate table".
    """
    from alembic import op

    context = op.get_context()
    if not context.as_sql:
        _refuse_conflict(op.get_bind(), options, context.version_table)


def _refuse_conflict(connection: Connection, options: MigrationOptions, version_table: str) -> None:
    existing = set(inspect(connection).get_table_names())
    if version_table in existing and _records_faroe(connection, version_table):
        return  # migrated under this version table: Alembic knows what is left to do
    clashes = [n for n in (options.storage_table, options.users_table) if n and n in existing]
    if not clashes:
        return
    elsewhere = [
        table
        for table in dict.fromkeys((*_KNOWN_VERSION_TABLES, options.version_table))
        if table != version_table and table in existing and _records_faroe(connection, table)
    ]
    where = (
        f"{' and '.join(elsewhere)} records Faroe's migrations"
        if elsewhere
        else "no known version table records Faroe's migrations (metadata.create_all?)"
    )
    raise MigrationConflictError(
        f"Faroe's tables ({', '.join(clashes)}) exist already but the version table "
        f"{version_table} does not record them; {where}. Migrate Faroe's tables with one Alembic "
        "set-up only: your application's (alembic upgrade faroe@head; set FAROE_ALEMBIC_CONFIG "
        "so that `flask faroe db` uses it) or Faroe's own (flask faroe db upgrade). To move them "
        "from one to the other, stamp the other (alembic stamp faroe@head) and drop the old "
        "version table's Faroe row; see the README's Migrations section."
    )


def _records_faroe(connection: Connection, table: str) -> bool:
    quoted = connection.dialect.identifier_preparer.quote(table)
    rows = connection.execute(text(f"SELECT version_num FROM {quoted}")).scalars()
    return any(str(revision).startswith("faroe_") for revision in rows)
