"""One module per flow; ``ACTIONS`` is every action of the protocol."""

from __future__ import annotations

from ..actions import Action

ACTIONS: list[Action] = []
