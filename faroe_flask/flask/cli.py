"""``flask faroe ...``: database migrations, user administration, health check and serving.

Registered on every app by ``Faroe.init_app``. Errors end with a one-line message on stderr and
exit code 1 (click's ``ClickException``); any other exception a command raises - a database that
is down, missing tables, a bad ``FAROE_*`` value - becomes such a line too, never a traceback.
Usage errors exit with 2.

    flask faroe db upgrade [REVISION]     run the packaged Alembic migrations on FAROE_DATABASE_URL
    flask faroe purge-expired             delete storage entries past their expiry
    flask faroe users disable EMAIL       disable a user (bumps the disabled counter)
    flask faroe users enable EMAIL        enable a user (bumps the disabled counter)
    flask faroe sessions revoke EMAIL     end every session of a user (bumps the sessions counter)
    flask faroe check                     check the storage and the user store (exit 1 when failing)
    flask faroe serve [--listen ...]      serve the app with waitress and safe settings
"""

from __future__ import annotations

from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from ..core.interfaces import User, UserNotFoundError

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
users_cli = AppGroup("users", help="Disable and enable users.")
sessions_cli = AppGroup("sessions", help="End users' sessions.")
faroe_cli.add_command(db_cli)
faroe_cli.add_command(users_cli)
faroe_cli.add_command(sessions_cli)


def _state() -> Any:
    state = current_app.extensions.get("faroe")
    if state is None:
        raise click.ClickException("the Faroe extension is not initialised on this app")
    return state


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Run the packaged migrations on FAROE_DATABASE_URL (up to REVISION, default head)."""
    state = _state()
    target = state.engine or state.database_url or current_app.config.get("FAROE_DATABASE_URL")
    if not target:
        raise click.ClickException("FAROE_DATABASE_URL is not set")
    from ..sql import upgrade_database

    try:
        upgrade_database(target, revision=revision)
    except Exception as exc:  # noqa: BLE001 - report, never a traceback with the URL in it
        raise click.ClickException(f"the migration failed: {one_line(exc)}") from None
    click.echo(f"The Faroe tables are at revision {revision}.")


@faroe_cli.command("purge-expired")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(min=1))
def purge_expired(batch_size: int) -> None:
    """Delete the storage entries whose expiry has passed."""
    state = _state()
    storage = state.server.storage
    delete_expired = getattr(storage, "delete_expired", None)
    if delete_expired is None:
        raise click.ClickException(
            f"the storage ({type(storage).__name__}) does not support purging expired entries"
        )
    try:
        count = delete_expired(state.server.clock.now(), batch_size=batch_size)
    except Exception as exc:  # noqa: BLE001
        raise click.ClickException(f"purging failed: {type(exc).__name__}") from None
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

    failures = check_health(_state())
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
