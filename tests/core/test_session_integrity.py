"""Session validation where a break would be silent in production (issue 17's survivors).

Each test drives the engine through ``Server.invoke`` on every storage backend, and reads the
outcome back from the storage or the user store:

* a user row marked disabled behind the store's back (no counter change) ends its sessions;
* an activity refresh that lost a race to a newer one never moves ``token_last_verified_at`` back;
* ending the other sessions on a password change keeps the caller's session through two lost
  races with an activity refresh, and gives up (logged) after three;
* a session's storage expiry hint follows its last activity, so storage never drops an active
  session (SQL ``delete_expired``, Redis TTLs, ``MemoryStorage`` with a clock);
* a rate-limit refill keeps the partial interval it has not used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from faroe_flask import MemoryStorage, Server, SessionConfig, StorageEntryNotFoundError
from faroe_flask.core.records import Session
from faroe_flask.sql import SQLStorage, SQLUserStore

from ..conftest import START, CapturingEmailSender, CapturingErrorLogger, FakeClock
from .helpers import call, code_of, error, ok, sign_in, sign_up
from .test_account_extension import change_password
from .wrappers import Rig, build_rig, token_id

pytestmark = pytest.mark.redis_storage

DAY = 86400
T0 = int(START.timestamp())


def _stored(storage: Any, token: str) -> tuple[Session, int]:
    value, counter = storage.get(Session.PREFIX + token_id(token))
    return Session.decode(value), counter


def _is_gone(storage: Any, token: str) -> bool:
    try:
        _stored(storage, token)
    except StorageEntryNotFoundError:
        return True
    return False


# A user disabled behind the store's back ------------------------------------------------------


def _disable_behind_the_stores_back(rig: Rig, user_store: Any, user_id: str) -> None:
    """``disabled`` becomes true while ``disabled_counter`` stays as it was: on SQL, a direct
    ``UPDATE`` of the application's users table; elsewhere, the user store reports the row so."""
    if isinstance(user_store, SQLUserStore):
        table = user_store.table
        with user_store.engine.begin() as connection:
            connection.execute(update(table).where(table.c.id == user_id).values(disabled=True))
    else:
        rig.users.transform = lambda user: dataclasses.replace(user, disabled=True)
    user = rig.users.get_user(user_id)
    assert user.disabled and user.disabled_counter == 0


@pytest.mark.parametrize(
    "action", ["get_session", "delete_session", "delete_all_sessions", "create_user_password_update"]
)
def test_a_user_disabled_without_a_counter_change_loses_its_sessions(
    rig: Rig, user_store: Any, storage: Any, email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger, action: str,
) -> None:
    token, user_id = sign_up(rig.server, email_sender)
    other = sign_in(rig.server)
    _disable_behind_the_stores_back(rig, user_store, user_id)
    assert error(rig.server, action, session_token=token) == "invalid_session_token"
    assert _is_gone(storage, token)
    assert not _is_gone(storage, other)  # untouched until it is used
    assert error(rig.server, "get_session", session_token=other) == "invalid_session_token"
    assert _is_gone(storage, other)
    assert error_logger.entries == []


# Activity refresh against a newer refresh ---------------------------------------------------


def test_an_activity_refresh_never_moves_the_last_verification_back(
    rig: Rig, make_server: Callable[..., Server], storage: Any, user_store: Any,
    email_sender: CapturingEmailSender, clock: FakeClock,
) -> None:
    """Two servers whose clocks differ by 100 s: the one behind re-reads the session after the
    one ahead refreshed it, and leaves the newer time in place."""
    token, _ = sign_up(rig.server, email_sender)
    ahead = make_server(storage=storage, user_store=user_store, clock=FakeClock(START + timedelta(seconds=200)))
    clock.advance(100)
    # Between this server's read of the session and its refresh write, the server ahead validates
    # the session and refreshes it to its own, later, time: the write loses, and the re-read finds
    # the later time.
    rig.storage.on(
        "update", Session.PREFIX + token_id(token),
        lambda *_: ok(ahead, "get_session", session_token=token),
    )
    ok(rig.server, "get_session", session_token=token)
    session, counter = _stored(storage, token)
    assert session.token_last_verified_at == T0 + 200
    assert counter == 1  # written once, by the server ahead
    # The session lives on from the later time: 30 days after T0+200, not after T0+100.
    clock.set(START + timedelta(days=30, seconds=150))
    assert ok(rig.server, "get_session", session_token=token)["session"]["id"] == token_id(token)


def test_a_refresh_that_loses_its_first_write_refreshes_on_a_fresh_read(
    rig: Rig, storage: Any, email_sender: CapturingEmailSender, clock: FakeClock,
    error_logger: CapturingErrorLogger,
) -> None:
    """The refresh writes with the counter of the validation's own read; when another request
    wrote first, it re-reads (F9.4) and writes over that newer entry."""
    token, _ = sign_up(rig.server, email_sender)
    clock.advance(90)
    rig.storage.on("update", Session.PREFIX + token_id(token), rig.storage.competing_update)
    ok(rig.server, "get_session", session_token=token)
    session, counter = _stored(storage, token)
    assert (session.token_last_verified_at, counter) == (T0 + 90, 2)  # the competitor's, then ours
    assert rig.storage.keys_touched("get", Session.PREFIX + token_id(token)) == [
        Session.PREFIX + token_id(token)
    ] * 2
    assert error_logger.entries == []


