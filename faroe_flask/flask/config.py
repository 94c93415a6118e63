"""The ``FAROE_*`` configuration keys: their definitions, defaults and how they are read.

``SETTINGS`` is the one list of keys (name, default, type and meaning: ``Setting``); the
configuration reference of the documentation is rendered from it. ``DEFAULTS`` (the extension's
keys) and ``PAGES_DEFAULTS`` (the account pages') are derived from it; ``Faroe.init_app`` puts
each of ``DEFAULTS`` into ``app.config`` with ``setdefault``. ``EndpointSettings.from_config`` and the ``*_from_config`` helpers turn the raw
values (which may come from environment variables as strings) into typed objects and raise
``ConfigError`` with the key's name when a value is unusable.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Literal

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
    "Setting",
    "group",
    "SETTINGS",
    "DEFAULTS",
    "PAGES_DEFAULTS",
    "STRENGTH_CHECK_MODES",
    "EMAIL_SENDERS",
    "EndpointSettings",
    "session_config_from_config",
    "user_password_algorithms_from_config",
    "legacy_password_algorithms_from_config",
    "table_names",
    "user_deletion",
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


@dataclasses.dataclass(frozen=True)
class Setting:
    """One ``FAROE_*`` configuration key: the single definition that the extension reads (its
    ``default`` goes into ``app.config`` with ``setdefault``) and that the documentation renders.

    ``type`` and ``meaning`` are reStructuredText for the configuration reference (``meaning``:
    one or a few sentences, ``type``: what the key accepts, e.g. ``"int"``, ``"str | None"``,
    ``"seconds"``). ``default_text`` replaces the shown default when ``repr(default)`` would not
    say what it means. ``scope`` is ``"extension"`` (set by ``Faroe.init_app``) or ``"pages"``
    (set when the account pages blueprint is registered). ``group`` is the reference's section,
    given by ``group(...)``.
    """

    name: str
    default: Any
    type: str
    meaning: str
    default_text: str | None = None
    scope: str = "extension"
    group: str = ""


def group(title: str, *settings: Setting) -> tuple[Setting, ...]:
    """``settings`` under the heading ``title`` of the configuration reference."""
    return tuple(dataclasses.replace(setting, group=title) for setting in settings)


#: Every ``FAROE_*`` key, grouped as the configuration reference shows them. ``DEFAULTS`` and
#: ``PAGES_DEFAULTS`` are derived from it; ``docs/_ext/faroe_docs.py`` renders it.
SETTINGS: tuple[Setting, ...] = (
    *group(
        "Storage and users",
        Setting("FAROE_DATABASE_URL", None, "str | None",
                "SQLAlchemy URL for ``SQLUserStore`` and (unless ``FAROE_STORAGE_URL`` is set) "
                "``SQLStorage``, when they are not passed in, and for ``flask faroe db``."),
        Setting("FAROE_STORAGE_URL", None, "str | None",
                "A ``redis://``, ``rediss://`` (TLS) or ``unix://`` URL: the storage on Redis "
                "(``RedisStorage``, needs the ``redis`` extra), the users still on "
                "``FAROE_DATABASE_URL``. Unset or ``\"\"``: the storage beside the users."),
        Setting("FAROE_STORAGE_KEY_PREFIX", "", "str",
                "A namespace put in front of every storage key, on any storage; set one when the "
                "Redis or the table is shared."),
        Setting("FAROE_STORAGE_TABLE", "faroe_storage", "str",
                "The storage table of ``SQLStorage`` and of ``flask faroe db``."),
        Setting("FAROE_USERS_TABLE", "faroe_users", "str | None",
                "The users table of ``SQLUserStore`` and of ``flask faroe db``. ``\"\"`` (or "
                "``None``): the application brings its own users table (pass ``user_store=``) "
                "and ``db upgrade`` creates only the storage table."),
        Setting("FAROE_ALEMBIC_CONFIG", None, "path | None",
                "The path of the application's ``alembic.ini``: ``flask faroe db`` then runs the "
                "application's Alembic (Faroe's branch, its version table) instead of Faroe's own."),
        Setting("FAROE_USER_DELETION", "delete", "str",
                "What ``complete_user_deletion`` does to the row in the SQL user store the "
                "extension builds: ``delete`` it, or ``anonymise`` it (kept for your foreign keys, "
                "the address freed, no sign-in possible; see :doc:`existing-users`)."),
    ),
    *group(
        "Redis storage",
        Setting("FAROE_REDIS_MAX_CONNECTIONS", 32, "int",
                "Redis connections per process at most; a call that finds them all busy waits up "
                "to ``FAROE_REDIS_SOCKET_TIMEOUT``."),
        Setting("FAROE_REDIS_SOCKET_TIMEOUT", 5.0, "seconds",
                "How long a Redis command (or the wait for a free connection) may take before the "
                "action answers ``internal_error``."),
        Setting("FAROE_REDIS_SOCKET_CONNECT_TIMEOUT", 5.0, "seconds",
                "How long opening a Redis connection may take."),
    ),
    *group(
        "The endpoint",
        Setting("FAROE_URL_PREFIX", "/faroe", "str",
                "The endpoint's path (``\"\"`` means ``/``)."),
        Setting("FAROE_ENDPOINT_SECRET", None, "str | None",
                "Require ``Authorization: Bearer <secret>``, compared in constant time; 401 "
                "otherwise. Neither this nor ``authenticate=``: one warning at start-up says the "
                "endpoint is open."),
        Setting("FAROE_ACTION_ALLOWLIST", None, "list of str | comma-separated str | None",
                "Only these actions; the others answer 400. An unknown name is a ``ConfigError`` "
                "at ``init_app``."),
        Setting("FAROE_ACTION_BLOCKLIST", (), "list of str | comma-separated str",
                "These actions answer 400. Set this or the allowlist, not both; an unknown name is "
                "a ``ConfigError`` at ``init_app``.", default_text="``()``"),
        Setting("FAROE_CORS_ALLOWED_ORIGINS", "*", "str | list of str | None",
                "``*``, a list of origins (a listed origin is echoed, with ``Vary: Origin``), or "
                "``None`` for no CORS headers."),
        Setting("FAROE_CORS_ALLOWED_HEADERS", "Content-Type", "str | list of str",
                "The ``Access-Control-Allow-Headers`` value."),
        Setting("FAROE_MAX_REQUEST_BYTES", 64 * 1024, "int",
                "Larger request bodies answer 413."),
    ),
    *group(
        "Password hashing",
        Setting("FAROE_USER_PASSWORD_ARGON2_MEMORY_COST", USER_PASSWORD_ARGON2ID.memory_cost, "int",
                "Argon2id memory cost (KiB) for new user passwords. The recommended preset and its "
                "``argon2id.3.65536.1.32`` alias still verify older hashes."),
        Setting("FAROE_USER_PASSWORD_ARGON2_TIME_COST", USER_PASSWORD_ARGON2ID.time_cost, "int",
                "Argon2id time cost (passes) for new user passwords."),
        Setting("FAROE_USER_PASSWORD_ARGON2_PARALLELISM", USER_PASSWORD_ARGON2ID.parallelism, "int",
                "Argon2id parallelism (lanes) for new user passwords."),
        Setting("FAROE_TEMPORARY_PASSWORD_ARGON2_MEMORY_COST", TEMPORARY_PASSWORD_ARGON2ID.memory_cost,
                "int", "Argon2id memory cost (KiB) for temporary passwords."),
        Setting("FAROE_TEMPORARY_PASSWORD_ARGON2_TIME_COST", TEMPORARY_PASSWORD_ARGON2ID.time_cost,
                "int", "Argon2id time cost (passes) for temporary passwords."),
        Setting("FAROE_TEMPORARY_PASSWORD_ARGON2_PARALLELISM", TEMPORARY_PASSWORD_ARGON2ID.parallelism,
                "int", "Argon2id parallelism (lanes) for temporary passwords."),
        Setting("FAROE_MAX_CONCURRENT_PASSWORD_HASHING", None, "int | None",
                "How many hashes may run at once in one process.",
                default_text="``None`` (the number of CPUs)"),
        Setting("FAROE_LEGACY_PASSWORD_HASHES", ("werkzeug", "none"),
                "list of str or algorithms | comma-separated str",
                "Verify-only algorithms tried after Argon2id, for hashes stored before Faroe: "
                "``werkzeug`` (Werkzeug's default scrypt and pbkdf2:sha256 parameters), ids such "
                "as ``werkzeug.scrypt.16384.8.1``, ``none`` (users without a password), or "
                "algorithm objects; ``\"\"`` for none (see :doc:`existing-users`)."),
    ),
    *group(
        "Sessions",
        Setting("FAROE_SESSION_INACTIVITY_TIMEOUT",
                int(_SESSION_DEFAULTS.inactivity_timeout.total_seconds()), "seconds",
                "A session ends when unused this long.", default_text="``2592000`` (30 days)"),
        Setting("FAROE_SESSION_ACTIVITY_CHECK_INTERVAL",
                int(_SESSION_DEFAULTS.activity_check_interval.total_seconds()), "seconds",
                "The shortest gap between two writes of a session's last-use time."),
        Setting("FAROE_SESSION_EXPIRATION", 0, "seconds",
                "The absolute lifetime of a session; ``0``: none.", default_text="``0`` (off)"),
        Setting("FAROE_SESSION_USER_CACHE_EXPIRATION",
                int(_SESSION_DEFAULTS.user_cache_expiration.total_seconds()), "seconds",
                "How long a user check is trusted by plain session validation; ``0``: the user is "
                "checked on every validation.", default_text="``0`` (off)"),
        Setting("FAROE_END_OTHER_SESSIONS_ON_PASSWORD_CHANGE", False, "bool",
                "Opt-in: a password update or reset ends the user's other sessions."),
    ),
    *group(
        "New passwords",
        Setting("FAROE_PASSWORD_STRENGTH_CHECK", "pwned", "str",
                "``pwned`` (the Pwned Passwords range API) or ``offline`` (the bundled list of "
                "common passwords)."),
        Setting("FAROE_PWNED_PASSWORDS_URL", "https://api.pwnedpasswords.com", "str",
                "The base URL of the range API."),
        Setting("FAROE_PWNED_PASSWORDS_TIMEOUT", 10.0, "seconds",
                "The range request's timeout."),
    ),
    *group(
        "Email",
        Setting("FAROE_EMAIL_SENDER", "flask-mail", "str",
                "``flask-mail`` (initialises Flask-Mail if the app has not; needs "
                "``MAIL_DEFAULT_SENDER``) or ``console`` (prints to stdout; development only)."),
        Setting("FAROE_EMAIL_SUBJECTS", {}, "dict[str, str]",
                "The subject per message name (see :doc:`email`)."),
        Setting("FAROE_SMTP_TIMEOUT", 10.0, "seconds",
                "The SMTP socket timeout (each read or write)."),
        Setting("FAROE_SMTP_DEADLINE", 15.0, "seconds",
                "The longest one email send may take in all (connect, TLS, login, message); past "
                "it the action answers ``internal_error``."),
    ),
    *group(
        "Sessions in your views",
        Setting("FAROE_SESSION_COOKIE_NAME", "faroe_session", "str",
                "The session cookie of your own views (see :doc:`views`)."),
        Setting("FAROE_SESSION_COOKIE_SECURE", True, "bool",
                "Send the cookie (and the account pages' Flask session cookie, unless the app set "
                "``SESSION_COOKIE_SECURE`` itself) over HTTPS only; ``False`` only for plain-HTTP "
                "local development."),
        Setting("FAROE_SESSION_COOKIE_HTTPONLY", True, "bool",
                "Hide the cookie from JavaScript."),
        Setting("FAROE_SESSION_COOKIE_SAMESITE", "Lax", "str | None",
                "``Lax``, ``Strict``, ``None`` (needs Secure) or empty for no attribute."),
        Setting("FAROE_SESSION_COOKIE_PATH", "/", "str", "The cookie's Path."),
        Setting("FAROE_SESSION_COOKIE_DOMAIN", None, "str | None",
                "The cookie's Domain (``None``: this host only)."),
        Setting("FAROE_SESSION_COOKIE_REFRESH_EACH_REQUEST", True, "bool",
                "Re-send the cookie with a fresh Max-Age when a request moved its session's "
                "inactivity deadline (at most once per ``FAROE_SESSION_ACTIVITY_CHECK_INTERVAL``); "
                "``False``: only sign-in sets it. The name is kept from when the cookie was sent on "
                "every request."),
        Setting("FAROE_SESSION_ACCEPT_BEARER", True, "bool",
                "Also read the session token from ``Authorization: Bearer <session token>``."),
        Setting("FAROE_LOGIN_VIEW", None, "str | None",
                "The endpoint name or path that ``login_required`` redirects browsers to (with "
                "``?next=``); ``None`` answers 401 (registering the account pages makes it their "
                "sign-in page)."),
        Setting("FAROE_FRESH_SESSION_MAX_AGE", 600, "seconds",
                "How recent a session ``fresh_login_required`` requires.",
                default_text="``600`` (10 minutes)"),
    ),
    *group(
        "Account pages",
        Setting("FAROE_PAGES_SITE_NAME", "Account", "str",
                "The account pages' site name (header and titles).", scope="pages"),
        Setting("FAROE_PAGES_HOME_URL", "/", "str",
                "Where the pages go after sign-up, sign-in (without ``next``), sign-out and "
                "deletion.", scope="pages"),
        Setting("FAROE_PAGES_MESSAGES", {}, "dict[str, str]",
                "The pages' sentence per error code, replacing the built-in one "
                "(``{\"rate_limited\": \"...\"}``).", scope="pages"),
        Setting("FAROE_PAGES_GENERIC_RESPONSES", False, "bool",
                "Answer unknown, disabled and known addresses alike on the pages' sign-in, "
                "sign-up and reset, at the same cost (:doc:`pages-security`).", scope="pages"),
        Setting("FAROE_PAGES_SECURITY_HEADERS", {}, "dict[str, str | None]",
                "Headers laid over the pages' defaults on every ``/account/*`` answer; ``None`` "
                "drops one (:doc:`pages-security`).", scope="pages"),
        Setting("FAROE_PAGES_FLOW_STATE_LIFETIME", 1800, "seconds",
                "How long a flow's state lives on the server after its last change (at least "
                "60).", scope="pages"),
    ),
    *group(
        "Database waits",
        Setting("FAROE_DATABASE_STATEMENT_TIMEOUT", 5.0, "seconds | None",
                "The longest one statement may run or wait for a lock (PostgreSQL "
                "``statement_timeout`` and ``lock_timeout``; MariaDB ``max_statement_time`` and "
                "lock waits; SQLite's busy timeout); ``None`` or ``0``: the database's default."),
        Setting("FAROE_DATABASE_CONNECT_TIMEOUT", 5.0, "seconds | None",
                "The longest opening a database connection may take (PostgreSQL, MySQL/MariaDB); "
                "``None`` or ``0``: the driver's default."),
    ),
    *group(
        "Serving with waitress",
        Setting("FAROE_SERVE_LISTEN", "127.0.0.1:8080", "str",
                "Where ``serve(app)`` and ``flask faroe serve`` listen (``HOST:PORT``, several "
                "separated by spaces)."),
        Setting("FAROE_SERVE_THREADS", 8, "int",
                "Waitress worker threads; keep at most the database pool (5 + 10 overflow by "
                "default)."),
        Setting("FAROE_SERVE_CONNECTION_LIMIT", 1000, "int",
                "Open client connections one process accepts (the open-files limit is raised to "
                "fit)."),
        Setting("FAROE_SERVE_CHANNEL_TIMEOUT", 30, "seconds",
                "How long a connection may stay silent before waitress closes it."),
        Setting("FAROE_SERVE_RECEIVE_TIMEOUT", 30, "seconds",
                "How long a client may take to send one whole request (headers and body) before "
                "its connection is closed; ``0`` turns it off."),
        Setting("FAROE_SERVE_TRUSTED_PROXY", None, "str | None",
                "The address of the proxy in front (or ``*``) whose ``X-Forwarded-*`` and "
                "``Forwarded`` headers are trusted."),
        Setting("FAROE_SERVE_TRUSTED_PROXY_COUNT", None, "int | None",
                "How many proxies in a chain are trusted.", default_text="``None`` (1)"),
        Setting("FAROE_SERVE_TRUSTED_PROXY_HEADERS", (), "list of str | comma-separated str",
                "Which proxy headers to trust: ``x-forwarded-for``, ``x-forwarded-proto``, "
                "``x-forwarded-host``, ``x-forwarded-port``, ``x-forwarded-by`` or ``forwarded``.",
                default_text="``()``"),
        Setting("FAROE_SERVE_CLEAR_UNTRUSTED_PROXY_HEADERS", True, "bool",
                "Drop the proxy headers that are not trusted before the app sees them."),
    ),
    *group(
        "Per-client limits",
        Setting("FAROE_CLIENT_LIMITS", "on", "str | bool",
                "``on`` or ``off`` (or a bool): every per-client limit at once; ``off`` for test "
                "suites and load tests (see :doc:`limits`)."),
        Setting("FAROE_CLIENT_EMAIL_LIMIT", "10/minute", "str | (int, seconds) | None",
                "The emails (sign-up codes, temporary passwords, email-update codes) one client "
                "may cause: ``\"N/minute\"`` (``second``, ``minute``, ``hour``, ``day``; "
                "``\"N/5 minutes\"``), ``(N, seconds per token)``, or ``None`` for no limit."),
        Setting("FAROE_CLIENT_PASSWORD_LIMIT", "30/minute", "str | (int, seconds) | None",
                "The password checks and hashes one client may cause, across every account; as "
                "``FAROE_CLIENT_EMAIL_LIMIT``."),
        Setting("FAROE_CLIENT_ADDRESS_HEADER", "Faroe-Client-Address", "str | None",
                "The header in which an authenticated caller of the endpoint forwards its end "
                "user's IP address; ``None``: never read."),
        Setting("FAROE_CLIENT_IPV6_PREFIX", 64, "int",
                "IPv6 clients are counted per network of this many leading bits (1 to 128)."),
    ),
    *group(
        "Captcha",
        Setting("FAROE_CAPTCHA_PROVIDER", None, "str | None",
                "``turnstile``, ``hcaptcha`` or ``recaptcha``; ``None``: no captcha."),
        Setting("FAROE_CAPTCHA_SITE_KEY", None, "str | None",
                "The provider's public site key, shown in the pages' widget."),
        Setting("FAROE_CAPTCHA_SECRET_KEY", None, "str | None",
                "The provider's secret key, sent to its siteverify URL only."),
        Setting("FAROE_CAPTCHA_ACTIONS",
                ("create_signup", "create_signin", "create_user_password_reset"),
                "list of str | comma-separated str",
                "The actions that need a solved captcha."),
        Setting("FAROE_CAPTCHA_TIMEOUT", 5.0, "seconds",
                "How long one siteverify call may take in all; past it the action is refused "
                "(503)."),
        Setting("FAROE_CAPTCHA_MAX_CONCURRENT_CHECKS", 2, "int",
                "Siteverify calls that may run at once; a further one is refused at once (503)."),
        Setting("FAROE_CAPTCHA_MIN_SCORE", None, "float | None",
                "The least reCAPTCHA v3 score (0 to 1) a token needs; ``None``: the score is not "
                "checked."),
        Setting("FAROE_CAPTCHA_VERIFY_URL", None, "str | None",
                "The siteverify URL; ``None``: the provider's."),
        Setting("FAROE_CAPTCHA_SCRIPT_URL", None, "str | None",
                "The widget's script URL; ``None``: the provider's."),
    ),
    *group(
        "Fair use of the server",
        Setting("FAROE_SMTP_MAX_CONCURRENT_SENDS", 2, "int",
                "SMTP conversations that may run at once; a send that finds them busy waits "
                "(``FAROE_SMTP_MAX_QUEUED_SENDS``)."),
        Setting("FAROE_SMTP_MAX_QUEUED_SENDS", 2, "int",
                "Sends that may wait for a free SMTP conversation; a further send fails at once "
                "(``internal_error``, its record deleted)."),
        Setting("FAROE_SERVE_CONNECTIONS_PER_ADDRESS", 50, "int | None",
                "Open connections one client address may hold in ``serve()``; ``0`` or ``None``: "
                "no cap. The trusted proxy is exempt."),
        Setting("FAROE_REJECTION_LOG_INTERVAL", 60.0, "seconds",
                "The interval over which repeated rejections (400, 401, 413, 429, ...) are "
                "summarised in one log line."),
    ),
    *group(
        "Operations",
        Setting("FAROE_HEALTH_PATH", None, "str | None",
                "Serve the health check on this path, e.g. ``/faroe/health``; ``None``: off."),
        Setting("FAROE_METRICS_PATH", None, "str | None",
                "Serve Prometheus metrics on this path, e.g. ``/faroe/metrics`` (needs "
                "``faroe-flask[metrics]``); ``None``: off."),
        Setting("FAROE_OPERATIONS_TOKEN", None, "str | None",
                "A token the health and metrics routes require as ``Authorization: Bearer "
                "<token>``; ``None``: open."),
    ),
)

#: Every key of the ``Faroe`` extension and its default (derived from ``SETTINGS``);
#: ``Faroe.init_app`` puts each into ``app.config`` with ``setdefault``.
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {setting.name: setting.default for setting in SETTINGS if setting.scope == "extension"}
)
#: The account pages' keys and their defaults (derived from ``SETTINGS``), put into
#: ``app.config`` with ``setdefault`` when the pages blueprint is registered.
PAGES_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {setting.name: setting.default for setting in SETTINGS if setting.scope == "pages"}
)


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


def user_deletion(config: Mapping[str, Any]) -> Literal["delete", "anonymise"]:
    """``FAROE_USER_DELETION``: ``"delete"`` or ``"anonymise"`` (``"anonymize"`` too)."""
    value = str(config.get("FAROE_USER_DELETION") or "delete").strip().lower()
    if value == "delete":
        return "delete"
    if value in ("anonymise", "anonymize"):
        return "anonymise"
    raise ConfigError('FAROE_USER_DELETION must be "delete" or "anonymise"')


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
