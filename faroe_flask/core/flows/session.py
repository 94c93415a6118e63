"""Sessions: the three actions of actions-auth.md §4."""

from __future__ import annotations

from ..actions import Context, Values, action, conflict
from ..interfaces import StorageEntryNotFoundError, UserNotFoundError
from ..models import session_model
from ..records import Session
from ..sessions import validate_session, validate_session_with_user


@action("get_session", "session_token")
def get_session(ctx: Context, session_token: str) -> Values:
    session = validate_session(ctx, session_token)
    return {"session": session_model(ctx, session)}


@action("delete_session", "session_token")
def delete_session(ctx: Context, session_token: str) -> Values:
    session = validate_session(ctx, session_token)
    try:
        ctx.server.storage.delete(ctx.key(Session.PREFIX, session.id))
    except StorageEntryNotFoundError:
        pass  # deleted concurrently: signed out all the same
    return {}


@action("delete_all_sessions", "session_token")
def delete_all_sessions(ctx: Context, session_token: str) -> Values:
    session, user = validate_session_with_user(ctx, session_token)
    try:
        ctx.server.user_store.increment_user_sessions_counter(user.id, user.sessions_counter)
    except UserNotFoundError:
        conflict()  # recommended mapping: the counter moved concurrently
    return {}


ACTIONS = [get_session, delete_session, delete_all_sessions]
