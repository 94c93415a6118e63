"""The decoys of the pages' generic-responses mode (``faroe_flask.core.decoys``), on the engine
alone: what each answers, which buckets it takes and shares with the real flows, what it hashes,
which notice it sends, when it expires, and what it logs when a part fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from faroe_flask import Server, StorageEntryNotFoundError
from faroe_flask.core.decoys import (
    INCORRECT_CREDENTIALS,
    AttemptNoticeSender,
    decoy_signin,
    decoy_step,
    start_reset_decoy,
    start_signup_decoy,
)
from faroe_flask.core.envelope import ActionError, ActionResult, ActionSuccess

from ..conftest import (
    FAST_TEMPORARY_ALGORITHM,
    FAST_USER_ALGORITHM,
    CapturingEmailSender,
    CapturingErrorLogger,
    FakeClock,
)
from .helpers import call, code_of
from .wrappers import Rig, build_rig

OWNER = "owner@example.com"
STRANGER = "nobody@example.com"

SIGNUP_LIFETIME = 20 * 60
RESET_LIFETIME = 20 * 60


class CountingAlgorithm:
    """A real password hash that records the passwords it hashed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hashed: list[str] = []

    @property
    def id(self) -> str:
        return str(self.inner.id)

    @property
    def salt_size(self) -> int:
        return int(self.inner.salt_size)

    def hash(self, password: str, salt: bytes) -> bytes:
        self.hashed.append(password)
        digest: bytes = self.inner.hash(password, salt)
        return digest


class NoNoticesSender:
    """An email sender with the six messages of F11 and not the two notices of generic mode."""

    def send_signup_email_address_verification_code(self, email_address: str, code: str) -> None: ...

    def send_user_email_address_update_email_verification_code(
        self, email_address: str, display_name: str, code: str
    ) -> None: ...

    def send_user_password_reset_temporary_password(
        self, email_address: str, display_name: str, temporary_password: str
    ) -> None: ...

    def send_user_signed_in_notification(self, email_address: str, display_name: str, timestamp: Any) -> None: ...

    def send_user_password_updated_notification(
        self, email_address: str, display_name: str, timestamp: Any
    ) -> None: ...

    def send_user_email_address_updated_notification(
        self, email_address: str, display_name: str, new_email_address: str, timestamp: Any
    ) -> None: ...


@pytest.fixture
def user_hashes() -> CountingAlgorithm:
    return CountingAlgorithm(FAST_USER_ALGORITHM)


@pytest.fixture
def temporary_hashes() -> CountingAlgorithm:
    return CountingAlgorithm(FAST_TEMPORARY_ALGORITHM)


@pytest.fixture
def rig(
    make_server: Callable[..., Any], storage: Any, user_store: Any,
    user_hashes: CountingAlgorithm, temporary_hashes: CountingAlgorithm,
) -> Rig:
    return build_rig(
        make_server, storage, user_store,
        user_password_hash_algorithms=[user_hashes], temporary_password_hash_algorithm=temporary_hashes,
    )


@pytest.fixture
def owner(rig: Rig) -> str:
    """The user id of ``OWNER`` (created in the user store: no bucket taken), with a display name."""
    salt = bytes(16)
    password_hash = FAST_USER_ALGORITHM.hash("correct horse battery staple", salt)
    user = rig.users.inner.create_user(OWNER, password_hash, FAST_USER_ALGORITHM.id, salt)
    rig.users.inner.set_user_display_name(user.id, "Olive")
    return str(user.id)


def error_code(result: ActionResult) -> str | None:
    if isinstance(result, ActionSuccess):
        assert result.values == {}
        assert len(result.action_invocation_id) == 24
        return None
    assert isinstance(result, ActionError)
    assert len(result.action_invocation_id) == 24
    return result.error_code


def now_seconds(clock: FakeClock) -> float:
    return clock.now().timestamp()


def only_log_line(error_logger: CapturingErrorLogger, clock: FakeClock, result: ActionResult) -> tuple[str, str]:
    """The one logged ``(message, action)``, logged at the clock's time under the result's id."""
    assert len(error_logger.entries) == 1, error_logger.entries
    timestamp, message, invocation_id, action = error_logger.entries[0]
    assert timestamp == clock.now()
    assert invocation_id == result.action_invocation_id
    return message, action


def test_the_capturing_senders_send_the_notices_and_a_plain_one_does_not() -> None:
    assert isinstance(CapturingEmailSender(), AttemptNoticeSender)
    assert not isinstance(NoNoticesSender(), AttemptNoticeSender)


# Sign-in -----------------------------------------------------------------------------------------


