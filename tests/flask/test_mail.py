"""Email senders: Flask-Mail over a real SMTP server (aiosmtpd), templates, the console sender."""

from __future__ import annotations

import io
import logging
import socket
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_mail import Mail

from faroe_flask import MemoryStorage, MemoryUserStore
from faroe_flask.flask.extension import Faroe
from faroe_flask.flask.mail import DEFAULT_SUBJECTS, ConsoleEmailSender, FlaskMailEmailSender

from ..conftest import BannedPasswords
from .conftest import FAST_HASHING, invoke
from .smtp import SMTPSink, secret_from, text_and_html

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


def our_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured log line except those of the test's own SMTP server (aiosmtpd's mail.log)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))


def mail_app(port: int, template_folder: str | None = None, **config: Any) -> Flask:
    app = Flask("faroe_mail_test", template_folder=template_folder)
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_DEFAULT_SENDER="Faroe <faroe@example.org>",
        **config,
    )
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
    with pytest.raises(RuntimeError, match="Flask-Mail"):
        FlaskMailEmailSender(Flask("no_mail"))
    app = Flask("no_sender")
    Mail(app)
    with pytest.raises(RuntimeError, match="MAIL_DEFAULT_SENDER"):
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
