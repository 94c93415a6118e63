"""Fixtures for the client tests: real servers on loopback, fake endpoints, a Faroe server.

Everything HTTP here is real: waitress on a free 127.0.0.1 port, the standard library client.
A fake endpoint is a WSGI app whose answers a test scripts, served the same way, for responses a
conforming server never sends.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, Response, request

from ..servers import serve
from faroe_flask import InvalidActionInvocationRequestError, MemoryStorage, MemoryUserStore, Server, SessionConfig
from faroe_flask.client import Client, HTTPTransport, LocalTransport, Transport

from ..conftest import (
    FAST_TEMPORARY_ALGORITHM,
    FAST_USER_ALGORITHM,
    BannedPasswords,
    CapturingEmailSender,
    CapturingErrorLogger,
    FakeClock,
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (the port was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def faroe_endpoint_app(server: Server) -> Flask:
    """The smallest HTTP endpoint for a ``Server`` (foundations.md F2.1): 200 + JSON or 400."""
    app = Flask("faroe_client_test_endpoint")

    @app.post("/")
    def endpoint() -> Response:
        try:
            body = server.resolve_action_invocation_request(request.get_data())
        except InvalidActionInvocationRequestError:
            return Response(status=400)
        return Response(body, status=200, mimetype="application/json")

    return app


# A scriptable fake endpoint ----------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    remote_port: str


@dataclass
class FakeEndpoint:
    """Answers every request with ``status``/``body`` (or calls ``handler``); records requests.

    ``release`` is set at teardown so that a handler blocked on it (a slow server) returns.
    """

    url: str = ""
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", "application/json")])
    handler: Callable[[], tuple[int, bytes]] | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def answer_json(self, document: Any, status: int = 200) -> None:
        self.status = status
        self.body = json.dumps(document).encode("utf-8")

    def answer_raw(self, body: bytes, status: int = 200) -> None:
        self.status = status
        self.body = body

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        self.requests.append(
            RecordedRequest(
                environ["REQUEST_METHOD"],
                environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else ""),
                headers,
                body,
                str(environ.get("REMOTE_PORT", "")),
            )
        )
        status, payload = self.handler() if self.handler is not None else (self.status, self.body)
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}.get(status, "Status")
        start_response(f"{status} {reason}", [*self.headers, ("Content-Length", str(len(payload)))])
        return [payload]


@pytest.fixture
def fake_endpoint() -> Iterator[FakeEndpoint]:
    fake = FakeEndpoint()
    with serve(fake.wsgi) as url:
        fake.url = url + "/"
        yield fake
        fake.release.set()


# A Faroe server on in-memory parts ---------------------------------------------------------------


@pytest.fixture
def users() -> MemoryUserStore:
    return MemoryUserStore()


@pytest.fixture
def memory_storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def faroe_server(
    memory_storage: MemoryStorage,
    users: MemoryUserStore,
    email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
    clock: FakeClock,
    strength_checker: BannedPasswords,
) -> Server:
    return Server(
        storage=memory_storage,
        user_store=users,
        email_sender=email_sender,
        user_password_hash_algorithms=[FAST_USER_ALGORITHM],
        temporary_password_hash_algorithm=FAST_TEMPORARY_ALGORITHM,
        password_strength_checker=strength_checker,
        error_logger=error_logger,
        clock=clock,
        session_config=SessionConfig(),
    )


@pytest.fixture
def faroe_url(faroe_server: Server) -> Iterator[str]:
    """The Faroe server behind a real HTTP endpoint on loopback."""
    with serve(faroe_endpoint_app(faroe_server)) as url:
        yield url + "/"


@pytest.fixture(params=["local", "http"])
def transport(request: pytest.FixtureRequest, faroe_server: Server) -> Iterator[Transport]:
    """The same Faroe server reached in-process and over HTTP."""
    if request.param == "local":
        yield LocalTransport(faroe_server)
        return
    with serve(faroe_endpoint_app(faroe_server)) as url:
        http_transport = HTTPTransport(url + "/", timeout=10)
        yield http_transport
        http_transport.close()


@pytest.fixture
def client(transport: Transport) -> Client:
    return Client(transport)


# A raw TCP server, for what no WSGI server does (closing a kept-alive connection at will) -----


def read_http_request(conn: socket.socket) -> bytes:
    """Read one HTTP request with a Content-Length body from ``conn``; ``b""`` at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return body


def http_response(body: bytes, *, keep_alive: bool = True) -> bytes:
    connection = b"keep-alive" if keep_alive else b"close"
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: " + connection
        + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


@contextlib.contextmanager
def raw_server(handle: Callable[[socket.socket, int], None]) -> Iterator[str]:
    """Accept connections on a loopback port; ``handle(conn, n)`` serves the n-th connection
    (from 0) and the server closes it afterwards. Yields the base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    stop = threading.Event()

    def run() -> None:
        count = 0
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(10)
                try:
                    handle(conn, count)
                except OSError:
                    pass
            count += 1

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()
