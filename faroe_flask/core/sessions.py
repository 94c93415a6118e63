"""Session configuration, creation and validation (foundations.md F9)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from .actions import Context, fail, from_unix_seconds
from .credentials import create_token, parse_token, secret_matches
from .entities import new_id_and_secret
from .envelope import ActionSuccess
from .interfaces import StorageEntryNotFoundError, User, UserNotFoundError
from .models import session_model_of
from .records import Session

INVALID_SESSION_TOKEN = "invalid_session_token"


@dataclasses.dataclass(frozen=True)
class SessionConfig:
    """How long sessions live (F9.1). Applied at every read, so changes affect live sessions.

    ``expiration`` of ``None`` (or zero) disables the absolute lifetime; ``user_cache_expiration``
    of zero disables the user cache. ``end_other_sessions_on_password_change`` is an opt-in
    extension beyond the reference (ASVS 7.4.3): a completed password update or reset then ends
    every other session of the user.
    """

    inactivity_timeout: timedelta = timedelta(days=30)
    activity_check_interval: timedelta = timedelta(minutes=1)
    expiration: timedelta | None = None
    user_cache_expiration: timedelta = timedelta(0)
    end_other_sessions_on_password_change: bool = False
    _seconds: tuple[float, float, float, float] = dataclasses.field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.inactivity_timeout <= timedelta(0):
            raise ValueError("inactivity_timeout must be positive")
        if self.activity_check_interval <= timedelta(0):
            raise ValueError("activity_check_interval must be positive")
        if self.expiration is not None and self.expiration < timedelta(0):
            raise ValueError("expiration must not be negative")
        if self.user_cache_expiration < timedelta(0):
            raise ValueError("user_cache_expiration must not be negative")
        # The durations in seconds, worked out once: they are read on every session validation.
        seconds = (
            self.expiration.total_seconds() if self.expiration else 0.0,
            self.inactivity_timeout.total_seconds(),
            self.user_cache_expiration.total_seconds(),
            self.activity_check_interval.total_seconds(),
        )
        object.__setattr__(self, "_seconds", seconds)

    @property
    def expiration_seconds(self) -> float:
        return self._seconds[0]

    @property
    def inactivity_seconds(self) -> float:
        return self._seconds[1]

    @property
    def user_cache_seconds(self) -> float:
        return self._seconds[2]

    @property
    def activity_check_seconds(self) -> float:
        return self._seconds[3]

    def is_expired(self, session: Session, now: float) -> bool:
        """F9.2: absolute expiration first, then inactivity."""
        if self.expiration_seconds > 0 and now - session.created_at >= self.expiration_seconds:
            return True
        return now - session.token_last_verified_at >= self.inactivity_seconds

    def expires_at(self, session: Session) -> int | None:
        """The model's ``expires_at`` (F9.6): only the absolute lifetime, or ``None``."""
        if self.expiration_seconds > 0:
            return session.created_at + int(self.expiration_seconds)
        return None


def _key(ctx: Context, session_id: str) -> str:
    return ctx.key(Session.PREFIX, session_id)


def _hint(ctx: Context, session: Session) -> datetime:
    return from_unix_seconds(session.token_last_verified_at + ctx.server.session_config.inactivity_seconds)


def create_session(ctx: Context, user: User) -> tuple[Session, str]:
    """F9.2: store a new session for ``user``; storage errors propagate to the caller."""
    session_id, secret, secret_hash = new_id_and_secret()
    now = ctx.unix_seconds
    session = Session(
        id=session_id,
        user_id=user.id,
        secret_hash=secret_hash,
        token_last_verified_at=now,
        user_last_checked_at=None,
        user_disabled_counter=user.disabled_counter,
        user_sessions_counter=user.sessions_counter,
        created_at=now,
    )
    ctx.server.storage.add(_key(ctx, session_id), session.encode(), _hint(ctx, session))
    return session, create_token(session_id, secret)


