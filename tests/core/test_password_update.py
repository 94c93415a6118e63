"""User password update: the six actions of actions-account.md §3, with the policy applied.

Policy items that change the wire here: ``set_user_password_update_new_password`` answers
``user_identity_not_verified`` before the verification and ``new_password_already_set`` after a set
(item 7); every lost compare-and-swap is ``internal_conflict`` (item 5); the two token-error
spellings stay (item 11): ``invalid_user_password_update_token`` in the delete action only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from faroe_flask import SessionConfig
from faroe_flask.core.records import INT32_MAX

from ..conftest import (
    FAST_USER_ALGORITHM,
    START,
    STRONG_PASSWORD,
    WEAK_PASSWORD,
    BannedPasswords,
    CapturingEmailSender,
    CapturingErrorLogger,
    FakeClock,
)
from .helpers import Account, call, code_of, error, LOWER, ok, sign_in, sign_up
from .wrappers import (
    PASSWORD_UPDATE,
    UNKNOWN_TOKEN,
    VERIFY_USER_PASSWORD_BUCKET,
    Rig,
    assert_logged_once,
    assert_no_secrets,
    assert_nothing_logged,
    build_rig,
    token_id,
    with_wrong_secret,
)

EMAIL = "user@example.com"
NEW_PASSWORD = "a brand new password"
INVALID = "invalid_password_update_token"
INVALID_IN_DELETE = "invalid_user_password_update_token"
T0 = int(START.timestamp())

CREATE = "create_user_password_update"
GET = "get_user_password_update"
DELETE = "delete_user_password_update"
VERIFY = "verify_user_password_update_user_password"
SET = "set_user_password_update_new_password"
COMPLETE = "complete_user_password_update"





def create(server: Any, session_token: str) -> tuple[dict[str, Any], str]:
    values = ok(server, CREATE, session_token=session_token)
    return values["user_password_update"], values["user_password_update_token"]


def run(server: Any, action: str, session_token: str, update_token: str, **extra: str) -> dict[str, Any]:
    return call(server, action, session_token=session_token, user_password_update_token=update_token, **extra)



def get(server: Any, session_token: str, update_token: str) -> dict[str, Any]:
    model: dict[str, Any] = ok(server, GET, session_token=session_token, user_password_update_token=update_token)[
        "user_password_update"
    ]
    return model


def verified(server: Any, session_token: str) -> str:
    _, token = create(server, session_token)
    assert run(server, VERIFY, session_token, token, password=STRONG_PASSWORD)["ok"]
    return token


def ready(server: Any, session_token: str, new_password: str = NEW_PASSWORD) -> str:
    token = verified(server, session_token)
    assert run(server, SET, session_token, token, password=new_password)["ok"]
    return token


def stored(rig: Rig, token: str) -> bool:
    return rig.storage.exists(PASSWORD_UPDATE + token_id(token))


ENTITY_ACTIONS: list[tuple[str, dict[str, str], str]] = [
    (GET, {}, INVALID),
    (DELETE, {}, INVALID_IN_DELETE),
    (VERIFY, {"password": STRONG_PASSWORD}, INVALID),
    (SET, {"password": NEW_PASSWORD}, INVALID),
    (COMPLETE, {}, INVALID),
]
ENTITY_ACTION_IDS = [name for name, _, _ in ENTITY_ACTIONS]


# create_user_password_update --------------------------------------------------------------------


def test_create_returns_the_model_and_a_token(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger, email_sender: CapturingEmailSender
) -> None:
    sent = len(email_sender.messages)
    values = ok(rig.server, CREATE, session_token=account.session_token)
    assert list(values) == ["user_password_update", "user_password_update_token"]
    model = values["user_password_update"]
    assert list(model) == [
        "id", "user_id", "session_id", "user_identity_verified", "new_password_set", "created_at", "expires_at",
    ]
    assert len(model["id"]) == 24 and set(model["id"]) <= LOWER
    assert model["user_id"] == account.user_id
    assert model["session_id"] == account.session_id
    assert model["user_identity_verified"] is False
    assert model["new_password_set"] is False
    assert type(model["created_at"]) is int and model["created_at"] == T0
    assert type(model["expires_at"]) is int and model["expires_at"] == T0 + 600
    token = values["user_password_update_token"]
    assert len(token) == 49 and token_id(token) == model["id"]
    assert_no_secrets(values, token, account.session_token, STRONG_PASSWORD)
    assert len(email_sender.messages) == sent  # no email
    assert_nothing_logged(error_logger)


def test_a_session_may_hold_several_password_updates(rig: Rig, account: Account) -> None:
    first = create(rig.server, account.session_token)[1]
    second = create(rig.server, account.session_token)[1]
    assert get(rig.server, account.session_token, first)["id"] != get(rig.server, account.session_token, second)["id"]


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda token: "", id="empty"),
        pytest.param(lambda token: "nonsense", id="no-dot"),
        pytest.param(lambda token: UNKNOWN_TOKEN, id="unknown-id"),
        pytest.param(with_wrong_secret, id="wrong-secret"),
    ],
)
def test_create_rejects_a_bad_session_token(rig: Rig, account: Account, make_token: Callable[[str], str]) -> None:
    assert error(rig.server, CREATE, session_token=make_token(account.session_token)) == "invalid_session_token"


def test_create_always_checks_the_user(
    make_server: Callable[..., Any], storage: Any, user_store: Any, email_sender: CapturingEmailSender
) -> None:
    # Variant B ignores the user cache: a disabled user is seen at once.
    rig = build_rig(make_server, storage, user_store, session_config=SessionConfig(user_cache_expiration=timedelta(minutes=5)))
    account = Account(*sign_up(rig.server, email_sender))
    ok(rig.server, "get_session", session_token=account.session_token)
    rig.users.set_user_disabled(account.user_id, True)
    ok(rig.server, "get_session", session_token=account.session_token)  # the cached check still passes
    assert error(rig.server, CREATE, session_token=account.session_token) == "invalid_session_token"


def _counter_at_limit(rig: Rig) -> None:
    rig.users.transform = lambda user: dataclasses.replace(user, password_hash_counter=INT32_MAX)


def _record_add_fails(rig: Rig) -> None:
    rig.storage.fail("add", PASSWORD_UPDATE)


def _user_read_fails(rig: Rig) -> None:
    rig.users.fail("get_user")


@pytest.mark.parametrize("interfere", [_counter_at_limit, _record_add_fails, _user_read_fails])
def test_create_internal_errors(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger, interfere: Callable[[Rig], None]
) -> None:
    interfere(rig)
    assert error(rig.server, CREATE, session_token=account.session_token) == "internal_error"
    assert_logged_once(error_logger, CREATE, account.session_token, STRONG_PASSWORD)


# get / delete -----------------------------------------------------------------------------------


def test_get_returns_the_current_state(rig: Rig, account: Account) -> None:
    created, token = create(rig.server, account.session_token)
    values = ok(rig.server, GET, session_token=account.session_token, user_password_update_token=token)
    assert list(values) == ["user_password_update"]
    assert values["user_password_update"] == created
    assert run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)["ok"]
    assert get(rig.server, account.session_token, token) == {**created, "user_identity_verified": True}
    assert run(rig.server, SET, account.session_token, token, password=NEW_PASSWORD)["ok"]
    values = ok(rig.server, GET, session_token=account.session_token, user_password_update_token=token)
    assert values["user_password_update"] == {**created, "user_identity_verified": True, "new_password_set": True}
    assert_no_secrets(values, token, NEW_PASSWORD, STRONG_PASSWORD)


def test_delete_removes_the_update(rig: Rig, account: Account) -> None:
    _, token = create(rig.server, account.session_token)
    assert ok(rig.server, DELETE, session_token=account.session_token, user_password_update_token=token) == {}
    assert not stored(rig, token)
    assert error(rig.server, GET, session_token=account.session_token, user_password_update_token=token) == INVALID
    assert error(rig.server, DELETE, session_token=account.session_token, user_password_update_token=token) == INVALID_IN_DELETE


def test_delete_after_a_concurrent_delete_is_an_invalid_token(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger
) -> None:
    _, token = create(rig.server, account.session_token)
    rig.storage.on("delete", PASSWORD_UPDATE, rig.storage.vanish)
    assert error(rig.server, DELETE, session_token=account.session_token, user_password_update_token=token) == INVALID_IN_DELETE
    assert_nothing_logged(error_logger)


def test_delete_reports_a_failing_delete_as_internal_error(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger
) -> None:
    _, token = create(rig.server, account.session_token)
    rig.storage.fail("delete", PASSWORD_UPDATE)
    assert error(rig.server, DELETE, session_token=account.session_token, user_password_update_token=token) == "internal_error"
    assert_logged_once(error_logger, DELETE, token, account.session_token)
    assert stored(rig, token)


# Shared checks of the five token-taking actions ---------------------------------------------------


@pytest.mark.parametrize("action, extra, invalid", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
def test_every_entity_action_validates_the_session_first(
    rig: Rig, account: Account, action: str, extra: dict[str, str], invalid: str
) -> None:
    _, token = create(rig.server, account.session_token)
    for bad in ("", "nonsense", UNKNOWN_TOKEN, with_wrong_secret(account.session_token)):
        assert code_of(run(rig.server, action, bad, "also bad", **extra)) == "invalid_session_token"
        assert code_of(run(rig.server, action, bad, token, **extra)) == "invalid_session_token"
    assert stored(rig, token)


@pytest.mark.parametrize("action, extra, invalid", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
def test_every_entity_action_rejects_a_bad_update_token_with_its_spelling(
    rig: Rig, account: Account, action: str, extra: dict[str, str], invalid: str
) -> None:
    _, token = create(rig.server, account.session_token)
    for bad in ("", "nonsense", token + ".x", token.upper(), UNKNOWN_TOKEN, with_wrong_secret(token)):
        assert code_of(run(rig.server, action, account.session_token, bad, **extra)) == invalid
    assert get(rig.server, account.session_token, token)["id"] == token_id(token)  # never deleted


@pytest.mark.parametrize("action, extra, invalid", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
def test_every_entity_action_is_bound_to_its_session(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, action: str, extra: dict[str, str], invalid: str
) -> None:
    token = verified(rig.server, account.session_token) if action in (SET, COMPLETE) else create(rig.server, account.session_token)[1]
    other_session = sign_in(rig.server)
    stranger_session, _ = sign_up(rig.server, email_sender, "stranger@example.com")
    for session_token in (other_session, stranger_session):
        assert code_of(run(rig.server, action, session_token, token, **extra)) == "session_mismatch"
    assert stored(rig, token)
    assert get(rig.server, account.session_token, token)["new_password_set"] is False


@pytest.mark.parametrize("action, extra, invalid", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
def test_every_entity_action_rejects_an_expired_update(
    rig: Rig, account: Account, clock: FakeClock, action: str, extra: dict[str, str], invalid: str
) -> None:
    _, token = create(rig.server, account.session_token)
    clock.advance(600.5)
    assert code_of(run(rig.server, action, account.session_token, token, **extra)) == invalid
    assert not stored(rig, token)


def _session_read_fails(rig: Rig) -> None:
    rig.storage.fail("get", "aaah.")


def _entity_read_fails(rig: Rig) -> None:
    rig.storage.fail("get", PASSWORD_UPDATE)


def _entity_undecodable(rig: Rig) -> None:
    rig.storage.answer("get", PASSWORD_UPDATE, lambda key: (b"{}", 0))


def _entity_user_read_fails(rig: Rig) -> None:
    rig.users.fail("get_user", skip=1)


@pytest.mark.parametrize("action, extra, invalid", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
@pytest.mark.parametrize(
    "interfere", [_session_read_fails, _entity_read_fails, _entity_undecodable, _entity_user_read_fails]
)
def test_every_entity_action_reports_store_failures_as_internal_error(
    rig: Rig,
    account: Account,
    error_logger: CapturingErrorLogger,
    action: str,
    extra: dict[str, str],
    invalid: str,
    interfere: Callable[[Rig], None],
) -> None:
    token = verified(rig.server, account.session_token)
    interfere(rig)
    assert code_of(run(rig.server, action, account.session_token, token, **extra)) == "internal_error"
    assert_logged_once(error_logger, action, account.session_token, token, STRONG_PASSWORD, NEW_PASSWORD)
    assert stored(rig, token)


# verify_user_password_update_user_password ------------------------------------------------------


def test_verify_confirms_the_identity(rig: Rig, account: Account, error_logger: CapturingErrorLogger) -> None:
    _, token = create(rig.server, account.session_token)
    result = run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)
    assert result["ok"] is True and result["values"] == {}
    assert get(rig.server, account.session_token, token)["user_identity_verified"] is True
    assert_nothing_logged(error_logger)


def test_verify_refuses_a_second_verification(rig: Rig, account: Account) -> None:
    token = verified(rig.server, account.session_token)
    assert code_of(run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)) == "user_identity_already_verified"
    # Also after the new password is set: verify does not look at new_password_set.
    assert run(rig.server, SET, account.session_token, token, password=NEW_PASSWORD)["ok"]
    assert code_of(run(rig.server, VERIFY, account.session_token, token, password="wrong password")) == "user_identity_already_verified"


def test_verify_rejects_a_wrong_password_then_is_rate_limited(
    rig: Rig, account: Account, clock: FakeClock
) -> None:
    _, token = create(rig.server, account.session_token)
    for _ in range(5):
        assert code_of(run(rig.server, VERIFY, account.session_token, token, password="wrong password")) == "incorrect_password"
    assert code_of(run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)) == "rate_limited"
    clock.advance(59.9)
    assert code_of(run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)) == "rate_limited"
    clock.advance(0.1)
    assert run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)["ok"]


def test_verify_checks_the_password_of_the_current_user_record(rig: Rig, account: Account) -> None:
    # The password the user signed up with; not the new one stored in another update.
    other = ready(rig.server, account.session_token)
    _, token = create(rig.server, account.session_token)
    assert code_of(run(rig.server, VERIFY, account.session_token, token, password=NEW_PASSWORD)) == "incorrect_password"
    assert run(rig.server, DELETE, account.session_token, other)["ok"]


@pytest.mark.parametrize("race", ["bucket-add", "bucket-update", "record-swap", "record-vanished", "flag-set-meanwhile"])
def test_verify_conflicts(rig: Rig, account: Account, error_logger: CapturingErrorLogger, race: str) -> None:
    _, token = create(rig.server, account.session_token)
    if race == "bucket-add":
        rig.storage.on("add", VERIFY_USER_PASSWORD_BUCKET, rig.storage.competing_add)
    elif race == "bucket-update":
        assert code_of(run(rig.server, VERIFY, account.session_token, token, password="wrong password")) == "incorrect_password"
        rig.storage.on("update", VERIFY_USER_PASSWORD_BUCKET, rig.storage.competing_update)
    elif race == "record-swap":
        rig.storage.on("update", PASSWORD_UPDATE, rig.storage.competing_update)
    elif race == "record-vanished":
        rig.storage.on("get", PASSWORD_UPDATE, rig.storage.vanish, skip=1)
    else:
        def concurrent(*_: Any) -> None:
            assert run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)["ok"]

        rig.storage.on("get", PASSWORD_UPDATE, concurrent, skip=1)
    assert code_of(run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)) == "internal_conflict"
    assert_nothing_logged(error_logger)


@pytest.mark.parametrize("failure", ["unknown-algorithm", "record-update", "bucket-read"])
def test_verify_internal_errors(rig: Rig, account: Account, error_logger: CapturingErrorLogger, failure: str) -> None:
    _, token = create(rig.server, account.session_token)
    if failure == "unknown-algorithm":
        rig.users.transform = lambda user: dataclasses.replace(user, password_hash_algorithm_id="scrypt")
    elif failure == "record-update":
        rig.storage.fail("update", PASSWORD_UPDATE)
    else:
        rig.storage.fail("get", VERIFY_USER_PASSWORD_BUCKET)
    assert code_of(run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)) == "internal_error"
    assert_logged_once(error_logger, VERIFY, STRONG_PASSWORD, token, account.session_token)


# set_user_password_update_new_password ----------------------------------------------------------


def test_set_stores_the_new_password(rig: Rig, account: Account, error_logger: CapturingErrorLogger) -> None:
    token = verified(rig.server, account.session_token)
    result = run(rig.server, SET, account.session_token, token, password=NEW_PASSWORD)
    assert result["ok"] is True and result["values"] == {}
    assert get(rig.server, account.session_token, token)["new_password_set"] is True
    # The user's password does not change before completion.
    sign_in(rig.server, EMAIL, STRONG_PASSWORD)
    assert_nothing_logged(error_logger)


def test_set_requires_the_identity_first(rig: Rig, account: Account) -> None:
    # Policy item 7: before verification, even an invalid password gets user_identity_not_verified.
    _, token = create(rig.server, account.session_token)
    for password in (NEW_PASSWORD, "short", WEAK_PASSWORD):
        assert code_of(run(rig.server, SET, account.session_token, token, password=password)) == "user_identity_not_verified"
    assert get(rig.server, account.session_token, token)["new_password_set"] is False


def test_set_answers_new_password_already_set(rig: Rig, account: Account) -> None:
    # Policy item 7: the reference's user_identity_not_verified is replaced here.
    token = ready(rig.server, account.session_token)
    for password in ("another new password", "short"):
        assert code_of(run(rig.server, SET, account.session_token, token, password=password)) == "new_password_already_set"


@pytest.mark.parametrize(
    "password, accepted",
    [("a" * 9, False), ("a" * 10, True), ("é" * 10, True), ("é" * 9, False), ("🔑" * 100, True),
     ("🔑" * 101, False), ("a" * 101, False), ("", False)],
)
def test_set_checks_the_length_in_code_points(rig: Rig, account: Account, password: str, accepted: bool) -> None:
    token = verified(rig.server, account.session_token)
    result = run(rig.server, SET, account.session_token, token, password=password)
    assert code_of(result) == (None if accepted else "invalid_password_length")


def test_set_rejects_a_weak_password(rig: Rig, account: Account, strength_checker: BannedPasswords) -> None:
    token = verified(rig.server, account.session_token)
    assert code_of(run(rig.server, SET, account.session_token, token, password=WEAK_PASSWORD)) == "weak_password"
    # The length rule runs before the strength check.
    strength_checker.banned.add("tiny")
    assert code_of(run(rig.server, SET, account.session_token, token, password="tiny")) == "invalid_password_length"
    assert run(rig.server, SET, account.session_token, token, password=NEW_PASSWORD)["ok"]


@pytest.mark.parametrize("race", ["record-swap", "record-vanished", "flag-set-meanwhile"])
def test_set_conflicts(rig: Rig, account: Account, error_logger: CapturingErrorLogger, race: str) -> None:
    token = verified(rig.server, account.session_token)
    if race == "record-swap":
        rig.storage.on("update", PASSWORD_UPDATE, rig.storage.competing_update)
    elif race == "record-vanished":
        rig.storage.on("get", PASSWORD_UPDATE, rig.storage.vanish, skip=1)
    else:
        def concurrent(*_: Any) -> None:
            assert run(rig.server, SET, account.session_token, token, password="the other new password")["ok"]

        rig.storage.on("get", PASSWORD_UPDATE, concurrent, skip=1)
    assert code_of(run(rig.server, SET, account.session_token, token, password=NEW_PASSWORD)) == "internal_conflict"
    assert_nothing_logged(error_logger)


class _FailingAlgorithm:
    """The fast test algorithm, failing on demand."""

    def __init__(self) -> None:
        self.failing = False

    @property
    def id(self) -> str:
        return FAST_USER_ALGORITHM.id

    @property
    def salt_size(self) -> int:
        return FAST_USER_ALGORITHM.salt_size

    def hash(self, password: str, salt: bytes) -> bytes:
        if self.failing:
            raise MemoryError("out of memory")
        return FAST_USER_ALGORITHM.hash(password, salt)


@pytest.mark.parametrize("failure", ["strength-check", "record-update", "hashing"])
def test_set_internal_errors(
    make_server: Callable[..., Any],
    storage: Any,
    user_store: Any,
    email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
    strength_checker: BannedPasswords,
    failure: str,
) -> None:
    algorithm = _FailingAlgorithm()
    rig = build_rig(make_server, storage, user_store, user_password_hash_algorithms=[algorithm])
    session_token, _ = sign_up(rig.server, email_sender)
    token = verified(rig.server, session_token)
    if failure == "strength-check":
        strength_checker.error = TimeoutError("the breach list did not answer")
    elif failure == "record-update":
        rig.storage.fail("update", PASSWORD_UPDATE)
    else:
        algorithm.failing = True
    assert code_of(run(rig.server, SET, session_token, token, password=NEW_PASSWORD)) == "internal_error"
    assert_logged_once(error_logger, SET, NEW_PASSWORD, token, session_token)
    assert get(rig.server, session_token, token)["new_password_set"] is False


# complete_user_password_update ------------------------------------------------------------------


def test_complete_changes_the_password(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, clock: FakeClock, error_logger: CapturingErrorLogger
) -> None:
    rig.users.set_user_display_name(account.user_id, "Ada")
    other_session = sign_in(rig.server)
    token = ready(rig.server, account.session_token)
    clock.advance(42.9)
    assert ok(rig.server, COMPLETE, session_token=account.session_token, user_password_update_token=token) == {}
    assert email_sender.last("password_updated") == {
        "email_address": EMAIL, "display_name": "Ada", "timestamp": START + timedelta(seconds=42),
    }
    assert not stored(rig, token)
    assert error(rig.server, GET, session_token=account.session_token, user_password_update_token=token) == INVALID
    # The old password fails, the new one works.
    signin_token = ok(rig.server, "create_signin", user_email_address=EMAIL)["signin_token"]
    assert error(rig.server, "verify_signin_user_password", signin_token=signin_token, password=STRONG_PASSWORD) == "incorrect_password"
    new_session = sign_in(rig.server, EMAIL, NEW_PASSWORD)
    # No session is issued or ended (extension off by default).
    for session_token in (account.session_token, other_session, new_session):
        assert ok(rig.server, "get_session", session_token=session_token)["session"]["user_id"] == account.user_id
    assert_nothing_logged(error_logger)


def test_complete_needs_the_identity_then_the_new_password(rig: Rig, account: Account) -> None:
    _, token = create(rig.server, account.session_token)
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_password_update_token=token) == "user_identity_not_verified"
    assert run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)["ok"]
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_password_update_token=token) == "new_password_not_set"
    assert run(rig.server, SET, account.session_token, token, password=NEW_PASSWORD)["ok"]
    ok(rig.server, COMPLETE, session_token=account.session_token, user_password_update_token=token)


def test_complete_loses_a_race_with_another_password_change(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = ready(rig.server, account.session_token)

    def competing_change(user_id: str, password_hash: bytes, algorithm_id: str, salt: bytes, expected: int) -> None:
        user = rig.users.inner.get_user(user_id)
        rig.users.inner.update_user_password_hash(
            user_id, user.password_hash, user.password_hash_algorithm_id, user.password_salt, expected
        )

    rig.users.on("update_user_password_hash", competing_change)
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_password_update_token=token) == "internal_conflict"
    assert_nothing_logged(error_logger)
    assert stored(rig, token)  # the record is kept
    assert email_sender.of_kind("password_updated") == []
    sign_in(rig.server, EMAIL, STRONG_PASSWORD)


def test_complete_internal_error_keeps_the_record(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = ready(rig.server, account.session_token)
    rig.users.fail("update_user_password_hash")
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_password_update_token=token) == "internal_error"
    assert_logged_once(error_logger, COMPLETE, token, account.session_token, NEW_PASSWORD)
    assert stored(rig, token)
    assert email_sender.of_kind("password_updated") == []


def test_complete_succeeds_when_the_notification_fails(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = ready(rig.server, account.session_token)
    email_sender.failing.add("password_updated")
    assert ok(rig.server, COMPLETE, session_token=account.session_token, user_password_update_token=token) == {}
    assert_logged_once(error_logger, COMPLETE, token, account.session_token, NEW_PASSWORD, STRONG_PASSWORD)
    sign_in(rig.server, EMAIL, NEW_PASSWORD)


def test_complete_succeeds_when_deleting_the_record_fails(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger
) -> None:
    token = ready(rig.server, account.session_token)
    rig.storage.fail("delete", PASSWORD_UPDATE)
    assert ok(rig.server, COMPLETE, session_token=account.session_token, user_password_update_token=token) == {}
    assert_logged_once(error_logger, COMPLETE, token, account.session_token, NEW_PASSWORD)
    # The leftover is stale (password hash counter) and cannot be completed twice.
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_password_update_token=token) == INVALID
    assert not stored(rig, token)


def test_complete_invalidates_the_users_other_pending_records(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    other_update = verified(rig.server, account.session_token)
    deletion = ok(rig.server, "create_user_deletion", session_token=account.session_token)["user_deletion_token"]
    email_update = ok(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address="new@example.com")["user_email_address_update_token"]
    signin = ok(rig.server, "create_signin", user_email_address=EMAIL)["signin_token"]
    token = ready(rig.server, account.session_token)
    ok(rig.server, COMPLETE, session_token=account.session_token, user_password_update_token=token)

    assert error(rig.server, SET, session_token=account.session_token, user_password_update_token=other_update, password="yet another password") == INVALID
    assert not stored(rig, other_update)
    assert error(rig.server, "get_user_deletion", session_token=account.session_token, user_deletion_token=deletion) == "invalid_user_deletion_token"
    assert error(rig.server, "get_user_email_address_update", session_token=account.session_token, user_email_address_update_token=email_update) == "invalid_user_email_address_update_token"
    assert error(rig.server, "get_signin", signin_token=signin) == "invalid_signin_token"


# Lifetime and invalidation ----------------------------------------------------------------------


def test_an_update_lives_ten_minutes_inclusive(
    rig: Rig, account: Account, clock: FakeClock
) -> None:
    created, token = create(rig.server, account.session_token)
    assert run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)["ok"]
    clock.advance(600)
    assert get(rig.server, account.session_token, token)["expires_at"] == created["created_at"] + 600
    assert run(rig.server, SET, account.session_token, token, password=NEW_PASSWORD)["ok"]
    clock.advance(0.5)
    assert error(rig.server, GET, session_token=account.session_token, user_password_update_token=with_wrong_secret(token)) == INVALID
    assert stored(rig, token)  # a wrong secret deletes nothing (policy item 8)
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_password_update_token=token) == INVALID
    assert not stored(rig, token)
    sign_in(rig.server, EMAIL, STRONG_PASSWORD)


def test_a_foreign_session_presenting_an_expired_update_gets_the_token_error(
    rig: Rig, account: Account, clock: FakeClock
) -> None:
    _, token = create(rig.server, account.session_token)
    other = sign_in(rig.server)
    clock.advance(601)
    assert error(rig.server, DELETE, session_token=other, user_password_update_token=token) == INVALID_IN_DELETE
    assert not stored(rig, token)


def test_an_email_change_does_not_invalidate_a_password_update(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    token = verified(rig.server, account.session_token)
    update = ok(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address="new@example.com")["user_email_address_update_token"]
    ok(rig.server, "verify_user_email_address_update_email_address_verification_code", session_token=account.session_token, user_email_address_update_token=update, email_address_verification_code=email_sender.last("update_code")["code"])
    ok(rig.server, "verify_user_email_address_update_user_password", session_token=account.session_token, user_email_address_update_token=update, password=STRONG_PASSWORD)
    ok(rig.server, "complete_user_email_address_update", session_token=account.session_token, user_email_address_update_token=update)
    assert run(rig.server, SET, account.session_token, token, password=NEW_PASSWORD)["ok"]
    ok(rig.server, COMPLETE, session_token=account.session_token, user_password_update_token=token)
    assert email_sender.last("password_updated")["email_address"] == "new@example.com"


def test_disabling_the_user_invalidates_the_update(rig: Rig, account: Account) -> None:
    _, token = create(rig.server, account.session_token)
    rig.users.set_user_disabled(account.user_id, True)
    assert error(rig.server, GET, session_token=account.session_token, user_password_update_token=token) == "invalid_session_token"
    assert stored(rig, token)
    rig.users.set_user_disabled(account.user_id, False)
    # Re-enabled, the user needs a new session, and the update is stale on the disabled counter.
    session_token = sign_in(rig.server)
    assert error(rig.server, GET, session_token=session_token, user_password_update_token=token) == INVALID
    assert not stored(rig, token)


def test_the_lifetime_counts_from_the_whole_second_of_creation(
    rig: Rig, account: Account, clock: FakeClock
) -> None:
    clock.advance(0.9)
    created, token = create(rig.server, account.session_token)
    assert created["created_at"] == T0 and created["expires_at"] == T0 + 600
    clock.advance(599.1)
    get(rig.server, account.session_token, token)
    clock.advance(0.001)
    assert error(rig.server, GET, session_token=account.session_token, user_password_update_token=token) == INVALID
