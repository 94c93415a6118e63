"""What the engine writes to the error logger, word for word, and when.

Operators read these lines to learn what failed; the action answers only ``internal_error`` (or
nothing at all, for a failed notification). Each test provokes one failure through
``Server.invoke`` and reads back the single entry: its timestamp (the engine's clock at the
invocation), the exact message (the failing part and the exception's class, never a value) and
the action. Python's own ``logging`` gets what the error logger cannot take.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from faroe_flask import InvalidActionInvocationRequestError, Server, SessionConfig
from faroe_flask.core.records import Signup

from ..conftest import STRONG_PASSWORD, BannedPasswords, CapturingEmailSender, CapturingErrorLogger, FakeClock
from .helpers import call, code_of, ok, sign_in, sign_up
from .test_account_extension import change_password
from .wrappers import Rig, StorageDown, build_rig, token_id

EMAIL = "user@example.com"


def only_entry(logger: CapturingErrorLogger, clock: FakeClock) -> tuple[str, str]:
    """The one logged ``(message, action)``; its timestamp is the invocation's."""
    assert len(logger.entries) == 1, logger.entries
    timestamp, message, invocation_id, action = logger.entries[0]
    assert timestamp == clock.now()
    assert len(invocation_id) == 24
    return message, action


def _signup_with_password(server: Server, email_sender: CapturingEmailSender) -> str:
    token = ok(server, "create_signup", email_address=EMAIL)["signup_token"]
    code = email_sender.last("signup_code")["code"]
    ok(server, "verify_signup_email_address_verification_code", signup_token=token,
       email_address_verification_code=code)
    ok(server, "set_signup_password", signup_token=token, password=STRONG_PASSWORD)
    return str(token)


def test_a_failing_strength_check(
    server: Server, email_sender: CapturingEmailSender, strength_checker: BannedPasswords,
    error_logger: CapturingErrorLogger, clock: FakeClock,
) -> None:
    token = ok(server, "create_signup", email_address=EMAIL)["signup_token"]
    code = email_sender.last("signup_code")["code"]
    ok(server, "verify_signup_email_address_verification_code", signup_token=token,
       email_address_verification_code=code)
    strength_checker.error = TimeoutError("the range API is slow")
    clock.advance(7)
    result = call(server, "set_signup_password", signup_token=token, password=STRONG_PASSWORD)
    assert code_of(result) == "internal_error"
    assert only_entry(error_logger, clock) == (
        "password strength check failed: TimeoutError; answered internal_error", "set_signup_password"
    )


def test_a_failing_required_email_and_its_undo(
    rig: Rig, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger, clock: FakeClock
) -> None:
    email_sender.failing.add("signup_code")
    assert code_of(call(rig.server, "create_signup", email_address=EMAIL)) == "internal_error"
    assert only_entry(error_logger, clock) == (
        "sending the signup verification code failed: ConnectionError; answered internal_error",
        "create_signup"
    )
    error_logger.entries.clear()
    rig.storage.fail("delete", Signup.PREFIX)
    assert code_of(call(rig.server, "create_signup", email_address="other@example.com")) == "internal_error"
    assert only_entry(error_logger, clock) == (
        "sending the signup verification code failed: ConnectionError; "
        "deleting the record failed too: StorageDown; answered internal_error",
        "create_signup",
    )


def test_a_failing_email_the_answer_depends_on(
    server: Server, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger, clock: FakeClock
) -> None:
    token = ok(server, "create_signup", email_address=EMAIL)["signup_token"]
    email_sender.failing.add("signup_code")
    clock.advance(60)
    result = call(server, "send_signup_email_address_verification_code", signup_token=token)
    assert code_of(result) == "internal_error"
    assert only_entry(error_logger, clock) == (
        "sending the signup verification code failed: ConnectionError; answered internal_error",
        "send_signup_email_address_verification_code",
    )


def test_a_failing_notification_is_only_logged(
    server: Server, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger, clock: FakeClock
) -> None:
    session_token, _ = sign_up(server, email_sender)
    email_sender.failing.add("signed_in")
    signin = ok(server, "create_signin", user_email_address=EMAIL)["signin_token"]
    ok(server, "verify_signin_user_password", signin_token=signin, password=STRONG_PASSWORD)
    assert ok(server, "complete_signin", signin_token=signin)["session"]["user_id"]
    assert only_entry(error_logger, clock) == (
        "sending the signed-in notification failed: ConnectionError; the action went on", "complete_signin"
    )
    error_logger.entries.clear()
    email_sender.failing.add("password_updated")
    change_password(server, session_token)
    assert only_entry(error_logger, clock) == (
        "sending the password-updated notification failed: ConnectionError; the action went on",
        "complete_user_password_update"
    )


def test_a_record_that_cannot_be_deleted_after_its_flow(
    rig: Rig, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger, clock: FakeClock
) -> None:
    token = _signup_with_password(rig.server, email_sender)
    rig.storage.fail("delete", Signup.PREFIX + token_id(token))
    values = ok(rig.server, "complete_signup", signup_token=token)  # the user exists: ok all the same
    assert values["session"]["user_id"]
    assert only_entry(error_logger, clock) == (
        "deleting Signup failed: StorageDown; the action went on", "complete_signup"
    )


