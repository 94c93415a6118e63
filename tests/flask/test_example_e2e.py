"""End to end: ``python examples/app.py`` on a real waitress server, a real SMTP server (aiosmtpd)
on loopback, and SQLite / PostgreSQL / MariaDB; signup, signin and password reset over HTTP with
the codes read from the received mail (text and HTML parts)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ..backends import REDIS_URL_VARIABLE, redis_key_prefix
from .conftest import NEW_PASSWORD, PASSWORD
from .examples import load_example
from .smtp import SMTPSink, secret_from

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "app.py"
EMAIL = "e2e.user@example.com"
SECRET = "e2e-endpoint-secret"


@dataclasses.dataclass
class Example:
    url: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    secret: str | None

    def call(self, action: str, **arguments: str) -> dict[str, Any]:
        status, body = self.post(json.dumps({"action": action, "arguments": arguments}).encode())
        assert status == 200, (action, status)
        result: dict[str, Any] = json.loads(body)
        return result

    def ok(self, action: str, **arguments: str) -> dict[str, Any]:
        result = self.call(action, **arguments)
        assert result["ok"] is True, f"{action} failed with {result.get('error_code')}"
        values: dict[str, Any] = result["values"]
        return values

    def post(self, body: bytes, *, authorise: bool = True) -> tuple[int, bytes]:
        headers = {"Content-Type": "text/plain"}
        if authorise and self.secret:
            headers["Authorization"] = f"Bearer {self.secret}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read()

    def logs(self) -> str:
        return self.stderr.read_text(errors="replace")

    def printed(self) -> str:
        return self.stdout.read_text(errors="replace")


@contextlib.contextmanager
def run_example(tmp_path: Path, **env: str) -> Iterator[Example]:
    """Start ``python examples/app.py`` with only the given settings; stop it afterwards."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FAROE_", "MAIL_")) and key not in ("HOST", "PORT")
    }
    environment.update(HOST="127.0.0.1", PORT="0", PYTHONUNBUFFERED="1", **env)
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, str(EXAMPLE)], env=environment, stdout=out, stderr=err, cwd=tmp_path
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            match = re.search(r"Faroe endpoint: POST (http://\S+)", stdout.read_text(errors="replace"))
            if match:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the example did not start:\n" + stderr.read_text(errors="replace"))
            time.sleep(0.05)
        yield Example(match.group(1), process, stdout, stderr, env.get("FAROE_ENDPOINT_SECRET"))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _journey(example: Example, sink: SMTPSink) -> list[str]:
    """Signup, signin and password reset over HTTP with the codes from the mail; the secrets seen."""
    assert example.url.endswith("/faroe")
    # The endpoint secret is enforced.
    status, body = example.post(b'{"action":"create_signup","arguments":{"email_address":"x@example.com"}}',
                                authorise=False)
    assert (status, body) == (401, b"")

    # Signup, with the code from the mail.
    signup = example.ok("create_signup", email_address=EMAIL)
    code = secret_from(sink.last_to(EMAIL, "verification code"), 8)
    assert example.call("verify_signup_email_address_verification_code",
                        signup_token=signup["signup_token"],
                        email_address_verification_code="WRONGCDE")["error_code"] == "incorrect_email_address_verification_code"
    example.ok("verify_signup_email_address_verification_code", signup_token=signup["signup_token"],
               email_address_verification_code=code.lower())
    assert example.call("set_signup_password", signup_token=signup["signup_token"],
                        password="password123")["error_code"] == "weak_password"  # offline list
    example.ok("set_signup_password", signup_token=signup["signup_token"], password=PASSWORD)
    first_session = example.ok("complete_signup", signup_token=signup["signup_token"])
    user_id = first_session["session"]["user_id"]

    # Signin.
    signin = example.ok("create_signin", user_email_address=EMAIL)
    assert example.call("verify_signin_user_password", signin_token=signin["signin_token"],
                        password=NEW_PASSWORD)["error_code"] == "incorrect_password"
    example.ok("verify_signin_user_password", signin_token=signin["signin_token"], password=PASSWORD)
    second_session = example.ok("complete_signin", signin_token=signin["signin_token"])
    assert second_session["session"]["user_id"] == user_id
    sink.last_to(EMAIL, "New sign-in")
    got = example.ok("get_session", session_token=second_session["session_token"])
    assert got["session"]["id"] == second_session["session"]["id"]

    # Password reset, with the temporary password from the mail.
    reset = example.ok("create_user_password_reset", user_email_address=EMAIL)
    temporary_password = secret_from(sink.last_to(EMAIL, "temporary password"), 12)
    token = reset["user_password_reset_token"]
    example.ok("verify_user_password_reset_temporary_password", user_password_reset_token=token,
               temporary_password=temporary_password)
    example.ok("set_user_password_reset_new_password", user_password_reset_token=token,
               password=NEW_PASSWORD)
    third_session = example.ok("complete_user_password_reset", user_password_reset_token=token)
    assert third_session["session"]["user_id"] == user_id
    sink.last_to(EMAIL, "password was changed")

    # The new password signs in; the old one does not.
    signin = example.ok("create_signin", user_email_address=EMAIL)
    assert example.call("verify_signin_user_password", signin_token=signin["signin_token"],
                        password=PASSWORD)["error_code"] == "incorrect_password"
    example.ok("verify_signin_user_password", signin_token=signin["signin_token"], password=NEW_PASSWORD)
    example.ok("complete_signin", signin_token=signin["signin_token"])

    return [code, temporary_password, PASSWORD, NEW_PASSWORD, signup["signup_token"],
            first_session["session_token"], second_session["session_token"], token]


