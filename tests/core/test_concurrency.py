"""Races between concurrent requests, and the password hashing concurrency limit (F6.4)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from faroe_flask import Server
from faroe_flask.passwords import Argon2id

from ..conftest import STRONG_PASSWORD, CapturingEmailSender
from .helpers import call, ok, sign_up


def _together(count: int, work: Callable[[], Any]) -> list[Any]:
    """Run ``work`` on ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def run() -> Any:
        barrier.wait()
        return work()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: run(), range(count)))


@pytest.mark.redis_storage
def test_twenty_threads_completing_one_signin_get_one_session(
    server: Server, email_sender: CapturingEmailSender
) -> None:
    sign_up(server, email_sender)
    signin_token = ok(server, "create_signin", user_email_address="user@example.com")["signin_token"]
    ok(server, "verify_signin_user_password", signin_token=signin_token, password=STRONG_PASSWORD)
    results = _together(20, lambda: call(server, "complete_signin", signin_token=signin_token))
    winners = [result for result in results if result["ok"]]
    assert len(winners) == 1
    assert {result["error_code"] for result in results if not result["ok"]} <= {"invalid_signin_token"}
    ok(server, "get_session", session_token=winners[0]["values"]["session_token"])


@pytest.mark.redis_storage
def test_concurrent_signup_completions_create_one_user(
    server: Server, email_sender: CapturingEmailSender
) -> None:
    tokens = []
    for _ in range(4):
        token = ok(server, "create_signup", email_address="race@example.com")["signup_token"]
        ok(server, "verify_signup_email_address_verification_code", signup_token=token,
           email_address_verification_code=email_sender.last("signup_code")["code"])
        ok(server, "set_signup_password", signup_token=token, password=STRONG_PASSWORD)
        tokens.append(token)
    lock = threading.Lock()
    queue = list(tokens)

    def complete() -> dict[str, Any]:
        with lock:
            token = queue.pop()
        return call(server, "complete_signup", signup_token=token)

    results = _together(4, complete)
    assert sum(result["ok"] for result in results) == 1
    assert {r["error_code"] for r in results if not r["ok"]} == {"invalid_signup_token"}


@pytest.mark.redis_storage
def test_concurrent_code_guesses_never_exceed_the_bucket(
    server: Server, email_sender: CapturingEmailSender
) -> None:
    token = ok(server, "create_signup", email_address="user@example.com")["signup_token"]
    results = _together(
        12,
        lambda: call(server, "verify_signup_email_address_verification_code", signup_token=token,
                     email_address_verification_code="WRONGONE"),
    )
    codes = [result["error_code"] for result in results]
    assert codes.count("incorrect_email_address_verification_code") <= 5
    assert set(codes) <= {"incorrect_email_address_verification_code", "rate_limited", "internal_conflict"}


class _Recording:
    """Wraps an algorithm and records how many hashes run at the same time."""

    def __init__(self, inner: Argon2id) -> None:
        self.inner = inner
        self.id = inner.id
        self.salt_size = inner.salt_size
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def hash(self, password: str, salt: bytes) -> bytes:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            return self.inner.hash(password, salt)
        finally:
            with self.lock:
                self.active -= 1


@pytest.mark.parametrize("limit", [1, 2])
def test_the_semaphore_caps_concurrent_hashing(make_server: Callable[..., Server], limit: int) -> None:
    algorithm = _Recording(Argon2id(memory_cost=8192, time_cost=1, parallelism=1))
    server = make_server(user_password_hash_algorithms=[algorithm], max_concurrent_password_hashing=limit)
    _together(6, lambda: server.passwords.hash_user_password(STRONG_PASSWORD))
    assert algorithm.peak == limit


def test_hashing_concurrency_must_be_at_least_one(make_server: Callable[..., Server]) -> None:
    with pytest.raises(ValueError):
        make_server(max_concurrent_password_hashing=0)


def test_hashing_releases_the_gil_so_threads_run_in_parallel(make_server: Callable[..., Server]) -> None:
    """While one thread hashes, other Python threads keep running (argon2 releases the GIL).

    The evidence is progress, not speed: a GIL-bound hash would freeze the main thread for the
    whole hash, so it could count only until the worker entered the hash.
    """
    algorithm = _Recording(Argon2id(memory_cost=65536, time_cost=3, parallelism=1))
    server = make_server(user_password_hash_algorithms=[algorithm], max_concurrent_password_hashing=2)
    worker = threading.Thread(target=lambda: server.passwords.hash_user_password(STRONG_PASSWORD))
    counted_while_hashing = 0
    worker.start()
    while worker.is_alive():
        if algorithm.active:
            counted_while_hashing += 1
    worker.join()
    assert counted_while_hashing > 1000