def test_a_decoy_sign_in_hashes_the_password_and_answers_like_a_wrong_one(
    rig: Rig, user_hashes: CountingAlgorithm, error_logger: CapturingErrorLogger,
) -> None:
    result = decoy_signin(rig.server, STRANGER, "a guessed password")
    assert isinstance(result, ActionError)
    assert result.error_code == INCORRECT_CREDENTIALS == "incorrect_credentials"
    assert len(result.action_invocation_id) == 24
    assert user_hashes.hashed == ["a guessed password"]
    assert error_logger.entries == []


def test_decoy_sign_ins_are_limited_per_address_like_a_users_password_checks(
    rig: Rig, clock: FakeClock, user_hashes: CountingAlgorithm,
) -> None:
    server = rig.server
    codes = [decoy_signin(server, STRANGER, "guess").error_code for _ in range(6)]
    assert codes == [INCORRECT_CREDENTIALS] * 5 + ["rate_limited"]
    assert len(user_hashes.hashed) == 5  # a limited attempt hashes nothing
    assert decoy_signin(server, "other@example.com", "guess").error_code == INCORRECT_CREDENTIALS
    # Its own bucket, keyed by the address, with the size and refill of the per-user one.
    rig.storage.inner.get("decoy.signin." + STRANGER)
    clock.advance(59)
    assert decoy_signin(server, STRANGER, "guess").error_code == "rate_limited"
    clock.advance(1)
    assert decoy_signin(server, STRANGER, "guess").error_code == INCORRECT_CREDENTIALS
    assert decoy_signin(server, STRANGER, "guess").error_code == "rate_limited"
    # The decoy resets keep a bucket of their own.
    assert error_code(start_reset_decoy(server, STRANGER, disabled=False)) is None


def test_a_failing_storage_makes_a_decoy_sign_in_internal_error_logged(
    rig: Rig, clock: FakeClock, error_logger: CapturingErrorLogger,
) -> None:
    rig.storage.fail("get", "decoy.signin.")
    result = decoy_signin(rig.server, STRANGER, "guess")
    assert result.error_code == "internal_error"
    assert only_log_line(error_logger, clock, result) == (
        "unexpected StorageDown: the store is unavailable; answered internal_error", "decoy_signin"
    )


# Sign-up decoys ----------------------------------------------------------------------------------


def test_a_sign_up_decoy_notifies_the_owner(
    rig: Rig, owner: str, clock: FakeClock, email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
) -> None:
    assert error_code(start_signup_decoy(rig.server, OWNER)) is None
    assert email_sender.messages == [
        ("signup_attempt", {"email_address": OWNER, "display_name": "Olive", "timestamp": clock.now()})
    ]
    assert error_logger.entries == []


def test_a_sign_up_decoy_for_an_address_with_no_user_names_nobody(
    rig: Rig, clock: FakeClock, email_sender: CapturingEmailSender,
) -> None:
    assert error_code(start_signup_decoy(rig.server, STRANGER)) is None
    assert email_sender.messages == [
        ("signup_attempt", {"email_address": STRANGER, "display_name": "", "timestamp": clock.now()})
    ]


def test_a_sign_up_decoy_for_an_address_not_allowed(
    rig: Rig, owner: str, email_sender: CapturingEmailSender,
) -> None:
    rig.checker.denied.add(OWNER)
    assert error_code(start_signup_decoy(rig.server, OWNER)) == "email_address_not_allowed"
    assert email_sender.messages == []


def test_sign_up_decoys_take_the_send_bucket_a_real_flow_of_the_address_takes(
    rig: Rig, owner: str, email_sender: CapturingEmailSender,
) -> None:
    server = rig.server
    assert [error_code(start_signup_decoy(server, OWNER)) for _ in range(6)] == [None] * 5 + ["rate_limited"]
    assert len(email_sender.of_kind("signup_attempt")) == 5
    # The real password reset of that address finds the address's email bucket empty.
    assert code_of(call(server, "create_user_password_reset", user_email_address=OWNER)) == "rate_limited"
    assert email_sender.of_kind("temporary_password") == []


def test_a_sign_up_decoy_needs_the_address_verification_bucket(
    rig: Rig, owner: str, email_sender: CapturingEmailSender, clock: FakeClock,
) -> None:
    """Like a real sign-up: refused while the address's code checks are used up (checked, not
    taken)."""
    server = rig.server
    started = now_seconds(clock)
    verify = "verify_signup_email_address_verification_code"
    codes = [error_code(decoy_step(server, "signup", verify, OWNER, started)) for _ in range(6)]
    assert codes == ["incorrect_email_address_verification_code"] * 5 + ["rate_limited"]
    assert error_code(start_signup_decoy(server, OWNER)) == "rate_limited"
    assert error_code(decoy_step(server, "signup", "send_signup_email_address_verification_code", OWNER,
                                 started)) == "rate_limited"
    assert email_sender.messages == []
    clock.advance(60)  # one check back: the decoy goes on and does not use it
    assert error_code(start_signup_decoy(server, OWNER)) is None
    assert error_code(start_signup_decoy(server, OWNER)) is None
    assert error_code(decoy_step(server, "signup", verify, OWNER, started)) == "incorrect_email_address_verification_code"


