"""A real SMTP server (aiosmtpd) on a free loopback port, in a background thread.

``SMTPSink`` keeps every received message as an ``email.message.EmailMessage``. With
``reject=True`` it reads the message and then answers ``554``, so the client's ``sendmail``
raises ``SMTPDataError`` (a failing SMTP server) while the test can still see what was sent.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult

# aiosmtpd logs whole SMTP conversations at DEBUG; keep test output readable.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class _Handler:
    def __init__(self, sink: SMTPSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.sink.lock:
            self.sink.messages.append(message)
        return "554 Transaction failed" if self.sink.reject else "250 Message accepted for delivery"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self.sink.stall_mail:  # a relay that hangs once the client is in (after any STARTTLS)
            await asyncio.sleep(self.sink.stall_mail)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"


class SMTPSink:
    def __init__(
        self,
        *,
        reject: bool = False,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        logins: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        stall_mail: float = 0,
    ) -> None:
        """``starttls``: offer STARTTLS with this context and require it before any mail;
        ``implicit_tls``: TLS from the first byte (SMTPS); ``logins``: accept AUTH with these
        usernames and passwords (``self.logins`` records each attempt); ``stall_mail``: wait that
        many seconds before answering ``MAIL FROM``."""
        self.reject = reject
        self.stall_mail = stall_mail
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.accounts = logins
        self.logins: list[tuple[str, str, bool]] = []
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> SMTPSink:
        self._thread.start()
        handler = _Handler(self)

        async def start() -> asyncio.Server:
            return await self._loop.create_server(self._protocol(handler), self.host, self.port, ssl=self.implicit_tls)

        self._server = asyncio.run_coroutine_threadsafe(start(), self._loop).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc_info: object) -> None:
        server = self._server

        async def stop() -> None:
            if server is not None:
                server.close()
                await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _protocol(self, handler: _Handler) -> Callable[[], SMTP]:
        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            login, password = data.login.decode(), data.password.decode()
            accepted = self.accounts is not None and self.accounts.get(login) == password
            self.logins.append((login, password, session.ssl is not None))
            return AuthResult(success=accepted, handled=False)  # handled: aiosmtpd answers 535

        def protocol() -> SMTP:
            return SMTP(
                handler,
                hostname="faroe-test-smtp",
                tls_context=self.starttls,
                require_starttls=self.starttls is not None,
                authenticator=authenticate if self.accounts is not None else None,
                auth_require_tls=False,
            )

        return protocol

    def received(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.messages)

    def wait_for(self, predicate: Callable[[EmailMessage], bool], timeout: float = 10.0) -> EmailMessage:
        """The first received message matching ``predicate``; polls until ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.received():
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                raise AssertionError("no matching email arrived")
            time.sleep(0.02)

    def last_to(self, address: str, subject_part: str = "") -> EmailMessage:
        return self.wait_for(lambda m: address in str(m["To"]) and subject_part in str(m["Subject"]))


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "the email lacks a text or an HTML part"
    return text.get_content(), html.get_content()


def secret_from(message: EmailMessage, length: int) -> str:
    """The code (8) or temporary password (12) of a message; the text and HTML parts must agree."""
    text, html = text_and_html(message)
    pattern = rf"(?<![A-Z0-9])([ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{{{length}}})(?![A-Z0-9])"
    in_text = re.findall(pattern, text)
    in_html = re.findall(pattern, html)
    assert len(in_text) == 1 and in_html == in_text, (in_text, in_html)
    return str(in_text[0])


class StalledSMTPServer:
    """A loopback server that accepts SMTP clients and then stalls: ``silent`` never answers,
    ``drip`` sends its greeting one byte at a time (never a whole line), slower than any client
    deadline but faster than a per-read socket timeout. Every connection is closed at exit."""

    def __init__(self, mode: str, *, drip_interval: float = 0.2) -> None:
        if mode not in ("silent", "drip"):
            raise ValueError(mode)
        self.mode = mode
        self.drip_interval = drip_interval
        self.accepted = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.host, self.port = "127.0.0.1", self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> StalledSMTPServer:
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            thread = threading.Thread(target=self._stall, args=(connection,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _stall(self, connection: socket.socket) -> None:
        greeting = b"220 stalled.example ESMTP" * 1000
        with connection:
            for byte in greeting:
                if self._stop.wait(self.drip_interval):
                    return
                if self.mode == "drip":
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        return


def self_signed_context(folder: Any) -> ssl.SSLContext:
    """A server TLS context with a throwaway self-signed certificate for 127.0.0.1 (``openssl``);
    smtplib's default client context does not verify certificates."""
    key, cert = folder / "smtp.key", folder / "smtp.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context
