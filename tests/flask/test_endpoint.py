"""The endpoint's HTTP behaviour (foundations.md F2.1) through Flask's test client."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask, Request
from hypothesis import example, given, settings

from faroe_flask.flask.blueprint import create_blueprint
from faroe_flask.flask.extension import Faroe, current_faroe

from ..conftest import CapturingEmailSender, CapturingErrorLogger
from ..strategies import faroe_invocations, invocation_body, request_noise
from .conftest import AppFactory, invoke, values_of

SIGNUP = json.dumps({"action": "create_signup", "arguments": {"email_address": "user@example.com"}})
GET_SESSION = json.dumps({"action": "get_session", "arguments": {"session_token": "x.y"}})


def test_action_success_is_200_json_with_cors(app: Flask) -> None:
    response = app.test_client().post("/faroe", data=SIGNUP)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type"
    result = json.loads(response.data)
    assert result["ok"] is True
    assert list(result) == ["ok", "action_invocation_id", "values"]
    assert not response.data.endswith(b"\n")


def test_action_error_is_200_not_an_http_error(app: Flask) -> None:
    response = app.test_client().post("/faroe", data=GET_SESSION)
    assert response.status_code == 200
    assert json.loads(response.data)["error_code"] == "invalid_session_token"


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/x-www-form-urlencoded", None])
def test_any_content_type_is_accepted(app: Flask, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = app.test_client().post("/faroe", data=GET_SESSION, headers=headers)
    assert response.status_code == 200
    assert json.loads(response.data)["ok"] is False


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"action": "get_session",',
        b'["get_session"]',
        b'{"action":"a","action":"b","arguments":{}}',
        b'{"arguments":{}}',
        b'{"action":"get_session"}',
        b'{"action":"get_session","arguments":null}',
        b'{"action":"Get_Session","arguments":{}}',
        b'{"action":"get_session","arguments":{"session_token":null}}',
        b"\xef\xbb\xbf" + GET_SESSION.encode(),
        b"[" * 100_00 + b"]" * 100_00,
    ],
)
def test_rejected_body_is_400_empty_with_cors(app: Flask, body: bytes) -> None:
    response = app.test_client().post("/faroe", data=body)
    assert response.status_code == 400
    assert response.data == b""
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_no_body_causes_a_500(make_app: AppFactory, error_logger: CapturingErrorLogger) -> None:
    """No body is a 500 or an ``internal_error``, and none logs an action error.

    Each example posts random noise and a call of a real action, mostly well-formed (see
    ``tests/strategies.py``); the test counts the answers, so it shows that the actions ran.
    Hundreds of calls from one client: the per-client limits are off here (with them on, see
    tests/flask/test_client_limits.py).
    """
    client = make_app({"FAROE_CLIENT_LIMITS": "off"}).test_client()
    answers: list[str] = []

    def post(body: bytes) -> None:
        logged = len(error_logger.entries)
        response = client.post("/faroe", data=body)
        assert response.status_code in (200, 400)
        if response.status_code == 400:
            assert response.data == b""
            return
        result = json.loads(response.data)
        answers.append("ok" if result["ok"] else result["error_code"])
        assert result["ok"] is True or result["error_code"] != "internal_error"
        assert error_logger.entries[logged:] == [], "the action logged an error"

    @settings(max_examples=200, deadline=None)
    @given(noise=request_noise, invocation=faroe_invocations())
    @example(noise=b"", invocation=("get_session", {"session_token": "x.y"}))
    @example(noise=b"{}", invocation=("create_signup", {"email_address": "user@example.com"}))
    def check(noise: bytes, invocation: tuple[str, dict[str, Any]]) -> None:
        post(noise)
        post(invocation_body(invocation))

    check()
    assert "ok" in answers and len(set(answers)) >= 3, answers
    assert len(answers) >= 50, f"only {len(answers)} requests reached an action"


def test_options_is_204_with_cors(app: Flask) -> None:
    response = app.test_client().options("/faroe", headers={"Origin": "https://example.com"})
    assert response.status_code == 204
    assert response.data == b""
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type"


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_other_methods_are_404(app: Flask, method: str) -> None:
    response = app.test_client().open("/faroe", method=method)
    assert response.status_code == 404
    assert "Access-Control-Allow-Origin" not in response.headers


def test_other_paths_are_404_and_no_redirect(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/faroe/", data=GET_SESSION).status_code == 404
    assert client.post("/faroe/x", data=GET_SESSION).status_code == 404
    assert client.post("/", data=GET_SESSION).status_code == 404
    response = client.post("/faroe", data=GET_SESSION)
    assert response.status_code == 200 and "Location" not in response.headers


def test_request_over_the_limit_is_413(make_app: AppFactory) -> None:
    app = make_app({"FAROE_MAX_REQUEST_BYTES": 100})
    client = app.test_client()
    padded = json.dumps({"action": "get_session", "arguments": {"session_token": "x.y"}, "pad": ""})
    body = padded[:-2] + "x" * (100 - len(padded)) + '"}'
    assert len(body) == 100
    assert client.post("/faroe", data=body).status_code == 200
    response = client.post("/faroe", data=body[:-2] + 'x"}')
    assert response.status_code == 413
    assert response.data == b""


def test_default_request_limit_is_64_kib(app: Flask) -> None:
    client = app.test_client()
    body = GET_SESSION[:-1] + ',"pad":"' + "x" * (64 * 1024) + '"}'
    assert client.post("/faroe", data=body).status_code == 413


class TestEndpointSecret:
    @pytest.fixture
    def secured(self, make_app: AppFactory) -> Flask:
        return make_app({"FAROE_ENDPOINT_SECRET": "s3cret-value"})

    @pytest.mark.parametrize(
        "authorization",
        [None, "", "Bearer", "Bearer wrong", "Basic s3cret-value", "Bearer s3cret-valu", "Bearer s3cret-value2", "Bearer ünicode"],
    )
    def test_missing_or_wrong_secret_is_401(self, secured: Flask, authorization: str | None) -> None:
        headers = {"Authorization": authorization} if authorization is not None else {}
        response = secured.test_client().post("/faroe", data=SIGNUP, headers=headers)
        assert response.status_code == 401
        assert response.data == b""
        assert response.headers["WWW-Authenticate"] == "Bearer"

    @pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
    def test_right_secret_is_served(self, secured: Flask, scheme: str) -> None:
        response = secured.test_client().post(
            "/faroe", data=SIGNUP, headers={"Authorization": f"{scheme} s3cret-value"}
        )
        assert response.status_code == 200
        assert json.loads(response.data)["ok"] is True

    def test_rejection_is_not_invoked_without_secret(
        self, secured: Flask, email_sender: CapturingEmailSender
    ) -> None:
        secured.test_client().post("/faroe", data=SIGNUP)
        assert email_sender.messages == []

    def test_preflight_needs_no_secret(self, secured: Flask) -> None:
        assert secured.test_client().options("/faroe").status_code == 204

    def test_no_open_endpoint_warning(self, make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.WARNING, logger="faroe_flask"):
            make_app({"FAROE_ENDPOINT_SECRET": "s3cret-value"})
        assert "open" not in caplog.text


def test_open_endpoint_logs_one_warning(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="faroe_flask"):
        make_app()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "is open" in r.getMessage()]
    assert len(warnings) == 1


class TestAuthenticateCallable:
    def test_replaces_the_secret(self, make_app: AppFactory) -> None:
        def authenticate(request: Request) -> bool:
            return request.headers.get("X-Api-Key") == "k1"

        app = make_app({"FAROE_ENDPOINT_SECRET": "ignored"}, authenticate=authenticate)
        client = app.test_client()
        assert client.post("/faroe", data=SIGNUP, headers={"Authorization": "Bearer ignored"}).status_code == 401
        assert client.post("/faroe", data=SIGNUP, headers={"X-Api-Key": "k1"}).status_code == 200

    def test_a_raising_callable_fails_closed(self, make_app: AppFactory) -> None:
        def authenticate(request: Request) -> bool:
            raise RuntimeError("bug")

        app = make_app(authenticate=authenticate)
        assert app.test_client().post("/faroe", data=SIGNUP).status_code == 401


class TestActionLists:
    def test_allowlist(self, make_app: AppFactory) -> None:
        app = make_app({"FAROE_ACTION_ALLOWLIST": ["get_session"]})
        client = app.test_client()
        assert client.post("/faroe", data=GET_SESSION).status_code == 200
        assert client.post("/faroe", data=SIGNUP).status_code == 400

    def test_blocklist_from_a_comma_separated_string(self, make_app: AppFactory) -> None:
        app = make_app({"FAROE_ACTION_BLOCKLIST": "create_signup, delete_all_sessions"})
        client = app.test_client()
        assert client.post("/faroe", data=SIGNUP).status_code == 400
        assert client.post("/faroe", data=GET_SESSION).status_code == 200

    def test_in_process_invocation_ignores_the_lists(self, make_app: AppFactory) -> None:
        app = make_app({"FAROE_ACTION_BLOCKLIST": ["create_signup"]})
        with app.app_context():
            result = current_faroe.invoke("create_signup", {"email_address": "user@example.com"})
        assert result.ok is True


class TestCors:
    def test_listed_origin_is_echoed(self, make_app: AppFactory) -> None:
        app = make_app({"FAROE_CORS_ALLOWED_ORIGINS": ["https://a.example", "https://b.example"]})
        response = app.test_client().post("/faroe", data=GET_SESSION, headers={"Origin": "https://b.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "https://b.example"
        assert "Origin" in response.headers["Vary"]

    def test_unlisted_origin_gets_no_allow_origin(self, make_app: AppFactory) -> None:
        app = make_app({"FAROE_CORS_ALLOWED_ORIGINS": "https://a.example"})
        response = app.test_client().options("/faroe", headers={"Origin": "https://evil.example"})
        assert response.status_code == 204
        assert "Access-Control-Allow-Origin" not in response.headers

    def test_cors_off(self, make_app: AppFactory) -> None:
        app = make_app({"FAROE_CORS_ALLOWED_ORIGINS": None})
        response = app.test_client().post("/faroe", data=GET_SESSION)
        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Headers" not in response.headers

    def test_allowed_headers(self, make_app: AppFactory) -> None:
        app = make_app({"FAROE_CORS_ALLOWED_HEADERS": ["Content-Type", "Authorization"]})
        response = app.test_client().options("/faroe")
        assert response.headers["Access-Control-Allow-Headers"] == "Content-Type, Authorization"


class TestRegistration:
    def test_url_prefix_from_config(self, make_app: AppFactory) -> None:
        app = make_app({"FAROE_URL_PREFIX": "/api/auth/"})
        client = app.test_client()
        assert client.post("/api/auth", data=GET_SESSION).status_code == 200
        assert client.post("/faroe", data=GET_SESSION).status_code == 404

    def test_endpoint_at_the_root(self, make_app: AppFactory) -> None:
        app = make_app({"FAROE_URL_PREFIX": ""})
        assert app.test_client().post("/", data=GET_SESSION).status_code == 200

    def test_own_blueprint_name_and_prefix(self, make_app: AppFactory) -> None:
        app = make_app(register_blueprint=False)
        app.register_blueprint(create_blueprint("auth", url_prefix="/auth"))
        app.register_blueprint(create_blueprint("auth2"), url_prefix="/v2/auth")
        client = app.test_client()
        assert client.post("/faroe", data=GET_SESSION).status_code == 404
        assert client.post("/auth", data=GET_SESSION).status_code == 200
        assert client.post("/v2/auth", data=GET_SESSION).status_code == 200
        with app.test_request_context():
            from flask import url_for

            assert url_for("auth.invoke") == "/auth"

    def test_double_registration_raises(self, make_app: AppFactory) -> None:
        app = make_app()
        with pytest.raises(RuntimeError, match="already registered"):
            Faroe(app)

    def test_blueprint_before_extension_raises(self) -> None:
        app = Flask("bare")
        with pytest.raises(RuntimeError, match="before registering"):
            app.register_blueprint(create_blueprint())

    def test_state_and_server_access(self, make_app: AppFactory) -> None:
        faroe = Faroe(register_blueprint=False, storage=None)
        app = make_app()
        state = app.extensions["faroe"]
        assert state.server is state.extension.server
        with app.app_context():
            assert current_faroe.server is state.server
        with pytest.raises(RuntimeError):
            faroe.server  # noqa: B018 - never initialised


def test_full_signup_over_the_test_client(app: Flask, email_sender: CapturingEmailSender) -> None:
    client = app.test_client()
    signup_token = values_of(client, "create_signup", email_address="user@example.com")["signup_token"]
    code = email_sender.last("signup_code")["code"]
    values_of(client, "verify_signup_email_address_verification_code", signup_token=signup_token,
              email_address_verification_code=code)
    values_of(client, "set_signup_password", signup_token=signup_token, password="tangerine-Viaduct-4821")
    session = values_of(client, "complete_signup", signup_token=signup_token)
    got = values_of(client, "get_session", session_token=session["session_token"])
    assert got["session"]["id"] == session["session"]["id"]
    assert invoke(client, "get_session", session_token="nope")["error_code"] == "invalid_session_token"
