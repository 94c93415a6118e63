"""``FAROE_*`` configuration: defaults, parsing, and the parts the extension builds from it."""

from __future__ import annotations

import hashlib
import http.server
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from faroe_flask import MemoryStorage, MemoryUserStore
from faroe_flask.flask.config import DEFAULTS, ConfigError
from faroe_flask.core.strength import PwnedPasswordsChecker, StaticPasswordList
from faroe_flask.flask.extension import Faroe
from faroe_flask.flask.mail import ConsoleEmailSender, FlaskMailEmailSender
from faroe_flask.passwords import USER_PASSWORD_ARGON2ID, USER_PASSWORD_ARGON2ID_ALIAS

from ..conftest import CapturingEmailSender
from ..servers import run_http_server
from .conftest import FAST_HASHING, PASSWORD, values_of


def build(config: dict[str, Any] | None = None, **faroe_kwargs: Any) -> Flask:
    app = Flask("faroe_config_test")
    app.config.update(config or {})
    options: dict[str, Any] = dict(storage=MemoryStorage(), user_store=MemoryUserStore())
    options.update(faroe_kwargs)
    Faroe(app, **options)
    return app


def server_of(app: Flask) -> Any:
    return app.extensions["faroe"].server


def test_every_key_gets_its_default_and_app_values_win() -> None:
    app = build({"FAROE_URL_PREFIX": "/auth", "MAIL_DEFAULT_SENDER": "x@example.org"})
    for key, value in DEFAULTS.items():
        if key != "FAROE_URL_PREFIX":
            assert app.config[key] == value, key
    assert app.config["FAROE_URL_PREFIX"] == "/auth"


def test_default_parts() -> None:
    app = build({"MAIL_DEFAULT_SENDER": "x@example.org"})
    server = server_of(app)
    assert isinstance(server.password_strength_checker, PwnedPasswordsChecker)  # as the reference
    assert server.password_strength_checker.base_url == "https://api.pwnedpasswords.com"
    assert isinstance(server.email_sender, FlaskMailEmailSender)
    assert "mail" in app.extensions
    assert server.storage_key_prefix == ""
    assert server.session_config.expiration is None
    assert server.session_config.inactivity_timeout == timedelta(days=30)


def test_offline_strength_check_uses_the_bundled_list(make_app: Any) -> None:
    app = build({"FAROE_PASSWORD_STRENGTH_CHECK": "offline", "FAROE_EMAIL_SENDER": "console"})
    checker = server_of(app).password_strength_checker
    assert isinstance(checker, StaticPasswordList)
    assert len(checker) >= 10_000
    assert not checker.is_strong("password123")
    assert isinstance(server_of(app).email_sender, ConsoleEmailSender)


class _PwnedRange(http.server.BaseHTTPRequestHandler):
    """A local stand-in for the Pwned Passwords range API listing one breached password."""

    breached = hashlib.sha1(PASSWORD.encode()).hexdigest().upper()

    def do_GET(self) -> None:  # noqa: N802
        prefix = self.path.rsplit("/", 1)[-1].upper()
        lines = ["0018A45C4D1DEF81644B54AB7F969B88D65:1"]
        if self.breached.startswith(prefix):
            lines.append(f"{self.breached[5:]}:42")
        body = "\r\n".join(lines).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def pwned_url() -> Iterator[str]:
    with run_http_server(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PwnedRange)) as url:
        yield url


def test_pwned_mode_queries_the_configured_api(pwned_url: str, email_sender: CapturingEmailSender) -> None:
    app = build(
        {**FAST_HASHING, "FAROE_PWNED_PASSWORDS_URL": pwned_url, "FAROE_PWNED_PASSWORDS_TIMEOUT": "2.5"},
        email_sender=email_sender,
    )
    checker = server_of(app).password_strength_checker
    assert isinstance(checker, PwnedPasswordsChecker) and checker.timeout == 2.5
    client = app.test_client()
    token = values_of(client, "create_signup", email_address="user@example.com")["signup_token"]
    values_of(client, "verify_signup_email_address_verification_code", signup_token=token,
              email_address_verification_code=email_sender.last("signup_code")["code"])
    weak = client.post("/faroe", json={"action": "set_signup_password",
                                       "arguments": {"signup_token": token, "password": PASSWORD}})
    assert weak.get_json()["error_code"] == "weak_password"
    values_of(client, "set_signup_password", signup_token=token, password=PASSWORD + "!")