def _delete_and_reject(ctx: Context, session_id: str) -> NoReturn:
    try:
        ctx.server.storage.delete(_key(ctx, session_id))
    except StorageEntryNotFoundError:
        pass
    fail(INVALID_SESSION_TOKEN)


def _is_stale_for(session: Session, user: User) -> bool:
    return (
        user.disabled
        or session.user_disabled_counter != user.disabled_counter
        or session.user_sessions_counter != user.sessions_counter
    )


@dataclasses.dataclass(frozen=True)
class ValidSession:
    """What one validation (F9.3) established: the session, and the user it read.

    ``user`` is ``None`` when plain validation trusted the user cache (F9.5) and read no user.
    ``activity_refreshed`` is true when this validation moved ``token_last_verified_at`` forward
    (F9.4): the session's inactivity deadline is then ``now + inactivity_timeout``.
    """

    session: Session
    user: User | None
    activity_refreshed: bool = False


class SessionSuccess(ActionSuccess):
    """A successful ``get_session`` through the typed path (``Server.get_session``).

    ``session`` is the validated record, ``user`` the ``User`` the validation read (``None`` when
    the user cache vouched for the session, F9.5), ``activity_refreshed`` whether this validation
    moved the inactivity deadline (F9.4) and ``expires_at`` the absolute expiry in unix seconds
    (F9.6). ``values``, the protocol's ``{"session": <session model>}``, is built only if read.
    """

    session: Session
    user: User | None
    activity_refreshed: bool
    _config: SessionConfig

    def __init__(self, action_invocation_id: str, valid: ValidSession, config: SessionConfig) -> None:
        setattr_ = object.__setattr__  # a frozen dataclass
        setattr_(self, "action_invocation_id", action_invocation_id)
        setattr_(self, "session", valid.session)
        setattr_(self, "user", valid.user)
        setattr_(self, "activity_refreshed", valid.activity_refreshed)
        setattr_(self, "_config", config)

    @property
    def expires_at(self) -> int | None:
        return self._config.expires_at(self.session)

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            if name != "values":
                raise AttributeError(name)
            values = {"session": session_model_of(self.session, self.expires_at)}
            object.__setattr__(self, "values", values)
            return values


def validate_session(ctx: Context, token: str) -> Session:
    """Plain validation (F9.3), which may trust a recent user check (the user cache)."""
    return check_session(ctx, token).session


def validate_session_with_user(ctx: Context, token: str) -> tuple[Session, User]:
    """Full validation (F9.3): always fetches the user and returns it."""
    valid = check_session(ctx, token, fresh_user=True)
    assert valid.user is not None
    return valid.session, valid.user


def check_session(ctx: Context, token: str, *, fresh_user: bool = False) -> ValidSession:
    """Validate ``token`` (F9.3, plain or with ``fresh_user`` full) and return what it established.

    The one validation behind every session-taking action and the view glue's typed path. The
    secret is compared right after the read, before anything is deleted or any user is looked up
    (Compatibility policy item 8). Fails with ``invalid_session_token``; storage and user store
    errors propagate (``internal_error``).
    """
    config = ctx.server.session_config
    storage = ctx.server.storage
    now = ctx.timestamp
    parsed = parse_token(token)
    if parsed is None:
        fail(INVALID_SESSION_TOKEN)
    session_id, secret = parsed
    key = _key(ctx, session_id)
    try:
        value, counter = storage.get(key)
    except StorageEntryNotFoundError:
        fail(INVALID_SESSION_TOKEN)
    session = Session.decode(value)
    # Policy item 8: the secret comes before any deletion or user look-up.
    if not secret_matches(secret, session.secret_hash):
        fail(INVALID_SESSION_TOKEN)
    if config.is_expired(session, now):
        _delete_and_reject(ctx, session_id)

    user: User | None = None
    stamped = False  # whether the session carries a new user-check time to write (step 9)
    cache = config.user_cache_seconds
    if (
        fresh_user
        or cache <= 0
        or session.user_last_checked_at is None
        or now - session.user_last_checked_at >= cache
    ):
        user = check_session_user(ctx, session)
        if not fresh_user and cache > 0:
            session = session.replace(user_last_checked_at=ctx.unix_seconds)
            stamped = True
    if now - session.token_last_verified_at >= config.activity_check_seconds:
        # F9.4 with the value and counter read above, which a re-read returns unchanged unless
        # the session was written since; one write then carries the user-check time as well.
        refreshed = session.replace(token_last_verified_at=ctx.unix_seconds)
        if _swap(ctx, key, refreshed, counter):
            return ValidSession(refreshed, user, True)
        # Written since: the user-check write is lost (a conflict, ignored as in step 9) and
        # the refresh runs as F9.4 writes it, on a fresh read.
        return ValidSession(session, user, _refresh_activity(ctx, session))
    if stamped:
        _swap(ctx, key, session, counter)
    return ValidSession(session, user)


