"""Session configuration, creation and validation (foundations.md F9)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import NoReturn

from .actions import Context, fail, from_unix_seconds
from .credentials import create_token, parse_token, secret_matches
from .entities import new_id_and_secret
from .interfaces import StorageEntryNotFoundError, User, UserNotFoundError
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


def validate_session(ctx: Context, token: str) -> Session:
    """Plain validation (F9.3), which may trust a recent user check (the user cache)."""
    session, _ = _validate(ctx, token, fresh_user=False)
    return session


def validate_session_with_user(ctx: Context, token: str) -> tuple[Session, User]:
    """Full validation (F9.3): always fetches the user and returns it."""
    session, user = _validate(ctx, token, fresh_user=True)
    assert user is not None
    return session, user


def _validate(ctx: Context, token: str, *, fresh_user: bool) -> tuple[Session, User | None]:
    config = ctx.server.session_config
    storage = ctx.server.storage
    now = ctx.timestamp
    parsed = parse_token(token)
    if parsed is None:
        fail(INVALID_SESSION_TOKEN)
    session_id, secret = parsed
    try:
        value, counter = storage.get(_key(ctx, session_id))
    except StorageEntryNotFoundError:
        fail(INVALID_SESSION_TOKEN)
    session = Session.decode(value)
    # Policy item 8: the secret comes before any deletion or user look-up.
    if not secret_matches(secret, session.secret_hash):
        fail(INVALID_SESSION_TOKEN)
    if config.is_expired(session, now):
        _delete_and_reject(ctx, session_id)

    user: User | None = None
    cache = config.user_cache_seconds
    cached = (
        not fresh_user
        and cache > 0
        and session.user_last_checked_at is not None
        and now - session.user_last_checked_at < cache
    )
    if not cached:
        try:
            fetched = ctx.server.user_store.get_user(session.user_id)
        except UserNotFoundError:
            _delete_and_reject(ctx, session_id)
        if _is_stale_for(session, fetched):
            _delete_and_reject(ctx, session_id)
        user = fetched
        if not fresh_user and cache > 0:
            session = session.replace(user_last_checked_at=ctx.unix_seconds)
            try:
                storage.update(_key(ctx, session_id), session.encode(), _hint(ctx, session), counter)
            except StorageEntryNotFoundError:
                pass
    _refresh_activity(ctx, session)
    return session, user


def _refresh_activity(ctx: Context, session: Session) -> None:
    """F9.4: move ``token_last_verified_at`` forward at most once per check interval."""
    config = ctx.server.session_config
    if ctx.timestamp - session.token_last_verified_at < config.activity_check_seconds:
        return
    storage = ctx.server.storage
    try:
        value, counter = storage.get(_key(ctx, session.id))
    except StorageEntryNotFoundError:
        return
    current = Session.decode(value)
    if current.token_last_verified_at > ctx.timestamp:
        return
    refreshed = current.replace(token_last_verified_at=ctx.unix_seconds)
    try:
        storage.update(_key(ctx, session.id), refreshed.encode(), _hint(ctx, refreshed), counter)
    except StorageEntryNotFoundError:
        pass


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