def test_argon2id_settings_from_strings() -> None:
    app = build({
        "FAROE_USER_PASSWORD_ARGON2_MEMORY_COST": "19456",
        "FAROE_USER_PASSWORD_ARGON2_TIME_COST": "2",
        "FAROE_TEMPORARY_PASSWORD_ARGON2_MEMORY_COST": 8192,
        "FAROE_MAX_CONCURRENT_PASSWORD_HASHING": "3",
        "FAROE_EMAIL_SENDER": "console",
    })
    passwords = server_of(app).passwords
    # The configured algorithm hashes; the recommended preset and its alias still verify (and
    # after them the verify-only FAROE_LEGACY_PASSWORD_HASHES).
    assert [algorithm.id for algorithm in passwords.user_algorithms][:3] == [
        "argon2id.19456.2.1.32", USER_PASSWORD_ARGON2ID.id, USER_PASSWORD_ARGON2ID_ALIAS.id
    ]
    assert passwords.temporary_algorithm.id == "argon2id.8192.3.1.32"


def test_default_algorithms_are_the_recommended_ones() -> None:
    from faroe_flask.flask.config import temporary_password_algorithm_from_config, user_password_algorithms_from_config

    assert [a.id for a in user_password_algorithms_from_config(DEFAULTS)] == [
        USER_PASSWORD_ARGON2ID.id, USER_PASSWORD_ARGON2ID_ALIAS.id
    ]
    assert temporary_password_algorithm_from_config(DEFAULTS).id == "argon2id.16384.3.1.32"


