"""faroe-flask: the Faroe auth server for Flask apps.

The engine (``Server``) is framework-free; the Flask layer (``Faroe``) wraps it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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
    "ConfigError": "config",
    "ConsoleEmailSender": "mail",
    "Faroe": "extension",
    "FaroeState": "extension",
    "FlaskMailEmailSender": "mail",
    "create_blueprint": "blueprint",
    "current_faroe": "extension",
}


def __getattr__(name: str) -> object:
    module = _FLASK_LAYER.get(name)
    if module is None:
        raise AttributeError(f"module 'faroe_flask' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


if TYPE_CHECKING:
    from .blueprint import create_blueprint
    from .config import ConfigError
    from .extension import Faroe, FaroeState, current_faroe
    from .mail import ConsoleEmailSender, FlaskMailEmailSender

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
