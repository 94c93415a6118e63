"""faroe-flask: the Faroe auth server for Flask apps.

The engine (``Server``) is framework-free; the Flask layer (``Faroe``) wraps it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: The package version; ``pyproject.toml`` reads it from here (its single source).
__version__ = "0.1.0"

from .core.envelope import ActionResult
from .core.interfaces import (
    ActionErrorLogger,
    Clock,
    EmailAddressChecker,
    EmailSender,
    FaroeError,
    InvalidActionInvocationRequestError,
    PasswordHashAlgorithm,
    PasswordStrengthChecker,
    Storage,
    StorageEntryAlreadyExistsError,
    StorageEntryNotFoundError,
    User,
    UserDeletionRefusedError,
    UserEmailAddressAlreadyUsedError,
    UserNotFoundError,
    UserStore,
)
from .core.server import AllowAllEmailAddresses, LoggingErrorLogger, RealClock, Server
from .core.sessions import SessionConfig
from .memory import MemoryStorage, MemoryUserStore

# The Flask layer is imported on first use, so that the engine stays importable without Flask.
_FLASK_LAYER = {
    "all_sessions_ended": "flask.signals",
    "ANONYMOUS_USER": "flask.views",
    "CaptchaError": "flask.captcha",
    "CaptchaRejected": "flask.captcha",
    "CaptchaUnavailable": "flask.captcha",
    "ClientLimitExceeded": "flask.client_limits",
    "AnonymousUser": "flask.views",
    "clear_session_cookie": "flask.views",
    "ConfigError": "flask.config",
    "ConsoleEmailSender": "flask.mail",
    "create_blueprint": "flask.blueprint",
    "create_pages_blueprint": "flask.pages",
    "current_faroe": "flask.extension",
    "current_faroe_user": "flask.views",
    "current_session": "flask.views",
    "current_user": "flask.views",
    "email_address_changed": "flask.signals",
    "end_session": "flask.views",
    "Faroe": "flask.extension",
    "faroe_signals": "flask.signals",
    "FaroeSession": "flask.views",
    "FaroeState": "flask.extension",
    "FaroeUser": "flask.views",
    "FlaskMailEmailSender": "flask.mail",
    "fresh_login_required": "flask.views",
    "get_current_faroe_user": "flask.views",
    "get_current_session": "flask.views",
    "get_current_user": "flask.views",
    "get_session_token": "flask.views",
    "login_required": "flask.views",
    "next_url": "flask.views",
    "password_changed": "flask.signals",
    "password_reset": "flask.signals",
    "session_is_fresh": "flask.views",
    "set_session_cookie": "flask.views",
    "signed_in": "flask.signals",
    "signed_out": "flask.signals",
    "signup_completed": "flask.signals",
    "start_session": "flask.views",
    "user_deleted": "flask.signals",
    "UserMixin": "flask.user_loader",
}


def __getattr__(name: str) -> object:
    module = _FLASK_LAYER.get(name)
    if module is None:
        raise AttributeError(f"module 'faroe_flask' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


if TYPE_CHECKING:
    from .flask.blueprint import create_blueprint
    from .flask.captcha import CaptchaError, CaptchaRejected, CaptchaUnavailable
    from .flask.client_limits import ClientLimitExceeded
    from .flask.config import ConfigError
    from .flask.extension import Faroe, FaroeState, current_faroe
    from .flask.mail import ConsoleEmailSender, FlaskMailEmailSender
    from .flask.pages import create_pages_blueprint
    from .flask.signals import (
        all_sessions_ended,
        email_address_changed,
        faroe_signals,
        password_changed,
        password_reset,
        signed_in,
        signed_out,
        signup_completed,
        user_deleted,
    )
    from .flask.user_loader import UserMixin
    from .flask.views import (
        ANONYMOUS_USER,
        AnonymousUser,
        FaroeSession,
        FaroeUser,
        clear_session_cookie,
        current_faroe_user,
        current_session,
        current_user,
        end_session,
        fresh_login_required,
        get_current_faroe_user,
        get_current_session,
        get_current_user,
        get_session_token,
        login_required,
        next_url,
        session_is_fresh,
        set_session_cookie,
        start_session,
    )

__all__ = [
    "CaptchaError",
    "CaptchaRejected",
    "CaptchaUnavailable",
    "ClientLimitExceeded",
    "ActionErrorLogger",
    "ConfigError",
    "ConsoleEmailSender",
    "Faroe",
    "FaroeState",
    "FlaskMailEmailSender",
    "create_blueprint",
    "create_pages_blueprint",
    "current_faroe",
    "all_sessions_ended",
    "ANONYMOUS_USER",
    "AnonymousUser",
    "clear_session_cookie",
    "current_faroe_user",
    "current_session",
    "current_user",
    "email_address_changed",
    "end_session",
    "faroe_signals",
    "FaroeSession",
    "FaroeUser",
    "fresh_login_required",
    "get_current_faroe_user",
    "get_current_session",
    "get_current_user",
    "get_session_token",
    "login_required",
    "next_url",
    "password_changed",
    "password_reset",
    "session_is_fresh",
    "set_session_cookie",
    "signed_in",
    "signed_out",
    "signup_completed",
    "start_session",
    "user_deleted",
    "ActionResult",
    "AllowAllEmailAddresses",
    "Clock",
    "EmailAddressChecker",
    "EmailSender",
    "FaroeError",
    "InvalidActionInvocationRequestError",
    "LoggingErrorLogger",
    "MemoryStorage",
    "MemoryUserStore",
    "PasswordHashAlgorithm",
    "PasswordStrengthChecker",
    "RealClock",
    "Server",
    "SessionConfig",
    "Storage",
    "StorageEntryAlreadyExistsError",
    "StorageEntryNotFoundError",
    "User",
    "UserDeletionRefusedError",
    "UserEmailAddressAlreadyUsedError",
    "UserNotFoundError",
    "UserStore",
    "UserMixin",
]
