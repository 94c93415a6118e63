"""``flask faroe ...``: database migrations, user administration, health check and serving.

Registered on every app by ``Faroe.init_app``. Errors end with a one-line message on stderr and
exit code 1 (click's ``ClickException``); any other exception a command raises - a database that
is down, missing tables, a bad ``FAROE_*`` value - becomes such a line too, never a traceback.
Usage errors exit with 2.

    flask faroe db upgrade [REVISION]     run the packaged Alembic migrations on FAROE_DATABASE_URL
    flask faroe db downgrade REVISION     revert them (base: drop Faroe's tables)
    flask faroe db current                the revision the database is at
    flask faroe purge-expired             delete storage entries past their expiry (SQL storage;
                                          Redis expires entries itself)
    flask faroe users disable EMAIL       disable a user (bumps the disabled counter)
    flask faroe users enable EMAIL        enable a user (bumps the disabled counter)
    flask faroe users import-werkzeug-hashes COLUMN   Werkzeug hashes -> Faroe's password columns
    flask faroe sessions revoke EMAIL     end every session of a user (bumps the sessions counter)
    flask faroe check                     check the storage and the user store (exit 1 when failing)
    flask faroe serve [--listen ...]      serve the app with waitress and safe settings
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from ..core.interfaces import FaroeError, User, UserNotFoundError
from .config import alembic_config_path, table_names

__all__ = ["faroe_cli"]

_COUNTER_RETRIES = 5


def one_line(exc: BaseException) -> str:
    """The exception's type and the first line of its message (SQLAlchemy adds the statement
    and a link on later lines; the engine hides parameters)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


class _OneLineErrors(AppGroup):
    """A group whose commands (and subgroups') fail with one line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - a message, never a traceback
            raise click.ClickException(f"the command failed: {one_line(exc)}") from None


faroe_cli = _OneLineErrors(
    "faroe", help="Faroe auth server: migrations, user administration, health check, serving."
)
db_cli = AppGroup("db", help="The Faroe database tables.")
users_cli = AppGroup("users", help="Disable and enable users; import existing password hashes.")
sessions_cli = AppGroup("sessions", help="End users' sessions.")
faroe_cli.add_command(db_cli)
faroe_cli.add_command(users_cli)
faroe_cli.add_command(sessions_cli)


def _state() -> Any:
    state = current_app.extensions.get("faroe")
    if state is None:
        raise click.ClickException("the Faroe extension is not initialised on this app")
    return state


def _database() -> Any:
    state = _state()
    target = state.engine or state.database_url or current_app.config.get("FAROE_DATABASE_URL")
    if not target:
        raise click.ClickException("FAROE_DATABASE_URL is not set")
    return target


def _app_alembic(revision: str | None) -> tuple[Any, str | None] | None:
    """With FAROE_ALEMBIC_CONFIG: the application's Alembic ``Config``, and ``head``/``base``
    turned into Faroe's branch (``faroe@head``/``faroe@base``)."""
    path = alembic_config_path(current_app.config)
    if path is None:
        return None
    if not os.path.isfile(path):
        raise click.ClickException(f"FAROE_ALEMBIC_CONFIG: no such file {path}")
    from alembic.config import Config

    from ..sql.migrate import migration_options

    config = Config(path, stdout=sys.stdout)  # the default is the stdout of import time
    # The extension and the application's Alembic must mean the same tables.
    options = migration_options(config)
    storage_table, users_table = table_names(current_app.config)
    if (options.storage_table, options.users_table) != (storage_table, users_table):
        raise click.ClickException(
            f"{path} names the tables {options.storage_table} and {options.users_table or '(none)'}"
            f" but FAROE_STORAGE_TABLE / FAROE_USERS_TABLE say {storage_table} and "
            f"{users_table or '(none)'}: set faroe_storage_table / faroe_users_table in the "
            "[alembic] section to the same names"
        )
    if revision in ("head", "base"):
        revision = f"faroe@{revision}"
    return config, revision


