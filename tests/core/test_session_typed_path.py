"""The typed get_session path (``Server.get_session``): the view glue's way to the session and its
user, with every rule of the action (foundations.md F9, Compatibility policy item 8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from faroe_flask import Server, SessionConfig, StorageEntryNotFoundError
from faroe_flask.core.envelope import ActionError, ActionResult, ActionSuccess
from faroe_flask.core.records import Session
from faroe_flask.core.server import RunAction, SessionSuccess

from ..conftest import CapturingEmailSender, CapturingErrorLogger, FakeClock
from .helpers import call, sign_up
from .wrappers import SESSION, InterferingStorage, InterferingUserStore, with_wrong_secret

pytestmark = pytest.mark.redis_storage

CACHE = SessionConfig(user_cache_expiration=timedelta(seconds=60))


def _stored(storage: Any, token: str) -> tuple[Session, int]:
    value, counter = storage.get(SESSION + token.split(".")[0])
    return Session.decode(value), counter


def _typed(server: Server, token: str) -> SessionSuccess:
    result = server.get_session(token)
    assert isinstance(result, SessionSuccess), result
    return result


def test_the_session_and_the_user_the_validation_read(
    server: Server, email_sender: CapturingEmailSender, user_store: Any, clock: FakeClock
) -> None:
    token, user_id = sign_up(server, email_sender)
    result = _typed(server, token)
    assert result.ok is True and len(result.action_invocation_id) == 24
    assert result.session.id == token.split(".")[0] and result.session.user_id == user_id
    assert result.user == user_store.get_user(user_id)
    assert result.activity_refreshed is False
    assert result.expires_at is None
    # The protocol's values are the action's, built only when read.
    assert "values" not in vars(result)
    action = call(server, "get_session", session_token=token)
    assert result.values == action["values"]
    assert result.to_json_object()["values"] == action["values"]


def test_it_answers_as_the_action_for_every_kind_of_token(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock,
    user_store: Any,
) -> None:
    server = make_server(session_config=SessionConfig(inactivity_timeout=timedelta(hours=1)))
    token, _ = sign_up(server, email_sender)
    expired, _ = sign_up(server, email_sender, "old@example.com")
    disabled, disabled_id = sign_up(server, email_sender, "off@example.com")
    user_store.set_user_disabled(disabled_id, True)
    clock.advance(1800)
    server.get_session(token)  # keeps this one alive; ``expired`` is not used
    clock.advance(1800)
    tokens = ["", ".", "x" * 24 + "." + "y" * 24, with_wrong_secret(token), token.upper(),
              token + "x", token, expired, with_wrong_secret(disabled), disabled]
    for candidate in tokens:
        # Each pair runs on the same state: the typed call first (it may delete), then the action.
        typed = server.get_session(candidate)
        action = call(server, "get_session", session_token=candidate)
        if isinstance(typed, SessionSuccess):
            assert action["ok"] is True and typed.values == action["values"], candidate
        else:
            assert (action["ok"], action["error_code"]) == (False, typed.error_code), candidate
    assert [server.get_session(t).ok for t in (token, expired, disabled)] == [True, False, False]


@pytest.mark.parametrize("lifetime", ["inactivity", "expiration", "disabled"])
def test_a_wrong_secret_deletes_nothing_and_reads_no_user(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock,
    storage: Any, user_store: Any, lifetime: str,
) -> None:
    """Policy item 8 on the typed path: the secret before expiry, deletion or any user look-up."""
    config = SessionConfig(inactivity_timeout=timedelta(hours=1), expiration=timedelta(hours=2))
    token, user_id = sign_up(make_server(session_config=config), email_sender)
    users = InterferingUserStore(user_store)
    users.fail("get_user", times=None)  # any user look-up fails loudly
    server = make_server(session_config=config, user_store=users)
    if lifetime == "disabled":
        user_store.set_user_disabled(user_id, True)
    else:
        clock.advance(3600 if lifetime == "inactivity" else 7200)
    before = _stored(storage, token)
    for bad in (with_wrong_secret(token), token.split(".")[0] + "." + token.split(".")[1].upper()):
        result = server.get_session(bad)
        assert isinstance(result, ActionError) and result.error_code == "invalid_session_token"
        assert _stored(storage, token) == before
    assert users.calls == []


def test_the_activity_is_refreshed_once_per_interval_in_one_write(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock,
    storage: Any,
) -> None:
    token, _ = sign_up(make_server(), email_sender)
    watched = InterferingStorage(storage)
    server = make_server(storage=watched)
    created = _stored(storage, token)[0].token_last_verified_at
    clock.advance(59)
    assert _typed(server, token).activity_refreshed is False
    clock.advance(1)
    refreshed = _typed(server, token)
    assert refreshed.activity_refreshed is True
    assert refreshed.session.token_last_verified_at == created + 60
    assert _stored(storage, token) == (refreshed.session, 1)
    # The refresh wrote with the value and counter of the validation's read: no second read.
    assert [op for op, key in watched.calls if key.startswith(SESSION)] == ["get", "get", "update"]
    clock.advance(30)
    assert _typed(server, token).activity_refreshed is False


def test_a_refresh_that_loses_a_race_runs_as_f9_4_writes_it(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock,
    storage: Any,
) -> None:
    token, _ = sign_up(make_server(), email_sender)
    watched = InterferingStorage(storage)
    watched.on("update", SESSION, watched.competing_update)  # another request wrote it first
    server = make_server(storage=watched)
    clock.advance(60)
    result = _typed(server, token)
    assert result.activity_refreshed is True  # re-read, then written with the fresh counter
    session, counter = _stored(storage, token)
    assert counter == 2 and session.token_last_verified_at == int(clock.now().timestamp())
    assert [op for op, key in watched.calls if key.startswith(SESSION)] == ["get", "update", "get", "update"]


def _another_refresh_at(storage: InterferingStorage, seconds: int) -> Callable[..., None]:
    """An effect: another request stores the session with ``token_last_verified_at=seconds``."""

    def refresh(key: str, *_: Any) -> None:
        value, counter = storage.inner.get(key)
        later = Session.decode(value).replace(token_last_verified_at=seconds)
        storage.inner.update(key, later.encode(), datetime(2100, 1, 1, tzinfo=timezone.utc), counter)

    return refresh


@pytest.mark.parametrize(("ahead", "refreshed"), [(0, True), (5, False)])
def test_a_refresh_that_loses_to_another_refresh_writes_unless_that_one_is_later(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock,
    storage: Any, ahead: int, refreshed: bool,
) -> None:
    """F9.4: ``token_last_verified_at`` moves to now unless it is already later; the same second
    is not later, so it is written again (and this validation refreshed the activity)."""
    token, user_id = sign_up(make_server(), email_sender)
    clock.advance(60)
    now = int(clock.now().timestamp())
    watched = InterferingStorage(storage)
    watched.on("update", SESSION, _another_refresh_at(watched, now + ahead))
    result = _typed(make_server(storage=watched), token)
    assert result.activity_refreshed is refreshed
    assert result.user is not None and result.user.id == user_id  # the user the validation read
    session, counter = _stored(storage, token)
    assert session.token_last_verified_at == now + ahead
    assert counter == (2 if refreshed else 1)
    assert [op for op, key in watched.calls if key.startswith(SESSION)] == (
        ["get", "update", "get", "update"] if refreshed else ["get", "update", "get"]
    )


def test_a_session_deleted_before_its_refresh_is_not_refreshed(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock,
    storage: Any,
) -> None:
    token, _ = sign_up(make_server(), email_sender)
    clock.advance(60)
    watched = InterferingStorage(storage)
    watched.on("update", SESSION, watched.vanish)  # signed out meanwhile
    result = _typed(make_server(storage=watched), token)
    assert result.activity_refreshed is False
    with pytest.raises(StorageEntryNotFoundError):
        _stored(storage, token)


def test_with_the_user_cache_the_user_may_not_have_been_read(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock,
    storage: Any, user_store: Any,
) -> None:
    users = InterferingUserStore(user_store)
    server = make_server(session_config=CACHE, user_store=users)
    token, user_id = sign_up(server, email_sender)
    first = _typed(server, token)
    assert first.user is not None and first.user.id == user_id  # a new session is checked
    assert _stored(storage, token)[0].user_last_checked_at == int(clock.now().timestamp())
    reads = len(users.calls)
    clock.advance(30)
    cached = _typed(server, token)
    assert cached.user is None and len(users.calls) == reads  # vouched for by the cache
    # get_session_user reads and checks the user the cache skipped.
    user = server.get_session_user(cached.session)
    assert not isinstance(user, ActionError) and user.id == user_id
    # Once the cache expires the validation reads the user again; the check time and the
    # activity refresh go into one write.
    clock.advance(30)
    again = _typed(server, token)
    assert again.user is not None and again.activity_refreshed is True
    stored, counter = _stored(storage, token)
    assert stored.user_last_checked_at == stored.token_last_verified_at == int(clock.now().timestamp())
    assert counter == 2  # the first check's write, then this one


@pytest.mark.parametrize("change", ["disable", "sessions", "delete"])
def test_the_user_checked_after_the_cache_ends_a_stale_session(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock,
    storage: Any, user_store: Any, change: str,
) -> None:
    server = make_server(session_config=CACHE)
    token, user_id = sign_up(server, email_sender)
    _typed(server, token)
    if change == "disable":
        user_store.set_user_disabled(user_id, True)
    elif change == "sessions":
        user_store.increment_user_sessions_counter(user_id, 0)
    else:
        user_store.delete_user(user_id)
    cached = _typed(server, token)  # the cache still vouches for it
    assert cached.user is None
    result = server.get_session_user(cached.session)
    assert isinstance(result, ActionError) and result.error_code == "invalid_session_token"
    with pytest.raises(StorageEntryNotFoundError):
        _stored(storage, token)


def test_failures_are_the_actions(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, storage: Any,
    user_store: Any, error_logger: CapturingErrorLogger, clock: FakeClock,
) -> None:
    token, _ = sign_up(make_server(session_config=CACHE), email_sender)
    faulty = InterferingStorage(storage)
    faulty.fail("get", SESSION, times=None)
    result = make_server(storage=faulty).get_session(token)
    assert isinstance(result, ActionError) and result.error_code == "internal_error"
    assert error_logger.actions == ["get_session"]
    users = InterferingUserStore(user_store)
    server = make_server(session_config=CACHE, user_store=users)
    session = _typed(server, token).session
    users.fail("get_user", times=None)
    result = server.get_session_user(session)
    assert isinstance(result, ActionError) and result.error_code == "internal_error"
    assert error_logger.actions == ["get_session", "get_session"]
    _stored(storage, token)  # a failing user store ends nothing


def test_observers_see_the_typed_path_as_get_session(
    server: Server, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token, _ = sign_up(server, email_sender)
    seen: list[tuple[str, dict[str, str], ActionResult]] = []

    def observer(action: str, arguments: dict[str, str], run: RunAction) -> ActionResult:
        result = run(action, arguments)
        seen.append((action, arguments, result))
        return result

    server.add_action_observer(observer)
    typed = server.get_session(token)
    failed = server.get_session(with_wrong_secret(token))
    assert [(a, args) for a, args, _ in seen] == [
        ("get_session", {"session_token": token}),
        ("get_session", {"session_token": with_wrong_secret(token)}),
    ]
    assert seen[0][2] is typed and seen[1][2] is failed
    # get_session_user is not an action: no observer call.
    assert isinstance(typed, SessionSuccess)
    server.get_session_user(typed.session)
    assert len(seen) == 2


def test_an_observer_that_raises_or_replaces_the_result_cannot_break_it(
    server: Server, email_sender: CapturingEmailSender, caplog: pytest.LogCaptureFixture
) -> None:
    token, _ = sign_up(server, email_sender)

    def raising(action: str, arguments: dict[str, str], run: RunAction) -> ActionResult:
        run(action, arguments)
        raise RuntimeError("observer bug")

    server.add_action_observer(raising)
    assert isinstance(server.get_session(token), SessionSuccess)

    own_ids: list[str] = []

    def replacing(action: str, arguments: dict[str, str], run: RunAction) -> ActionResult:
        result = run(action, arguments)  # contrary to the contract: a result of its own
        own_ids.append(result.action_invocation_id)
        return ActionSuccess(result.action_invocation_id, {}) if result.ok else result

    server.add_action_observer(replacing)
    caplog.clear()
    replaced = server.get_session(token)
    assert isinstance(replaced, ActionError) and replaced.error_code == "internal_error"
    assert replaced.action_invocation_id == own_ids[-1] and len(own_ids[-1]) == 24
    logged = [r.getMessage() for r in caplog.records if r.name == "faroe_flask"]
    assert [line for line in logged if line != "a Faroe action observer raised"] == [
        "an action observer replaced the result of get_session"  # the first observer still raises
    ]
