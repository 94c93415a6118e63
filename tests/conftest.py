"""Shared fixtures: an injectable clock, capturing email sender and error logger, cheap Argon2id."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from faroe_flask import Server, SessionConfig
from faroe_flask.passwords import Argon2id

from .backends import BACKEND_COST, BACKENDS, STORAGE_BACKENDS, open_backend

START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)

# Real Argon2id with tiny parameters, so that tests hash quickly.
FAST_USER_ALGORITHM = Argon2id(memory_cost=64, time_cost=1, parallelism=1)
FAST_TEMPORARY_ALGORITHM = Argon2id(memory_cost=32, time_cost=1, parallelism=1)

WEAK_PASSWORD = "password123"
STRONG_PASSWORD = "correct horse battery staple"


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment


class CapturingEmailSender:
    """Records every message; ``fail`` makes the named method raise."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.failing: set[str] = set()
        self._lock = threading.Lock()

    def _record(self, kind: str, **fields: Any) -> None:
        if kind in self.failing:
            raise ConnectionError("the SMTP server is down")
        with self._lock:
            self.messages.append((kind, fields))

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [fields for name, fields in self.messages if name == kind]

    def last(self, kind: str) -> dict[str, Any]:
        found = self.of_kind(kind)
        assert found, f"no {kind} message was sent"
        return found[-1]

    def send_signup_email_address_verification_code(self, email_address: str, code: str) -> None:
        self._record("signup_code", email_address=email_address, code=code)

    def send_user_email_address_update_email_verification_code(
        self, email_address: str, display_name: str, code: str
    ) -> None:
        self._record("update_code", email_address=email_address, display_name=display_name, code=code)

    def send_user_password_reset_temporary_password(
        self, email_address: str, display_name: str, temporary_password: str
    ) -> None:
        self._record(
            "temporary_password",
            email_address=email_address,
            display_name=display_name,
            temporary_password=temporary_password,
        )

    def send_user_signed_in_notification(
        self, email_address: str, display_name: str, timestamp: datetime
    ) -> None:
        self._record("signed_in", email_address=email_address, display_name=display_name, timestamp=timestamp)

    def send_user_password_updated_notification(
        self, email_address: str, display_name: str, timestamp: datetime
    ) -> None:
        self._record(
            "password_updated", email_address=email_address, display_name=display_name, timestamp=timestamp
        )

    def send_user_email_address_updated_notification(
        self, email_address: str, display_name: str, new_email_address: str, timestamp: datetime
    ) -> None:
        self._record(
            "email_updated",
            email_address=email_address,
            display_name=display_name,
            new_email_address=new_email_address,
            timestamp=timestamp,
        )

    # The account pages' generic-responses notices.
    def send_signup_attempt_notification(self, email_address: str, display_name: str, timestamp: datetime) -> None:
        self._record("signup_attempt", email_address=email_address, display_name=display_name, timestamp=timestamp)

    def send_user_password_reset_attempt_notification(
        self, email_address: str, display_name: str, timestamp: datetime
    ) -> None:
        self._record("reset_attempt", email_address=email_address, display_name=display_name, timestamp=timestamp)


class CapturingErrorLogger:
    def __init__(self) -> None:
        self.entries: list[tuple[datetime, str, str, str]] = []

    def log_action_error(
        self, timestamp: datetime, message: str, action_invocation_id: str, action: str
    ) -> None:
        self.entries.append((timestamp, message, action_invocation_id, action))

    @property
    def actions(self) -> list[str]:
        return [entry[3] for entry in self.entries]


class BannedPasswords:
    """A local strength checker: only ``WEAK_PASSWORD`` (and anything in ``banned``) is weak."""

    def __init__(self, *banned: str) -> None:
        self.banned = {WEAK_PASSWORD, *banned}
        self.error: Exception | None = None

    def is_strong(self, password: str) -> bool:
        if self.error is not None:
            raise self.error
        return password not in self.banned


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def email_sender() -> CapturingEmailSender:
    return CapturingEmailSender()


@pytest.fixture
def error_logger() -> CapturingErrorLogger:
    return CapturingErrorLogger()


@pytest.fixture
def strength_checker() -> BannedPasswords:
    return BannedPasswords()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "redis_storage: run the test on the Redis storage backend too (tests/backends.py)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses ``backend`` runs on each of ``BACKENDS`` (``STORAGE_BACKENDS`` when
    marked ``redis_storage``)."""
    if "backend" in metafunc.fixturenames and not _chooses_its_own_backend(metafunc):
        marked = metafunc.definition.get_closest_marker("redis_storage") is not None
        metafunc.parametrize("backend", STORAGE_BACKENDS if marked else BACKENDS, indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under mutation testing (mutmut sets ``MUTANT_UNDER_TEST``), run a mutant's tests on the
    cheapest backends first: the run stops at the first failure, so a killed mutant costs little."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        items.sort(key=_backend_cost)


def _backend_cost(item: pytest.Item) -> int:
    params = getattr(item, "callspec", None)
    names = params.params.values() if params is not None else ()
    return max((BACKEND_COST.get(name, 0) for name in names if isinstance(name, str)), default=0)


def _chooses_its_own_backend(metafunc: pytest.Metafunc) -> bool:
    """A test module with its own ``backend`` fixture, or a test that parametrizes it itself."""
    if hasattr(metafunc.module, "backend"):
        return True
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0]
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",")]
        if "backend" in names:
            return True
    return False


@pytest.fixture
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[tuple[Any, Any]]:
    with open_backend(request.param, tmp_path, clock) as parts:
        yield parts


@pytest.fixture
def storage(backend: tuple[Any, Any]) -> Any:
    return backend[0]


@pytest.fixture
def user_store(backend: tuple[Any, Any]) -> Any:
    return backend[1]


@pytest.fixture
def make_server(
    storage: Any,
    user_store: Any,
    email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
    clock: FakeClock,
    strength_checker: BannedPasswords,
) -> Callable[..., Server]:
    def make(**overrides: Any) -> Server:
        options: dict[str, Any] = dict(
            storage=storage,
            user_store=user_store,
            email_sender=email_sender,
            user_password_hash_algorithms=[FAST_USER_ALGORITHM],
            temporary_password_hash_algorithm=FAST_TEMPORARY_ALGORITHM,
            password_strength_checker=strength_checker,
            error_logger=error_logger,
            clock=clock,
            session_config=SessionConfig(),
        )
        options.update(overrides)
        return Server(**options)

    return make


@pytest.fixture
def server(make_server: Callable[..., Server]) -> Server:
    return make_server()
