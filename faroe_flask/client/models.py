"""The values of action results (foundations.md F2.5, F13) as frozen dataclasses.

Timestamps are timezone-aware UTC datetimes with whole seconds. Tokens are secrets: they are
excluded from ``repr`` so that logging a result never leaks one.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Literal, Union

__all__ = [
    "Signup",
    "Signin",
    "Session",
    "UserEmailAddressUpdate",
    "UserPasswordUpdate",
    "UserDeletion",
    "UserPasswordReset",
    "ActionError",
    "ActionSuccess",
    "CreateSignupSuccess",
    "GetSignupSuccess",
    "CreateSigninSuccess",
    "GetSigninSuccess",
    "NewSessionSuccess",
    "GetSessionSuccess",
    "CreateUserEmailAddressUpdateSuccess",
    "GetUserEmailAddressUpdateSuccess",
    "CreateUserPasswordUpdateSuccess",
    "GetUserPasswordUpdateSuccess",
    "CreateUserDeletionSuccess",
    "GetUserDeletionSuccess",
    "CreateUserPasswordResetSuccess",
    "GetUserPasswordResetSuccess",
    "NoValuesResult",
    "CreateSignupResult",
    "GetSignupResult",
    "CreateSigninResult",
    "GetSigninResult",
    "NewSessionResult",
    "GetSessionResult",
    "CreateUserEmailAddressUpdateResult",
    "GetUserEmailAddressUpdateResult",
    "CreateUserPasswordUpdateResult",
    "GetUserPasswordUpdateResult",
    "CreateUserDeletionResult",
    "GetUserDeletionResult",
    "CreateUserPasswordResetResult",
    "GetUserPasswordResetResult",
]


# Models (F13) ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Signup:
    id: str
    email_address: str
    email_address_verified: bool
    password_set: bool
    created_at: datetime
    expires_at: datetime


@dataclasses.dataclass(frozen=True)
class Signin:
    id: str
    user_id: str
    user_first_factor_verified: bool
    created_at: datetime
    expires_at: datetime


@dataclasses.dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    created_at: datetime
    expires_at: datetime | None  # None: no absolute lifetime (foundations.md F9.6)


@dataclasses.dataclass(frozen=True)
class UserEmailAddressUpdate:
    id: str
    user_id: str
    session_id: str
    new_email_address: str
    new_email_address_verified: bool
    user_identity_verified: bool
    created_at: datetime
    expires_at: datetime


@dataclasses.dataclass(frozen=True)
class UserPasswordUpdate:
    id: str
    user_id: str
    session_id: str
    user_identity_verified: bool
    new_password_set: bool
    created_at: datetime
    expires_at: datetime


@dataclasses.dataclass(frozen=True)
class UserDeletion:
    id: str
    user_id: str
    session_id: str
    user_identity_verified: bool
    created_at: datetime
    expires_at: datetime


@dataclasses.dataclass(frozen=True)
class UserPasswordReset:
    id: str
    user_id: str
    user_first_factor_verified: bool
    new_password_set: bool
    created_at: datetime
    expires_at: datetime


# Results --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ActionError:
    """The action ran and failed: ``"ok": false`` with an error code such as
    ``invalid_session_token``. Not an exception."""

    action_invocation_id: str
    error_code: str
    ok: Literal[False] = dataclasses.field(default=False, init=False)


@dataclasses.dataclass(frozen=True)
class ActionSuccess:
    """Success of one of the 22 actions that return no values."""

    action_invocation_id: str
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class CreateSignupSuccess:
    action_invocation_id: str
    signup: Signup
    signup_token: str = dataclasses.field(repr=False)
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class GetSignupSuccess:
    action_invocation_id: str
    signup: Signup
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class CreateSigninSuccess:
    action_invocation_id: str
    signin: Signin
    signin_token: str = dataclasses.field(repr=False)
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class GetSigninSuccess:
    action_invocation_id: str
    signin: Signin
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class NewSessionSuccess:
    """Success of ``complete_signup``, ``complete_signin`` and ``complete_user_password_reset``."""

    action_invocation_id: str
    session: Session
    session_token: str = dataclasses.field(repr=False)
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class GetSessionSuccess:
    action_invocation_id: str
    session: Session
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class CreateUserEmailAddressUpdateSuccess:
    action_invocation_id: str
    user_email_address_update: UserEmailAddressUpdate
    user_email_address_update_token: str = dataclasses.field(repr=False)
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class GetUserEmailAddressUpdateSuccess:
    action_invocation_id: str
    user_email_address_update: UserEmailAddressUpdate
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class CreateUserPasswordUpdateSuccess:
    action_invocation_id: str
    user_password_update: UserPasswordUpdate
    user_password_update_token: str = dataclasses.field(repr=False)
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class GetUserPasswordUpdateSuccess:
    action_invocation_id: str
    user_password_update: UserPasswordUpdate
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class CreateUserDeletionSuccess:
    action_invocation_id: str
    user_deletion: UserDeletion
    user_deletion_token: str = dataclasses.field(repr=False)
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class GetUserDeletionSuccess:
    action_invocation_id: str
    user_deletion: UserDeletion
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class CreateUserPasswordResetSuccess:
    action_invocation_id: str
    user_password_reset: UserPasswordReset
    user_password_reset_token: str = dataclasses.field(repr=False)
    ok: Literal[True] = dataclasses.field(default=True, init=False)


@dataclasses.dataclass(frozen=True)
class GetUserPasswordResetSuccess:
    action_invocation_id: str
    user_password_reset: UserPasswordReset
    ok: Literal[True] = dataclasses.field(default=True, init=False)


NoValuesResult = Union[ActionSuccess, ActionError]
CreateSignupResult = Union[CreateSignupSuccess, ActionError]
GetSignupResult = Union[GetSignupSuccess, ActionError]
CreateSigninResult = Union[CreateSigninSuccess, ActionError]
GetSigninResult = Union[GetSigninSuccess, ActionError]
NewSessionResult = Union[NewSessionSuccess, ActionError]
GetSessionResult = Union[GetSessionSuccess, ActionError]
CreateUserEmailAddressUpdateResult = Union[CreateUserEmailAddressUpdateSuccess, ActionError]
GetUserEmailAddressUpdateResult = Union[GetUserEmailAddressUpdateSuccess, ActionError]
CreateUserPasswordUpdateResult = Union[CreateUserPasswordUpdateSuccess, ActionError]
GetUserPasswordUpdateResult = Union[GetUserPasswordUpdateSuccess, ActionError]
CreateUserDeletionResult = Union[CreateUserDeletionSuccess, ActionError]
GetUserDeletionResult = Union[GetUserDeletionSuccess, ActionError]
CreateUserPasswordResetResult = Union[CreateUserPasswordResetSuccess, ActionError]
GetUserPasswordResetResult = Union[GetUserPasswordResetSuccess, ActionError]
