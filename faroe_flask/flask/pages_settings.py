"""The pages' settings, read once when the blueprint is registered, and how a view finds them.

``PagesSettings.from_config`` turns the ``FAROE_PAGES_*`` keys into typed values (``ConfigError``
names a key, never a value); ``register`` keeps them in
``app.extensions["faroe_pages"][<blueprint name>]``; ``current_pages()`` returns them during a
request to the blueprint.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, cast

from flask import current_app, request
from flask.sansio.app import App

from .config import ConfigError, _bool, _int

__all__ = [
    "DEFAULT_SECURITY_HEADERS",
    "PagesSettings",
    "PagesState",
    "current_pages",
    "register",
]

#: What every ``/account/*`` answer carries unless ``FAROE_PAGES_SECURITY_HEADERS`` changes it.
#: The policy stops at ``frame-ancestors``: a captcha widget's script from its provider still loads.
DEFAULT_SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

_EXTENSION_KEY = "faroe_pages"


@dataclasses.dataclass(frozen=True)
class PagesSettings:
    generic_responses: bool = False
    security_headers: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_SECURITY_HEADERS)
    )
    flow_state_lifetime: int = 1800

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PagesSettings:
        return cls(
            generic_responses=_bool(config, "FAROE_PAGES_GENERIC_RESPONSES"),
            security_headers=_headers(config, "FAROE_PAGES_SECURITY_HEADERS"),
            flow_state_lifetime=_int(config, "FAROE_PAGES_FLOW_STATE_LIFETIME", minimum=60),
        )


@dataclasses.dataclass(frozen=True)
class PagesState:
    """One registered pages blueprint: its settings."""

    settings: PagesSettings


def register(app: App, name: str, state: PagesState) -> None:
    app.extensions.setdefault(_EXTENSION_KEY, {})[name] = state


def current_pages() -> PagesState:
    """The state of the pages blueprint serving this request."""
    states = cast("dict[str, PagesState]", current_app.extensions.get(_EXTENSION_KEY, {}))
    state = states.get(request.blueprint or "")
    if state is None:
        raise RuntimeError("not a request to a Faroe pages blueprint")
    return state


def _headers(config: Mapping[str, Any], key: str) -> dict[str, str]:
    """The defaults with the app's mapping laid over them; ``None`` drops a header."""
    changes = config.get(key) or {}
    if not isinstance(changes, Mapping):
        raise ConfigError(f"{key} must map header names to strings or None")
    headers = dict(DEFAULT_SECURITY_HEADERS)
    for name, value in changes.items():
        if not isinstance(name, str) or not name or any(c in name for c in " :\r\n"):
            raise ConfigError(f"{key} must map header names to strings or None")
        if value is None:
            headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        elif isinstance(value, str) and "\r" not in value and "\n" not in value:
            headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
            headers[name] = value
        else:
            raise ConfigError(f"{key} must map header names to strings or None")
    return headers
