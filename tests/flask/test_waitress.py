"""The endpoint behind a real waitress server: what only a real HTTP server shows."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

from ..servers import serve
from .conftest import AppFactory

GET_SESSION = json.dumps({"action": "get_session", "arguments": {"session_token": "x.y"}}).encode()


def _post_chunked(base_url: str, chunks: list[bytes]) -> tuple[int, bytes]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:

        def body() -> Iterator[bytes]:
            yield from chunks

        connection.request("POST", "/faroe", body=body(), encode_chunked=True,
                           headers={"Transfer-Encoding": "chunked"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_chunked_bodies_are_read_and_limited(make_app: AppFactory) -> None:
    app = make_app({"FAROE_MAX_REQUEST_BYTES": 100})
    with serve(app) as base_url:
        status, body = _post_chunked(base_url, [GET_SESSION[:10], GET_SESSION[10:]])
        assert status == 200
        assert json.loads(body)["error_code"] == "invalid_session_token"
        status, body = _post_chunked(base_url, [GET_SESSION, b" " * 200])
        assert status == 413
        assert body == b""


def test_declared_length_over_the_limit_is_413_before_reading(make_app: AppFactory) -> None:
    app = make_app({"FAROE_MAX_REQUEST_BYTES": 100})
    with serve(app) as base_url:
        parts = urlsplit(base_url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            connection.request("POST", "/faroe", body=b" " * 101 + GET_SESSION)
            response = connection.getresponse()
            assert response.status == 413
            assert response.read() == b""
        finally:
            connection.close()
