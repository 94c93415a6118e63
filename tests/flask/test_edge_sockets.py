"""Abuse over real sockets against ``serve()``'s waitress (faroe_flask.flask.serving), with each
client a distinct loopback source address (127.0.0.2, 127.0.0.3, ...): email bombing and
password spraying from one client, a client holding 2,000 slow connections, a hanging SMTP relay,
a flood of rejected bodies. Every loop is bounded in count and in time."""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from faroe_flask import MemoryStorage, MemoryUserStore
from faroe_flask.core.records import Signup
from faroe_flask.flask import rejections
from faroe_flask.flask.extension import Faroe

from ..conftest import BannedPasswords, CapturingEmailSender, CapturingErrorLogger
from ..servers import open_files_limit, serve_production
from .conftest import FAST_HASHING, PASSWORD
from .smtp import SMTPSink, StalledSMTPServer


@pytest.fixture(autouse=True)
def enough_descriptors() -> Iterator[None]:
    """Room for 2,000 client sockets and the server's channels in this one process."""
    with open_files_limit(8192):
        yield


class Client:
    """One client: an HTTP connection from its own loopback address, kept alive."""

    def __init__(self, port: int, source: str, timeout: float = 10.0) -> None:
        self.port, self.source, self.timeout = port, source, timeout
        self.connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=self.timeout, source_address=(self.source, 0)
            )
        try:
            self.connection.request("POST", "/faroe", body=body)
            response = self.connection.getresponse()
            answer = response.status, dict(response.getheaders()), response.read()
        except Exception:
            self.close()
            raise
        if response.will_close:
            self.close()
        return answer

    def call(self, action: str, **arguments: str) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        status, headers, body = self.post(json.dumps({"action": action, "arguments": arguments}).encode())
        return status, (json.loads(body) if status == 200 else None), headers

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def build_app(**config: Any) -> tuple[Flask, MemoryStorage]:
    storage = MemoryStorage()
    app = Flask("faroe_edge_sockets")
    app.config.update(FAST_HASHING, **config)
    parts: dict[str, Any] = {} if "MAIL_SERVER" in config else {"email_sender": CapturingEmailSender()}
    Faroe(app, storage=storage, user_store=MemoryUserStore(), error_logger=CapturingErrorLogger(),
          password_strength_checker=BannedPasswords(), **parts)
    return app, storage


@contextlib.contextmanager
def served(app: Flask, **overrides: Any) -> Iterator[tuple[Any, int]]:
    with serve_production(app, **overrides) as (server, _, port):
        yield server, port


def mail_settings(host: str, port: int, **extra: Any) -> dict[str, Any]:
    return dict(FAROE_EMAIL_SENDER="flask-mail", MAIL_SERVER=host, MAIL_PORT=port,
                MAIL_DEFAULT_SENDER="faroe@example.org", **extra)


# One client cannot bomb mailboxes nor spray passwords ----------------------------------------


def test_one_client_makes_at_most_10_emails_go_out_and_others_are_served() -> None:
    with SMTPSink() as sink:
        app, _ = build_app(**mail_settings(sink.host, sink.port))
        with served(app) as (_, port):
            bomber, neighbour = Client(port, "127.0.0.2"), Client(port, "127.0.0.3")
            answers = [bomber.call("create_signup", email_address=f"victim{i}@example.com") for i in range(40)]
            assert [status for status, _, _ in answers] == [200] * 10 + [429] * 30
            assert all(result is not None and result["ok"] for _, result, _ in answers[:10])
            assert {headers["Retry-After"] for _, _, headers in answers[10:]} <= {"5", "6"}
            status, result, _ = neighbour.call("create_signup", email_address="neighbour@example.com")
            assert status == 200 and result is not None and result["ok"]
            bomber.close(), neighbour.close()
        deadline = time.monotonic() + 10
        while len(sink.received()) < 11 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # nothing more arrives
        recipients = sorted(str(message["To"]) for message in sink.received())
    assert recipients == sorted([f"victim{i}@example.com" for i in range(10)] + ["neighbour@example.com"])


