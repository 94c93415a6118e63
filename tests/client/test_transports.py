"""``HTTPTransport`` and ``LocalTransport``: wire format, keep-alive, failures, thread safety."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from faroe_flask import FaroeError, Server
from faroe_flask.client import (
    ActionError,
    ActionSuccess,
    Client,
    ClientError,
    CreateSignupSuccess,
    GetSessionSuccess,
    HTTPTransport,
    LocalTransport,
    MalformedResponseError,
    Transport,
    TransportError,
    UnexpectedStatusError,
)

from ..conftest import CapturingEmailSender
from .conftest import FakeEndpoint, closed_port_url, http_response, raw_server, read_http_request
from .helpers import sign_up, success

EMPTY_SUCCESS = b'{"ok":true,"action_invocation_id":"a","values":{}}'


@pytest.fixture
def fake_transport(fake_endpoint: FakeEndpoint) -> Iterator[HTTPTransport]:
    transport = HTTPTransport(fake_endpoint.url, timeout=10)
    yield transport
    transport.close()


def test_the_request_is_a_compact_json_post_with_the_configured_headers(fake_endpoint: FakeEndpoint) -> None:
    fake_endpoint.answer_raw(EMPTY_SUCCESS)
    transport = HTTPTransport(
        fake_endpoint.url + "faroe?tenant=1", headers={"X-Request-Source": "tests"}, bearer_secret="s3cret"
    )
    client = Client(transport)
    assert isinstance(client.verify_user_deletion_user_password("st", "dt", "pässwörd"), ActionSuccess)
    request = fake_endpoint.requests[-1]
    assert request.method == "POST"
    assert request.path == "/faroe?tenant=1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Request-Source"] == "tests"
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.body == (
        '{"action":"verify_user_deletion_user_password","arguments":'
        '{"session_token":"st","user_deletion_token":"dt","password":"pässwörd"}}'
    ).encode("utf-8")
    assert "s3cret" not in repr(transport) and "tenant" not in repr(transport)
    assert transport.url == fake_endpoint.url + "faroe"
    transport.close()


def test_sequential_requests_reuse_one_connection(
    fake_endpoint: FakeEndpoint, fake_transport: HTTPTransport
) -> None:
    fake_endpoint.answer_raw(EMPTY_SUCCESS)
    client = Client(fake_transport)
    for _ in range(3):
        assert client.delete_session("t").ok is True
    ports = {request.remote_port for request in fake_endpoint.requests}
    assert len(fake_endpoint.requests) == 3
    assert len(ports) == 1


def test_error_statuses_keep_the_connection_usable(
    fake_endpoint: FakeEndpoint, fake_transport: HTTPTransport
) -> None:
    client = Client(fake_transport)
    fake_endpoint.answer_raw(b"", status=400)
    with pytest.raises(UnexpectedStatusError, match="HTTP 400"):
        client.get_session("t")
    fake_endpoint.answer_raw(EMPTY_SUCCESS)
    assert client.delete_session("t").ok is True


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """The server answers one request with keep-alive and then closes the connection; the next
    request must go out on a new connection instead of failing on the dead one."""
    closed = threading.Event()
    connections: list[int] = []

    def handle(conn: socket.socket, number: int) -> None:
        connections.append(number)
        if read_http_request(conn):
            conn.sendall(http_response(EMPTY_SUCCESS, keep_alive=True))
        conn.close()
        closed.set()

    with raw_server(handle) as url:
        transport = HTTPTransport(url, timeout=10)
        client = Client(transport)
        assert client.delete_session("t").ok is True
        assert closed.wait(10)
        assert client.delete_session("t").ok is True
        transport.close()
    assert connections == [0, 1]


def test_a_server_that_closes_without_answering_is_a_transport_error() -> None:
    def handle(conn: socket.socket, number: int) -> None:
        read_http_request(conn)

    with raw_server(handle) as url:
        with pytest.raises(TransportError, match="failed"):
            Client(HTTPTransport(url, timeout=10)).get_session("t")


def test_a_garbled_http_response_is_a_transport_error() -> None:
    def handle(conn: socket.socket, number: int) -> None:
        read_http_request(conn)
        conn.sendall(b"SMTP ready\r\n\r\n")

    with raw_server(handle) as url:
        with pytest.raises(TransportError):
            Client(HTTPTransport(url, timeout=10)).get_session("t")


def test_a_truncated_body_is_a_transport_error() -> None:
    def handle(conn: socket.socket, number: int) -> None:
        read_http_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"ok\":")

    with raw_server(handle) as url:
        with pytest.raises(TransportError):
            Client(HTTPTransport(url, timeout=10)).get_session("t")


def test_a_refused_connection_is_a_transport_error() -> None:
    with pytest.raises(TransportError, match="failed"):
        Client(HTTPTransport(closed_port_url(), timeout=10)).get_session("t")


def test_a_slow_server_times_out(fake_endpoint: FakeEndpoint) -> None:
    def slow() -> tuple[int, bytes]:
        fake_endpoint.release.wait(30)
        return 200, EMPTY_SUCCESS

    fake_endpoint.handler = slow
    with pytest.raises(TransportError, match="timed out"):
        Client(HTTPTransport(fake_endpoint.url, timeout=0.2)).get_session("t")


def test_an_oversized_response_is_malformed(fake_endpoint: FakeEndpoint) -> None:
    fake_endpoint.answer_raw(b'{"ok":true,"action_invocation_id":"a","values":{},"pad":"' + b"x" * 5000 + b'"}')
    transport = HTTPTransport(fake_endpoint.url, max_response_bytes=4096)
    with pytest.raises(MalformedResponseError, match="larger than 4096 bytes"):
        Client(transport).delete_session("t")
    fake_endpoint.answer_raw(EMPTY_SUCCESS)
    assert Client(transport).delete_session("t").ok is True
    transport.close()


def test_an_oversized_error_response_still_names_its_status(fake_endpoint: FakeEndpoint) -> None:
    fake_endpoint.answer_raw(b"<html>" + b"x" * 5000 + b"</html>", status=502)
    with HTTPTransport(fake_endpoint.url, max_response_bytes=4096) as transport:
        with pytest.raises(UnexpectedStatusError, match="HTTP 502"):
            Client(transport).delete_session("t")


def test_a_connection_close_response_is_honoured() -> None:
    connections: list[int] = []

    def handle(conn: socket.socket, number: int) -> None:
        connections.append(number)
        if read_http_request(conn):
            conn.sendall(http_response(EMPTY_SUCCESS, keep_alive=False))

    with raw_server(handle) as url:
        transport = HTTPTransport(url)
        client = Client(transport)
        assert client.delete_session("t").ok is True
        assert client.delete_session("t").ok is True
        transport.close()
    assert connections == [0, 1]


def test_an_oversized_chunked_response_is_malformed() -> None:
    def handle(conn: socket.socket, number: int) -> None:
        read_http_request(conn)
        chunk = b"x" * 3000
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 2
            + b"0\r\n\r\n"
        )

    with raw_server(handle) as url:
        with pytest.raises(MalformedResponseError, match="larger than 4096 bytes"):
            Client(HTTPTransport(url, max_response_bytes=4096)).get_session("t")


def test_a_chunked_response_is_read() -> None:
    def handle(conn: socket.socket, number: int) -> None:
        read_http_request(conn)
        head, tail = EMPTY_SUCCESS[:10], EMPTY_SUCCESS[10:]
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n" % len(head) + head + b"\r\n"
            + b"%x\r\n" % len(tail) + tail + b"\r\n0\r\n\r\n"
        )

    with raw_server(handle) as url:
        with HTTPTransport(url) as transport:
            assert Client(transport).delete_session("t").ok is True


def test_a_response_delimited_by_closing_the_connection_is_read() -> None:
    def handle(conn: socket.socket, number: int) -> None:
        read_http_request(conn)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + EMPTY_SUCCESS)

    with raw_server(handle) as url:
        with HTTPTransport(url) as transport:
            assert Client(transport).delete_session("t").ok is True


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("ftp://example.com/", {}),
        ("example.com/faroe", {}),
        ("http:///faroe", {}),
        ("http://user:pass@example.com/", {}),
        ("http://example.com:99999/", {}),
        ("http://example.com/", {"timeout": 0}),
        ("http://example.com/", {"bearer_secret": ""}),
        ("http://example.com/", {"bearer_secret": "two words"}),
        ("http://example.com/", {"bearer_secret": "caf\u00e9"}),
        ("http://example.com/", {"max_response_bytes": 0}),
        ("http://example.com/", {"headers": {"X-Injected": "a\r\nHost: evil"}}),
        ("http://example.com/", {"headers": {"": "x"}}),
    ],
)
def test_invalid_transport_configuration_is_rejected(url: str, options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        HTTPTransport(url, **options)  # type: ignore[arg-type]


def test_the_http_transport_is_safe_to_share_between_threads(
    faroe_url: str, email_sender: CapturingEmailSender
) -> None:
    transport = HTTPTransport(faroe_url, timeout=10)
    client = Client(transport)
    session_token, user_id = sign_up(client, email_sender)
    failures: list[str] = []

    def work() -> None:
        for _ in range(15):
            result = client.get_session(session_token)
            if not isinstance(result, GetSessionSuccess) or result.session.user_id != user_id:
                failures.append(repr(result))
            rejected = client.get_signup("nonsense")
            if not isinstance(rejected, ActionError) or rejected.error_code != "invalid_signup_token":
                failures.append(repr(rejected))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    transport.close()
    assert failures == []
    assert not any(thread.is_alive() for thread in threads)


def test_the_local_transport_answers_a_rejected_request_like_http_400(faroe_server: Server) -> None:
    client = Client(LocalTransport(faroe_server, allowlist={"get_session"}))
    assert error_code_of(client.get_session("t")) == "invalid_session_token"
    with pytest.raises(UnexpectedStatusError) as caught:
        client.create_signup("user@example.com")
    assert caught.value.status == 400
    blocked = Client(LocalTransport(faroe_server, blocklist={"create_signup"}))
    with pytest.raises(UnexpectedStatusError):
        blocked.create_signup("user@example.com")


def test_the_local_transport_goes_through_the_wire_format(faroe_server: Server) -> None:
    transport = LocalTransport(faroe_server)
    response = json.loads(transport.send(b'{"action":"create_signup","arguments":{"email_address":"a@b.co"}}'))
    assert response["ok"] is True
    assert list(response) == ["ok", "action_invocation_id", "values"]
    with pytest.raises(UnexpectedStatusError):
        transport.send(b'{"action":"create_signup","arguments":{}}')


def test_arguments_must_be_strings(faroe_server: Server) -> None:
    client = Client(LocalTransport(faroe_server))
    with pytest.raises(TypeError, match="email_address must be a str"):
        client.create_signup(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lone surrogate"):
        client.create_signup("\ud800@example.com")


def test_the_clients_exceptions_are_faroe_errors() -> None:
    for exception in (ClientError, TransportError, UnexpectedStatusError, MalformedResponseError):
        assert issubclass(exception, FaroeError)


def test_both_transports_satisfy_the_protocol(faroe_server: Server) -> None:
    assert isinstance(LocalTransport(faroe_server), Transport)
    assert isinstance(HTTPTransport("http://127.0.0.1:1/"), Transport)


def test_results_are_frozen_and_hide_tokens(faroe_server: Server) -> None:
    result = success(Client(LocalTransport(faroe_server)).create_signup("a@b.co"), CreateSignupSuccess)
    with pytest.raises(AttributeError):
        result.signup_token = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        result.signup.email_address = "x"  # type: ignore[misc]
    assert result.signup_token.split(".")[1] not in repr(result)


def error_code_of(result: object) -> str:
    assert isinstance(result, ActionError)
    return result.error_code


# Headers for one end user: with_headers and Client.for_end_user ----------------------------------


def test_with_headers_adds_headers_and_shares_the_kept_connection(fake_endpoint: FakeEndpoint) -> None:
    fake_endpoint.answer_raw(EMPTY_SUCCESS)
    transport = HTTPTransport(fake_endpoint.url, headers={"X-Request-Source": "app"}, bearer_secret="s3cret")
    client = Client(transport)
    assert client.delete_session("t").ok is True
    end_user = client.for_end_user("198.51.100.7", captcha_token="captcha-token-1")
    assert end_user.transport is not transport
    assert end_user.delete_session("t").ok is True
    del end_user  # dropping the per-call client closes nothing
    assert client.delete_session("t").ok is True
    first, second, third = fake_endpoint.requests
    assert second.headers["Faroe-Client-Address"] == "198.51.100.7"
    assert second.headers["X-Captcha-Token"] == "captcha-token-1"
    for request in (first, second, third):
        assert (request.headers["Authorization"], request.headers["X-Request-Source"]) == ("Bearer s3cret", "app")
    for request in (first, third):
        assert "Faroe-Client-Address" not in request.headers and "X-Captcha-Token" not in request.headers
    assert first.remote_port == second.remote_port == third.remote_port  # one connection throughout
    # Only an address, under the server's header name; only a token.
    client.for_end_user("2001:db8::1", address_header="X-End-User").delete_session("t")
    client.for_end_user(captcha_token="only-a-token").delete_session("t")
    fourth, fifth = fake_endpoint.requests[3:]
    assert fourth.headers["X-End-User"] == "2001:db8::1" and "X-Captcha-Token" not in fourth.headers
    assert fifth.headers["X-Captcha-Token"] == "only-a-token" and "Faroe-Client-Address" not in fifth.headers
    transport.close()


def test_for_end_user_refuses_what_the_endpoint_would_refuse(faroe_server: Server) -> None:
    client = Client(HTTPTransport("http://127.0.0.1:9/", timeout=1))
    for address in ("", "me, you", "198.51.100.7:80", "example.com"):
        with pytest.raises(ValueError) as raised:
            client.for_end_user(address)
        assert str(raised.value) == "address must be an IPv4 or IPv6 address"
    with pytest.raises(ValueError):
        client.for_end_user("198.51.100.7", captcha_token="line\r\nbreak")
    with pytest.raises(TypeError) as type_error:
        Client(LocalTransport(faroe_server)).for_end_user("198.51.100.7")
    assert str(type_error.value) == "LocalTransport cannot send headers"


def test_a_status_error_carries_retry_after_in_seconds(fake_endpoint: FakeEndpoint) -> None:
    client = Client(HTTPTransport(fake_endpoint.url))
    for header, expected in ((None, None), ("17", 17), ("Wed, 21 Oct 2026 07:28:00 GMT", None), ("-3", None)):
        fake_endpoint.headers = [("Content-Type", "text/plain")] + ([("Retry-After", header)] if header else [])
        fake_endpoint.answer_raw(b"", status=429)
        with pytest.raises(UnexpectedStatusError) as raised:
            client.delete_session("t")
        assert (raised.value.status, raised.value.retry_after) == (429, expected)
