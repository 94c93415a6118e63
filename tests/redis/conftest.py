"""Fixtures for the Redis-only tests: the machine's Redis (``FAROE_TEST_REDIS_URL``) under a fresh
key prefix, and a private ``redis-server`` on a Unix socket that a test may stop and start again."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..backends import open_redis_storage, redis_key_prefix

pytest.importorskip("redis")


@pytest.fixture
def redis_prefix() -> Iterator[tuple[Any, str]]:
    """``(client, prefix)``: the shared test client and a fresh prefix, cleaned up afterwards."""
    with redis_key_prefix() as pair:
        yield pair


@pytest.fixture
def redis_storage() -> Iterator[Any]:
    with open_redis_storage() as storage:
        yield storage


class PrivateRedis:
    """A ``redis-server`` of our own, listening on a Unix socket only (no TCP port), no persistence."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        executable = shutil.which("redis-server")
        assert executable is not None
        self.process = subprocess.Popen(
            [executable, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("redis-server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()


@pytest.fixture
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    # A short directory: Unix socket paths are limited to about 100 bytes.
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
