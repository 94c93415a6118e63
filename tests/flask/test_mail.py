"""Email senders: Flask-Mail over a real SMTP server (aiosmtpd), templates, the console sender."""

from __future__ import annotations

import contextlib
import io
import logging
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_mail import Mail

from faroe_flask import MemoryStorage, MemoryUserStore
from faroe_flask.flask.extension import Faroe
from faroe_flask.flask.mail import (
    DEFAULT_SUBJECTS,
    ConsoleEmailSender,
    EmailRenderer,
    FlaskMailEmailSender,
    RenderedEmail,
    TemplateEmailSender,
)

from ..conftest import BannedPasswords
from .conftest import FAST_HASHING, invoke
from .smtp import SMTPSink, StalledSMTPServer, secret_from, self_signed_context, text_and_html

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


def our_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured log line except those of the test's own SMTP server (aiosmtpd's mail.log)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))


def mail_app(port: int, template_folder: str | None = None, **config: Any) -> Flask:
    app = Flask("faroe_mail_test", template_folder=template_folder)
    app.config.update({
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_DEFAULT_SENDER": "Faroe <faroe@example.org>",
        **config,
    })
    Mail(app)
    return app


def send_all_six(sender: Any) -> None:
    sender.send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
    sender.send_user_email_address_update_email_verification_code("b@example.com", "Bea", "JKLMNPQR")
    sender.send_user_password_reset_temporary_password("c@example.com", "", "ABCDEFGHJKLM")
    sender.send_user_signed_in_notification("d@example.com", "Dee", WHEN)
    sender.send_user_password_updated_notification("e@example.com", "Eve", WHEN)
    sender.send_user_email_address_updated_notification("f@example.com", "Fay", "new@example.com", WHEN)


def test_six_messages_as_text_and_html_from_a_worker_thread(caplog: pytest.LogCaptureFixture) -> None:
    """Sent from a plain thread (no app or request context), as on a waitress worker."""
    with SMTPSink() as sink, caplog.at_level(logging.DEBUG):
        sender = FlaskMailEmailSender(mail_app(sink.port))
        errors: list[BaseException] = []

        def run() -> None:
            try:
                send_all_six(sender)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=30)
        assert errors == []
        messages = sink.received()
    assert [str(m["To"]) for m in messages] == [f"{c}@example.com" for c in "abcdef"]
    assert [str(m["Subject"]) for m in messages] == [
        DEFAULT_SUBJECTS[name]
        for name in (
            "signup_email_address_verification_code",
            "user_email_address_update_email_verification_code",
            "user_password_reset_temporary_password",
            "user_signed_in_notification",
            "user_password_updated_notification",
            "user_email_address_updated_notification",
        )
    ]
    assert all(str(m["From"]) == "Faroe <faroe@example.org>" for m in messages)
    assert secret_from(messages[0], 8) == "ABCDEFGH"
    assert secret_from(messages[1], 8) == "JKLMNPQR"
    assert secret_from(messages[2], 12) == "ABCDEFGHJKLM"
    text, html = text_and_html(messages[1])
    assert "Hi Bea," in text and "Hi Bea," in html and "b@example.com" in text
    for message in messages[3:]:
        text, html = text_and_html(message)
        assert "2026-03-04 at 05:06 UTC" in text and "2026-03-04 at 05:06 UTC" in html
    text, html = text_and_html(messages[5])
    assert "new@example.com" in text and "new@example.com" in html
    # Nothing about the messages reaches the logs.
    for secret in ("ABCDEFGH", "JKLMNPQR", "ABCDEFGHJKLM", *DEFAULT_SUBJECTS.values()):
        assert secret not in our_logs(caplog)


def test_display_name_is_escaped_in_html_only() -> None:
    with SMTPSink() as sink:
        sender = FlaskMailEmailSender(mail_app(sink.port))
        sender.send_user_signed_in_notification("d@example.com", "<b>Dee</b>", WHEN)
        text, html = text_and_html(sink.received()[0])
    assert "Hi <b>Dee</b>," in text
    assert "&lt;b&gt;Dee&lt;/b&gt;" in html and "<b>Dee</b>" not in html