def test_a_refresh_that_loses_both_writes_leaves_the_winner_in_place(
    rig: Rig, storage: Any, email_sender: CapturingEmailSender, clock: FakeClock,
    error_logger: CapturingErrorLogger,
) -> None:
    token, _ = sign_up(rig.server, email_sender)
    clock.advance(90)
    rig.storage.on("update", Session.PREFIX + token_id(token), rig.storage.competing_update, times=2)
    ok(rig.server, "get_session", session_token=token)  # the lost writes are not an error
    session, counter = _stored(storage, token)
    assert (session.token_last_verified_at, counter) == (T0, 2)  # the competitor's writes only
    assert error_logger.entries == []


# Ending the other sessions on a password change -----------------------------------------------


ON = SessionConfig(end_other_sessions_on_password_change=True)


@pytest.mark.parametrize("lost", [1, 2])
def test_the_callers_session_survives_lost_races_with_an_activity_refresh(
    make_server: Callable[..., Any], storage: Any, user_store: Any, email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger, lost: int,
) -> None:
    rig = build_rig(make_server, storage, user_store, session_config=ON)
    caller, user_id = sign_up(rig.server, email_sender)
    other = sign_in(rig.server)
    # Each of the first ``lost`` writes that move the caller's session to the new sessions counter
    # finds the entry rewritten first (an activity refresh of another request).
    rig.storage.on("update", Session.PREFIX + token_id(caller), rig.storage.competing_update, times=lost)
    hints: list[datetime] = []  # the write that wins (the competing hook runs first, then is gone)
    rig.storage.on("update", Session.PREFIX + token_id(caller),
                   lambda _key, _value, expires_at, _counter: hints.append(expires_at), times=None)
    change_password(rig.server, caller)
    assert [int(hint.timestamp()) for hint in hints] == [T0 + 30 * DAY]
    assert rig.storage.keys_touched("update", Session.PREFIX + token_id(caller)) == [
        Session.PREFIX + token_id(caller)
    ] * (lost + 1)
    session, _ = _stored(storage, caller)
    assert session.user_sessions_counter == user_store.get_user(user_id).sessions_counter == 1
    assert ok(rig.server, "get_session", session_token=caller)["session"]["user_id"] == user_id
    assert error(rig.server, "get_session", session_token=other) == "invalid_session_token"
    assert error_logger.entries == []


def test_after_three_lost_races_the_caller_is_signed_out_and_it_is_logged(
    make_server: Callable[..., Any], storage: Any, user_store: Any, email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
) -> None:
    rig = build_rig(make_server, storage, user_store, session_config=ON)
    caller, _ = sign_up(rig.server, email_sender)
    rig.storage.on("update", Session.PREFIX + token_id(caller), rig.storage.competing_update, times=3)
    change_password(rig.server, caller)  # the password did change: the answer is ok
    assert len(rig.storage.keys_touched("update", Session.PREFIX + token_id(caller))) == 3
    assert [(entry[1], entry[3]) for entry in error_logger.entries] == [
        ("could not keep the caller's session after ending the other sessions; the action went on",
         "complete_user_password_update")
    ]
    assert error(rig.server, "get_session", session_token=caller) == "invalid_session_token"


# The storage expiry hint of a session -------------------------------------------------------


def test_the_expiry_hint_follows_the_last_activity(
    make_server: Callable[..., Server], storage: Any, user_store: Any, email_sender: CapturingEmailSender,
    clock: FakeClock,
) -> None:
    """After 29 days of use, storage keeps the session 30 days from its last activity: a hint
    from ``created_at`` would let ``delete_expired``, Redis or a clocked memory storage drop an
    active session on day 30."""
    if isinstance(storage, MemoryStorage):
        storage = MemoryStorage(clock=clock.now)  # the memory storage that honours hints
    rig = build_rig(make_server, storage, user_store)
    hints: list[datetime] = []
    token, _ = sign_up(rig.server, email_sender)
    key = Session.PREFIX + token_id(token)
    rig.storage.on("update", key, lambda _key, _value, expires_at, _counter: hints.append(expires_at), times=None)
    for day in range(1, 30):
        clock.set(START + timedelta(days=day))
        ok(rig.server, "get_session", session_token=token)
    assert [int(hint.timestamp()) for hint in hints] == [T0 + (day + 30) * DAY for day in range(1, 30)]
    clock.set(START + timedelta(days=30, seconds=1))
    if isinstance(storage, SQLStorage):
        storage.delete_expired(clock.now())
    elif hasattr(storage, "client"):  # Redis: the key's time to live counts from the engine's clock
        ttl_ms = storage.client.pttl(storage.key_prefix + key)
        assert 30 * DAY * 1000 - 60_000 <= ttl_ms <= 30 * DAY * 1000
    assert _stored(storage, token)[0].token_last_verified_at == T0 + 29 * DAY  # still stored
    assert ok(rig.server, "get_session", session_token=token)["session"]["id"] == token_id(token)


