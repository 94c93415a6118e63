"""The names of the 39 actions, and a check for lists of names (allowlists, blocklists)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from .flows import ACTIONS

__all__ = ["ACTION_NAMES", "require_known_action_names"]

ACTION_NAMES: frozenset[str] = frozenset(entry.name for entry in ACTIONS)


def require_known_action_names(names: Iterable[str], what: str) -> None:
    """Raise ``ValueError`` naming the first name in ``names`` that is not an action.

    ``what`` says where the list came from (for example ``"FAROE_ACTION_ALLOWLIST"``). Names are
    compared exactly, as the endpoint compares them.
    """
    for name in names:
        if name not in ACTION_NAMES:
            close = difflib.get_close_matches(name, sorted(ACTION_NAMES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{what} names an unknown action: {name!r}{hint}")
