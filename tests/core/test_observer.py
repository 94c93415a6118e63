"""The core's observer hooks: one call per action with (action, error code or None, seconds),
the seconds each password hash waited for a slot; a failing observer never changes an answer."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from faroe_flask import MemoryStorage, MemoryUserStore, Server

from ..conftest import (
    FAST_TEMPORARY_ALGORITHM,
    FAST_USER_ALGORITHM,
    STRONG_PASSWORD,
    BannedPasswords,
    CapturingEmailSender,
    CapturingErrorLogger,
)


def make(**options: Any) -> tuple[Server, CapturingEmailSender]:
    sender = CapturingEmailSender()
    server = Server(
        storage=MemoryStorage(),
        user_store=MemoryUserStore(),
        email_sender=sender,
        user_password_hash_algorithms=[FAST_USER_ALGORITHM],
        temporary_password_hash_algorithm=FAST_TEMPORARY_ALGORITHM,
        password_strength_checker=BannedPasswords(),
        error_logger=CapturingErrorLogger(),
        **options,
    )
    return server, sender


def test_every_action_is_observed_with_its_outcome() -> None:
    seen: list[tuple[str, str | None, float]] = []
    server, sender = make(observer=lambda *call: seen.append(call))
    body = json.dumps({"action": "get_session", "arguments": {"session_token": "x.y"}})
    server.resolve_action_invocation_request(body)
    token = server.invoke("create_signup", {"email_address": "a@example.com"}).values["signup_token"]
    assert [(action, code) for action, code, _ in seen] == [
        ("get_session", "invalid_session_token"),
        ("create_signup", None),
    ]
    assert all(seconds >= 0 for _, _, seconds in seen)
    # A rejected body never reaches an action, so it is not observed.
    with pytest.raises(Exception):
        server.resolve_action_invocation_request(b"{")
    assert len(seen) == 2
    # Settable later, and removable.
    server.observer = None
    server.invoke("get_signup", {"signup_token": token})
    assert len(seen) == 2


def test_a_failing_observer_does_not_change_the_answer(caplog: pytest.LogCaptureFixture) -> None:
    def broken(action: str, error_code: str | None, seconds: float) -> None:
        raise RuntimeError("observer down")

    server, _ = make(observer=broken)
    result = server.invoke("create_signup", {"email_address": "a@example.com"})
    assert result.ok
    assert "the action observer raised" in caplog.text


def test_password_hash_waits_are_observed() -> None:
    server, sender = make(max_concurrent_password_hashing=1)
    waits: list[float] = []
    lock = threading.Lock()

    def observe(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    server.passwords.wait_observer = observe
    server.passwords.hash_user_password(STRONG_PASSWORD)
    threads = [threading.Thread(target=server.passwords.hash_user_password, args=(STRONG_PASSWORD,))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(waits) == 5 and all(wait >= 0 for wait in waits)