# Rate limits ------------------------------------------------------------------------------------


def test_a_refill_keeps_the_unused_part_of_an_interval(
    server: Server, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    """Five password attempts per 60 s: after a refill at 90 s the bucket counts from 60 s, so the
    next token is there at 120 s (counting from 90 s would lose 30 s)."""
    sign_up(server, email_sender)
    signin = ok(server, "create_signin", user_email_address="user@example.com")["signin_token"]

    def attempt() -> str | None:
        return code_of(call(server, "verify_signin_user_password", signin_token=signin, password="wrong one"))

    assert [attempt() for _ in range(6)] == ["incorrect_password"] * 5 + ["rate_limited"]
    clock.set(START + timedelta(seconds=90))
    assert [attempt(), attempt()] == ["incorrect_password", "rate_limited"]
    clock.set(START + timedelta(seconds=119))
    assert attempt() == "rate_limited"
    clock.set(START + timedelta(seconds=120))
    assert [attempt(), attempt()] == ["incorrect_password", "rate_limited"]


# The user cache and the absolute lifetime at their smallest settings ------------------------------


def test_a_one_second_user_cache_is_trusted_for_one_second(
    make_server: Callable[..., Server], storage: Any, user_store: Any, email_sender: CapturingEmailSender,
    clock: FakeClock,
) -> None:
    rig = build_rig(make_server, storage, user_store,
                    session_config=SessionConfig(user_cache_expiration=timedelta(seconds=1)))
    hints: list[datetime] = []
    token, user_id = sign_up(rig.server, email_sender)
    rig.storage.on("update", Session.PREFIX + token_id(token),
                   lambda _key, _value, expires_at, _counter: hints.append(expires_at), times=None)
    ok(rig.server, "get_session", session_token=token)  # checks the user and notes when
    assert _stored(storage, token)[0].user_last_checked_at == T0
    assert [int(hint.timestamp()) for hint in hints] == [T0 + 30 * DAY]
    user_store.set_user_disabled(user_id, True)
    clock.set(START + timedelta(milliseconds=900))
    ok(rig.server, "get_session", session_token=token)  # trusted from the cache
    clock.set(START + timedelta(seconds=1))
    assert error(rig.server, "get_session", session_token=token) == "invalid_session_token"


def test_a_user_check_noted_by_a_server_ahead_does_not_stand_in_for_a_server_without_the_cache(
    make_server: Callable[..., Server], storage: Any, user_store: Any, email_sender: CapturingEmailSender,
) -> None:
    """Server A (user cache on, clock 100 s ahead) notes a user check in the session; server B
    (cache off) must still check the user on every validation."""
    ahead = make_server(clock=FakeClock(START + timedelta(seconds=100)),
                        session_config=SessionConfig(user_cache_expiration=timedelta(minutes=5)))
    behind = make_server()
    token, user_id = sign_up(behind, email_sender)
    ok(ahead, "get_session", session_token=token)
    assert _stored(storage, token)[0].user_last_checked_at == T0 + 100
    user_store.set_user_disabled(user_id, True)
    assert error(behind, "get_session", session_token=token) == "invalid_session_token"


def test_a_one_second_absolute_lifetime(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    server = make_server(session_config=SessionConfig(expiration=timedelta(seconds=1)))
    token, _ = sign_up(server, email_sender)
    assert ok(server, "get_session", session_token=token)["session"]["expires_at"] == T0 + 1
    clock.set(START + timedelta(seconds=1))
    assert error(server, "get_session", session_token=token) == "invalid_session_token"


@pytest.mark.parametrize(
    ("action", "invalid"),
    [("get_user_password_update", "invalid_password_update_token"),
     ("get_user_deletion", "invalid_user_deletion_token"),
     ("get_user_email_address_update", "invalid_user_email_address_update_token")],
)
def test_the_get_actions_of_account_flows_trust_the_user_cache_for_the_session(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, user_store: Any, clock: FakeClock,
    action: str, invalid: str,
) -> None:
    """Plain session validation (F9.3) for the ``get_*`` actions: within the cache window the
    session passes without a user look-up, and the record, bound to the user's counters, is what
    turns out invalid once the user is disabled."""
    server = make_server(session_config=SessionConfig(user_cache_expiration=timedelta(seconds=60)))
    session_token, user_id = sign_up(server, email_sender)
    arguments = {"new_email_address": "new@example.com"} if "email" in action else {}
    values = ok(server, action.replace("get_", "create_"), session_token=session_token, **arguments)
    entity_token = next(value for key, value in values.items() if key.endswith("_token"))
    token_name = next(key for key in values if key.endswith("_token"))
    assert ok(server, action, session_token=session_token, **{token_name: entity_token})
    user_store.set_user_disabled(user_id, True)
    clock.advance(30)
    assert error(server, action, session_token=session_token, **{token_name: entity_token}) == invalid
    assert error(server, "delete_all_sessions", session_token=session_token) == "invalid_session_token"