def test_a_failing_notice_makes_a_sign_up_decoy_internal_error_logged(
    rig: Rig, owner: str, clock: FakeClock, email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
) -> None:
    email_sender.failing.add("signup_attempt")
    clock.advance(3)
    result = start_signup_decoy(rig.server, OWNER)
    assert error_code(result) == "internal_error"
    assert only_log_line(error_logger, clock, result) == (
        "sending the signup attempt notification failed: ConnectionError; answered internal_error",
        "decoy_signup",
    )


def test_a_sender_without_the_notices_makes_a_decoy_internal_error_logged(
    make_server: Callable[..., Server], clock: FakeClock, error_logger: CapturingErrorLogger,
) -> None:
    server = make_server(email_sender=NoNoticesSender())
    result = start_signup_decoy(server, OWNER)
    assert error_code(result) == "internal_error"
    assert only_log_line(error_logger, clock, result) == (
        "unexpected TypeError: the email sender cannot send the generic-responses notices; "
        "answered internal_error",
        "decoy_signup",
    )


def test_the_steps_of_a_sign_up_decoy(
    rig: Rig, owner: str, clock: FakeClock, email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
) -> None:
    server = rig.server
    started = now_seconds(clock)

    def step(action: str) -> str | None:
        return error_code(decoy_step(server, "signup", action, OWNER, started))

    assert step("set_signup_password") == "email_address_not_verified"
    assert step("complete_signup") == "email_address_not_verified"
    assert step("get_signup") is None
    assert email_sender.messages == []
    assert step("send_signup_email_address_verification_code") is None
    assert email_sender.messages == [
        ("signup_attempt", {"email_address": OWNER, "display_name": "Olive", "timestamp": clock.now()})
    ]
    assert step("verify_signup_email_address_verification_code") == "incorrect_email_address_verification_code"
    assert len(email_sender.messages) == 1
    assert error_logger.entries == []


def test_a_sign_up_decoys_resends_share_the_send_bucket(rig: Rig, owner: str, clock: FakeClock) -> None:
    server = rig.server
    started = now_seconds(clock)
    assert error_code(start_signup_decoy(server, OWNER)) is None
    resend = "send_signup_email_address_verification_code"
    codes = [error_code(decoy_step(server, "signup", resend, OWNER, started)) for _ in range(5)]
    assert codes == [None] * 4 + ["rate_limited"]


def test_a_sign_up_decoy_expires_after_a_sign_ups_lifetime(rig: Rig, owner: str, clock: FakeClock) -> None:
    server = rig.server
    now = now_seconds(clock)
    for action in ("get_signup", "set_signup_password", "verify_signup_email_address_verification_code"):
        assert error_code(decoy_step(server, "signup", action, OWNER, now - SIGNUP_LIFETIME)) == "invalid_signup_token"
    assert error_code(decoy_step(server, "signup", "get_signup", OWNER, now - SIGNUP_LIFETIME + 0.5)) is None


def test_a_failing_notice_of_a_sign_up_decoys_resend_is_internal_error_logged(
    rig: Rig, owner: str, clock: FakeClock, email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
) -> None:
    email_sender.failing.add("signup_attempt")
    result = decoy_step(rig.server, "signup", "send_signup_email_address_verification_code", OWNER,
                        now_seconds(clock))
    assert error_code(result) == "internal_error"
    assert only_log_line(error_logger, clock, result) == (
        "sending the signup attempt notification failed: ConnectionError; answered internal_error",
        "decoy_signup",
    )


# Password reset decoys ---------------------------------------------------------------------------


def test_a_reset_decoy_for_an_unknown_address_hashes_a_temporary_password_and_sends_nothing(
    rig: Rig, email_sender: CapturingEmailSender, temporary_hashes: CountingAlgorithm,
    error_logger: CapturingErrorLogger,
) -> None:
    assert error_code(start_reset_decoy(rig.server, STRANGER, disabled=False)) is None
    assert len(temporary_hashes.hashed) == 1 and len(temporary_hashes.hashed[0]) == 12
    assert email_sender.messages == []
    assert error_logger.entries == []


