"""``serve(app)``'s waitress settings through a real waitress server on loopback: idle half-open
connections do not starve real requests, an oversized body is refused after reading about the
limit, and the ``FAROE_SERVE_*`` keys reach waitress."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import logging
import os
import re
import resource
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer  # type: ignore[import-untyped]

from faroe_flask.flask.config import ConfigError
from faroe_flask.flask.serving import (
    BODY_FRAMING_ALLOWANCE,
    create_server,
    endpoint_urls,
    receive_timeout_of,
    serve,
    startup_lines,
    waitress_settings,
)

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


# The settings, one key at a time ------------------------------------------------------------------


def test_the_fixed_safe_settings_and_the_optional_proxy_keys(make_app: AppFactory) -> None:
    defaults = waitress_settings(make_app())
    assert defaults["max_request_header_size"] == 16 * 1024 and defaults["expose_tracebacks"] is False
    assert defaults["cleanup_interval"] == 5 and defaults["max_request_body_size"] == 64 * 1024 + 1024
    for key in ("trusted_proxy", "trusted_proxy_count", "trusted_proxy_headers"):
        assert key not in defaults
    proxied = waitress_settings(make_app({
        "FAROE_SERVE_TRUSTED_PROXY": "10.0.0.1", "FAROE_SERVE_TRUSTED_PROXY_COUNT": "2",
        "FAROE_SERVE_CLEAR_UNTRUSTED_PROXY_HEADERS": False,
    }))
    assert proxied["trusted_proxy"] == "10.0.0.1" and proxied["trusted_proxy_count"] == 2
    assert "trusted_proxy_headers" not in proxied and proxied["clear_untrusted_proxy_headers"] is False
    assert "trusted_proxy_count" not in waitress_settings(make_app({"FAROE_SERVE_TRUSTED_PROXY": "10.0.0.1"}))
    one = waitress_settings(make_app({"FAROE_SERVE_TRUSTED_PROXY": "10.0.0.1", "FAROE_SERVE_TRUSTED_PROXY_COUNT": 1}))
    assert one["trusted_proxy_count"] == 1
    with pytest.raises(ConfigError, match=r"^FAROE_SERVE_TRUSTED_PROXY must be an address or '\*'$"):
        waitress_settings(make_app({"FAROE_SERVE_TRUSTED_PROXY": ["10.0.0.1"]}))
    with pytest.raises(ConfigError, match="FAROE_SERVE_TRUSTED_PROXY_COUNT"):
        waitress_settings(make_app({"FAROE_SERVE_TRUSTED_PROXY": "10.0.0.1", "FAROE_SERVE_TRUSTED_PROXY_COUNT": 0}))


def test_one_thread_one_connection_and_a_one_byte_body_are_allowed(make_app: AppFactory) -> None:
    settings = waitress_settings(make_app({
        "FAROE_SERVE_THREADS": 1, "FAROE_SERVE_CONNECTION_LIMIT": 1, "FAROE_MAX_REQUEST_BYTES": 1,
        "FAROE_SERVE_CHANNEL_TIMEOUT": 1,
    }))
    assert (settings["threads"], settings["connection_limit"]) == (1, 1)
    assert settings["max_request_body_size"] == 1 + 1024 and settings["channel_timeout"] == 1
    for key in ("FAROE_SERVE_THREADS", "FAROE_SERVE_CONNECTION_LIMIT", "FAROE_MAX_REQUEST_BYTES",
                "FAROE_SERVE_CHANNEL_TIMEOUT"):
        with pytest.raises(ConfigError, match=key):
            waitress_settings(make_app({key: 0}))


@pytest.mark.parametrize(("channel", "receive", "cleanup"), [
    (30, 2, 2), (30, 0, 5), (30, None, 5), (8, 10, 5), (3, 0, 3), (3, 2, 2),
])
def test_the_clean_up_runs_as_often_as_the_shortest_timeout_needs(
    make_app: AppFactory, channel: int, receive: int | None, cleanup: int,
) -> None:
    app = make_app({"FAROE_SERVE_CHANNEL_TIMEOUT": channel, "FAROE_SERVE_RECEIVE_TIMEOUT": receive})
    assert waitress_settings(app)["cleanup_interval"] == cleanup
    assert receive_timeout_of(app) == (receive or None)


def test_the_receive_timeout_is_whole_non_negative_seconds(make_app: AppFactory) -> None:
    assert receive_timeout_of(make_app()) == 30
    assert receive_timeout_of(make_app({"FAROE_SERVE_RECEIVE_TIMEOUT": "7"})) == 7
    with pytest.raises(ConfigError, match="FAROE_SERVE_RECEIVE_TIMEOUT"):
        receive_timeout_of(make_app({"FAROE_SERVE_RECEIVE_TIMEOUT": -1}))


def test_listen_addresses_and_the_overrides_that_replace_them(make_app: AppFactory) -> None:
    app = make_app({"FAROE_SERVE_LISTEN": ["127.0.0.1:8081", "[::1]:8082"]})
    assert waitress_settings(app)["listen"] == "127.0.0.1:8081 [::1]:8082"
    assert waitress_settings(make_app({"FAROE_SERVE_LISTEN": ("a:1",)}))["listen"] == "a:1"
    others: list[dict[str, Any]] = [{"unix_socket": "/tmp/faroe.sock"}, {"sockets": []}, {"port": 0}, {"host": "::1"}]
    for other in others:
        assert "listen" not in waitress_settings(app, **other), other
    assert waitress_settings(app, listen="127.0.0.1:0", port=1)["listen"] == "127.0.0.1:0"
    assert waitress_settings(app, threads=3)["listen"] == "127.0.0.1:8081 [::1]:8082"
    for bad in ("", "   ", 8080, None):
        with pytest.raises(ConfigError, match=r"^FAROE_SERVE_LISTEN must be HOST:PORT \(several separated by spaces\)$"):
            waitress_settings(make_app({"FAROE_SERVE_LISTEN": bad}))


# Where it listens, and what it prints --------------------------------------------------------------


def test_the_endpoint_urls_of_several_addresses_ipv6_and_a_unix_socket(make_app: AppFactory, tmp_path: Any) -> None:
    app = make_app()
    server = create_server(app, listen="127.0.0.1:0 [::1]:0")
    try:
        (_, v4), (_, v6) = server.effective_listen
        assert startup_lines(app, server) == [
            f"Faroe endpoint: POST http://127.0.0.1:{v4}/faroe", f"Faroe endpoint: POST http://[::1]:{v6}/faroe",
        ]
        assert server.faroe_connection_counts.per_address == 50
    finally:
        server.close()
    path = str(tmp_path / "faroe.sock")
    server = create_server(app, unix_socket=path)
    try:
        assert endpoint_urls(app, server) == [f"unix:{path} /faroe"]
    finally:
        server.close()
    server = create_server(app, host="127.0.0.1", port=0)
    try:
        assert endpoint_urls(app, server) == [f"http://127.0.0.1:{server.effective_port}/faroe"]
    finally:
        server.close()


def test_serve_prints_the_endpoint_at_once_then_serves_until_its_sockets_close(
    make_app: AppFactory, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its line reaches a block-buffered stdout (a file, a pipe to a process manager) at once."""
    app = make_app()
    socket_map: dict[int, Any] = {}
    out = tmp_path / "stdout.txt"
    stdout = out.open("w", encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stdout)
    thread = threading.Thread(target=serve, args=(app,), kwargs={"map": socket_map, "listen": "127.0.0.1:0"},
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not (printed := out.read_text(encoding="utf-8")) and time.monotonic() < deadline:
        time.sleep(0.02)
    match = re.fullmatch(r"Faroe endpoint: POST http://127\.0\.0\.1:(\d+)/faroe\n", printed)
    assert match, printed
    try:
        status, body = post(int(match.group(1)))
        assert status == 200 and json.loads(body)["error_code"] == "invalid_session_token"
    finally:
        servers = [d for d in socket_map.values() if isinstance(d, BaseWSGIServer)]
        wasyncore.close_all(socket_map)
        thread.join(10)
        for server in servers:
            server.task_dispatcher.shutdown()
        stdout.close()
    assert not thread.is_alive()


def test_the_endpoint_urls_of_two_unix_sockets(make_app: AppFactory, tmp_path: Any) -> None:
    app = make_app()
    sockets = []
    for name in ("a.sock", "b.sock"):
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind(str(tmp_path / name))
        sockets.append(unix)
    server = create_server(app, sockets=sockets)
    try:
        assert endpoint_urls(app, server) == [f"unix:{tmp_path / 'a.sock'} /faroe", f"unix:{tmp_path / 'b.sock'} /faroe"]
    finally:
        server.close()
        for unix in sockets:
            unix.close()


def _in_a_child(limits: tuple[int, int], connection_limits: list[int], app: Any) -> dict[str, Any]:
    """Set the open-files limits and create servers in a forked child (a process cannot raise
    its hard limit again); what the servers took, the limits after and the warnings logged.

    One server is created here first, within the limits this process has (which fit): so that
    mutation testing, which sees only what runs in this process, knows the test reaches the
    limit code (the child runs the same code)."""
    create_server(app, listen="127.0.0.1:0", connection_limit=10).close()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        outcome: dict[str, Any] = {}
        try:
            warnings: list[str] = []
            handler = logging.Handler()
            handler.emit = lambda record: warnings.append(record.getMessage())  # type: ignore[method-assign]
            logging.getLogger("faroe_flask").addHandler(handler)
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
            taken = []
            for wanted in connection_limits:
                server = create_server(app, listen="127.0.0.1:0", connection_limit=wanted)
                taken.append(server.adj.connection_limit)
                server.close()
            outcome = {"taken": taken, "limits": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
                       "warnings": [w for w in warnings if "open-files" in w]}
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            outcome = {"error": repr(exc)}
        os.write(write, json.dumps(outcome).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(data)
    return result


def test_an_open_files_hard_limit_too_low_lowers_the_connection_limit(make_app: AppFactory) -> None:
    outcome = _in_a_child((400, 400), [1000, 272], make_app())
    assert outcome == {
        "taken": [400 - 128, 272], "limits": [400, 400],
        "warnings": ["the open-files limit (400) is too low for 1000 connections; accepting at most 272"],
    }


def test_the_soft_open_files_limit_is_raised_as_far_as_the_hard_one_allows(make_app: AppFactory) -> None:
    assert _in_a_child((300, 700), [1000], make_app()) == {
        "taken": [700 - 128], "limits": [700, 700],
        "warnings": ["the open-files limit (700) is too low for 1000 connections; accepting at most 572"],
    }
    assert _in_a_child((300, 2000), [1000], make_app()) == {"taken": [1000], "limits": [1128, 2000], "warnings": []}
    assert _in_a_child((120, 120), [10], make_app()) == {"taken": [1], "limits": [120, 120], "warnings": [
        "the open-files limit (120) is too low for 10 connections; accepting at most 1"]}


# The cap on one address's connections -------------------------------------------------------------


def _refused(port: int, source: str) -> bytes:
    """What a further connection from ``source`` reads before the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)) as sock:
        received = b""
        while chunk := sock.recv(1024):
            received += chunk
        return received


def test_one_address_gets_its_share_of_connections_and_the_others_are_served(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app({"FAROE_SERVE_CONNECTIONS_PER_ADDRESS": "3"})
    with serve_production(app) as (server, socket_map, port), caplog.at_level(logging.INFO, logger="faroe_flask"):
        held = half_open(port, 3)
        try:
            wait_for_channels(socket_map, 3)
            assert _refused(port, "127.0.0.1").startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
            other: http.client.HTTPConnection = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=("127.0.0.2", 0))
            other.request("POST", "/faroe", body=GET_SESSION)
            assert other.getresponse().status == 200
            other.close()
        finally:
            for sock in held:
                sock.close()
        counts = server.faroe_connection_counts
        assert counts.refused == 1 and counts.per_address == 3 and counts.ipv6_prefix == 64
    assert app.extensions["faroe"].rejections.totals[(503, "connections_per_address")] == 1
    assert "faroe request rejected with 503: too many connections from one address" in [
        r.getMessage() for r in caplog.records if r.name == "faroe_flask"
    ]


def test_the_cap_counts_an_ipv6_client_by_its_configured_network(make_app: AppFactory) -> None:
    server = create_server(make_app({"FAROE_CLIENT_IPV6_PREFIX": 1}), listen="127.0.0.1:0")
    try:
        assert server.faroe_connection_counts.ipv6_prefix == 1
    finally:
        server.close()


@pytest.mark.parametrize("proxy", ["127.0.0.1", "*"])
def test_the_trusted_proxy_is_not_capped(make_app: AppFactory, proxy: str) -> None:
    app = make_app({"FAROE_SERVE_CONNECTIONS_PER_ADDRESS": 2, "FAROE_SERVE_TRUSTED_PROXY": proxy,
                    "FAROE_SERVE_TRUSTED_PROXY_HEADERS": "x-forwarded-for"})
    with serve_production(app) as (server, socket_map, port):
        held = half_open(port, 4)
        try:
            wait_for_channels(socket_map, 4)
            assert post(port)[0] == 200
            if proxy == "*":  # no cap at all
                assert not hasattr(server, "faroe_connection_counts")
            else:  # another address still is
                held += [socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.3", 0))
                         for _ in range(2)]
                wait_for_channels(socket_map, 6)
                assert _refused(port, "127.0.0.3").startswith(b"HTTP/1.1 503 ")
                assert server.faroe_connection_counts.refused == 1
        finally:
            for sock in held:
                sock.close()


def test_a_slow_answer_is_not_cut_by_the_receive_timeout(make_app: AppFactory) -> None:
    app = make_app({"FAROE_SERVE_RECEIVE_TIMEOUT": 1})

    @app.get("/slow")
    def slow() -> str:
        time.sleep(2.5)
        return "done"

    with serve_production(app) as (_, _, port):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/slow")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"done")
        connection.close()


def test_a_request_still_arriving_within_the_receive_timeout_is_not_cut(make_app: AppFactory) -> None:
    """Dripped for 3 s through at least one clean-up (every 2 s), then completed: answered."""
    app = make_app({"FAROE_SERVE_RECEIVE_TIMEOUT": 4, "FAROE_SERVE_CHANNEL_TIMEOUT": 2})
    with serve_production(app) as (server, _, port):
        assert server.adj.cleanup_interval == 2
        head = b"POST /faroe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(GET_SESSION)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(head)
            for byte in GET_SESSION[:6]:
                time.sleep(0.5)
                sock.sendall(bytes([byte]))
            sock.sendall(GET_SESSION[6:])
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 ")


def test_a_pipelined_request_waiting_behind_a_slow_answer_does_not_cut_it(make_app: AppFactory) -> None:
    """The next request's first bytes came with the first request: the connection has a request
    being answered, so the receive deadline leaves it alone."""
    app = make_app({"FAROE_SERVE_RECEIVE_TIMEOUT": 1})

    @app.get("/slow")
    def slow() -> str:
        time.sleep(2.5)
        return "done"

    with serve_production(app) as (_, _, port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n")
            answer = b""
            while not answer.endswith(b"done"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"done"), answer
