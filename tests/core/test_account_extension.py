"""The opt-in extension ``SessionConfig(end_other_sessions_on_password_change=True)``.

Compatibility policy item 14: extensions are opt-in and off by default. When on, a completed
password update ends every OTHER session of the user while the caller's session stays valid with
the same token; a completed password reset ends every session and the session it returns works.
Off (the default), password changes end no session (actions-account.md §3, foundations.md F9.7).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from faroe_flask import SessionConfig

from ..conftest import STRONG_PASSWORD, CapturingEmailSender, CapturingErrorLogger, FakeClock
from .helpers import call, error, ok, sign_in, sign_up
from .wrappers import Rig, assert_logged_once, assert_nothing_logged, build_rig, token_id

EMAIL = "user@example.com"
NEW_PASSWORD = "a brand new password"
RESET_PASSWORD = "the password after the reset"

ON = SessionConfig(end_other_sessions_on_password_change=True)


def make_rig(make_server: Callable[..., Any], storage: Any, user_store: Any, config: SessionConfig | None) -> Rig:
    if config is None:
        return build_rig(make_server, storage, user_store)
    return build_rig(make_server, storage, user_store, session_config=config)


@pytest.fixture
def rig_on(make_server: Callable[..., Any], storage: Any, user_store: Any) -> Rig:
    return make_rig(make_server, storage, user_store, ON)


@pytest.fixture
def rig_off(make_server: Callable[..., Any], storage: Any, user_store: Any) -> Rig:
    return make_rig(make_server, storage, user_store, None)


def change_password(server: Any, session_token: str, new_password: str = NEW_PASSWORD, old_password: str = STRONG_PASSWORD) -> None:
    token = ok(server, "create_user_password_update", session_token=session_token)["user_password_update_token"]
    ok(server, "verify_user_password_update_user_password", session_token=session_token, user_password_update_token=token, password=old_password)
    ok(server, "set_user_password_update_new_password", session_token=session_token, user_password_update_token=token, password=new_password)
    ok(server, "complete_user_password_update", session_token=session_token, user_password_update_token=token)


def reset_password(server: Any, email_sender: CapturingEmailSender, new_password: str = RESET_PASSWORD) -> dict[str, Any]:
    token = ok(server, "create_user_password_reset", user_email_address=EMAIL)["user_password_reset_token"]
    temporary = email_sender.last("temporary_password")["temporary_password"]
    ok(server, "verify_user_password_reset_temporary_password", user_password_reset_token=token, temporary_password=temporary)
    ok(server, "set_user_password_reset_new_password", user_password_reset_token=token, password=new_password)
    return ok(server, "complete_user_password_reset", user_password_reset_token=token)


def _is_ok(server: Any, session_token: str) -> bool:
    """Whether the session validates; a failure must be ``invalid_session_token``."""
    result = call(server, "get_session", session_token=session_token)
    if not result["ok"]:
        assert result["error_code"] == "invalid_session_token"
    return bool(result["ok"])


def test_the_extension_is_off_by_default() -> None:
    assert SessionConfig().end_other_sessions_on_password_change is False


# Password update --------------------------------------------------------------------------------


def test_on_a_password_update_ends_the_other_sessions_only(
    rig_on: Rig, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    server = rig_on.server
    caller, user_id = sign_up(server, email_sender)
    others = [sign_in(server), sign_in(server)]
    change_password(server, caller)

    # The caller's session stays valid with the same token, for plain and full validation.
    session = ok(server, "get_session", session_token=caller)["session"]
    assert session["id"] == token_id(caller) and session["user_id"] == user_id
    ok(server, "create_user_deletion", session_token=caller)
    for other in others:
        assert error(server, "get_session", session_token=other) == "invalid_session_token"
        assert error(server, "create_user_password_update", session_token=other) == "invalid_session_token"
    # New sign-ins (with the new password) work.
    assert _is_ok(server, sign_in(server, EMAIL, NEW_PASSWORD))
    assert _is_ok(server, caller)
    assert_nothing_logged(error_logger)


def test_on_the_caller_keeps_working_through_several_changes(
    rig_on: Rig, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    server = rig_on.server
    caller, _ = sign_up(server, email_sender)
    change_password(server, caller)
    clock.advance(61)  # the activity refresh writes the session again
    other = sign_in(server, EMAIL, NEW_PASSWORD)
    change_password(server, caller, "a third password here", NEW_PASSWORD)
    assert _is_ok(server, caller)
    assert not _is_ok(server, other)


def test_on_the_other_sessions_pending_records_die_with_them(
    rig_on: Rig, email_sender: CapturingEmailSender
) -> None:
    server = rig_on.server
    caller, _ = sign_up(server, email_sender)
    other = sign_in(server)
    update = ok(server, "create_user_email_address_update", session_token=other, new_email_address="new@example.com")["user_email_address_update_token"]
    change_password(server, caller)
    assert error(server, "get_user_email_address_update", session_token=other, user_email_address_update_token=update) == "invalid_session_token"


def test_on_with_the_user_cache_the_caller_stays_valid(
    make_server: Callable[..., Any], storage: Any, user_store: Any, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    config = SessionConfig(end_other_sessions_on_password_change=True, user_cache_expiration=timedelta(seconds=60))
    rig = make_rig(make_server, storage, user_store, config)
    caller, _ = sign_up(rig.server, email_sender)
    other = sign_in(rig.server)
    ok(rig.server, "get_session", session_token=caller)
    change_password(rig.server, caller)
    clock.advance(60)  # past the cache window, every check asks the user store again
    assert _is_ok(rig.server, caller)
    ok(rig.server, "create_user_deletion", session_token=caller)
    assert not _is_ok(rig.server, other)


def test_on_a_concurrent_sessions_counter_change_still_keeps_the_caller(
    rig_on: Rig, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    server = rig_on.server
    caller, user_id = sign_up(server, email_sender)
    other = sign_in(server)

    def competing_increment(user_id: str, expected: int) -> None:
        rig_on.users.inner.increment_user_sessions_counter(user_id, expected)

    rig_on.users.on("increment_user_sessions_counter", competing_increment)
    change_password(server, caller)
    assert _is_ok(server, caller)
    assert not _is_ok(server, other)
    assert_nothing_logged(error_logger)


def test_on_a_failure_to_end_the_other_sessions_is_only_logged(
    rig_on: Rig, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    server = rig_on.server
    caller, _ = sign_up(server, email_sender)
    other = sign_in(server)
    rig_on.users.fail("increment_user_sessions_counter")
    change_password(server, caller)  # the password has changed: the answer stays ok
    assert_logged_once(error_logger, "complete_user_password_update", caller, NEW_PASSWORD, STRONG_PASSWORD)
    sign_in(server, EMAIL, NEW_PASSWORD)
    assert _is_ok(server, caller) and _is_ok(server, other)


def test_off_a_password_update_ends_no_session(
    rig_off: Rig, email_sender: CapturingEmailSender
) -> None:
    server = rig_off.server
    caller, _ = sign_up(server, email_sender)
    others = [sign_in(server), sign_in(server)]
    change_password(server, caller)
    for session_token in (caller, *others):
        assert _is_ok(server, session_token)
        ok(server, "create_user_deletion", session_token=session_token)
    assert rig_off.users.calls.count("increment_user_sessions_counter") == 0


# Password reset ---------------------------------------------------------------------------------


def test_on_a_password_reset_ends_every_session_and_the_new_one_works(
    rig_on: Rig, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    server = rig_on.server
    first, user_id = sign_up(server, email_sender)
    second = sign_in(server)
    values = reset_password(server, email_sender)
    new_session = values["session_token"]
    assert values["session"]["user_id"] == user_id
    for old in (first, second):
        assert error(server, "get_session", session_token=old) == "invalid_session_token"
    assert ok(server, "get_session", session_token=new_session)["session"]["id"] == token_id(new_session)
    ok(server, "create_user_deletion", session_token=new_session)  # full validation too
    assert_nothing_logged(error_logger)


def test_on_a_failure_to_end_the_sessions_at_reset_answers_session_not_created(
    rig_on: Rig, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    server = rig_on.server
    sign_up(server, email_sender)
    rig_on.users.fail("increment_user_sessions_counter")
    token = ok(server, "create_user_password_reset", user_email_address=EMAIL)["user_password_reset_token"]
    temporary = email_sender.last("temporary_password")["temporary_password"]
    ok(server, "verify_user_password_reset_temporary_password", user_password_reset_token=token, temporary_password=temporary)
    ok(server, "set_user_password_reset_new_password", user_password_reset_token=token, password=RESET_PASSWORD)
    assert error(server, "complete_user_password_reset", user_password_reset_token=token) == "session_not_created"
    assert_logged_once(error_logger, "complete_user_password_reset", token, temporary, RESET_PASSWORD)
    sign_in(server, EMAIL, RESET_PASSWORD)  # the password did change


def test_off_a_password_reset_ends_no_session(rig_off: Rig, email_sender: CapturingEmailSender) -> None:
    server = rig_off.server
    first, _ = sign_up(server, email_sender)
    second = sign_in(server)
    new_session = reset_password(server, email_sender)["session_token"]
    for session_token in (first, second, new_session):
        assert _is_ok(server, session_token)
        ok(server, "create_user_password_update", session_token=session_token)
    assert rig_off.users.calls.count("increment_user_sessions_counter") == 0
