"""Strict reading of responses: a fake endpoint, served over real HTTP, answers what a conforming
server never would, and the client must raise ``MalformedResponseError`` (or accept exactly what
foundations.md F2.5 / F13 allow)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from faroe_flask.client import (
    ActionError,
    ActionSuccess,
    Client,
    CreateSignupSuccess,
    GetSessionSuccess,
    HTTPTransport,
    MalformedResponseError,
    UnexpectedStatusError,
)

from .conftest import FakeEndpoint, serve

AIID = "q7w2bkd9xm3ntv8h5pyfjc4r"

SIGNUP = {
    "id": "cf53jg7ee2pgwg668jnybjnb",
    "unregistered_user_id": "",
    "email_address": "user@example.com",
    "email_address_verified": False,
    "password_set": False,
    "created_at": 1756101086,
    "expires_at": 1756102286,
}
SIGNIN = {
    "id": "vgr9t89a3ndrsmr5wtb5c86j",
    "user_id": "u1",
    "user_first_factor_verified": False,
    "created_at": 1756101086,
    "expires_at": 1756101686,
}
SESSION = {"id": "w93zmrzat9xc82wwr9vt5sy4", "user_id": "u1", "created_at": 1756101086, "expires_at": None}
EMAIL_UPDATE = {
    "id": "a",
    "user_id": "u1",
    "session_id": "s",
    "new_email_address": "new@example.com",
    "new_email_address_verified": False,
    "user_identity_verified": False,
    "created_at": 1756101086,
    "expires_at": 1756102286,
}
PASSWORD_UPDATE = {
    "id": "a",
    "user_id": "u1",
    "session_id": "s",
    "user_identity_verified": False,
    "new_password_set": False,
    "created_at": 1756101086,
    "expires_at": 1756101686,
}
DELETION = {
    "id": "a",
    "user_id": "u1",
    "session_id": "s",
    "user_identity_verified": True,
    "created_at": 1756101086,
    "expires_at": 1756101686,
}
RESET = {
    "id": "a",
    "user_id": "u1",
    "user_first_factor_verified": False,
    "new_password_set": False,
    "created_at": 1756101086,
    "expires_at": 1756102286,
}

# (method, arguments, model member, model, token member or None)
VALUE_ACTIONS: list[tuple[str, tuple[str, ...], str, dict[str, Any], str | None]] = [
    ("create_signup", ("a@b.c",), "signup", SIGNUP, "signup_token"),
    ("get_signup", ("t",), "signup", SIGNUP, None),
    ("complete_signup", ("t",), "session", SESSION, "session_token"),
    ("create_signin", ("a@b.c",), "signin", SIGNIN, "signin_token"),
    ("get_signin", ("t",), "signin", SIGNIN, None),
    ("complete_signin", ("t",), "session", SESSION, "session_token"),
    ("get_session", ("t",), "session", SESSION, None),
    (
        "create_user_email_address_update",
        ("t", "new@example.com"),
        "user_email_address_update",
        EMAIL_UPDATE,
        "user_email_address_update_token",
    ),
    ("get_user_email_address_update", ("t", "u"), "user_email_address_update", EMAIL_UPDATE, None),
    (
        "create_user_password_update",
        ("t",),
        "user_password_update",
        PASSWORD_UPDATE,
        "user_password_update_token",
    ),
    ("get_user_password_update", ("t", "u"), "user_password_update", PASSWORD_UPDATE, None),
    ("create_user_deletion", ("t",), "user_deletion", DELETION, "user_deletion_token"),
    ("get_user_deletion", ("t", "u"), "user_deletion", DELETION, None),
    ("create_user_password_reset", ("a@b.c",), "user_password_reset", RESET, "user_password_reset_token"),
    ("get_user_password_reset", ("t",), "user_password_reset", RESET, None),
    ("complete_user_password_reset", ("t",), "session", SESSION, "session_token"),
]

WRONG_STRINGS: list[Any] = [1, None, True, [], {}]
WRONG_BOOLEANS: list[Any] = ["true", 1, 0, None, []]
WRONG_TIMESTAMPS: list[Any] = [1.5, 1.0, -1, "1756101086", True, None, {}, 10**20]
WRONG_SESSION_EXPIRES_AT: list[Any] = [0, -1, 1.5, 1.0, "1756101086", True, False, [], 10**20]


def _wrong_values(model_member: str, field: str, valid: Any) -> list[Any]:
    if model_member == "session" and field == "expires_at":
        return WRONG_SESSION_EXPIRES_AT
    if isinstance(valid, bool):
        return WRONG_BOOLEANS
    if isinstance(valid, int):
        return WRONG_TIMESTAMPS
    return WRONG_STRINGS


def _success_document(model_member: str, model: dict[str, Any], token_member: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {model_member: copy.deepcopy(model)}
    if token_member is not None:
        values[token_member] = "id.secret"
    return {"ok": True, "action_invocation_id": AIID, "values": values}


def _mutations() -> Iterator[Any]:
    for method, arguments, member, model, token_member in VALUE_ACTIONS:
        valid = _success_document(member, model, token_member)
        for field in model:
            if field == "unregistered_user_id":
                continue  # not read by clients (F13); covered by a test below
            document = copy.deepcopy(valid)
            del document["values"][member][field]
            yield pytest.param(method, arguments, document, id=f"{method}-{field}-missing")
            for index, wrong in enumerate(_wrong_values(member, field, model[field])):
                document = copy.deepcopy(valid)
                document["values"][member][field] = wrong
                yield pytest.param(method, arguments, document, id=f"{method}-{field}-wrong{index}")
        wrong_models: list[Any] = [None, [], "x", 1]
        for index, wrong_model in enumerate(wrong_models):
            document = copy.deepcopy(valid)
            document["values"][member] = wrong_model
            yield pytest.param(method, arguments, document, id=f"{method}-model-wrong{index}")
        document = copy.deepcopy(valid)
        del document["values"][member]
        yield pytest.param(method, arguments, document, id=f"{method}-model-missing")
        if token_member is not None:
            document = copy.deepcopy(valid)
            del document["values"][token_member]
            yield pytest.param(method, arguments, document, id=f"{method}-token-missing")
            for index, wrong in enumerate(WRONG_STRINGS):
                document = copy.deepcopy(valid)
                document["values"][token_member] = wrong
                yield pytest.param(method, arguments, document, id=f"{method}-token-wrong{index}")
        # The JS user-server helper's shape: the model at the top level, no values.
        document = {"ok": True, "action_invocation_id": AIID, **valid["values"]}
        yield pytest.param(method, arguments, document, id=f"{method}-values-missing")


@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeEndpoint]:
    fake = FakeEndpoint()
    with serve(fake.wsgi) as url:
        fake.url = url + "/"
        yield fake
        fake.release.set()


@pytest.fixture
def fake(shared_fake: FakeEndpoint) -> FakeEndpoint:
    shared_fake.requests.clear()
    shared_fake.handler = None
    return shared_fake


@pytest.fixture(scope="module")
def fake_client(shared_fake: FakeEndpoint) -> Iterator[Client]:
    transport = HTTPTransport(shared_fake.url, timeout=10)
    yield Client(transport)
    transport.close()


def _call(client: Client, method: str, arguments: tuple[str, ...]) -> Any:
    function: Callable[..., Any] = getattr(client, method)
    return function(*arguments)


@pytest.mark.parametrize(("method", "arguments", "document"), list(_mutations()))
def test_a_model_field_of_the_wrong_type_or_missing_is_malformed(
    fake: FakeEndpoint, fake_client: Client, method: str, arguments: tuple[str, ...], document: Any
) -> None:
    fake.answer_json(document)
    with pytest.raises(MalformedResponseError, match=f"malformed {method} result"):
        _call(fake_client, method, arguments)


@pytest.mark.parametrize(
    ("method", "arguments", "member", "model", "token_member"),
    [pytest.param(*entry, id=entry[0]) for entry in VALUE_ACTIONS],
)
def test_valid_results_with_unknown_members_are_accepted(
    fake: FakeEndpoint,
    fake_client: Client,
    method: str,
    arguments: tuple[str, ...],
    member: str,
    model: dict[str, Any],
    token_member: str | None,
) -> None:
    document = _success_document(member, model, token_member)
    document["extra"] = {"ignored": [1, 2.5, None]}
    document["values"]["extra"] = -3
    document["values"][member]["extra"] = "ignored"
    fake.answer_json(document)
    result = _call(fake_client, method, arguments)
    assert result.ok is True
    assert result.action_invocation_id == AIID
    parsed = getattr(result, member)
    for field, value in model.items():
        if field == "unregistered_user_id":
            assert not hasattr(parsed, field)
        elif field in ("created_at", "expires_at"):
            expected = None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)
            assert getattr(parsed, field) == expected
        else:
            assert getattr(parsed, field) == value
    if token_member is not None:
        assert getattr(result, token_member) == "id.secret"


def test_session_expires_at_may_be_a_positive_integer(fake: FakeEndpoint, fake_client: Client) -> None:
    fake.answer_json(_success_document("session", {**SESSION, "expires_at": 1756104686}, None))
    result = fake_client.get_session("t")
    assert isinstance(result, GetSessionSuccess)
    assert result.session.expires_at == datetime(2025, 8, 25, 6, 51, 26, tzinfo=timezone.utc)


def test_a_timestamp_of_zero_is_accepted_for_models(fake: FakeEndpoint, fake_client: Client) -> None:
    fake.answer_json(_success_document("signup", {**SIGNUP, "created_at": 0}, "signup_token"))
    result = fake_client.create_signup("a@b.c")
    assert isinstance(result, CreateSignupSuccess)
    assert result.signup.created_at == datetime(1970, 1, 1, tzinfo=timezone.utc)


def test_the_signup_model_does_not_need_unregistered_user_id(fake: FakeEndpoint, fake_client: Client) -> None:
    model = {name: value for name, value in SIGNUP.items() if name != "unregistered_user_id"}
    fake.answer_json(_success_document("signup", model, None))
    assert fake_client.get_signup("t").ok is True


ENVELOPE_CASES: list[Any] = [
    pytest.param(b"", id="empty"),
    pytest.param(b"not json", id="not-json"),
    pytest.param(b"[]", id="array"),
    pytest.param(b'"ok"', id="string"),
    pytest.param(b"null", id="null"),
    pytest.param(b'{"ok":true,"action_invocation_id":"a","values":{}}x', id="trailing-garbage"),
    pytest.param(b'\xef\xbb\xbf{"ok":true,"action_invocation_id":"a","values":{}}', id="bom"),
    pytest.param(b'{"ok":true,"ok":true,"action_invocation_id":"a","values":{}}', id="duplicate-top"),
    pytest.param(b'{"ok":true,"action_invocation_id":"a","values":{"a":1,"a":1}}', id="duplicate-nested"),
    pytest.param(b'{"ok":true,"action_invocation_id":"a","values":{},"x":NaN}', id="nan"),
    pytest.param(b'{"ok":true,"action_invocation_id":"a","values":{},"x":-Infinity}', id="infinity"),
    pytest.param(b'{"ok":false,"action_invocation_id":"a","error_code":"\\ud800"}', id="lone-surrogate"),
    pytest.param(
        b'{"ok":true,"action_invocation_id":"a","values":{},"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        id="deep-nesting",
    ),
    pytest.param(b'{"action_invocation_id":"a","values":{}}', id="ok-missing"),
    pytest.param(b'{"ok":"true","action_invocation_id":"a","values":{}}', id="ok-string"),
    pytest.param(b'{"ok":1,"action_invocation_id":"a","values":{}}', id="ok-number"),
    pytest.param(b'{"ok":null,"action_invocation_id":"a","values":{}}', id="ok-null"),
    pytest.param(b'{"ok":true,"values":{}}', id="aiid-missing"),
    pytest.param(b'{"ok":true,"action_invocation_id":5,"values":{}}', id="aiid-number"),
    pytest.param(b'{"ok":false,"action_invocation_id":null,"error_code":"x"}', id="aiid-null-on-error"),
    pytest.param(b'{"ok":false,"action_invocation_id":"a"}', id="error-code-missing"),
    pytest.param(b'{"ok":false,"action_invocation_id":"a","error_code":null}', id="error-code-null"),
    pytest.param(b'{"ok":false,"action_invocation_id":"a","error_code":7}', id="error-code-number"),
    pytest.param(b'{"ok":false,"action_invocation_id":"a","values":{}}', id="error-with-values-only"),
    pytest.param(b'{"ok":true,"action_invocation_id":"a"}', id="values-missing"),
    pytest.param(b'{"ok":true,"action_invocation_id":"a","values":null}', id="values-null"),
    pytest.param(b'{"ok":true,"action_invocation_id":"a","values":[]}', id="values-array"),
    pytest.param(b'{"ok":true,"action_invocation_id":"a","error_code":"x"}', id="success-with-error-code-only"),
]


@pytest.mark.parametrize("body", ENVELOPE_CASES)
def test_a_malformed_envelope_raises(fake: FakeEndpoint, fake_client: Client, body: bytes) -> None:
    fake.answer_raw(body)
    with pytest.raises(MalformedResponseError, match="malformed delete_session result"):
        fake_client.delete_session("t")


def test_the_error_message_never_quotes_the_body(fake: FakeEndpoint, fake_client: Client) -> None:
    document = _success_document("session", SESSION, "session_token")
    document["values"]["session_token"] = "id.very-secret-value"
    document["values"]["session"]["created_at"] = "very-secret-value"
    fake.answer_json(document)
    with pytest.raises(MalformedResponseError) as caught:
        fake_client.complete_signin("t")
    assert "very-secret-value" not in str(caught.value)
    assert "values.session.created_at" in str(caught.value)


ACCEPTED_ENVELOPES: list[Any] = [
    pytest.param(b' \r\n\t{"ok":true,"action_invocation_id":"a","values":{}} \n', ActionSuccess, id="whitespace"),
    pytest.param(b'{"values":{"x":[1]},"action_invocation_id":"a","ok":true}', ActionSuccess, id="order"),
    pytest.param(b'{"ok":true,"action_invocation_id":"","values":{"n":-5}}', ActionSuccess, id="negative"),
    pytest.param(b'{"ok":false,"action_invocation_id":"a","error_code":"x","values":5}', ActionError, id="error"),
    pytest.param(b'{"ok":false,"action_invocation_id":"a","error_code":"\xff"}', ActionError, id="bad-utf8"),
]


@pytest.mark.parametrize(("body", "expected"), ACCEPTED_ENVELOPES)
def test_acceptable_envelopes(fake: FakeEndpoint, fake_client: Client, body: bytes, expected: type) -> None:
    fake.answer_raw(body)
    result = fake_client.delete_session("t")
    assert isinstance(result, expected)
    if isinstance(result, ActionError):
        assert result.error_code in ("x", "\ufffd")


@pytest.mark.parametrize("status", [201, 204, 301, 302, 400, 401, 403, 404, 405, 413, 500, 502, 503])
def test_a_status_other_than_200_raises_naming_it(fake: FakeEndpoint, fake_client: Client, status: int) -> None:
    fake.answer_json({"ok": True, "action_invocation_id": "a", "values": {}}, status=status)
    with pytest.raises(UnexpectedStatusError, match=str(status)) as caught:
        fake_client.get_session("t")
    assert caught.value.status == status


def test_a_result_of_the_wrong_action_shape_is_malformed(fake: FakeEndpoint, fake_client: Client) -> None:
    """A ``get_signup`` answer given to ``get_session``: the session member is missing."""
    fake.answer_json(_success_document("signup", SIGNUP, None))
    with pytest.raises(MalformedResponseError, match="values.session is missing"):
        fake_client.get_session("t")


def test_error_results_carry_code_and_invocation_id(fake: FakeEndpoint, fake_client: Client) -> None:
    fake.answer_json({"ok": False, "action_invocation_id": AIID, "error_code": "rate_limited"})
    result = fake_client.verify_signin_user_password("t", "p")
    assert result == ActionError(AIID, "rate_limited")
    assert result.ok is False
    assert json.loads(fake.requests[-1].body) == {
        "action": "verify_signin_user_password",
        "arguments": {"signin_token": "t", "password": "p"},
    }
