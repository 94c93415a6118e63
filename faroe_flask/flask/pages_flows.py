"""The pages' multi-step flows (sign-up, password reset, email change) and how they end.

A flow ends on the server, through its ``delete_*`` action, whenever the pages let go of it:
sign-out (and every session rotation), completing it, starting another of the same kind, and
its page's Cancel button. Its state in ``pages_state`` is dropped at the same time, so a copy of
an old cookie finds neither a record nor a live token.

``step(flow, action, **arguments)`` runs one step of the browser's current flow, real (the
action with the flow's token) or, in generic-responses mode, a decoy (``core.decoys``).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from flask import redirect, url_for
from werkzeug.wrappers import Response

from ..core.decoys import decoy_step
from ..core.envelope import ActionError, ActionResult
from .extension import current_faroe
from .pages_state import FlowStateUnavailable, discard, forget, recall, remember
from .pages_support import flash_error, invoke
from .views import get_session_token

__all__ = [
    "FLOWS",
    "Flow",
    "drop_flow",
    "end_all_flows",
    "end_flow",
    "expired",
    "has_flow",
    "is_decoy",
    "keep",
    "restart",
    "started_at",
    "step",
]

_logger = logging.getLogger("faroe_flask")


@dataclasses.dataclass(frozen=True)
class Flow:
    """One kind of flow: where its token is kept, the action argument it goes in, the action
    that deletes it, the code of an expired one, the endpoint it starts at, and what else it
    keeps (``<name>_decoy`` and ``<name>_started_at`` hold a decoy)."""

    name: str
    token_key: str
    token_argument: str
    delete_action: str
    expired_code: str
    start_endpoint: str
    keys: tuple[str, ...]
    needs_session: bool = False

    @property
    def decoy_key(self) -> str:
        return f"{self.name}_decoy"

    @property
    def all_keys(self) -> tuple[str, ...]:
        return (self.token_key, self.decoy_key, f"{self.name}_started_at", *self.keys)


FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in (
        Flow("signup", "signup_token", "signup_token", "delete_signup", "invalid_signup_token",
             ".signup", ("signup_email", "signup_fields", "next")),
        Flow("reset", "reset_token", "user_password_reset_token", "delete_user_password_reset",
             "invalid_user_password_reset_token", ".reset", ("reset_email",)),
        Flow("email", "email_token", "user_email_address_update_token",
             "delete_user_email_address_update", "invalid_user_email_address_update_token",
             ".email", ("email_new",), needs_session=True),
    )
}


def has_flow(name: str) -> bool:
    flow = FLOWS[name]
    return recall(flow.token_key) is not None or recall(flow.decoy_key) is not None


def is_decoy(name: str) -> bool:
    """Whether the browser's ``name`` flow is a decoy (generic-responses mode)."""
    return recall(FLOWS[name].decoy_key) is not None


def started_at() -> str:
    """Now, as a decoy flow keeps its start (``<name>_started_at``)."""
    return str(current_faroe.server.clock.now().timestamp())


def restart(endpoint: str) -> Response:
    return redirect(url_for(endpoint))


def expired(result: ActionError, flow: str) -> Response | None:
    """For the flow's invalid-token code: forget the flow, say so, and go back to its start."""
    if result.error_code != FLOWS[flow].expired_code:
        return None
    drop_flow(flow)
    flash_error(result)
    return restart(FLOWS[flow].start_endpoint)


def step(name: str, action: str, **arguments: str) -> ActionResult:
    """Run ``action`` on the browser's ``name`` flow (``has_flow`` must be true)."""
    flow = FLOWS[name]
    decoy = recall(flow.decoy_key)
    if decoy is not None:
        started_at = recall(f"{name}_started_at") or "0"
        current_faroe.admit(action)  # the decoy counts against the client's limits as the action would
        return decoy_step(current_faroe.server, name, action, decoy, float(started_at))
    token = recall(flow.token_key)
    assert token is not None
    return invoke(action, **{flow.token_argument: token}, **arguments)


def _delete_on_server(flow: Flow, token: str) -> None:
    arguments = {flow.token_argument: token}
    if flow.needs_session:
        session_token = get_session_token()
        if session_token is None:
            return  # the flow belongs to a session that is gone: it cannot be used any more
        arguments["session_token"] = session_token
    result = invoke(flow.delete_action, **arguments)
    if not result.ok and result.error_code not in (flow.expired_code, "invalid_session_token", "session_mismatch"):
        _logger.warning("ending a %s flow answered %s", flow.name, result.error_code)


def keep(name: str, token: str, **values: Any) -> None:
    """Remember a flow just started with ``token``; if its state cannot be kept, delete the flow
    on the server before giving up (nothing is left behind that nobody can reach)."""
    flow = FLOWS[name]
    try:
        remember(**{flow.token_key: token}, **values)
    except FlowStateUnavailable:
        _delete_on_server(flow, token)
        raise


def end_flow(name: str) -> None:
    """End the browser's ``name`` flow, if any: delete it on the server and forget it."""
    flow = FLOWS[name]
    token = recall(flow.token_key)
    if token is not None:
        _delete_on_server(flow, token)
    forget(*flow.all_keys)


def drop_flow(name: str) -> None:
    """Forget the browser's ``name`` flow that is over on the server (completed, expired)."""
    forget(*FLOWS[name].all_keys)


def end_all_flows(finished: str | None = None) -> None:
    """End every flow of the browser (but ``finished``, which its completion ended) and drop
    the whole state (sign-out, rotation)."""
    state = discard()
    for flow in FLOWS.values():
        if flow.name == finished:
            continue
        token = state.get(flow.token_key)
        if isinstance(token, str) and token:
            _delete_on_server(flow, token)
