"""User email address update: the seven actions of actions-account.md §2."""

from __future__ import annotations

from ..actions import Context, Values, action, conflict, fail, from_unix_seconds
from ..credentials import code_matches, create_token, generate_email_address_verification_code
from ..entities import EntityKind, new_id_and_secret
from ..interfaces import User, UserEmailAddressAlreadyUsedError, UserNotFoundError
from ..models import USER_EMAIL_ADDRESS_UPDATE_LIFETIME, user_email_address_update_model
from ..ratelimit import SEND_EMAIL, VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE
from ..records import Session, UserEmailAddressUpdate
from ..sessions import validate_session_with_user
from .common import (
    email_address_allowed,
    require_allowed_email_address,
    require_counter_below_limit,
    require_unused_email_address,
    require_valid_email_address,
    resolve_session_entity,
    send_notification,
    send_or_undo,
    send_required,
    verify_user_identity,
)

UPDATE = EntityKind(
    UserEmailAddressUpdate,
    lifetime=USER_EMAIL_ADDRESS_UPDATE_LIFETIME,
    inclusive=True,
    user_bound=True,
    counters=("password_hash", "email_address", "disabled"),
)
INVALID = "invalid_user_email_address_update_token"


def _resolve(
    ctx: Context, session_token: str, update_token: str
) -> tuple[UserEmailAddressUpdate, Session, User]:
    return resolve_session_entity(ctx, UPDATE, session_token, update_token, INVALID, fresh_user=False)


def _send_code(ctx: Context, update: UserEmailAddressUpdate, display_name: str) -> None:
    ctx.server.email_sender.send_user_email_address_update_email_verification_code(
        update.new_email_address, display_name, update.email_address_verification_code
    )


@action("create_user_email_address_update", "session_token", "new_email_address")
def create_user_email_address_update(ctx: Context, session_token: str, new_email_address: str) -> Values:
    require_valid_email_address(new_email_address)
    session, user = validate_session_with_user(ctx, session_token)
    require_counter_below_limit(user.email_address_counter, "email address")
    require_unused_email_address(ctx, new_email_address)
    require_allowed_email_address(ctx, new_email_address)
    VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE.require(ctx, new_email_address)
    SEND_EMAIL.take(ctx, new_email_address)
    update_id, secret, secret_hash = new_id_and_secret()
    update = UserEmailAddressUpdate(
        id=update_id,
        user_id=session.user_id,
        session_id=session.id,
        secret_hash=secret_hash,
        new_email_address=new_email_address,
        email_address_verification_code=generate_email_address_verification_code(),
        new_email_address_verified=False,
        user_identity_verified=False,
        user_password_hash_counter=user.password_hash_counter,
        user_email_address_counter=user.email_address_counter,
        user_disabled_counter=user.disabled_counter,
        created_at=ctx.unix_seconds,
    )
    UPDATE.add(ctx, update)
    send_or_undo(
        ctx,
        lambda: _send_code(ctx, update, user.display_name),
        lambda: UPDATE.delete(ctx, update_id),
        "email address update verification code",
    )
    return {
        "user_email_address_update": user_email_address_update_model(update),
        "user_email_address_update_token": create_token(update_id, secret),
    }


@action("get_user_email_address_update", "session_token", "user_email_address_update_token")
def get_user_email_address_update(
    ctx: Context, session_token: str, user_email_address_update_token: str
) -> Values:
    update, _, _ = _resolve(ctx, session_token, user_email_address_update_token)
    return {"user_email_address_update": user_email_address_update_model(update)}


@action("delete_user_email_address_update", "session_token", "user_email_address_update_token")
def delete_user_email_address_update(
    ctx: Context, session_token: str, user_email_address_update_token: str
) -> Values:
    update, _, _ = _resolve(ctx, session_token, user_email_address_update_token)
    if not UPDATE.delete(ctx, update.id):
        fail(INVALID)
    return {}


@action(
    "send_user_email_address_update_email_address_verification_code",
    "session_token",
    "user_email_address_update_token",
)
def send_user_email_address_update_email_address_verification_code(
    ctx: Context, session_token: str, user_email_address_update_token: str
) -> Values:
    update, _, user = _resolve(ctx, session_token, user_email_address_update_token)
    if update.new_email_address_verified:
        fail("email_address_already_verified")
    VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE.require(ctx, update.new_email_address)
    SEND_EMAIL.take(ctx, update.new_email_address)
    send_required(
        ctx, lambda: _send_code(ctx, update, user.display_name), "email address update verification code"
    )
    return {}


@action(
    "verify_user_email_address_update_email_address_verification_code",
    "session_token",
    "user_email_address_update_token",
    "email_address_verification_code",
)
def verify_user_email_address_update_email_address_verification_code(
    ctx: Context,
    session_token: str,
    user_email_address_update_token: str,
    email_address_verification_code: str,
) -> Values:
    update, _, _ = _resolve(ctx, session_token, user_email_address_update_token)
    if update.new_email_address_verified:
        fail("email_address_already_verified")
    VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE.take(ctx, update.new_email_address)
    if not code_matches(email_address_verification_code, update.email_address_verification_code):
        fail("incorrect_email_address_verification_code")
    UPDATE.swap(
        ctx,
        update.id,
        lambda current: current.new_email_address_verified,
        lambda current: current.replace(new_email_address_verified=True),
    )
    return {}


@action(
    "verify_user_email_address_update_user_password",
    "session_token",
    "user_email_address_update_token",
    "password",
)
def verify_user_email_address_update_user_password(
    ctx: Context, session_token: str, user_email_address_update_token: str, password: str
) -> Values:
    update, _, user = _resolve(ctx, session_token, user_email_address_update_token)
    if not update.new_email_address_verified:
        fail("email_address_not_verified")
    verify_user_identity(ctx, UPDATE, update, user, password)
    return {}


@action("complete_user_email_address_update", "session_token", "user_email_address_update_token")
def complete_user_email_address_update(
    ctx: Context, session_token: str, user_email_address_update_token: str
) -> Values:
    update, _, user = _resolve(ctx, session_token, user_email_address_update_token)
    if not update.new_email_address_verified:
        fail("email_address_not_verified")
    if not update.user_identity_verified:
        fail("user_identity_not_verified")
    if not email_address_allowed(ctx, update.new_email_address):
        UPDATE.delete_logging_errors(ctx, update.id)
        fail(INVALID)
    try:
        ctx.server.user_store.update_user_email_address(
            update.user_id, update.new_email_address, user.email_address_counter
        )
    except UserEmailAddressAlreadyUsedError:
        UPDATE.delete_logging_errors(ctx, update.id)
        fail(INVALID)
    except UserNotFoundError:
        conflict()
    updated_at = from_unix_seconds(ctx.unix_seconds)
    UPDATE.delete_logging_errors(ctx, update.id)
    send_notification(
        ctx,
        lambda: ctx.server.email_sender.send_user_email_address_updated_notification(
            user.email_address, user.display_name, update.new_email_address, updated_at
        ),
        "email-address-updated notification",
    )
    return {}


ACTIONS = [
    create_user_email_address_update,
    get_user_email_address_update,
    delete_user_email_address_update,
    send_user_email_address_update_email_address_verification_code,
    verify_user_email_address_update_email_address_verification_code,
    verify_user_email_address_update_user_password,
    complete_user_email_address_update,
]
