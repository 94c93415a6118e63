"""faroe-flask: the Faroe auth server for Flask apps.

The engine (``Server``) is framework-free; the Flask layer (``Faroe``) wraps it.
"""

from __future__ import annotations

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

__all__ = [
    "ActionErrorLogger",
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