def _migrate(run: Any) -> None:
    from ..sql.migrate import MigrationConflictError

    try:
        run()
    except MigrationConflictError as exc:
        raise click.ClickException(str(exc)) from None
    except click.ClickException:
        raise
    except Exception as exc:  # noqa: BLE001 - report, never a traceback with the URL in it
        raise click.ClickException(f"the migration failed: {one_line(exc)}") from None


def _tables() -> dict[str, Any]:
    storage_table, users_table = table_names(current_app.config)
    return {"storage_table": storage_table, "users_table": users_table}


def _move(upgrade: bool, revision: str) -> None:
    """Upgrade or downgrade to ``revision``, through the application's Alembic when configured."""
    app_alembic = _app_alembic(revision)
    if app_alembic is not None:
        from alembic import command

        config, target = app_alembic
        move = command.upgrade if upgrade else command.downgrade
        _migrate(lambda: move(config, target or revision))
    else:
        from ..sql import downgrade_database, upgrade_database

        database = _database()
        function = upgrade_database if upgrade else downgrade_database
        _migrate(lambda: function(database, revision, **_tables()))
    click.echo(f"The Faroe tables are at revision {revision}.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply Faroe's migrations up to REVISION (default head).

    Faroe's own version table, or the application's Alembic when FAROE_ALEMBIC_CONFIG is set.
    FAROE_STORAGE_TABLE / FAROE_USERS_TABLE name the tables; an empty FAROE_USERS_TABLE skips
    the users table.
    """
    _move(True, revision)


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert Faroe's migrations down to REVISION (``base`` drops Faroe's tables and their data)."""
    _move(False, revision)


@db_cli.command("current")
def db_current() -> None:
    """Show the Faroe revision the database is at (``none``: not migrated)."""
    app_alembic = _app_alembic(None)
    if app_alembic is not None:
        from alembic import command

        _migrate(lambda: command.current(app_alembic[0]))
        return
    from ..sql.migrate import DEFAULT_VERSION_TABLE, recorded_revisions

    database = _database()
    recorded: dict[str, tuple[str, ...]] = {}

    def read() -> None:
        recorded.update(recorded_revisions(database))

    _migrate(read)
    own = recorded.pop(DEFAULT_VERSION_TABLE, ())
    if own:
        click.echo(", ".join(own))
    for table, revisions in recorded.items():
        # Faroe's migrations ran through the application's own Alembic.
        click.echo(
            f"{', '.join(revisions)} (recorded in {table} by your application's Alembic; set "
            "FAROE_ALEMBIC_CONFIG to your alembic.ini so that `flask faroe db` uses it)"
        )
    if not own and not recorded:
        click.echo("none")


@faroe_cli.command("purge-expired")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(min=1))
def purge_expired(batch_size: int) -> None:
    """Delete the storage entries whose expiry has passed."""
    state = _state()
    storage = state.server.storage
    if getattr(storage, "expires_entries_itself", False):
        click.echo(
            f"The storage ({type(storage).__name__}) expires entries itself: nothing to purge."
        )
        return
    delete_expired = getattr(storage, "delete_expired", None)
    if delete_expired is None:
        raise click.ClickException(
            f"the storage ({type(storage).__name__}) does not support purging expired entries"
        )
    try:
        count = delete_expired(state.server.clock.now(), batch_size=batch_size)
    except Exception as exc:  # noqa: BLE001
        # Faroe's own errors are safe to print (a database error's class, code and safe text).
        detail = one_line(exc) if isinstance(exc, FaroeError) else type(exc).__name__
        raise click.ClickException(f"purging failed: {detail}") from None
    click.echo(f"Deleted {count} expired entr{'y' if count == 1 else 'ies'}.")


def _find_user(email_address: str) -> User:
    try:
        return _state().server.user_store.get_user_by_email_address(email_address)  # type: ignore[no-any-return]
    except UserNotFoundError:
        raise click.ClickException(f"no user has the email address {email_address}") from None


