"""User password update: the six actions of actions-account.md §3.

The reference's two spellings of the token error are kept (policy item 11), and
``set_user_password_update_new_password`` requires a verified identity (policy item 7).
"""

from __future__ import annotations

from ..actions import Context, Values, action, fail
from ..credentials import create_token
from ..entities import EntityKind, new_id_and_secret
from ..interfaces import User
from ..models import USER_PASSWORD_UPDATE_LIFETIME, user_password_update_model
from ..records import Session, UserPasswordUpdate
from ..sessions import end_other_sessions, validate_session_with_user
from .common import (
    hash_new_password,
    require_counter_below_limit,
    resolve_session_entity,
    verify_user_identity,
    write_new_password,
)

UPDATE = EntityKind(
    UserPasswordUpdate,
    lifetime=USER_PASSWORD_UPDATE_LIFETIME,
    inclusive=True,
    user_bound=True,
    counters=("password_hash", "disabled"),
)
INVALID = "invalid_password_update_token"
INVALID_IN_DELETE = "invalid_user_password_update_token"


def _resolve(
    ctx: Context, session_token: str, update_token: str, *, fresh_user: bool = False, invalid: str = INVALID
) -> tuple[UserPasswordUpdate, Session, User]:
    return resolve_session_entity(ctx, UPDATE, session_token, update_token, invalid, fresh_user=fresh_user)


@action("create_user_password_update", "session_token")
def create_user_password_update(ctx: Context, session_token: str) -> Values:
    session, user = validate_session_with_user(ctx, session_token)
    require_counter_below_limit(user.password_hash_counter, "password hash")
    update_id, secret, secret_hash = new_id_and_secret()
    update = UserPasswordUpdate(
        id=update_id,
        user_id=user.id,
        session_id=session.id,
        secret_hash=secret_hash,
        user_identity_verified=False,
        new_password_hash=b"",
        new_password_hash_algorithm_id="",
        new_password_salt=b"",
        new_password_set=False,
        user_password_hash_counter=user.password_hash_counter,
        user_disabled_counter=user.disabled_counter,
        created_at=ctx.unix_seconds,
    )
    UPDATE.add(ctx, update)
    return {
        "user_password_update": user_password_update_model(update),
        "user_password_update_token": create_token(update_id, secret),
    }


@action("get_user_password_update", "session_token", "user_password_update_token")
def get_user_password_update(ctx: Context, session_token: str, user_password_update_token: str) -> Values:
    update, _, _ = _resolve(ctx, session_token, user_password_update_token)
    return {"user_password_update": user_password_update_model(update)}


@action("delete_user_password_update", "session_token", "user_password_update_token")
def delete_user_password_update(
    ctx: Context, session_token: str, user_password_update_token: str
) -> Values:
    update, _, _ = _resolve(ctx, session_token, user_password_update_token, invalid=INVALID_IN_DELETE)
    if not UPDATE.delete(ctx, update.id):
        fail(INVALID_IN_DELETE)
    return {}


@action("verify_user_password_update_user_password", "session_token", "user_password_update_token", "password")
def verify_user_password_update_user_password(
    ctx: Context, session_token: str, user_password_update_token: str, password: str
) -> Values:
    update, _, user = _resolve(ctx, session_token, user_password_update_token, fresh_user=True)
    verify_user_identity(ctx, UPDATE, update, user, password)
    return {}


@action("set_user_password_update_new_password", "session_token", "user_password_update_token", "password")
def set_user_password_update_new_password(
    ctx: Context, session_token: str, user_password_update_token: str, password: str
) -> Values:
    update, _, _ = _resolve(ctx, session_token, user_password_update_token)
    if not update.user_identity_verified:
        fail("user_identity_not_verified")
    if update.new_password_set:
        fail("new_password_already_set")
    password_hash, algorithm_id, salt = hash_new_password(ctx, password)
    UPDATE.swap(
        ctx,
        update.id,
        lambda current: current.new_password_set,
        lambda current: current.replace(
            new_password_hash=password_hash,
            new_password_hash_algorithm_id=algorithm_id,
            new_password_salt=salt,
            new_password_set=True,
        ),
    )
    return {}


@action("complete_user_password_update", "session_token", "user_password_update_token")
def complete_user_password_update(
    ctx: Context, session_token: str, user_password_update_token: str
) -> Values:
    update, session, user = _resolve(ctx, session_token, user_password_update_token, fresh_user=True)
    if not update.user_identity_verified:
        fail("user_identity_not_verified")
    if not update.new_password_set:
        fail("new_password_not_set")
    # The expected counter is the current one; resolving the update checked it equals the snapshot.
    write_new_password(ctx, UPDATE, update, user, user.password_hash_counter)
    if ctx.server.session_config.end_other_sessions_on_password_change:
        try:
            end_other_sessions(ctx, user, keep_session_id=session.id)
        except Exception as exc:  # noqa: BLE001 - the password has changed; report, don't undo
            ctx.log(f"ending the user's other sessions failed: {type(exc).__name__}")
    return {}


ACTIONS = [
    create_user_password_update,
    get_user_password_update,
    delete_user_password_update,
    verify_user_password_update_user_password,
    set_user_password_update_new_password,
    complete_user_password_update,
]
