"""The ``FAROE_*`` configuration keys: their defaults and how they are read.

``DEFAULTS`` is the one list of keys; ``Faroe.init_app`` puts each into ``app.config`` with
``setdefault``. ``EndpointSettings.from_config`` and the ``*_from_config`` helpers turn the raw
values (which may come from environment variables as strings) into typed objects and raise
``ConfigError`` with the key's name when a value is unusable.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from ..core.action_names import require_known_action_names
from ..core.interfaces import PasswordHashAlgorithm
from ..core.sessions import SessionConfig
from ..legacy_passwords import WERKZEUG_DEFAULTS, legacy_algorithm
from ..passwords import (
    TEMPORARY_PASSWORD_ARGON2ID,
    USER_PASSWORD_ARGON2ID,
    Argon2id,
    recommended_user_password_hash_algorithms,
)

__all__ = [
    "ConfigError",
    "DEFAULTS",
    "STRENGTH_CHECK_MODES",
    "EMAIL_SENDERS",
    "EndpointSettings",
    "session_config_from_config",
    "user_password_algorithms_from_config",
    "legacy_password_algorithms_from_config",
    "table_names",
    "alembic_config_path",
    "temporary_password_algorithm_from_config",
    "strength_check_mode",
    "email_sender_kind",
    "pwned_settings",
    "max_concurrent_password_hashing",
    "smtp_timeout",
    "smtp_deadline",
    "database_timeouts",
    "optional_path",
    "storage_key_prefix",
    "RedisSettings",
    "redis_settings",
    "email_subjects",
    "url_prefix",
    "SAMESITE_VALUES",
    "ViewSettings",
]

STRENGTH_CHECK_MODES = ("pwned", "offline")
EMAIL_SENDERS = ("flask-mail", "console")
SAMESITE_VALUES = ("Lax", "Strict", "None")

_SESSION_DEFAULTS = SessionConfig()

DEFAULTS: Mapping[str, Any] = {
    # Where Faroe keeps its records and reads users (when storage/user_store are not passed in).
    "FAROE_DATABASE_URL": None,
    "FAROE_STORAGE_URL": None,
    "FAROE_STORAGE_KEY_PREFIX": "",
    "FAROE_STORAGE_TABLE": "faroe_storage",
    "FAROE_USERS_TABLE": "faroe_users",  # "" or None: the application brings its own users table
    "FAROE_ALEMBIC_CONFIG": None,  # the application's alembic.ini, for `flask faroe db`
    # Redis storage (used when FAROE_STORAGE_URL is a Redis URL).
    "FAROE_REDIS_MAX_CONNECTIONS": 32,
    "FAROE_REDIS_SOCKET_TIMEOUT": 5.0,
    "FAROE_REDIS_SOCKET_CONNECT_TIMEOUT": 5.0,
    # The endpoint.
    "FAROE_URL_PREFIX": "/faroe",
    "FAROE_ENDPOINT_SECRET": None,
    "FAROE_ACTION_ALLOWLIST": None,
    "FAROE_ACTION_BLOCKLIST": (),
    "FAROE_CORS_ALLOWED_ORIGINS": "*",
    "FAROE_CORS_ALLOWED_HEADERS": "Content-Type",
    "FAROE_MAX_REQUEST_BYTES": 64 * 1024,
    # Password hashing.
    "FAROE_USER_PASSWORD_ARGON2_MEMORY_COST": USER_PASSWORD_ARGON2ID.memory_cost,
    "FAROE_USER_PASSWORD_ARGON2_TIME_COST": USER_PASSWORD_ARGON2ID.time_cost,
    "FAROE_USER_PASSWORD_ARGON2_PARALLELISM": USER_PASSWORD_ARGON2ID.parallelism,
    "FAROE_TEMPORARY_PASSWORD_ARGON2_MEMORY_COST": TEMPORARY_PASSWORD_ARGON2ID.memory_cost,
    "FAROE_TEMPORARY_PASSWORD_ARGON2_TIME_COST": TEMPORARY_PASSWORD_ARGON2ID.time_cost,
    "FAROE_TEMPORARY_PASSWORD_ARGON2_PARALLELISM": TEMPORARY_PASSWORD_ARGON2ID.parallelism,
    "FAROE_MAX_CONCURRENT_PASSWORD_HASHING": None,
    "FAROE_LEGACY_PASSWORD_HASHES": ("werkzeug", "none"),
    # Sessions, in seconds (or timedelta).
    "FAROE_SESSION_INACTIVITY_TIMEOUT": int(_SESSION_DEFAULTS.inactivity_timeout.total_seconds()),
    "FAROE_SESSION_ACTIVITY_CHECK_INTERVAL": int(
        _SESSION_DEFAULTS.activity_check_interval.total_seconds()
    ),
    "FAROE_SESSION_EXPIRATION": 0,
    "FAROE_SESSION_USER_CACHE_EXPIRATION": int(
        _SESSION_DEFAULTS.user_cache_expiration.total_seconds()
    ),
    "FAROE_END_OTHER_SESSIONS_ON_PASSWORD_CHANGE": False,
    # New passwords.
    "FAROE_PASSWORD_STRENGTH_CHECK": "pwned",
    "FAROE_PWNED_PASSWORDS_URL": "https://api.pwnedpasswords.com",
    "FAROE_PWNED_PASSWORDS_TIMEOUT": 10.0,
    # Email.
    "FAROE_EMAIL_SENDER": "flask-mail",
    "FAROE_EMAIL_SUBJECTS": {},
    "FAROE_SMTP_TIMEOUT": 10.0,
    "FAROE_SMTP_DEADLINE": 15.0,
    # Sessions in the application's own views (faroe_flask.flask.views).
    "FAROE_SESSION_COOKIE_NAME": "faroe_session",
    "FAROE_SESSION_COOKIE_SECURE": True,
    "FAROE_SESSION_COOKIE_HTTPONLY": True,
    "FAROE_SESSION_COOKIE_SAMESITE": "Lax",
    "FAROE_SESSION_COOKIE_PATH": "/",
    "FAROE_SESSION_COOKIE_DOMAIN": None,
    "FAROE_SESSION_COOKIE_REFRESH_EACH_REQUEST": True,
    "FAROE_SESSION_ACCEPT_BEARER": True,
    "FAROE_LOGIN_VIEW": None,
    "FAROE_FRESH_SESSION_MAX_AGE": 600,
    # Bounded waits on the database (seconds; None: the database's own default).
    "FAROE_DATABASE_STATEMENT_TIMEOUT": 5.0,
    "FAROE_DATABASE_CONNECT_TIMEOUT": 5.0,
    # Serving with waitress (``serve(app)``, ``flask faroe serve``).
    "FAROE_SERVE_LISTEN": "127.0.0.1:8080",
    "FAROE_SERVE_THREADS": 8,
    "FAROE_SERVE_CONNECTION_LIMIT": 1000,
    "FAROE_SERVE_CHANNEL_TIMEOUT": 30,
    "FAROE_SERVE_RECEIVE_TIMEOUT": 30,
    "FAROE_SERVE_TRUSTED_PROXY": None,
    "FAROE_SERVE_TRUSTED_PROXY_COUNT": None,
    "FAROE_SERVE_TRUSTED_PROXY_HEADERS": (),
    "FAROE_SERVE_CLEAR_UNTRUSTED_PROXY_HEADERS": True,
    # Operations: off unless a path is set.
    "FAROE_HEALTH_PATH": None,
    "FAROE_METRICS_PATH": None,
    # Safe on the open internet (faroe_flask.flask.client_limits, .captcha, .fair_connections,
    # .rejections; docs/limits.md).
    # "on" | "off" (or a bool): every per-client limit at once; "off" for test suites and load tests.
    "FAROE_CLIENT_LIMITS": "on",
    # Emails (sign-up codes, temporary passwords, email-update codes) one client may cause:
    # "N/minute" (second, minute, hour, day; "N/5 minutes"), (N, seconds per token), or None (no limit).
    "FAROE_CLIENT_EMAIL_LIMIT": "10/minute",
    # Password checks and hashes one client may cause, across every account: as above.
    "FAROE_CLIENT_PASSWORD_LIMIT": "30/minute",
    # Header (str) in which an authenticated endpoint caller forwards its end user's IP address;
    # None: never read.
    "FAROE_CLIENT_ADDRESS_HEADER": "Faroe-Client-Address",
    # IPv6 clients are counted per network of this many leading bits (int, 1-128).
    "FAROE_CLIENT_IPV6_PREFIX": 64,
    # Captcha provider: "turnstile" | "hcaptcha" | "recaptcha"; None: no captcha.
    "FAROE_CAPTCHA_PROVIDER": None,
    # The provider's public site key (str), shown in the pages' widget.
    "FAROE_CAPTCHA_SITE_KEY": None,
    # The provider's secret key (str), sent to its siteverify URL only.
    "FAROE_CAPTCHA_SECRET_KEY": None,
    # Actions that need a solved captcha (names, list or comma-separated str).
    "FAROE_CAPTCHA_ACTIONS": ("create_signup", "create_signin", "create_user_password_reset"),
    # Seconds (float) one siteverify call may take in all; past it the action is refused (503).
    "FAROE_CAPTCHA_TIMEOUT": 5.0,
    # Siteverify calls (int) that may run at once; a further one is refused at once (503).
    "FAROE_CAPTCHA_MAX_CONCURRENT_CHECKS": 2,
    # Least reCAPTCHA v3 score (float, 0-1) a token needs; None: the score is not checked.
    "FAROE_CAPTCHA_MIN_SCORE": None,
    # siteverify URL (str); None: the provider's.
    "FAROE_CAPTCHA_VERIFY_URL": None,
    # The widget's script URL (str); None: the provider's.
    "FAROE_CAPTCHA_SCRIPT_URL": None,
    # SMTP conversations (int) that may run at once; a send that finds them busy waits (below).
    "FAROE_SMTP_MAX_CONCURRENT_SENDS": 2,
    # Sends (int) that may wait for a free SMTP conversation; a further send fails at once.
    "FAROE_SMTP_MAX_QUEUED_SENDS": 2,
    # Open connections (int) one client address may hold in serve(); 0 or None: no cap.
    "FAROE_SERVE_CONNECTIONS_PER_ADDRESS": 50,
    # Seconds (float) over which repeated rejections are summarised in one log line.
    "FAROE_REJECTION_LOG_INTERVAL": 60.0,
    # Token (str) the health and metrics routes require as "Authorization: Bearer <token>"; None: open.
    "FAROE_OPERATIONS_TOKEN": None,
}


class ConfigError(ValueError):
    """A ``FAROE_*`` value is missing or unusable. The message names the key, never the value."""


def _bool(config: Mapping[str, Any], key: str) -> bool:
    value = config.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("", "0", "false", "no", "off"):
        return False
    if value is None:
        return False
    raise ConfigError(f"{key} must be a boolean")


def _int(config: Mapping[str, Any], key: str, *, minimum: int) -> int:
    value: Any = config.get(key)
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum:
        raise ConfigError(f"{key} must be an integer of at least {minimum}")
    return number


def _optional_int(config: Mapping[str, Any], key: str, *, minimum: int) -> int | None:
    value = config.get(key)
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    return _int(config, key, minimum=minimum)


def _float(config: Mapping[str, Any], key: str) -> float:
    value: Any = config.get(key)
    try:
        number = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        number = float("nan")
    if not number > 0:
        raise ConfigError(f"{key} must be a positive number")
    return number


def _duration(config: Mapping[str, Any], key: str) -> timedelta:
    value: Any = config.get(key)
    if isinstance(value, timedelta):
        return value
    try:
        seconds = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        seconds = float("nan")
    if not seconds >= 0:
        raise ConfigError(f"{key} must be a number of seconds or a timedelta")
    return timedelta(seconds=seconds)


def _names(config: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    """A list of names: a comma-separated string or an iterable of strings; ``None`` stays None."""
    value = config.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(name.strip() for name in value.split(",") if name.strip())
    try:
        names = tuple(value)
    except TypeError:
        raise ConfigError(f"{key} must be a list of names or a comma-separated string") from None
    if not all(isinstance(name, str) for name in names):
        raise ConfigError(f"{key} must hold strings only")
    return names


@dataclasses.dataclass(frozen=True)
class EndpointSettings:
    """What the endpoint view needs at request time."""

    endpoint_secret: str | None
    allowlist: tuple[str, ...] | None
    blocklist: tuple[str, ...]
    cors_allowed_origins: tuple[str, ...]
    cors_allowed_headers: str
    max_request_bytes: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EndpointSettings:
        secret = config.get("FAROE_ENDPOINT_SECRET")
        if secret is not None and not isinstance(secret, str):
            raise ConfigError("FAROE_ENDPOINT_SECRET must be a string")
        allowlist = _names(config, "FAROE_ACTION_ALLOWLIST")
        blocklist = _names(config, "FAROE_ACTION_BLOCKLIST") or ()
        if allowlist is not None and blocklist:
            raise ConfigError("set FAROE_ACTION_ALLOWLIST or FAROE_ACTION_BLOCKLIST, not both")
        for key, names in (("FAROE_ACTION_ALLOWLIST", allowlist), ("FAROE_ACTION_BLOCKLIST", blocklist)):
            try:
                require_known_action_names(names or (), key)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        origins = _names(config, "FAROE_CORS_ALLOWED_ORIGINS") or ()
        headers = config.get("FAROE_CORS_ALLOWED_HEADERS") or ""
        if not isinstance(headers, str):
            headers_tuple = _names(config, "FAROE_CORS_ALLOWED_HEADERS") or ()
            headers = ", ".join(headers_tuple)
        return cls(
            endpoint_secret=secret or None,
            allowlist=allowlist,
            blocklist=blocklist,
            cors_allowed_origins=origins,
            cors_allowed_headers=headers,
            max_request_bytes=_int(config, "FAROE_MAX_REQUEST_BYTES", minimum=1),
        )


def session_config_from_config(config: Mapping[str, Any]) -> SessionConfig:
    expiration = _duration(config, "FAROE_SESSION_EXPIRATION")
    try:
        return SessionConfig(
            inactivity_timeout=_duration(config, "FAROE_SESSION_INACTIVITY_TIMEOUT"),
            activity_check_interval=_duration(config, "FAROE_SESSION_ACTIVITY_CHECK_INTERVAL"),
            expiration=expiration if expiration > timedelta(0) else None,
            user_cache_expiration=_duration(config, "FAROE_SESSION_USER_CACHE_EXPIRATION"),
            end_other_sessions_on_password_change=_bool(
                config, "FAROE_END_OTHER_SESSIONS_ON_PASSWORD_CHANGE"
            ),
        )
    except ValueError as exc:
        raise ConfigError(f"FAROE_SESSION_*: {exc}") from None


def _argon2id(config: Mapping[str, Any], prefix: str) -> Argon2id:
    try:
        return Argon2id(
            memory_cost=_int(config, f"{prefix}_MEMORY_COST", minimum=8),
            time_cost=_int(config, f"{prefix}_TIME_COST", minimum=1),
            parallelism=_int(config, f"{prefix}_PARALLELISM", minimum=1),
        )
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{prefix}_*: {exc}") from None


def user_password_algorithms_from_config(config: Mapping[str, Any]) -> list[Argon2id]:
    """The configured algorithm first (it hashes new passwords), then the recommended preset and
    its alias, so that users hashed before a change of parameters can still sign in."""
    primary = _argon2id(config, "FAROE_USER_PASSWORD_ARGON2")
    algorithms = [primary]
    for fallback in recommended_user_password_hash_algorithms():
        if all(fallback.id != known.id for known in algorithms):
            algorithms.append(fallback)
    return algorithms


def legacy_password_algorithms_from_config(
    config: Mapping[str, Any],
) -> list[PasswordHashAlgorithm]:
    """The verify-only algorithms of ``FAROE_LEGACY_PASSWORD_HASHES``, to go after Argon2id.

    Each entry is ``werkzeug`` (Werkzeug's default parameters, ``WERKZEUG_DEFAULTS``), an id that
    ``legacy_algorithm`` knows (``werkzeug.scrypt.N.r.p``, ``werkzeug.pbkdf2.<hash>.<iterations>``,
    ``none``) or an object with ``id``, ``salt_size`` and ``hash(password, salt)``.
    """
    key = "FAROE_LEGACY_PASSWORD_HASHES"
    value = config.get(key)
    entries: list[Any]
    if value is None:
        entries = []
    elif isinstance(value, str):
        entries = [name.strip() for name in value.split(",") if name.strip()]
    else:
        try:
            entries = list(value)
        except TypeError:
            raise ConfigError(f"{key} must be a list or a comma-separated string") from None
    algorithms: list[PasswordHashAlgorithm] = []
    for entry in entries:
        if entry == "werkzeug":
            algorithms.extend(WERKZEUG_DEFAULTS)
        elif isinstance(entry, str):
            try:
                algorithms.append(legacy_algorithm(entry))
            except ValueError:
                raise ConfigError(f"{key}: unknown algorithm id {entry!r}") from None
        elif isinstance(entry, PasswordHashAlgorithm):
            algorithms.append(entry)
        else:
            raise ConfigError(f"{key} entries must be ids or password hash algorithms")
    unique: dict[str, PasswordHashAlgorithm] = {}
    for algorithm in algorithms:
        unique.setdefault(algorithm.id, algorithm)
    return list(unique.values())


def table_names(config: Mapping[str, Any]) -> tuple[str, str | None]:
    """``(storage table, users table)``; ``None`` when the application brings its own users."""
    storage = config.get("FAROE_STORAGE_TABLE") or "faroe_storage"
    users = config.get("FAROE_USERS_TABLE")
    if not isinstance(storage, str) or (users is not None and not isinstance(users, str)):
        raise ConfigError("FAROE_STORAGE_TABLE and FAROE_USERS_TABLE must be strings")
    users = users.strip() if users else ""
    return storage.strip(), (users if users and users.lower() != "none" else None)


def alembic_config_path(config: Mapping[str, Any]) -> str | None:
    path = config.get("FAROE_ALEMBIC_CONFIG")
    if path is None or path == "":
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError("FAROE_ALEMBIC_CONFIG must be the path of an alembic.ini")
    return os.fspath(path)


def temporary_password_algorithm_from_config(config: Mapping[str, Any]) -> Argon2id:
    return _argon2id(config, "FAROE_TEMPORARY_PASSWORD_ARGON2")


def strength_check_mode(config: Mapping[str, Any]) -> str:
    mode = str(config.get("FAROE_PASSWORD_STRENGTH_CHECK") or "").strip().lower()
    if mode not in STRENGTH_CHECK_MODES:
        raise ConfigError(
            "FAROE_PASSWORD_STRENGTH_CHECK must be one of " + ", ".join(STRENGTH_CHECK_MODES)
        )
    return mode


def email_sender_kind(config: Mapping[str, Any]) -> str:
    kind = str(config.get("FAROE_EMAIL_SENDER") or "").strip().lower()
    if kind not in EMAIL_SENDERS:
        raise ConfigError("FAROE_EMAIL_SENDER must be one of " + ", ".join(EMAIL_SENDERS))
    return kind


def pwned_settings(config: Mapping[str, Any]) -> tuple[str, float]:
    url = config.get("FAROE_PWNED_PASSWORDS_URL")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError("FAROE_PWNED_PASSWORDS_URL must be an http:// or https:// URL")
    return url, _float(config, "FAROE_PWNED_PASSWORDS_TIMEOUT")


def max_concurrent_password_hashing(config: Mapping[str, Any]) -> int | None:
    return _optional_int(config, "FAROE_MAX_CONCURRENT_PASSWORD_HASHING", minimum=1)


def smtp_timeout(config: Mapping[str, Any]) -> float:
    return _float(config, "FAROE_SMTP_TIMEOUT")


def smtp_deadline(config: Mapping[str, Any]) -> float:
    return _float(config, "FAROE_SMTP_DEADLINE")


def database_timeouts(config: Mapping[str, Any]) -> dict[str, float | None]:
    """``create_engine``'s ``statement_timeout`` and ``connect_timeout``; 0 or None turns one off."""
    timeouts: dict[str, float | None] = {}
    for keyword, key in (
        ("statement_timeout", "FAROE_DATABASE_STATEMENT_TIMEOUT"),
        ("connect_timeout", "FAROE_DATABASE_CONNECT_TIMEOUT"),
    ):
        value = config.get(key)
        if value is None or (isinstance(value, str) and value.strip() == ""):
            timeouts[keyword] = None
            continue
        seconds = _duration(config, key).total_seconds()
        timeouts[keyword] = seconds or None
    return timeouts


def optional_path(config: Mapping[str, Any], key: str) -> str | None:
    """A URL path such as ``/faroe/health``, or ``None`` (off)."""
    path = config.get(key)
    if path is None or path == "":
        return None
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigError(f"{key} must start with '/'")
    return path


def storage_key_prefix(config: Mapping[str, Any]) -> str:
    prefix = config.get("FAROE_STORAGE_KEY_PREFIX") or ""
    if not isinstance(prefix, str):
        raise ConfigError("FAROE_STORAGE_KEY_PREFIX must be a string")
    return prefix


#: The URL schemes FAROE_STORAGE_URL accepts (the same as ``faroe_flask.redis.REDIS_URL_SCHEMES``,
#: repeated so that reading the configuration does not import redis-py).
STORAGE_URL_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclasses.dataclass(frozen=True)
class RedisSettings:
    """What ``RedisStorage.from_url`` needs, from FAROE_STORAGE_URL and the FAROE_REDIS_* keys."""

    url: str
    max_connections: int
    socket_timeout: float
    socket_connect_timeout: float


def redis_settings(config: Mapping[str, Any]) -> RedisSettings | None:
    """``None`` when FAROE_STORAGE_URL is unset (storage then goes with the users, on SQL)."""
    url = config.get("FAROE_STORAGE_URL")
    if url is None or (isinstance(url, str) and not url.strip()):
        return None
    if not isinstance(url, str) or not url.strip().startswith(STORAGE_URL_SCHEMES):
        # The message never repeats the value: a URL can hold a password.
        raise ConfigError(
            "FAROE_STORAGE_URL must be a Redis URL starting with " + ", ".join(STORAGE_URL_SCHEMES)
        )
    return RedisSettings(
        url=url.strip(),
        max_connections=_int(config, "FAROE_REDIS_MAX_CONNECTIONS", minimum=1),
        socket_timeout=_float(config, "FAROE_REDIS_SOCKET_TIMEOUT"),
        socket_connect_timeout=_float(config, "FAROE_REDIS_SOCKET_CONNECT_TIMEOUT"),
    )


def email_subjects(config: Mapping[str, Any]) -> dict[str, str]:
    subjects = config.get("FAROE_EMAIL_SUBJECTS") or {}
    if not isinstance(subjects, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in subjects.items()
    ):
        raise ConfigError("FAROE_EMAIL_SUBJECTS must map message names to strings")
    return dict(subjects)


def url_prefix(config: Mapping[str, Any]) -> str:
    prefix = config.get("FAROE_URL_PREFIX")
    if prefix is None:
        return ""
    if not isinstance(prefix, str) or (prefix and not prefix.startswith("/")):
        raise ConfigError("FAROE_URL_PREFIX must be empty or start with '/'")
    return prefix.rstrip("/")


@dataclasses.dataclass(frozen=True)
class ViewSettings:
    """What the session glue in the application's own views needs (``FAROE_SESSION_COOKIE_*``,
    ``FAROE_SESSION_ACCEPT_BEARER``, ``FAROE_LOGIN_VIEW``, ``FAROE_FRESH_SESSION_MAX_AGE``)."""

    cookie_name: str = "faroe_session"
    cookie_secure: bool = True
    cookie_httponly: bool = True
    cookie_samesite: str | None = "Lax"
    cookie_path: str = "/"
    cookie_domain: str | None = None
    refresh_each_request: bool = True
    accept_bearer: bool = True
    login_view: str | None = None
    fresh_session_max_age: timedelta = timedelta(minutes=10)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ViewSettings:
        name = config.get("FAROE_SESSION_COOKIE_NAME")
        if not isinstance(name, str) or not name or not name.isascii() or any(
            character in name for character in ' \t\r\n;,="()<>@:/[]?{}\\'
        ):
            raise ConfigError("FAROE_SESSION_COOKIE_NAME must be a non-empty cookie name")
        samesite_value = config.get("FAROE_SESSION_COOKIE_SAMESITE")
        samesite: str | None = None
        if samesite_value is not None and samesite_value != "":
            if not isinstance(samesite_value, str) or samesite_value.capitalize() not in SAMESITE_VALUES:
                raise ConfigError(
                    "FAROE_SESSION_COOKIE_SAMESITE must be one of " + ", ".join(SAMESITE_VALUES)
                )
            samesite = samesite_value.capitalize()
        secure = _bool(config, "FAROE_SESSION_COOKIE_SECURE")
        if samesite == "None" and not secure:
            raise ConfigError("FAROE_SESSION_COOKIE_SAMESITE=None needs FAROE_SESSION_COOKIE_SECURE")
        path = config.get("FAROE_SESSION_COOKIE_PATH") or "/"
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError("FAROE_SESSION_COOKIE_PATH must start with '/'")
        domain = config.get("FAROE_SESSION_COOKIE_DOMAIN") or None
        if domain is not None and not isinstance(domain, str):
            raise ConfigError("FAROE_SESSION_COOKIE_DOMAIN must be a string")
        login_view = config.get("FAROE_LOGIN_VIEW") or None
        if login_view is not None and not isinstance(login_view, str):
            raise ConfigError("FAROE_LOGIN_VIEW must be an endpoint name or a path")
        fresh = _duration(config, "FAROE_FRESH_SESSION_MAX_AGE")
        if fresh <= timedelta(0):
            raise ConfigError("FAROE_FRESH_SESSION_MAX_AGE must be positive")
        return cls(
            cookie_name=name,
            cookie_secure=secure,
            cookie_httponly=_bool(config, "FAROE_SESSION_COOKIE_HTTPONLY"),
            cookie_samesite=samesite,
            cookie_path=path,
            cookie_domain=domain,
            refresh_each_request=_bool(config, "FAROE_SESSION_COOKIE_REFRESH_EACH_REQUEST"),
            accept_bearer=_bool(config, "FAROE_SESSION_ACCEPT_BEARER"),
            login_view=login_view,
            fresh_session_max_age=fresh,
        )
