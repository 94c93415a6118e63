"""The plumbing every action uses: its context, its failures, and how it is declared.

An action is a plain function ``fn(ctx, **arguments) -> values``. It ends early by raising
``ActionFailure`` (an error code the client sees, not logged) or ``LoggedFailure`` (logged, then
answered with its code, normally ``internal_error``). Any other exception escaping an action is an
unexpected failure: the server logs it and answers ``internal_error`` (foundations.md F2.1 rule 5),
which is also the spec's answer for every "other storage / user store error".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from .server import Server

Values = dict[str, Any]
ActionFunction = Callable[..., Values]


class ActionFailure(Exception):
    """Ends an action with an error code. Not logged."""

    def __init__(self, error_code: str) -> None:
        super().__init__(error_code)
        self.error_code = error_code


class LoggedFailure(ActionFailure):
    """Ends an action with an error code after logging ``message`` (never a secret).

    ``cause`` reaches in-process callers as ``ActionError.cause`` (never the wire)."""

    def __init__(self, message: str, error_code: str = "internal_error", cause: str | None = None) -> None:
        super().__init__(error_code)
        self.message = message
        self.cause = cause


def fail(error_code: str) -> NoReturn:
    raise ActionFailure(error_code)


def internal_error(message: str) -> NoReturn:
    raise LoggedFailure(message)


def conflict() -> NoReturn:
    """A lost compare-and-swap (Compatibility policy item 5)."""
    raise ActionFailure("internal_conflict")


@dataclasses.dataclass(frozen=True)
class Action:
    """One entry of the action table: its name, its required string arguments, its function."""

    name: str
    arguments: tuple[str, ...]
    function: ActionFunction


def action(name: str, *arguments: str) -> Callable[[ActionFunction], Action]:
    """Declare a function as the action ``name`` taking the given string arguments."""

    def declare(function: ActionFunction) -> Action:
        return Action(name, arguments, function)

    return declare


@dataclasses.dataclass(frozen=True)
class Context:
    """One action invocation: the server's parts, the time it started, and where to log."""

    server: Server
    action: str
    action_invocation_id: str
    now: datetime
    #: ``now`` as unix seconds with sub-second precision.
    timestamp: float = dataclasses.field(init=False, repr=False, compare=False)
    #: ``now`` as whole unix seconds (what records store).
    unix_seconds: int = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        timestamp = self.now.timestamp()
        object.__setattr__(self, "timestamp", timestamp)
        object.__setattr__(self, "unix_seconds", math.floor(timestamp))

    def key(self, prefix: str, rest: str) -> str:
        return self.server.storage_key_prefix + prefix + rest

    def log(self, message: str) -> None:
        """Report an error that does not change the answer (F12 item 2); the message says so,
        since the action may still succeed."""
        self.server.log_action_error(
            self.now, f"{message}; the action went on", self.action_invocation_id, self.action
        )


def from_unix_seconds(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def seconds(duration: timedelta) -> float:
    return duration.total_seconds()
