"""The ``FAROE_*`` configuration keys: their defaults and how they are read.

``DEFAULTS`` is the one list of keys; ``Faroe.init_app`` puts each into ``app.config`` with
``setdefault``. ``EndpointSettings.from_config`` and the ``*_from_config`` helpers turn the raw
values (which may come from environment variables as strings) into typed objects and raise
``ConfigError`` with the key's name when a value is unusable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from ..core.sessions import SessionConfig
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
    "email_subjects",
    "url_prefix",
]

STRENGTH_CHECK_MODES = ("pwned", "offline")
EMAIL_SENDERS = ("flask-mail", "console")

_SESSION_DEFAULTS = SessionConfig()

DEFAULTS: Mapping[str, Any] = {
    # Where Faroe keeps its records and reads users (when storage/user_store are not passed in).
    "FAROE_DATABASE_URL": None,
    "FAROE_STORAGE_KEY_PREFIX": "",
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
