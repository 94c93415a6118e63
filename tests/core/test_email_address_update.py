"""User email address update: the seven actions of actions-account.md §2, with the policy applied.

Each action's happy path, then every error code it lists, in the order the checks run. Races and
store failures come from the interfering wrappers of ``wrappers.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from faroe_flask import SessionConfig, UserEmailAddressAlreadyUsedError
from faroe_flask.core.records import INT32_MAX

from ..conftest import START, STRONG_PASSWORD, CapturingEmailSender, CapturingErrorLogger, FakeClock
from .helpers import Account, call, code_of, error, LOWER, ok, sign_in, sign_up, UPPER
from .wrappers import (
    EMAIL_UPDATE,
    SEND_EMAIL_BUCKET,
    UNKNOWN_TOKEN,
    VERIFY_EMAIL_CODE_BUCKET,
    VERIFY_USER_PASSWORD_BUCKET,
    Rig,
    assert_logged_once,
    assert_no_secrets,
    assert_nothing_logged,
    build_rig,
    token_id,
    with_wrong_secret,
)

OLD = "user@example.com"
NEW = "new@example.com"
INVALID = "invalid_user_email_address_update_token"
T0 = int(START.timestamp())





def create(server: Any, session_token: str, new: str = NEW) -> tuple[dict[str, Any], str]:
    values = ok(server, "create_user_email_address_update", session_token=session_token, new_email_address=new)
    return values["user_email_address_update"], values["user_email_address_update_token"]


def last_code(email_sender: CapturingEmailSender, new: str = NEW) -> str:
    message = email_sender.last("update_code")
    assert message["email_address"] == new
    code: str = message["code"]
    return code


def verify_code(server: Any, session_token: str, update_token: str, code: str) -> dict[str, Any]:
    return call(
        server,
        "verify_user_email_address_update_email_address_verification_code",
        session_token=session_token,
        user_email_address_update_token=update_token,
        email_address_verification_code=code,
    )


def verify_password(server: Any, session_token: str, update_token: str, password: str) -> dict[str, Any]:
    return call(
        server,
        "verify_user_email_address_update_user_password",
        session_token=session_token,
        user_email_address_update_token=update_token,
        password=password,
    )


def code_verified(rig: Rig, email_sender: CapturingEmailSender, account: Account, new: str = NEW) -> str:
    _, token = create(rig.server, account.session_token, new)
    assert verify_code(rig.server, account.session_token, token, last_code(email_sender, new))["ok"]
    return token


def fully_verified(rig: Rig, email_sender: CapturingEmailSender, account: Account, new: str = NEW) -> str:
    token = code_verified(rig, email_sender, account, new)
    assert verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)["ok"]
    return token


def get(server: Any, session_token: str, update_token: str) -> dict[str, Any]:
    values = ok(
        server,
        "get_user_email_address_update",
        session_token=session_token,
        user_email_address_update_token=update_token,
    )
    update: dict[str, Any] = values["user_email_address_update"]
    return update


def run(server: Any, action: str, session_token: str, update_token: str, **extra: str) -> dict[str, Any]:
    return call(server, action, session_token=session_token, user_email_address_update_token=update_token, **extra)



def stored(rig: Rig, update_token: str) -> bool:
    return rig.storage.exists(EMAIL_UPDATE + token_id(update_token))


# Every action that takes an update token, with the extra arguments it needs.
ENTITY_ACTIONS: list[tuple[str, dict[str, str]]] = [
    ("get_user_email_address_update", {}),
    ("delete_user_email_address_update", {}),
    ("send_user_email_address_update_email_address_verification_code", {}),
    ("verify_user_email_address_update_email_address_verification_code", {"email_address_verification_code": "AAAAAAAA"}),
    ("verify_user_email_address_update_user_password", {"password": STRONG_PASSWORD}),
    ("complete_user_email_address_update", {}),
]
ENTITY_ACTION_IDS = [name for name, _ in ENTITY_ACTIONS]


# create_user_email_address_update ---------------------------------------------------------------


def test_create_returns_the_model_and_a_token(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    values = ok(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=NEW)
    assert list(values) == ["user_email_address_update", "user_email_address_update_token"]
    model = values["user_email_address_update"]
    assert list(model) == [
        "id", "user_id", "session_id", "new_email_address", "new_email_address_verified",
        "user_identity_verified", "created_at", "expires_at",
    ]
    assert len(model["id"]) == 24 and set(model["id"]) <= LOWER
    assert model["user_id"] == account.user_id
    assert model["session_id"] == account.session_id
    assert model["new_email_address"] == NEW
    assert model["new_email_address_verified"] is False
    assert model["user_identity_verified"] is False
    assert type(model["created_at"]) is int and model["created_at"] == T0
    assert type(model["expires_at"]) is int and model["expires_at"] == T0 + 1200
    token = values["user_email_address_update_token"]
    assert token_id(token) == model["id"] and len(token) == 49
    assert set(token.split(".")[1]) <= LOWER

    message = email_sender.last("update_code")
    assert message == {"email_address": NEW, "display_name": "", "code": message["code"]}
    assert len(message["code"]) == 8 and set(message["code"]) <= UPPER
    assert_no_secrets(values, message["code"], account.session_token, token, STRONG_PASSWORD)
    assert stored(rig, token)
    assert_nothing_logged(error_logger)


def test_create_sends_the_code_with_the_display_name(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    rig.users.set_user_display_name(account.user_id, "Ada Lovelace")
    create(rig.server, account.session_token)
    assert email_sender.last("update_code")["display_name"] == "Ada Lovelace"


def test_a_session_may_hold_several_updates_even_for_the_same_address(rig: Rig, account: Account) -> None:
    first, first_token = create(rig.server, account.session_token)
    second, second_token = create(rig.server, account.session_token)
    assert first["id"] != second["id"]
    assert get(rig.server, account.session_token, first_token)["id"] == first["id"]
    assert get(rig.server, account.session_token, second_token)["id"] == second["id"]


@pytest.mark.parametrize(
    "address",
    ["", "plain", "a@b@example.com", "@example.com", "me@", "me @example.com", "me@exa_mple.com",
     "mé@example.com", "a" * 90 + "@example.com"],
)
def test_create_checks_the_address_before_the_session(rig: Rig, account: Account, address: str) -> None:
    # A bad address with a bad session token: the address is checked first (§2 step 1).
    assert error(rig.server, "create_user_email_address_update", session_token="bad", new_email_address=address) == "invalid_email_address"
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=address) == "invalid_email_address"


def test_create_accepts_an_address_of_exactly_100_bytes(rig: Rig, account: Account) -> None:
    address = "a" * 88 + "@example.com"
    assert len(address) == 100
    create(rig.server, account.session_token, address)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda token: "", id="empty"),
        pytest.param(lambda token: "nonsense", id="no-dot"),
        pytest.param(lambda token: token + ".x", id="three-parts"),
        pytest.param(lambda token: UNKNOWN_TOKEN, id="unknown-id"),
        pytest.param(lambda token: token.upper(), id="malformed-id"),
        pytest.param(with_wrong_secret, id="wrong-secret"),
    ],
)
def test_create_rejects_a_bad_session_token(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, make_token: Callable[[str], str]
) -> None:
    sent = len(email_sender.of_kind("update_code"))
    assert error(rig.server, "create_user_email_address_update", session_token=make_token(account.session_token), new_email_address=NEW) == "invalid_session_token"
    assert len(email_sender.of_kind("update_code")) == sent
    # The wrong secret did not end the session.
    ok(rig.server, "get_session", session_token=account.session_token)


def test_create_rejects_the_session_of_a_disabled_user(rig: Rig, account: Account) -> None:
    rig.users.set_user_disabled(account.user_id, True)
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=NEW) == "invalid_session_token"


def test_create_always_checks_the_user_even_with_the_user_cache(
    make_server: Callable[..., Any], storage: Any, user_store: Any, email_sender: CapturingEmailSender
) -> None:
    # Variant B ("fresh user") ignores the cache: a sessions-counter change is seen at once.
    rig = build_rig(make_server, storage, user_store, session_config=SessionConfig(user_cache_expiration=timedelta(minutes=5)))
    account = Account(*sign_up(rig.server, email_sender))
    ok(rig.server, "get_session", session_token=account.session_token)  # fills the cache
    ok(rig.server, "delete_all_sessions", session_token=account.session_token)
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=NEW) == "invalid_session_token"


def test_create_rejects_a_used_address(rig: Rig, account: Account, email_sender: CapturingEmailSender) -> None:
    # The user's own address counts as used (§2 step 4); another user's too.
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=OLD) == "email_address_already_used"
    sign_up(rig.server, email_sender, "taken@example.com")
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address="taken@example.com") == "email_address_already_used"
    # Addresses are exact strings: a case variant is a different, unused address.
    create(rig.server, account.session_token, "User@example.com")


def test_create_rejects_an_address_the_checker_does_not_allow(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    rig.checker.denied.add(NEW)
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=NEW) == "email_address_not_allowed"
    assert email_sender.of_kind("update_code") == []
    # "Used" is checked before "allowed".
    rig.checker.denied.add(OLD)
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=OLD) == "email_address_already_used"


def test_create_is_rate_limited_while_the_code_bucket_is_empty(
    rig: Rig, account: Account, clock: FakeClock, email_sender: CapturingEmailSender
) -> None:
    _, token = create(rig.server, account.session_token)
    for _ in range(5):
        assert error(rig.server, "verify_user_email_address_update_email_address_verification_code", session_token=account.session_token, user_email_address_update_token=token, email_address_verification_code="WRONG123") == "incorrect_email_address_verification_code"
    sent = len(email_sender.of_kind("update_code"))
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=NEW) == "rate_limited"
    assert len(email_sender.of_kind("update_code")) == sent
    # Only that address is limited; one token is back after 60 s.
    create(rig.server, account.session_token, "other@example.com")
    clock.advance(60)
    create(rig.server, account.session_token)


def test_create_is_rate_limited_by_the_send_email_bucket(
    rig: Rig, account: Account, clock: FakeClock, email_sender: CapturingEmailSender
) -> None:
    for _ in range(5):
        create(rig.server, account.session_token)
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=NEW) == "rate_limited"
    assert len(email_sender.of_kind("update_code")) == 5
    create(rig.server, account.session_token, "other@example.com")
    clock.advance(1799)
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=NEW) == "rate_limited"
    clock.advance(1)
    create(rig.server, account.session_token)


def test_create_shares_the_send_email_bucket_with_signup(rig: Rig, account: Account) -> None:
    for _ in range(5):
        ok(rig.server, "create_signup", email_address=NEW)
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=NEW) == "rate_limited"


@pytest.mark.parametrize("race", ["first-add", "later-update"])
def test_create_loses_the_send_email_bucket_race(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger, email_sender: CapturingEmailSender, race: str
) -> None:
    if race == "first-add":
        rig.storage.on("add", SEND_EMAIL_BUCKET + NEW, rig.storage.competing_add)
    else:
        create(rig.server, account.session_token)
        rig.storage.on("update", SEND_EMAIL_BUCKET + NEW, rig.storage.competing_update)
    sent = len(email_sender.of_kind("update_code"))
    added = len(rig.storage.keys_touched("add", EMAIL_UPDATE))
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=NEW) == "internal_conflict"
    assert len(email_sender.of_kind("update_code")) == sent
    assert len(rig.storage.keys_touched("add", EMAIL_UPDATE)) == added  # no record was created
    assert_nothing_logged(error_logger)


def _counter_at_limit(rig: Rig) -> None:
    rig.users.transform = lambda user: dataclasses.replace(user, email_address_counter=INT32_MAX)


def _availability_fails(rig: Rig) -> None:
    rig.users.fail("get_user_by_email_address")


def _checker_fails(rig: Rig) -> None:
    rig.checker.error = RuntimeError("checker down")


def _code_bucket_read_fails(rig: Rig) -> None:
    rig.storage.fail("get", VERIFY_EMAIL_CODE_BUCKET)


def _send_bucket_read_fails(rig: Rig) -> None:
    rig.storage.fail("get", SEND_EMAIL_BUCKET)


def _record_add_fails(rig: Rig) -> None:
    rig.storage.fail("add", EMAIL_UPDATE)


def _session_read_fails(rig: Rig) -> None:
    rig.storage.fail("get", "aaah.")


def _user_read_fails(rig: Rig) -> None:
    rig.users.fail("get_user")


@pytest.mark.parametrize(
    "interfere",
    [_session_read_fails, _user_read_fails, _counter_at_limit, _availability_fails, _checker_fails,
     _code_bucket_read_fails, _send_bucket_read_fails, _record_add_fails],
)
def test_create_internal_errors_are_logged_once_without_secrets(
    rig: Rig,
    account: Account,
    error_logger: CapturingErrorLogger,
    email_sender: CapturingEmailSender,
    interfere: Callable[[Rig], None],
) -> None:
    interfere(rig)
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=NEW) == "internal_error"
    assert_logged_once(error_logger, "create_user_email_address_update", account.session_token, STRONG_PASSWORD)
    assert email_sender.of_kind("update_code") == []


def test_create_deletes_its_record_when_the_code_email_fails(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger, email_sender: CapturingEmailSender
) -> None:
    email_sender.failing.add("update_code")
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=NEW) == "internal_error"
    assert_logged_once(error_logger, "create_user_email_address_update", account.session_token)
    added = rig.storage.keys_touched("add", EMAIL_UPDATE)
    assert len(added) == 1
    assert rig.storage.keys_touched("delete", EMAIL_UPDATE) == added  # policy item 9
    assert not rig.storage.exists(added[0])
    # The send-email token stays consumed: four more creates, then the bucket is empty.
    email_sender.failing.clear()
    for _ in range(4):
        create(rig.server, account.session_token)
    assert error(rig.server, "create_user_email_address_update", session_token=account.session_token, new_email_address=NEW) == "rate_limited"


# get_user_email_address_update ------------------------------------------------------------------


def test_get_returns_the_current_state(rig: Rig, account: Account, email_sender: CapturingEmailSender) -> None:
    created, token = create(rig.server, account.session_token)
    code = last_code(email_sender)
    values = ok(rig.server, "get_user_email_address_update", session_token=account.session_token, user_email_address_update_token=token)
    assert list(values) == ["user_email_address_update"]
    assert values["user_email_address_update"] == created
    assert_no_secrets(values, code, token, account.session_token)
    assert verify_code(rig.server, account.session_token, token, code)["ok"]
    assert get(rig.server, account.session_token, token) == {**created, "new_email_address_verified": True}
    assert verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)["ok"]
    assert get(rig.server, account.session_token, token) == {
        **created, "new_email_address_verified": True, "user_identity_verified": True,
    }


@pytest.mark.parametrize("action, extra", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
def test_every_entity_action_validates_the_session_first(
    rig: Rig, account: Account, action: str, extra: dict[str, str]
) -> None:
    _, token = create(rig.server, account.session_token)
    for bad in ("", "nonsense", UNKNOWN_TOKEN, with_wrong_secret(account.session_token)):
        assert code_of(run(rig.server, action, bad, "also bad", **extra)) == "invalid_session_token"
        assert code_of(run(rig.server, action, bad, token, **extra)) == "invalid_session_token"
    assert stored(rig, token)


@pytest.mark.parametrize("action, extra", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
def test_every_entity_action_rejects_a_bad_update_token(
    rig: Rig, account: Account, action: str, extra: dict[str, str]
) -> None:
    _, token = create(rig.server, account.session_token)
    for bad in ("", "nonsense", token + ".x", UNKNOWN_TOKEN, with_wrong_secret(token)):
        assert code_of(run(rig.server, action, account.session_token, bad, **extra)) == INVALID
    # A wrong secret never deletes the record (the secret is checked before anything else).
    assert get(rig.server, account.session_token, token)["id"] == token_id(token)


def test_a_malformed_update_id_never_reaches_storage(rig: Rig, account: Account) -> None:
    _, token = create(rig.server, account.session_token)
    before = len(rig.storage.keys_touched("get", EMAIL_UPDATE))
    for bad in (token.upper(), "x" * 300 + "." + "y" * 24, token_id(token)[:-1] + "." + token.split(".")[1]):
        assert error(rig.server, "get_user_email_address_update", session_token=account.session_token, user_email_address_update_token=bad) == INVALID
    assert len(rig.storage.keys_touched("get", EMAIL_UPDATE)) == before


@pytest.mark.parametrize("action, extra", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
def test_every_entity_action_is_bound_to_its_session(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, action: str, extra: dict[str, str]
) -> None:
    _, token = create(rig.server, account.session_token)
    other_session_same_user = sign_in(rig.server)
    stranger_session, _ = sign_up(rig.server, email_sender, "stranger@example.com")
    for session_token in (other_session_same_user, stranger_session):
        assert code_of(run(rig.server, action, session_token, token, **extra)) == "session_mismatch"
    # Nothing changed: the record is still there, unverified, for its own session.
    model = get(rig.server, account.session_token, token)
    assert model["new_email_address_verified"] is False and model["user_identity_verified"] is False


def test_a_foreign_session_presenting_an_expired_update_gets_the_token_error(
    rig: Rig, account: Account, clock: FakeClock
) -> None:
    # Entity resolution runs before the linkage check (§1.5).
    _, token = create(rig.server, account.session_token)
    other = sign_in(rig.server)
    clock.advance(1201)
    assert error(rig.server, "get_user_email_address_update", session_token=other, user_email_address_update_token=token) == INVALID
    assert not stored(rig, token)


def _entity_read_fails(rig: Rig) -> None:
    rig.storage.fail("get", EMAIL_UPDATE)


def _entity_undecodable(rig: Rig) -> None:
    rig.storage.answer("get", EMAIL_UPDATE, lambda key: (b"\x00 not a record", 0))


def _entity_user_read_fails(rig: Rig) -> None:
    rig.users.fail("get_user", skip=1)  # the session's user check passes, the entity's fails


def _activity_refresh_fails(rig: Rig) -> None:
    rig.storage.fail("update", "aaah.")


@pytest.mark.parametrize("action, extra", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
@pytest.mark.parametrize(
    "interfere", [_session_read_fails, _entity_read_fails, _entity_undecodable, _entity_user_read_fails]
)
def test_every_entity_action_reports_store_failures_as_internal_error(
    rig: Rig,
    account: Account,
    error_logger: CapturingErrorLogger,
    email_sender: CapturingEmailSender,
    action: str,
    extra: dict[str, str],
    interfere: Callable[[Rig], None],
) -> None:
    _, token = create(rig.server, account.session_token)
    code = last_code(email_sender)
    interfere(rig)
    assert code_of(run(rig.server, action, account.session_token, token, **extra)) == "internal_error"
    assert_logged_once(error_logger, action, account.session_token, token, code, STRONG_PASSWORD)
    assert stored(rig, token)


def test_a_failing_activity_refresh_is_an_internal_error(
    rig: Rig, account: Account, clock: FakeClock, error_logger: CapturingErrorLogger
) -> None:
    _, token = create(rig.server, account.session_token)
    clock.advance(60)  # the session's last-verified time is now due for a write
    _activity_refresh_fails(rig)
    assert error(rig.server, "get_user_email_address_update", session_token=account.session_token, user_email_address_update_token=token) == "internal_error"
    assert_logged_once(error_logger, "get_user_email_address_update", account.session_token, token)


# delete_user_email_address_update ---------------------------------------------------------------


def test_delete_removes_the_update(rig: Rig, account: Account, error_logger: CapturingErrorLogger) -> None:
    _, token = create(rig.server, account.session_token)
    values = ok(rig.server, "delete_user_email_address_update", session_token=account.session_token, user_email_address_update_token=token)
    assert values == {}
    assert not stored(rig, token)
    assert error(rig.server, "get_user_email_address_update", session_token=account.session_token, user_email_address_update_token=token) == INVALID
    assert error(rig.server, "delete_user_email_address_update", session_token=account.session_token, user_email_address_update_token=token) == INVALID
    assert_nothing_logged(error_logger)


def test_delete_after_a_concurrent_delete_is_an_invalid_token(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger
) -> None:
    _, token = create(rig.server, account.session_token)
    rig.storage.on("delete", EMAIL_UPDATE, rig.storage.vanish)
    assert error(rig.server, "delete_user_email_address_update", session_token=account.session_token, user_email_address_update_token=token) == INVALID
    assert_nothing_logged(error_logger)


def test_delete_reports_a_failing_delete_as_internal_error(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger
) -> None:
    _, token = create(rig.server, account.session_token)
    rig.storage.fail("delete", EMAIL_UPDATE)
    assert error(rig.server, "delete_user_email_address_update", session_token=account.session_token, user_email_address_update_token=token) == "internal_error"
    assert_logged_once(error_logger, "delete_user_email_address_update", token, account.session_token)
    assert stored(rig, token)


# send_user_email_address_update_email_address_verification_code ---------------------------------

SEND = "send_user_email_address_update_email_address_verification_code"


def test_send_repeats_the_same_code_to_the_new_address(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    created, token = create(rig.server, account.session_token)
    code = last_code(email_sender)
    rig.users.set_user_display_name(account.user_id, "Ada")
    clock.advance(30)
    assert ok(rig.server, SEND, session_token=account.session_token, user_email_address_update_token=token) == {}
    assert email_sender.last("update_code") == {"email_address": NEW, "display_name": "Ada", "code": code}
    assert get(rig.server, account.session_token, token) == created  # the record is not modified


def test_send_allows_four_resends_then_is_rate_limited(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    _, token = create(rig.server, account.session_token)
    for _ in range(4):
        ok(rig.server, SEND, session_token=account.session_token, user_email_address_update_token=token)
    assert error(rig.server, SEND, session_token=account.session_token, user_email_address_update_token=token) == "rate_limited"
    assert len(email_sender.of_kind("update_code")) == 5
    # One token comes back after 30 minutes (by then the update itself has expired).
    clock.advance(1800)
    _, fresh = create(rig.server, account.session_token)
    assert error(rig.server, SEND, session_token=account.session_token, user_email_address_update_token=fresh) == "rate_limited"


def test_send_refuses_once_the_address_is_verified(rig: Rig, account: Account, email_sender: CapturingEmailSender) -> None:
    token = code_verified(rig, email_sender, account)
    assert error(rig.server, SEND, session_token=account.session_token, user_email_address_update_token=token) == "email_address_already_verified"


def test_send_is_rate_limited_while_the_code_bucket_is_empty(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    _, token = create(rig.server, account.session_token)
    for _ in range(5):
        assert code_of(verify_code(rig.server, account.session_token, token, "WRONG123")) == "incorrect_email_address_verification_code"
    sent = len(email_sender.of_kind("update_code"))
    assert error(rig.server, SEND, session_token=account.session_token, user_email_address_update_token=token) == "rate_limited"
    assert len(email_sender.of_kind("update_code")) == sent


def test_send_loses_the_send_email_bucket_race(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger, email_sender: CapturingEmailSender
) -> None:
    _, token = create(rig.server, account.session_token)
    rig.storage.on("update", SEND_EMAIL_BUCKET, rig.storage.competing_update)
    assert error(rig.server, SEND, session_token=account.session_token, user_email_address_update_token=token) == "internal_conflict"
    assert len(email_sender.of_kind("update_code")) == 1
    assert_nothing_logged(error_logger)


def test_send_reports_a_failing_email_as_internal_error(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger, email_sender: CapturingEmailSender
) -> None:
    _, token = create(rig.server, account.session_token)
    code = last_code(email_sender)
    email_sender.failing.add("update_code")
    assert error(rig.server, SEND, session_token=account.session_token, user_email_address_update_token=token) == "internal_error"
    assert_logged_once(error_logger, SEND, code, token, account.session_token)
    assert stored(rig, token)
    # The send-email token stays consumed: 1 (create) + 1 (failed) + 3 = 5.
    email_sender.failing.clear()
    for _ in range(3):
        ok(rig.server, SEND, session_token=account.session_token, user_email_address_update_token=token)
    assert error(rig.server, SEND, session_token=account.session_token, user_email_address_update_token=token) == "rate_limited"


# verify_user_email_address_update_email_address_verification_code -------------------------------


def test_verify_code_marks_the_new_address_verified(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    _, token = create(rig.server, account.session_token)
    result = verify_code(rig.server, account.session_token, token, last_code(email_sender))
    assert result["ok"] is True and result["values"] == {}
    assert get(rig.server, account.session_token, token)["new_email_address_verified"] is True
    assert_nothing_logged(error_logger)


def test_verify_code_accepts_lower_case_input(rig: Rig, account: Account, email_sender: CapturingEmailSender) -> None:
    _, token = create(rig.server, account.session_token)
    assert verify_code(rig.server, account.session_token, token, last_code(email_sender).lower())["ok"]  # policy item 10


def test_verify_code_rejects_a_wrong_code_and_keeps_the_update(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    _, token = create(rig.server, account.session_token)
    code = last_code(email_sender)
    wrong = "A" * 8 if code != "A" * 8 else "B" * 8
    for attempt in (wrong, " " + code, code + " ", code[:-1]):  # four: the bucket keeps a token
        assert code_of(verify_code(rig.server, account.session_token, token, attempt)) == "incorrect_email_address_verification_code"
    model = get(rig.server, account.session_token, token)
    assert model["new_email_address_verified"] is False
    # The code is never rotated.
    ok(rig.server, SEND, session_token=account.session_token, user_email_address_update_token=token)
    assert last_code(email_sender) == code


def test_verify_code_refuses_a_second_verification(rig: Rig, account: Account, email_sender: CapturingEmailSender) -> None:
    token = code_verified(rig, email_sender, account)
    assert code_of(verify_code(rig.server, account.session_token, token, last_code(email_sender))) == "email_address_already_verified"
    assert code_of(verify_code(rig.server, account.session_token, token, "WRONG123")) == "email_address_already_verified"


def test_verify_code_is_rate_limited_after_five_attempts(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    _, token = create(rig.server, account.session_token)
    code = last_code(email_sender)
    for _ in range(5):
        assert code_of(verify_code(rig.server, account.session_token, token, "WRONG123")) == "incorrect_email_address_verification_code"
    assert code_of(verify_code(rig.server, account.session_token, token, code)) == "rate_limited"
    clock.advance(59)
    assert code_of(verify_code(rig.server, account.session_token, token, code)) == "rate_limited"
    clock.advance(1)
    assert verify_code(rig.server, account.session_token, token, code)["ok"]


def test_verify_code_shares_the_bucket_of_the_address(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    # The bucket belongs to the address: a signup for the same address spends it too.
    _, token = create(rig.server, account.session_token)
    code = last_code(email_sender)
    signup_token = ok(rig.server, "create_signup", email_address=NEW)["signup_token"]
    for _ in range(5):
        assert error(rig.server, "verify_signup_email_address_verification_code", signup_token=signup_token, email_address_verification_code="WRONG123") == "incorrect_email_address_verification_code"
    assert code_of(verify_code(rig.server, account.session_token, token, code)) == "rate_limited"


def _nested_verify(rig: Rig, account: Account, token: str, code: str) -> Callable[..., None]:
    def effect(*_: Any) -> None:
        assert verify_code(rig.server, account.session_token, token, code)["ok"]

    return effect


@pytest.mark.parametrize("race", ["bucket-add", "bucket-update", "record-swap", "record-vanished", "flag-set-meanwhile"])
def test_verify_code_conflicts(
    rig: Rig,
    account: Account,
    email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
    race: str,
) -> None:
    _, token = create(rig.server, account.session_token)
    code = last_code(email_sender)
    if race == "bucket-add":
        rig.storage.on("add", VERIFY_EMAIL_CODE_BUCKET, rig.storage.competing_add)
    elif race == "bucket-update":
        assert code_of(verify_code(rig.server, account.session_token, token, "WRONG123")) == "incorrect_email_address_verification_code"
        rig.storage.on("update", VERIFY_EMAIL_CODE_BUCKET, rig.storage.competing_update)
    elif race == "record-swap":
        rig.storage.on("update", EMAIL_UPDATE, rig.storage.competing_update)
    elif race == "record-vanished":
        rig.storage.on("get", EMAIL_UPDATE, rig.storage.vanish, skip=1)  # the re-read finds nothing
    else:
        rig.storage.on("get", EMAIL_UPDATE, _nested_verify(rig, account, token, code), skip=1)
    assert code_of(verify_code(rig.server, account.session_token, token, code)) == "internal_conflict"
    assert_nothing_logged(error_logger)


@pytest.mark.parametrize("failing", ["record-update", "bucket-update"])
def test_verify_code_reports_a_failing_write_as_internal_error(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger, failing: str
) -> None:
    _, token = create(rig.server, account.session_token)
    code = last_code(email_sender)
    if failing == "record-update":
        rig.storage.fail("update", EMAIL_UPDATE)
    else:
        assert code_of(verify_code(rig.server, account.session_token, token, "WRONG123")) == "incorrect_email_address_verification_code"
        rig.storage.fail("update", VERIFY_EMAIL_CODE_BUCKET)
    action = "verify_user_email_address_update_email_address_verification_code"
    assert code_of(verify_code(rig.server, account.session_token, token, code)) == "internal_error"
    assert_logged_once(error_logger, action, code, token, account.session_token)
    assert get(rig.server, account.session_token, token)["new_email_address_verified"] is False


# verify_user_email_address_update_user_password -------------------------------------------------


def test_verify_password_confirms_the_identity(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = code_verified(rig, email_sender, account)
    result = verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)
    assert result["ok"] is True and result["values"] == {}
    assert get(rig.server, account.session_token, token)["user_identity_verified"] is True
    assert_nothing_logged(error_logger)


def test_verify_password_needs_the_code_first(rig: Rig, account: Account, email_sender: CapturingEmailSender) -> None:
    _, token = create(rig.server, account.session_token)
    for password in (STRONG_PASSWORD, "wrong password"):
        assert code_of(verify_password(rig.server, account.session_token, token, password)) == "email_address_not_verified"
    # No verify-user-password token was spent on those: five attempts remain.
    assert verify_code(rig.server, account.session_token, token, last_code(email_sender))["ok"]
    for _ in range(4):
        assert code_of(verify_password(rig.server, account.session_token, token, "wrong password")) == "incorrect_password"
    assert verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)["ok"]


def test_verify_password_refuses_a_second_verification(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    token = fully_verified(rig, email_sender, account)
    assert code_of(verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)) == "user_identity_already_verified"


def test_verify_password_rejects_a_wrong_password_and_is_rate_limited(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    token = code_verified(rig, email_sender, account)
    for _ in range(5):
        assert code_of(verify_password(rig.server, account.session_token, token, "wrong password")) == "incorrect_password"
    assert code_of(verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)) == "rate_limited"
    assert get(rig.server, account.session_token, token)["user_identity_verified"] is False
    clock.advance(60)
    assert verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)["ok"]


@pytest.mark.parametrize("race", ["bucket-add", "bucket-update", "record-swap", "record-vanished"])
def test_verify_password_conflicts(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger, race: str
) -> None:
    token = code_verified(rig, email_sender, account)
    if race == "bucket-add":
        rig.storage.on("add", VERIFY_USER_PASSWORD_BUCKET, rig.storage.competing_add)
    elif race == "bucket-update":
        assert code_of(verify_password(rig.server, account.session_token, token, "wrong password")) == "incorrect_password"
        rig.storage.on("update", VERIFY_USER_PASSWORD_BUCKET, rig.storage.competing_update)
    elif race == "record-swap":
        rig.storage.on("update", EMAIL_UPDATE, rig.storage.competing_update)
    else:
        rig.storage.on("get", EMAIL_UPDATE, rig.storage.vanish, skip=1)
    assert code_of(verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)) == "internal_conflict"
    assert_nothing_logged(error_logger)


def test_verify_password_conflicts_with_a_concurrent_verification(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = code_verified(rig, email_sender, account)

    def concurrent(*_: Any) -> None:
        assert verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)["ok"]

    rig.storage.on("get", EMAIL_UPDATE, concurrent, skip=1)
    assert code_of(verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)) == "internal_conflict"
    assert_nothing_logged(error_logger)
    assert get(rig.server, account.session_token, token)["user_identity_verified"] is True


@pytest.mark.parametrize("failure", ["unknown-algorithm", "record-update"])
def test_verify_password_internal_errors(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger, failure: str
) -> None:
    token = code_verified(rig, email_sender, account)
    if failure == "unknown-algorithm":
        rig.users.transform = lambda user: dataclasses.replace(user, password_hash_algorithm_id="bcrypt")
    else:
        rig.storage.fail("update", EMAIL_UPDATE)
    assert code_of(verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)) == "internal_error"
    assert_logged_once(error_logger, "verify_user_email_address_update_user_password", STRONG_PASSWORD, token, account.session_token)


def test_verify_password_rejects_the_docs_argument_name(rig: Rig, account: Account, email_sender: CapturingEmailSender) -> None:
    import json

    from faroe_flask import InvalidActionInvocationRequestError

    token = code_verified(rig, email_sender, account)
    body = json.dumps({"action": "verify_user_email_address_update_user_password", "arguments": {
        "session_token": account.session_token, "user_email_address_update_token": token, "user_password": STRONG_PASSWORD}})
    with pytest.raises(InvalidActionInvocationRequestError):
        rig.server.resolve_action_invocation_request(body)


# complete_user_email_address_update -------------------------------------------------------------

COMPLETE = "complete_user_email_address_update"


def test_complete_changes_the_address(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, clock: FakeClock, error_logger: CapturingErrorLogger
) -> None:
    rig.users.set_user_display_name(account.user_id, "Ada")
    token = fully_verified(rig, email_sender, account)
    clock.advance(90.7)
    assert ok(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == {}
    assert rig.users.get_user(account.user_id).email_address == NEW
    assert email_sender.last("email_updated") == {
        "email_address": OLD, "display_name": "Ada", "new_email_address": NEW, "timestamp": START + timedelta(seconds=90),
    }
    assert len(email_sender.of_kind("update_code")) == 1  # nothing goes to the new address
    assert not stored(rig, token)
    assert error(rig.server, "get_user_email_address_update", session_token=account.session_token, user_email_address_update_token=token) == INVALID
    # The old address is unknown to signin, the new one works, and the session stays valid.
    assert error(rig.server, "create_signin", user_email_address=OLD) == "user_not_found"
    new_session = sign_in(rig.server, NEW)
    assert ok(rig.server, "get_session", session_token=new_session)["session"]["user_id"] == account.user_id
    assert ok(rig.server, "get_session", session_token=account.session_token)["session"]["user_id"] == account.user_id
    # The old address is free again.
    sign_up(rig.server, email_sender, OLD)
    assert_nothing_logged(error_logger)


def test_complete_needs_both_verifications_in_order(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    _, token = create(rig.server, account.session_token)
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == "email_address_not_verified"
    assert verify_code(rig.server, account.session_token, token, last_code(email_sender))["ok"]
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == "user_identity_not_verified"
    assert verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)["ok"]
    ok(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token)


def test_complete_rejects_an_address_no_longer_allowed(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = fully_verified(rig, email_sender, account)
    rig.checker.denied.add(NEW)
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == INVALID
    assert not stored(rig, token)
    assert rig.users.get_user(account.user_id).email_address == OLD
    assert_nothing_logged(error_logger)


def test_complete_rejects_an_address_taken_meanwhile(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = fully_verified(rig, email_sender, account)
    sign_up(rig.server, email_sender, NEW)  # someone else signs up with the address first
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == INVALID
    assert not stored(rig, token)
    assert rig.users.get_user(account.user_id).email_address == OLD
    assert email_sender.of_kind("email_updated") == []
    assert_nothing_logged(error_logger)


def test_two_users_racing_for_one_address(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    first = fully_verified(rig, email_sender, account)
    other_session, _ = sign_up(rig.server, email_sender, "other@example.com")
    other = Account(other_session, "")
    second = fully_verified(rig, email_sender, other)
    ok(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=first)
    assert error(rig.server, COMPLETE, session_token=other_session, user_email_address_update_token=second) == INVALID


def test_complete_reports_a_user_store_clash_as_an_invalid_token(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = fully_verified(rig, email_sender, account)
    rig.users.fail("update_user_email_address", UserEmailAddressAlreadyUsedError(NEW))
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == INVALID
    assert not stored(rig, token)
    assert_nothing_logged(error_logger)


def test_complete_loses_a_race_with_another_email_change(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = fully_verified(rig, email_sender, account)

    def competing_change(user_id: str, email_address: str, expected: int) -> None:
        rig.users.inner.update_user_email_address(user_id, "elsewhere@example.com", expected)

    rig.users.on("update_user_email_address", competing_change)
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == "internal_conflict"
    assert_nothing_logged(error_logger)
    assert stored(rig, token)  # the record is kept (§2 step 7)
    assert rig.users.get_user(account.user_id).email_address == "elsewhere@example.com"
    assert email_sender.of_kind("email_updated") == []


def test_complete_loses_a_race_with_a_deletion(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = fully_verified(rig, email_sender, account)
    rig.users.on("update_user_email_address", lambda user_id, *_: rig.users.inner.delete_user(user_id))
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == "internal_conflict"
    assert_nothing_logged(error_logger)


@pytest.mark.parametrize("failure", ["user-store", "checker"])
def test_complete_internal_errors_keep_the_record(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger, failure: str
) -> None:
    token = fully_verified(rig, email_sender, account)
    if failure == "user-store":
        rig.users.fail("update_user_email_address")
    else:
        rig.checker.error = RuntimeError("checker down")
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == "internal_error"
    assert_logged_once(error_logger, COMPLETE, token, account.session_token)
    assert stored(rig, token)
    assert rig.users.get_user(account.user_id).email_address == OLD


def test_complete_succeeds_when_the_notification_fails(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = fully_verified(rig, email_sender, account)
    email_sender.failing.add("email_updated")
    assert ok(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == {}
    assert rig.users.get_user(account.user_id).email_address == NEW
    assert_logged_once(error_logger, COMPLETE, token, account.session_token, NEW)


def test_complete_succeeds_when_deleting_the_record_fails(
    rig: Rig, account: Account, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    token = fully_verified(rig, email_sender, account)
    rig.storage.fail("delete", EMAIL_UPDATE)
    assert ok(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == {}
    assert_logged_once(error_logger, COMPLETE, token, account.session_token)
    # The leftover record is stale now (its email counter snapshot moved) and dies when resolved.
    assert error(rig.server, "get_user_email_address_update", session_token=account.session_token, user_email_address_update_token=token) == INVALID
    assert not stored(rig, token)


def test_complete_invalidates_other_email_updates_and_resets_but_not_other_flows(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    other_update = create(rig.server, account.session_token, "third@example.com")[1]
    deletion = ok(rig.server, "create_user_deletion", session_token=account.session_token)["user_deletion_token"]
    password_update = ok(rig.server, "create_user_password_update", session_token=account.session_token)["user_password_update_token"]
    reset = ok(rig.server, "create_user_password_reset", user_email_address=OLD)["user_password_reset_token"]
    token = fully_verified(rig, email_sender, account)
    ok(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token)

    assert error(rig.server, "get_user_email_address_update", session_token=account.session_token, user_email_address_update_token=other_update) == INVALID
    assert not stored(rig, other_update)
    assert error(rig.server, "get_user_password_reset", user_password_reset_token=reset) == "invalid_user_password_reset_token"
    ok(rig.server, "get_user_deletion", session_token=account.session_token, user_deletion_token=deletion)
    ok(rig.server, "get_user_password_update", session_token=account.session_token, user_password_update_token=password_update)


# Expiry and invalidation --------------------------------------------------------------------------


def test_an_update_lives_twenty_minutes_inclusive(
    rig: Rig, account: Account, clock: FakeClock, email_sender: CapturingEmailSender
) -> None:
    created, token = create(rig.server, account.session_token)
    assert verify_code(rig.server, account.session_token, token, last_code(email_sender))["ok"]
    clock.advance(1200)
    assert get(rig.server, account.session_token, token)["expires_at"] == created["created_at"] + 1200
    # Reading or verifying never extends the lifetime.
    assert verify_password(rig.server, account.session_token, token, STRONG_PASSWORD)["ok"]
    clock.advance(0.5)
    # A wrong secret does not delete even an expired record (policy item 8) ...
    assert error(rig.server, "get_user_email_address_update", session_token=account.session_token, user_email_address_update_token=with_wrong_secret(token)) == INVALID
    assert stored(rig, token)
    # ... the right one finds it expired and deletes it.
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == INVALID
    assert not stored(rig, token)
    assert rig.users.get_user(account.user_id).email_address == OLD


@pytest.mark.parametrize("action, extra", ENTITY_ACTIONS, ids=ENTITY_ACTION_IDS)
def test_every_entity_action_rejects_an_expired_update(
    rig: Rig, account: Account, clock: FakeClock, action: str, extra: dict[str, str]
) -> None:
    _, token = create(rig.server, account.session_token)
    clock.advance(1200.5)
    assert code_of(run(rig.server, action, account.session_token, token, **extra)) == INVALID
    assert not stored(rig, token)


def test_a_password_change_invalidates_the_update(
    rig: Rig, account: Account, email_sender: CapturingEmailSender
) -> None:
    token = fully_verified(rig, email_sender, account)
    update_token = ok(rig.server, "create_user_password_update", session_token=account.session_token)["user_password_update_token"]
    ok(rig.server, "verify_user_password_update_user_password", session_token=account.session_token, user_password_update_token=update_token, password=STRONG_PASSWORD)
    ok(rig.server, "set_user_password_update_new_password", session_token=account.session_token, user_password_update_token=update_token, password="a brand new password")
    ok(rig.server, "complete_user_password_update", session_token=account.session_token, user_password_update_token=update_token)
    assert error(rig.server, COMPLETE, session_token=account.session_token, user_email_address_update_token=token) == INVALID
    assert not stored(rig, token)


def test_a_disabled_user_fails_on_the_session_and_the_update_stays(
    rig: Rig, account: Account, error_logger: CapturingErrorLogger
) -> None:
    _, token = create(rig.server, account.session_token)
    rig.users.set_user_disabled(account.user_id, True)
    assert error(rig.server, "get_user_email_address_update", session_token=account.session_token, user_email_address_update_token=token) == "invalid_session_token"
    assert stored(rig, token)
    assert_nothing_logged(error_logger)


def test_with_the_user_cache_a_disabled_user_fails_on_the_update(
    make_server: Callable[..., Any], storage: Any, user_store: Any, email_sender: CapturingEmailSender
) -> None:
    rig = build_rig(make_server, storage, user_store, session_config=SessionConfig(user_cache_expiration=timedelta(minutes=1)))
    account = Account(*sign_up(rig.server, email_sender))
    _, token = create(rig.server, account.session_token)
    ok(rig.server, "get_session", session_token=account.session_token)  # the user check is cached
    rig.users.set_user_disabled(account.user_id, True)
    assert error(rig.server, "get_user_email_address_update", session_token=account.session_token, user_email_address_update_token=token) == INVALID
    assert not stored(rig, token)


def test_the_lifetime_counts_from_the_whole_second_of_creation(
    rig: Rig, account: Account, clock: FakeClock
) -> None:
    # created_at is stored in whole seconds (§1.3): created at T0+0.7, the update is valid up
    # to T0+1200 exactly and invalid from any later instant.
    clock.advance(0.7)
    created, token = create(rig.server, account.session_token)
    assert created["created_at"] == T0 and created["expires_at"] == T0 + 1200
    clock.advance(1199.3)
    get(rig.server, account.session_token, token)
    clock.advance(0.001)
    assert error(rig.server, "get_user_email_address_update", session_token=account.session_token, user_email_address_update_token=token) == INVALID
