"""The password hasher's wait observer: the seconds each hash waited for a slot (the action
observers are tested in test_observers.py)."""

from __future__ import annotations

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