def test_a_user_hash_of_an_unknown_algorithm(
    rig: Rig, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger, clock: FakeClock
) -> None:
    sign_up(rig.server, email_sender)
    rig.users.transform = lambda user: dataclasses.replace(user, password_hash_algorithm_id="scrypt.1")
    signin = ok(rig.server, "create_signin", user_email_address=EMAIL)["signin_token"]
    result = call(rig.server, "verify_signin_user_password", signin_token=signin, password=STRONG_PASSWORD)
    assert code_of(result) == "internal_error"
    assert only_entry(error_logger, clock) == (
        "the user's password hash algorithm is not supported; answered internal_error",
        "verify_signin_user_password"
    )


@pytest.mark.parametrize(
    ("action", "field", "counter"),
    [("create_user_password_update", "password_hash_counter", "password hash"),
     ("create_user_email_address_update", "email_address_counter", "email address")],
)
def test_a_counter_at_its_limit(
    rig: Rig, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger, clock: FakeClock,
    action: str, field: str, counter: str,
) -> None:
    session_token, _ = sign_up(rig.server, email_sender)
    rig.users.transform = lambda user: dataclasses.replace(user, **{field: 2_147_483_647})
    arguments = {"session_token": session_token}
    if action == "create_user_email_address_update":
        arguments["new_email_address"] = "new@example.com"
    result = call(rig.server, action, **arguments)
    assert code_of(result) == "internal_error"
    assert only_entry(error_logger, clock) == (
        f"the user's {counter} counter reached its limit; answered internal_error", action
    )
    assert result["action_invocation_id"] == error_logger.entries[0][2]  # the answer names the logged call


def test_ending_the_other_sessions_fails(
    make_server: Callable[..., Any], storage: Any, user_store: Any, email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger, clock: FakeClock,
) -> None:
    rig = build_rig(make_server, storage, user_store,
                    session_config=SessionConfig(end_other_sessions_on_password_change=True))
    caller, _ = sign_up(rig.server, email_sender)
    other = sign_in(rig.server)
    rig.users.fail("increment_user_sessions_counter")
    change_password(rig.server, caller)
    assert only_entry(error_logger, clock) == (
        "ending the user's other sessions failed: StorageDown; the action went on",
        "complete_user_password_update"
    )
    assert ok(rig.server, "get_session", session_token=other)["session"]["id"] == token_id(other)


def test_an_unexpected_exception_names_its_class_and_message(
    rig: Rig, error_logger: CapturingErrorLogger, clock: FakeClock
) -> None:
    rig.storage.fail("get", Signup.PREFIX, StorageDown("storage is down"))
    assert code_of(call(rig.server, "get_signup", signup_token="a" * 24 + "." + "b" * 24)) == "internal_error"
    assert only_entry(error_logger, clock) == (
        "unexpected StorageDown: storage is down; answered internal_error", "get_signup"
    )


def test_a_failing_error_logger_is_reported_to_python_logging(
    make_server: Callable[..., Server], email_sender: CapturingEmailSender, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def log_action_error(self, *_: Any) -> None:
            raise OSError("disk full")

    server = make_server(error_logger=Broken())
    email_sender.failing.add("signup_code")
    with caplog.at_level(logging.ERROR, logger="faroe_flask"):
        assert code_of(call(server, "create_signup", email_address=EMAIL)) == "internal_error"
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("faroe_flask", "the action error logger raised")]
    assert caplog.records[0].exc_info is not None and caplog.records[0].exc_info[0] is OSError


def test_observers_run_the_action_once_and_a_raising_one_is_reported(
    server: Server, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []

    def twice(action: str, arguments: dict[str, str], run: Callable[..., Any]) -> Any:
        first = run(action, arguments)
        second = run(action, arguments)
        assert second is first
        calls.append(action)
        return second

    def raising(action: str, arguments: dict[str, str], run: Callable[..., Any]) -> Any:
        run(action, arguments)
        raise RuntimeError("observer bug")

    server.add_action_observer(twice)
    server.add_action_observer(raising)
    with caplog.at_level(logging.ERROR, logger="faroe_flask"):
        result = server.invoke("create_signup", {"email_address": EMAIL})
    assert result.ok and result.values is not None
    assert calls == ["create_signup"]
    assert len(email_sender.of_kind("signup_code")) == 1  # the action ran once
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("faroe_flask", "a Faroe action observer raised")]
    assert error_logger.entries == []
    signup_id = token_id(result.values["signup_token"])
    assert ok(server, "get_signup", signup_token=result.values["signup_token"])["signup"]["id"] == signup_id


