"""The endpoint's edges through Flask's test client: a body the server hands over in short reads,
the CORS headers of a 429 and of a listed origin, the rejections' records, the registration's
prefixes and names."""

from __future__ import annotations

import io
import json
import logging

import pytest
from flask import Flask, url_for

from faroe_flask.flask.blueprint import create_blueprint

from .conftest import AppFactory

GET_SESSION = json.dumps({"action": "get_session", "arguments": {"session_token": "x.y"}}).encode()


class ShortReads(io.RawIOBase):
    """A request body without a length (chunked), that the server hands over a few bytes per read."""

    def __init__(self, data: bytes, step: int = 3) -> None:
        self.data = data
        self.step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.step, len(self.data))
        buffer[:count] = self.data[:count]
        self.data = self.data[count:]
        return count


def post_in_short_reads(app: Flask, body: bytes) -> tuple[int, bytes]:
    response = app.test_client().post(
        "/faroe", environ_overrides={"wsgi.input": ShortReads(body), "wsgi.input_terminated": True}
    )
    return response.status_code, response.data


def padded(length: int) -> bytes:
    """``GET_SESSION`` padded with spaces to ``length`` bytes."""
    return GET_SESSION + b" " * (length - len(GET_SESSION))


def test_a_body_handed_over_in_short_reads_is_read_whole(make_app: AppFactory) -> None:
    app = make_app({"FAROE_MAX_REQUEST_BYTES": 100})
    for length in (len(GET_SESSION), 99, 100):
        status, data = post_in_short_reads(app, padded(length))
        assert status == 200, length
        assert json.loads(data)["error_code"] == "invalid_session_token"
    for length in (101, 102, 1000):
        assert post_in_short_reads(app, padded(length)) == (413, b""), length


def test_a_429_exposes_retry_after_to_cross_origin_scripts(make_app: AppFactory) -> None:
    for config, exposed in (({}, "Retry-After"), ({"FAROE_CORS_ALLOWED_ORIGINS": None}, None)):
        client = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "1/minute", **config}).test_client()
        signup = json.dumps({"action": "create_signup", "arguments": {"email_address": "a@example.com"}})
        assert client.post("/faroe", data=signup).status_code == 200
        refused = client.post("/faroe", data=signup)
        assert refused.status_code == 429 and refused.data == b""
        assert refused.headers["Retry-After"] == "60"
        assert refused.headers.get("Access-Control-Expose-Headers") == exposed


def test_400_401_and_413_are_recorded_as_rejections(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app({"FAROE_ENDPOINT_SECRET": "s3cret-value", "FAROE_MAX_REQUEST_BYTES": 100})
    client = app.test_client()
    authorised = {"Authorization": "Bearer s3cret-value"}
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        assert client.post("/faroe", data=GET_SESSION).status_code == 401
        assert client.post("/faroe", data=padded(101), headers=authorised).status_code == 413
        assert client.post("/faroe", data=b"[]", headers=authorised).status_code == 400
    assert [record.getMessage() for record in caplog.records if "rejected" in record.getMessage()] == [
        "faroe request rejected with 401: not authorised",
        "faroe request rejected with 413: body too large",
        "faroe request rejected with 400: the JSON document is not an object",
    ]
    assert app.extensions["faroe"].rejections.totals == {
        (401, "unauthorized"): 1, (413, "too_large"): 1, (400, "bad_request"): 1
    }


def test_a_listed_origin_varies_on_origin_only(make_app: AppFactory) -> None:
    app = make_app({"FAROE_CORS_ALLOWED_ORIGINS": ["https://a.example"]})
    response = app.test_client().post("/faroe", data=GET_SESSION, headers={"Origin": "https://a.example"})
    assert response.headers.getlist("Vary") == ["Origin"]
    assert response.headers["Access-Control-Allow-Origin"] == "https://a.example"


def test_a_missing_captcha_is_403_without_retry_after(make_app: AppFactory) -> None:
    app = make_app({"FAROE_CAPTCHA_PROVIDER": "turnstile", "FAROE_CAPTCHA_SITE_KEY": "site",
                    "FAROE_CAPTCHA_SECRET_KEY": "secret", "FAROE_CAPTCHA_ACTIONS": "create_signup"})
    signup = json.dumps({"action": "create_signup", "arguments": {"email_address": "a@example.com"}})
    refused = app.test_client().post("/faroe", data=signup)
    assert refused.status_code == 403 and refused.data == b""
    assert "Retry-After" not in refused.headers and "Access-Control-Expose-Headers" not in refused.headers


def test_without_limits_nor_captcha_the_endpoint_admits_everything(make_app: AppFactory) -> None:
    app = make_app({"FAROE_CLIENT_LIMITS": "off"})
    assert app.extensions["faroe"].guard is None
    response = app.test_client().post("/faroe", data=GET_SESSION)
    assert response.status_code == 200
    assert json.loads(response.data)["error_code"] == "invalid_session_token"


def test_a_prefix_is_taken_as_given_apart_from_its_slashes(make_app: AppFactory) -> None:
    app = make_app(register_blueprint=False)
    app.register_blueprint(create_blueprint("XX", url_prefix="/XX/"))
    app.register_blueprint(create_blueprint("spaced", url_prefix=" "))
    app.register_blueprint(create_blueprint("v2"), url_prefix="/v2/XX/")
    app.register_blueprint(create_blueprint("v3"), url_prefix="/v3 ")
    client = app.test_client()
    for path in ("/XX", "/%20", "/v2/XX", "/v3%20"):
        assert client.post(path, data=GET_SESSION).status_code == 200, path
    for path in ("/", "/v2", "/v3"):
        assert client.post(path, data=GET_SESSION).status_code == 404, path
    with app.test_request_context():
        assert [url_for(name) for name in ("XX.invoke", "spaced.invoke", "v2.invoke", "v3.invoke")] == [
            "/XX", "/%20", "/v2/XX", "/v3%20"
        ]


def test_the_default_blueprint_name_and_the_open_endpoint_warning(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    assert create_blueprint().name == "faroe"
    app = make_app(register_blueprint=False)
    with caplog.at_level(logging.WARNING, logger="faroe_flask"):
        app.register_blueprint(create_blueprint(url_prefix="/auth"))
    assert [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING] == [
        "the Faroe endpoint /auth is open: set FAROE_ENDPOINT_SECRET or pass authenticate= unless something "
        "in front of it restricts access"
    ]
    with app.test_request_context():
        assert url_for("faroe.invoke") == "/auth"


def test_registering_before_the_extension_says_what_to_do() -> None:
    with pytest.raises(RuntimeError) as raised:
        Flask("bare").register_blueprint(create_blueprint())
    assert str(raised.value) == (
        "initialise the Faroe extension (Faroe(app) or init_app) before registering its blueprint"
    )
