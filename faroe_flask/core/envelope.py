"""Reading action invocation requests and writing results (foundations.md F2.2, F2.3, F2.7, F2.8)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping
from typing import Any, Literal, Union

from .interfaces import InvalidActionInvocationRequestError
from .strict_json import load_object


class _Result:
    def to_json_object(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_json(self) -> str:
        """Compact JSON, members in the order of F2.5, non-ASCII written raw (F2.8)."""
        return json.dumps(self.to_json_object(), ensure_ascii=False, separators=(",", ":"))


@dataclasses.dataclass(frozen=True)
class ActionSuccess(_Result):
    """The action succeeded: ``values`` holds its returned values (``{}`` for most actions)."""

    action_invocation_id: str
    values: dict[str, Any]
    ok: Literal[True] = dataclasses.field(default=True, init=False)

    def to_json_object(self) -> dict[str, Any]:
        return {"ok": True, "action_invocation_id": self.action_invocation_id, "values": self.values}


@dataclasses.dataclass(frozen=True)
class ActionError(_Result):
    """The action ran and answered an error code (still an HTTP 200 on the wire)."""

    action_invocation_id: str
    error_code: str
    ok: Literal[False] = dataclasses.field(default=False, init=False)
    #: Why an ``internal_error`` happened, for in-process callers only (never on the wire):
    #: ``"user_deletion_refused"`` when the database refused to delete the user
    #: (``UserDeletionRefusedError``), else ``None``.
    cause: str | None = dataclasses.field(default=None, compare=False)

    def to_json_object(self) -> dict[str, Any]:
        return {"ok": False, "action_invocation_id": self.action_invocation_id, "error_code": self.error_code}


#: The outcome of one action invocation; ``if result.ok:`` narrows it to ``ActionSuccess``.
ActionResult = Union[ActionSuccess, ActionError]


def _reject(reason: str) -> InvalidActionInvocationRequestError:
    return InvalidActionInvocationRequestError(reason)


def parse_json_object(body: str | bytes) -> dict[str, Any]:
    """Parse one JSON object strictly; raise ``InvalidActionInvocationRequestError`` otherwise."""
    if not isinstance(body, (str, bytes, bytearray, memoryview)):
        raise _reject("body must be str or bytes")
    try:
        return load_object(body)
    except (ValueError, RecursionError) as exc:
        raise _reject(str(exc)) from None


def read_request(
    body: str | bytes,
    action_arguments: Mapping[str, tuple[str, ...]],
    *,
    blocklist: Collection[str] = (),
    allowlist: Collection[str] | None = None,
) -> tuple[str, dict[str, str]]:
    """F2.2: return the action name and its required string arguments, or reject the request."""
    document = parse_json_object(body)
    action = document.get("action")
    if not isinstance(action, str):
        raise _reject("action missing or not a string")
    arguments = document.get("arguments")
    if not isinstance(arguments, dict):
        raise _reject("arguments missing or not an object")
    if allowlist is not None:
        if action not in allowlist:
            raise _reject("action not allowed")
    elif action in blocklist:
        raise _reject("action blocked")
    names = action_arguments.get(action)
    if names is None:
        raise _reject("unknown action")
    values: dict[str, str] = {}
    for name in names:
        value = arguments.get(name)
        if not isinstance(value, str):
            raise _reject(f"argument {name} missing or not a string")
        values[name] = value
    return action, values
