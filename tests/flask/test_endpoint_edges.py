"""The endpoint's edges through Flask's test client: a body the server hands over in short reads,
the CORS headers of a 429."""

from __future__ import annotations

import io
import json

from flask import Flask

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
