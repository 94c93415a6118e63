"""Email senders for the six Faroe messages (foundations.md F11), rendered from Jinja templates,
and the two notices of the account pages' generic-responses mode (docs/pages-security.md).

Each message has a plain-text and an HTML template, ``faroe/email/<message>.txt`` and
``faroe/email/<message>.html``, shipped in ``faroe_flask/templates``. An application overrides
one by placing a template of the same name in its own template folder (or a blueprint's): the
application's loader is searched first, the package's templates last.

* ``FlaskMailEmailSender`` sends through Flask-Mail (``MAIL_*`` settings, ``MAIL_DEFAULT_SENDER``).
* ``ConsoleEmailSender`` prints the plain-text message to stdout, for development.

Both push ``app.app_context()`` for every message, so they work on waitress worker threads and
from code that runs outside a request. Neither logs a message, a subject or an address: a
failure propagates as the original exception (its type is what the engine logs) and the action
answers ``internal_error`` as F11.2 requires.
"""

from __future__ import annotations

import smtplib
import socket
import sys
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import jinja2
from flask import Flask
from flask_mail import Connection, Message

from .outbound import Attempt, BoundedCalls

__all__ = [
    "MESSAGES",
    "NOTIFICATIONS",
    "DEFAULT_SUBJECTS",
    "RenderedEmail",
    "EmailRenderer",
    "TemplateEmailSender",
    "FlaskMailEmailSender",
    "ConsoleEmailSender",
    "is_undeliverable",
]

TEMPLATE_FOLDER = Path(__file__).parent.parent / "templates"

#: The messages; each name is also the template's base name and the key of its subject.
DEFAULT_SUBJECTS: Mapping[str, str] = {
    "signup_email_address_verification_code": "Your email address verification code",
    "user_email_address_update_email_verification_code": "Verify your new email address",
    "user_password_reset_temporary_password": "Your temporary password",
    "user_signed_in_notification": "New sign-in to your account",
    "user_email_address_updated_notification": "Your email address was changed",
    "user_password_updated_notification": "Your password was changed",
    # Sent only by the account pages in generic-responses mode.
    "signup_attempt_notification": "Someone tried to sign up with your email address",
    "user_password_reset_attempt_notification": "Someone asked to reset your password",
}
MESSAGES: tuple[str, ...] = tuple(DEFAULT_SUBJECTS)
#: The notifications (the engine logs their failure and goes on), which are not sent to an
#: address under the reserved ``.invalid`` domain (RFC 6761: never deliverable), such as the
#: placeholder addresses of users who had none (docs/existing-users.md).
NOTIFICATIONS = frozenset(
    {
        "user_signed_in_notification",
        "user_email_address_updated_notification",
        "user_password_updated_notification",
    }
)


def is_undeliverable(message: str, to: str) -> bool:
    """Whether ``message`` to ``to`` is a notification for a ``.invalid`` address (not sent)."""
    return message in NOTIFICATIONS and to.lower().endswith(".invalid")


class RenderedEmail:
    """One message, ready to send. Its ``repr`` shows no content."""

    __slots__ = ("message", "to", "subject", "text", "html")

    def __init__(self, message: str, to: str, subject: str, text: str, html: str) -> None:
        self.message = message
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html

    def __repr__(self) -> str:
        return f"RenderedEmail({self.message})"


class EmailRenderer:
    """Renders the templates of a message, with the app's templates taking precedence."""

    def __init__(self, app: Flask | None = None, subjects: Mapping[str, str] | None = None) -> None:
        unknown = set(subjects or {}) - set(DEFAULT_SUBJECTS)
        if unknown:
            raise ValueError("unknown email message names: " + ", ".join(sorted(unknown)))
        self.app = app
        self.subjects = {**DEFAULT_SUBJECTS, **(subjects or {})}
        self._environment: jinja2.Environment | None = None
        self._lock = threading.Lock()

    def _env(self) -> jinja2.Environment:
        if self._environment is None:
            with self._lock:
                if self._environment is None:
                    self._environment = self._make_environment()
        return self._environment

    def _make_environment(self) -> jinja2.Environment:
        package_loader = jinja2.FileSystemLoader(str(TEMPLATE_FOLDER))
        if self.app is None:
            return jinja2.Environment(
                loader=package_loader,
                autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
            )
        app_env = self.app.jinja_env
        # The overlay shares the app's globals and filters; its loader tries the app first.
        loader = jinja2.ChoiceLoader([app_env.loader, package_loader]) if app_env.loader else package_loader
        return app_env.overlay(loader=loader)

    def render(self, message: str, to: str, **context: Any) -> RenderedEmail:
        if message not in self.subjects:
            raise ValueError(f"unknown email message {message!r}")
        env = self._env()
        context = {"email_address": to, **context}
        text = env.get_template(f"faroe/email/{message}.txt").render(context)
        html = env.get_template(f"faroe/email/{message}.html").render(context)
        return RenderedEmail(message, to, self.subjects[message], text, html)


