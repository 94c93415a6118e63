"""The per-client limits and the captcha, applied at every door during a request.

* **The endpoint** (``POST /faroe``) calls ``admit_endpoint(action)`` once the body is accepted
  and before the action runs. The client is ``request.remote_addr`` (after waitress's
  trusted-proxy settings), or, when the endpoint is authenticated (``FAROE_ENDPOINT_SECRET`` or
  ``authenticate=``), the address the caller puts in ``FAROE_CLIENT_ADDRESS_HEADER``
  (``Faroe-Client-Address``): the application's own server forwards its end user's address
  there, or every end user would count as that one server. The captcha token is the
  ``X-Captcha-Token`` header.
* **In-process calls** (``current_faroe.invoke``, and so the account pages) call
  ``admit_in_process(action)``: during a request the client is ``request.remote_addr`` and the
  token is ``X-Captcha-Token`` or the widget's form field; outside a request (CLI, jobs)
  nothing is checked.

Refusals are exceptions: ``ClientLimitExceeded`` (429) and ``CaptchaRejected`` (403) /
``CaptchaUnavailable`` (503); the endpoint and the pages answer them, and in an application's
own view they are HTTP errors Flask answers (or the view catches). Only the actions some limit
or the captcha names pay anything beyond one set look-up: ``get_session`` never does.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import TYPE_CHECKING, Any

from flask import Flask, g, has_request_context, request

from ..core.interfaces import InvalidActionInvocationRequestError
from .captcha import TOKEN_HEADER, CaptchaRejected, CaptchaUnavailable, CaptchaVerifier, captcha_from_config, token_from_request
from .client_limits import ClientLimits, client_limits_from_config
from .config import _float
from .rejections import RejectionLog

if TYPE_CHECKING:
    from ..core.server import Server
    from .extension import FaroeState

__all__ = ["RequestGuard", "install"]

_PASSED = "_faroe_captcha_passed"


class RequestGuard:
    def __init__(
        self,
        server: Server,
        rejections: RejectionLog,
        *,
        limits: ClientLimits | None = None,
        captcha: CaptchaVerifier | None = None,
        address_header: str | None = None,
        trust_address_header: bool = False,
    ) -> None:
        self.server = server
        self.rejections = rejections
        self.limits = limits
        self.captcha = captcha
        #: The header read from authenticated endpoint callers (``None``: not read).
        self.address_header = address_header if trust_address_header else None
        #: Every action a limit or the captcha applies to.
        self.actions = (limits.actions if limits else frozenset()) | (captcha.actions if captcha else frozenset())

    def admit_endpoint(self, action: str) -> None:
        """The endpoint's ``admit`` hook (runs inside its request)."""
        if action in self.actions:
            self._admit(action, self._endpoint_address(), form=False)

    def admit_in_process(self, action: str) -> None:
        """For ``FaroeState.invoke``: checks only during a request."""
        if action in self.actions and has_request_context():
            self._admit(action, request.remote_addr, form=True)

    def _endpoint_address(self) -> str | None:
        header = self.address_header
        if header is not None:
            value = request.headers.get(header)
            if value is not None:
                value = value.strip()
                try:
                    ipaddress.ip_address(value)
                except ValueError:
                    raise InvalidActionInvocationRequestError(f"the {header} header is not an IP address") from None
                return value
        return request.remote_addr

    def _admit(self, action: str, address: str | None, *, form: bool) -> None:
        if self.limits is not None:
            self.limits.admit(self.server, action, address, self.rejections)
        captcha = self.captcha
        if captcha is None or action not in captcha.actions or g.get(_PASSED):
            return
        try:
            captcha.verify(token_from_request(request, captcha.provider, form=form), address)
        except CaptchaRejected as refusal:
            self.rejections.record(403, f"captcha_{refusal.reason}", f"captcha {refusal.reason}")
            raise
        except CaptchaUnavailable as refusal:
            self.rejections.record(503, "captcha_unavailable", f"captcha unavailable ({refusal.detail})")
            raise
        # One token answers for one request (providers accept a token once).
        setattr(g, _PASSED, True)


def install(app: Flask, state: FaroeState) -> None:
    """Called by ``Faroe.init_app``: the rejection log, and the guard when a limit or the
    captcha is on (with the captcha, the endpoint's CORS headers allow ``X-Captcha-Token`` and
    templates see the widget's settings as ``faroe_captcha``)."""
    config = app.config
    state.rejections = RejectionLog(_float(config, "FAROE_REJECTION_LOG_INTERVAL"))
    limits = client_limits_from_config(config)
    captcha = captcha_from_config(config)
    if limits.limits is None and captcha is None:
        return
    state.guard = RequestGuard(
        state.server,
        state.rejections,
        limits=limits.limits,
        captcha=captcha,
        address_header=limits.address_header,
        trust_address_header=not state.endpoint_is_open,
    )
    if captcha is None:
        return
    allowed = state.endpoint.cors_allowed_headers
    if state.endpoint.cors_allowed_origins and TOKEN_HEADER.lower() not in allowed.lower():
        allowed = f"{allowed}, {TOKEN_HEADER}" if allowed else TOKEN_HEADER
        state.endpoint = dataclasses.replace(state.endpoint, cors_allowed_headers=allowed)

    widget = captcha.widget

    def context() -> dict[str, Any]:
        return {"faroe_captcha": widget}

    app.context_processor(context)
