"""``UserServerClient``: a ``UserStore`` that calls a user server over HTTP (user-server.md).

Give it to ``Server(user_store=...)`` to keep the users in another application, ours (see
``faroe_flask.user_server.user_server_blueprint``) or any server that speaks the protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.strict_json import dump_compact, load_object
from ..client.errors import MalformedResponseError, TransportError, UnexpectedStatusError
from ..client.transport import DEFAULT_TIMEOUT, HTTPTransport, Transport
from ..core.interfaces import (
    FaroeError,
    User,
    UserEmailAddressAlreadyUsedError,
    UserNotFoundError,
)
from .protocol import ERROR_MAPPING, decode_user, encode_bytes

__all__ = [
    "UserServerClient",
    "UserServerError",
    "UserServerUnavailableError",
    "UserServerStatusError",
    "UserServerMalformedResponseError",
    "UserServerActionError",
]


class UserServerError(FaroeError):
    """A user server call failed (U8). The Faroe action that made it answers ``internal_error``."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"user server action {action}: {message}")
        self.action = action


class UserServerUnavailableError(UserServerError):
    """No complete response: connection refused or reset, timeout (U8 item 1)."""


class UserServerStatusError(UserServerError):
    """The user server answered with a status other than 200 (U8 item 2)."""

    def __init__(self, action: str, status: int) -> None:
        super().__init__(action, f"the user server answered HTTP {status}")
        self.status = status


class UserServerMalformedResponseError(UserServerError):
    """A 200 response that breaks a rule of U3 or U4 (U8 item 3)."""


class UserServerActionError(UserServerError):
    """The user server answered an error code not recognised for this action (U6, U8 item 4),
    for example ``internal_error``."""

    def __init__(self, action: str, error_code: str, action_invocation_id: str) -> None:
        super().__init__(
            action,
            f"the user server answered error {error_code!r} (invocation {action_invocation_id})",
        )
        self.error_code = error_code
        self.action_invocation_id = action_invocation_id


class UserServerClient:
    """Implements ``faroe_flask.UserStore`` over the user-server protocol.

    ``transport`` is any ``faroe_flask.client.Transport``; normally an ``HTTPTransport``
    (``UserServerClient.from_url(url, secret=..., timeout=...)`` builds one). Errors are mapped
    exactly as U6 says: ``UserNotFoundError``, ``UserEmailAddressAlreadyUsedError``, and a
    ``UserServerError`` subclass for everything else. Nothing is retried.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        secret: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
    ) -> UserServerClient:
        """A client over ``HTTPTransport``; ``secret`` is sent as ``Authorization: Bearer``."""
        return cls(HTTPTransport(url, headers=headers, bearer_secret=secret, timeout=timeout))

    def __repr__(self) -> str:
        return f"UserServerClient({self.transport!r})"

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if callable(close):
            close()

    # The protocol -----------------------------------------------------------------------------

    def _call(self, action: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Invoke ``action``; return ``values`` or raise the mapped exception."""
        body = dump_compact({"action": action, "arguments": arguments})
        try:
            response = self.transport.send(body)
        except UnexpectedStatusError as exc:
            raise UserServerStatusError(action, exc.status) from None
        except TransportError as exc:
            raise UserServerUnavailableError(action, str(exc)) from exc
        except MalformedResponseError as exc:  # e.g. a response over the size limit
            raise UserServerMalformedResponseError(action, str(exc)) from None
        try:
            document = load_object(response)
        except ValueError as exc:
            raise UserServerMalformedResponseError(action, str(exc)) from None
        ok = document.get("ok")
        if not isinstance(ok, bool):
            raise UserServerMalformedResponseError(action, "ok must be a boolean")
        invocation_id = document.get("action_invocation_id")
        if not isinstance(invocation_id, str):
            raise UserServerMalformedResponseError(action, "action_invocation_id must be a string")
        if not ok:
            error_code = document.get("error_code")
            if not isinstance(error_code, str):
                raise UserServerMalformedResponseError(action, "error_code must be a string")
            maps_not_found, maps_already_used = ERROR_MAPPING[action]
            if maps_not_found and error_code == "user_not_found":
                raise UserNotFoundError(f"user server action {action}: user_not_found")
            if maps_already_used and error_code == "email_address_already_used":
                raise UserEmailAddressAlreadyUsedError(
                    f"user server action {action}: email_address_already_used"
                )
            raise UserServerActionError(action, error_code, invocation_id)
        values = document.get("values")
        if not isinstance(values, dict):
            raise UserServerMalformedResponseError(action, "values must be an object")
        return values

    def _call_for_user(self, action: str, arguments: dict[str, Any]) -> User:
        values = self._call(action, arguments)
        user = values.get("user")
        if not isinstance(user, dict):
            raise UserServerMalformedResponseError(action, "values.user must be an object")
        try:
            return decode_user(user)
        except ValueError as exc:
            raise UserServerMalformedResponseError(action, str(exc)) from None

    # UserStore --------------------------------------------------------------------------------

    def create_user(
        self,
        email_address: str,
        password_hash: bytes,
        password_hash_algorithm_id: str,
        password_salt: bytes,
    ) -> User:
        return self._call_for_user(
            "create_user",
            {
                "email_address": email_address,
                "password_hash": encode_bytes(password_hash),
                "password_hash_algorithm_id": password_hash_algorithm_id,
                "password_salt": encode_bytes(password_salt),
            },
        )

    def get_user(self, user_id: str) -> User:
        return self._call_for_user("get_user", {"user_id": user_id})

    def get_user_by_email_address(self, email_address: str) -> User:
        return self._call_for_user("get_user_by_email_address", {"email_address": email_address})

    def update_user_email_address(
        self, user_id: str, email_address: str, expected_email_address_counter: int
    ) -> None:
        self._call(
            "update_user_email_address",
            {
                "user_id": user_id,
                "email_address": email_address,
                "user_email_address_counter": expected_email_address_counter,
            },
        )

    def update_user_password_hash(
        self,
        user_id: str,
        password_hash: bytes,
        password_hash_algorithm_id: str,
        password_salt: bytes,
        expected_password_hash_counter: int,
    ) -> None:
        self._call(
            "update_user_password_hash",
            {
                "user_id": user_id,
                "password_hash": encode_bytes(password_hash),
                "password_hash_algorithm_id": password_hash_algorithm_id,
                "password_salt": encode_bytes(password_salt),
                "user_password_hash_counter": expected_password_hash_counter,
            },
        )

    def increment_user_sessions_counter(self, user_id: str, expected_sessions_counter: int) -> None:
        self._call(
            "increment_user_sessions_counter",
            {"user_id": user_id, "user_sessions_counter": expected_sessions_counter},
        )

    def delete_user(self, user_id: str) -> None:
        self._call("delete_user", {"user_id": user_id})