class TemplateEmailSender:
    """The six ``EmailSender`` methods and the pages' two notices; a subclass implements
    ``deliver``."""

    def __init__(self, app: Flask | None = None, subjects: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.renderer = EmailRenderer(app, subjects)

    def deliver(self, email: RenderedEmail) -> None:
        raise NotImplementedError

    def _send(self, message: str, to: str, **context: Any) -> None:
        if is_undeliverable(message, to):
            return
        if self.app is None:
            self.deliver(self.renderer.render(message, to, **context))
            return
        with self.app.app_context():
            self.deliver(self.renderer.render(message, to, **context))

    def send_signup_email_address_verification_code(self, email_address: str, code: str) -> None:
        self._send("signup_email_address_verification_code", email_address, code=code)

    def send_user_email_address_update_email_verification_code(
        self, email_address: str, display_name: str, code: str
    ) -> None:
        self._send(
            "user_email_address_update_email_verification_code",
            email_address,
            display_name=display_name,
            code=code,
        )

    def send_user_password_reset_temporary_password(
        self, email_address: str, display_name: str, temporary_password: str
    ) -> None:
        self._send(
            "user_password_reset_temporary_password",
            email_address,
            display_name=display_name,
            temporary_password=temporary_password,
        )

    def send_user_signed_in_notification(
        self, email_address: str, display_name: str, timestamp: datetime
    ) -> None:
        self._send(
            "user_signed_in_notification", email_address, display_name=display_name, timestamp=timestamp
        )

    def send_user_password_updated_notification(
        self, email_address: str, display_name: str, timestamp: datetime
    ) -> None:
        self._send(
            "user_password_updated_notification",
            email_address,
            display_name=display_name,
            timestamp=timestamp,
        )

    def send_user_email_address_updated_notification(
        self, email_address: str, display_name: str, new_email_address: str, timestamp: datetime
    ) -> None:
        self._send(
            "user_email_address_updated_notification",
            email_address,
            display_name=display_name,
            new_email_address=new_email_address,
            timestamp=timestamp,
        )

    def send_signup_attempt_notification(
        self, email_address: str, display_name: str, timestamp: datetime
    ) -> None:
        self._send(
            "signup_attempt_notification", email_address, display_name=display_name, timestamp=timestamp
        )

    def send_user_password_reset_attempt_notification(
        self, email_address: str, display_name: str, timestamp: datetime
    ) -> None:
        self._send(
            "user_password_reset_attempt_notification",
            email_address,
            display_name=display_name,
            timestamp=timestamp,
        )


class FlaskMailEmailSender(TemplateEmailSender):
    """Sends each message as a multipart (text + HTML) email through Flask-Mail.

    Uses the app's Flask-Mail settings (``MAIL_SERVER``, ``MAIL_PORT``, ``MAIL_USE_TLS``,
    ``MAIL_USE_SSL``, ``MAIL_USERNAME``, ``MAIL_PASSWORD``, ``MAIL_SUPPRESS_SEND``) and sends from
    ``MAIL_DEFAULT_SENDER``. ``timeout`` bounds every SMTP socket operation and ``deadline`` the
    whole send of one message (waiting for a free conversation, connecting, TLS, login, the
    message): a server that drips its answers one byte at a time cannot hold the request longer
    than ``deadline``. The SMTP conversation runs on a helper thread; past the deadline the
    sender gives up (``TimeoutError``, so the action answers ``internal_error``) and shuts the
    socket down, which ends the helper thread. At most ``max_pending_sends`` helpers exist at
    once; beyond that a send fails at once.

    So that a slow or hanging relay cannot take every worker thread, at most
    ``max_concurrent_sends`` conversations run at once and at most ``max_queued_sends`` more
    requests wait for one (within their deadline); a further send fails at once
    (``RuntimeError``; the action answers ``internal_error`` and, for a create, deletes what it
    created, as the protocol says). Every other request keeps its thread. Flask-Mail's
    ``email_dispatched`` signal fires for every message, as usual. One SMTP connection per
    message; thread-safe.
    """

    def __init__(
        self,
        app: Flask,
        *,
        subjects: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        deadline: float = 15.0,
        max_pending_sends: int = 64,
        max_concurrent_sends: int = 2,
        max_queued_sends: int = 2,
    ) -> None:
        if "mail" not in app.extensions:
            raise RuntimeError("Flask-Mail is not initialised on this app: call flask_mail.Mail(app)")
        if not app.extensions["mail"].default_sender:
            raise RuntimeError("MAIL_DEFAULT_SENDER is not set")
        if timeout <= 0 or deadline <= 0:
            raise ValueError("timeout and deadline must be positive")
        if max_pending_sends < 1 or max_concurrent_sends < 1 or max_queued_sends < 0:
            raise ValueError(
                "max_pending_sends and max_concurrent_sends must be at least 1, max_queued_sends at least 0"
            )
        super().__init__(app, subjects)
        self.timeout = timeout
        self.deadline = deadline
        self._max_pending_sends = max_pending_sends
        self._pending = threading.BoundedSemaphore(max_pending_sends)
        self._calls = BoundedCalls(self._pending, "faroe-smtp-send", "too many SMTP sends are still running")
        self._conversations = threading.BoundedSemaphore(max_concurrent_sends)
        self._entries = threading.BoundedSemaphore(max_concurrent_sends + max_queued_sends)

    def close(self) -> None:
        """Wait, at most ``deadline`` seconds, until no SMTP helper thread is still sending (each
        ends by its own deadline anyway). The sender stays usable."""
        deadline = time.monotonic() + self.deadline
        taken = 0
        try:
            while taken < self._max_pending_sends and self._pending.acquire(
                timeout=max(0.0, deadline - time.monotonic())
            ):
                taken += 1
        finally:
            for _ in range(taken):
                self._pending.release()

    def deliver(self, email: RenderedEmail) -> None:
        assert self.app is not None
        state = self.app.extensions["mail"]
        message = Message(
            subject=email.subject,
            recipients=[email.to],
            body=email.text,
            html=email.html,
            sender=state.default_sender,
        )
        app = self.app

        def send(attempt: Attempt[None]) -> None:
            with app.app_context(), _TimeoutConnection(state, self.timeout, attempt) as connection:
                connection.send(message)

        started = time.monotonic()
        if not self._entries.acquire(blocking=False):
            raise RuntimeError("too many SMTP sends are running or waiting")
        try:
            if not self._conversations.acquire(timeout=self.deadline):
                raise TimeoutError(f"no SMTP conversation was free within {self.deadline:g} s")
            try:
                remaining = self.deadline - (time.monotonic() - started)
                if remaining <= 0:
                    raise TimeoutError(f"no SMTP conversation was free within {self.deadline:g} s")
                self._calls.run(send, remaining, "sending the email")
            finally:
                self._conversations.release()
        finally:
            self._entries.release()


class _AttachedSocket:
    """Hands each new SMTP socket to the attempt before the server's greeting is read."""

    attempt: Attempt[None]
    _host: str  # smtplib's: the server's name

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock: socket.socket = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        self.attempt.attach(sock=sock)
        return sock


class _SMTP(_AttachedSocket, smtplib.SMTP):
    pass


class _SMTPSSL(_AttachedSocket, smtplib.SMTP_SSL):
    pass


class _TimeoutConnection(Connection):
    """Flask-Mail's connection with a socket timeout, and never an SMTP debug transcript
    (``MAIL_DEBUG`` would print whole messages, codes included, to stderr)."""

    def __init__(self, mail: Any, timeout: float, attempt: Attempt[None]) -> None:
        super().__init__(mail)
        self.timeout = timeout
        self.attempt = attempt

    def configure_host(self) -> smtplib.SMTP:
        mail = self.mail
        port = int(mail.port) if mail.port else 0
        host: _SMTP | _SMTPSSL = _SMTPSSL(timeout=self.timeout) if mail.use_ssl else _SMTP(timeout=self.timeout)
        # smtplib keeps the server's name only when given it at construction (which would
        # connect before the attempt is attached); TLS (SMTPS and STARTTLS) sends it as the
        # server name and refuses an empty one.
        host._host = mail.server
        host.attempt = self.attempt
        self.attempt.attach(host)
        try:
            host.connect(mail.server, port)
            if mail.use_tls:
                host.starttls()
            if mail.username and mail.password:
                host.login(mail.username, mail.password)
        except BaseException:
            host.close()
            raise
        return host


class ConsoleEmailSender(TemplateEmailSender):
    """Prints the plain-text version of each message to ``stream`` (default: stdout).

    For development only: the printed messages contain verification codes and temporary
    passwords. Thread-safe (one lock around each message).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        stream: IO[str] | None = None,
        subjects: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(app, subjects)
        self._stream = stream
        self._lock = threading.Lock()

    def deliver(self, email: RenderedEmail) -> None:
        stream = self._stream or sys.stdout
        block = (
            f"----- email to {email.to} -----\n"
            f"Subject: {email.subject}\n\n"
            f"{email.text.rstrip()}\n"
            "----- end of email -----\n"
        )
        with self._lock:
            stream.write(block)
            stream.flush()
