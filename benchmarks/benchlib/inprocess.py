"""In-process Faroe servers built by the extension (as the example builds them), and timing.

``faroe_app`` builds a Flask app with ``Faroe(app)`` from the same configuration the example
uses, so that whatever the extension wires up for an engine (pools, shared-engine capabilities)
is what gets measured; only the email sender is replaced, to catch the signup code.
"""

from __future__ import annotations

import dataclasses
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from faroe_flask import Faroe, Server

_WARM_UP = 20
_MIN_CALLS = 30
_MAX_CALLS = 5000


class CodeCatcher:
    """An email sender that keeps the last signup code and drops every other message."""

    def __init__(self) -> None:
        self.code = ""

    def send_signup_email_address_verification_code(self, email_address: str, code: str) -> None:
        self.code = code

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("send_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


def faroe_app(settings: dict[str, str] | None, **parts: Any) -> tuple[Server, CodeCatcher]:
    """The extension's server configured by ``settings`` (or on the ``parts`` passed in)."""
    app = Flask("faroe_bench_inprocess")
    app.config.update(FAROE_PASSWORD_STRENGTH_CHECK="offline", FAROE_EMAIL_SENDER="console")
    app.config.update(settings or {})
    catcher = CodeCatcher()
    Faroe(app, email_sender=catcher, register_blueprint=False, **parts)
    server: Server = app.extensions["faroe"].server
    return server, catcher


def invoke_ok(server: Server, action: str, arguments: dict[str, str]) -> dict[str, Any]:
    result = server.invoke(action, arguments)
    if not result.ok or result.values is None:
        raise RuntimeError(f"{action} answered {result.error_code}")
    return dict(result.values)


def signup(server: Server, catcher: CodeCatcher, password: str) -> tuple[str, str]:
    """The whole signup flow in-process; returns (email address, session token)."""
    email = f"bench-{secrets.token_hex(6)}@example.com"
    token = invoke_ok(server, "create_signup", {"email_address": email})["signup_token"]
    invoke_ok(
        server,
        "verify_signup_email_address_verification_code",
        {"signup_token": token, "email_address_verification_code": catcher.code},
    )
    invoke_ok(server, "set_signup_password", {"signup_token": token, "password": password})
    session_token = invoke_ok(server, "complete_signup", {"signup_token": token})["session_token"]
    return email, str(session_token)


@dataclasses.dataclass(frozen=True)
class Timing:
    wall: float  # median elapsed microseconds of one call
    cpu: float  # median CPU microseconds of the calling thread (no waiting, no preemption)


def median_microseconds(operation: Callable[[], object], budget_seconds: float) -> Timing:
    """Median time of one call: calls for about ``budget_seconds`` (30 to 5000 calls).

    On a loaded machine the elapsed time of a longer call includes more preemption than that
    of a shorter one; the thread's CPU time does not, so it is reported as well.
    """
    for _ in range(_WARM_UP):
        operation()
    walls: list[int] = []
    cpus: list[int] = []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    deadline = clock() + int(budget_seconds * 1e9)
    while len(walls) < _MAX_CALLS and (len(walls) < _MIN_CALLS or clock() < deadline):
        start, cpu_start = clock(), cpu_clock()
        operation()
        cpus.append(cpu_clock() - cpu_start)
        walls.append(clock() - start)
    return Timing(statistics.median(walls) / 1000, statistics.median(cpus) / 1000)


def function_calls(operation: Callable[[], object], calls: int = 20) -> float:
    """Python and C function calls made by one call, on average: a figure the load cannot move."""
    count = 0

    def profile(_frame: object, event: str, _arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    operation()
    sys.setprofile(profile)
    try:
        for _ in range(calls):
            operation()
    finally:
        sys.setprofile(None)
    return count / calls
