"""``flask faroe ...``: database migrations and user administration.

Registered on every app by ``Faroe.init_app``. Errors end with a message on stderr and exit
code 1 (click's ``ClickException``); usage errors exit with 2.

    flask faroe db upgrade [REVISION]     run the packaged Alembic migrations on FAROE_DATABASE_URL
    flask faroe purge-expired             delete storage entries past their expiry (SQL storage;
                                          Redis expires entries itself)
    flask faroe users disable EMAIL       disable a user (bumps the disabled counter)
    flask faroe users enable EMAIL        enable a user (bumps the disabled counter)
    flask faroe sessions revoke EMAIL     end every session of a user (bumps the sessions counter)
"""

from __future__ import annotations

from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from ..core.interfaces import User, UserNotFoundError

__all__ = ["faroe_cli"]

_COUNTER_RETRIES = 5

faroe_cli = AppGroup("faroe", help="Faroe auth server: migrations and user administration.")
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
        raise click.ClickException(f"the migration failed: {type(exc).__name__}: {exc}") from None
    click.echo(f"The Faroe tables are at revision {revision}.")


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
