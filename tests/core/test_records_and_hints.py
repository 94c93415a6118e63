"""Records as stored, and what the engine tells storage about them, read back exactly.

* A stored record that is not what it should be fails to decode with a message that names the
  record type and the field (and nothing from the stored bytes).
* Each record is stored with an expiry hint of ``created_at`` plus its lifetime, on ``add`` and on
  every compare-and-swap that rewrites it.
* Results are written as compact JSON with non-ASCII characters as they are (F2.8).
* Secrets and codes that cannot be UTF-8 (a lone surrogate, possible in-process) are wrong ones,
  not crashes.
"""

from __future__ import annotations

import json
from datetime import datetime


import pytest

from faroe_flask import Server
from faroe_flask.core.envelope import ActionError, ActionSuccess
from faroe_flask.core.actions import ActionFailure
from faroe_flask.core.records import RecordDecodeError, Session, Signup

from ..conftest import START, STRONG_PASSWORD, CapturingEmailSender, CapturingErrorLogger, FakeClock
from .helpers import code_of, ok, sign_up
from .wrappers import Rig, token_id

T0 = int(START.timestamp())

_SESSION = {
    "id": "a" * 24, "user_id": "b" * 24, "secret_hash": "AAAA", "token_last_verified_at": T0,
    "user_last_checked_at": None, "user_disabled_counter": 0, "user_sessions_counter": 0, "created_at": T0,
}


def _decode_error(value: bytes | str) -> str:
    with pytest.raises(RecordDecodeError) as raised:
        Session.decode(value)  # type: ignore[arg-type]
    return str(raised.value)


def test_a_record_decodes_from_bytes_and_from_text() -> None:
    text = json.dumps(_SESSION)
    assert Session.decode(text.encode()) == Session.decode(text)  # type: ignore[arg-type]
    assert Session.decode(text.encode()).secret_hash == b"\x00\x00\x00"


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (b"\xff not json", "Session: not JSON"),
        (b"[1, 2]", "Session: not an object"),
        (json.dumps({k: v for k, v in _SESSION.items() if k != "created_at"}).encode(), "Session: missing field created_at"),
        (json.dumps({**_SESSION, "user_last_checked_at": None, "id": None}).encode(), "Session: bad field id"),
        (json.dumps({**_SESSION, "secret_hash": 5}).encode(), "Session: bad field secret_hash"),
        (json.dumps({**_SESSION, "secret_hash": "not base64!"}).encode(), "Session: bad field secret_hash"),
        (json.dumps({**_SESSION, "created_at": True}).encode(), "Session: bad field created_at"),
        (json.dumps({**_SESSION, "user_last_checked_at": "now"}).encode(), "Session: bad field user_last_checked_at"),
    ],
)
def test_a_bad_stored_record_names_its_type_and_field(stored: bytes, message: str) -> None:
    assert _decode_error(stored) == message


def test_results_are_compact_json_with_raw_non_ascii() -> None:
    success = ActionSuccess("i" * 24, {"display_name": "Zoë ☃", "n": 1})
    assert success.to_json() == '{"ok":true,"action_invocation_id":"' + "i" * 24 + '","values":{"display_name":"Zoë ☃","n":1}}'
    failure = ActionError("j" * 24, "rate_limited")
    assert failure.to_json() == '{"ok":false,"action_invocation_id":"' + "j" * 24 + '","error_code":"rate_limited"}'


def test_an_action_failure_carries_its_code_as_its_text() -> None:
    failure = ActionFailure("rate_limited")
    assert (failure.error_code, str(failure)) == ("rate_limited", "rate_limited")


def _hints(rig: Rig, prefix: str) -> list[tuple[str, int]]:
    """Record every ``add`` and ``update`` hint under ``prefix`` as (operation, unix seconds)."""
    seen: list[tuple[str, int]] = []

    def add(_key: str, _value: bytes, expires_at: datetime) -> None:
        seen.append(("add", int(expires_at.timestamp())))

    def update(_key: str, _value: bytes, expires_at: datetime, _counter: int) -> None:
        seen.append(("update", int(expires_at.timestamp())))

    rig.storage.on("add", prefix, add, times=None)
    rig.storage.on("update", prefix, update, times=None)
    return seen


def test_a_signup_is_stored_until_its_lifetime_ends(
    rig: Rig, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    hints = _hints(rig, Signup.PREFIX)
    token = ok(rig.server, "create_signup", email_address="user@example.com")["signup_token"]
    clock.advance(300)  # later writes keep the hint of the signup's creation
    code = email_sender.last("signup_code")["code"]
    ok(rig.server, "verify_signup_email_address_verification_code", signup_token=token,
       email_address_verification_code=code)
    ok(rig.server, "set_signup_password", signup_token=token, password=STRONG_PASSWORD)
    assert hints == [("add", T0 + 1200), ("update", T0 + 1200), ("update", T0 + 1200)]


def test_in_process_arguments_that_are_not_unicode_are_wrong_not_fatal(
    server: Server, email_sender: CapturingEmailSender, error_logger: CapturingErrorLogger
) -> None:
    session_token, _ = sign_up(server, email_sender)
    lone = "\ud800" * 24
    result = server.invoke("get_session", {"session_token": f"{token_id(session_token)}.{lone}"})
    assert code_of(result.to_json_object()) == "invalid_session_token"
    signup = ok(server, "create_signup", email_address="second@example.com")["signup_token"]
    result = server.invoke(
        "verify_signup_email_address_verification_code",
        {"signup_token": signup, "email_address_verification_code": "\udcff" * 8},
    )
    assert code_of(result.to_json_object()) == "incorrect_email_address_verification_code"
    assert error_logger.entries == []
    assert ok(server, "get_session", session_token=session_token)["session"]["id"] == token_id(session_token)