def test_a_reset_decoy_for_a_disabled_account_notifies_its_owner(
    rig: Rig, owner: str, clock: FakeClock, email_sender: CapturingEmailSender,
) -> None:
    rig.users.inner.set_user_disabled(owner, True)
    assert error_code(start_reset_decoy(rig.server, OWNER, disabled=True)) is None
    assert email_sender.messages == [
        ("reset_attempt", {"email_address": OWNER, "display_name": "Olive", "timestamp": clock.now()})
    ]


def test_reset_decoys_take_the_send_bucket_of_the_address(
    rig: Rig, owner: str, email_sender: CapturingEmailSender,
) -> None:
    server = rig.server
    codes = [error_code(start_reset_decoy(server, OWNER, disabled=True)) for _ in range(6)]
    assert codes == [None] * 5 + ["rate_limited"]
    assert len(email_sender.of_kind("reset_attempt")) == 5
    assert code_of(call(server, "create_user_password_reset", user_email_address=OWNER)) == "rate_limited"


def test_the_temporary_password_checks_of_a_reset_decoy_are_limited(
    rig: Rig, clock: FakeClock, temporary_hashes: CountingAlgorithm, email_sender: CapturingEmailSender,
) -> None:
    server = rig.server
    started = now_seconds(clock)
    verify = "verify_user_password_reset_temporary_password"
    codes = [error_code(decoy_step(server, "reset", verify, STRANGER, started)) for _ in range(6)]
    assert codes == ["incorrect_temporary_password"] * 5 + ["rate_limited"]
    assert len(temporary_hashes.hashed) == 5
    rig.storage.inner.get("decoy.reset." + STRANGER)
    # A new decoy for the address is refused while its checks are used up (checked, not taken).
    assert error_code(start_reset_decoy(server, STRANGER, disabled=False)) == "rate_limited"
    assert len(temporary_hashes.hashed) == 5
    clock.advance(60)
    assert error_code(start_reset_decoy(server, STRANGER, disabled=False)) is None
    assert error_code(decoy_step(server, "reset", verify, STRANGER, started)) == "incorrect_temporary_password"
    assert error_code(decoy_step(server, "reset", verify, STRANGER, started)) == "rate_limited"
    # The decoy sign-ins keep a bucket of their own.
    assert decoy_signin(server, STRANGER, "guess").error_code == INCORRECT_CREDENTIALS
    assert email_sender.messages == []


def test_the_steps_of_a_reset_decoy(rig: Rig, owner: str, clock: FakeClock, email_sender: CapturingEmailSender) -> None:
    server = rig.server
    started = now_seconds(clock)

    def step(action: str) -> str | None:
        return error_code(decoy_step(server, "reset", action, OWNER, started))

    assert step("set_user_password_reset_new_password") == "user_first_factor_not_verified"
    assert step("complete_user_password_reset") == "user_first_factor_not_verified"
    assert step("get_user_password_reset") is None
    assert step("verify_user_password_reset_temporary_password") == "incorrect_temporary_password"
    assert email_sender.messages == []
    for action in ("get_user_password_reset", "complete_user_password_reset"):
        expired = decoy_step(server, "reset", action, OWNER, now_seconds(clock) - RESET_LIFETIME)
        assert error_code(expired) == "invalid_user_password_reset_token"
    assert error_code(decoy_step(server, "reset", "get_user_password_reset", OWNER,
                                 now_seconds(clock) - RESET_LIFETIME + 0.5)) is None


def test_a_failing_notice_makes_a_reset_decoy_internal_error_logged(
    rig: Rig, owner: str, clock: FakeClock, email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
) -> None:
    email_sender.failing.add("reset_attempt")
    result = start_reset_decoy(rig.server, OWNER, disabled=True)
    assert error_code(result) == "internal_error"
    assert only_log_line(error_logger, clock, result) == (
        "sending the user password reset attempt notification failed: ConnectionError; answered internal_error",
        "decoy_reset",
    )


def test_a_failing_storage_makes_a_decoy_step_internal_error_logged(
    rig: Rig, clock: FakeClock, error_logger: CapturingErrorLogger,
) -> None:
    rig.storage.fail("get", "decoy.reset.")
    result = decoy_step(rig.server, "reset", "verify_user_password_reset_temporary_password", STRANGER,
                        now_seconds(clock))
    assert error_code(result) == "internal_error"
    assert only_log_line(error_logger, clock, result) == (
        "unexpected StorageDown: the store is unavailable; answered internal_error", "decoy_reset"
    )


def test_decoy_buckets_are_stored_under_the_servers_key_prefix(
    make_server: Callable[..., Server], storage: Any,
) -> None:
    server = make_server(storage_key_prefix="app1:")
    decoy_signin(server, STRANGER, "guess")
    storage.get("app1:decoy.signin." + STRANGER)
    with pytest.raises(StorageEntryNotFoundError):
        storage.get("decoy.signin." + STRANGER)