def test_session_settings() -> None:
    app = build({
        "FAROE_SESSION_INACTIVITY_TIMEOUT": "3600",
        "FAROE_SESSION_ACTIVITY_CHECK_INTERVAL": timedelta(seconds=30),
        "FAROE_SESSION_EXPIRATION": 86400,
        "FAROE_SESSION_USER_CACHE_EXPIRATION": "5",
        "FAROE_END_OTHER_SESSIONS_ON_PASSWORD_CHANGE": "true",
        "FAROE_STORAGE_KEY_PREFIX": "faroe.",
        "FAROE_EMAIL_SENDER": "console",
    })
    server = server_of(app)
    session = server.session_config
    assert session.inactivity_timeout == timedelta(hours=1)
    assert session.activity_check_interval == timedelta(seconds=30)
    assert session.expiration == timedelta(days=1)
    assert session.user_cache_expiration == timedelta(seconds=5)
    assert session.end_other_sessions_on_password_change is True
    assert server.storage_key_prefix == "faroe."


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"FAROE_PASSWORD_STRENGTH_CHECK": "none"}, "FAROE_PASSWORD_STRENGTH_CHECK"),
        ({"FAROE_EMAIL_SENDER": "pigeon"}, "FAROE_EMAIL_SENDER"),
        ({"FAROE_MAX_REQUEST_BYTES": "lots"}, "FAROE_MAX_REQUEST_BYTES"),
        ({"FAROE_MAX_REQUEST_BYTES": 0}, "FAROE_MAX_REQUEST_BYTES"),
        ({"FAROE_SESSION_INACTIVITY_TIMEOUT": 0}, "FAROE_SESSION_"),
        ({"FAROE_SESSION_EXPIRATION": "-5"}, "FAROE_SESSION_EXPIRATION"),
        ({"FAROE_USER_PASSWORD_ARGON2_TIME_COST": 0}, "FAROE_USER_PASSWORD_ARGON2_TIME_COST"),
        ({"FAROE_MAX_CONCURRENT_PASSWORD_HASHING": 0}, "FAROE_MAX_CONCURRENT_PASSWORD_HASHING"),
        ({"FAROE_PWNED_PASSWORDS_URL": "ftp://x"}, "FAROE_PWNED_PASSWORDS_URL"),
        ({"FAROE_PWNED_PASSWORDS_TIMEOUT": "0"}, "FAROE_PWNED_PASSWORDS_TIMEOUT"),
        ({"FAROE_ACTION_ALLOWLIST": ["a"], "FAROE_ACTION_BLOCKLIST": ["b"]}, "not both"),
        ({"FAROE_URL_PREFIX": "faroe"}, "FAROE_URL_PREFIX"),
        ({"FAROE_EMAIL_SUBJECTS": {"nope": "x"}}, "unknown email message"),
        ({"FAROE_END_OTHER_SESSIONS_ON_PASSWORD_CHANGE": "maybe"}, "FAROE_END_OTHER_SESSIONS"),
        ({"FAROE_HEALTH_PATH": "health"}, "FAROE_HEALTH_PATH"),
        ({"FAROE_METRICS_PATH": "metrics"}, "FAROE_METRICS_PATH"),
    ],
)
def test_unusable_values_are_reported_by_key(config: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        build({"FAROE_EMAIL_SENDER": "console", **config})


def test_a_database_is_required_without_parts() -> None:
    with pytest.raises(ConfigError, match="FAROE_DATABASE_URL"):
        build(storage=None, user_store=None)


def test_sql_parts_from_the_database_url(tmp_path: Path) -> None:
    from faroe_flask.sql import SQLStorage, SQLUserStore

    app = build({"FAROE_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}", "FAROE_EMAIL_SENDER": "console"},
                storage=None, user_store=None)
    state = app.extensions["faroe"]
    assert isinstance(state.storage, SQLStorage) and isinstance(state.user_store, SQLUserStore)
    assert state.engine is not None
    state.engine.dispose()


def test_legacy_password_hashes_are_verify_only_after_argon2id() -> None:
    from faroe_flask.legacy_passwords import NO_PASSWORD, WERKZEUG_DEFAULTS

    ids = [a.id for a in server_of(build({"FAROE_EMAIL_SENDER": "console"})).passwords.user_algorithms]
    assert ids == [USER_PASSWORD_ARGON2ID.id, USER_PASSWORD_ARGON2ID_ALIAS.id,
                   *(a.id for a in WERKZEUG_DEFAULTS), NO_PASSWORD.id]
    assert "werkzeug.scrypt.32768.8.1" in ids and "werkzeug.pbkdf2.sha256.600000" in ids

    class Custom:
        id = "custom.1"
        salt_size = 16

        def hash(self, password: str, salt: bytes) -> bytes:
            return b"x"

    custom = Custom()
    app = build({"FAROE_EMAIL_SENDER": "console",
                 "FAROE_LEGACY_PASSWORD_HASHES": ["werkzeug.scrypt.16384.8.1", custom, "werkzeug.scrypt.16384.8.1"]})
    algorithms = server_of(app).passwords.user_algorithms
    assert [a.id for a in algorithms] == [USER_PASSWORD_ARGON2ID.id, USER_PASSWORD_ARGON2ID_ALIAS.id,
                                          "werkzeug.scrypt.16384.8.1", "custom.1"]
    assert algorithms[3] is custom
    app = build({"FAROE_EMAIL_SENDER": "console", "FAROE_LEGACY_PASSWORD_HASHES": ""})
    assert len(server_of(app).passwords.user_algorithms) == 2
    for bad in ("werkzeug.md5.1", ["argon2id.1.1.1.32"], [42], 7):
        with pytest.raises(ConfigError, match="FAROE_LEGACY_PASSWORD_HASHES"):
            build({"FAROE_EMAIL_SENDER": "console", "FAROE_LEGACY_PASSWORD_HASHES": bad})


def test_table_names_for_the_sql_parts(tmp_path: Path) -> None:
    app = build({"FAROE_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}", "FAROE_EMAIL_SENDER": "console",
                 "FAROE_STORAGE_TABLE": "auth_kv", "FAROE_USERS_TABLE": "auth_users"},
                storage=None, user_store=None)
    state = app.extensions["faroe"]
    assert state.storage.table.name == "auth_kv" and state.user_store.table.name == "auth_users"
    state.engine.dispose()
    with pytest.raises(ConfigError, match="FAROE_STORAGE_TABLE"):
        build({"FAROE_DATABASE_URL": "sqlite:///x.db", "FAROE_STORAGE_TABLE": 3}, storage=None, user_store=None)


def test_the_guides_bcrypt_algorithm_plugs_in() -> None:
    """docs/existing-users.md's Bcrypt class, as written, verifies a hash made by bcrypt."""
    import re

    bcrypt = pytest.importorskip("bcrypt")
    guide = (Path(__file__).resolve().parents[2] / "docs" / "existing-users.md").read_text()
    (source,) = [b for b in re.findall(r"```python\n(.*?)```", guide, re.DOTALL) if "class Bcrypt" in b]
    app = Flask("faroe_bcrypt_test")
    app.config.update(FAST_HASHING, FAROE_EMAIL_SENDER="console", FAROE_PASSWORD_STRENGTH_CHECK="offline")
    namespace: dict[str, Any] = {"app": app}
    exec(compile(source, "existing-users.md", "exec"), namespace)
    user_store = MemoryUserStore()
    stored = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    # The guide's conversion: the whole string is the hash, its first 29 characters the salt.
    user_store.create_user("bcrypt@example.com", stored.encode(), "bcrypt", stored.encode()[:29])
    Faroe(app, storage=MemoryStorage(), user_store=user_store)
    client = app.test_client()
    token = values_of(client, "create_signin", user_email_address="bcrypt@example.com")["signin_token"]
    wrong = client.post("/faroe", json={"action": "verify_signin_user_password",
                                        "arguments": {"signin_token": token, "password": PASSWORD + "x"}})
    assert wrong.get_json()["error_code"] == "incorrect_password"
    values_of(client, "verify_signin_user_password", signin_token=token, password=PASSWORD)
    assert values_of(client, "complete_signin", signin_token=token)["session_token"]


def test_database_timeouts_from_the_configuration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    for value, busy_timeout in (("2.5", 2500), (timedelta(seconds=1), 1000)):
        app = build({"FAROE_DATABASE_URL": url, "FAROE_EMAIL_SENDER": "console",
                     "FAROE_DATABASE_STATEMENT_TIMEOUT": value}, storage=None, user_store=None)
        engine = app.extensions["faroe"].engine
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == busy_timeout
        engine.dispose()
    with pytest.raises(ConfigError, match="FAROE_DATABASE_STATEMENT_TIMEOUT"):
        build({"FAROE_DATABASE_URL": url, "FAROE_EMAIL_SENDER": "console",
               "FAROE_DATABASE_STATEMENT_TIMEOUT": "-1"}, storage=None, user_store=None)


def test_the_smtp_deadline_from_the_configuration() -> None:
    mail = {"FAROE_EMAIL_SENDER": "flask-mail", "MAIL_DEFAULT_SENDER": "faroe@example.org"}
    app = build({**mail, "FAROE_SMTP_DEADLINE": "7", "FAROE_SMTP_TIMEOUT": "3"}, email_sender=None)
    sender = app.extensions["faroe"].server.email_sender
    assert isinstance(sender, FlaskMailEmailSender) and (sender.deadline, sender.timeout) == (7.0, 3.0)
    with pytest.raises(ConfigError, match="FAROE_SMTP_DEADLINE"):
        build({**mail, "FAROE_SMTP_DEADLINE": "0"}, email_sender=None)