def test_one_client_spraying_passwords_gets_30_checks_across_accounts() -> None:
    app, _ = build_app()
    server = app.extensions["faroe"].server
    members = []
    for index in range(8):
        address = f"sprayed{index}@example.com"
        server.user_store.create_user(address, *_hashed(server))
        members.append(address)
    with served(app) as (_, port):
        sprayer, owner = Client(port, "127.0.0.4"), Client(port, "127.0.0.5")
        outcomes: list[Any] = []
        for member in members:  # 4 guesses each: the per-user limit (5 a minute) is never met
            _, signin, _ = sprayer.call("create_signin", user_email_address=member)
            assert signin is not None
            for _ in range(4):
                status, result, _ = sprayer.call("verify_signin_user_password",
                                                 signin_token=signin["values"]["signin_token"], password="guess-1234")
                outcomes.append(status if result is None else result["error_code"])
        assert outcomes == ["incorrect_password"] * 30 + [429] * 2
        # The real owner of the last account, from elsewhere, signs in.
        _, signin, _ = owner.call("create_signin", user_email_address=members[-1])
        assert signin is not None
        status, result, _ = owner.call("verify_signin_user_password",
                                       signin_token=signin["values"]["signin_token"], password=PASSWORD)
        assert status == 200 and result == {**result, "ok": True}
        sprayer.close(), owner.close()


def _hashed(server: Any) -> tuple[bytes, str, bytes]:
    password_hash, algorithm_id, salt = server.passwords.hash_user_password(PASSWORD)
    return password_hash, algorithm_id, salt


# Fair connections --------------------------------------------------------------------------


class SlowLoris:
    """Opens up to ``total`` connections from ``source`` and drips a header byte on each every
    ``interval`` s, reopening the ones the server closes, until stopped (bounded in count and time)."""

    def __init__(self, port: int, source: str, total: int, interval: float = 1.0) -> None:
        self.port, self.source, self.total, self.interval = port, source, total, interval
        self.opened = 0
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowLoris:
        self.thread.start()
        assert self.ready.wait(30), "the attacker could not open its connections"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join(10)
        for sock in self.sockets:
            sock.close()

    def _open(self) -> None:
        try:
            sock = socket.socket()
            sock.settimeout(2)
            sock.bind((self.source, 0))
            self.opened += 1
            sock.connect(("127.0.0.1", self.port))
            sock.sendall(b"POST /faroe HTTP/1.1\r\nHost: x\r\n")
            sock.setblocking(False)
            self.sockets.append(sock)
        except OSError:
            sock.close()

    def _run(self) -> None:
        started = time.monotonic()
        while self.opened < self.total and time.monotonic() - started < 20 and not self.stop.is_set():
            self._open()
        self.ready.set()
        while not self.stop.wait(self.interval):
            for sock in list(self.sockets):
                try:
                    sock.send(b"X")
                except OSError:  # closed by the server (refused beyond its share)
                    self.sockets.remove(sock)
                    sock.close()
            while len(self.sockets) < self.total and self.opened < 2 * self.total and not self.stop.is_set():
                before = len(self.sockets)
                self._open()
                if len(self.sockets) == before:
                    break


def _timed_get_sessions(port: int, source: str, count: int, timeout: float) -> list[float]:
    times = []
    for _ in range(count):
        client = Client(port, source, timeout=timeout)
        started = time.monotonic()
        status, result, _ = client.call("get_session", session_token="x.y")
        times.append(time.monotonic() - started)
        client.close()
        assert status == 200 and result is not None and result["error_code"] == "invalid_session_token"
    return times


def test_one_address_holding_2000_slow_connections_does_not_delay_others() -> None:
    app, _ = build_app()
    with served(app) as (server, port):
        counts = server.faroe_connection_counts
        with SlowLoris(port, "127.0.0.2", 2000) as attacker:
            assert attacker.opened >= 2000
            times = _timed_get_sessions(port, "127.0.0.3", 20, timeout=5)
            assert counts.open_from("127.0.0.2") <= 50
        assert max(times) < 1.0, times
        assert counts.refused >= 1900
        assert app.extensions["faroe"].rejections.totals[(503, "connections_per_address")] == counts.refused


