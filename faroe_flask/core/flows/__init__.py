"""One module per flow; ``ACTIONS`` is every action of the protocol, in the spec's order."""

from __future__ import annotations

from ..actions import Action
from . import (
    email_address_update,
    password_reset,
    password_update,
    session,
    signin,
    signup,
    user_deletion,
)

ACTIONS: list[Action] = [
    *signup.ACTIONS,
    *signin.ACTIONS,
    *session.ACTIONS,
    *email_address_update.ACTIONS,
    *password_update.ACTIONS,
    *user_deletion.ACTIONS,
    *password_reset.ACTIONS,
]