def _set_disabled(email_address: str, disabled: bool) -> None:
    user = _find_user(email_address)
    word = "disabled" if disabled else "enabled"
    if user.disabled == disabled:
        click.echo(f"{email_address} is already {word}.")
        return
    user_store = _state().server.user_store
    set_user_disabled = getattr(user_store, "set_user_disabled", None)
    if set_user_disabled is None:
        raise click.ClickException(
            f"the user store ({type(user_store).__name__}) cannot disable or enable users"
        )
    try:
        set_user_disabled(user.id, disabled)
    except UserNotFoundError:
        raise click.ClickException(f"the user {email_address} no longer exists") from None
    click.echo(f"{email_address} is now {word}.")


@users_cli.command("disable")
@click.argument("email_address")
def users_disable(email_address: str) -> None:
    """Disable the user with EMAIL_ADDRESS (exact match). Ends all their sessions and flows."""
    _set_disabled(email_address, True)


@users_cli.command("enable")
@click.argument("email_address")
def users_enable(email_address: str) -> None:
    """Enable the user with EMAIL_ADDRESS (exact match)."""
    _set_disabled(email_address, False)


@users_cli.command("import-werkzeug-hashes")
@click.argument("column")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(min=1))
def users_import_werkzeug_hashes(column: str, batch_size: int) -> None:
    """Fill Faroe's password columns from COLUMN, a column of Werkzeug password hashes in the
    users table, for the rows whose password_hash_algorithm_id is still empty."""
    state = _state()
    from ..sql import SQLUserStore, import_werkzeug_hashes

    user_store = state.server.user_store
    if not isinstance(user_store, SQLUserStore):
        raise click.ClickException(f"the user store ({type(user_store).__name__}) is not SQL")
    try:
        report = import_werkzeug_hashes(user_store, column, batch_size=batch_size)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - no traceback; the type says enough
        raise click.ClickException(f"the import failed: {type(exc).__name__}") from None
    click.echo(f"Converted {report.converted} password hash(es).")
    if report.unsupported:
        click.echo(f"{report.unsupported} value(s) were not Werkzeug hashes and were left as they were.")
    known = {algorithm.id for algorithm in state.server.passwords.user_algorithms}
    unknown = sorted(report.algorithm_ids - known)
    if unknown:
        raise click.ClickException(
            "add these ids to FAROE_LEGACY_PASSWORD_HASHES, or those users cannot sign in: "
            + ", ".join(unknown)
        )


@sessions_cli.command("revoke")
@click.argument("email_address")
def sessions_revoke(email_address: str) -> None:
    """End every session of the user with EMAIL_ADDRESS (exact match)."""
    user_store = _state().server.user_store
    for _ in range(_COUNTER_RETRIES):
        user = _find_user(email_address)
        try:
            user_store.increment_user_sessions_counter(user.id, user.sessions_counter)
        except UserNotFoundError:
            continue  # the counter moved under us, or the user is gone: read again
        click.echo(f"Every session of {email_address} is revoked.")
        return
    raise click.ClickException("the sessions counter kept changing; try again")


@faroe_cli.command("check")
def check() -> None:
    """Check that the storage and the user store answer (bounded by the database timeouts)."""
    from .health import check_health

    failures = check_health(_state(), detail=True)
    failed = [f"{part} ({error})" for part, error in failures.items() if error is not None]
    if failed:
        raise click.ClickException("unhealthy: " + ", ".join(failed))
    click.echo("ok: storage and user store answer")


@faroe_cli.command("serve")
@click.option("--listen", help="HOST:PORT to listen on (several separated by spaces); default FAROE_SERVE_LISTEN.")
@click.option("--threads", type=click.IntRange(min=1), help="Worker threads; default FAROE_SERVE_THREADS.")
def serve_command(listen: str | None, threads: int | None) -> None:
    """Serve the app with waitress and the settings of faroe_flask.flask.serving."""
    from .serving import serve

    _state()
    overrides: dict[str, Any] = {}
    if listen:
        overrides["listen"] = listen
    if threads:
        overrides["threads"] = threads
    serve(current_app._get_current_object(), **overrides)  # type: ignore[attr-defined]
