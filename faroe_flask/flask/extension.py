"""The Flask extension: ``Faroe(app)`` / ``Faroe().init_app(app)``.

``init_app`` puts every ``FAROE_*`` key of ``faroe_flask.flask.config.DEFAULTS`` into ``app.config``
with ``setdefault``, builds a ``Server`` from the parts passed in and, for the others, from the
configuration (``SQLStorage``/``SQLUserStore`` on ``FAROE_DATABASE_URL``, or ``RedisStorage`` on
``FAROE_STORAGE_URL`` beside the SQL users, Argon2id, the email
sender and the password strength check), stores a ``FaroeState`` in ``app.extensions["faroe"]``,
registers the ``flask faroe`` commands and (unless ``register_blueprint=False``) the endpoint
blueprint. It also installs the session-cookie hook of ``faroe_flask.flask.views`` and the
signals observer of ``faroe_flask.flask.signals``. App code reaches the server through ``faroe.server`` or ``current_faroe.server`` and
can run actions in-process with ``current_faroe.invoke(action, arguments)``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from flask import Blueprint, Flask, Request, current_app, has_app_context
from werkzeug.local import LocalProxy

from . import config as cfg
from ..bearer import bearer_matches, secret_digest
from .blueprint import create_blueprint
from .config import ConfigError, EndpointSettings, ViewSettings
from .hooks import FaroeHooks
from .user_loader import L, UserLoader
from ..core.envelope import ActionResult
from ..core.interfaces import (
    ActionErrorLogger,
    Clock,
    EmailAddressChecker,
    EmailSender,
    PasswordStrengthChecker,
    Storage,
    UserStore,
)
from ..core.server import Server

from .rejections import RejectionLog

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from .guard import RequestGuard
    from .metrics import FaroeMetrics

__all__ = ["Faroe", "FaroeState", "current_faroe", "ConfigError"]

_logger = logging.getLogger("faroe_flask")

Authenticate = Callable[[Request], bool]


@dataclasses.dataclass
class FaroeState:
    """What ``init_app`` leaves in ``app.extensions["faroe"]``."""

    extension: Faroe
    server: Server
    endpoint: EndpointSettings
    url_prefix: str
    authenticate: Authenticate | None = None
    engine: Engine | None = None
    database_url: str | None = None
    views: ViewSettings = dataclasses.field(default_factory=ViewSettings)
    metrics: FaroeMetrics | None = None
    #: Per-client limits and captcha at the endpoint and in ``invoke`` (``None``: neither is on).
    guard: RequestGuard | None = None
    #: Rejected requests, counted and summarised in the log (``faroe_flask.flask.rejections``).
    rejections: RejectionLog = dataclasses.field(default_factory=RejectionLog)
    #: SHA-256 of ``FAROE_ENDPOINT_SECRET``, worked out once (``None``: no secret).
    secret_digest: bytes | None = dataclasses.field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        secret = self.endpoint.endpoint_secret
        self.secret_digest = secret_digest(secret) if secret else None

    @property
    def storage(self) -> Storage:
        return self.server.storage

    @property
    def user_store(self) -> UserStore:
        return self.server.user_store

    @property
    def endpoint_is_open(self) -> bool:
        return self.authenticate is None and not self.endpoint.endpoint_secret

    def is_authorised(self, request: Request) -> bool:
        """``authenticate(request)`` when given, else the bearer secret, else open."""
        if self.authenticate is not None:
            try:
                return bool(self.authenticate(request))
            except Exception:  # noqa: BLE001 - fail closed; the traceback holds no request data
                _logger.exception("the Faroe authenticate callable raised; answering 401")
                return False
        if self.secret_digest is None:
            return True
        return bearer_matches(request.headers.get("Authorization"), self.secret_digest)

    def invoke(self, action: str, arguments: Mapping[str, str]) -> ActionResult:
        """Run an action in-process (no HTTP, no allowlist/blocklist, no authentication).

        During a request, the per-client limits and the captcha apply as at the endpoint, for
        the request's client (``request.remote_addr``): ``ClientLimitExceeded`` (429) or a
        ``CaptchaError`` (403/503) is raised instead of running the action. Outside a request,
        or through ``server.invoke``, nothing of that applies.
        """
        guard = self.guard
        if guard is not None and action in guard.actions:
            guard.admit_in_process(action)
        return self.server.invoke(action, arguments)

    def admit(self, action: str) -> None:
        """Apply the per-client limits and the captcha of ``action`` to the current request, as
        ``invoke`` does, without running it: for code that does the work of an action another
        way (the pages' decoys in generic-responses mode stand in for ``verify_*`` actions).
        Raises as ``invoke`` would; does nothing outside a request."""
        guard = self.guard
        if guard is not None and action in guard.actions:
            guard.admit_in_process(action)

    def close(self) -> None:
        """Close the connections of this app's Faroe parts (``faroe_flask.flask.lifecycle``)."""
        from .lifecycle import close_state

        close_state(self)


class Faroe(FaroeHooks):
    """The Faroe auth server as a Flask extension.

    Every keyword argument is optional; a part not passed in is built from the app's
    configuration. ``server`` replaces the whole engine (the other parts are then ignored).
    ``authenticate(request) -> bool`` replaces the ``FAROE_ENDPOINT_SECRET`` bearer check.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        storage: Storage | None = None,
        user_store: UserStore | None = None,
        email_sender: EmailSender | None = None,
        password_strength_checker: PasswordStrengthChecker | None = None,
        error_logger: ActionErrorLogger | None = None,
        clock: Clock | None = None,
        email_address_checker: EmailAddressChecker | None = None,
        server: Server | None = None,
        authenticate: Authenticate | None = None,
        register_blueprint: bool = True,
        blueprint_name: str = "faroe",
    ) -> None:
        self.storage = storage
        self.user_store = user_store
        self.email_sender = email_sender
        self.password_strength_checker = password_strength_checker
        self.error_logger = error_logger
        self.clock = clock
        self.email_address_checker = email_address_checker
        self._server = server
        self.authenticate = authenticate
        self.register_blueprint = register_blueprint
        self.blueprint_name = blueprint_name
        self._init_hooks()
        self._brings_own_user_store = user_store is not None or server is not None
        #: ``user_loader``'s function: ``current_user`` is what it returns (flask/user_loader.py).
        self.load_user: UserLoader | None = None
        self.app = app
        if app is not None:
            self.init_app(app)

    # Flask extension protocol -----------------------------------------------------------------

    def init_app(self, app: Flask) -> None:
        if "faroe" in app.extensions:
            raise RuntimeError("the Faroe extension is already registered on this app")
        for key, value in cfg.DEFAULTS.items():
            app.config.setdefault(key, dict(value) if isinstance(value, Mapping) else value)
        state = self._build_state(app)
        app.extensions["faroe"] = state
        from . import csrf, guard, signals, views

        guard.install(app, state)

        views.install(app)
        signals.install(app, state.server)
        csrf.install(app)
        from .cli import faroe_cli

        app.cli.add_command(faroe_cli)
        if self.register_blueprint:
            app.register_blueprint(create_blueprint(self.blueprint_name))
        health_path = cfg.optional_path(app.config, "FAROE_HEALTH_PATH")
        if health_path is not None:
            from .health import register_health_route

            register_health_route(app, health_path, state.url_prefix)
        metrics_path = cfg.optional_path(app.config, "FAROE_METRICS_PATH")
        if metrics_path is not None:
            from .metrics import enable_metrics

            enable_metrics(app, path=metrics_path)

    def create_blueprint(self, name: str | None = None, url_prefix: str | None = None) -> Blueprint:
        """A new endpoint blueprint, for ``register_blueprint=False`` set-ups."""
        return create_blueprint(name or self.blueprint_name, url_prefix)

    def user_loader(self, loader: L) -> L:
        """Decorator: ``loader(faroe_user) -> your user or None`` makes ``current_user`` your own
        object, loaded once per request when first asked for (see ``flask/user_loader.py``)."""
        self.load_user = loader
        return loader

    # Access from app code ---------------------------------------------------------------------

    def get_state(self, app: Flask | None = None) -> FaroeState:
        if app is None:
            if has_app_context():
                app = cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]
            elif self.app is not None:
                app = self.app
            else:
                raise RuntimeError("no app: pass one, or use this inside an app context")
        state = app.extensions.get("faroe")
        if state is None or state.extension is not self:
            raise RuntimeError("this Faroe extension is not initialised on the app")
        return cast(FaroeState, state)

    @property
    def server(self) -> Server:
        """The engine of the current app (or of the app given to the constructor)."""
        return self.get_state().server

    def invoke(self, action: str, arguments: Mapping[str, str]) -> ActionResult:
        return self.get_state().invoke(action, arguments)

    def close(self, app: Flask | None = None) -> None:
        """Close the connections of the app's Faroe parts: the database engines (SQLite's
        ``-wal``/``-shm`` files go with the last connection), the Redis client, the mail sender's
        helper threads. Call it when the app is done (a test's teardown); the parts reconnect
        if they are used again."""
        self.get_state(app).close()

    # Building the parts -----------------------------------------------------------------------

    def _build_state(self, app: Flask) -> FaroeState:
        config = app.config
        endpoint = EndpointSettings.from_config(config)
        url_prefix = cfg.url_prefix(config)
        database_url = config.get("FAROE_DATABASE_URL") or None
        engine: Engine | None = None
        if self._brings_own_user_store and cfg.user_deletion(config) != "delete":
            raise ConfigError(
                "FAROE_USER_DELETION applies to the user store the extension builds: pass "
                "deletion= to your own SQLUserStore instead"
            )
        if self._server is not None:
            server = self._server
        else:
            storage, user_store = self.storage, self.user_store
            if storage is None:
                storage = _redis_storage(config, self.clock)
            if storage is None or user_store is None:
                if not database_url:
                    raise ConfigError(
                        "FAROE_DATABASE_URL is not set: set it, or pass storage= and user_store="
                        if storage is None
                        else "FAROE_DATABASE_URL is not set: set it (for the users), or pass user_store="
                    )
                storage, user_store, engine = _sql_parts(
                    str(database_url),
                    storage,
                    user_store,
                    cfg.table_names(config),
                    cfg.database_timeouts(config),
                    {"before_delete": self._run_before_user_delete, "deletion": cfg.user_deletion(config)},
                )
            server = Server(
                storage=storage,
                user_store=user_store,
                email_sender=self.email_sender or _email_sender(app),
                user_password_hash_algorithms=[
                    *cfg.user_password_algorithms_from_config(config),
                    *cfg.legacy_password_algorithms_from_config(config),
                ],
                temporary_password_hash_algorithm=cfg.temporary_password_algorithm_from_config(config),
                password_strength_checker=self.password_strength_checker or _strength_checker(config),
                error_logger=self.error_logger,
                max_concurrent_password_hashing=cfg.max_concurrent_password_hashing(config),
                clock=self.clock,
                email_address_checker=self.email_address_checker,
                session_config=cfg.session_config_from_config(config),
                storage_key_prefix=cfg.storage_key_prefix(config),
            )
        return FaroeState(
            extension=self,
            server=server,
            endpoint=endpoint,
            url_prefix=url_prefix,
            authenticate=self.authenticate,
            engine=engine,
            database_url=str(database_url) if database_url else None,
            views=ViewSettings.from_config(config),
        )


def _sql_parts(
    url: str,
    storage: Storage | None,
    user_store: UserStore | None,
    table_names: tuple[str, str | None],
    timeouts: dict[str, float | None],
    user_store_options: Mapping[str, Any],
) -> tuple[Storage, UserStore, Engine]:
    from sqlalchemy import MetaData

    from ..sql import SQLStorage, SQLUserStore, create_engine, make_storage_table, make_users_table

    storage_name, users_name = table_names
    if user_store is None and users_name is None:
        raise ConfigError(
            "FAROE_USERS_TABLE is empty (your own users table): pass user_store=SQLUserStore(...)"
        )
    engine = create_engine(
        url, statement_timeout=timeouts["statement_timeout"], connect_timeout=timeouts["connect_timeout"]
    )
    tables = MetaData()
    if storage is None:
        storage = SQLStorage(engine, make_storage_table(tables, storage_name))
    if user_store is None:
        user_store = SQLUserStore(engine, make_users_table(tables, users_name or ""), **user_store_options)
    return storage, user_store, engine


def _redis_storage(config: Mapping[str, Any], clock: Clock | None) -> Storage | None:
    """``RedisStorage`` when FAROE_STORAGE_URL is set (it connects on first use, not here)."""
    settings = cfg.redis_settings(config)
    if settings is None:
        return None
    try:
        from ..redis import RedisStorage
    except ImportError:
        raise ConfigError(
            'FAROE_STORAGE_URL is a Redis URL: install redis-py ("faroe-flask[redis]")'
        ) from None
    try:
        return RedisStorage.from_url(
            settings.url,
            clock=clock,
            max_connections=settings.max_connections,
            socket_timeout=settings.socket_timeout,
            socket_connect_timeout=settings.socket_connect_timeout,
        )
    except ValueError:  # redis-py's URL parser: its message can quote a piece of the URL
        raise ConfigError("FAROE_STORAGE_URL is not a usable Redis URL") from None


def _email_sender(app: Flask) -> EmailSender:
    from .mail import ConsoleEmailSender, FlaskMailEmailSender

    subjects = cfg.email_subjects(app.config)
    if cfg.email_sender_kind(app.config) == "console":
        return ConsoleEmailSender(app, subjects=subjects)
    if "mail" not in app.extensions:
        from flask_mail import Mail

        Mail(app)
    return FlaskMailEmailSender(
        app,
        subjects=subjects,
        timeout=cfg.smtp_timeout(app.config),
        deadline=cfg.smtp_deadline(app.config),
        max_concurrent_sends=cfg._int(app.config, "FAROE_SMTP_MAX_CONCURRENT_SENDS", minimum=1),
        max_queued_sends=cfg._int(app.config, "FAROE_SMTP_MAX_QUEUED_SENDS", minimum=0),
    )


def _strength_checker(config: Mapping[str, Any]) -> PasswordStrengthChecker:
    from ..core.strength import PwnedPasswordsChecker, common_passwords_checker

    if cfg.strength_check_mode(config) == "offline":
        return common_passwords_checker()
    url, timeout = cfg.pwned_settings(config)
    return PwnedPasswordsChecker(url, timeout)


def _current_state() -> FaroeState:
    state = current_app.extensions.get("faroe")
    if state is None:
        raise RuntimeError("the Faroe extension is not initialised on the current app")
    return cast(FaroeState, state)


#: The current app's ``FaroeState`` (``current_faroe.server``, ``current_faroe.invoke(...)``).
current_faroe: FaroeState = cast(FaroeState, LocalProxy(_current_state))
