"""User password reset: the six actions of actions-auth.md §5.

With the Compatibility policy: a bad, expired or invalidated reset token is
``invalid_user_password_reset_token`` (item 4), and a change of the user's password hash counter
invalidates the reset (the recommended §1.11 step 7b).
"""

from __future__ import annotations

from ..actions import Context, LoggedFailure, Values, action, fail, from_unix_seconds
from ..credentials import create_token, generate_temporary_password
from ..entities import EntityKind, new_id_and_secret
from ..interfaces import User
from ..models import USER_PASSWORD_RESET_LIFETIME, session_values, user_password_reset_model
from ..ratelimit import SEND_EMAIL, VERIFY_USER_PASSWORD_RESET_TEMPORARY_PASSWORD
from ..records import UserPasswordReset
from ..sessions import create_session, end_other_sessions
from .common import (
    find_user_by_email_address,
    hash_new_password,
    require_counter_below_limit,
    require_valid_email_address,
    send_notification,
    send_or_undo,
    write_new_password,
)

RESET = EntityKind(
    UserPasswordReset,
    lifetime=USER_PASSWORD_RESET_LIFETIME,
    inclusive=False,
    user_bound=True,
    counters=("email_address", "password_hash", "disabled"),
)
INVALID = "invalid_user_password_reset_token"


def _resolve(ctx: Context, token: str) -> tuple[UserPasswordReset, User]:
    reset, user = RESET.resolve(ctx, token, INVALID)
    assert user is not None
    return reset, user


@action("create_user_password_reset", "user_email_address")
def create_user_password_reset(ctx: Context, user_email_address: str) -> Values:
    require_valid_email_address(user_email_address)
    user = find_user_by_email_address(ctx, user_email_address)
    require_counter_below_limit(user.password_hash_counter, "password hash")
    VERIFY_USER_PASSWORD_RESET_TEMPORARY_PASSWORD.require(ctx, user.id)
    SEND_EMAIL.take(ctx, user_email_address)
    temporary_password = generate_temporary_password()
    temporary_hash, temporary_algorithm_id, temporary_salt = (
        ctx.server.passwords.hash_temporary_password(temporary_password)
    )
    reset_id, secret, secret_hash = new_id_and_secret()
    reset = UserPasswordReset(
        id=reset_id,
        user_id=user.id,
        secret_hash=secret_hash,
        temporary_password_hash=temporary_hash,
        temporary_password_hash_algorithm_id=temporary_algorithm_id,
        temporary_password_salt=temporary_salt,
        user_first_factor_verified=False,
        new_password_hash=b"",
        new_password_hash_algorithm_id="",
        new_password_salt=b"",
        new_password_set=False,
        user_password_hash_counter=user.password_hash_counter,
        user_email_address_counter=user.email_address_counter,
        user_disabled_counter=user.disabled_counter,
        created_at=ctx.unix_seconds,
    )
    RESET.add(ctx, reset)
    send_or_undo(
        ctx,
        lambda: ctx.server.email_sender.send_user_password_reset_temporary_password(
            user.email_address, user.display_name, temporary_password
        ),
        lambda: RESET.delete(ctx, reset_id),
        "temporary password",
    )
    return {
        "user_password_reset": user_password_reset_model(reset),
        "user_password_reset_token": create_token(reset_id, secret),
    }


@action("get_user_password_reset", "user_password_reset_token")
def get_user_password_reset(ctx: Context, user_password_reset_token: str) -> Values:
    reset, _ = _resolve(ctx, user_password_reset_token)
    return {"user_password_reset": user_password_reset_model(reset)}


@action("delete_user_password_reset", "user_password_reset_token")
def delete_user_password_reset(ctx: Context, user_password_reset_token: str) -> Values:
    reset, _ = _resolve(ctx, user_password_reset_token)
    if not RESET.delete(ctx, reset.id):
        fail(INVALID)
    return {}


@action(
    "verify_user_password_reset_temporary_password", "user_password_reset_token", "temporary_password"
)
def verify_user_password_reset_temporary_password(
    ctx: Context, user_password_reset_token: str, temporary_password: str
) -> Values:
    reset, _ = _resolve(ctx, user_password_reset_token)
    if reset.user_first_factor_verified:
        fail("user_first_factor_already_verified")
    VERIFY_USER_PASSWORD_RESET_TEMPORARY_PASSWORD.take(ctx, reset.user_id)
    passwords = ctx.server.passwords
    if not passwords.temporary_algorithm_supports(reset.temporary_password_hash_algorithm_id):
        RESET.delete_logging_errors(ctx, reset.id)
        fail(INVALID)
    # Policy item 10: temporary passwords are upper-case; accept the input in any case.
    if not passwords.verify_temporary_password(
        temporary_password.upper(), reset.temporary_password_hash, reset.temporary_password_salt
    ):
        fail("incorrect_temporary_password")
    RESET.swap(
        ctx,
        reset.id,
        lambda current: current.user_first_factor_verified,
        lambda current: current.replace(user_first_factor_verified=True),
    )
    return {}


@action("set_user_password_reset_new_password", "user_password_reset_token", "password")
def set_user_password_reset_new_password(
    ctx: Context, user_password_reset_token: str, password: str
) -> Values:
    reset, _ = _resolve(ctx, user_password_reset_token)
    if not reset.user_first_factor_verified:
        fail("user_first_factor_not_verified")
    if reset.new_password_set:
        fail("new_password_already_set")
    password_hash, algorithm_id, salt = hash_new_password(ctx, password)
    RESET.swap(
        ctx,
        reset.id,
        lambda current: current.new_password_set,
        lambda current: current.replace(
            new_password_hash=password_hash,
            new_password_hash_algorithm_id=algorithm_id,
            new_password_salt=salt,
            new_password_set=True,
        ),
    )
    return {}


@action("complete_user_password_reset", "user_password_reset_token")
def complete_user_password_reset(ctx: Context, user_password_reset_token: str) -> Values:
    reset, user = _resolve(ctx, user_password_reset_token)
    if not reset.user_first_factor_verified:
        fail("user_first_factor_not_verified")
    if not reset.new_password_set:
        fail("new_password_not_set")
    # The expected counter is the snapshot taken when the reset was created.
    write_new_password(ctx, RESET, reset, user, reset.user_password_hash_counter)
    try:
        if ctx.server.session_config.end_other_sessions_on_password_change:
            user = end_other_sessions(ctx, user)
        session, token = create_session(ctx, user)
    except Exception as exc:  # noqa: BLE001 - the password has changed; F12 item 3
        raise LoggedFailure(
            f"creating the new session failed: {type(exc).__name__}", "session_not_created"
        ) from exc
    send_notification(
        ctx,
        lambda: ctx.server.email_sender.send_user_signed_in_notification(
            user.email_address, user.display_name, from_unix_seconds(session.created_at)
        ),
        "signed-in notification",
    )
    return session_values(ctx, session, token)


ACTIONS = [
    create_user_password_reset,
    get_user_password_reset,
    delete_user_password_reset,
    verify_user_password_reset_temporary_password,
    set_user_password_reset_new_password,
    complete_user_password_reset,
]
