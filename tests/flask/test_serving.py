"""``serve(app)``'s waitress settings through a real waitress server on loopback: idle half-open
connections do not starve real requests, an oversized body is refused after reading about the
limit, and the ``FAROE_SERVE_*`` keys reach waitress."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import resource
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from waitress.channel import HTTPChannel

from faroe_flask.flask.config import ConfigError
from faroe_flask.flask.serving import BODY_FRAMING_ALLOWANCE, waitress_settings

from ..servers import open_files_limit, serve_production
from .conftest import AppFactory

GET_SESSION = json.dumps({"action": "get_session", "arguments": {"session_token": "x.y"}}).encode()
HALF_REQUEST = b"POST /faroe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"action\""


@pytest.fixture(autouse=True)
def enough_descriptors() -> Iterator[None]:
    """Room for 350 client sockets and as many server channels in this one process."""
    with open_files_limit(4096):
        yield


def post(port: int, body: bytes = GET_SESSION, timeout: float = 5.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", "/faroe", body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def half_open(port: int, count: int, sources: int = 1) -> list[socket.socket]:
    """``count`` half-sent requests; with ``sources`` > 1 they come from as many loopback
    addresses (127.0.0.10, 127.0.0.11, ...), like that many clients: ``serve`` caps the
    connections of one address (FAROE_SERVE_CONNECTIONS_PER_ADDRESS)."""
    sockets = []
    for index in range(count):
        source = ("127.0.0.1", 0) if sources == 1 else (f"127.0.0.{10 + index % sources}", 0)
        sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=source)
        sock.sendall(HALF_REQUEST)
        sockets.append(sock)
    return sockets


def wait_for_channels(socket_map: dict[int, Any], count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while sum(isinstance(d, HTTPChannel) for d in list(socket_map.values())) < count:
        assert time.monotonic() < deadline, "waitress did not accept the connections"
        time.sleep(0.02)


def test_settings_come_from_the_configuration(make_app: AppFactory) -> None:
    app = make_app({
        "FAROE_MAX_REQUEST_BYTES": 1000,
        "FAROE_SERVE_LISTEN": "0.0.0.0:9000",
        "FAROE_SERVE_THREADS": "12",
        "FAROE_SERVE_CONNECTION_LIMIT": 500,
        "FAROE_SERVE_CHANNEL_TIMEOUT": 3,
        "FAROE_SERVE_TRUSTED_PROXY": "10.0.0.1",
        "FAROE_SERVE_TRUSTED_PROXY_HEADERS": "x-forwarded-for, x-forwarded-proto",
    })
    settings = waitress_settings(app)
    assert settings["listen"] == "0.0.0.0:9000"
    assert settings["threads"] == 12 and settings["connection_limit"] == 500
    assert settings["channel_timeout"] == 3 and settings["cleanup_interval"] == 3
    assert settings["max_request_body_size"] == 1000 + BODY_FRAMING_ALLOWANCE
    assert settings["asyncore_use_poll"] is True and settings["clear_untrusted_proxy_headers"] is True
    assert settings["trusted_proxy"] == "10.0.0.1"
    assert settings["trusted_proxy_headers"] == "x-forwarded-for x-forwarded-proto"
    overridden = waitress_settings(app, host="127.0.0.1", port=0, threads=2)
    assert "listen" not in overridden and overridden["threads"] == 2

    defaults = waitress_settings(make_app())
    assert defaults["listen"] == "127.0.0.1:8080" and defaults["threads"] == 8
    assert defaults["connection_limit"] == 1000 and defaults["channel_timeout"] == 30
    assert "trusted_proxy" not in defaults
    with pytest.raises(ConfigError, match="FAROE_SERVE_THREADS"):
        waitress_settings(make_app({"FAROE_SERVE_THREADS": "many"}))


def test_trusted_proxy_headers_reach_the_app(make_app: AppFactory) -> None:
    app = make_app({"FAROE_SERVE_TRUSTED_PROXY": "127.0.0.1",
                    "FAROE_SERVE_TRUSTED_PROXY_HEADERS": "x-forwarded-proto"})
    seen: list[str] = []

    @app.get("/scheme")
    def scheme() -> str:
        from flask import request

        seen.append(request.scheme)
        return "ok"

    with serve_production(app) as (_, _, port):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/scheme", headers={"X-Forwarded-Proto": "https"})
        assert connection.getresponse().status == 200
        connection.close()
    assert seen == ["https"]


def test_idle_half_open_connections_do_not_starve_real_requests(make_app: AppFactory) -> None:
    app = make_app()
    with serve_production(app) as (_, socket_map, port):
        idle = half_open(port, 300, sources=10)
        try:
            wait_for_channels(socket_map, 300)
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
                results = list(pool.map(lambda _: post(port), range(50)))
            elapsed = time.monotonic() - started
            assert [status for status, _ in results] == [200] * 50
            assert all(json.loads(body)["error_code"] == "invalid_session_token" for _, body in results)
            assert elapsed < 5, elapsed
        finally:
            for sock in idle:
                sock.close()


def test_with_waitress_defaults_the_same_clients_do_starve_it(make_app: AppFactory) -> None:
    """The contrast: waitress's own connection limit (100) is taken by the idle clients."""
    app = make_app()
    with serve_production(app, connection_limit=100) as (_, socket_map, port):
        idle = half_open(port, 120, sources=4)  # the surplus waits in the listen backlog
        try:
            wait_for_channels(socket_map, 95)
            with pytest.raises(TimeoutError):
                post(port, timeout=1.5)
        finally:
            for sock in idle:
                sock.close()


