"""The packaged Alembic migrations: they create tables that match the Table definitions and that
the server works with, from Python, from the alembic command line and from an application's own
Alembic setup. Every run uses table names with a random suffix and removes them afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, Table, inspect, text

from faroe_flask import Server
from faroe_flask.passwords import Argon2id
from faroe_flask.sql import (
    SQLStorage,
    SQLUserStore,
    downgrade_database,
    make_storage_table,
    make_users_table,
    upgrade_database,
)
from faroe_flask.sql.migrate import MigrationOptions

from ..backends import POSTGRESQL_URL_VARIABLE, MYSQL_URL_VARIABLE, unique_suffix

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def options() -> MigrationOptions:
    suffix = unique_suffix()
    return MigrationOptions(
        f"faroe_storage_{suffix}", f"faroe_users_{suffix}", f"faroe_version_{suffix}"
    )


def _drop_leftovers(engine: Engine, options: MigrationOptions) -> None:
    names = [options.users_table, options.storage_table, options.version_table]
    existing = set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        for name in names:
            if name in existing:
                connection.execute(text(f"DROP TABLE {engine.dialect.identifier_preparer.quote(name)}"))


@pytest.fixture
def cleanup(engine: Engine, options: MigrationOptions) -> Iterator[None]:
    yield
    _drop_leftovers(engine, options)


def _upgrade(engine: Engine, options: MigrationOptions, revision: str = "head") -> None:
    upgrade_database(
        engine,
        revision,
        storage_table=options.storage_table,
        users_table=options.users_table,
        version_table=options.version_table,
    )


def _downgrade(engine: Engine, options: MigrationOptions, revision: str = "base") -> None:
    downgrade_database(
        engine,
        revision,
        storage_table=options.storage_table,
        users_table=options.users_table,
        version_table=options.version_table,
    )


def _differences(engine: Engine, target: MetaData) -> list[Any]:
    names = set(target.tables)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_name": lambda n, t, _p: t != "table" or n in names},
        )
        return list(compare_metadata(context, target))


def _sign_up(server: Server, email_sender: Any, email_address: str, password: str) -> str:
    """Run the signup flow through the server; return the new session token."""
    created = server.invoke("create_signup", {"email_address": email_address})
    assert created.ok, created.error_code
    assert created.values is not None
    token = created.values["signup_token"]
    code = email_sender.last("signup_code")["code"]
    steps: list[tuple[str, dict[str, str]]] = [
        ("verify_signup_email_address_verification_code", {"email_address_verification_code": code}),
        ("set_signup_password", {"password": password}),
        ("complete_signup", {}),
    ]
    result = None
    for action, arguments in steps:
        result = server.invoke(action, {"signup_token": token, **arguments})
        assert result.ok, (action, result.error_code)
    assert result is not None and result.values is not None
    return str(result.values["session_token"])


def test_upgrade_creates_tables_that_match_the_definitions(
    engine: Engine, options: MigrationOptions, cleanup: None
) -> None:
    _upgrade(engine, options)
    assert {options.storage_table, options.users_table} <= set(inspect(engine).get_table_names())
    target = options.target_metadata()
    assert _differences(engine, target) == []
    # The comparison is not blind: a column the database lacks is reported.
    target.tables[options.storage_table].append_column(Column("extra", Integer, nullable=True))
    assert [difference[0] for difference in _differences(engine, target)] == ["add_column"]


def test_the_server_works_on_migrated_tables(
    engine: Engine,
    options: MigrationOptions,
    cleanup: None,
    email_sender: Any,
    clock: Any,
    strength_checker: Any,
    error_logger: Any,
) -> None:
    _upgrade(engine, options)
    metadata = MetaData()
    storage = SQLStorage(engine, make_storage_table(metadata, options.storage_table))
    user_store = SQLUserStore(engine, make_users_table(metadata, options.users_table or ""))
    server = Server(
        storage=storage,
        user_store=user_store,
        email_sender=email_sender,
        user_password_hash_algorithms=[Argon2id(memory_cost=64, time_cost=1, parallelism=1)],
        temporary_password_hash_algorithm=Argon2id(memory_cost=32, time_cost=1, parallelism=1),
        password_strength_checker=strength_checker,
        error_logger=error_logger,
        clock=clock,
    )
    session_token = _sign_up(server, email_sender, "Alice@Example.com", "correct horse battery staple")
    session = server.invoke("get_session", {"session_token": session_token})
    assert session.ok and session.values is not None
    assert user_store.get_user(session.values["session"]["user_id"]).email_address == "Alice@Example.com"
    assert error_logger.entries == []


def test_downgrade_to_base_removes_the_tables(
    engine: Engine, options: MigrationOptions, cleanup: None
) -> None:
    _upgrade(engine, options)
    _upgrade(engine, options)  # already at head: nothing to do
    _downgrade(engine, options)
    remaining = set(inspect(engine).get_table_names())
    assert options.storage_table not in remaining and options.users_table not in remaining
    _upgrade(engine, options)  # and back up again
    assert _differences(engine, options.target_metadata()) == []


def test_the_users_table_can_be_left_out(
    engine: Engine, options: MigrationOptions, cleanup: None
) -> None:
    storage_only = MigrationOptions(options.storage_table, None, options.version_table)
    _upgrade(engine, storage_only)
    tables = set(inspect(engine).get_table_names())
    assert options.storage_table in tables and options.users_table not in tables
    assert _differences(engine, storage_only.target_metadata()) == []
    _downgrade(engine, storage_only)
    assert options.storage_table not in set(inspect(engine).get_table_names())


def _url_for(sql_backend: str, tmp_path: Path) -> str:
    if sql_backend == "sqlite":
        return f"sqlite:///{tmp_path / 'faroe.sqlite3'}"  # the file the engine fixture opened
    return os.environ[{"postgresql": POSTGRESQL_URL_VARIABLE, "mysql": MYSQL_URL_VARIABLE}[sql_backend]]


def _alembic(*arguments: str, url: str | None = None, options: MigrationOptions) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "FAROE_DATABASE_URL"}
    if url is not None:
        environment["FAROE_DATABASE_URL"] = url
    names = [
        f"faroe_storage_table={options.storage_table}",
        f"faroe_users_table={options.users_table}",
        f"faroe_version_table={options.version_table}",
    ]
    command_line = [sys.executable, "-m", "alembic"]
    for name in names:
        command_line += ["-x", name]
    finished = subprocess.run(
        [*command_line, *arguments],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


def test_the_alembic_command_line_upgrades_and_downgrades(
    engine: Engine, sql_backend: str, tmp_path: Path, options: MigrationOptions, cleanup: None
) -> None:
    url = _url_for(sql_backend, tmp_path)
    _alembic("upgrade", "head", url=url, options=options)  # FAROE_DATABASE_URL
    assert "faroe_0001 (head)" in _alembic("-x", f"url={url}", "current", options=options)  # -x url=
    # env.py's target metadata agrees with the database (and ignores every other table there).
    _alembic("-x", f"url={url}", "check", options=options)
    _alembic("-x", f"url={url}", "downgrade", "base", options=options)
    assert options.storage_table not in set(inspect(engine).get_table_names())


def test_the_alembic_command_line_writes_offline_sql(tmp_path: Path, options: MigrationOptions) -> None:
    url = f"sqlite:///{tmp_path / 'never-created.sqlite3'}"
    script = _alembic("-x", f"url={url}", "upgrade", "head", "--sql", options=options)
    assert f"CREATE TABLE {options.storage_table}" in script
    assert f"CREATE TABLE {options.users_table}" in script
    assert not (tmp_path / "never-created.sqlite3").exists()


_APP_ENV = '''
from alembic import context
from sqlalchemy import engine_from_config, pool

import app_models
import faroe_flask.sql

target_metadata = [app_models.metadata, faroe_flask.sql.metadata]
section = context.config.get_section(context.config.config_ini_section)
engine = engine_from_config(section, poolclass=pool.NullPool)
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
'''

_APP_MODELS = '''
from sqlalchemy import Column, Integer, MetaData, Table
metadata = MetaData()
things = Table("app_things", metadata, Column("id", Integer, primary_key=True))
'''

_APP_REVISION = '''
import sqlalchemy as sa
from alembic import op

revision = "app_0001"
down_revision = None
branch_labels = ("app",)
depends_on = None


def upgrade():
    op.create_table("app_things", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("app_things")
'''


def test_an_application_alembic_setup_runs_faroes_migrations(tmp_path: Path) -> None:
    """What the README tells an application to do: add Faroe's versions to version_locations."""
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text(textwrap.dedent(_APP_ENV))
    (tmp_path / "migrations" / "versions" / "app_0001.py").write_text(textwrap.dedent(_APP_REVISION))
    (tmp_path / "app_models.py").write_text(textwrap.dedent(_APP_MODELS))
    database = tmp_path / "app.sqlite3"
    (tmp_path / "alembic.ini").write_text(
        textwrap.dedent(
            f"""
            [alembic]
            script_location = %(here)s/migrations
            version_locations = %(here)s/migrations/versions faroe_flask:migrations/versions
            path_separator = space
            prepend_sys_path = .
            sqlalchemy.url = sqlite:///{database}
            """
        )
    )
    config = Config(str(tmp_path / "alembic.ini"), stdout=sys.stdout)  # not the stdout of import time
    sys.path.insert(0, str(tmp_path))
    try:
        command.upgrade(config, "heads")
        from faroe_flask.sql import create_engine

        engine = create_engine(f"sqlite:///{database}")
        try:
            assert {"app_things", "faroe_storage", "faroe_users", "alembic_version"} <= set(
                inspect(engine).get_table_names()
            )
            with engine.connect() as connection:
                versions = connection.execute(text("SELECT version_num FROM alembic_version"))
                heads = set(versions.scalars())
            assert heads == {"app_0001", "faroe_0001"}
            target = MetaData()
            for table in (*_app_tables(), *_faroe_tables()):
                table.to_metadata(target)
            assert _differences(engine, target) == []
            command.downgrade(config, "faroe@base")
            tables = set(inspect(engine).get_table_names())
            assert "app_things" in tables and "faroe_storage" not in tables
        finally:
            engine.dispose()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("app_models", None)


def _app_tables() -> list[Table]:
    import app_models  # type: ignore[import-not-found]

    return list(app_models.metadata.tables.values())


def _faroe_tables() -> list[Table]:
    from faroe_flask.sql import storage_table, users_table

    return [storage_table, users_table]