def test_app_templates_override_the_packaged_ones(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "faroe" / "email"
    folder.mkdir(parents=True)
    (folder / "signup_email_address_verification_code.txt").write_text("Custom code: {{ code }}\n")
    (folder / "layout.html").write_text("<html><body><i>Acme</i> {% block content %}{% endblock %}</body></html>")
    with SMTPSink() as sink:
        app = mail_app(sink.port, template_folder=str(tmp_path / "templates"))
        sender = FlaskMailEmailSender(app)
        sender.send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
        sender.send_user_password_updated_notification("e@example.com", "", WHEN)
        first, second = sink.received()
    text, html = text_and_html(first)
    assert text.strip() == "Custom code: ABCDEFGH"
    assert "<i>Acme</i>" in html and "ABCDEFGH" in html  # packaged page in the app's layout
    text, html = text_and_html(second)
    assert "password of your account was changed" in text  # not overridden
    assert "<i>Acme</i>" in html


def test_subjects_are_configurable(make_app: Any) -> None:
    with SMTPSink() as sink:
        app = mail_app(sink.port)
        sender = FlaskMailEmailSender(app, subjects={"signup_email_address_verification_code": "Welcome!"})
        sender.send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
        sender.send_user_signed_in_notification("d@example.com", "", WHEN)
        subjects = [str(m["Subject"]) for m in sink.received()]
    assert subjects == ["Welcome!", DEFAULT_SUBJECTS["user_signed_in_notification"]]
    with pytest.raises(ValueError, match="unknown email message"):
        FlaskMailEmailSender(app, subjects={"signup": "x"})


def test_sender_needs_flask_mail_and_a_default_sender() -> None:
    with pytest.raises(RuntimeError, match=r"^Flask-Mail is not initialised on this app: call flask_mail\.Mail\(app\)$"):
        FlaskMailEmailSender(Flask("no_mail"))
    app = Flask("no_sender")
    Mail(app)
    with pytest.raises(RuntimeError, match=r"^MAIL_DEFAULT_SENDER is not set$"):
        FlaskMailEmailSender(app)


def _extension_app(port: int, **config: Any) -> Flask:
    """The extension building its own Flask-Mail sender from config (Mail not initialised)."""
    app = Flask("faroe_mail_extension")
    app.config.update(
        FAST_HASHING,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_DEFAULT_SENDER="faroe@example.org",
        FAROE_EMAIL_SUBJECTS={"signup_email_address_verification_code": "Your code"},
        **config,
    )
    Faroe(app, storage=MemoryStorage(), user_store=MemoryUserStore(), password_strength_checker=BannedPasswords())
    return app


def test_extension_sends_through_flask_mail_on_requests() -> None:
    with SMTPSink() as sink:
        app = _extension_app(sink.port)
        assert "mail" in app.extensions
        result = invoke(app.test_client(), "create_signup", email_address="user@example.com")
        assert result["ok"] is True
        message = sink.last_to("user@example.com")
    assert str(message["Subject"]) == "Your code"
    assert len(secret_from(message, 8)) == 8


def test_a_rejecting_smtp_server_is_internal_error_logged_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with SMTPSink(reject=True) as sink, caplog.at_level(logging.DEBUG):
        app = _extension_app(sink.port)
        result = invoke(app.test_client(), "create_signup", email_address="user@example.com")
        rejected = sink.last_to("user@example.com")
    assert result["ok"] is False and result["error_code"] == "internal_error"
    code = secret_from(rejected, 8)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "faroe_flask"]
    assert len(errors) == 1
    line = errors[0].getMessage()
    assert "create_signup" in line and "SMTPDataError" in line
    logs = our_logs(caplog)
    assert "SMTPDataError" in logs
    assert code not in logs and "Your code" not in logs


