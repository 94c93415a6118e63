"""The action invocation envelope: foundations.md F2.2 to F2.8."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from faroe_flask import InvalidActionInvocationRequestError, Server
from faroe_flask.core.server import ACTION_TABLE

from ..conftest import CapturingEmailSender, CapturingErrorLogger
from ..strategies import faroe_invocations, invocation_body
from .helpers import call, ok, sign_up

REJECTED_BODIES = [
    pytest.param(b"", id="empty"),
    pytest.param(b'{"action": "get_session",', id="truncated"),
    pytest.param(b'["get_session"]', id="array"),
    pytest.param(b'"get_session"', id="string"),
    pytest.param(b"null", id="null"),
    pytest.param(b'{"action":"get_session","action":"get_session","arguments":{"session_token":"x"}}', id="dup-top"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"x","session_token":"y"}}', id="dup-arg"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"x"},"x":{"a":1,"a":2}}', id="dup-deep"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"x"},"\\u0061":1,"a":2}', id="dup-escaped"),
    pytest.param(b'{"arguments":{}}', id="no-action"),
    pytest.param(b'{"action":5,"arguments":{}}', id="action-number"),
    pytest.param(b'{"action":null,"arguments":{}}', id="action-null"),
    pytest.param(b'{"action":"get_session"}', id="no-arguments"),
    pytest.param(b'{"action":"get_session","arguments":null}', id="arguments-null"),
    pytest.param(b'{"action":"get_session","arguments":["x"]}', id="arguments-array"),
    pytest.param(b'{"action":"Get_Session","arguments":{"session_token":"x"}}', id="wrong-case"),
    pytest.param(b'{"action":"","arguments":{}}', id="empty-action"),
    pytest.param(b'{"action":"get_session","arguments":{}}', id="missing-argument"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":null}}', id="argument-null"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":5}}', id="argument-number"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":true}}', id="argument-bool"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":{}}}', id="argument-object"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":["x"]}}', id="argument-array"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"x"},"n":NaN}', id="nan"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"x"},"n":Infinity}', id="infinity"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"x"},"n":-Infinity}', id="-infinity"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"\\ud800"}}', id="lone-surrogate"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"\\udc00\\ud800"}}', id="swapped-surrogates"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"a\nb"}}', id="raw-control-char"),
    pytest.param(b'\xef\xbb\xbf{"action":"get_session","arguments":{"session_token":"x"}}', id="bom"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"x"}} x', id="trailing-garbage"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"x"}}{}', id="two-objects"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"x"}}\xff', id="bad-utf8-outside"),
    pytest.param(b'[' * 100_000 + b']' * 100_000, id="deep-array"),
    pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, id="deep-object"),
]


@pytest.mark.parametrize("body", REJECTED_BODIES)
def test_rejected_bodies(server: Server, body: bytes) -> None:
    with pytest.raises(InvalidActionInvocationRequestError):
        server.resolve_action_invocation_request(body)


@pytest.mark.parametrize("body", REJECTED_BODIES[:-2])
def test_rejected_bodies_as_str(server: Server, body: bytes) -> None:
    with pytest.raises(InvalidActionInvocationRequestError):
        server.resolve_action_invocation_request(body.decode("utf-8", "replace"))


def test_str_body_with_raw_lone_surrogate_is_rejected(server: Server) -> None:
    body = '{"action":"get_session","arguments":{"session_token":"\ud800"}}'
    with pytest.raises(InvalidActionInvocationRequestError):
        server.resolve_action_invocation_request(body)


ACCEPTED_BODIES = [
    pytest.param(b' \t\r\n{"action":"get_session","arguments":{"session_token":"x"}} \n', id="whitespace"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"x","extra":5},"more":[1,-2]}', id="extras"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"x"},"action_invocation_id":"y"}', id="client-id"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"\\u0000"}}', id="escaped-nul"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"\\ud83d\\ude00"}}', id="surrogate-pair"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"\xff\xfe"}}', id="bad-utf8-in-string"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":""}}', id="empty-string"),
]


@pytest.mark.parametrize("body", ACCEPTED_BODIES)
def test_accepted_bodies_give_an_action_result(server: Server, body: bytes) -> None:
    result = json.loads(server.resolve_action_invocation_request(body))
    assert result["ok"] is False
    assert result["error_code"] == "invalid_session_token"


def test_result_is_compact_json_in_the_specified_member_order(server: Server) -> None:
    text = server.resolve_action_invocation_request(
        '{"action":"create_signup","arguments":{"email_address":"ü@example.com"}}'
    )
    assert text.startswith('{"ok":false,"action_invocation_id":"')
    assert text.endswith('","error_code":"invalid_email_address"}')
    assert " " not in text and "\n" not in text
    text = server.resolve_action_invocation_request(
        '{"action":"create_signup","arguments":{"email_address":"user@example.com"}}'
    )
    result = json.loads(text)
    assert list(result) == ["ok", "action_invocation_id", "values"]
    assert list(result["values"]) == ["signup", "signup_token"]


def test_action_invocation_ids_are_fresh_and_well_formed(server: Server) -> None:
    ids = {call(server, "get_session", session_token="x")["action_invocation_id"] for _ in range(50)}
    assert len(ids) == 50
    for invocation_id in ids:
        assert len(invocation_id) == 24
        assert set(invocation_id) <= set("abcdefghijkmnpqrstuvwxyz23456789")


def test_the_table_has_the_39_actions_with_the_specified_arguments() -> None:
    assert len(ACTION_TABLE) == 39
    assert ACTION_TABLE["verify_user_deletion_user_password"].arguments == (
        "session_token", "user_deletion_token", "password",
    )
    assert ACTION_TABLE["set_signup_password"].arguments == ("signup_token", "password")
    assert ACTION_TABLE["create_signin"].arguments == ("user_email_address",)
    for entry in ACTION_TABLE.values():
        assert entry.function is not None and entry.arguments


def test_blocklist_and_allowlist(server: Server) -> None:
    body = b'{"action":"get_session","arguments":{"session_token":"x"}}'
    with pytest.raises(InvalidActionInvocationRequestError, match=r"^action blocked$"):
        server.resolve_action_invocation_request(body, blocklist={"get_session"})
    with pytest.raises(InvalidActionInvocationRequestError, match=r"^action not allowed$"):
        server.resolve_action_invocation_request(body, allowlist={"create_signup"})
    with pytest.raises(InvalidActionInvocationRequestError):
        server.resolve_action_invocation_request(body, allowlist={"GET_SESSION"})
    assert json.loads(server.resolve_action_invocation_request(body, blocklist={"Get_Session"}))["ok"] is False
    assert json.loads(server.resolve_action_invocation_request(body, allowlist=["get_session"]))["ok"] is False


def test_admit_gets_the_action_name_before_the_action_runs(server: Server) -> None:
    body = b'{"action":"get_session","arguments":{"session_token":"x"}}'
    admitted: list[str] = []
    answer = json.loads(server.resolve_action_invocation_request(body, admit=admitted.append))
    assert admitted == ["get_session"] and answer["error_code"] == "invalid_session_token"

    def refuse(action: str) -> None:
        raise PermissionError(action)

    with pytest.raises(PermissionError, match=r"^get_session$"):
        server.resolve_action_invocation_request(body, admit=refuse)


def test_invoke_runs_an_action_without_json(server: Server) -> None:
    result = server.invoke("create_signup", {"email_address": "user@example.com"})
    assert result.ok and result.values is not None
    assert result.values["signup"]["email_address"] == "user@example.com"
    failed = server.invoke("get_session", {"session_token": "nonsense"})
    assert not failed.ok and failed.error_code == "invalid_session_token"
    with pytest.raises(InvalidActionInvocationRequestError):
        server.invoke("no_such_action", {})
    with pytest.raises(InvalidActionInvocationRequestError):
        server.invoke("get_session", {"session_token": None})  # type: ignore[dict-item]


def test_an_exception_inside_an_action_is_internal_error_and_logged(make_server, error_logger) -> None:  # type: ignore[no-untyped-def]
    class BrokenUserStore:
        def get_user_by_email_address(self, email_address: str) -> None:
            raise RuntimeError("database is on fire")

    server = make_server(user_store=BrokenUserStore())
    result = call(server, "create_signup", email_address="user@example.com")
    assert result["ok"] is False and result["error_code"] == "internal_error"
    assert len(error_logger.entries) == 1
    _, message, invocation_id, action = error_logger.entries[0]
    assert action == "create_signup"
    assert invocation_id == result["action_invocation_id"]
    assert "RuntimeError" in message


def test_a_broken_error_logger_does_not_break_the_answer(make_server) -> None:  # type: ignore[no-untyped-def]
    class BrokenLogger:
        def log_action_error(self, *args: object) -> None:
            raise RuntimeError("logger down")

    class BrokenUserStore:
        def get_user_by_email_address(self, email_address: str) -> None:
            raise RuntimeError("database is on fire")

    server = make_server(user_store=BrokenUserStore(), error_logger=BrokenLogger())
    assert call(server, "create_signup", email_address="a@b.c")["error_code"] == "internal_error"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=65536))
def test_arbitrary_bytes_never_raise_anything_but_a_rejection(
    server: Server, error_logger: CapturingErrorLogger, body: bytes
) -> None:
    logged = len(error_logger.entries)
    try:
        result = json.loads(server.resolve_action_invocation_request(body))
    except InvalidActionInvocationRequestError:
        return
    assert result["ok"] is True or result["error_code"] != "internal_error"
    assert error_logger.entries[logged:] == []


def test_structured_bodies_never_raise_anything_but_a_rejection(
    server: Server, error_logger: CapturingErrorLogger, email_sender: CapturingEmailSender
) -> None:
    """No request makes an action fail with ``internal_error`` or log an action error.

    The requests mostly name a real action with string arguments, among them the tokens and
    codes of live records, and the test counts the answers, so it shows that the actions ran
    (a crash in every action fails it).
    """
    session_token, _ = sign_up(server, email_sender)
    signup_token = ok(server, "create_signup", email_address="new@example.com")["signup_token"]
    signin_token = ok(server, "create_signin", user_email_address="user@example.com")["signin_token"]
    reset_token = ok(server, "create_user_password_reset", user_email_address="user@example.com")[
        "user_password_reset_token"
    ]
    known = [
        session_token,
        signup_token,
        signin_token,
        reset_token,
        email_sender.last("signup_code")["code"],
        email_sender.last("temporary_password")["temporary_password"],
    ]
    answers: list[str] = []

    @settings(max_examples=300, deadline=None)
    @given(invocation=faroe_invocations(known))
    @example(invocation=("get_session", {"session_token": "a" * 24 + "." + "b" * 24}))
    @example(invocation=("create_signup", {"email_address": "other@example.com"}))
    def check(invocation: tuple[str, dict[str, object]]) -> None:
        body = invocation_body(invocation)
        logged = len(error_logger.entries)
        try:
            result = json.loads(server.resolve_action_invocation_request(body))
        except InvalidActionInvocationRequestError:
            return
        answers.append("ok" if result["ok"] else result["error_code"])
        assert result["ok"] is True or result["error_code"] != "internal_error"
        assert error_logger.entries[logged:] == [], "the action logged an error"

    check()
    assert "ok" in answers and len(set(answers)) >= 5, answers
    assert len(answers) >= 50, f"only {len(answers)} requests reached an action"
