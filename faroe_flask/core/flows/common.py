"""Steps several flows share: checks on new email addresses and passwords, and sending email."""

from __future__ import annotations

from collections.abc import Callable

from typing import Any, TypeVar

from ..actions import Context, LoggedFailure, conflict, fail, from_unix_seconds, internal_error
from ..entities import EntityKind
from ..interfaces import User, UserNotFoundError
from ..ratelimit import VERIFY_USER_PASSWORD
from ..records import (
    INT32_MAX,
    Record,
    Session,
    UserDeletion,
    UserEmailAddressUpdate,
    UserPasswordReset,
    UserPasswordUpdate,
)
from ..sessions import validate_session, validate_session_with_user
from ..validation import is_valid_email_address, is_valid_password_length


def require_valid_email_address(email_address: str) -> None:
    if not is_valid_email_address(email_address):
        fail("invalid_email_address")


def require_unused_email_address(ctx: Context, email_address: str) -> None:
    """Availability check: any user with exactly this address answers ``email_address_already_used``."""
    try:
        ctx.server.user_store.get_user_by_email_address(email_address)
    except UserNotFoundError:
        return
    fail("email_address_already_used")


def email_address_allowed(ctx: Context, email_address: str) -> bool:
    """The new email address checker (F4.5); its exceptions become ``internal_error``."""
    return bool(ctx.server.email_address_checker.is_allowed(email_address))


def require_allowed_email_address(ctx: Context, email_address: str) -> None:
    if not email_address_allowed(ctx, email_address):
        fail("email_address_not_allowed")


def find_user_by_email_address(ctx: Context, email_address: str) -> User:
    """For sign-in and password reset: the enabled user with exactly this address."""
    try:
        user = ctx.server.user_store.get_user_by_email_address(email_address)
    except UserNotFoundError:
        fail("user_not_found")
    if user.disabled:
        fail("user_disabled")
    return user


def hash_new_password(ctx: Context, password: str) -> tuple[bytes, str, bytes]:
    """Length rule, then strength check, then hashing with the first user algorithm (F5, F6.2)."""
    if not is_valid_password_length(password):
        fail("invalid_password_length")
    try:
        strong = ctx.server.password_strength_checker.is_strong(password)
    except Exception as exc:  # noqa: BLE001 - F5.2: a failing check is an internal error
        internal_error(f"password strength check failed: {type(exc).__name__}")
    if not strong:
        fail("weak_password")
    return ctx.server.passwords.hash_user_password(password)


def require_correct_user_password(ctx: Context, user: User, password: str) -> None:
    if not ctx.server.passwords.verify_user_password(
        password, user.password_hash, user.password_hash_algorithm_id, user.password_salt
    ):
        fail("incorrect_password")


def require_counter_below_limit(counter: int, name: str) -> None:
    """The overflow guard of the create actions: a counter at int32's maximum cannot move on."""
    if counter == INT32_MAX:
        raise LoggedFailure(f"the user's {name} counter reached its limit")


def verify_user_identity(
    ctx: Context,
    kind: EntityKind[Any],
    record: UserEmailAddressUpdate | UserPasswordUpdate | UserDeletion,
    user: User,
    password: str,
) -> None:
    """The ``verify_*_user_password`` step of the account flows: not yet verified, a token from
    the user's verify-password bucket, the password, then the flag set by compare-and-swap."""
    if record.user_identity_verified:
        fail("user_identity_already_verified")
    VERIFY_USER_PASSWORD.take(ctx, user.id)
    require_correct_user_password(ctx, user, password)
    kind.swap(
        ctx,
        record.id,
        lambda current: current.user_identity_verified,
        lambda current: current.replace(user_identity_verified=True),
    )


def send_or_undo(ctx: Context, send: Callable[[], None], undo: Callable[[], object], what: str) -> None:
    """Send the email a create action owes; if it fails, delete the new record (policy item 9)."""
    try:
        send()
    except Exception as exc:  # noqa: BLE001
        message = f"sending the {what} failed: {type(exc).__name__}"
        try:
            undo()
        except Exception as undo_exc:  # noqa: BLE001 - reported in the one log line
            message += f"; deleting the record failed too: {type(undo_exc).__name__}"
        internal_error(message)


def send_required(ctx: Context, send: Callable[[], None], what: str) -> None:
    """Send an email the action's answer depends on; failure is ``internal_error``."""
    try:
        send()
    except Exception as exc:  # noqa: BLE001
        internal_error(f"sending the {what} failed: {type(exc).__name__}")


def send_notification(ctx: Context, send: Callable[[], None], what: str) -> None:
    """Send a notification; failure is only logged (F11.2)."""
    try:
        send()
    except Exception as exc:  # noqa: BLE001
        ctx.log(f"sending the {what} failed: {type(exc).__name__}")


R = TypeVar("R", bound=Record)


def resolve_session_entity(
    ctx: Context,
    kind: EntityKind[R],
    session_token: str,
    entity_token: str,
    invalid_code: str,
    *,
    fresh_user: bool,
) -> tuple[R, Session, User]:
    """actions-account.md steps 1 to 3: the session (§1.4), the entity (§1.5), their link (§1.6).

    ``fresh_user`` selects full session validation (Variant B) and returns the user it fetched;
    otherwise the user comes from the entity's resolution. Either is the current user record.
    """
    if fresh_user:
        session, user = validate_session_with_user(ctx, session_token)
    else:
        session = validate_session(ctx, session_token)
    record, entity_user = kind.resolve(ctx, entity_token, invalid_code)
    if record.session_id != session.id:  # type: ignore[attr-defined]
        fail("session_mismatch")
    assert entity_user is not None
    return record, session, user if fresh_user else entity_user


def write_new_password(
    ctx: Context,
    kind: EntityKind[Any],
    record: UserPasswordReset | UserPasswordUpdate,
    user: User,
    expected_password_hash_counter: int,
) -> None:
    """Complete a password change: store the record's new hash on the user (a compare-and-swap on
    the password hash counter; a lost race is ``internal_conflict`` and keeps the record), delete
    the record, and send the password-updated notification."""
    try:
        ctx.server.user_store.update_user_password_hash(
            record.user_id,
            record.new_password_hash,
            record.new_password_hash_algorithm_id,
            record.new_password_salt,
            expected_password_hash_counter,
        )
    except UserNotFoundError:
        conflict()
    updated_at = from_unix_seconds(ctx.unix_seconds)
    kind.delete_logging_errors(ctx, record.id)
    send_notification(
        ctx,
        lambda: ctx.server.email_sender.send_user_password_updated_notification(
            user.email_address, user.display_name, updated_at
        ),
        "password-updated notification",
    )
