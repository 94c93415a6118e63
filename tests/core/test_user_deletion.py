"""User deletion: the five actions of actions-account.md §4, with the policy applied.

The reference's inverted delete-and-reject (§1.5) is replaced by the recommended handling: a
concurrent delete gives ``invalid_user_deletion_token``, another delete error ``internal_error``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from faroe_flask import InvalidActionInvocationRequestError, SessionConfig, UserDeletionRefusedError
from faroe_flask.core.records import INT32_MAX

from ..conftest import START, STRONG_PASSWORD, CapturingEmailSender, CapturingErrorLogger, FakeClock
from .helpers import Account, call, code_of, error, LOWER, ok, sign_in, sign_up
from .wrappers import (
    DELETION,
    EMAIL_UPDATE,
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
INVALID = "invalid_user_deletion_token"
T0 = int(START.timestamp())

CREATE = "create_user_deletion"
GET = "get_user_deletion"
DELETE = "delete_user_deletion"
VERIFY = "verify_user_deletion_user_password"
COMPLETE = "complete_user_deletion"





def create(server: Any, session_token: str) -> tuple[dict[str, Any], str]:
    values = ok(server, CREATE, session_token=session_token)
    return values["user_deletion"], values["user_deletion_token"]


def run(server: Any, action: str, session_token: str, deletion_token: str, **extra: str) -> dict[str, Any]:
    return call(server, action, session_token=session_token, user_deletion_token=deletion_token, **extra)



def get(server: Any, session_token: str, token: str) -> dict[str, Any]:
    model: dict[str, Any] = ok(server, GET, session_token=session_token, user_deletion_token=token)["user_deletion"]
    return model


def verified(server: Any, session_token: str) -> str:
    _, token = create(server, session_token)
    assert run(server, VERIFY, session_token, token, password=STRONG_PASSWORD)["ok"]
    return token


def stored(rig: Rig, token: str) -> bool:
    return rig.storage.exists(DELETION + token_id(token))


ENTITY_ACTIONS: list[tuple[str, dict[str, str]]] = [
    (GET, {}),
    (DELETE, {}),
    (VERIFY, {"password": STRONG_PASSWORD}),
    (COMPLETE, {}),
]
ENTITY_ACTION_IDS = [name for name, _ in ENTITY_ACTIONS]


# create_user_deletion ---------------------------------------------------------------------------


def test_create_returns_the_model_and_a_token(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    sent = len(email_sender.messages)
    values = ok(rig.server, CREATE, session_token=account.session_token)
    assert list(values) == ["user_deletion", "user_deletion_token"]
    model = values["user_deletion"]
    assert list(model) == ["id", "user_id", "session_id", "user_identity_verified", "created_at", "expires_at"]
    assert len(model["id"]) == 24 and set(model["id"]) <= LOWER
    assert model["user_id"] == account.user_id
    assert model["session_id"] == account.session_id
    assert model["user_identity_verified"] is False
    assert type(model["created_at"]) is int and model["created_at"] == T0
    assert type(model["expires_at"]) is int and model["expires_at"] == T0 + 600
    token = values["user_deletion_token"]
    assert len(token) == 49 and token_id(token) == model["id"]
    assert_no_secrets(values, token, account.session_token, STRONG_PASSWORD)
    assert len(email_sender.messages) == sent
    assert_nothing_logged(error_logger)


def test_create_has_no_counter_guard(rig: Rig, account: Account) -> None:
    # Unlike the other two creates (§1.7): it succeeds with counters at their limit.
    rig.users.transform = lambda user: dataclasses.replace(
        user, password_hash_counter=INT32_MAX, email_address_counter=INT32_MAX
    )
    model, token = create(rig.server, account.session_token)
    assert model["user_id"] == account.user_id
    assert ok(rig.server, GET, session_token=account.session_token, user_deletion_token=token)["user_deletion"] == model


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


def test_create_rejects_a_session_ended_by_delete_all_sessions(rig: Rig, account: Account) -> None:
    ok(rig.server, "delete_all_sessions", session_token=account.session_token)
    assert error(rig.server, CREATE, session_token=account.session_token) == "invalid_session_token"


@pytest.mark.parametrize("failure", ["record-add", "user-read", "session-read"])
def test_create_internal_errors(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger, failure: str
) -> None:
    if failure == "record-add":
        rig.storage.fail("add", DELETION)
    elif failure == "user-read":
        rig.users.fail("get_user")
    else:
        rig.storage.fail("get", "aaah.")
    assert error(rig.server, CREATE, session_token=account.session_token) == "internal_error"
    assert_logged_once(error_logger, CREATE, account.session_token, STRONG_PASSWORD)


# get / delete -----------------------------------------------------------------------------------


def test_get_returns_the_current_state(rig: Rig, account: Account) -> None:
    created, token = create(rig.server, account.session_token)
    values = ok(rig.server, GET, session_token=account.session_token, user_deletion_token=token)
    assert list(values) == ["user_deletion"]
    assert values["user_deletion"] == created
    assert run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)["ok"]
    values = ok(rig.server, GET, session_token=account.session_token, user_deletion_token=token)
    assert values["user_deletion"] == {**created, "user_identity_verified": True}
    assert_no_secrets(values, token, STRONG_PASSWORD)


def test_delete_cancels_the_deletion(rig: Rig, account: Account) -> None:
    token = verified(rig.server, account.session_token)
    assert ok(rig.server, DELETE, session_token=account.session_token, user_deletion_token=token) == {}
    assert not stored(rig, token)
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=token) == INVALID
    assert error(rig.server, DELETE, session_token=account.session_token, user_deletion_token=token) == INVALID
    ok(rig.server, "get_session", session_token=account.session_token)  # the user is still there


def test_delete_after_a_concurrent_delete_is_an_invalid_token(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger
) -> None:
    _, token = create(rig.server, account.session_token)
    rig.storage.on("delete", DELETION, rig.storage.vanish)
    assert error(rig.server, DELETE, session_token=account.session_token, user_deletion_token=token) == INVALID
    assert_nothing_logged(error_logger)


def test_delete_reports_a_failing_delete_as_internal_error(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger
) -> None:
    _, token = create(rig.server, account.session_token)
    rig.storage.fail("delete", DELETION)
    assert error(rig.server, DELETE, session_token=account.session_token, user_deletion_token=token) == "internal_error"
    assert_logged_once(error_logger, DELETE, token, account.session_token)
    assert stored(rig, token)


# Shared checks of the four token-taking actions ---------------------------------------------------


@pytest.mark.parametrize("action, extra", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
def test_every_entity_action_validates_the_session_first(
    rig: Rig, account: Account, action: str, extra: dict[str, str]
) -> None:
    token = verified(rig.server, account.session_token)
    for bad in ("", "nonsense", UNKNOWN_TOKEN, with_wrong_secret(account.session_token)):
        assert code_of(run(rig.server, action, bad, "also bad", **extra)) == "invalid_session_token"
        assert code_of(run(rig.server, action, bad, token, **extra)) == "invalid_session_token"
    assert stored(rig, token)
    ok(rig.server, "get_session", session_token=account.session_token)


@pytest.mark.parametrize("action, extra", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
def test_every_entity_action_rejects_a_bad_deletion_token(
    rig: Rig, account: Account, action: str, extra: dict[str, str]
) -> None:
    token = verified(rig.server, account.session_token)
    for bad in ("", "nonsense", token + ".x", token.upper(), UNKNOWN_TOKEN, with_wrong_secret(token)):
        assert code_of(run(rig.server, action, account.session_token, bad, **extra)) == INVALID
    assert get(rig.server, account.session_token, token)["id"] == token_id(token)
    ok(rig.server, "get_session", session_token=account.session_token)


@pytest.mark.parametrize("action, extra", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
def test_every_entity_action_is_bound_to_its_session(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, action: str, extra: dict[str, str]
) -> None:
    token = verified(rig.server, account.session_token) if action == COMPLETE else create(rig.server, account.session_token)[1]
    other_session = sign_in(rig.server)
    stranger_session, _ = sign_up(rig.server, email_sender, "stranger@example.com")
    for session_token in (other_session, stranger_session):
        assert code_of(run(rig.server, action, session_token, token, **extra)) == "session_mismatch"
    assert stored(rig, token)
    ok(rig.server, "get_session", session_token=account.session_token)  # the user was not deleted


@pytest.mark.parametrize("action, extra", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
def test_every_entity_action_rejects_an_expired_deletion(
    rig: Rig, account: Account, clock: FakeClock, action: str, extra: dict[str, str]
) -> None:
    _, token = create(rig.server, account.session_token)
    clock.advance(600.5)
    assert code_of(run(rig.server, action, account.session_token, token, **extra)) == INVALID
    assert not stored(rig, token)


def _session_read_fails(rig: Rig) -> None:
    rig.storage.fail("get", "aaah.")


def _entity_read_fails(rig: Rig) -> None:
    rig.storage.fail("get", DELETION)


def _entity_undecodable(rig: Rig) -> None:
    rig.storage.answer("get", DELETION, lambda key: (b"[1, 2, 3]", 0))


def _entity_user_read_fails(rig: Rig) -> None:
    rig.users.fail("get_user", skip=1)


@pytest.mark.parametrize("action, extra", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
@pytest.mark.parametrize(
    "interfere", [_session_read_fails, _entity_read_fails, _entity_undecodable, _entity_user_read_fails]
)
def test_every_entity_action_reports_store_failures_as_internal_error(
    rig: Rig,
    account: Account,
    error_logger: CapturingErrorLogger,
    action: str,
    extra: dict[str, str],
    interfere: Callable[[Rig], None],
) -> None:
    _, token = create(rig.server, account.session_token)
    interfere(rig)
    assert code_of(run(rig.server, action, account.session_token, token, **extra)) == "internal_error"
    assert_logged_once(error_logger, action, account.session_token, token, STRONG_PASSWORD)
    assert stored(rig, token)


@pytest.mark.parametrize("how", ["concurrent-delete", "failing-delete"])
def test_deleting_an_expired_deletion_is_handled_like_the_other_entities(
    rig: Rig, account: Account, clock: FakeClock, error_logger: CapturingErrorLogger, how: str
) -> None:
    # Recommended fix of the §1.5 defect: NOT_FOUND is INVALID, another delete error is ERROR.
    _, token = create(rig.server, account.session_token)
    clock.advance(601)
    if how == "concurrent-delete":
        rig.storage.on("delete", DELETION, rig.storage.vanish)
        assert error(rig.server, GET, session_token=account.session_token, user_deletion_token=token) == INVALID
        assert_nothing_logged(error_logger)
    else:
        rig.storage.fail("delete", DELETION)
        assert error(rig.server, GET, session_token=account.session_token, user_deletion_token=token) == "internal_error"
        assert_logged_once(error_logger, GET, token, account.session_token)
        assert stored(rig, token)


# verify_user_deletion_user_password -------------------------------------------------------------


def test_verify_confirms_the_identity(rig: Rig, account: Account, error_logger: CapturingErrorLogger) -> None:
    _, token = create(rig.server, account.session_token)
    result = run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)
    assert result["ok"] is True and result["values"] == {}
    assert get(rig.server, account.session_token, token)["user_identity_verified"] is True
    assert_nothing_logged(error_logger)


def test_verify_reads_the_password_argument_not_user_password(rig: Rig, account: Account) -> None:
    _, token = create(rig.server, account.session_token)
    body = json.dumps({"action": VERIFY, "arguments": {
        "session_token": account.session_token, "user_deletion_token": token, "user_password": STRONG_PASSWORD}})
    with pytest.raises(InvalidActionInvocationRequestError):
        rig.server.resolve_action_invocation_request(body)


def test_verify_refuses_a_second_verification(rig: Rig, account: Account) -> None:
    token = verified(rig.server, account.session_token)
    assert code_of(run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)) == "user_identity_already_verified"
    assert code_of(run(rig.server, VERIFY, account.session_token, token, password="wrong password")) == "user_identity_already_verified"


def test_verify_rejects_a_wrong_password_then_is_rate_limited(
    rig: Rig, account: Account, clock: FakeClock
) -> None:
    _, token = create(rig.server, account.session_token)
    for _ in range(5):
        assert code_of(run(rig.server, VERIFY, account.session_token, token, password="wrong password")) == "incorrect_password"
    assert code_of(run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)) == "rate_limited"
    assert get(rig.server, account.session_token, token)["user_identity_verified"] is False
    clock.advance(60)
    assert run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)["ok"]


@pytest.mark.parametrize("race", ["bucket-add", "bucket-update", "record-swap", "record-vanished", "flag-set-meanwhile"])
def test_verify_conflicts(rig: Rig, account: Account, error_logger: CapturingErrorLogger, race: str) -> None:
    # Policy item 5: the reference's internal_error for a vanished record or a lost swap is fixed.
    _, token = create(rig.server, account.session_token)
    if race == "bucket-add":
        rig.storage.on("add", VERIFY_USER_PASSWORD_BUCKET, rig.storage.competing_add)
    elif race == "bucket-update":
        assert code_of(run(rig.server, VERIFY, account.session_token, token, password="wrong password")) == "incorrect_password"
        rig.storage.on("update", VERIFY_USER_PASSWORD_BUCKET, rig.storage.competing_update)
    elif race == "record-swap":
        rig.storage.on("update", DELETION, rig.storage.competing_update)
    elif race == "record-vanished":
        rig.storage.on("get", DELETION, rig.storage.vanish, skip=1)
    else:
        def concurrent(*_: Any) -> None:
            assert run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)["ok"]

        rig.storage.on("get", DELETION, concurrent, skip=1)
    assert code_of(run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)) == "internal_conflict"
    assert_nothing_logged(error_logger)


@pytest.mark.parametrize("failure", ["unknown-algorithm", "record-update", "bucket-update"])
def test_verify_internal_errors(rig: Rig, account: Account, error_logger: CapturingErrorLogger, failure: str) -> None:
    _, token = create(rig.server, account.session_token)
    if failure == "unknown-algorithm":
        rig.users.transform = lambda user: dataclasses.replace(user, password_hash_algorithm_id="md5")
    elif failure == "record-update":
        rig.storage.fail("update", DELETION)
    else:
        assert code_of(run(rig.server, VERIFY, account.session_token, token, password="wrong password")) == "incorrect_password"
        rig.storage.fail("update", VERIFY_USER_PASSWORD_BUCKET)
    assert code_of(run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)) == "internal_error"
    assert_logged_once(error_logger, VERIFY, STRONG_PASSWORD, token, account.session_token)
    assert get(rig.server, account.session_token, token)["user_identity_verified"] is False


# complete_user_deletion -------------------------------------------------------------------------


def test_complete_deletes_the_user(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    other_session = sign_in(rig.server)
    email_update = ok(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address="new@example.com")["user_email_address_update_token"]
    password_update = ok(rig.server, "create_user_password_update", session_token=account.session_token)["user_password_update_token"]
    token = verified(rig.server, account.session_token)
    sent = len(email_sender.messages)
    assert ok(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=token) == {}
    assert len(email_sender.messages) == sent  # no email
    assert not stored(rig, token)
    # Every session of the user is invalid, and signin does not know the address any more.
    for session_token in (account.session_token, other_session):
        assert error(rig.server, "get_session", session_token=session_token) == "invalid_session_token"
    assert error(rig.server, "create_signin", user_email_address=EMAIL) == "user_not_found"
    assert error(rig.server, "create_user_password_reset", user_email_address=EMAIL) == "user_not_found"
    # Nothing else was cleaned up eagerly: the pending records die lazily.
    assert rig.storage.exists(EMAIL_UPDATE + token_id(email_update))
    assert rig.storage.exists(PASSWORD_UPDATE + token_id(password_update))
    # The address can be registered again.
    sign_up(rig.server, email_sender, EMAIL)
    assert_nothing_logged(error_logger)


def test_complete_needs_the_identity(rig: Rig, account: Account) -> None:
    _, token = create(rig.server, account.session_token)
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=token) == "user_identity_not_verified"
    ok(rig.server, "get_session", session_token=account.session_token)
    assert run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)["ok"]
    ok(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=token)


def test_complete_loses_a_race_with_a_concurrent_deletion(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger
) -> None:
    token = verified(rig.server, account.session_token)
    rig.users.on("delete_user", lambda user_id: rig.users.inner.delete_user(user_id))
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=token) == "internal_conflict"
    assert_nothing_logged(error_logger)
    assert stored(rig, token)  # the record is kept (§4 step 5)


def test_complete_internal_error_keeps_the_record_and_the_user(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger
) -> None:
    token = verified(rig.server, account.session_token)
    rig.users.fail("delete_user")
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=token) == "internal_error"
    assert_logged_once(error_logger, COMPLETE, token, account.session_token)
    assert stored(rig, token)
    ok(rig.server, "get_session", session_token=account.session_token)
    ok(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=token)


def test_a_refused_deletion_is_an_internal_error_naming_the_constraint(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger
) -> None:
    """A user store that says the application's data still refers to the user (issue 20): the
    protocol's answer for a failing user store, one log line naming the constraint, the record
    kept, and ``cause`` for in-process callers (never on the wire)."""
    token = verified(rig.server, account.session_token)
    rig.users.fail("delete_user", UserDeletionRefusedError("foreign key constraint violated: constraint posts_author_fkey on table posts"))
    result = rig.server.invoke(COMPLETE, {"session_token": account.session_token, "user_deletion_token": token})
    assert not result.ok and result.error_code == "internal_error" and result.cause == "user_deletion_refused"
    assert json.loads(result.to_json()) == {"ok": False, "action_invocation_id": result.action_invocation_id, "error_code": "internal_error"}
    assert_logged_once(error_logger, COMPLETE, token, account.session_token, EMAIL)
    message = error_logger.entries[0][1]
    assert "posts_author_fkey on table posts" in message and "\n" not in message and message.endswith("answered internal_error")
    assert stored(rig, token)
    ok(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=token)


def test_complete_succeeds_when_deleting_the_record_fails(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger
) -> None:
    token = verified(rig.server, account.session_token)
    rig.storage.fail("delete", DELETION)
    assert ok(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=token) == {}
    assert_logged_once(error_logger, COMPLETE, token, account.session_token)
    assert error(rig.server, "create_signin", user_email_address=EMAIL) == "user_not_found"


def test_with_the_user_cache_entity_actions_and_full_validation_fail_at_once(
    make_server: Callable[..., Any], storage: Any, user_store: Any, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    # §4 notes: plain validation may trust the cache for up to user_cache_expiration (not
    # asserted: deleting the calling session too is also allowed); every entity action and every
    # full validation fails at once.
    rig = build_rig(make_server, storage, user_store, session_config=SessionConfig(user_cache_expiration=timedelta(seconds=60)))
    account = Account(*sign_up(rig.server, email_sender))
    other_deletion = create(rig.server, account.session_token)[1]
    token = verified(rig.server, account.session_token)
    ok(rig.server, "get_session", session_token=account.session_token)  # cache the user check
    ok(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=token)
    assert error(rig.server, GET, session_token=account.session_token, user_deletion_token=other_deletion) == INVALID
    assert not stored(rig, other_deletion)
    assert error(rig.server, CREATE, session_token=account.session_token) == "invalid_session_token"
    clock.advance(60)
    assert error(rig.server, "get_session", session_token=account.session_token) == "invalid_session_token"


# Lifetime and invalidation ----------------------------------------------------------------------


def test_a_deletion_lives_ten_minutes_inclusive(rig: Rig, account: Account, clock: FakeClock) -> None:
    created, token = create(rig.server, account.session_token)
    clock.advance(600)
    assert get(rig.server, account.session_token, token)["expires_at"] == created["created_at"] + 600
    assert run(rig.server, VERIFY, account.session_token, token, password=STRONG_PASSWORD)["ok"]
    clock.advance(0.5)
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=with_wrong_secret(token)) == INVALID
    assert stored(rig, token)  # policy item 8
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=token) == INVALID
    assert not stored(rig, token)
    ok(rig.server, "get_session", session_token=account.session_token)  # the user still exists


def test_a_foreign_session_presenting_an_expired_deletion_gets_the_token_error(
    rig: Rig, account: Account, clock: FakeClock
) -> None:
    _, token = create(rig.server, account.session_token)
    other = sign_in(rig.server)
    clock.advance(601)
    assert error(rig.server, COMPLETE, session_token=other, user_deletion_token=token) == INVALID
    assert not stored(rig, token)


def test_a_password_change_invalidates_the_deletion_but_an_email_change_does_not(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    deletion = verified(rig.server, account.session_token)
    update = ok(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address="new@example.com")["user_email_address_update_token"]
    ok(rig.server, "verify_user_email_address_update_email_address_verification_code", session_token=account.session_token, user_email_address_update_token=update, email_address_verification_code=email_sender.last("update_code")["code"])
    ok(rig.server, "verify_user_email_address_update_user_password", session_token=account.session_token, user_email_address_update_token=update, password=STRONG_PASSWORD)
    ok(rig.server, "complete_user_email_address_update", session_token=account.session_token, user_email_address_update_token=update)
    assert get(rig.server, account.session_token, deletion)["user_identity_verified"] is True

    password_update = ok(rig.server, "create_user_password_update", session_token=account.session_token)["user_password_update_token"]
    ok(rig.server, "verify_user_password_update_user_password", session_token=account.session_token, user_password_update_token=password_update, password=STRONG_PASSWORD)
    ok(rig.server, "set_user_password_update_new_password", session_token=account.session_token, user_password_update_token=password_update, password="a brand new password")
    ok(rig.server, "complete_user_password_update", session_token=account.session_token, user_password_update_token=password_update)
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_deletion_token=deletion) == INVALID
    assert not stored(rig, deletion)
    ok(rig.server, "get_session", session_token=account.session_token)


def test_the_lifetime_counts_from_the_whole_second_of_creation(
    rig: Rig, account: Account, clock: FakeClock
) -> None:
    clock.advance(0.4)
    created, token = create(rig.server, account.session_token)
    assert created["created_at"] == T0 and created["expires_at"] == T0 + 600
    clock.advance(599.6)
    get(rig.server, account.session_token, token)
    clock.advance(0.001)
    assert error(rig.server, GET, session_token=account.session_token, user_deletion_token=token) == INVALID
