"""The JSON models returned to clients (foundations.md F13). Fields in the specified order."""

from __future__ import annotations

from typing import Any

from .actions import Context
from .records import (
    Session,
    Signin,
    Signup,
    UserDeletion,
    UserEmailAddressUpdate,
    UserPasswordReset,
    UserPasswordUpdate,
)

SIGNUP_LIFETIME = 1200
SIGNIN_LIFETIME = 600
USER_EMAIL_ADDRESS_UPDATE_LIFETIME = 1200
USER_PASSWORD_UPDATE_LIFETIME = 600
USER_DELETION_LIFETIME = 600
USER_PASSWORD_RESET_LIFETIME = 1200

Model = dict[str, Any]


def signup_model(signup: Signup) -> Model:
    return {
        "id": signup.id,
        "unregistered_user_id": "",
        "email_address": signup.email_address,
        "email_address_verified": signup.email_address_verified,
        "password_set": signup.password_set,
        "created_at": signup.created_at,
        "expires_at": signup.created_at + SIGNUP_LIFETIME,
    }


def signin_model(signin: Signin) -> Model:
    return {
        "id": signin.id,
        "user_id": signin.user_id,
        "user_first_factor_verified": signin.user_first_factor_verified,
        "created_at": signin.created_at,
        "expires_at": signin.created_at + SIGNIN_LIFETIME,
    }


def session_model(ctx: Context, session: Session) -> Model:
    return session_model_of(session, ctx.server.session_config.expires_at(session))


def session_model_of(session: Session, expires_at: int | None) -> Model:
    return {
        "id": session.id,
        "user_id": session.user_id,
        "created_at": session.created_at,
        "expires_at": expires_at,
    }


def session_values(ctx: Context, session: Session, token: str) -> Model:
    """The ``values`` of the three actions that create a session."""
    return {"session": session_model(ctx, session), "session_token": token}


def user_email_address_update_model(update: UserEmailAddressUpdate) -> Model:
    return {
        "id": update.id,
        "user_id": update.user_id,
        "session_id": update.session_id,
        "new_email_address": update.new_email_address,
        "new_email_address_verified": update.new_email_address_verified,
        "user_identity_verified": update.user_identity_verified,
        "created_at": update.created_at,
        "expires_at": update.created_at + USER_EMAIL_ADDRESS_UPDATE_LIFETIME,
    }


def user_password_update_model(update: UserPasswordUpdate) -> Model:
    return {
        "id": update.id,
        "user_id": update.user_id,
        "session_id": update.session_id,
        "user_identity_verified": update.user_identity_verified,
        "new_password_set": update.new_password_set,
        "created_at": update.created_at,
        "expires_at": update.created_at + USER_PASSWORD_UPDATE_LIFETIME,
    }


def user_deletion_model(deletion: UserDeletion) -> Model:
    return {
        "id": deletion.id,
        "user_id": deletion.user_id,
        "session_id": deletion.session_id,
        "user_identity_verified": deletion.user_identity_verified,
        "created_at": deletion.created_at,
        "expires_at": deletion.created_at + USER_DELETION_LIFETIME,
    }


def user_password_reset_model(reset: UserPasswordReset) -> Model:
    return {
        "id": reset.id,
        "user_id": reset.user_id,
        "user_first_factor_verified": reset.user_first_factor_verified,
        "new_password_set": reset.new_password_set,
        "created_at": reset.created_at,
        "expires_at": reset.created_at + USER_PASSWORD_RESET_LIFETIME,
    }
