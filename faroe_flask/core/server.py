"""``Server``: the parts, the action table, and resolving action invocation requests."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timezone

from . import credentials
from .actions import Action, ActionFailure, Context, LoggedFailure
from .envelope import ActionResult, read_request
from .flows import ACTIONS
from .hashing import PasswordHasher
from .interfaces import (
    ActionErrorLogger,
    Clock,
    EmailAddressChecker,
    EmailSender,
    InvalidActionInvocationRequestError,
    PasswordHashAlgorithm,
    PasswordStrengthChecker,
    Storage,
    UserStore,
)
from .sessions import SessionConfig

__all__ = [
    "Server",
    "SessionConfig",
    "RealClock",
    "AllowAllEmailAddresses",
    "LoggingErrorLogger",
    "ACTION_TABLE",
    "ActionObserver",
]

_logger = logging.getLogger("faroe_flask")

ACTION_TABLE: Mapping[str, Action] = {entry.name: entry for entry in ACTIONS}
#: Called after every action with (action name, error code or None when ok, seconds taken).
ActionObserver = Callable[[str, "str | None", float], None]

_ACTION_ARGUMENTS: Mapping[str, tuple[str, ...]] = {
    name: entry.arguments for name, entry in ACTION_TABLE.items()
}


class RealClock:
    """The system clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class AllowAllEmailAddresses:
    """The default email address checker: every address may be used."""

    def is_allowed(self, email_address: str) -> bool:
        return True


class LoggingErrorLogger:
    """Writes action errors to ``logging.getLogger("faroe_flask")``. Messages never hold secrets."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or _logger

    def log_action_error(
        self, timestamp: datetime, message: str, action_invocation_id: str, action: str
    ) -> None:
        self.logger.error(
            "faroe action %s failed (invocation %s at %s): %s",
            action,
            action_invocation_id,
            timestamp.isoformat(),
            message,
        )


class Server:
    """The framework-free Faroe server: resolves the 39 actions of the protocol.

    Every part must be safe to use from concurrent threads. ``max_concurrent_password_hashing``
    defaults to the number of CPUs; ``password_strength_checker`` to the Pwned Passwords range API,
    as in the reference. ``observer`` (also settable later as ``server.observer``) is called
    after every action with its name, its error code (``None`` when ok) and its duration in
    seconds; when it is ``None`` the only cost is one check per action.
    """

    def __init__(
        self,
        *,
        storage: Storage,
        user_store: UserStore,
        email_sender: EmailSender,
        user_password_hash_algorithms: Sequence[PasswordHashAlgorithm],
        temporary_password_hash_algorithm: PasswordHashAlgorithm,
        password_strength_checker: PasswordStrengthChecker | None = None,
        error_logger: ActionErrorLogger | None = None,
        max_concurrent_password_hashing: int | None = None,
        clock: Clock | None = None,
        email_address_checker: EmailAddressChecker | None = None,
        session_config: SessionConfig | None = None,
        storage_key_prefix: str = "",
        observer: ActionObserver | None = None,
    ) -> None:
        self.observer = observer
        self.storage = storage
        self.user_store = user_store
        self.email_sender = email_sender
        if password_strength_checker is None:
            from .strength import PwnedPasswordsChecker

            password_strength_checker = PwnedPasswordsChecker()
        self.password_strength_checker: PasswordStrengthChecker = password_strength_checker
        self.error_logger: ActionErrorLogger = error_logger or LoggingErrorLogger()
        self.clock: Clock = clock or RealClock()
        self.email_address_checker: EmailAddressChecker = (
            email_address_checker or AllowAllEmailAddresses()
        )
        self.session_config = session_config or SessionConfig()
        self.storage_key_prefix = storage_key_prefix
        self.passwords = PasswordHasher(
            user_password_hash_algorithms,
            temporary_password_hash_algorithm,
            (os.cpu_count() or 1)
            if max_concurrent_password_hashing is None
            else max_concurrent_password_hashing,
        )

    # Entry points -----------------------------------------------------------------------------

    def resolve_action_invocation_request(
        self,
        body: str | bytes,
        *,
        blocklist: Collection[str] = (),
        allowlist: Collection[str] | None = None,
    ) -> str:
        """Resolve a request body into the body of a 200 response.

        Raises ``InvalidActionInvocationRequestError`` (answer HTTP 400, empty body) when the
        body is rejected; no other exception escapes.
        """
        try:
            action, arguments = read_request(
                body, _ACTION_ARGUMENTS, blocklist=blocklist, allowlist=allowlist
            )
        except InvalidActionInvocationRequestError:
            raise
        except Exception as exc:  # noqa: BLE001 - nothing but a rejection may escape
            raise InvalidActionInvocationRequestError("unreadable body") from exc
        if self.observer is None:
            return self._run(action, arguments).to_json()
        return self._observed_run(action, arguments).to_json()

    def invoke(self, action: str, arguments: Mapping[str, str]) -> ActionResult:
        """Run an action in-process, without JSON.

        Raises ``InvalidActionInvocationRequestError`` for an unknown action or a missing or
        non-string argument, as the endpoint would answer 400.
        """
        entry = ACTION_TABLE.get(action)
        if entry is None:
            raise InvalidActionInvocationRequestError("unknown action")
        values: dict[str, str] = {}
        for name in entry.arguments:
            value = arguments.get(name)
            if not isinstance(value, str):
                raise InvalidActionInvocationRequestError(f"argument {name} missing or not a string")
            values[name] = value
        if self.observer is None:
            return self._run(action, values)
        return self._observed_run(action, values)

    # Internals --------------------------------------------------------------------------------

    def log_action_error(
        self, timestamp: datetime, message: str, action_invocation_id: str, action: str
    ) -> None:
        try:
            self.error_logger.log_action_error(timestamp, message, action_invocation_id, action)
        except Exception:  # noqa: BLE001 - a broken logger must not break the answer
            _logger.exception("the action error logger raised")

    def _observed_run(self, action: str, arguments: dict[str, str]) -> ActionResult:
        started = time.perf_counter()
        result = self._run(action, arguments)
        observer = self.observer
        if observer is not None:
            try:
                observer(action, result.error_code, time.perf_counter() - started)
            except Exception:  # noqa: BLE001 - a broken observer must not break the answer
                _logger.exception("the action observer raised")
        return result

    def _run(self, action: str, arguments: dict[str, str]) -> ActionResult:
        invocation_id = credentials.generate_id()
        try:
            now = self.clock.now()
        except Exception as exc:  # noqa: BLE001
            now = datetime.now(timezone.utc)
            self.log_action_error(now, f"clock failed: {type(exc).__name__}", invocation_id, action)
            return ActionResult(False, invocation_id, error_code="internal_error")
        ctx = Context(self, action, invocation_id, now)
        try:
            values = ACTION_TABLE[action].function(ctx, **arguments)
        except LoggedFailure as failure:
            ctx.log(failure.message)
            return ActionResult(False, invocation_id, error_code=failure.error_code)
        except ActionFailure as failure:
            return ActionResult(False, invocation_id, error_code=failure.error_code)
        except Exception as exc:  # noqa: BLE001 - F2.1 rule 5
            ctx.log(describe_exception(exc))
            return ActionResult(False, invocation_id, error_code="internal_error")
        return ActionResult(True, invocation_id, values=values)


def describe_exception(exc: BaseException) -> str:
    """A log line for an unexpected exception: its type and message.

    Our own parts never put secrets into exception messages, and the SQL engines we build hide
    statement parameters, so the message is safe to log.
    """
    return f"unexpected {type(exc).__name__}: {exc}"