def test_invoke_names_what_is_wrong_with_a_request(server: Server) -> None:
    with pytest.raises(InvalidActionInvocationRequestError) as raised:
        server.invoke("create_singup", {"email_address": EMAIL})
    assert str(raised.value) == "unknown action"
    with pytest.raises(InvalidActionInvocationRequestError) as raised:
        server.invoke("create_signup", {})
    assert str(raised.value) == "argument email_address missing or not a string"
    with pytest.raises(InvalidActionInvocationRequestError) as raised:
        server.invoke("verify_signin_user_password", {"signin_token": "x", "password": 5})  # type: ignore[dict-item]
    assert str(raised.value) == "argument password missing or not a string"


def test_a_failing_clock_is_logged_with_the_real_time(
    make_server: Callable[..., Server], error_logger: CapturingErrorLogger
) -> None:
    class BrokenClock:
        def now(self) -> datetime:
            raise OSError("no time source")

    server = make_server(clock=BrokenClock())
    before = datetime.now(timezone.utc)
    result = server.invoke("create_signup", {"email_address": EMAIL})
    assert code_of(result.to_json_object()) == "internal_error"
    ((timestamp, message, invocation_id, action),) = error_logger.entries
    assert (message, invocation_id, action) == ("clock failed: OSError", result.action_invocation_id, "create_signup")
    assert timestamp.tzinfo is timezone.utc and before <= timestamp <= datetime.now(timezone.utc)


def test_the_hash_wait_observer_gets_the_wait_and_a_raising_one_is_reported(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="faroe_flask"):
        server.passwords.hash_user_password("without an observer")
    assert caplog.records == []
    waits: list[float] = []
    server.passwords.wait_observer = waits.append
    server.passwords.hash_user_password("observed")
    assert len(waits) == 1 and 0 <= waits[0] < 5

    def broken(_seconds: float) -> None:
        raise RuntimeError("observer bug")

    server.passwords.wait_observer = broken
    with caplog.at_level(logging.ERROR, logger="faroe_flask"):
        hashed, algorithm_id, salt = server.passwords.hash_user_password("still hashed")
    assert len(hashed) == 32 and algorithm_id and len(salt) == 16
    assert [r.getMessage() for r in caplog.records] == ["the password hash wait observer raised"]


def test_server_settings_say_which_one_is_wrong(make_server: Callable[..., Server]) -> None:
    with pytest.raises(ValueError) as raised:
        make_server(user_password_hash_algorithms=[])
    assert str(raised.value) == "user_password_hash_algorithms needs at least one algorithm"
    with pytest.raises(ValueError) as raised:
        make_server(max_concurrent_password_hashing=0)
    assert str(raised.value) == "max_concurrent_password_hashing must be at least 1"
    assert make_server(max_concurrent_password_hashing=1)  # the smallest limit is allowed


def test_the_default_strength_check_is_pwned_passwords(make_server: Callable[..., Server]) -> None:
    from faroe_flask.core.strength import PwnedPasswordsChecker

    server = make_server(password_strength_checker=None)
    assert isinstance(server.password_strength_checker, PwnedPasswordsChecker)
    assert server.password_strength_checker.base_url == "https://api.pwnedpasswords.com"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two CPUs")
def test_by_default_as_many_hashes_run_at_once_as_there_are_cpus(make_server: Callable[..., Server]) -> None:
    """Two hashes that can only finish together (a barrier inside the algorithm) both finish."""
    barrier = threading.Barrier(2, timeout=5)

    class Meeting:
        id = "meeting"
        salt_size = 16

        def hash(self, password: str, salt: bytes) -> bytes:
            barrier.wait()
            return b"h" * 32

    server = make_server(user_password_hash_algorithms=[Meeting()])
    results: list[object] = []

    def hash_one() -> None:
        try:
            results.append(server.passwords.hash_user_password("p")[0])
        except threading.BrokenBarrierError as exc:
            results.append(exc)

    threads = [threading.Thread(target=hash_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == [b"h" * 32, b"h" * 32]


def test_a_body_of_another_type_is_rejected_with_its_reason(server: Server) -> None:
    with pytest.raises(InvalidActionInvocationRequestError) as raised:
        server.resolve_action_invocation_request(12345)  # type: ignore[arg-type]
    assert str(raised.value) == "body must be str or bytes"


def test_a_body_that_cannot_even_be_read_is_a_rejection(server: Server) -> None:
    """A ``str`` whose own methods raise (a hostile caller in-process): a rejection, not a crash."""

    class Hostile(str):
        def __contains__(self, item: object) -> bool:
            raise RuntimeError("no")

    with pytest.raises(InvalidActionInvocationRequestError) as raised:
        server.resolve_action_invocation_request(Hostile('{"action":"get_session","arguments":{}}'))
    assert str(raised.value) == "unreadable body"


def test_every_answer_carries_its_invocation_id(server: Server, error_logger: CapturingErrorLogger) -> None:
    failed = server.invoke("get_session", {"session_token": "x"})
    assert failed.ok is False and len(failed.action_invocation_id) == 24
    assert failed.to_json_object() == {
        "ok": False, "action_invocation_id": failed.action_invocation_id, "error_code": "invalid_session_token",
    }
    other = server.invoke("get_session", {"session_token": "x"})
    assert other.action_invocation_id != failed.action_invocation_id
