"""User password reset actions: actions-auth.md §5, with the Compatibility policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from faroe_flask import Server, StorageEntryNotFoundError, UserNotFoundError

from ..conftest import STRONG_PASSWORD, WEAK_PASSWORD, CapturingEmailSender, CapturingErrorLogger, FakeClock
from .wrappers import InterferingStorage, InterferingUserStore, with_wrong_secret
from .helpers import error, ok, sign_up

EMAIL = "user@example.com"
NEW_PASSWORD = "a brand new passphrase"
INVALID = "invalid_user_password_reset_token"


@pytest.fixture
def user_id(server: Server, email_sender: CapturingEmailSender, user_store: Any) -> str:
    _, user_id = sign_up(server, email_sender, EMAIL)
    user_store.set_user_display_name(user_id, "Ada")
    return user_id


class Resets:
    def __init__(self, server: Server, email_sender: CapturingEmailSender) -> None:
        self.server = server
        self.email_sender = email_sender

    def created(self) -> str:
        token: str = ok(self.server, "create_user_password_reset", user_email_address=EMAIL)[
            "user_password_reset_token"
        ]
        return token

    def temporary_password(self) -> str:
        value: str = self.email_sender.last("temporary_password")["temporary_password"]
        return value

    def verified(self) -> str:
        token = self.created()
        ok(self.server, "verify_user_password_reset_temporary_password", user_password_reset_token=token,
           temporary_password=self.temporary_password())
        return token

    def with_new_password(self) -> str:
        token = self.verified()
        ok(self.server, "set_user_password_reset_new_password", user_password_reset_token=token,
           password=NEW_PASSWORD)
        return token


@pytest.fixture
def resets(server: Server, email_sender: CapturingEmailSender, user_id: str) -> Resets:
    return Resets(server, email_sender)


def test_create_user_password_reset(
    server: Server, resets: Resets, user_id: str, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    values = ok(server, "create_user_password_reset", user_email_address=EMAIL)
    reset = values["user_password_reset"]
    now = int(clock.now().timestamp())
    assert list(reset) == ["id", "user_id", "user_first_factor_verified", "new_password_set", "created_at",
                           "expires_at"]
    assert reset == {"id": reset["id"], "user_id": user_id, "user_first_factor_verified": False,
                     "new_password_set": False, "created_at": now, "expires_at": now + 1200}
    message = email_sender.last("temporary_password")
    assert message["email_address"] == EMAIL and message["display_name"] == "Ada"


def test_create_user_password_reset_errors_in_order(server: Server, user_id: str, user_store: Any) -> None:
    assert error(server, "create_user_password_reset", user_email_address="x") == "invalid_email_address"
    assert error(server, "create_user_password_reset", user_email_address="USER@example.com") == "user_not_found"
    user_store.set_user_disabled(user_id, True)
    assert error(server, "create_user_password_reset", user_email_address=EMAIL) == "user_disabled"


def test_create_user_password_reset_rate_limits(
    server: Server, resets: Resets, clock: FakeClock
) -> None:
    token = resets.created()
    for _ in range(5):
        error(server, "verify_user_password_reset_temporary_password", user_password_reset_token=token,
              temporary_password="WRONG")
    # No new reset while the temporary-password guesses are exhausted ...
    assert error(server, "create_user_password_reset", user_email_address=EMAIL) == "rate_limited"
    clock.advance(60)
    for _ in range(3):  # the signup and the first reset took two of the five send-email tokens
        resets.created()
    # ... and at most five emails per address per 30 minutes, shared with signup.
    assert error(server, "create_user_password_reset", user_email_address=EMAIL) == "rate_limited"


def test_create_user_password_reset_failures(
    make_server: Callable[..., Server], storage: Any, user_store: Any, user_id: str,
    email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger,
) -> None:
    users = InterferingUserStore(user_store)
    users.fail("get_user_by_email_address", times=1)
    assert error(make_server(user_store=users), "create_user_password_reset", user_email_address=EMAIL) == "internal_error"
    faulty = InterferingStorage(storage)
    faulty.fail("add", "aaan.", times=1)
    assert error(make_server(storage=faulty), "create_user_password_reset", user_email_address=EMAIL) == "internal_error"
    added: list[str] = []
    faulty = InterferingStorage(storage)
    faulty.on("add", "aaan.", lambda key, *_: added.append(key))
    email_sender.failing.add("temporary_password")
    assert error(make_server(storage=faulty), "create_user_password_reset", user_email_address=EMAIL) == "internal_error"
    with pytest.raises(StorageEntryNotFoundError):
        storage.get(added[0])  # policy item 9: the reset is gone
    email_sender.failing.clear()
    faulty = InterferingStorage(storage)
    faulty.on("update", "aaar.", faulty.competing_update)
    assert error(make_server(storage=faulty), "create_user_password_reset", user_email_address=EMAIL) == "internal_conflict"
    assert error_logger.actions == ["create_user_password_reset"] * 3


def test_create_user_password_reset_counter_guard(
    make_server: Callable[..., Server], user_store: Any, user_id: str, error_logger: CapturingErrorLogger
) -> None:
    import dataclasses

    users = InterferingUserStore(user_store)
    users.transform = lambda user: dataclasses.replace(user, password_hash_counter=2_147_483_647)
    server = make_server(user_store=users)
    assert error(server, "create_user_password_reset", user_email_address=EMAIL) == "internal_error"
    assert error_logger.actions == ["create_user_password_reset"]


def test_get_and_delete_user_password_reset(server: Server, resets: Resets, error_logger: CapturingErrorLogger) -> None:
    token = resets.created()
    assert ok(server, "get_user_password_reset", user_password_reset_token=token)["user_password_reset"]["id"] == token[:24]
    for bad in ["", ".", "garbage", with_wrong_secret(token), "a" * 24 + token[24:]]:
        assert error(server, "get_user_password_reset", user_password_reset_token=bad) == INVALID
        assert error(server, "delete_user_password_reset", user_password_reset_token=bad) == INVALID
    assert ok(server, "delete_user_password_reset", user_password_reset_token=token) == {}
    assert error(server, "get_user_password_reset", user_password_reset_token=token) == INVALID
    assert error(server, "delete_user_password_reset", user_password_reset_token=token) == INVALID
    assert error_logger.entries == []  # invalid tokens are not internal errors (policy item 4)


def test_delete_user_password_reset_failures(
    make_server: Callable[..., Server], storage: Any, resets: Resets
) -> None:
    token = resets.created()
    faulty = InterferingStorage(storage)
    faulty.fail("delete", "aaan.", times=None)
    assert error(make_server(storage=faulty), "delete_user_password_reset", user_password_reset_token=token) == "internal_error"
    faulty = InterferingStorage(storage)
    faulty.on("delete", "aaan.", faulty.vanish)
    assert error(make_server(storage=faulty), "delete_user_password_reset", user_password_reset_token=token) == INVALID


def test_reset_expires_after_20_minutes(server: Server, resets: Resets, clock: FakeClock) -> None:
    token = resets.created()
    clock.advance(1199.9)
    ok(server, "get_user_password_reset", user_password_reset_token=token)
    clock.advance(0.1)
    assert error(server, "get_user_password_reset", user_password_reset_token=token) == INVALID


@pytest.mark.parametrize("change", ["disable", "email", "password", "delete"])
def test_reset_is_invalidated_by_user_changes(
    server: Server, resets: Resets, user_id: str, user_store: Any, change: str
) -> None:
    token = resets.created()
    if change == "disable":
        user_store.set_user_disabled(user_id, True)
    elif change == "email":
        user_store.update_user_email_address(user_id, "new@example.com", 0)
    elif change == "password":
        user_store.update_user_password_hash(user_id, b"h", "x", b"s", 0)
    else:
        user_store.delete_user(user_id)
    assert error(server, "get_user_password_reset", user_password_reset_token=token) == INVALID


def test_verify_temporary_password(server: Server, resets: Resets) -> None:
    token = resets.created()
    assert error(server, "verify_user_password_reset_temporary_password", user_password_reset_token=token,
                 temporary_password="WRONGWRONGWR") == "incorrect_temporary_password"
    assert ok(server, "verify_user_password_reset_temporary_password", user_password_reset_token=token,
              temporary_password=resets.temporary_password().lower()) == {}
    reset = ok(server, "get_user_password_reset", user_password_reset_token=token)["user_password_reset"]
    assert reset["user_first_factor_verified"] is True
    assert error(server, "verify_user_password_reset_temporary_password", user_password_reset_token=token,
                 temporary_password=resets.temporary_password()) == "user_first_factor_already_verified"
    assert error(server, "verify_user_password_reset_temporary_password", user_password_reset_token="x",
                 temporary_password="x") == INVALID


def test_verify_temporary_password_rate_limit_is_per_user(server: Server, resets: Resets, clock: FakeClock) -> None:
    first = resets.created()
    second = resets.created()
    for token in (first, first, first, second, second):
        error(server, "verify_user_password_reset_temporary_password", user_password_reset_token=token,
              temporary_password="WRONG")
    assert error(server, "verify_user_password_reset_temporary_password", user_password_reset_token=second,
                 temporary_password=resets.temporary_password()) == "rate_limited"
    clock.advance(60)
    ok(server, "verify_user_password_reset_temporary_password", user_password_reset_token=second,
       temporary_password=resets.temporary_password())


def test_verify_temporary_password_with_an_unknown_algorithm_deletes_the_reset(
    make_server: Callable[..., Server], resets: Resets
) -> None:
    from faroe_flask.passwords import Argon2id

    token = resets.created()
    server = make_server(temporary_password_hash_algorithm=Argon2id(memory_cost=64, time_cost=2, parallelism=1))
    assert error(server, "verify_user_password_reset_temporary_password", user_password_reset_token=token,
                 temporary_password=resets.temporary_password()) == INVALID
    assert error(server, "get_user_password_reset", user_password_reset_token=token) == INVALID


def test_verify_temporary_password_failures(
    make_server: Callable[..., Server], storage: Any, resets: Resets, error_logger: CapturingErrorLogger
) -> None:
    token = resets.created()
    faulty = InterferingStorage(storage)
    faulty.on("update", "aaan.", faulty.competing_update)
    assert error(make_server(storage=faulty), "verify_user_password_reset_temporary_password",
                 user_password_reset_token=token, temporary_password=resets.temporary_password()) == "internal_conflict"
    faulty = InterferingStorage(storage)
    faulty.on("update", "aaat.", faulty.competing_update)
    assert error(make_server(storage=faulty), "verify_user_password_reset_temporary_password",
                 user_password_reset_token=token, temporary_password=resets.temporary_password()) == "internal_conflict"
    faulty = InterferingStorage(storage)
    faulty.fail("get", "aaat.", times=None)
    assert error(make_server(storage=faulty), "verify_user_password_reset_temporary_password",
                 user_password_reset_token=token, temporary_password=resets.temporary_password()) == "internal_error"
    assert error_logger.actions == ["verify_user_password_reset_temporary_password"]


def test_set_user_password_reset_new_password(
    server: Server, resets: Resets, strength_checker: Any
) -> None:
    token = resets.created()
    assert error(server, "set_user_password_reset_new_password", user_password_reset_token=token,
                 password="short") == "user_first_factor_not_verified"
    token = resets.verified()
    assert error(server, "set_user_password_reset_new_password", user_password_reset_token=token,
                 password="short") == "invalid_password_length"
    assert error(server, "set_user_password_reset_new_password", user_password_reset_token=token,
                 password=WEAK_PASSWORD) == "weak_password"
    strength_checker.error = ConnectionError("api down")
    assert error(server, "set_user_password_reset_new_password", user_password_reset_token=token,
                 password=NEW_PASSWORD) == "internal_error"
    strength_checker.error = None
    assert ok(server, "set_user_password_reset_new_password", user_password_reset_token=token,
              password=NEW_PASSWORD) == {}
    assert error(server, "set_user_password_reset_new_password", user_password_reset_token=token,
                 password="short") == "new_password_already_set"
    assert error(server, "set_user_password_reset_new_password", user_password_reset_token="x",
                 password=NEW_PASSWORD) == INVALID


def test_set_user_password_reset_new_password_lost_race(
    make_server: Callable[..., Server], storage: Any, resets: Resets
) -> None:
    token = resets.verified()
    faulty = InterferingStorage(storage)
    faulty.on("update", "aaan.", faulty.competing_update)
    assert error(make_server(storage=faulty), "set_user_password_reset_new_password",
                 user_password_reset_token=token, password=NEW_PASSWORD) == "internal_conflict"


def test_complete_user_password_reset(
    server: Server, resets: Resets, user_id: str, user_store: Any, email_sender: CapturingEmailSender,
    clock: FakeClock,
) -> None:
    old_session, _ = sign_up(server, email_sender, "other@example.com")  # another user's session
    mine = ok(server, "complete_signin", signin_token=_verified_signin(server))["session_token"]
    token = resets.created()
    assert error(server, "complete_user_password_reset", user_password_reset_token=token) == "user_first_factor_not_verified"
    token = resets.verified()
    assert error(server, "complete_user_password_reset", user_password_reset_token=token) == "new_password_not_set"
    token = resets.with_new_password()
    values = ok(server, "complete_user_password_reset", user_password_reset_token=token)
    assert values["session"]["user_id"] == user_id
    ok(server, "get_session", session_token=values["session_token"])
    ok(server, "get_session", session_token=mine)  # existing sessions stay (extension off)
    assert user_store.get_user(user_id).password_hash_counter == 1
    kinds = [kind for kind, _ in email_sender.messages[-2:]]
    assert kinds == ["password_updated", "signed_in"]
    assert email_sender.last("password_updated")["display_name"] == "Ada"
    assert error(server, "complete_user_password_reset", user_password_reset_token=token) == INVALID
    # The new password works and the old one does not.
    signin = ok(server, "create_signin", user_email_address=EMAIL)["signin_token"]
    assert error(server, "verify_signin_user_password", signin_token=signin, password=STRONG_PASSWORD) == "incorrect_password"
    ok(server, "verify_signin_user_password", signin_token=signin, password=NEW_PASSWORD)


def _verified_signin(server: Server) -> str:
    token: str = ok(server, "create_signin", user_email_address=EMAIL)["signin_token"]
    ok(server, "verify_signin_user_password", signin_token=token, password=STRONG_PASSWORD)
    return token


def test_completing_one_reset_invalidates_the_others(server: Server, resets: Resets) -> None:
    first = resets.with_new_password()
    second = resets.with_new_password()
    ok(server, "complete_user_password_reset", user_password_reset_token=first)
    assert error(server, "complete_user_password_reset", user_password_reset_token=second) == INVALID


def test_complete_user_password_reset_failures(
    make_server: Callable[..., Server], storage: Any, user_store: Any, resets: Resets,
    email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger,
) -> None:
    token = resets.with_new_password()
    users = InterferingUserStore(user_store)
    users.fail("update_user_password_hash", UserNotFoundError("moved"), times=1)
    users.fail("update_user_password_hash", RuntimeError("db down"), times=1)
    server = make_server(user_store=users)
    assert error(server, "complete_user_password_reset", user_password_reset_token=token) == "internal_conflict"
    assert error(server, "complete_user_password_reset", user_password_reset_token=token) == "internal_error"
    assert error_logger.actions == ["complete_user_password_reset"]
    # Notifications and the cleanup only log; a session that cannot be stored is session_not_created.
    email_sender.failing.update({"password_updated", "signed_in"})
    faulty = InterferingStorage(storage)
    faulty.fail("delete", "aaan.", times=None)
    faulty.fail("add", "aaah.", times=None)
    assert error(make_server(storage=faulty), "complete_user_password_reset",
                 user_password_reset_token=token) == "session_not_created"
    assert error_logger.actions == ["complete_user_password_reset"] * 4


def test_complete_user_password_reset_notifications_failing_only_log(
    server: Server, resets: Resets, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = resets.with_new_password()
    email_sender.failing.update({"password_updated", "signed_in"})
    ok(server, "complete_user_password_reset", user_password_reset_token=token)
    assert error_logger.actions == ["complete_user_password_reset"] * 2
