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
    UserEmailAddressAlreadyUsedError,
    UserNotFoundError,
    UserStore,
)
from .core.server import AllowAllEmailAddresses, LoggingErrorLogger, RealClock, Server
from .core.sessions import SessionConfig
from .memory import MemoryStorage, MemoryUserStore

# The Flask layer is imported on first use, so that the engine stays importable without Flask.
_FLASK_LAYER = {
    "ConfigError": "flask.config",
    "ConsoleEmailSender": "flask.mail",
    "Faroe": "flask.extension",
    "FaroeState": "flask.extension",
    "FlaskMailEmailSender": "flask.mail",
    "create_blueprint": "flask.blueprint",
    "current_faroe": "flask.extension",
}


def __getattr__(name: str) -> object:
    module = _FLASK_LAYER.get(name)
    if module is None:
        raise AttributeError(f"module 'faroe_flask' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


if TYPE_CHECKING:
    from .flask.blueprint import create_blueprint
    from .flask.config import ConfigError
    from .flask.extension import Faroe, FaroeState, current_faroe
    from .flask.mail import ConsoleEmailSender, FlaskMailEmailSender

__all__ = [
    "ActionErrorLogger",
    "ConfigError",
    "ConsoleEmailSender",
    "Faroe",
    "FaroeState",
    "FlaskMailEmailSender",
    "create_blueprint",
    "current_faroe",
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
    "UserEmailAddressAlreadyUsedError",
    "UserNotFoundError",
    "UserStore",
]
