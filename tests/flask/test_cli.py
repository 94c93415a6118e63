"""``flask faroe ...`` on SQLite, PostgreSQL and MariaDB (the latter two when their URLs are set)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner, FlaskClient

from faroe_flask.flask.extension import Faroe

from ..conftest import BannedPasswords, CapturingEmailSender, FakeClock
from .conftest import FAST_HASHING, PASSWORD, AppFactory, invoke, values_of

EMAIL = "user@example.com"


@pytest.fixture
def sql_app(database_url: str, email_sender: CapturingEmailSender, clock: FakeClock) -> Iterator[Flask]:
    app = Flask("faroe_cli_test")
    app.config.update(FAST_HASHING, TESTING=True, FAROE_DATABASE_URL=database_url)
    Faroe(app, email_sender=email_sender, clock=clock, password_strength_checker=BannedPasswords())
    yield app
    engine = app.extensions["faroe"].engine
    if engine is not None:
        engine.dispose()


def run(app: Flask, *args: str) -> Any:
    runner: FlaskCliRunner = app.test_cli_runner()
    return runner.invoke(args=["faroe", *args])


def sign_up(client: FlaskClient, email_sender: CapturingEmailSender) -> str:
    signup_token = values_of(client, "create_signup", email_address=EMAIL)["signup_token"]
    code = email_sender.last("signup_code")["code"]
    values_of(client, "verify_signup_email_address_verification_code", signup_token=signup_token,
              email_address_verification_code=code)
    values_of(client, "set_signup_password", signup_token=signup_token, password=PASSWORD)
    token: str = values_of(client, "complete_signup", signup_token=signup_token)["session_token"]
    return token


@pytest.fixture
def migrated(sql_app: Flask) -> Flask:
    result = run(sql_app, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "head" in result.output
    return sql_app


def test_db_upgrade_is_idempotent_and_makes_the_endpoint_work(
    migrated: Flask, email_sender: CapturingEmailSender
) -> None:
    assert run(migrated, "db", "upgrade").exit_code == 0
    session_token = sign_up(migrated.test_client(), email_sender)
    assert values_of(migrated.test_client(), "get_session", session_token=session_token)["session"]


def test_users_disable_and_enable(migrated: Flask, email_sender: CapturingEmailSender) -> None:
    client = migrated.test_client()
    session_token = sign_up(client, email_sender)
    user_store = migrated.extensions["faroe"].user_store

    result = run(migrated, "users", "disable", EMAIL)
    assert result.exit_code == 0, result.output
    assert f"{EMAIL} is now disabled" in result.output
    user = user_store.get_user_by_email_address(EMAIL)
    assert user.disabled is True and user.disabled_counter == 1
    assert invoke(client, "get_session", session_token=session_token)["error_code"] == "invalid_session_token"
    assert invoke(client, "create_signin", user_email_address=EMAIL)["error_code"] == "user_disabled"

    again = run(migrated, "users", "disable", EMAIL)
    assert again.exit_code == 0 and "already disabled" in again.output
    assert user_store.get_user_by_email_address(EMAIL).disabled_counter == 1

    result = run(migrated, "users", "enable", EMAIL)
    assert result.exit_code == 0, result.output
    user = user_store.get_user_by_email_address(EMAIL)
    assert user.disabled is False and user.disabled_counter == 2
    assert invoke(client, "create_signin", user_email_address=EMAIL)["ok"] is True


def test_sessions_revoke(migrated: Flask, email_sender: CapturingEmailSender) -> None:
    client = migrated.test_client()
    session_token = sign_up(client, email_sender)
    result = run(migrated, "sessions", "revoke", EMAIL)
    assert result.exit_code == 0, result.output
    assert "revoked" in result.output
    user = migrated.extensions["faroe"].user_store.get_user_by_email_address(EMAIL)
    assert user.sessions_counter == 1
    assert invoke(client, "get_session", session_token=session_token)["error_code"] == "invalid_session_token"


@pytest.mark.parametrize("command", [("users", "disable"), ("users", "enable"), ("sessions", "revoke")])
def test_unknown_user_is_an_error(migrated: Flask, command: tuple[str, str]) -> None:
    result = run(migrated, *command, "nobody@example.com")
    assert result.exit_code == 1
    assert "no user has the email address nobody@example.com" in result.output


def test_purge_expired(migrated: Flask, clock: FakeClock) -> None:
    client = migrated.test_client()
    values_of(client, "create_signup", email_address=EMAIL)
    result = run(migrated, "purge-expired")
    assert result.exit_code == 0 and "Deleted 0 expired entries" in result.output
    clock.advance(2 * 24 * 3600)
    result = run(migrated, "purge-expired", "--batch-size", "1")
    assert result.exit_code == 0, result.output
    assert "Deleted 0 " not in result.output
    assert "Deleted 0 expired entries" in run(migrated, "purge-expired").output


def test_commands_fail_clearly_without_a_database(make_app: AppFactory) -> None:
    app = make_app()  # in-memory parts, no FAROE_DATABASE_URL
    result = run(app, "db", "upgrade")
    assert result.exit_code == 1 and "FAROE_DATABASE_URL is not set" in result.output
    result = run(app, "purge-expired")
    assert result.exit_code == 1 and "does not support purging" in result.output


def test_migration_failure_is_reported(make_app: AppFactory) -> None:
    app = make_app({"FAROE_DATABASE_URL": "sqlite:////nonexistent-dir/x/faroe.sqlite3"})
    result = run(app, "db", "upgrade")
    assert result.exit_code == 1
    assert "the migration failed" in result.output


def test_commands_are_listed(make_app: AppFactory) -> None:
    result = run(make_app(), "--help")
    assert result.exit_code == 0
    for name in ("db", "purge-expired", "users", "sessions"):
        assert name in result.output


def test_db_current_and_downgrade_with_configured_tables(
    database_url: str, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    """FAROE_STORAGE_TABLE names the storage table; an empty FAROE_USERS_TABLE (the app brings
    its own users) makes `db upgrade` skip the users table; `db current`, `db downgrade base`."""
    from sqlalchemy import inspect

    from faroe_flask import MemoryUserStore

    app = Flask("faroe_cli_tables_test")
    app.config.update(FAST_HASHING, TESTING=True, FAROE_DATABASE_URL=database_url,
                      FAROE_STORAGE_TABLE="auth_kv", FAROE_USERS_TABLE="")
    Faroe(app, email_sender=email_sender, clock=clock, password_strength_checker=BannedPasswords(),
          user_store=MemoryUserStore())
    engine = app.extensions["faroe"].engine
    try:
        assert run(app, "db", "current").output.strip() == "none"
        result = run(app, "db", "upgrade")
        assert result.exit_code == 0, result.output
        assert {"auth_kv", "faroe_alembic_version"} <= set(inspect(engine).get_table_names())
        assert "faroe_users" not in set(inspect(engine).get_table_names())
        assert run(app, "db", "current").output.strip() == "faroe_0001"
        # The engine's storage is the configured table: a signup writes into auth_kv.
        values_of(app.test_client(), "create_signup", email_address=EMAIL)
        result = run(app, "db", "downgrade", "base")
        assert result.exit_code == 0, result.output
        assert "auth_kv" not in set(inspect(engine).get_table_names())
        assert run(app, "db", "current").output.strip() == "none"
        assert run(app, "db", "downgrade").exit_code == 2  # the revision is required
    finally:
        engine.dispose()


def test_an_empty_users_table_needs_a_user_store(make_app: AppFactory, tmp_path: Any) -> None:
    from faroe_flask.flask.config import ConfigError

    with pytest.raises(ConfigError, match="FAROE_USERS_TABLE"):
        make_app({"FAROE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "FAROE_USERS_TABLE": ""},
                 user_store=None, storage=None)


def test_users_import_werkzeug_hashes(
    database_url: str, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    """The app's own users table with a column of Werkzeug hashes: the command fills Faroe's
    password columns and the users sign in through the endpoint with their old passwords."""
    from sqlalchemy import Column, MetaData, String
    from werkzeug.security import generate_password_hash

    from faroe_flask.sql import SQLUserStore, create_engine, make_users_table

    engine = create_engine(database_url)
    users = make_users_table(MetaData(), "app_users")
    users.append_column(Column("legacy_password", String(255), nullable=True))
    users.create(engine)
    rows = [("u1", EMAIL, generate_password_hash(PASSWORD)),
            ("u2", "other@example.com", generate_password_hash(PASSWORD, "scrypt:16384:8:1")),
            ("u3", "third@example.com", "not a werkzeug hash")]
    with engine.begin() as connection:
        connection.execute(users.insert(), [
            {"id": i, "email_address": e, "legacy_password": h, "password_hash": b"", "password_salt": b"",
             "password_hash_algorithm_id": "", "created_at": clock.now().replace(tzinfo=None)}
            for i, e, h in rows])
    app = Flask("faroe_cli_import_test")
    app.config.update(FAST_HASHING, TESTING=True, FAROE_DATABASE_URL=database_url, FAROE_USERS_TABLE="",
                      FAROE_LEGACY_PASSWORD_HASHES="werkzeug")
    Faroe(app, email_sender=email_sender, clock=clock, password_strength_checker=BannedPasswords(),
          user_store=SQLUserStore(engine, users))
    try:
        assert run(app, "db", "upgrade").exit_code == 0
        result = run(app, "users", "import-werkzeug-hashes", "legacy_password", "--batch-size", "2")
        # Converted, but one id is not configured: said, with the id, and the exit code is 1.
        assert result.exit_code == 1
        assert "Converted 3 password hash(es)" not in result.output
        assert "Converted 2 password hash(es)" in result.output
        assert "1 value(s) were not Werkzeug hashes" in result.output
        assert "werkzeug.scrypt.16384.8.1" in result.output and PASSWORD not in result.output
        again = run(app, "users", "import-werkzeug-hashes", "legacy_password")
        assert again.exit_code == 0 and "Converted 0" in again.output
        assert run(app, "users", "import-werkzeug-hashes", "no_such_column").exit_code == 1

        client = app.test_client()
        signin_token = values_of(client, "create_signin", user_email_address=EMAIL)["signin_token"]
        wrong = invoke(client, "verify_signin_user_password", signin_token=signin_token, password="wrong")
        assert wrong["error_code"] == "incorrect_password"
        values_of(client, "verify_signin_user_password", signin_token=signin_token, password=PASSWORD)
        assert values_of(client, "complete_signin", signin_token=signin_token)["session"]["user_id"] == "u1"
    finally:
        app.extensions["faroe"].engine.dispose()
        users.drop(engine)
        engine.dispose()