@contextlib.contextmanager
def _example_with_smtp(tmp_path: Path, **env: str) -> Iterator[tuple[Example, SMTPSink]]:
    with SMTPSink() as sink, run_example(
        tmp_path,
        FAROE_ENDPOINT_SECRET=SECRET,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(sink.port),
        MAIL_DEFAULT_SENDER="Faroe <faroe@example.org>",
        **env,
    ) as example:
        yield example, sink


def test_signup_signin_and_password_reset_over_http_with_smtp(
    database_url: str, tmp_path: Path
) -> None:
    with _example_with_smtp(tmp_path, FAROE_DATABASE_URL=database_url) as (example, sink):
        secrets = _journey(example, sink)
        logs = example.logs() + example.printed()
    for secret in secrets:
        assert secret not in logs


def test_the_journey_with_redis_storage_and_sqlite_users(tmp_path: Path) -> None:
    """``FAROE_STORAGE_URL=redis://...``: records and buckets on Redis under the key prefix, users
    in SQLite (whose storage table stays empty)."""
    database = tmp_path / "faroe.sqlite3"
    with redis_key_prefix() as (client, prefix), _example_with_smtp(
        tmp_path,
        FAROE_DATABASE_URL=f"sqlite:///{database}",
        FAROE_STORAGE_URL=os.environ[REDIS_URL_VARIABLE],
        FAROE_STORAGE_KEY_PREFIX=prefix,
    ) as (example, sink):
        secrets = _journey(example, sink)
        logs = example.logs() + example.printed()
        keys = {key.decode() for key in client.scan_iter(match=prefix + "*")}
    for secret in secrets:
        assert secret not in logs
    assert any(key.startswith(prefix + "aaah.") for key in keys)  # sessions
    assert any(key.startswith(prefix + "aaar.") for key in keys)  # the send-email bucket
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM faroe_users").fetchone() == (1,)
        assert connection.execute("SELECT count(*) FROM faroe_storage").fetchone() == (0,)


def test_console_email_without_mail_server(tmp_path: Path) -> None:
    """The README's first command: ``create_signup`` answers 200 ``ok`` and the code is printed."""
    with run_example(tmp_path, FAROE_DATABASE_URL=f"sqlite:///{tmp_path / 'faroe.sqlite3'}") as example:
        signup = example.ok("create_signup", email_address=EMAIL)
        match = re.search(r"verification code is:\s+([A-Z0-9]{8})", example.printed())
        assert match, example.printed()
        example.ok("verify_signup_email_address_verification_code", signup_token=signup["signup_token"],
                   email_address_verification_code=match.group(1))
        assert "is open" in example.logs()  # no FAROE_ENDPOINT_SECRET: warned once
        assert example.logs().count("is open") == 1


def test_rejecting_smtp_server_answers_internal_error_and_logs_no_secret(tmp_path: Path) -> None:
    with SMTPSink(reject=True) as sink, run_example(
        tmp_path,
        FAROE_DATABASE_URL=f"sqlite:///{tmp_path / 'faroe.sqlite3'}",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(sink.port),
    ) as example:
        result = example.call("create_signup", email_address=EMAIL)
        assert result["ok"] is False and result["error_code"] == "internal_error"
        code = secret_from(sink.last_to(EMAIL), 8)
        deadline = time.monotonic() + 10
        while "SMTPDataError" not in example.logs() and time.monotonic() < deadline:
            time.sleep(0.05)
        logs = example.logs()
    assert "create_signup" in logs and "SMTPDataError" in logs
    assert result["action_invocation_id"] in logs
    assert code not in logs and code not in example.printed()


def _load_example() -> ModuleType:
    return load_example(EXAMPLE.name, "faroe_example_app")


def test_example_defaults(tmp_path: Path) -> None:
    config = _load_example().config_from_environment({}, str(tmp_path / "instance"))
    assert config["FAROE_DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'faroe.sqlite3'}"
    assert (tmp_path / "instance").is_dir()
    assert config["FAROE_EMAIL_SENDER"] == "console"
    assert config["FAROE_PASSWORD_STRENGTH_CHECK"] == "offline"
    assert config["FAROE_ENDPOINT_SECRET"] is None
    assert config["FAROE_STORAGE_URL"] is None and config["FAROE_STORAGE_KEY_PREFIX"] == ""


def test_example_mail_settings(tmp_path: Path) -> None:
    config = _load_example().config_from_environment(
        {
            "MAIL_SERVER": "smtp.example.org",
            "MAIL_PORT": "465",
            "MAIL_USE_SSL": "true",
            "MAIL_USE_TLS": "0",
            "MAIL_USERNAME": "u",
            "MAIL_PASSWORD": "p",
            "FAROE_PASSWORD_STRENGTH_CHECK": "pwned",
            "FAROE_DATABASE_URL": "sqlite://",
        },
        str(tmp_path / "unused"),
    )
    assert config["FAROE_EMAIL_SENDER"] == "flask-mail"
    assert (config["MAIL_PORT"], config["MAIL_USE_SSL"], config["MAIL_USE_TLS"]) == (465, True, False)
    assert config["MAIL_DEFAULT_SENDER"] == "faroe@localhost"
    assert config["FAROE_PASSWORD_STRENGTH_CHECK"] == "pwned"
    assert not (tmp_path / "unused").exists()


def test_example_exits_on_an_unusable_database(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="did not start"):
        with run_example(tmp_path, FAROE_DATABASE_URL="sqlite:////nonexistent-dir/x/faroe.sqlite3"):
            pass  # pragma: no cover


def test_example_instance_folder_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    app = _load_example().create_app({"FAROE_DATABASE_URL": f"sqlite:///{tmp_path / 'f.sqlite3'}"})
    assert app.instance_path == str(EXAMPLE.parent / "instance")
    app.extensions["faroe"].engine.dispose()
