"""One module per flow; ``ACTIONS`` is every action of the protocol."""

from __future__ import annotations

from ..actions import Action
from . import password_reset, session, signin, signup

ACTIONS: list[Action] = [
    *signup.ACTIONS,
    *signin.ACTIONS,
    *session.ACTIONS,
    *password_reset.ACTIONS,
]
