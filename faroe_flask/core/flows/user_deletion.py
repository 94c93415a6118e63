"""User deletion: the five actions of actions-account.md §4."""

from __future__ import annotations

from ..actions import Context, LoggedFailure, Values, action, conflict, fail
from ..credentials import create_token
from ..entities import EntityKind, new_id_and_secret
from ..interfaces import User, UserDeletionRefusedError, UserNotFoundError
from ..models import USER_DELETION_LIFETIME, user_deletion_model
from ..records import Session, UserDeletion
from ..sessions import validate_session_with_user
from .common import resolve_session_entity, verify_user_identity

DELETION = EntityKind(
    UserDeletion,
    lifetime=USER_DELETION_LIFETIME,
    inclusive=True,
    user_bound=True,
    counters=("password_hash", "disabled"),
)
INVALID = "invalid_user_deletion_token"
#: ``ActionError.cause`` of a deletion the database refused (the answer is ``internal_error``).
USER_DELETION_REFUSED = "user_deletion_refused"


def _resolve(
    ctx: Context, session_token: str, deletion_token: str, *, fresh_user: bool = False
) -> tuple[UserDeletion, Session, User]:
    return resolve_session_entity(ctx, DELETION, session_token, deletion_token, INVALID, fresh_user=fresh_user)


@action("create_user_deletion", "session_token")
def create_user_deletion(ctx: Context, session_token: str) -> Values:
    session, user = validate_session_with_user(ctx, session_token)
    deletion_id, secret, secret_hash = new_id_and_secret()
    deletion = UserDeletion(
        id=deletion_id,
        user_id=session.user_id,
        session_id=session.id,
        secret_hash=secret_hash,
        user_identity_verified=False,
        user_password_hash_counter=user.password_hash_counter,
        user_disabled_counter=user.disabled_counter,
        created_at=ctx.unix_seconds,
    )
    DELETION.add(ctx, deletion)
    return {
        "user_deletion": user_deletion_model(deletion),
        "user_deletion_token": create_token(deletion_id, secret),
    }


@action("get_user_deletion", "session_token", "user_deletion_token")
def get_user_deletion(ctx: Context, session_token: str, user_deletion_token: str) -> Values:
    deletion, _, _ = _resolve(ctx, session_token, user_deletion_token)
    return {"user_deletion": user_deletion_model(deletion)}


@action("delete_user_deletion", "session_token", "user_deletion_token")
def delete_user_deletion(ctx: Context, session_token: str, user_deletion_token: str) -> Values:
    deletion, _, _ = _resolve(ctx, session_token, user_deletion_token)
    if not DELETION.delete(ctx, deletion.id):
        fail(INVALID)
    return {}


@action("verify_user_deletion_user_password", "session_token", "user_deletion_token", "password")
def verify_user_deletion_user_password(
    ctx: Context, session_token: str, user_deletion_token: str, password: str
) -> Values:
    deletion, _, user = _resolve(ctx, session_token, user_deletion_token, fresh_user=True)
    verify_user_identity(ctx, DELETION, deletion, user, password)
    return {}


@action("complete_user_deletion", "session_token", "user_deletion_token")
def complete_user_deletion(ctx: Context, session_token: str, user_deletion_token: str) -> Values:
    deletion, _, _ = _resolve(ctx, session_token, user_deletion_token)
    if not deletion.user_identity_verified:
        fail("user_identity_not_verified")
    try:
        ctx.server.user_store.delete_user(deletion.user_id)
    except UserNotFoundError:
        conflict()
    except UserDeletionRefusedError as refused:
        # actions-account.md §4, step 5: any other user-store error is internal_error, logged,
        # and the deletion record is kept (the user can try again once the data is dealt with).
        raise LoggedFailure(
            f"the user store refused to delete the user: {refused}", cause=USER_DELETION_REFUSED
        ) from None
    DELETION.delete_logging_errors(ctx, deletion.id)
    return {}


ACTIONS = [
    create_user_deletion,
    get_user_deletion,
    delete_user_deletion,
    verify_user_deletion_user_password,
    complete_user_deletion,
]
