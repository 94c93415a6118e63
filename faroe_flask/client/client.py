"""``Client``: one method per Faroe action, typed results, strict reading of responses.

Each method sends ``{"action": <name>, "arguments": {...}}`` through its transport and returns
either the action's success (a frozen dataclass carrying the action's values) or an
``ActionError`` with the ``error_code``. The response is read as strictly as the official
JavaScript client reads it (foundations.md F2.5, F13): ``ok`` a boolean, ``action_invocation_id``
a string, ``error_code`` a string, ``values`` an object, and every model field with exactly its
JSON type: strings, booleans, timestamps as non-negative JSON integers (``session.expires_at`` a
positive integer or ``null``). Anything else raises ``MalformedResponseError``; unknown members
are ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from ..core.strict_json import dump_compact, load_object
from .errors import MalformedResponseError
from .models import (
    ActionError,
    ActionSuccess,
    CreateSigninResult,
    CreateSigninSuccess,
    CreateSignupResult,
    CreateSignupSuccess,
    CreateUserDeletionResult,
    CreateUserDeletionSuccess,
    CreateUserEmailAddressUpdateResult,
    CreateUserEmailAddressUpdateSuccess,
    CreateUserPasswordResetResult,
    CreateUserPasswordResetSuccess,
    CreateUserPasswordUpdateResult,
    CreateUserPasswordUpdateSuccess,
    GetSessionResult,
    GetSessionSuccess,
    GetSigninResult,
    GetSigninSuccess,
    GetSignupResult,
    GetSignupSuccess,
    GetUserDeletionResult,
    GetUserDeletionSuccess,
    GetUserEmailAddressUpdateResult,
    GetUserEmailAddressUpdateSuccess,
    GetUserPasswordResetResult,
    GetUserPasswordResetSuccess,
    GetUserPasswordUpdateResult,
    GetUserPasswordUpdateSuccess,
    NewSessionResult,
    NewSessionSuccess,
    NoValuesResult,
    Session,
    Signin,
    Signup,
    UserDeletion,
    UserEmailAddressUpdate,
    UserPasswordReset,
    UserPasswordUpdate,
)
from .transport import Transport

__all__ = ["Client", "ACTION_ARGUMENTS"]

S = TypeVar("S")

# The 39 actions and their string arguments, in order (foundations.md F2.4).
ACTION_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "create_signup": ("email_address",),
    "get_signup": ("signup_token",),
    "delete_signup": ("signup_token",),
    "send_signup_email_address_verification_code": ("signup_token",),
    "verify_signup_email_address_verification_code": (
        "signup_token",
        "email_address_verification_code",
    ),
    "set_signup_password": ("signup_token", "password"),
    "complete_signup": ("signup_token",),
    "create_signin": ("user_email_address",),
    "get_signin": ("signin_token",),
    "delete_signin": ("signin_token",),
    "verify_signin_user_password": ("signin_token", "password"),
    "complete_signin": ("signin_token",),
    "get_session": ("session_token",),
    "delete_session": ("session_token",),
    "delete_all_sessions": ("session_token",),
    "create_user_email_address_update": ("session_token", "new_email_address"),
    "get_user_email_address_update": ("session_token", "user_email_address_update_token"),
    "delete_user_email_address_update": ("session_token", "user_email_address_update_token"),
    "send_user_email_address_update_email_address_verification_code": (
        "session_token",
        "user_email_address_update_token",
    ),
    "verify_user_email_address_update_email_address_verification_code": (
        "session_token",
        "user_email_address_update_token",
        "email_address_verification_code",
    ),
    "verify_user_email_address_update_user_password": (
        "session_token",
        "user_email_address_update_token",
        "password",
    ),
    "complete_user_email_address_update": ("session_token", "user_email_address_update_token"),
    "create_user_password_update": ("session_token",),
    "get_user_password_update": ("session_token", "user_password_update_token"),
    "delete_user_password_update": ("session_token", "user_password_update_token"),
    "verify_user_password_update_user_password": (
        "session_token",
        "user_password_update_token",
        "password",
    ),
    "set_user_password_update_new_password": (
        "session_token",
        "user_password_update_token",
        "password",
    ),
    "complete_user_password_update": ("session_token", "user_password_update_token"),
    "create_user_deletion": ("session_token",),
    "get_user_deletion": ("session_token", "user_deletion_token"),
    "delete_user_deletion": ("session_token", "user_deletion_token"),
    "verify_user_deletion_user_password": ("session_token", "user_deletion_token", "password"),
    "complete_user_deletion": ("session_token", "user_deletion_token"),
    "create_user_password_reset": ("user_email_address",),
    "get_user_password_reset": ("user_password_reset_token",),
    "delete_user_password_reset": ("user_password_reset_token",),
    "verify_user_password_reset_temporary_password": (
        "user_password_reset_token",
        "temporary_password",
    ),
    "set_user_password_reset_new_password": ("user_password_reset_token", "password"),
    "complete_user_password_reset": ("user_password_reset_token",),
}


class _Malformed(Exception):
    """Raised by the readers below; ``Client._invoke`` turns it into ``MalformedResponseError``."""


def _member(obj: dict[str, Any], name: str, path: str) -> Any:
    if name not in obj:
        raise _Malformed(f"{path}{name} is missing")
    return obj[name]


def _string(obj: dict[str, Any], name: str, path: str = "values.") -> str:
    value = _member(obj, name, path)
    if not isinstance(value, str):
        raise _Malformed(f"{path}{name} must be a string")
    return value


def _boolean(obj: dict[str, Any], name: str, path: str) -> bool:
    value = _member(obj, name, path)
    if not isinstance(value, bool):
        raise _Malformed(f"{path}{name} must be a boolean")
    return value


def _to_datetime(seconds: int, name: str, path: str) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise _Malformed(f"{path}{name} is out of range") from None


def _timestamp(obj: dict[str, Any], name: str, path: str) -> datetime:
    value = _member(obj, name, path)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _Malformed(f"{path}{name} must be a non-negative integer")
    return _to_datetime(value, name, path)


def _object(obj: dict[str, Any], name: str, path: str = "values.") -> tuple[dict[str, Any], str]:
    value = _member(obj, name, path)
    if not isinstance(value, dict):
        raise _Malformed(f"{path}{name} must be an object")
    return value, f"{path}{name}."


def _read_signup(values: dict[str, Any]) -> Signup:
    obj, path = _object(values, "signup")
    return Signup(
        id=_string(obj, "id", path),
        email_address=_string(obj, "email_address", path),
        email_address_verified=_boolean(obj, "email_address_verified", path),
        password_set=_boolean(obj, "password_set", path),
        created_at=_timestamp(obj, "created_at", path),
        expires_at=_timestamp(obj, "expires_at", path),
    )


def _read_signin(values: dict[str, Any]) -> Signin:
    obj, path = _object(values, "signin")
    return Signin(
        id=_string(obj, "id", path),
        user_id=_string(obj, "user_id", path),
        user_first_factor_verified=_boolean(obj, "user_first_factor_verified", path),
        created_at=_timestamp(obj, "created_at", path),
        expires_at=_timestamp(obj, "expires_at", path),
    )


def _read_session(values: dict[str, Any]) -> Session:
    obj, path = _object(values, "session")
    raw_expires_at = _member(obj, "expires_at", path)
    expires_at: datetime | None
    if raw_expires_at is None:
        expires_at = None
    elif isinstance(raw_expires_at, int) and not isinstance(raw_expires_at, bool) and raw_expires_at > 0:
        expires_at = _to_datetime(raw_expires_at, "expires_at", path)
    else:
        raise _Malformed(f"{path}expires_at must be a positive integer or null")
    return Session(
        id=_string(obj, "id", path),
        user_id=_string(obj, "user_id", path),
        created_at=_timestamp(obj, "created_at", path),
        expires_at=expires_at,
    )


def _read_user_email_address_update(values: dict[str, Any]) -> UserEmailAddressUpdate:
    obj, path = _object(values, "user_email_address_update")
    return UserEmailAddressUpdate(
        id=_string(obj, "id", path),
        user_id=_string(obj, "user_id", path),
        session_id=_string(obj, "session_id", path),
        new_email_address=_string(obj, "new_email_address", path),
        new_email_address_verified=_boolean(obj, "new_email_address_verified", path),
        user_identity_verified=_boolean(obj, "user_identity_verified", path),
        created_at=_timestamp(obj, "created_at", path),
        expires_at=_timestamp(obj, "expires_at", path),
    )


def _read_user_password_update(values: dict[str, Any]) -> UserPasswordUpdate:
    obj, path = _object(values, "user_password_update")
    return UserPasswordUpdate(
        id=_string(obj, "id", path),
        user_id=_string(obj, "user_id", path),
        session_id=_string(obj, "session_id", path),
        user_identity_verified=_boolean(obj, "user_identity_verified", path),
        new_password_set=_boolean(obj, "new_password_set", path),
        created_at=_timestamp(obj, "created_at", path),
        expires_at=_timestamp(obj, "expires_at", path),
    )


def _read_user_deletion(values: dict[str, Any]) -> UserDeletion:
    obj, path = _object(values, "user_deletion")
    return UserDeletion(
        id=_string(obj, "id", path),
        user_id=_string(obj, "user_id", path),
        session_id=_string(obj, "session_id", path),
        user_identity_verified=_boolean(obj, "user_identity_verified", path),
        created_at=_timestamp(obj, "created_at", path),
        expires_at=_timestamp(obj, "expires_at", path),
    )


def _read_user_password_reset(values: dict[str, Any]) -> UserPasswordReset:
    obj, path = _object(values, "user_password_reset")
    return UserPasswordReset(
        id=_string(obj, "id", path),
        user_id=_string(obj, "user_id", path),
        user_first_factor_verified=_boolean(obj, "user_first_factor_verified", path),
        new_password_set=_boolean(obj, "new_password_set", path),
        created_at=_timestamp(obj, "created_at", path),
        expires_at=_timestamp(obj, "expires_at", path),
    )


# Builders: (action_invocation_id, values) -> success result. ------------------------------------


def _no_values(invocation_id: str, values: dict[str, Any]) -> ActionSuccess:
    return ActionSuccess(invocation_id)


def _create_signup(invocation_id: str, values: dict[str, Any]) -> CreateSignupSuccess:
    return CreateSignupSuccess(invocation_id, _read_signup(values), _string(values, "signup_token"))


def _get_signup(invocation_id: str, values: dict[str, Any]) -> GetSignupSuccess:
    return GetSignupSuccess(invocation_id, _read_signup(values))


def _create_signin(invocation_id: str, values: dict[str, Any]) -> CreateSigninSuccess:
    return CreateSigninSuccess(invocation_id, _read_signin(values), _string(values, "signin_token"))


def _get_signin(invocation_id: str, values: dict[str, Any]) -> GetSigninSuccess:
    return GetSigninSuccess(invocation_id, _read_signin(values))


def _new_session(invocation_id: str, values: dict[str, Any]) -> NewSessionSuccess:
    return NewSessionSuccess(invocation_id, _read_session(values), _string(values, "session_token"))


def _get_session(invocation_id: str, values: dict[str, Any]) -> GetSessionSuccess:
    return GetSessionSuccess(invocation_id, _read_session(values))


def _create_user_email_address_update(
    invocation_id: str, values: dict[str, Any]
) -> CreateUserEmailAddressUpdateSuccess:
    return CreateUserEmailAddressUpdateSuccess(
        invocation_id,
        _read_user_email_address_update(values),
        _string(values, "user_email_address_update_token"),
    )


def _get_user_email_address_update(
    invocation_id: str, values: dict[str, Any]
) -> GetUserEmailAddressUpdateSuccess:
    return GetUserEmailAddressUpdateSuccess(invocation_id, _read_user_email_address_update(values))


def _create_user_password_update(
    invocation_id: str, values: dict[str, Any]
) -> CreateUserPasswordUpdateSuccess:
    return CreateUserPasswordUpdateSuccess(
        invocation_id, _read_user_password_update(values), _string(values, "user_password_update_token")
    )


def _get_user_password_update(invocation_id: str, values: dict[str, Any]) -> GetUserPasswordUpdateSuccess:
    return GetUserPasswordUpdateSuccess(invocation_id, _read_user_password_update(values))


def _create_user_deletion(invocation_id: str, values: dict[str, Any]) -> CreateUserDeletionSuccess:
    return CreateUserDeletionSuccess(
        invocation_id, _read_user_deletion(values), _string(values, "user_deletion_token")
    )


def _get_user_deletion(invocation_id: str, values: dict[str, Any]) -> GetUserDeletionSuccess:
    return GetUserDeletionSuccess(invocation_id, _read_user_deletion(values))


def _create_user_password_reset(
    invocation_id: str, values: dict[str, Any]
) -> CreateUserPasswordResetSuccess:
    return CreateUserPasswordResetSuccess(
        invocation_id, _read_user_password_reset(values), _string(values, "user_password_reset_token")
    )


def _get_user_password_reset(invocation_id: str, values: dict[str, Any]) -> GetUserPasswordResetSuccess:
    return GetUserPasswordResetSuccess(invocation_id, _read_user_password_reset(values))


class Client:
    """A client for a Faroe action invocation endpoint, over any ``Transport``.

    Thread-safe if its transport is (both ``HTTPTransport`` and ``LocalTransport`` are).
    Exceptions: ``TransportError`` / ``UnexpectedStatusError`` from the transport (the action may
    not have run), ``MalformedResponseError`` for a response that is not a valid result,
    ``TypeError`` for an argument that is not a ``str``.

    Each method's docstring names the error codes its action can answer; docs/actions.md explains
    them and the order in which a flow's actions are called.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __repr__(self) -> str:
        return f"Client({self.transport!r})"

    def for_end_user(
        self,
        address: str | None = None,
        *,
        captcha_token: str | None = None,
        address_header: str = "Faroe-Client-Address",
    ) -> Client:
        """A client whose requests speak for one end user of the calling application server.

        ``address`` (the end user's IP address) goes in ``Faroe-Client-Address``, which the
        endpoint reads from authenticated callers only (a bearer secret on the transport), so that
        its per-client limits count that user and not the application server;
        ``address_header`` follows the server's ``FAROE_CLIENT_ADDRESS_HEADER``.
        ``captcha_token`` goes in ``X-Captcha-Token`` for the actions that require one. The new
        client shares this one's transport and its connections: make one per call. Needs a
        transport that can add headers (``HTTPTransport``); an address that is not an IP address
        is a ``ValueError`` here rather than an HTTP 400 there.
        """
        headers: dict[str, str] = {}
        if address is not None:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError("address must be an IPv4 or IPv6 address") from None
            headers[address_header] = address
        if captcha_token is not None:
            headers["X-Captcha-Token"] = captcha_token
        with_headers = getattr(self.transport, "with_headers", None)
        if with_headers is None:
            raise TypeError(f"{type(self.transport).__name__} cannot send headers")
        return Client(with_headers(headers))

    def _invoke(
        self, action: str, build: Callable[[str, dict[str, Any]], S], **arguments: str
    ) -> S | ActionError:
        for name, value in arguments.items():
            if not isinstance(value, str):
                raise TypeError(f"{action}: argument {name} must be a str, not {type(value).__name__}")
        body = dump_compact({"action": action, "arguments": arguments})
        response = self.transport.send(body)
        try:
            document = load_object(response)
        except ValueError as exc:
            raise MalformedResponseError(f"malformed {action} result: {exc}") from None
        try:
            ok = _member(document, "ok", "")
            if not isinstance(ok, bool):
                raise _Malformed("ok must be a boolean")
            invocation_id = _string(document, "action_invocation_id", "")
            if not ok:
                return ActionError(invocation_id, _string(document, "error_code", ""))
            values, _ = _object(document, "values", "")
            return build(invocation_id, values)
        except _Malformed as exc:
            raise MalformedResponseError(f"malformed {action} result: {exc}") from None

    # The 39 actions ---------------------------------------------------------------------------

    def create_signup(self, email_address: str) -> CreateSignupResult:
        """Start a sign-up for an address no user has; an 8-character code is emailed to it.

        Args:
            email_address: the address to register (compared exactly, never normalised).

        Returns ``CreateSignupSuccess`` (``.signup``, ``.signup_token``), or ``ActionError`` with
        one of these ``error_code`` values: ``invalid_email_address``,
        ``email_address_already_used``, ``email_address_not_allowed``, ``rate_limited``,
        ``internal_conflict``, ``internal_error``. What each means: docs/actions.md#create_signup.
        """
        return self._invoke("create_signup", _create_signup, email_address=email_address)

    def get_signup(self, signup_token: str) -> GetSignupResult:
        """Read the signup's current state.

        Args:
            signup_token: from ``create_signup``.

        Returns ``GetSignupSuccess`` (``.signup``), or ``ActionError`` with one of these
        ``error_code`` values: ``invalid_signup_token``, ``internal_error``. What each means:
        docs/actions.md#get_signup.
        """
        return self._invoke("get_signup", _get_signup, signup_token=signup_token)

    def delete_signup(self, signup_token: str) -> NoValuesResult:
        """Cancel the signup.

        Args:
            signup_token: from ``create_signup``.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_signup_token``, ``internal_error``. What each means:
        docs/actions.md#delete_signup.
        """
        return self._invoke("delete_signup", _no_values, signup_token=signup_token)

    def send_signup_email_address_verification_code(self, signup_token: str) -> NoValuesResult:
        """Email the signup's verification code again (the same code).

        Args:
            signup_token: from ``create_signup``.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_signup_token``, ``email_address_already_verified``, ``rate_limited``,
        ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#send_signup_email_address_verification_code.
        """
        return self._invoke(
            "send_signup_email_address_verification_code", _no_values, signup_token=signup_token
        )

    def verify_signup_email_address_verification_code(
        self, signup_token: str, email_address_verification_code: str
    ) -> NoValuesResult:
        """Check the emailed code (any case) and mark the signup's address verified.

        Args:
            signup_token: from ``create_signup``.
            email_address_verification_code: the 8-character code from the email.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_signup_token``, ``email_address_already_verified``, ``rate_limited``,
        ``incorrect_email_address_verification_code``, ``internal_conflict``, ``internal_error``.
        What each means: docs/actions.md#verify_signup_email_address_verification_code.
        """
        return self._invoke(
            "verify_signup_email_address_verification_code",
            _no_values,
            signup_token=signup_token,
            email_address_verification_code=email_address_verification_code,
        )

    def set_signup_password(self, signup_token: str, password: str) -> NoValuesResult:
        """Check the chosen password (10 to 100 characters, not breached); keep its hash.

        Args:
            signup_token: from ``create_signup``.
            password: the chosen password.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_signup_token``, ``email_address_not_verified``, ``password_already_set``,
        ``invalid_password_length``, ``weak_password``, ``internal_conflict``, ``internal_error``.
        What each means: docs/actions.md#set_signup_password.
        """
        return self._invoke(
            "set_signup_password", _no_values, signup_token=signup_token, password=password
        )

    def complete_signup(self, signup_token: str) -> NewSessionResult:
        """Create the user through the user store and sign them in; the signup is consumed.

        Args:
            signup_token: from ``create_signup``.

        Returns ``NewSessionSuccess`` (``.session``, ``.session_token``), or ``ActionError`` with
        one of these ``error_code`` values: ``invalid_signup_token``,
        ``email_address_not_verified``, ``password_not_set``, ``session_not_created``,
        ``internal_conflict``, ``internal_error``. What each means: docs/actions.md#complete_signup.
        """
        return self._invoke("complete_signup", _new_session, signup_token=signup_token)

    def create_signin(self, user_email_address: str) -> CreateSigninResult:
        """Start a sign-in for the enabled user with exactly this email address.

        Args:
            user_email_address: the user's email address (exact match).

        Returns ``CreateSigninSuccess`` (``.signin``, ``.signin_token``), or ``ActionError`` with
        one of these ``error_code`` values: ``invalid_email_address``, ``user_not_found``,
        ``user_disabled``, ``internal_error``. What each means: docs/actions.md#create_signin.
        """
        return self._invoke("create_signin", _create_signin, user_email_address=user_email_address)

    def get_signin(self, signin_token: str) -> GetSigninResult:
        """Read the signin's current state.

        Args:
            signin_token: from ``create_signin``.

        Returns ``GetSigninSuccess`` (``.signin``), or ``ActionError`` with one of these
        ``error_code`` values: ``invalid_signin_token``, ``internal_error``. What each means:
        docs/actions.md#get_signin.
        """
        return self._invoke("get_signin", _get_signin, signin_token=signin_token)

    def delete_signin(self, signin_token: str) -> NoValuesResult:
        """Cancel the signin.

        Args:
            signin_token: from ``create_signin``.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_signin_token``, ``internal_error``. What each means:
        docs/actions.md#delete_signin.
        """
        return self._invoke("delete_signin", _no_values, signin_token=signin_token)

    def verify_signin_user_password(self, signin_token: str, password: str) -> NoValuesResult:
        """Check the user's password (rate limited per user); mark the first factor verified.

        Args:
            signin_token: from ``create_signin``.
            password: the user's current password.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_signin_token``, ``user_first_factor_already_verified``, ``rate_limited``,
        ``incorrect_password``, ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#verify_signin_user_password.
        """
        return self._invoke(
            "verify_signin_user_password", _no_values, signin_token=signin_token, password=password
        )

    def complete_signin(self, signin_token: str) -> NewSessionResult:
        """Exchange a verified signin for a new session; a signed-in notification is emailed.

        Args:
            signin_token: from ``create_signin``.

        Returns ``NewSessionSuccess`` (``.session``, ``.session_token``), or ``ActionError`` with
        one of these ``error_code`` values: ``invalid_signin_token``,
        ``user_first_factor_not_verified``, ``internal_error``. What each means:
        docs/actions.md#complete_signin.
        """
        return self._invoke("complete_signin", _new_session, signin_token=signin_token)

    def get_session(self, session_token: str) -> GetSessionResult:
        """Validate a session token and return the session (extends its inactivity timeout).

        Args:
            session_token: the signed-in user's session token.

        Returns ``GetSessionSuccess`` (``.session``), or ``ActionError`` with one of these
        ``error_code`` values: ``invalid_session_token``, ``internal_error``. What each means:
        docs/actions.md#get_session.
        """
        return self._invoke("get_session", _get_session, session_token=session_token)

    def delete_session(self, session_token: str) -> NoValuesResult:
        """Sign out: delete this session.

        Args:
            session_token: the signed-in user's session token.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``internal_error``. What each means:
        docs/actions.md#delete_session.
        """
        return self._invoke("delete_session", _no_values, session_token=session_token)

    def delete_all_sessions(self, session_token: str) -> NoValuesResult:
        """Sign out everywhere: end every session of the token's user, this one included.

        Args:
            session_token: the signed-in user's session token.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#delete_all_sessions.
        """
        return self._invoke("delete_all_sessions", _no_values, session_token=session_token)

    def create_user_email_address_update(
        self, session_token: str, new_email_address: str
    ) -> CreateUserEmailAddressUpdateResult:
        """Start an email address change; a verification code is emailed to the new address.

        Args:
            session_token: the signed-in user's session token.
            new_email_address: the address to change to.

        Returns ``CreateUserEmailAddressUpdateSuccess`` (``.user_email_address_update``,
        ``.user_email_address_update_token``), or ``ActionError`` with one of these ``error_code``
        values: ``invalid_email_address``, ``invalid_session_token``,
        ``email_address_already_used``, ``email_address_not_allowed``, ``rate_limited``,
        ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#create_user_email_address_update.
        """
        return self._invoke(
            "create_user_email_address_update",
            _create_user_email_address_update,
            session_token=session_token,
            new_email_address=new_email_address,
        )

    def get_user_email_address_update(
        self, session_token: str, user_email_address_update_token: str
    ) -> GetUserEmailAddressUpdateResult:
        """Read the email address update's current state.

        Args:
            session_token: the signed-in user's session token.
            user_email_address_update_token: from ``create_user_email_address_update``.

        Returns ``GetUserEmailAddressUpdateSuccess`` (``.user_email_address_update``), or
        ``ActionError`` with one of these ``error_code`` values: ``invalid_session_token``,
        ``invalid_user_email_address_update_token``, ``session_mismatch``, ``internal_error``. What
        each means: docs/actions.md#get_user_email_address_update.
        """
        return self._invoke(
            "get_user_email_address_update",
            _get_user_email_address_update,
            session_token=session_token,
            user_email_address_update_token=user_email_address_update_token,
        )

    def delete_user_email_address_update(
        self, session_token: str, user_email_address_update_token: str
    ) -> NoValuesResult:
        """Cancel the email address update.

        Args:
            session_token: the signed-in user's session token.
            user_email_address_update_token: from ``create_user_email_address_update``.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``invalid_user_email_address_update_token``,
        ``session_mismatch``, ``internal_error``. What each means:
        docs/actions.md#delete_user_email_address_update.
        """
        return self._invoke(
            "delete_user_email_address_update",
            _no_values,
            session_token=session_token,
            user_email_address_update_token=user_email_address_update_token,
        )

    def send_user_email_address_update_email_address_verification_code(
        self, session_token: str, user_email_address_update_token: str
    ) -> NoValuesResult:
        """Email the update's verification code to the new address again.

        Args:
            session_token: the signed-in user's session token.
            user_email_address_update_token: from ``create_user_email_address_update``.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``invalid_user_email_address_update_token``,
        ``session_mismatch``, ``email_address_already_verified``, ``rate_limited``,
        ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#send_user_email_address_update_email_address_verification_code.
        """
        return self._invoke(
            "send_user_email_address_update_email_address_verification_code",
            _no_values,
            session_token=session_token,
            user_email_address_update_token=user_email_address_update_token,
        )

    def verify_user_email_address_update_email_address_verification_code(
        self,
        session_token: str,
        user_email_address_update_token: str,
        email_address_verification_code: str,
    ) -> NoValuesResult:
        """Check the code sent to the new address (any case) and mark it verified.

        Args:
            session_token: the signed-in user's session token.
            user_email_address_update_token: from ``create_user_email_address_update``.
            email_address_verification_code: the 8-character code from the email.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``invalid_user_email_address_update_token``,
        ``session_mismatch``, ``email_address_already_verified``, ``rate_limited``,
        ``incorrect_email_address_verification_code``, ``internal_conflict``, ``internal_error``.
        What each means:
        docs/actions.md#verify_user_email_address_update_email_address_verification_code.
        """
        return self._invoke(
            "verify_user_email_address_update_email_address_verification_code",
            _no_values,
            session_token=session_token,
            user_email_address_update_token=user_email_address_update_token,
            email_address_verification_code=email_address_verification_code,
        )

    def verify_user_email_address_update_user_password(
        self, session_token: str, user_email_address_update_token: str, password: str
    ) -> NoValuesResult:
        """After the new address is verified, confirm the user's identity with their current password.

        Args:
            session_token: the signed-in user's session token.
            user_email_address_update_token: from ``create_user_email_address_update``.
            password: the user's current password.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``invalid_user_email_address_update_token``,
        ``session_mismatch``, ``email_address_not_verified``, ``user_identity_already_verified``,
        ``rate_limited``, ``incorrect_password``, ``internal_conflict``, ``internal_error``. What
        each means: docs/actions.md#verify_user_email_address_update_user_password.
        """
        return self._invoke(
            "verify_user_email_address_update_user_password",
            _no_values,
            session_token=session_token,
            user_email_address_update_token=user_email_address_update_token,
            password=password,
        )

    def complete_user_email_address_update(
        self, session_token: str, user_email_address_update_token: str
    ) -> NoValuesResult:
        """Write the new address to the user store; the old address is notified.

        Args:
            session_token: the signed-in user's session token.
            user_email_address_update_token: from ``create_user_email_address_update``.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``invalid_user_email_address_update_token``,
        ``session_mismatch``, ``email_address_not_verified``, ``user_identity_not_verified``,
        ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#complete_user_email_address_update.
        """
        return self._invoke(
            "complete_user_email_address_update",
            _no_values,
            session_token=session_token,
            user_email_address_update_token=user_email_address_update_token,
        )

    def create_user_password_update(self, session_token: str) -> CreateUserPasswordUpdateResult:
        """Start a password change for the signed-in user.

        Args:
            session_token: the signed-in user's session token.

        Returns ``CreateUserPasswordUpdateSuccess`` (``.user_password_update``,
        ``.user_password_update_token``), or ``ActionError`` with one of these ``error_code``
        values: ``invalid_session_token``, ``internal_error``. What each means:
        docs/actions.md#create_user_password_update.
        """
        return self._invoke(
            "create_user_password_update", _create_user_password_update, session_token=session_token
        )

    def get_user_password_update(
        self, session_token: str, user_password_update_token: str
    ) -> GetUserPasswordUpdateResult:
        """Read the password update's current state.

        Args:
            session_token: the signed-in user's session token.
            user_password_update_token: from ``create_user_password_update``.

        Returns ``GetUserPasswordUpdateSuccess`` (``.user_password_update``), or ``ActionError``
        with one of these ``error_code`` values: ``invalid_session_token``,
        ``invalid_password_update_token``, ``session_mismatch``, ``internal_error``. What each
        means: docs/actions.md#get_user_password_update.
        """
        return self._invoke(
            "get_user_password_update",
            _get_user_password_update,
            session_token=session_token,
            user_password_update_token=user_password_update_token,
        )

    def delete_user_password_update(
        self, session_token: str, user_password_update_token: str
    ) -> NoValuesResult:
        """Cancel the password update.

        Args:
            session_token: the signed-in user's session token.
            user_password_update_token: from ``create_user_password_update``.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``invalid_user_password_update_token``, ``session_mismatch``,
        ``internal_error``. What each means: docs/actions.md#delete_user_password_update.
        """
        return self._invoke(
            "delete_user_password_update",
            _no_values,
            session_token=session_token,
            user_password_update_token=user_password_update_token,
        )

    def verify_user_password_update_user_password(
        self, session_token: str, user_password_update_token: str, password: str
    ) -> NoValuesResult:
        """Confirm the user's identity with their current password.

        Args:
            session_token: the signed-in user's session token.
            user_password_update_token: from ``create_user_password_update``.
            password: the user's current password.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``invalid_password_update_token``, ``session_mismatch``,
        ``user_identity_already_verified``, ``rate_limited``, ``incorrect_password``,
        ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#verify_user_password_update_user_password.
        """
        return self._invoke(
            "verify_user_password_update_user_password",
            _no_values,
            session_token=session_token,
            user_password_update_token=user_password_update_token,
            password=password,
        )

    def set_user_password_update_new_password(
        self, session_token: str, user_password_update_token: str, password: str
    ) -> NoValuesResult:
        """After the identity is verified, check the new password and keep its hash in the update.

        Args:
            session_token: the signed-in user's session token.
            user_password_update_token: from ``create_user_password_update``.
            password: the new password.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``invalid_password_update_token``, ``session_mismatch``,
        ``user_identity_not_verified``, ``new_password_already_set``, ``invalid_password_length``,
        ``weak_password``, ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#set_user_password_update_new_password.
        """
        return self._invoke(
            "set_user_password_update_new_password",
            _no_values,
            session_token=session_token,
            user_password_update_token=user_password_update_token,
            password=password,
        )

    def complete_user_password_update(
        self, session_token: str, user_password_update_token: str
    ) -> NoValuesResult:
        """Write the new password to the user store; the user is notified. Sessions stay valid
        unless ``FAROE_END_OTHER_SESSIONS_ON_PASSWORD_CHANGE`` (then the others end).

        Args:
            session_token: the signed-in user's session token.
            user_password_update_token: from ``create_user_password_update``.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``invalid_password_update_token``, ``session_mismatch``,
        ``user_identity_not_verified``, ``new_password_not_set``, ``internal_conflict``,
        ``internal_error``. What each means: docs/actions.md#complete_user_password_update.
        """
        return self._invoke(
            "complete_user_password_update",
            _no_values,
            session_token=session_token,
            user_password_update_token=user_password_update_token,
        )

    def create_user_deletion(self, session_token: str) -> CreateUserDeletionResult:
        """Start deleting the signed-in user's account.

        Args:
            session_token: the signed-in user's session token.

        Returns ``CreateUserDeletionSuccess`` (``.user_deletion``, ``.user_deletion_token``), or
        ``ActionError`` with one of these ``error_code`` values: ``invalid_session_token``,
        ``internal_error``. What each means: docs/actions.md#create_user_deletion.
        """
        return self._invoke(
            "create_user_deletion", _create_user_deletion, session_token=session_token
        )

    def get_user_deletion(
        self, session_token: str, user_deletion_token: str
    ) -> GetUserDeletionResult:
        """Read the deletion's current state.

        Args:
            session_token: the signed-in user's session token.
            user_deletion_token: from ``create_user_deletion``.

        Returns ``GetUserDeletionSuccess`` (``.user_deletion``), or ``ActionError`` with one of
        these ``error_code`` values: ``invalid_session_token``, ``invalid_user_deletion_token``,
        ``session_mismatch``, ``internal_error``. What each means:
        docs/actions.md#get_user_deletion.
        """
        return self._invoke(
            "get_user_deletion",
            _get_user_deletion,
            session_token=session_token,
            user_deletion_token=user_deletion_token,
        )

    def delete_user_deletion(self, session_token: str, user_deletion_token: str) -> NoValuesResult:
        """Cancel the deletion.

        Args:
            session_token: the signed-in user's session token.
            user_deletion_token: from ``create_user_deletion``.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``invalid_user_deletion_token``, ``session_mismatch``,
        ``internal_error``. What each means: docs/actions.md#delete_user_deletion.
        """
        return self._invoke(
            "delete_user_deletion",
            _no_values,
            session_token=session_token,
            user_deletion_token=user_deletion_token,
        )

    def verify_user_deletion_user_password(
        self, session_token: str, user_deletion_token: str, password: str
    ) -> NoValuesResult:
        """Confirm the user's identity with their password.

        Args:
            session_token: the signed-in user's session token.
            user_deletion_token: from ``create_user_deletion``.
            password: the user's current password.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``invalid_user_deletion_token``, ``session_mismatch``,
        ``user_identity_already_verified``, ``rate_limited``, ``incorrect_password``,
        ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#verify_user_deletion_user_password.
        """
        return self._invoke(
            "verify_user_deletion_user_password",
            _no_values,
            session_token=session_token,
            user_deletion_token=user_deletion_token,
            password=password,
        )

    def complete_user_deletion(
        self, session_token: str, user_deletion_token: str
    ) -> NoValuesResult:
        """Delete the user through the user store; their sessions end.

        Args:
            session_token: the signed-in user's session token.
            user_deletion_token: from ``create_user_deletion``.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_session_token``, ``invalid_user_deletion_token``, ``session_mismatch``,
        ``user_identity_not_verified``, ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#complete_user_deletion.
        """
        return self._invoke(
            "complete_user_deletion",
            _no_values,
            session_token=session_token,
            user_deletion_token=user_deletion_token,
        )

    def create_user_password_reset(self, user_email_address: str) -> CreateUserPasswordResetResult:
        """Start a password reset for the enabled user with this address; a temporary password
        is emailed.

        Args:
            user_email_address: the user's email address (exact match).

        Returns ``CreateUserPasswordResetSuccess`` (``.user_password_reset``,
        ``.user_password_reset_token``), or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_email_address``, ``user_not_found``, ``user_disabled``, ``rate_limited``,
        ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#create_user_password_reset.
        """
        return self._invoke(
            "create_user_password_reset",
            _create_user_password_reset,
            user_email_address=user_email_address,
        )

    def get_user_password_reset(self, user_password_reset_token: str) -> GetUserPasswordResetResult:
        """Read the reset's current state.

        Args:
            user_password_reset_token: from ``create_user_password_reset``.

        Returns ``GetUserPasswordResetSuccess`` (``.user_password_reset``), or ``ActionError`` with
        one of these ``error_code`` values: ``invalid_user_password_reset_token``,
        ``internal_error``. What each means: docs/actions.md#get_user_password_reset.
        """
        return self._invoke(
            "get_user_password_reset",
            _get_user_password_reset,
            user_password_reset_token=user_password_reset_token,
        )

    def delete_user_password_reset(self, user_password_reset_token: str) -> NoValuesResult:
        """Cancel the reset.

        Args:
            user_password_reset_token: from ``create_user_password_reset``.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_user_password_reset_token``, ``internal_error``. What each means:
        docs/actions.md#delete_user_password_reset.
        """
        return self._invoke(
            "delete_user_password_reset",
            _no_values,
            user_password_reset_token=user_password_reset_token,
        )

    def verify_user_password_reset_temporary_password(
        self, user_password_reset_token: str, temporary_password: str
    ) -> NoValuesResult:
        """Check the emailed temporary password (any case; rate limited per user).

        Args:
            user_password_reset_token: from ``create_user_password_reset``.
            temporary_password: the 12-character temporary password from the email.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_user_password_reset_token``, ``user_first_factor_already_verified``,
        ``rate_limited``, ``incorrect_temporary_password``, ``internal_conflict``,
        ``internal_error``. What each means:
        docs/actions.md#verify_user_password_reset_temporary_password.
        """
        return self._invoke(
            "verify_user_password_reset_temporary_password",
            _no_values,
            user_password_reset_token=user_password_reset_token,
            temporary_password=temporary_password,
        )

    def set_user_password_reset_new_password(
        self, user_password_reset_token: str, password: str
    ) -> NoValuesResult:
        """After the temporary password is verified, check the new password; keep its hash.

        Args:
            user_password_reset_token: from ``create_user_password_reset``.
            password: the new password.

        Returns ``ActionSuccess``, or ``ActionError`` with one of these ``error_code`` values:
        ``invalid_user_password_reset_token``, ``user_first_factor_not_verified``,
        ``new_password_already_set``, ``invalid_password_length``, ``weak_password``,
        ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#set_user_password_reset_new_password.
        """
        return self._invoke(
            "set_user_password_reset_new_password",
            _no_values,
            user_password_reset_token=user_password_reset_token,
            password=password,
        )

    def complete_user_password_reset(self, user_password_reset_token: str) -> NewSessionResult:
        """Write the new password to the user store and sign the user in with a new session.

        Args:
            user_password_reset_token: from ``create_user_password_reset``.

        Returns ``NewSessionSuccess`` (``.session``, ``.session_token``), or ``ActionError`` with
        one of these ``error_code`` values: ``invalid_user_password_reset_token``,
        ``user_first_factor_not_verified``, ``new_password_not_set``, ``session_not_created``,
        ``internal_conflict``, ``internal_error``. What each means:
        docs/actions.md#complete_user_password_reset.
        """
        return self._invoke(
            "complete_user_password_reset",
            _new_session,
            user_password_reset_token=user_password_reset_token,
        )

