"""``Server``: the parts, the action table, and resolving action invocation requests."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timezone

from . import credentials
from .actions import Action, ActionFailure, Context, LoggedFailure
from .envelope import ActionError, ActionResult, ActionSuccess, read_request
from .flows import ACTIONS
from .hashing import PasswordHasher
from .interfaces import (
    ActionErrorLogger,
    User,
    Clock,
    EmailAddressChecker,
    EmailSender,
    InvalidActionInvocationRequestError,
    PasswordHashAlgorithm,
    PasswordStrengthChecker,
    Storage,
    UserStore,
)
from .records import Session
from .sessions import SessionConfig, SessionSuccess, check_session, check_session_user

__all__ = [
    "Server",
    "SessionConfig",
    "RealClock",
    "AllowAllEmailAddresses",
    "LoggingErrorLogger",
    "ACTION_TABLE",
    "ActionObserver",
    "RunAction",
    "SessionSuccess",
]

_logger = logging.getLogger("faroe_flask")

ACTION_TABLE: Mapping[str, Action] = {entry.name: entry for entry in ACTIONS}
_ACTION_ARGUMENTS: Mapping[str, tuple[str, ...]] = {
    name: entry.arguments for name, entry in ACTION_TABLE.items()
}


#: ``run(action, arguments) -> result``: runs one invocation (the action, or the next observer).
RunAction = Callable[[str, dict[str, str]], ActionResult]

#: ``observer(action, arguments, run) -> result`` wraps every invocation: it calls ``run`` once
#: and returns its result (the Flask layer's signals and metrics are observers).
ActionObserver = Callable[[str, dict[str, str], RunAction], ActionResult]


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
        # Not "failed": a log-and-continue step (F12 item 2) logs too, and its action may succeed.
        self.logger.error(
            "faroe action %s (invocation %s at %s): %s",
            action,
            action_invocation_id,
            timestamp.isoformat(),
            message,
        )


class Server:
    """The framework-free Faroe server: resolves the 39 actions of the protocol.

    Every part must be safe to use from concurrent threads. ``max_concurrent_password_hashing``
    defaults to the number of CPUs; ``password_strength_checker`` to the Pwned Passwords range API,
    as in the reference.
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
    ) -> None:
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
        # How an invocation is run: the action itself, wrapped by each observer added; and the
        # same for the typed get_session path (``get_session``), whose result is a SessionSuccess.
        self._run: RunAction = self._execute
        self._run_session: RunAction = self._execute_session

    # Entry points -----------------------------------------------------------------------------

    def resolve_action_invocation_request(
        self,
        body: str | bytes,
        *,
        blocklist: Collection[str] = (),
        allowlist: Collection[str] | None = None,
        admit: Callable[[str], None] | None = None,
    ) -> str:
        """Resolve a request body into the body of a 200 response.

        Raises ``InvalidActionInvocationRequestError`` (answer HTTP 400, empty body) when the
        body is rejected; no other exception escapes, except from ``admit``: when given, it is
        called with the action's name once the body is accepted and before the action runs, and
        whatever it raises propagates (the action does not run). The Flask layer's per-client
        limits and captcha use it.
        """
        try:
            action, arguments = read_request(
                body, _ACTION_ARGUMENTS, blocklist=blocklist, allowlist=allowlist
            )
        except InvalidActionInvocationRequestError:
            raise
        except Exception as exc:  # noqa: BLE001 - nothing but a rejection may escape
            raise InvalidActionInvocationRequestError("unreadable body") from exc
        if admit is not None:
            admit(action)
        return self._run(action, arguments).to_json()

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
        return self._run(action, values)

    def get_session(self, session_token: str) -> SessionSuccess | ActionError:
        """``get_session`` in-process and typed, for the application's own views.

        The same validation as the action (the endpoint's ``get_session`` runs it too), without
        JSON values: a ``SessionSuccess`` carries the validated ``Session``, the ``User`` the
        validation read (``None`` when the user cache vouched for the session) and whether the
        activity was refreshed; failures are the action's (``invalid_session_token``,
        ``internal_error``, logged). Observers see it as a ``get_session`` invocation with the
        argument ``session_token`` and get the ``SessionSuccess`` from ``run``.
        """
        result = self._run_session("get_session", {"session_token": session_token})
        if isinstance(result, (SessionSuccess, ActionError)):
            return result
        _logger.error("an action observer replaced the result of get_session")
        return ActionError(result.action_invocation_id, "internal_error")

    def get_session_user(self, session: Session) -> User | ActionError:
        """The user of a session that ``get_session`` validated on the strength of the user cache
        (``SessionSuccess.user`` is ``None``), read and checked as validation would have: a user
        deleted, disabled or signed out everywhere meanwhile ends the session (deleted, answered
        ``invalid_session_token``); a failure is ``internal_error`` (logged). Not an action: the
        observers do not see it."""
        ctx = self._context("get_session")
        if isinstance(ctx, ActionError):
            return ctx
        try:
            return check_session_user(ctx, session)
        except Exception as exc:  # noqa: BLE001 - mapped as an action's failure
            return self._failed(ctx, exc)

    def add_action_observer(self, observer: ActionObserver) -> None:
        """Wrap every invocation (endpoint, ``invoke`` and ``get_session`` alike) in ``observer``.

        The observer gets the action name, its arguments and ``run``; it must call ``run`` once and
        return its result. Observers added later wrap those added before. An observer that
        raises is logged and changes nothing: the result is returned as if it were absent (the
        action still runs exactly once). With no observer, invocations pay nothing for this.
        """
        self._run = _observed(observer, self._run)
        self._run_session = _observed(observer, self._run_session)

    # Internals --------------------------------------------------------------------------------

    def log_action_error(
        self, timestamp: datetime, message: str, action_invocation_id: str, action: str
    ) -> None:
        try:
            self.error_logger.log_action_error(timestamp, message, action_invocation_id, action)
        except Exception:  # noqa: BLE001 - a broken logger must not break the answer
            _logger.exception("the action error logger raised")

    def _execute_session(self, action: str, arguments: dict[str, str]) -> ActionResult:
        return self._execute(action, arguments, typed=True)

    def _execute(self, action: str, arguments: dict[str, str], typed: bool = False) -> ActionResult:
        ctx = self._context(action)
        if isinstance(ctx, ActionError):
            return ctx
        try:
            if typed:
                valid = check_session(ctx, arguments["session_token"])
                return SessionSuccess(ctx.action_invocation_id, valid, self.session_config)
            values = ACTION_TABLE[action].function(ctx, **arguments)
        except Exception as exc:  # noqa: BLE001 - F2.1 rule 5
            return self._failed(ctx, exc)
        return ActionSuccess(ctx.action_invocation_id, values)

    def _context(self, action: str) -> Context | ActionError:
        """A new invocation of ``action``: its id and the time, or ``internal_error`` when the
        clock fails."""
        invocation_id = credentials.generate_id()
        try:
            now = self.clock.now()
        except Exception as exc:  # noqa: BLE001
            now = datetime.now(timezone.utc)
            self.log_action_error(now, f"clock failed: {type(exc).__name__}", invocation_id, action)
            return ActionError(invocation_id, "internal_error")
        return Context(self, action, invocation_id, now)

    def _failed(self, ctx: Context, exc: Exception) -> ActionError:
        """The answer to an action that raised: its failure's code (logged if it is a
        ``LoggedFailure``), or ``internal_error`` (logged) for anything unexpected."""
        if isinstance(exc, LoggedFailure):
            self._log_answer(ctx, exc.message, exc.error_code)
            return ActionError(ctx.action_invocation_id, exc.error_code, exc.cause)
        if isinstance(exc, ActionFailure):
            return ActionError(ctx.action_invocation_id, exc.error_code)
        self._log_answer(ctx, describe_exception(exc), "internal_error")
        return ActionError(ctx.action_invocation_id, "internal_error")

    def _log_answer(self, ctx: Context, message: str, error_code: str) -> None:
        """Log the error that decides the answer, and say which answer it is."""
        self.log_action_error(ctx.now, f"{message}; answered {error_code}", ctx.action_invocation_id, ctx.action)


def _observed(observer: ActionObserver, inner: RunAction) -> RunAction:
    """``inner`` wrapped in ``observer`` (see ``Server.add_action_observer``)."""

    def observed(action: str, arguments: dict[str, str]) -> ActionResult:
        results: list[ActionResult] = []

        def run(action_: str, arguments_: dict[str, str]) -> ActionResult:
            if results:
                return results[0]  # run at most once, whatever the observer does
            results.append(inner(action_, arguments_))
            return results[0]

        try:
            return observer(action, arguments, run)
        except Exception:  # noqa: BLE001 - an observer must not change the answer
            _logger.exception("a Faroe action observer raised")
            return results[0] if results else inner(action, arguments)

    return observed


def describe_exception(exc: BaseException) -> str:
    """A log line for an unexpected exception: its type and message.

    Our own parts never put secrets into exception messages, and the SQL engines we build hide
    statement parameters, so the message is safe to log.
    """
    return f"unexpected {type(exc).__name__}: {exc}"
