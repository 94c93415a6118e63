"""The endpoint behind a real waitress server on loopback: its HTTP behaviour (foundations.md F2.1).

``test_endpoint.py`` checks the same rules through Flask's test client; here every request is
written byte for byte on a socket (so that the test decides on Content-Length or chunking), and
the answer is parsed with ``http.client``. Each test also runs on Werkzeug's server, which hands a
chunked body to the app without a length (waitress reads it whole and sets one), so that the
endpoint's own streaming limit is exercised too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import socket
from collections.abc import Callable, Iterator, Sequence
from email.message import Message
from urllib.parse import urlsplit

import pytest
from flask import Flask

from ..conftest import CapturingEmailSender
from ..servers import serve, serve_werkzeug
from .conftest import AppFactory

GET_SESSION = json.dumps({"action": "get_session", "arguments": {"session_token": "x.y"}}).encode()
SIGNUP = json.dumps({"action": "create_signup", "arguments": {"email_address": "user@example.com"}}).encode()
LIMIT = 100


@dataclasses.dataclass
class Reply:
    status: int
    headers: Message
    body: bytes


def exchange(
    base_url: str,
    method: str = "POST",
    body: bytes | None = None,
    *,
    chunks: Sequence[bytes] | None = None,
    headers: dict[str, str] | None = None,
    path: str = "/faroe",
) -> Reply:
    """Send one request on a new connection and read the reply.

    ``body`` goes with a Content-Length; ``chunks`` are sent with ``Transfer-Encoding: chunked``,
    one chunk each; with neither, the request has no body and no length.
    """
    parts = urlsplit(base_url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    payload = b""
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    elif chunks is not None:
        lines.append("Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks if chunk) + b"0\r\n\r\n"
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(raw)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        try:
            return Reply(response.status, response.msg, response.read())
        finally:
            response.close()


def padded(length: int) -> bytes:
    """A valid get_session call of exactly ``length`` bytes (an ignored member pads it)."""
    bare = GET_SESSION[:-1] + b',"pad":""}'
    assert length >= len(bare)
    return bare[:-2] + b"x" * (length - len(bare)) + b'"}'


Serve = Callable[[Flask], contextlib.AbstractContextManager[str]]


@pytest.fixture(params=[pytest.param(serve, id="waitress"), pytest.param(serve_werkzeug, id="werkzeug")])
def serve_app(request: pytest.FixtureRequest) -> Serve:
    """Waitress; and Werkzeug's server, which passes a chunked body on without a length."""
    server: Serve = request.param
    return server


@pytest.fixture
def base_url(make_app: AppFactory, serve_app: Serve) -> Iterator[str]:
    with serve_app(make_app({"FAROE_MAX_REQUEST_BYTES": LIMIT})) as url:
        yield url


# Results and CORS ------------------------------------------------------------------------------


def test_a_result_is_200_compact_json_with_cors(base_url: str) -> None:
    reply = exchange(base_url, body=GET_SESSION)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert reply.headers["Access-Control-Allow-Headers"] == "Content-Type"
    result = json.loads(reply.body)
    assert list(result) == ["ok", "action_invocation_id", "error_code"]
    assert result["error_code"] == "invalid_session_token"
    assert b" " not in reply.body and not reply.body.endswith(b"\n")


@pytest.mark.parametrize(
    "body",
    [pytest.param(b"", id="empty"), pytest.param(b"{", id="truncated"), pytest.param(b"[]", id="array"),
     pytest.param(b'{"action":"get_session","arguments":{}}', id="missing-argument")],
)
def test_a_rejected_body_is_400_empty_with_cors(base_url: str, body: bytes) -> None:
    reply = exchange(base_url, body=body)
    assert reply.status == 400
    assert reply.body == b""
    assert "Content-Type" not in reply.headers
    assert reply.headers["Access-Control-Allow-Origin"] == "*"


def test_no_body_at_all_is_400(base_url: str) -> None:
    reply = exchange(base_url)  # neither Content-Length nor chunked
    assert (reply.status, reply.body) == (400, b"")
    reply = exchange(base_url, chunks=[])  # a chunked body of no chunks
    assert (reply.status, reply.body) == (400, b"")


def test_options_is_204_with_cors(base_url: str) -> None:
    reply = exchange(base_url, "OPTIONS", headers={"Origin": "https://example.com",
                                                   "Access-Control-Request-Method": "POST"})
    assert reply.status == 204
    assert reply.body == b""
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert reply.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert reply.headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "HEAD"])
def test_other_methods_are_404(base_url: str, method: str) -> None:
    body = None if method in ("GET", "HEAD") else GET_SESSION
    reply = exchange(base_url, method, body)
    assert reply.status == 404
    assert reply.body == b""
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_other_paths_are_404_without_a_redirect(base_url: str) -> None:
    for path in ("/faroe/", "/faroe/x", "/"):
        reply = exchange(base_url, body=GET_SESSION, path=path)
        assert reply.status == 404, path
        assert "Location" not in reply.headers


