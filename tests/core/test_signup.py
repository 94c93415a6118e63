"""Signup actions: actions-auth.md §2, with the Compatibility policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from faroe_flask import Server, StorageEntryNotFoundError, UserNotFoundError

from ..conftest import STRONG_PASSWORD, WEAK_PASSWORD, BannedPasswords, CapturingEmailSender, CapturingErrorLogger, FakeClock
from .wrappers import InterferingStorage, InterferingUserStore
from .helpers import call, error, ok, sign_up

EMAIL = "user@example.com"


class Signups:
    """Creates signups at each stage of the flow."""

    def __init__(self, server: Server, email_sender: CapturingEmailSender) -> None:
        self.server = server
        self.email_sender = email_sender

    def created(self, email_address: str = EMAIL) -> str:
        token: str = ok(self.server, "create_signup", email_address=email_address)["signup_token"]
        return token

    def code(self) -> str:
        code: str = self.email_sender.last("signup_code")["code"]
        return code

    def verified(self, email_address: str = EMAIL) -> str:
        token = self.created(email_address)
        ok(self.server, "verify_signup_email_address_verification_code", signup_token=token,
           email_address_verification_code=self.code())
        return token

    def with_password(self, email_address: str = EMAIL) -> str:
        token = self.verified(email_address)
        ok(self.server, "set_signup_password", signup_token=token, password=STRONG_PASSWORD)
        return token


@pytest.fixture
def signups(server: Server, email_sender: CapturingEmailSender) -> Signups:
    return Signups(server, email_sender)


def _bad_tokens(token: str) -> list[str]:
    record_id, secret = token.split(".")
    return ["", ".", "nonsense", token + ".x", record_id, f"{record_id}.", f"{record_id}.{secret[::-1]}",
            f"{'a' * 24}.{secret}", token.upper()]


# create_signup ------------------------------------------------------------------------------


def test_create_signup(server: Server, email_sender: CapturingEmailSender, clock: FakeClock) -> None:
    values = ok(server, "create_signup", email_address=EMAIL)
    now = int(clock.now().timestamp())
    signup = values["signup"]
    assert list(signup) == ["id", "unregistered_user_id", "email_address", "email_address_verified",
                            "password_set", "created_at", "expires_at"]
    assert signup["unregistered_user_id"] == ""
    assert signup["email_address"] == EMAIL
    assert signup["email_address_verified"] is False and signup["password_set"] is False
    assert signup["created_at"] == now and signup["expires_at"] == now + 1200
    assert email_sender.last("signup_code")["email_address"] == EMAIL
    assert values["signup_token"].split(".")[0] == signup["id"]


def test_create_signup_errors_in_order(
    make_server: Callable[..., Server], server: Server, email_sender: CapturingEmailSender, user_store: Any
) -> None:
    assert error(server, "create_signup", email_address="not an address") == "invalid_email_address"
    sign_up(server, email_sender, "taken@example.com")
    assert error(server, "create_signup", email_address="taken@example.com") == "email_address_already_used"
    # Invalid address beats availability, and availability beats the checker.
    assert error(server, "create_signup", email_address="taken@example.com ") == "invalid_email_address"

    class Deny:
        def is_allowed(self, email_address: str) -> bool:
            return not email_address.endswith("@blocked.example")

    strict = make_server(email_address_checker=Deny())
    assert error(strict, "create_signup", email_address="a@blocked.example") == "email_address_not_allowed"
    assert error(strict, "create_signup", email_address="taken@example.com") == "email_address_already_used"


def test_create_signup_send_email_limit_is_per_exact_address(server: Server) -> None:
    for _ in range(5):
        ok(server, "create_signup", email_address=EMAIL)
    assert error(server, "create_signup", email_address=EMAIL) == "rate_limited"
    ok(server, "create_signup", email_address=EMAIL.upper())


def test_create_signup_send_email_limit_refills_after_30_minutes(server: Server, clock: FakeClock) -> None:
    for _ in range(5):
        ok(server, "create_signup", email_address=EMAIL)
    clock.advance(1799)
    assert error(server, "create_signup", email_address=EMAIL) == "rate_limited"
    clock.advance(1)
    ok(server, "create_signup", email_address=EMAIL)
    assert error(server, "create_signup", email_address=EMAIL) == "rate_limited"


def test_create_signup_is_refused_while_code_guesses_are_exhausted(server: Server, signups: Signups, clock: FakeClock) -> None:
    token = signups.created()
    for _ in range(5):
        error(server, "verify_signup_email_address_verification_code", signup_token=token,
              email_address_verification_code="WRONGONE")
    assert error(server, "create_signup", email_address=EMAIL) == "rate_limited"
    clock.advance(60)
    ok(server, "create_signup", email_address=EMAIL)


def test_create_signup_internal_failures(
    make_server: Callable[..., Server], storage: Any, user_store: Any, email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
) -> None:
    faulty_users = InterferingUserStore(user_store)
    faulty_users.fail("get_user_by_email_address", times=1)
    server = make_server(user_store=faulty_users)
    assert error(server, "create_signup", email_address=EMAIL) == "internal_error"

    class Raising:
        def is_allowed(self, email_address: str) -> bool:
            raise OSError("checker down")

    assert error(make_server(email_address_checker=Raising()), "create_signup", email_address=EMAIL) == "internal_error"

    faulty = InterferingStorage(storage)
    faulty.fail("get", "aaas.", times=1)
    assert error(make_server(storage=faulty), "create_signup", email_address=EMAIL) == "internal_error"
    faulty.fail("add", "aaai.", times=1)
    assert error(make_server(storage=faulty), "create_signup", email_address=EMAIL) == "internal_error"
    assert error_logger.actions == ["create_signup"] * 4


def test_create_signup_lost_bucket_race_is_internal_conflict(
    make_server: Callable[..., Server], storage: Any, error_logger: CapturingErrorLogger
) -> None:
    server = make_server()
    ok(server, "create_signup", email_address=EMAIL)
    faulty = InterferingStorage(storage)
    faulty.on("update", "aaar.", faulty.competing_update)
    assert error(make_server(storage=faulty), "create_signup", email_address=EMAIL) == "internal_conflict"
    assert error_logger.entries == []


def test_create_signup_failed_email_deletes_the_signup(
    make_server: Callable[..., Server], storage: Any, email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
) -> None:
    added: list[str] = []
    faulty = InterferingStorage(storage)
    faulty.on("add", "aaai.", lambda key, *_: added.append(key))
    email_sender.failing.add("signup_code")
    assert error(make_server(storage=faulty), "create_signup", email_address=EMAIL) == "internal_error"
    assert len(added) == 1
    with pytest.raises(StorageEntryNotFoundError):
        storage.get(added[0])
    assert error_logger.actions == ["create_signup"]
    assert "ConnectionError" in error_logger.entries[0][1]


# get_signup / delete_signup ----------------------------------------------------------------


def test_get_signup(server: Server, signups: Signups) -> None:
    token = signups.created()
    assert ok(server, "get_signup", signup_token=token)["signup"]["email_address"] == EMAIL
    for bad in _bad_tokens(token):
        assert error(server, "get_signup", signup_token=bad) == "invalid_signup_token"
    # A wrong secret does not delete the signup.
    ok(server, "get_signup", signup_token=token)


def test_signup_expires_after_20_minutes(server: Server, signups: Signups, clock: FakeClock, storage: Any) -> None:
    token = signups.created()
    clock.advance(1199.9)
    ok(server, "get_signup", signup_token=token)
    clock.advance(0.1)
    assert error(server, "get_signup", signup_token=token) == "invalid_signup_token"
    with pytest.raises(StorageEntryNotFoundError):
        storage.get("aaai." + token.split(".")[0])


def test_get_signup_storage_failure(make_server: Callable[..., Server], storage: Any, signups: Signups) -> None:
    token = signups.created()
    faulty = InterferingStorage(storage)
    faulty.fail("get", "aaai.", times=None)
    assert error(make_server(storage=faulty), "get_signup", signup_token=token) == "internal_error"


def test_get_signup_undecodable_record_is_internal_error(server: Server, storage: Any, signups: Signups) -> None:
    token = signups.created()
    key = "aaai." + token.split(".")[0]
    value, counter = storage.get(key)
    from datetime import datetime, timezone

    storage.update(key, b"\x00garbage", datetime(2100, 1, 1, tzinfo=timezone.utc), counter)
    assert error(server, "get_signup", signup_token=token) == "internal_error"


def test_delete_signup(make_server: Callable[..., Server], server: Server, storage: Any, signups: Signups) -> None:
    token = signups.created()
    assert ok(server, "delete_signup", signup_token=token) == {}
    assert error(server, "delete_signup", signup_token=token) == "invalid_signup_token"
    assert error(server, "get_signup", signup_token=token) == "invalid_signup_token"

    token = signups.created()
    faulty = InterferingStorage(storage)
    faulty.on("delete", "aaai.", faulty.vanish)
    assert error(make_server(storage=faulty), "delete_signup", signup_token=token) == "invalid_signup_token"

    token = signups.created()
    faulty = InterferingStorage(storage)
    faulty.fail("delete", "aaai.", times=None)
    assert error(make_server(storage=faulty), "delete_signup", signup_token=token) == "internal_error"


# send_signup_email_address_verification_code -----------------------------------------------


def test_send_signup_email_address_verification_code(
    server: Server, signups: Signups, email_sender: CapturingEmailSender
) -> None:
    token = signups.created()
    first = signups.code()
    for _ in range(4):
        assert ok(server, "send_signup_email_address_verification_code", signup_token=token) == {}
    codes = [message["code"] for message in email_sender.of_kind("signup_code")]
    assert codes == [first] * 5
    assert error(server, "send_signup_email_address_verification_code", signup_token=token) == "rate_limited"
    assert error(server, "send_signup_email_address_verification_code", signup_token="x") == "invalid_signup_token"


def test_send_signup_code_errors(
    make_server: Callable[..., Server], server: Server, signups: Signups, storage: Any,
    email_sender: CapturingEmailSender, clock: FakeClock,
) -> None:
    token = signups.verified()
    assert error(server, "send_signup_email_address_verification_code", signup_token=token) == "email_address_already_verified"

    token = signups.created("other@example.com")
    for _ in range(5):
        error(server, "verify_signup_email_address_verification_code", signup_token=token,
              email_address_verification_code="WRONGONE")
    assert error(server, "send_signup_email_address_verification_code", signup_token=token) == "rate_limited"
    clock.advance(60)
    email_sender.failing.add("signup_code")
    assert error(server, "send_signup_email_address_verification_code", signup_token=token) == "internal_error"
    email_sender.failing.clear()

    faulty = InterferingStorage(storage)
    faulty.on("update", "aaar.", faulty.competing_update)
    assert error(make_server(storage=faulty), "send_signup_email_address_verification_code", signup_token=token) == "internal_conflict"


# verify_signup_email_address_verification_code ---------------------------------------------


def test_verify_signup_code(server: Server, signups: Signups) -> None:
    token = signups.created()
    assert error(server, "verify_signup_email_address_verification_code", signup_token=token,
                 email_address_verification_code="WRONGONE") == "incorrect_email_address_verification_code"
    assert ok(server, "verify_signup_email_address_verification_code", signup_token=token,
              email_address_verification_code=signups.code().lower()) == {}
    assert ok(server, "get_signup", signup_token=token)["signup"]["email_address_verified"] is True
    assert error(server, "verify_signup_email_address_verification_code", signup_token=token,
                 email_address_verification_code=signups.code()) == "email_address_already_verified"
    assert error(server, "verify_signup_email_address_verification_code", signup_token="bad",
                 email_address_verification_code="x") == "invalid_signup_token"


def test_verify_signup_code_consumes_a_token_even_when_correct(server: Server, signups: Signups, clock: FakeClock) -> None:
    token = signups.created()
    for _ in range(5):
        error(server, "verify_signup_email_address_verification_code", signup_token=token,
              email_address_verification_code="WRONGONE")
    assert error(server, "verify_signup_email_address_verification_code", signup_token=token,
                 email_address_verification_code=signups.code()) == "rate_limited"
    clock.advance(61)
    ok(server, "verify_signup_email_address_verification_code", signup_token=token,
       email_address_verification_code=signups.code())


def test_verify_signup_code_lost_race_is_internal_conflict(
    make_server: Callable[..., Server], storage: Any, signups: Signups, error_logger: CapturingErrorLogger
) -> None:
    token = signups.created()
    faulty = InterferingStorage(storage)
    faulty.on("update", "aaai.", faulty.competing_update)
    assert error(make_server(storage=faulty), "verify_signup_email_address_verification_code",
                 signup_token=token, email_address_verification_code=signups.code()) == "internal_conflict"
    token = signups.created("b@example.com")
    faulty = InterferingStorage(storage)
    faulty.on("get", "aaas.", lambda key: storage.delete("aaai." + token.split(".")[0]))
    assert error(make_server(storage=faulty), "verify_signup_email_address_verification_code",
                 signup_token=token, email_address_verification_code=signups.code()) == "internal_conflict"
    assert error_logger.entries == []


# set_signup_password -----------------------------------------------------------------------


def test_set_signup_password_errors_in_order(
    server: Server, signups: Signups, strength_checker: BannedPasswords
) -> None:
    token = signups.created()
    # Not verified beats a too-short password.
    assert error(server, "set_signup_password", signup_token=token, password="short") == "email_address_not_verified"
    token = signups.verified("v@example.com")
    assert error(server, "set_signup_password", signup_token=token, password="a" * 9) == "invalid_password_length"
    assert error(server, "set_signup_password", signup_token=token, password="a" * 101) == "invalid_password_length"
    assert error(server, "set_signup_password", signup_token=token, password=WEAK_PASSWORD) == "weak_password"
    strength_checker.error = TimeoutError("pwned api timed out")
    assert error(server, "set_signup_password", signup_token=token, password=STRONG_PASSWORD) == "internal_error"
    strength_checker.error = None
    assert ok(server, "set_signup_password", signup_token=token, password="😀" * 10) == {}
    assert ok(server, "get_signup", signup_token=token)["signup"]["password_set"] is True
    assert error(server, "set_signup_password", signup_token=token, password="short") == "password_already_set"
    assert error(server, "set_signup_password", signup_token="x", password=STRONG_PASSWORD) == "invalid_signup_token"


def test_set_signup_password_lost_race_is_internal_conflict(
    make_server: Callable[..., Server], storage: Any, signups: Signups
) -> None:
    token = signups.verified()
    faulty = InterferingStorage(storage)
    faulty.on("update", "aaai.", faulty.competing_update)
    assert error(make_server(storage=faulty), "set_signup_password", signup_token=token,
                 password=STRONG_PASSWORD) == "internal_conflict"


def test_set_signup_password_hash_failure_is_internal_error(
    make_server: Callable[..., Server], signups: Signups
) -> None:
    token = signups.verified()

    class Broken:
        id = "broken"
        salt_size = 16

        def hash(self, password: str, salt: bytes) -> bytes:
            raise MemoryError("out of memory")

    server = make_server(user_password_hash_algorithms=[Broken()])
    assert error(server, "set_signup_password", signup_token=token, password=STRONG_PASSWORD) == "internal_error"


# complete_signup ---------------------------------------------------------------------------


def test_complete_signup(server: Server, signups: Signups, user_store: Any, clock: FakeClock) -> None:
    token = signups.with_password()
    values = ok(server, "complete_signup", signup_token=token)
    session = values["session"]
    assert list(session) == ["id", "user_id", "created_at", "expires_at"]
    assert session["expires_at"] is None
    assert session["created_at"] == int(clock.now().timestamp())
    user = user_store.get_user(session["user_id"])
    assert user.email_address == EMAIL and user.password_hash_algorithm_id.startswith("argon2id.")
    assert len(user.password_salt) == 16
    assert ok(server, "get_session", session_token=values["session_token"])["session"] == session
    assert error(server, "complete_signup", signup_token=token) == "invalid_signup_token"


def test_complete_signup_errors_in_order(make_server: Callable[..., Server], server: Server, signups: Signups) -> None:
    assert error(server, "complete_signup", signup_token="x") == "invalid_signup_token"
    token = signups.created()
    assert error(server, "complete_signup", signup_token=token) == "email_address_not_verified"
    token = signups.verified("v@example.com")
    assert error(server, "complete_signup", signup_token=token) == "password_not_set"


def test_complete_signup_rechecks_the_address(make_server: Callable[..., Server], signups: Signups) -> None:
    token = signups.with_password()
    allowed = {"value": True}

    class Toggle:
        def is_allowed(self, email_address: str) -> bool:
            if allowed["value"] is None:
                raise OSError("checker down")
            return bool(allowed["value"])

    server = make_server(email_address_checker=Toggle())
    allowed["value"] = None  # type: ignore[assignment]
    assert error(server, "complete_signup", signup_token=token) == "internal_error"
    allowed["value"] = False
    assert error(server, "complete_signup", signup_token=token) == "invalid_signup_token"
    assert error(server, "get_signup", signup_token=token) == "invalid_signup_token"


def test_complete_signup_when_the_address_was_taken_meanwhile(
    server: Server, signups: Signups, email_sender: CapturingEmailSender
) -> None:
    first = signups.with_password()
    second = signups.with_password()
    ok(server, "complete_signup", signup_token=first)
    assert error(server, "complete_signup", signup_token=second) == "invalid_signup_token"
    assert error(server, "get_signup", signup_token=second) == "invalid_signup_token"


def test_complete_signup_user_store_failures(
    make_server: Callable[..., Server], user_store: Any, signups: Signups, error_logger: CapturingErrorLogger
) -> None:
    token = signups.with_password()
    faulty = InterferingUserStore(user_store)
    faulty.fail("create_user", UserNotFoundError("?"), times=1)
    faulty.fail("create_user", RuntimeError("db down"), times=1)
    server = make_server(user_store=faulty)
    assert error(server, "complete_signup", signup_token=token) == "internal_conflict"
    assert error(server, "complete_signup", signup_token=token) == "internal_error"
    assert error_logger.actions == ["complete_signup"]
    ok(server, "complete_signup", signup_token=token)  # the signup was kept


def test_complete_signup_session_not_created(
    make_server: Callable[..., Server], storage: Any, user_store: Any, signups: Signups,
    error_logger: CapturingErrorLogger,
) -> None:
    token = signups.with_password()
    faulty = InterferingStorage(storage)
    faulty.fail("add", "aaah.", times=None)
    assert error(make_server(storage=faulty), "complete_signup", signup_token=token) == "session_not_created"
    assert error_logger.actions == ["complete_signup"]
    user_store.get_user_by_email_address(EMAIL)  # the user exists
    assert error(make_server(), "get_signup", signup_token=token) == "invalid_signup_token"


def test_complete_signup_ignores_a_failing_cleanup(
    make_server: Callable[..., Server], storage: Any, signups: Signups, error_logger: CapturingErrorLogger
) -> None:
    token = signups.with_password()
    faulty = InterferingStorage(storage)
    faulty.fail("delete", "aaai.", times=None)
    ok(make_server(storage=faulty), "complete_signup", signup_token=token)
    assert error_logger.actions == ["complete_signup"]


def test_complete_signup_sends_no_email(server: Server, signups: Signups, email_sender: CapturingEmailSender) -> None:
    token = signups.with_password()
    before = len(email_sender.messages)
    ok(server, "complete_signup", signup_token=token)
    assert len(email_sender.messages) == before
    assert call(server, "complete_signup", signup_token=token)["ok"] is False
