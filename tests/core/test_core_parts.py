"""Small public parts of the core, each read back exactly: strict JSON writing and lone-surrogate
detection at any depth, the action-name check for allow/block lists, the default error logger and
the real clock."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from faroe_flask import LoggingErrorLogger, RealClock
from faroe_flask.core.action_names import ACTION_NAMES, require_known_action_names
from faroe_flask.core.strict_json import dump_compact, load_object


def test_dump_compact_writes_compact_utf8_in_insertion_order() -> None:
    document = {"z": 1, "a": [True, None, 1.5], "é": "snow \u2603", "n": {"b": "", "a": 0}}
    assert dump_compact(document) == '{"z":1,"a":[true,null,1.5],"é":"snow ☃","n":{"b":"","a":0}}'.encode("utf-8")
    with pytest.raises(ValueError) as raised:
        dump_compact({"value": float("nan")})
    assert "Out of range float values are not JSON compliant" in str(raised.value)
    with pytest.raises(ValueError) as raised:
        dump_compact({"value": "\ud800"})
    assert str(raised.value) == "a string argument is not valid Unicode (lone surrogate)"


@pytest.mark.parametrize(
    "body",
    [
        '{"a": ["ok", ["\\ud800"]]}',
        '{"a": {"b": {"\\udc00": 1}}}',
        '{"a": [{"b": ["x", "\\udfff"]}], "c": 1}',
        b'{"outer": [[["\\ud83d"]]]}',
    ],
)
def test_a_lone_surrogate_is_found_at_any_depth(body: str | bytes) -> None:
    with pytest.raises(ValueError) as raised:
        load_object(body)
    assert str(raised.value) == "a JSON string holds a lone surrogate"


def test_escaped_pairs_and_nested_values_are_kept() -> None:
    body = '{"a": [{"b": ["\\ud83d\\ude00", 1, null]}], "k\\u00e9y": {"c": [true]}}'
    assert load_object(body) == {"a": [{"b": ["\U0001f600", 1, None]}], "kéy": {"c": [True]}}


def test_action_name_lists_name_the_first_unknown_name() -> None:
    assert len(ACTION_NAMES) == 39
    require_known_action_names(sorted(ACTION_NAMES), "FAROE_ACTION_ALLOWLIST")  # all known: no error
    with pytest.raises(ValueError) as raised:
        require_known_action_names(["get_session", "create_singup", "Get_Session"], "FAROE_ACTION_ALLOWLIST")
    assert str(raised.value) == (
        "FAROE_ACTION_ALLOWLIST names an unknown action: 'create_singup' (did you mean 'create_signup'?)"
    )
    with pytest.raises(ValueError) as raised:
        require_known_action_names(["zzzz"], "FAROE_ACTION_BLOCKLIST")
    assert str(raised.value) == "FAROE_ACTION_BLOCKLIST names an unknown action: 'zzzz'"


def test_the_default_error_logger_writes_one_error_record(caplog: pytest.LogCaptureFixture) -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    with caplog.at_level(logging.DEBUG):
        LoggingErrorLogger().log_action_error(moment, "sending failed: OSError", "i" * 24, "create_signup")
        own = logging.getLogger("my_app.auth")
        LoggingErrorLogger(own).log_action_error(moment, "m", "j" * 24, "get_session")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("faroe_flask", logging.ERROR,
         f"faroe action create_signup (invocation {'i' * 24} at 2026-01-02T03:04:05+00:00): sending failed: OSError"),
        ("my_app.auth", logging.ERROR, f"faroe action get_session (invocation {'j' * 24} at 2026-01-02T03:04:05+00:00): m"),
    ]


def test_the_real_clock_is_utc_now() -> None:
    before = datetime.now(timezone.utc)
    now = RealClock().now()
    assert now.tzinfo is timezone.utc
    assert before <= now <= datetime.now(timezone.utc) + timedelta(seconds=1)


def test_session_settings_say_which_one_is_wrong_and_accept_their_edges() -> None:
    from faroe_flask import SessionConfig

    cases = [
        (dict(inactivity_timeout=timedelta(0)), "inactivity_timeout must be positive"),
        (dict(activity_check_interval=timedelta(0)), "activity_check_interval must be positive"),
        (dict(expiration=timedelta(seconds=-1)), "expiration must not be negative"),
        (dict(user_cache_expiration=timedelta(seconds=-1)), "user_cache_expiration must not be negative"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError) as raised:
            SessionConfig(**options)  # type: ignore[arg-type]
        assert str(raised.value) == message
    edges = SessionConfig(
        inactivity_timeout=timedelta(microseconds=1), activity_check_interval=timedelta(microseconds=1),
        expiration=timedelta(0), user_cache_expiration=timedelta(0),
    )
    assert (edges.expiration_seconds, edges.user_cache_seconds) == (0.0, 0.0)
    assert (edges.inactivity_seconds, edges.activity_check_seconds) == (1e-06, 1e-06)


def test_ids_and_codes_use_their_whole_alphabet() -> None:
    """Each random character takes one of 32 values (F3.2): 4,800 of them miss none (a table
    that used fewer values would still make well-formed ids)."""
    from faroe_flask.core.credentials import (
        LOWERCASE_ALPHABET,
        UPPERCASE_ALPHABET,
        generate_email_address_verification_code,
        generate_id,
    )

    assert set("".join(generate_id() for _ in range(200))) == set(LOWERCASE_ALPHABET)
    assert set("".join(generate_email_address_verification_code() for _ in range(600))) == set(UPPERCASE_ALPHABET)
