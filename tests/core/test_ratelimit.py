"""Token buckets: the corrected algorithm and the examples table of foundations.md F8.2."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from faroe_flask import MemoryStorage, Server
from faroe_flask.core.actions import ActionFailure, Context
from faroe_flask.core.ratelimit import VERIFY_USER_PASSWORD, BucketKind
from faroe_flask.core.records import TokenBucket

from ..conftest import START

pytestmark = pytest.mark.redis_storage

BUCKET = BucketKind("test.", capacity=5, refill_interval=60)


def _ctx(server: Server, seconds: float) -> Context:
    return Context(server, "test", "i" * 24, START + timedelta(seconds=seconds))


def _run(server: Server, times: list[float]) -> list[float]:
    return [t for t in times if BUCKET.consume(_ctx(server, t), "key")]


@pytest.mark.parametrize(
    ("calls", "allowed"),
    [
        ([0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4]),
        ([0, 1, 2, 3, 4, 61, 62], [0, 1, 2, 3, 4, 61]),
        ([0, 1, 2, 3, 4, *range(600, 606)], [0, 1, 2, 3, 4, *range(600, 605)]),
        ([0, 1, *range(121, 128)], [0, 1, *range(121, 126)]),
        # The reference's defects: a top-up must not push last_refilled_at into the future ...
        ([0, 72, 78, 79, 80, 81, 82], [0, 72, 78, 79, 80, 81]),
        # ... and 256 idle intervals must refill, not wrap to zero.
        ([0, 1, 2, 3, 4, 5, 256 * 60, 257 * 60], [0, 1, 2, 3, 4, 256 * 60, 257 * 60]),
        ([0, 1, 2, 3, 4, *range(86400, 86406)], [0, 1, 2, 3, 4, *range(86400, 86405)]),
    ],
)
def test_examples(server: Server, calls: list[float], allowed: list[float]) -> None:
    assert _run(server, calls) == allowed


def test_one_more_call_per_elapsed_interval(server: Server) -> None:
    assert _run(server, [0, 1, 2, 3, 4]) == [0, 1, 2, 3, 4]
    assert _run(server, [60, 61, 120, 121, 180.5, 181]) == [60, 120, 180.5]


def test_check_never_writes_and_sees_refills(server: Server) -> None:
    assert BUCKET.check(_ctx(server, 0), "key")  # no bucket yet: allowed
    _run(server, [0, 1, 2, 3, 4])
    value_before = server.storage.get("test.key")
    assert not BUCKET.check(_ctx(server, 30), "key")
    assert BUCKET.check(_ctx(server, 60), "key")
    assert server.storage.get("test.key") == value_before


def test_clock_going_backwards_is_clamped(server: Server) -> None:
    _run(server, [100, 101, 102, 103, 104])
    assert _run(server, [50, 10, 0]) == []
    assert _run(server, [164]) == [164]


def test_expiry_hint_is_when_the_bucket_is_full_again() -> None:
    class Recording(MemoryStorage):
        hints: list[datetime] = []

        def add(self, key: str, value: bytes, expires_at: datetime) -> None:
            self.hints.append(expires_at)
            super().add(key, value, expires_at)

        def update(self, key: str, value: bytes, expires_at: datetime, counter: int) -> None:
            self.hints.append(expires_at)
            super().update(key, value, expires_at, counter)

    storage = Recording()

    class FakeServer:
        pass

    fake: Any = FakeServer()
    fake.storage = storage
    fake.storage_key_prefix = ""
    ctx = Context(fake, "test", "i" * 24, START)
    BUCKET.consume(ctx, "k")
    BUCKET.consume(ctx, "k")
    start = int(START.timestamp())
    assert [hint.timestamp() for hint in storage.hints] == [start + 60, start + 120]
    assert all(hint.tzinfo is not None for hint in storage.hints)


def test_counter_at_int32_max_starts_a_fresh_bucket(server: Server) -> None:
    class AtMax(MemoryStorage):
        def get(self, key: str) -> tuple[bytes, int]:
            value, _ = super().get(key)
            return value, 2_147_483_647

    storage = AtMax()
    server.storage = storage
    storage.add("test.key", TokenBucket(count=0, last_refilled_at=int(START.timestamp())).encode(), START)
    assert BUCKET.consume(_ctx(server, 0), "key")
    assert TokenBucket.decode(storage.get("test.key")[0]).count == 4


def test_lost_races_are_internal_conflict(server: Server) -> None:
    class LosingUpdates(MemoryStorage):
        def update(self, key: str, value: bytes, expires_at: datetime, counter: int) -> None:
            super().update(key, value, expires_at, counter - 1)

    class LosingAdds(MemoryStorage):
        def get(self, key: str) -> tuple[bytes, int]:
            try:
                return super().get(key)
            finally:
                bucket = TokenBucket(count=5, last_refilled_at=0).encode()
                if key not in self.keys():
                    super().add(key, bucket, datetime.now(timezone.utc))

    server.storage = LosingUpdates()
    assert BUCKET.consume(_ctx(server, 0), "key")  # first call adds
    with pytest.raises(ActionFailure) as raised:
        BUCKET.consume(_ctx(server, 1), "key")
    assert raised.value.error_code == "internal_conflict"

    server.storage = LosingAdds()
    with pytest.raises(ActionFailure) as raised:
        BUCKET.consume(_ctx(server, 0), "key")
    assert raised.value.error_code == "internal_conflict"


def test_buckets_are_keyed_by_exact_strings(server: Server) -> None:
    for t in range(5):
        assert VERIFY_USER_PASSWORD.consume(_ctx(server, t), "User")
    assert not VERIFY_USER_PASSWORD.consume(_ctx(server, 5), "User")
    assert VERIFY_USER_PASSWORD.consume(_ctx(server, 6), "user")


def test_a_clock_going_backwards_refills_nothing_even_with_one_second_intervals() -> None:
    bucket = BucketKind("test.", capacity=5, refill_interval=1)
    empty = TokenBucket(count=0, last_refilled_at=100)
    assert bucket.refilled(empty, 99.5) == empty
    assert bucket.refilled(empty, 100.0) == empty
    assert bucket.refilled(empty, 101.5) == TokenBucket(count=1, last_refilled_at=101)


# Taking tokens outside an action (the Flask layer's per-client limits) ------------------------


def test_seconds_until_token_reads_without_writing(server: Server, clock: Any) -> None:
    assert BUCKET.seconds_until_token(_ctx(server, 0), "wait") == 0.0  # no bucket: a token now
    _run_on(server, "wait", [0, 1, 2, 3, 4])
    before = server.storage.get("test.wait")
    assert BUCKET.seconds_until_token(_ctx(server, 4), "wait") == 56.0
    assert BUCKET.seconds_until_token(_ctx(server, 59.5), "wait") == 0.5
    assert BUCKET.seconds_until_token(_ctx(server, 60), "wait") == 0.0
    assert BUCKET.seconds_until_token(_ctx(server, 130), "wait") == 0.0
    assert server.storage.get("test.wait") == before


def _run_on(server: Server, key: str, times: list[float]) -> list[float]:
    return [t for t in times if BUCKET.consume(_ctx(server, t), key)]


def test_take_outside_actions_answers_none_or_the_wait(server: Server, clock: Any) -> None:
    # ``server`` runs on ``clock`` (START): five tokens, then the wait to the next one.
    assert [BUCKET.take_outside_actions(server, "out", 3) for _ in range(5)] == [None] * 5
    assert BUCKET.take_outside_actions(server, "out", 3) == 60.0
    clock.advance(45)
    assert BUCKET.take_outside_actions(server, "out", 3) == 15.0
    clock.advance(15)
    assert BUCKET.take_outside_actions(server, "out", 3) is None


class _LosingStorage(MemoryStorage):
    """Every compare-and-swap loses, as if another caller always won."""

    def update(self, key: str, value: bytes, expires_at: datetime, counter: int) -> None:
        from faroe_flask.core.interfaces import StorageEntryNotFoundError

        self.updates = getattr(self, "updates", 0) + 1
        raise StorageEntryNotFoundError("lost")


def test_take_outside_actions_retries_a_lost_swap_a_bounded_number_of_times(make_server: Any) -> None:
    storage = _LosingStorage()
    server = make_server(storage=storage)
    assert BUCKET.take_outside_actions(server, "race", 4) is None  # created: no swap needed
    started = time.monotonic()
    assert BUCKET.take_outside_actions(server, "race", 4) == 1.0  # four lost swaps: refused
    assert time.monotonic() - started < 0.25  # each retry pauses a couple of milliseconds at most
    assert storage.updates == 4


def test_take_outside_actions_lets_storage_errors_through(make_server: Any) -> None:
    class Broken(MemoryStorage):
        def get(self, key: str) -> tuple[bytes, int]:
            raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        BUCKET.take_outside_actions(make_server(storage=Broken()), "k", 3)