def test_idle_connections_are_closed_after_the_channel_timeout(make_app: AppFactory) -> None:
    app = make_app({"FAROE_SERVE_CHANNEL_TIMEOUT": 1})
    with serve_production(app) as (_, socket_map, port):
        idle = half_open(port, 20)
        try:
            wait_for_channels(socket_map, 20)
            deadline = time.monotonic() + 8
            for sock in idle:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                assert sock.recv(1024) == b""  # closed by the server, nothing answered
            assert post(port)[0] == 200
        finally:
            for sock in idle:
                sock.close()


class _CountingChannel(HTTPChannel):  # type: ignore[misc]
    received_bytes = 0

    def recv(self, buffer_size: int) -> bytes:
        data: bytes = super().recv(buffer_size)
        type(self).received_bytes += len(data)
        return data


def _send_large_body(port: int, head: bytes, body_chunks: Iterator[bytes]) -> tuple[int | None, int]:
    """Send ``head`` then as much of the body as the server takes; the status it answered (None
    when the connection was reset before the answer could be read) and the bytes sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sent = 0
    try:
        sock.sendall(head)
        sock.settimeout(2)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        try:
            answer = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return None, sent
        return (int(answer.split()[1]) if answer else None), sent
    finally:
        sock.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_10_mib_body_is_refused_after_reading_about_the_limit(make_app: AppFactory, chunked: bool) -> None:
    limit = 64 * 1024
    size = 10 * 1024 * 1024
    app = make_app({"FAROE_MAX_REQUEST_BYTES": limit})
    _CountingChannel.received_bytes = 0
    with serve_production(app) as (server, _, port):
        server.channel_class = _CountingChannel
        if chunked:
            head = b"POST /faroe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            piece = 16 * 1024
            chunks = (b"%x\r\n" % piece + b"a" * piece + b"\r\n" for _ in range(size // piece))
        else:
            head = b"POST /faroe HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size
            chunks = (b"a" * 65536 for _ in range(size // 65536))
        status, sent = _send_large_body(port, head, chunks)
        assert status in (413, None)
        assert post(port)[0] == 200  # still serving
    # Waitress read the headers and at most the limit (plus framing and one recv) of the body,
    # while the client could push far more into the socket buffers.
    assert _CountingChannel.received_bytes <= limit + BODY_FRAMING_ALLOWANCE + 2 * 8192 + len(head) + 2000
    if not chunked:
        assert _CountingChannel.received_bytes < 2 * 8192 + 2000


def test_flask_faroe_serve_serves_the_app(tmp_path: Any) -> None:
    """``flask faroe serve`` in a subprocess: it prints the endpoint URL and answers on it."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "examples"
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("FAROE_", "MAIL_"))}
    environment.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(examples),
                       FAROE_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    flask = [sys.executable, "-m", "flask", "--app", "app:create_app", "faroe"]
    subprocess.run([*flask, "db", "upgrade"], env=environment, cwd=tmp_path, check=True,
                   capture_output=True, timeout=60)
    stdout = tmp_path / "stdout.txt"
    with stdout.open("wb") as out:
        process = subprocess.Popen(
            [*flask, "serve",
             "--listen", "127.0.0.1:0", "--threads", "2"],
            env=environment, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 60
        while not (match := re.search(r"Faroe endpoint: POST http://127\.0\.0\.1:(\d+)/faroe", stdout.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, stdout.read_text()
            time.sleep(0.05)
        status, body = post(int(match.group(1)))
        assert status == 200 and json.loads(body)["error_code"] == "invalid_session_token"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_open_files_limit_is_raised_to_fit_the_connection_limit(make_app: AppFactory) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2000:
        pytest.skip("the hard open-files limit is too low to raise the soft one to 2000")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    with serve_production(make_app(), connection_limit=1800) as (server, _, port):
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 1800
        assert server.adj.connection_limit == 1800
        assert post(port)[0] == 200


def test_clients_dripping_a_request_are_closed_after_the_receive_timeout(make_app: AppFactory) -> None:
    """A byte every 0.2 s is never idle for the channel timeout; the receive deadline ends it."""
    app = make_app({"FAROE_SERVE_RECEIVE_TIMEOUT": 1})
    with serve_production(app) as (server, socket_map, port):
        assert server.adj.cleanup_interval == 1
        drippers = half_open(port, 20)
        try:
            wait_for_channels(socket_map, 20)
            started = time.monotonic()
            open_ones = list(drippers)
            while open_ones and time.monotonic() - started < 8:
                for sock in list(open_ones):
                    try:
                        sock.sendall(b" ")
                    except OSError:  # closed by the server
                        open_ones.remove(sock)
                time.sleep(0.2)
            assert open_ones == [], f"{len(open_ones)} still open"
            assert time.monotonic() - started < 1 + 1 + 3
            assert post(port)[0] == 200  # a normal request is not cut
        finally:
            for sock in drippers:
                sock.close()


def test_the_receive_timeout_can_be_turned_off(make_app: AppFactory) -> None:
    # Without the per-address cap too, which also wraps the channel class.
    app = make_app({"FAROE_SERVE_RECEIVE_TIMEOUT": 0, "FAROE_SERVE_CHANNEL_TIMEOUT": 30,
                    "FAROE_SERVE_CONNECTIONS_PER_ADDRESS": 0})
    with serve_production(app) as (server, socket_map, port):
        assert server.adj.cleanup_interval == 5
        assert type(server).channel_class is server.channel_class  # waitress's own channel
        assert post(port)[0] == 200
