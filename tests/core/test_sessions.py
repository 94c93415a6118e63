"""Session actions and session validation: actions-auth.md §4, foundations.md F9."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from faroe_flask import Server, SessionConfig, StorageEntryNotFoundError, UserNotFoundError
from faroe_flask.core.records import Session

from ..conftest import CapturingEmailSender, CapturingErrorLogger, FakeClock
from .wrappers import InterferingStorage, InterferingUserStore, with_wrong_secret
from .helpers import error, ok, sign_in, sign_up

pytestmark = pytest.mark.redis_storage

DAY = 86400


@pytest.fixture
def signed_up(server: Server, email_sender: CapturingEmailSender) -> tuple[str, str]:
    return sign_up(server, email_sender)


def _stored(storage: Any, token: str) -> tuple[Session, int]:
    value, counter = storage.get("aaah." + token.split(".")[0])
    return Session.decode(value), counter


def test_get_session(server: Server, signed_up: tuple[str, str], clock: FakeClock) -> None:
    token, user_id = signed_up
    session = ok(server, "get_session", session_token=token)["session"]
    now = int(clock.now().timestamp())
    assert session == {"id": token.split(".")[0], "user_id": user_id, "created_at": now, "expires_at": None}
    for bad in ["", ".", token + "x", with_wrong_secret(token), "x" * 24 + "." + token.split(".")[1]]:
        assert error(server, "get_session", session_token=bad) == "invalid_session_token"
    ok(server, "get_session", session_token=token)  # a wrong secret does not delete it


def test_session_expires_after_inactivity(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock, storage: Any
) -> None:
    server = make_server(session_config=SessionConfig(inactivity_timeout=timedelta(hours=1)))
    token, _ = sign_up(server, email_sender)
    clock.advance(3599)
    ok(server, "get_session", session_token=token)  # refreshes token_last_verified_at
    clock.advance(3599)
    ok(server, "get_session", session_token=token)
    clock.advance(3600)
    assert error(server, "get_session", session_token=token) == "invalid_session_token"
    with pytest.raises(StorageEntryNotFoundError):
        _stored(storage, token)


SESSION_ACTIONS = ["get_session", "delete_session", "delete_all_sessions"]


@pytest.mark.parametrize("action", SESSION_ACTIONS)
@pytest.mark.parametrize("lifetime", ["inactivity", "expiration"])
def test_a_wrong_secret_does_not_delete_an_expired_session(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock, storage: Any,
    user_store: Any, error_logger: CapturingErrorLogger, action: str, lifetime: str,
) -> None:
    """Policy item 8 for sessions: the secret is checked before expiry may delete anything."""
    config = (
        SessionConfig(inactivity_timeout=timedelta(hours=1))
        if lifetime == "inactivity"
        else SessionConfig(expiration=timedelta(hours=1))
    )
    server = make_server(session_config=config)
    token, user_id = sign_up(server, email_sender)
    if lifetime == "expiration":
        clock.advance(1800)
        ok(server, "get_session", session_token=token)  # activity does not extend the absolute lifetime
        clock.advance(1800)
    else:
        clock.advance(3600)
    before = _stored(storage, token)
    wrong = [with_wrong_secret(token), f"{token.split('.')[0]}.{token.split('.')[1].upper()}"]
    for bad in wrong:
        assert error(server, action, session_token=bad) == "invalid_session_token"
        assert _stored(storage, token) == before
    assert user_store.get_user(user_id).sessions_counter == 0  # nor ended the user's sessions
    # The right secret finds the session expired, and deletes it.
    assert error(server, action, session_token=token) == "invalid_session_token"
    with pytest.raises(StorageEntryNotFoundError):
        _stored(storage, token)
    assert error_logger.entries == []


@pytest.mark.parametrize("action", SESSION_ACTIONS)
def test_a_wrong_secret_does_not_delete_a_session_of_a_disabled_user(
    server: Server, signed_up: tuple[str, str], storage: Any, user_store: Any, action: str
) -> None:
    token, user_id = signed_up
    user_store.set_user_disabled(user_id, True)
    before = _stored(storage, token)
    assert error(server, action, session_token=with_wrong_secret(token)) == "invalid_session_token"
    assert _stored(storage, token) == before
    assert error(server, action, session_token=token) == "invalid_session_token"
    with pytest.raises(StorageEntryNotFoundError):
        _stored(storage, token)


def test_activity_is_written_at_most_once_per_interval(
    server: Server, signed_up: tuple[str, str], clock: FakeClock, storage: Any
) -> None:
    token, _ = signed_up
    created = _stored(storage, token)[0].token_last_verified_at
    clock.advance(59)
    ok(server, "get_session", session_token=token)
    session, counter = _stored(storage, token)
    assert session.token_last_verified_at == created and counter == 0
    clock.advance(1)
    ok(server, "get_session", session_token=token)
    session, counter = _stored(storage, token)
    assert session.token_last_verified_at == created + 60 and counter == 1
    clock.advance(30)
    ok(server, "get_session", session_token=token)
    assert _stored(storage, token)[1] == 1


def test_absolute_expiration(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    server = make_server(session_config=SessionConfig(expiration=timedelta(minutes=30)))
    token, _ = sign_up(server, email_sender)
    session = ok(server, "get_session", session_token=token)["session"]
    assert session["expires_at"] == session["created_at"] + 1800
    clock.advance(20 * 60)
    ok(server, "get_session", session_token=token)
    clock.advance(10 * 60)
    assert error(server, "get_session", session_token=token) == "invalid_session_token"


@pytest.mark.parametrize("change", ["disable", "sessions", "delete"])
def test_user_changes_end_sessions(
    server: Server, signed_up: tuple[str, str], user_store: Any, storage: Any, change: str
) -> None:
    token, user_id = signed_up
    if change == "disable":
        user_store.set_user_disabled(user_id, True)
    elif change == "sessions":
        user_store.increment_user_sessions_counter(user_id, 0)
    else:
        user_store.delete_user(user_id)
    assert error(server, "get_session", session_token=token) == "invalid_session_token"
    with pytest.raises(StorageEntryNotFoundError):
        _stored(storage, token)


def test_password_and_email_changes_do_not_end_sessions(
    server: Server, signed_up: tuple[str, str], user_store: Any
) -> None:
    token, user_id = signed_up
    user_store.update_user_password_hash(user_id, b"h", "x", b"s", 0)
    user_store.update_user_email_address(user_id, "new@example.com", 0)
    session = ok(server, "get_session", session_token=token)["session"]
    assert (session["id"], session["user_id"]) == (token.split(".")[0], user_id)
    assert user_store.get_user(user_id).email_address == "new@example.com"


def test_user_cache(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock,
    user_store: Any, storage: Any,
) -> None:
    server = make_server(session_config=SessionConfig(user_cache_expiration=timedelta(seconds=60)))
    token, user_id = sign_up(server, email_sender)
    assert _stored(storage, token)[0].user_last_checked_at is None
    ok(server, "get_session", session_token=token)
    assert _stored(storage, token)[0].user_last_checked_at == int(clock.now().timestamp())
    user_store.set_user_disabled(user_id, True)
    clock.advance(59)
    ok(server, "get_session", session_token=token)  # trusted from the cache
    assert error(server, "delete_all_sessions", session_token=token) == "invalid_session_token"  # full check
    token, user_id = sign_up(server, email_sender, "b@example.com")
    ok(server, "get_session", session_token=token)
    clock.advance(60)
    user_store.set_user_disabled(user_id, True)
    assert error(server, "get_session", session_token=token) == "invalid_session_token"


def test_without_the_cache_the_user_is_checked_every_time(
    server: Server, signed_up: tuple[str, str], user_store: Any, storage: Any
) -> None:
    token, user_id = signed_up
    ok(server, "get_session", session_token=token)
    assert _stored(storage, token)[0].user_last_checked_at is None
    user_store.set_user_disabled(user_id, True)
    assert error(server, "get_session", session_token=token) == "invalid_session_token"


def test_a_wrong_secret_is_checked_before_the_user_store(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, user_store: Any
) -> None:
    token, _ = sign_up(make_server(), email_sender)
    users = InterferingUserStore(user_store)
    users.fail("get_user", times=None)
    server = make_server(user_store=users)
    assert error(server, "get_session", session_token=with_wrong_secret(token)) == "invalid_session_token"
    assert error(server, "get_session", session_token=token) == "internal_error"


def test_session_storage_failures(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, storage: Any, clock: FakeClock,
    error_logger: CapturingErrorLogger,
) -> None:
    token, _ = sign_up(make_server(), email_sender)
    faulty = InterferingStorage(storage)
    faulty.fail("get", "aaah.", times=None)
    assert error(make_server(storage=faulty), "get_session", session_token=token) == "internal_error"
    clock.advance(60)
    faulty = InterferingStorage(storage)
    faulty.fail("update", "aaah.", times=None)
    assert error(make_server(storage=faulty), "get_session", session_token=token) == "internal_error"
    # A lost race on the activity write is ignored.
    faulty = InterferingStorage(storage)
    faulty.on("update", "aaah.", faulty.competing_update)
    ok(make_server(storage=faulty), "get_session", session_token=token)
    assert error_logger.actions == ["get_session", "get_session"]


def test_delete_session(server: Server, signed_up: tuple[str, str], email_sender: CapturingEmailSender) -> None:
    token, _ = signed_up
    other = sign_in(server)
    assert ok(server, "delete_session", session_token=token) == {}
    assert error(server, "get_session", session_token=token) == "invalid_session_token"
    assert error(server, "delete_session", session_token=token) == "invalid_session_token"
    ok(server, "get_session", session_token=other)


def test_delete_session_failures(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, storage: Any
) -> None:
    token, _ = sign_up(make_server(), email_sender)
    faulty = InterferingStorage(storage)
    faulty.fail("delete", "aaah.", times=None)
    assert error(make_server(storage=faulty), "delete_session", session_token=token) == "internal_error"
    faulty = InterferingStorage(storage)
    faulty.on("delete", "aaah.", faulty.vanish)
    assert ok(make_server(storage=faulty), "delete_session", session_token=token) == {}


def test_delete_all_sessions(server: Server, signed_up: tuple[str, str], user_store: Any) -> None:
    token, user_id = signed_up
    other = sign_in(server)
    assert ok(server, "delete_all_sessions", session_token=token) == {}
    assert user_store.get_user(user_id).sessions_counter == 1
    assert error(server, "get_session", session_token=token) == "invalid_session_token"
    assert error(server, "get_session", session_token=other) == "invalid_session_token"
    assert error(server, "delete_all_sessions", session_token=token) == "invalid_session_token"
    ok(server, "get_session", session_token=sign_in(server))


def test_delete_all_sessions_failures(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, user_store: Any,
    error_logger: CapturingErrorLogger,
) -> None:
    token, _ = sign_up(make_server(), email_sender)
    users = InterferingUserStore(user_store)
    users.fail("increment_user_sessions_counter", UserNotFoundError("moved"), times=1)
    users.fail("increment_user_sessions_counter", RuntimeError("db down"), times=1)
    server = make_server(user_store=users)
    assert error(server, "delete_all_sessions", session_token=token) == "internal_conflict"
    assert error(server, "delete_all_sessions", session_token=token) == "internal_error"
    assert error_logger.actions == ["delete_all_sessions"]
    assert error(server, "delete_all_sessions", session_token="x") == "invalid_session_token"


def test_session_config_is_validated() -> None:
    with pytest.raises(ValueError):
        SessionConfig(inactivity_timeout=timedelta(0))
    with pytest.raises(ValueError):
        SessionConfig(activity_check_interval=timedelta(seconds=-1))
    with pytest.raises(ValueError):
        SessionConfig(expiration=timedelta(seconds=-1))
    with pytest.raises(ValueError):
        SessionConfig(user_cache_expiration=timedelta(seconds=-1))
    config = SessionConfig()
    assert config.inactivity_timeout == timedelta(days=30)
    assert config.activity_check_interval == timedelta(minutes=1)
    assert config.expiration is None and config.user_cache_expiration == timedelta(0)
    assert config.end_other_sessions_on_password_change is False
