"""Signup: the seven actions of actions-auth.md §2."""

from __future__ import annotations

from ..records import Signup
from ..actions import Context, LoggedFailure, Values, action, fail
from ..credentials import code_matches, create_token, generate_email_address_verification_code
from ..entities import EntityKind, new_id_and_secret
from ..interfaces import UserEmailAddressAlreadyUsedError, UserNotFoundError
from ..models import SIGNUP_LIFETIME, session_values, signup_model
from ..ratelimit import SEND_EMAIL, VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE
from ..sessions import create_session
from .common import (
    email_address_allowed,
    hash_new_password,
    require_allowed_email_address,
    require_unused_email_address,
    require_valid_email_address,
    send_or_undo,
    send_required,
)

SIGNUP = EntityKind(Signup, lifetime=SIGNUP_LIFETIME, inclusive=False, user_bound=False)
INVALID = "invalid_signup_token"


def _resolve(ctx: Context, signup_token: str) -> Signup:
    signup, _ = SIGNUP.resolve(ctx, signup_token, INVALID)
    return signup


@action("create_signup", "email_address")
def create_signup(ctx: Context, email_address: str) -> Values:
    require_valid_email_address(email_address)
    require_unused_email_address(ctx, email_address)
    require_allowed_email_address(ctx, email_address)
    VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE.require(ctx, email_address)
    SEND_EMAIL.take(ctx, email_address)
    signup_id, secret, secret_hash = new_id_and_secret()
    signup = Signup(
        id=signup_id,
        secret_hash=secret_hash,
        email_address=email_address,
        email_address_verification_code=generate_email_address_verification_code(),
        email_address_verified=False,
        password_hash=b"",
        password_hash_algorithm_id="",
        password_salt=b"",
        password_set=False,
        created_at=ctx.unix_seconds,
    )
    SIGNUP.add(ctx, signup)
    send_or_undo(
        ctx,
        lambda: ctx.server.email_sender.send_signup_email_address_verification_code(
            email_address, signup.email_address_verification_code
        ),
        lambda: SIGNUP.delete(ctx, signup_id),
        "signup verification code",
    )
    return {"signup": signup_model(signup), "signup_token": create_token(signup_id, secret)}


@action("get_signup", "signup_token")
def get_signup(ctx: Context, signup_token: str) -> Values:
    return {"signup": signup_model(_resolve(ctx, signup_token))}


@action("delete_signup", "signup_token")
def delete_signup(ctx: Context, signup_token: str) -> Values:
    signup = _resolve(ctx, signup_token)
    if not SIGNUP.delete(ctx, signup.id):
        fail(INVALID)
    return {}


@action("send_signup_email_address_verification_code", "signup_token")
def send_signup_email_address_verification_code(ctx: Context, signup_token: str) -> Values:
    signup = _resolve(ctx, signup_token)
    if signup.email_address_verified:
        fail("email_address_already_verified")
    VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE.require(ctx, signup.email_address)
    SEND_EMAIL.take(ctx, signup.email_address)
    send_required(
        ctx,
        lambda: ctx.server.email_sender.send_signup_email_address_verification_code(
            signup.email_address, signup.email_address_verification_code
        ),
        "signup verification code",
    )
    return {}


@action(
    "verify_signup_email_address_verification_code", "signup_token", "email_address_verification_code"
)
def verify_signup_email_address_verification_code(
    ctx: Context, signup_token: str, email_address_verification_code: str
) -> Values:
    signup = _resolve(ctx, signup_token)
    if signup.email_address_verified:
        fail("email_address_already_verified")
    VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE.take(ctx, signup.email_address)
    if not code_matches(email_address_verification_code, signup.email_address_verification_code):
        fail("incorrect_email_address_verification_code")
    SIGNUP.swap(
        ctx,
        signup.id,
        lambda current: current.email_address_verified,
        lambda current: current.replace(email_address_verified=True),
    )
    return {}


@action("set_signup_password", "signup_token", "password")
def set_signup_password(ctx: Context, signup_token: str, password: str) -> Values:
    signup = _resolve(ctx, signup_token)
    if not signup.email_address_verified:
        fail("email_address_not_verified")
    if signup.password_set:
        fail("password_already_set")
    password_hash, algorithm_id, salt = hash_new_password(ctx, password)
    SIGNUP.swap(
        ctx,
        signup.id,
        lambda current: current.password_set,
        lambda current: current.replace(
            password_hash=password_hash,
            password_hash_algorithm_id=algorithm_id,
            password_salt=salt,
            password_set=True,
        ),
    )
    return {}


@action("complete_signup", "signup_token")
def complete_signup(ctx: Context, signup_token: str) -> Values:
    signup = _resolve(ctx, signup_token)
    if not signup.email_address_verified:
        fail("email_address_not_verified")
    if not signup.password_set:
        fail("password_not_set")
    if not email_address_allowed(ctx, signup.email_address):
        SIGNUP.delete_logging_errors(ctx, signup.id)
        fail(INVALID)
    try:
        user = ctx.server.user_store.create_user(
            signup.email_address,
            signup.password_hash,
            signup.password_hash_algorithm_id,
            signup.password_salt,
        )
    except UserEmailAddressAlreadyUsedError:
        SIGNUP.delete_logging_errors(ctx, signup.id)
        fail(INVALID)
    except UserNotFoundError:
        fail("internal_conflict")
    SIGNUP.delete_logging_errors(ctx, signup.id)
    try:
        session, token = create_session(ctx, user)
    except Exception as exc:  # noqa: BLE001 - the user exists; F12 item 3
        raise LoggedFailure(
            f"storing the new session failed: {type(exc).__name__}", "session_not_created"
        ) from exc
    return session_values(ctx, session, token)


ACTIONS = [
    create_signup,
    get_signup,
    delete_signup,
    send_signup_email_address_verification_code,
    verify_signup_email_address_verification_code,
    set_signup_password,
    complete_signup,
]