def test_without_the_cap_the_same_attacker_locks_others_out() -> None:
    """The contrast (a smaller table, so that it fills quickly): waitress alone stops accepting."""
    app, _ = build_app(FAROE_SERVE_CONNECTIONS_PER_ADDRESS=0)
    with served(app, connection_limit=200) as (_, port):
        with SlowLoris(port, "127.0.0.2", 260):
            time.sleep(0.3)
            with pytest.raises((TimeoutError, OSError)):
                _timed_get_sessions(port, "127.0.0.3", 1, timeout=1.5)


# A hanging SMTP relay ------------------------------------------------------------------------


def _signups_while_timing_reads(port: int, clients: int) -> tuple[list[Any], list[float]]:
    def signup(index: int) -> tuple[Any, float]:
        client = Client(port, f"127.0.0.{10 + index}", timeout=30)
        started = time.monotonic()
        status, result, _ = client.call("create_signup", email_address=f"hang{index}@example.com")
        client.close()
        return (status, result and result.get("error_code")), time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(signup, index) for index in range(clients)]
        time.sleep(0.4)  # every sign-up has reached the sender by now
        reads = _timed_get_sessions(port, "127.0.0.9", 5, timeout=30)
        return [future.result(60) for future in futures], reads


def test_a_hanging_smtp_relay_leaves_threads_for_requests_that_send_nothing() -> None:
    with StalledSMTPServer("silent") as smtp:
        app, storage = build_app(**mail_settings(smtp.host, smtp.port, FAROE_SMTP_TIMEOUT=10.0,
                                                 FAROE_SMTP_DEADLINE=1.5))
        with served(app) as (server, port):
            assert server.adj.threads == 8
            signups, reads = _signups_while_timing_reads(port, 12)
    assert max(reads) < 0.5, reads
    assert [outcome for outcome, _ in signups] == [(200, "internal_error")] * 12
    # Two conversations and two queued sends waited for the deadline; the other eight failed at once.
    assert sorted(elapsed < 0.5 for _, elapsed in signups).count(True) >= 8
    assert max(elapsed for _, elapsed in signups) < 1.5 + 2
    assert [key for key in storage._entries if key.startswith(Signup.PREFIX)] == []  # nothing half-written
    assert 2 <= smtp.accepted <= 4  # at most the conversations plus the queued sends ever reached it


def test_without_the_bound_a_hanging_relay_takes_every_thread() -> None:
    """The contrast: as many conversations as threads, and a read waits for the deadline."""
    with StalledSMTPServer("silent") as smtp:
        app, _ = build_app(**mail_settings(smtp.host, smtp.port, FAROE_SMTP_TIMEOUT=10.0, FAROE_SMTP_DEADLINE=1.5,
                                           FAROE_SMTP_MAX_CONCURRENT_SENDS=12, FAROE_SMTP_MAX_QUEUED_SENDS=0))
        with served(app) as (_, port):
            _, reads = _signups_while_timing_reads(port, 12)
    assert max(reads) > 0.8, reads


# A flood of rejected bodies ------------------------------------------------------------------


def test_a_flood_of_bad_bodies_writes_a_summary_not_a_line_each(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app's rejection log writes to a logger of its own: a summary that another test's log
    # still has pending (its timer fires up to a minute later) cannot land among these lines.
    monkeypatch.setattr(rejections, "_logger", logging.getLogger("faroe_flask.test_edge_sockets_flood"))
    app, _ = build_app()
    with served(app) as (_, port), caplog.at_level(logging.INFO, logger="faroe_flask"):
        flooder = Client(port, "127.0.0.6")
        for index in range(1000):
            status, _, _ = flooder.post(b'{"action":"create_signup","arguments":{"email_address":%d}}' % index)
            assert status == 400
        flooder.close()
        app.extensions["faroe"].rejections.flush()
    lines = [record.getMessage() for record in caplog.records
             if record.name == "faroe_flask.test_edge_sockets_flood"]
    assert lines == [
        "faroe request rejected with 400: argument email_address missing or not a string",
        "faroe held back 999 repeated log lines in the last 60 s: "
        "400 argument email_address missing or not a string x999",
    ]