def test_a_listed_origin_is_echoed_with_vary(make_app: AppFactory, serve_app: Serve) -> None:
    app = make_app({"FAROE_CORS_ALLOWED_ORIGINS": ["https://a.example", "https://b.example"]})
    with serve_app(app) as url:
        for method, body in (("POST", GET_SESSION), ("OPTIONS", None)):
            reply = exchange(url, method, body, headers={"Origin": "https://b.example"})
            assert reply.status in (200, 204)
            assert reply.headers["Access-Control-Allow-Origin"] == "https://b.example"
            assert "Origin" in reply.headers["Vary"]
            reply = exchange(url, method, body, headers={"Origin": "https://evil.example"})
            assert "Access-Control-Allow-Origin" not in reply.headers
            assert "Origin" in reply.headers["Vary"]
        reply = exchange(url, body=GET_SESSION)  # no Origin: no allow-origin either
        assert reply.status == 200 and "Access-Control-Allow-Origin" not in reply.headers


def test_cors_off_sends_no_cors_headers(make_app: AppFactory, serve_app: Serve) -> None:
    with serve_app(make_app({"FAROE_CORS_ALLOWED_ORIGINS": None})) as url:
        for method, body in (("POST", GET_SESSION), ("OPTIONS", None)):
            reply = exchange(url, method, body, headers={"Origin": "https://a.example"})
            assert not [name for name in reply.headers if name.lower().startswith("access-control-")]


# Authentication ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer wrong", "Basic s3cret-value", "Bearer s3cret-valu", "Bearer s3cret-value2"]
)
def test_a_missing_or_wrong_secret_is_401(make_app: AppFactory, serve_app: Serve, authorization: str | None) -> None:
    app = make_app({"FAROE_ENDPOINT_SECRET": "s3cret-value"})
    headers = {} if authorization is None else {"Authorization": authorization}
    with serve_app(app) as url:
        reply = exchange(url, body=SIGNUP, headers=headers)
        assert reply.status == 401
        assert reply.body == b""
        assert reply.headers["WWW-Authenticate"] == "Bearer"
        assert exchange(url, "OPTIONS").status == 204  # a preflight carries no credentials
        reply = exchange(url, body=SIGNUP, headers={"Authorization": "Bearer s3cret-value"})
        assert reply.status == 200 and json.loads(reply.body)["ok"] is True


def test_an_unauthorised_request_runs_no_action(make_app: AppFactory, serve_app: Serve, email_sender: CapturingEmailSender) -> None:
    app = make_app({"FAROE_ENDPOINT_SECRET": "s3cret-value"})
    with serve_app(app) as url:
        assert exchange(url, body=SIGNUP, headers={"Authorization": "Bearer nope"}).status == 401
        assert exchange(url, chunks=[SIGNUP], headers={"Authorization": "Bearer nope"}).status == 401
    assert email_sender.messages == []


# The request size limit ----------------------------------------------------------------------------


def test_the_limit_is_inclusive_with_a_content_length(base_url: str) -> None:
    reply = exchange(base_url, body=padded(LIMIT))
    assert reply.status == 200
    assert json.loads(reply.body)["error_code"] == "invalid_session_token"
    reply = exchange(base_url, body=padded(LIMIT + 1))
    assert (reply.status, reply.body) == (413, b"")
    assert reply.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("chunk_size", [1, 7, LIMIT, LIMIT + 1])
def test_the_limit_is_inclusive_with_a_chunked_body(base_url: str, chunk_size: int) -> None:
    def chunked(body: bytes) -> list[bytes]:
        return [body[start : start + chunk_size] for start in range(0, len(body), chunk_size)]

    reply = exchange(base_url, chunks=chunked(padded(LIMIT)))
    assert reply.status == 200
    assert json.loads(reply.body)["error_code"] == "invalid_session_token"
    reply = exchange(base_url, chunks=chunked(padded(LIMIT + 1)))
    assert (reply.status, reply.body) == (413, b"")


def test_a_chunked_body_far_past_the_limit_is_413(base_url: str) -> None:
    reply = exchange(base_url, chunks=[GET_SESSION] + [b" " * 4096] * 64)
    assert (reply.status, reply.body) == (413, b"")
    # The server is unharmed: the next request is served.
    assert exchange(base_url, body=GET_SESSION).status == 200


def test_a_declared_length_over_the_limit_is_413(base_url: str) -> None:
    reply = exchange(base_url, body=b" " * (LIMIT + 1 - len(GET_SESSION)) + GET_SESSION)
    assert (reply.status, reply.body) == (413, b"")


def test_the_default_limit_is_64_kib(make_app: AppFactory, serve_app: Serve) -> None:
    with serve_app(make_app()) as url:
        assert exchange(url, body=padded(64 * 1024)).status == 200
        assert exchange(url, body=padded(64 * 1024 + 1)).status == 413
        assert exchange(url, chunks=[padded(64 * 1024 + 1)]).status == 413
