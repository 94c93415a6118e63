"""A Python client for Faroe action invocation endpoints (ours or the Go reference)::

    from faroe_flask.client import Client, HTTPTransport

    client = Client(HTTPTransport("https://auth.example.com/faroe", bearer_secret="..."))
    result = client.create_signup("user@example.com")
    if result.ok:
        token = result.signup_token
    else:
        print(result.error_code)

``LocalTransport(server)`` runs the same requests against a ``faroe_flask.Server`` in-process.
"""

from __future__ import annotations

from .client import ACTION_ARGUMENTS, Client
from .errors import ClientError, MalformedResponseError, TransportError, UnexpectedStatusError
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
from .transport import HTTPTransport, LocalTransport, Transport

__all__ = [
    "ACTION_ARGUMENTS",
    "ActionError",
    "ActionSuccess",
    "Client",
    "ClientError",
    "CreateSigninResult",
    "CreateSigninSuccess",
    "CreateSignupResult",
    "CreateSignupSuccess",
    "CreateUserDeletionResult",
    "CreateUserDeletionSuccess",
    "CreateUserEmailAddressUpdateResult",
    "CreateUserEmailAddressUpdateSuccess",
    "CreateUserPasswordResetResult",
    "CreateUserPasswordResetSuccess",
    "CreateUserPasswordUpdateResult",
    "CreateUserPasswordUpdateSuccess",
    "GetSessionResult",
    "GetSessionSuccess",
    "GetSigninResult",
    "GetSigninSuccess",
    "GetSignupResult",
    "GetSignupSuccess",
    "GetUserDeletionResult",
    "GetUserDeletionSuccess",
    "GetUserEmailAddressUpdateResult",
    "GetUserEmailAddressUpdateSuccess",
    "GetUserPasswordResetResult",
    "GetUserPasswordResetSuccess",
    "GetUserPasswordUpdateResult",
    "GetUserPasswordUpdateSuccess",
    "HTTPTransport",
    "LocalTransport",
    "MalformedResponseError",
    "NewSessionResult",
    "NewSessionSuccess",
    "NoValuesResult",
    "Session",
    "Signin",
    "Signup",
    "Transport",
    "TransportError",
    "UnexpectedStatusError",
    "UserDeletion",
    "UserEmailAddressUpdate",
    "UserPasswordReset",
    "UserPasswordUpdate",
]