def test_an_unreachable_smtp_server_is_internal_error(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound but not listening: connections are refused
        with caplog.at_level(logging.ERROR):
            app = _extension_app(port)
            result = invoke(app.test_client(), "create_signup", email_address="user@example.com")
    assert result["error_code"] == "internal_error"
    assert "ConnectionRefusedError" in caplog.text


class TestConsoleSender:
    def test_prints_the_text_message(self) -> None:
        stream = io.StringIO()
        sender = ConsoleEmailSender(stream=stream)
        sender.send_user_password_reset_temporary_password("c@example.com", "Cy", "ABCDEFGHJKLM")
        out = stream.getvalue()
        assert "email to c@example.com" in out
        assert "Subject: Your temporary password" in out
        assert "Hi Cy," in out and "ABCDEFGHJKLM" in out

    def test_uses_the_app_templates_and_stdout(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        folder = tmp_path / "faroe" / "email"
        folder.mkdir(parents=True)
        (folder / "user_signed_in_notification.txt").write_text("Signed in at {{ timestamp.year }}")
        sender = ConsoleEmailSender(Flask("console", template_folder=str(tmp_path)))
        sender.send_user_signed_in_notification("d@example.com", "", WHEN)
        assert "Signed in at 2026" in capsys.readouterr().out

    def test_extension_console_mode(self, make_app: Any, capsys: pytest.CaptureFixture[str]) -> None:
        app = make_app({"FAROE_EMAIL_SENDER": "console"}, email_sender=None)
        result = invoke(app.test_client(), "create_signup", email_address="user@example.com")
        assert result["ok"] is True
        assert "Your email address verification code is:" in capsys.readouterr().out


# Every message, the notices and the addresses that get none ---------------------------------------

NOTICES = ("signup_attempt_notification", "user_password_reset_attempt_notification")


def send_all_eight(sender: Any, domain: str = "example.com") -> None:
    """The six messages and the two notices, each to its own address and name."""
    sender.send_signup_email_address_verification_code(f"a@{domain}", "ABCDEFGH")
    sender.send_user_email_address_update_email_verification_code(f"b@{domain}", "Bea", "JKLMNPQR")
    sender.send_user_password_reset_temporary_password(f"c@{domain}", "Cyd", "ABCDEFGHJKLM")
    sender.send_user_signed_in_notification(f"d@{domain}", "Dee", WHEN)
    sender.send_user_password_updated_notification(f"e@{domain}", "Eve", WHEN)
    sender.send_user_email_address_updated_notification(f"f@{domain}", "Fay", "new@example.com", WHEN)
    sender.send_signup_attempt_notification(f"g@{domain}", "Gil", WHEN)
    sender.send_user_password_reset_attempt_notification(f"h@{domain}", "Hal", WHEN)


def test_every_message_greets_its_user_by_name_in_text_and_html() -> None:
    with SMTPSink() as sink:
        send_all_eight(FlaskMailEmailSender(mail_app(sink.port)))
        messages = sink.received()
    assert [str(m["To"]) for m in messages] == [f"{c}@example.com" for c in "abcdefgh"]
    assert [str(m["Subject"]) for m in messages] == [
        DEFAULT_SUBJECTS[name] for name in (
            "signup_email_address_verification_code", "user_email_address_update_email_verification_code",
            "user_password_reset_temporary_password", "user_signed_in_notification",
            "user_password_updated_notification", "user_email_address_updated_notification", *NOTICES,
        )
    ]
    for message, name in zip(messages[1:], ("Bea", "Cyd", "Dee", "Eve", "Fay", "Gil", "Hal")):
        text, html = text_and_html(message)
        assert text.startswith(f"Hi {name},") and f"<p>Hi {name},</p>" in html, name
    for message in messages[3:]:
        text, html = text_and_html(message)
        assert "2026-03-04 at 05:06 UTC" in text and "2026-03-04 at 05:06 UTC" in html
    for message, address in zip(messages[6:], ("g@example.com", "h@example.com")):
        text, html = text_and_html(message)
        assert f"({address})" in text and f"({address})" in html


def test_notifications_to_an_invalid_address_are_not_sent_and_the_rest_are() -> None:
    """RFC 6761's ``.invalid`` (any letter case): a placeholder address gets no notification; a
    code, a temporary password and the two notices of generic mode still go out."""
    with SMTPSink() as sink:
        sender = FlaskMailEmailSender(mail_app(sink.port))
        send_all_eight(sender, "users.INVALID")
        sender.send_user_signed_in_notification("x@users.invalid", "", WHEN)
        sender.send_user_signed_in_notification("y@invalid.example.com", "", WHEN)
        sender.send_user_password_updated_notification("z@example.invalid.org", "", WHEN)
        messages = sink.received()
    assert [str(m["To"]) for m in messages] == [
        "a@users.INVALID", "b@users.INVALID", "c@users.INVALID", "g@users.INVALID", "h@users.INVALID",
        "y@invalid.example.com", "z@example.invalid.org",
    ]


def test_the_console_sender_skips_the_same_notifications(tmp_path: Path) -> None:
    stream = io.StringIO()
    send_all_eight(ConsoleEmailSender(stream=stream), "users.invalid")
    assert [line for line in stream.getvalue().splitlines() if line.startswith("----- email to")] == [
        f"----- email to {c}@users.invalid -----" for c in "abcgh"
    ]


def test_a_rendered_email_shows_no_content_and_the_renderer_works_without_an_app() -> None:
    renderer = EmailRenderer()
    email = renderer.render("user_signed_in_notification", "d@example.com", display_name="<b>Dee</b>",
                            timestamp=WHEN)
    assert repr(email) == "RenderedEmail(user_signed_in_notification)"
    assert (email.message, email.to, email.subject) == (
        "user_signed_in_notification", "d@example.com", DEFAULT_SUBJECTS["user_signed_in_notification"]
    )
    assert email.text.startswith("Hi <b>Dee</b>,")
    assert "<p>Hi &lt;b&gt;Dee&lt;/b&gt;,</p>" in email.html and "<b>Dee</b>" not in email.html
    code = renderer.render("signup_email_address_verification_code", "a@example.com", code="ABCDEFGH")
    assert "ABCDEFGH" in code.text and "ABCDEFGH" in code.html
    with pytest.raises(ValueError, match=r"^unknown email message 'signup'$"):
        renderer.render("signup", "a@example.com")
    with pytest.raises(ValueError, match=r"^unknown email message names: a, b$"):
        EmailRenderer(subjects={"b": "x", "a": "y", "user_signed_in_notification": "z"})
    renamed = EmailRenderer(subjects={"user_signed_in_notification": "Signed in"})
    assert renamed.subjects["user_signed_in_notification"] == "Signed in"
    assert renamed.subjects["user_password_updated_notification"] == DEFAULT_SUBJECTS["user_password_updated_notification"]


def test_a_template_sender_needs_a_deliver_method() -> None:
    with pytest.raises(NotImplementedError):
        TemplateEmailSender().send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
    delivered: list[Any] = []

    class Collecting(TemplateEmailSender):
        def deliver(self, email: RenderedEmail) -> None:
            delivered.append(email)

    Collecting().send_user_password_updated_notification("e@example.com", "Eve", WHEN)
    assert [(e.message, e.to) for e in delivered] == [("user_password_updated_notification", "e@example.com")]


def _url_templates(tmp_path: Path) -> str:
    """App templates that need the app context (``url_for`` outside a request)."""
    folder = tmp_path / "templates" / "faroe" / "email"
    folder.mkdir(parents=True)
    (folder / "user_password_updated_notification.txt").write_text(
        "Changed. {{ url_for('static', filename='logo.png', _external=True) }}\n"
    )
    return str(tmp_path / "templates")


def test_app_templates_render_in_the_apps_context_from_any_thread(tmp_path: Path) -> None:
    templates = _url_templates(tmp_path)
    with SMTPSink() as sink:
        app = mail_app(sink.port, template_folder=templates, SERVER_NAME="auth.example.org")
        sender = FlaskMailEmailSender(app)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                sender.send_user_password_updated_notification("e@example.com", "Eve", WHEN)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(30)
        assert errors == []
        text, _ = text_and_html(sink.received()[0])
    assert text.strip() == "Changed. http://auth.example.org/static/logo.png"
    stream = io.StringIO()
    app = Flask("console_urls", template_folder=templates)
    app.config["SERVER_NAME"] = "auth.example.org"
    ConsoleEmailSender(app, stream=stream).send_user_password_updated_notification("e@example.com", "", WHEN)
    assert "Changed. http://auth.example.org/static/logo.png" in stream.getvalue()


def test_the_console_block_word_for_word_flushed(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "faroe" / "email"
    folder.mkdir(parents=True)
    (folder / "signup_email_address_verification_code.txt").write_text("Your code: {{ code }}  \n\n\n")
    app = Flask("console_block", template_folder=str(tmp_path / "templates"))
    path = tmp_path / "console.txt"
    with path.open("w", encoding="utf-8") as stream:
        sender = ConsoleEmailSender(app, stream=stream, subjects={"signup_email_address_verification_code": "Code"})
        sender.send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
        written = path.read_text(encoding="utf-8")  # before the file is closed: flushed
    assert written == (
        "----- email to a@example.com -----\nSubject: Code\n\nYour code: ABCDEFGH\n----- end of email -----\n"
    )


# The Flask-Mail sender's settings ----------------------------------------------------------------


def test_the_senders_bounds_are_checked_and_default_to_the_documented_values() -> None:
    app = mail_app(25)
    sender = FlaskMailEmailSender(app)
    assert (sender.timeout, sender.deadline) == (10.0, 15.0)
    bad_times: list[dict[str, Any]] = [{"timeout": 0}, {"deadline": 0}, {"timeout": -1.0}]
    for bad in bad_times:
        with pytest.raises(ValueError, match=r"^timeout and deadline must be positive$"):
            FlaskMailEmailSender(app, **bad)
    bad_counts: list[dict[str, Any]] = [{"max_pending_sends": 0}, {"max_concurrent_sends": 0}, {"max_queued_sends": -1}]
    for bad in bad_counts:
        with pytest.raises(ValueError, match=r"^max_pending_sends and max_concurrent_sends must be at least 1, "
                                             r"max_queued_sends at least 0$"):
            FlaskMailEmailSender(app, **bad)
    small = FlaskMailEmailSender(app, timeout=0.5, deadline=0.5, max_pending_sends=1, max_concurrent_sends=1,
                                 max_queued_sends=0)
    assert (small.timeout, small.deadline) == (0.5, 0.5)


def test_by_default_two_conversations_run_and_two_sends_wait_for_them() -> None:
    """Five sends at once to a relay that never answers: two talk to it, two wait in the queue
    (within their deadline), the fifth fails at once."""
    with StalledSMTPServer("silent") as smtp:
        app = Flask("faroe_default_bounds")
        app.config.update(MAIL_SERVER=smtp.host, MAIL_PORT=smtp.port, MAIL_DEFAULT_SENDER="f@example.org")
        Mail(app)
        sender = FlaskMailEmailSender(app, deadline=1.0)
        outcomes: list[tuple[str, float]] = []
        lock = threading.Lock()

        def send() -> None:
            started = time.monotonic()
            try:
                sender.send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
                outcome = "sent"
            except (RuntimeError, TimeoutError) as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            with lock:
                outcomes.append((outcome, time.monotonic() - started))

        threads = [threading.Thread(target=send) for _ in range(4)]
        for thread in threads:
            thread.start()
            time.sleep(0.1)
        send()  # the fifth
        talking = smtp.accepted  # before the first deadline: the conversations so far
        for thread in threads:
            thread.join(10)
    assert outcomes[0][0] == "RuntimeError: too many SMTP sends are running or waiting" and outcomes[0][1] < 0.3
    assert talking == 2
    # The other four end by their deadline; two of them talked first, the queued two once a
    # conversation was free, for what was left of their deadline.
    assert [outcome.split(":")[0] for outcome, _ in outcomes[1:]] == ["TimeoutError"] * 4
    assert all(0.9 < elapsed < 1.5 for _, elapsed in outcomes[1:]), outcomes


@pytest.mark.parametrize("use_ssl", [False, True], ids=["smtp", "smtps"])
def test_each_smtp_read_is_bounded_by_the_timeout_within_the_deadline(use_ssl: bool) -> None:
    """A relay that never greets (nor answers the TLS handshake): the socket timeout ends the
    send long before the deadline."""
    with StalledSMTPServer("silent") as smtp:
        app = Flask("faroe_smtp_timeout")
        app.config.update(MAIL_SERVER=smtp.host, MAIL_PORT=smtp.port, MAIL_DEFAULT_SENDER="f@example.org",
                          MAIL_USE_SSL=use_ssl)
        Mail(app)
        sender = FlaskMailEmailSender(app, timeout=0.3, deadline=5.0)
        started = time.monotonic()
        with pytest.raises(OSError) as raised:  # SMTPServerDisconnected, or the handshake's TimeoutError
            sender.send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
        assert time.monotonic() - started < 2
        assert "took longer than" not in str(raised.value)  # not the deadline


def test_deliver_sends_a_rendered_email_outside_any_app_context() -> None:
    with SMTPSink() as sink:
        app = mail_app(sink.port)
        sender = FlaskMailEmailSender(app)
        with app.app_context():
            email = sender.renderer.render("user_password_updated_notification", "e@example.com",
                                           display_name="Eve", timestamp=WHEN)
        sender.deliver(email)  # no app context here
        (message,) = sink.received()
    assert str(message["From"]) == "Faroe <faroe@example.org>" and str(message["To"]) == "e@example.com"


@contextlib.contextmanager
def _full_backlog() -> Iterator[tuple[int, socket.socket]]:
    """A loopback port whose listen backlog is full: a new connection hangs in ``connect``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.1)
        yield port, listener
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_close_waits_at_most_its_deadline_for_a_helper_stuck_connecting() -> None:
    """A helper still in ``connect`` outlives its send's deadline (no socket to shut down yet)."""
    def helpers() -> int:
        return sum(thread.name == "faroe-smtp-send" for thread in threading.enumerate())

    with _full_backlog() as (port, listener):
        sender = FlaskMailEmailSender(mail_app(port), timeout=5.0, deadline=0.4, max_pending_sends=2)
        with pytest.raises(TimeoutError, match=r"^sending the email took longer than 0\.\d+ s$"):
            sender.send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
        assert helpers() == 1  # still connecting
        started = time.monotonic()
        sender.close()
        assert 0.3 < time.monotonic() - started < 0.9
        assert helpers() == 1
        # The connection goes through (a silent server): the helper, given up on, shuts its
        # new socket down at once instead of waiting for a greeting until its timeout.
        listener.settimeout(0.1)
        accepted = []
        deadline = time.monotonic() + 3.5
        while helpers() and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])
        assert helpers() == 0
        for connection in accepted:
            connection.close()


def test_a_relay_on_its_own_address_and_the_default_port() -> None:
    """``MAIL_SERVER`` is the host connected to, and no ``MAIL_PORT`` means SMTP's port 25."""
    try:
        sink = SMTPSink(host="127.0.0.2", port=25).__enter__()
    except OSError:
        pytest.skip("127.0.0.2:25 is not available")
    try:
        for port in (None, 25):
            app = mail_app(0, MAIL_SERVER="127.0.0.2", MAIL_PORT=port)
            FlaskMailEmailSender(app).send_signup_email_address_verification_code(f"{port}@example.com", "ABCDEFGH")
        assert [str(m["To"]) for m in sink.received()] == ["None@example.com", "25@example.com"]
    finally:
        sink.__exit__(None, None, None)


# TLS and logins -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    return self_signed_context(tmp_path_factory.mktemp("smtp_tls"))


def test_starttls_then_login_when_configured(tls_context: ssl.SSLContext) -> None:
    with SMTPSink(starttls=tls_context, logins={"faroe": "s3cret"}) as sink:
        app = mail_app(sink.port, MAIL_USE_TLS=True, MAIL_USERNAME="faroe", MAIL_PASSWORD="s3cret")
        FlaskMailEmailSender(app).send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
        (message,) = sink.received()  # the sink takes no mail before STARTTLS
    assert secret_from(message, 8) == "ABCDEFGH"
    assert sink.logins == [("faroe", "s3cret", True)]  # logged in over TLS


@pytest.mark.parametrize("starttls", [False, True], ids=["smtps", "starttls"])
def test_tls_from_the_first_byte_or_after_starttls_names_the_server(
    tls_context: ssl.SSLContext, starttls: bool,
) -> None:
    """The TLS handshake names ``MAIL_SERVER`` (SNI), as a relay behind a shared address needs."""
    names: list[str | None] = []
    tls_context.sni_callback = lambda _socket, name, _context: names.append(name)
    try:
        sink_options: dict[str, Any] = {"starttls": tls_context} if starttls else {"implicit_tls": tls_context}
        with SMTPSink(**sink_options) as sink:
            tls: dict[str, Any] = {"MAIL_USE_TLS": True} if starttls else {"MAIL_USE_SSL": True}
            app = mail_app(sink.port, MAIL_SERVER="localhost", **tls)
            FlaskMailEmailSender(app).send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
            (message,) = sink.received()
    finally:
        tls_context.sni_callback = None
    assert secret_from(message, 8) == "ABCDEFGH"
    assert names == ["localhost"]


def test_no_login_without_both_a_username_and_a_password() -> None:
    with SMTPSink(logins={"faroe": "s3cret"}) as sink:
        for credentials in ({"MAIL_USERNAME": "faroe"}, {"MAIL_PASSWORD": "s3cret"}):
            app = mail_app(sink.port, **credentials)
            FlaskMailEmailSender(app).send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
        assert len(sink.received()) == 2
    assert sink.logins == []


def test_a_refused_login_fails_the_send() -> None:
    with SMTPSink(logins={"faroe": "s3cret"}) as sink:
        app = mail_app(sink.port, MAIL_USERNAME="faroe", MAIL_PASSWORD="wrong")
        sender = FlaskMailEmailSender(app)
        with pytest.raises(smtplib.SMTPAuthenticationError):
            sender.send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
        assert sink.received() == []
        assert set(sink.logins) == {("faroe", "wrong", False)}  # smtplib tries each mechanism offered


def test_a_relay_hanging_after_starttls_is_cut_at_the_deadline(tls_context: ssl.SSLContext) -> None:
    """The deadline shuts the TLS socket down (STARTTLS replaced the first one): the helper ends
    at once instead of waiting for its socket timeout."""
    def helpers() -> int:
        return sum(thread.name == "faroe-smtp-send" for thread in threading.enumerate())

    with SMTPSink(starttls=tls_context, stall_mail=8) as sink:
        app = mail_app(sink.port, MAIL_USE_TLS=True)
        sender = FlaskMailEmailSender(app, timeout=6.0, deadline=1.0)
        with pytest.raises(TimeoutError):
            sender.send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
        deadline = time.monotonic() + 1.5
        while helpers() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert helpers() == 0


def test_by_default_64_helpers_may_be_left_running(tmp_path: Path) -> None:
    """Helpers given up on while connecting keep their slot until they end: the 65th send fails at
    once (``max_pending_sends`` 64)."""
    with _full_backlog() as (port, _):
        sender = FlaskMailEmailSender(mail_app(port), timeout=30.0, deadline=0.02)
        for _ in range(64):
            with pytest.raises(TimeoutError):
                sender.send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
        with pytest.raises(RuntimeError, match=r"^too many SMTP sends are still running$"):
            sender.send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")
    deadline = time.monotonic() + 10
    while any(t.name == "faroe-smtp-send" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_send_waiting_for_a_conversation_gives_up_at_its_own_deadline() -> None:
    """``deadline`` is read by each send: a send that waits for the one conversation, held by a
    send with a longer deadline, gives up at its own, before or after the conversation is free."""
    with StalledSMTPServer("silent") as smtp:
        app = Flask("faroe_conversation_wait")
        app.config.update(MAIL_SERVER=smtp.host, MAIL_PORT=smtp.port, MAIL_DEFAULT_SENDER="f@example.org")
        Mail(app)
        sender = FlaskMailEmailSender(app, timeout=10, deadline=2.0, max_concurrent_sends=1, max_queued_sends=1)

        def hold() -> None:
            with pytest.raises(TimeoutError):
                sender.send_signup_email_address_verification_code("a@example.com", "ABCDEFGH")

        # The conversation is held for 2 s; this send's deadline is 0.5 s: it stops waiting then.
        holder = threading.Thread(target=hold)
        holder.start()
        time.sleep(0.2)
        sender.deadline = 0.5
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"^no SMTP conversation was free within 0\.5 s$"):
            sender.send_signup_email_address_verification_code("b@example.com", "ABCDEFGH")
        assert 0.4 < time.monotonic() - started < 1.2
        holder.join(10)

        # Held for 1 s by a send with that deadline; the next one waits with 3 s, but its
        # deadline is 0.3 s by the time the conversation is free: it gives up without sending.
        sender.deadline = 1.0
        holder = threading.Thread(target=hold)
        holder.start()
        time.sleep(0.1)
        sender.deadline = 3.0
        outcome: list[BaseException] = []

        def wait() -> None:
            try:
                sender.send_signup_email_address_verification_code("c@example.com", "ABCDEFGH")
            except BaseException as exc:  # noqa: BLE001
                outcome.append(exc)

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.2)
        sender.deadline = 0.3
        holder.join(10)
        waiter.join(10)
        accepted = smtp.accepted
    assert [f"{type(exc).__name__}: {exc}" for exc in outcome] == [
        "TimeoutError: no SMTP conversation was free within 0.3 s"
    ]
    assert accepted == 2  # the two holders; the waiters never connected
