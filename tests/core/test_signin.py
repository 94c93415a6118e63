"""Signin actions: actions-auth.md §3, with the Compatibility policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from faroe_flask import LoggingErrorLogger, Server

from ..conftest import STRONG_PASSWORD, CapturingEmailSender, CapturingErrorLogger, FakeClock
from .wrappers import InterferingStorage, InterferingUserStore, with_wrong_secret
from .helpers import error, ok, sign_up

EMAIL = "user@example.com"


@pytest.fixture
def user_id(server: Server, email_sender: CapturingEmailSender) -> str:
    _, user_id = sign_up(server, email_sender, EMAIL)
    return user_id


def _signin(server: Server) -> str:
    token: str = ok(server, "create_signin", user_email_address=EMAIL)["signin_token"]
    return token


def _verified_signin(server: Server) -> str:
    token = _signin(server)
    ok(server, "verify_signin_user_password", signin_token=token, password=STRONG_PASSWORD)
    return token


def test_create_signin(server: Server, user_id: str, clock: FakeClock) -> None:
    values = ok(server, "create_signin", user_email_address=EMAIL)
    signin = values["signin"]
    now = int(clock.now().timestamp())
    assert list(signin) == ["id", "user_id", "user_first_factor_verified", "created_at", "expires_at"]
    assert signin == {"id": signin["id"], "user_id": user_id, "user_first_factor_verified": False,
                      "created_at": now, "expires_at": now + 600}
    assert values["signin_token"].startswith(signin["id"] + ".")


def test_create_signin_errors_in_order(server: Server, user_id: str, user_store: Any) -> None:
    assert error(server, "create_signin", user_email_address="nope") == "invalid_email_address"
    assert error(server, "create_signin", user_email_address="USER@example.com") == "user_not_found"
    user_store.set_user_disabled(user_id, True)
    assert error(server, "create_signin", user_email_address=EMAIL) == "user_disabled"


def test_create_signin_internal_errors(
    make_server: Callable[..., Server], storage: Any, user_store: Any, user_id: str,
    error_logger: CapturingErrorLogger,
) -> None:
    users = InterferingUserStore(user_store)
    users.fail("get_user_by_email_address", times=None)
    assert error(make_server(user_store=users), "create_signin", user_email_address=EMAIL) == "internal_error"
    faulty = InterferingStorage(storage)
    faulty.fail("add", "aaaj.", times=None)
    assert error(make_server(storage=faulty), "create_signin", user_email_address=EMAIL) == "internal_error"
    assert error_logger.actions == ["create_signin", "create_signin"]


def test_get_and_delete_signin(server: Server, user_id: str) -> None:
    token = _signin(server)
    assert ok(server, "get_signin", signin_token=token)["signin"]["user_id"] == user_id
    assert error(server, "get_signin", signin_token=with_wrong_secret(token)) == "invalid_signin_token"
    assert ok(server, "delete_signin", signin_token=token) == {}
    assert error(server, "get_signin", signin_token=token) == "invalid_signin_token"
    assert error(server, "delete_signin", signin_token=token) == "invalid_signin_token"


def test_delete_signin_races_and_failures(
    make_server: Callable[..., Server], storage: Any, user_id: str
) -> None:
    server = make_server()
    token = _signin(server)
    faulty = InterferingStorage(storage)
    faulty.on("delete", "aaaj.", faulty.vanish)
    assert error(make_server(storage=faulty), "delete_signin", signin_token=token) == "invalid_signin_token"
    token = _signin(server)
    faulty = InterferingStorage(storage)
    faulty.fail("delete", "aaaj.", times=None)
    assert error(make_server(storage=faulty), "delete_signin", signin_token=token) == "internal_error"
    faulty = InterferingStorage(storage)
    faulty.fail("get", "aaaj.", times=None)
    assert error(make_server(storage=faulty), "get_signin", signin_token=token) == "internal_error"


def test_signin_expires_after_10_minutes(server: Server, user_id: str, clock: FakeClock) -> None:
    token = _signin(server)
    clock.advance(599.9)
    ok(server, "get_signin", signin_token=token)
    clock.advance(0.1)
    assert error(server, "get_signin", signin_token=token) == "invalid_signin_token"


@pytest.mark.parametrize("change", ["disable", "password", "delete"])
def test_signin_is_invalidated_by_the_user(
    server: Server, user_id: str, user_store: Any, change: str
) -> None:
    token = _signin(server)
    if change == "disable":
        user_store.set_user_disabled(user_id, True)
    elif change == "password":
        user = user_store.get_user(user_id)
        user_store.update_user_password_hash(user_id, b"x", "x", b"y", user.password_hash_counter)
    else:
        user_store.delete_user(user_id)
    assert error(server, "get_signin", signin_token=token) == "invalid_signin_token"
    if change == "disable":
        user_store.set_user_disabled(user_id, False)  # the counter moved: still invalid
        assert error(server, "get_signin", signin_token=token) == "invalid_signin_token"


def test_signin_survives_an_email_address_change(server: Server, user_id: str, user_store: Any) -> None:
    token = _signin(server)
    user_store.update_user_email_address(user_id, "new@example.com", 0)
    signin = ok(server, "get_signin", signin_token=token)["signin"]
    assert signin["id"] == token.split(".")[0] and signin["user_id"] == user_id


def test_a_wrong_secret_is_checked_before_the_user_store(
    make_server: Callable[..., Server], user_store: Any, user_id: str
) -> None:
    server = make_server()
    token = _signin(server)
    users = InterferingUserStore(user_store)
    users.fail("get_user", times=None)
    faulty_server = make_server(user_store=users)
    assert error(faulty_server, "get_signin", signin_token=with_wrong_secret(token)) == "invalid_signin_token"
    assert error(faulty_server, "get_signin", signin_token=token) == "internal_error"


def test_verify_signin_user_password(server: Server, user_id: str) -> None:
    token = _signin(server)
    assert error(server, "verify_signin_user_password", signin_token=token, password="wrong") == "incorrect_password"
    assert error(server, "verify_signin_user_password", signin_token=token, password="") == "incorrect_password"
    assert ok(server, "verify_signin_user_password", signin_token=token, password=STRONG_PASSWORD) == {}
    assert ok(server, "get_signin", signin_token=token)["signin"]["user_first_factor_verified"] is True
    assert error(server, "verify_signin_user_password", signin_token=token,
                 password=STRONG_PASSWORD) == "user_first_factor_already_verified"
    assert error(server, "verify_signin_user_password", signin_token="x", password="y") == "invalid_signin_token"


def test_verify_signin_user_password_is_rate_limited_per_user(
    server: Server, user_id: str, clock: FakeClock
) -> None:
    first = _signin(server)
    second = _signin(server)
    for _ in range(3):
        error(server, "verify_signin_user_password", signin_token=first, password="wrong")
    for _ in range(2):
        error(server, "verify_signin_user_password", signin_token=second, password="wrong")
    assert error(server, "verify_signin_user_password", signin_token=first,
                 password=STRONG_PASSWORD) == "rate_limited"
    clock.advance(60)
    ok(server, "verify_signin_user_password", signin_token=first, password=STRONG_PASSWORD)


def test_verify_signin_user_password_failures(
    make_server: Callable[..., Server], storage: Any, user_store: Any, user_id: str,
    error_logger: CapturingErrorLogger,
) -> None:
    server = make_server()
    token = _signin(server)
    faulty = InterferingStorage(storage)
    faulty.on("update", "aaaj.", faulty.competing_update)
    assert error(make_server(storage=faulty), "verify_signin_user_password", signin_token=token,
                 password=STRONG_PASSWORD) == "internal_conflict"
    token = _signin(server)
    faulty = InterferingStorage(storage)
    faulty.on("update", "aaaq.", faulty.competing_update)
    assert error(make_server(storage=faulty), "verify_signin_user_password", signin_token=token,
                 password=STRONG_PASSWORD) == "internal_conflict"
    assert error_logger.entries == []
    # A hash algorithm the server does not know is an internal error.
    other = make_server(user_password_hash_algorithms=[_renamed_algorithm()])
    assert error(other, "verify_signin_user_password", signin_token=token, password=STRONG_PASSWORD) == "internal_error"
    assert error_logger.actions == ["verify_signin_user_password"]


def _renamed_algorithm() -> Any:
    from ..conftest import FAST_USER_ALGORITHM

    return FAST_USER_ALGORITHM.with_id("argon2id.other")


def test_old_hashes_verify_under_a_listed_alias(
    make_server: Callable[..., Server], user_id: str
) -> None:
    from ..conftest import FAST_USER_ALGORITHM

    server = make_server(user_password_hash_algorithms=[_renamed_algorithm(), FAST_USER_ALGORITHM])
    token = _signin(server)
    ok(server, "verify_signin_user_password", signin_token=token, password=STRONG_PASSWORD)
    assert ok(server, "get_signin", signin_token=token)["signin"]["user_first_factor_verified"] is True


def test_complete_signin(
    server: Server, user_id: str, email_sender: CapturingEmailSender, clock: FakeClock, user_store: Any
) -> None:
    user_store.set_user_display_name(user_id, "Ada")
    token = _signin(server)
    assert error(server, "complete_signin", signin_token=token) == "user_first_factor_not_verified"
    ok(server, "verify_signin_user_password", signin_token=token, password=STRONG_PASSWORD)
    values = ok(server, "complete_signin", signin_token=token)
    assert values["session"]["user_id"] == user_id
    assert ok(server, "get_session", session_token=values["session_token"])["session"] == values["session"]
    notice = email_sender.last("signed_in")
    assert notice["email_address"] == EMAIL and notice["display_name"] == "Ada"
    assert notice["timestamp"].timestamp() == values["session"]["created_at"]
    assert error(server, "complete_signin", signin_token=token) == "invalid_signin_token"
    assert error(server, "complete_signin", signin_token="x") == "invalid_signin_token"


def test_complete_signin_notification_failure_is_only_logged(
    server: Server, user_id: str, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = _verified_signin(server)
    email_sender.failing.add("signed_in")
    ok(server, "complete_signin", signin_token=token)
    assert error_logger.actions == ["complete_signin"]


def test_the_log_line_of_a_failed_notification_says_the_signin_went_on(
    make_server: Callable[..., Server],
    user_id: str,
    email_sender: CapturingEmailSender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 20: the default logger's line must not call an action that answered ok "failed"."""
    server = make_server(error_logger=LoggingErrorLogger())
    token = _verified_signin(server)
    email_sender.failing.add("signed_in")
    with caplog.at_level(logging.ERROR, logger="faroe_flask"):
        ok(server, "complete_signin", signin_token=token)
    (line,) = [record.getMessage() for record in caplog.records]
    assert line.startswith("faroe action complete_signin (invocation ") and "failed (" not in line
    assert "sending the" in line and line.endswith("; the action went on"), line
    # A failure that decides the answer says which answer.
    caplog.clear()
    faulty = InterferingStorage(server.storage)
    faulty.fail("add", "aaah.")
    with caplog.at_level(logging.ERROR, logger="faroe_flask"):
        assert error(make_server(storage=faulty, error_logger=LoggingErrorLogger()), "complete_signin", signin_token=_verified_signin(server)) == "internal_error"
    (line,) = [record.getMessage() for record in caplog.records]
    assert line.endswith("; answered internal_error"), line


def test_complete_signin_consumes_the_signin_first(
    make_server: Callable[..., Server], storage: Any, user_id: str, error_logger: CapturingErrorLogger
) -> None:
    server = make_server()
    token = _verified_signin(server)
    faulty = InterferingStorage(storage)
    faulty.fail("add", "aaah.", times=None)
    assert error(make_server(storage=faulty), "complete_signin", signin_token=token) == "internal_error"
    assert error(server, "get_signin", signin_token=token) == "invalid_signin_token"
    token = _verified_signin(server)
    faulty = InterferingStorage(storage)
    faulty.on("delete", "aaaj.", faulty.vanish)
    assert error(make_server(storage=faulty), "complete_signin", signin_token=token) == "invalid_signin_token"
