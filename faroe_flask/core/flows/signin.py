"""Signin: the five actions of actions-auth.md §3."""

from __future__ import annotations

from ..actions import Context, Values, action, fail, from_unix_seconds
from ..credentials import create_token
from ..entities import EntityKind, new_id_and_secret
from ..models import SIGNIN_LIFETIME, session_values, signin_model
from ..ratelimit import VERIFY_USER_PASSWORD
from ..interfaces import User
from ..records import Signin
from ..sessions import create_session
from .common import (
    find_user_by_email_address,
    require_correct_user_password,
    require_valid_email_address,
    send_notification,
)

SIGNIN = EntityKind(
    Signin,
    lifetime=SIGNIN_LIFETIME,
    inclusive=False,
    user_bound=True,
    counters=("password_hash", "disabled"),
)
INVALID = "invalid_signin_token"


def _resolve(ctx: Context, signin_token: str) -> tuple[Signin, User]:
    signin, user = SIGNIN.resolve(ctx, signin_token, INVALID)
    assert user is not None
    return signin, user


@action("create_signin", "user_email_address")
def create_signin(ctx: Context, user_email_address: str) -> Values:
    require_valid_email_address(user_email_address)
    user = find_user_by_email_address(ctx, user_email_address)
    signin_id, secret, secret_hash = new_id_and_secret()
    signin = Signin(
        id=signin_id,
        user_id=user.id,
        secret_hash=secret_hash,
        user_first_factor_verified=False,
        user_password_hash_counter=user.password_hash_counter,
        user_disabled_counter=user.disabled_counter,
        created_at=ctx.unix_seconds,
    )
    SIGNIN.add(ctx, signin)
    return {"signin": signin_model(signin), "signin_token": create_token(signin_id, secret)}


@action("get_signin", "signin_token")
def get_signin(ctx: Context, signin_token: str) -> Values:
    signin, _ = _resolve(ctx, signin_token)
    return {"signin": signin_model(signin)}


@action("delete_signin", "signin_token")
def delete_signin(ctx: Context, signin_token: str) -> Values:
    signin, _ = _resolve(ctx, signin_token)
    if not SIGNIN.delete(ctx, signin.id):
        fail(INVALID)
    return {}


@action("verify_signin_user_password", "signin_token", "password")
def verify_signin_user_password(ctx: Context, signin_token: str, password: str) -> Values:
    signin, user = _resolve(ctx, signin_token)
    if signin.user_first_factor_verified:
        fail("user_first_factor_already_verified")
    VERIFY_USER_PASSWORD.take(ctx, user.id)
    require_correct_user_password(ctx, user, password)
    SIGNIN.swap(
        ctx,
        signin.id,
        lambda current: current.user_first_factor_verified,
        lambda current: current.replace(user_first_factor_verified=True),
    )
    return {}


@action("complete_signin", "signin_token")
def complete_signin(ctx: Context, signin_token: str) -> Values:
    signin, user = _resolve(ctx, signin_token)
    if not signin.user_first_factor_verified:
        fail("user_first_factor_not_verified")
    # Policy item 6: consume the signin first, so concurrent completions get one session.
    if not SIGNIN.delete(ctx, signin.id):
        fail(INVALID)
    session, token = create_session(ctx, user)
    send_notification(
        ctx,
        lambda: ctx.server.email_sender.send_user_signed_in_notification(
            user.email_address, user.display_name, from_unix_seconds(session.created_at)
        ),
        "signed-in notification",
    )
    return session_values(ctx, session, token)


ACTIONS = [create_signin, get_signin, delete_signin, verify_signin_user_password, complete_signin]