def check_session_user(ctx: Context, session: Session) -> User:
    """F9.3 steps 6 to 9 without the cache write: read the session's user; a user not found,
    disabled, or whose disabled or sessions counter moved since the session's snapshot ends the
    session (deleted, ``invalid_session_token``). Also for a session the user cache vouched for,
    when its user is wanted after all (the view glue's ``current_user``)."""
    try:
        user = ctx.server.user_store.get_user(session.user_id)
    except UserNotFoundError:
        _delete_and_reject(ctx, session.id)
    if _is_stale_for(session, user):
        _delete_and_reject(ctx, session.id)
    return user


def _swap(ctx: Context, key: str, session: Session, counter: int) -> bool:
    """Compare-and-swap ``session`` in; ``False`` on a conflict (entry gone or written since)."""
    try:
        ctx.server.storage.update(key, session.encode(), _hint(ctx, session), counter)
    except StorageEntryNotFoundError:
        return False
    return True


def _refresh_activity(ctx: Context, session: Session) -> bool:
    """F9.4 as written: re-read the session, move ``token_last_verified_at`` to now unless it is
    already later, and write it back. Returns whether the write succeeded."""
    key = _key(ctx, session.id)
    try:
        value, counter = ctx.server.storage.get(key)
    except StorageEntryNotFoundError:
        return False
    current = Session.decode(value)
    if current.token_last_verified_at > ctx.timestamp:
        return False
    return _swap(ctx, key, current.replace(token_last_verified_at=ctx.unix_seconds), counter)


def end_other_sessions(ctx: Context, user: User, keep_session_id: str | None = None) -> User:
    """Opt-in extension (ASVS 7.4.3): end every session of ``user`` but ``keep_session_id``.

    Increments the user's sessions counter, so every existing session fails its next validation,
    then moves the kept session's snapshot to the new counter so that it stays valid with the same
    token. Returns the fresh user, whose counter new sessions must carry.
    """
    user_store = ctx.server.user_store
    try:
        user_store.increment_user_sessions_counter(user.id, user.sessions_counter)
    except UserNotFoundError:
        pass  # the counter moved concurrently: those sessions have ended all the same
    fresh = user_store.get_user(user.id)
    if keep_session_id is not None:
        _follow_sessions_counter(ctx, keep_session_id, fresh.sessions_counter)
    return fresh


def _follow_sessions_counter(ctx: Context, session_id: str, sessions_counter: int) -> None:
    storage = ctx.server.storage
    for _ in range(3):  # a concurrent activity refresh may win a round
        try:
            value, counter = storage.get(_key(ctx, session_id))
        except StorageEntryNotFoundError:
            return
        session = Session.decode(value).replace(user_sessions_counter=sessions_counter)
        try:
            storage.update(_key(ctx, session_id), session.encode(), _hint(ctx, session), counter)
            return
        except StorageEntryNotFoundError:
            continue
    ctx.log("could not keep the caller's session after ending the other sessions")
