"""What ``RedisStorage`` adds to the storage contract: the stored layout and key prefix, expiry
hints as times to live, a compare-and-swap race, errors that carry no key, and recovery after
a killed connection or a Redis restart."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis
from redis.exceptions import ResponseError

from faroe_flask import StorageEntryAlreadyExistsError, StorageEntryNotFoundError
from faroe_flask.core.records import INT32_MAX
from faroe_flask.redis import RedisStorage, RedisStorageError, _storage_error

from ..backends import shared_redis_client
from ..conftest import START, FakeClock
from .conftest import PrivateRedis

EMAIL_KEY = "aaar.Someone@Example.com"


def _in(seconds: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def test_an_entry_is_one_string_under_the_prefix_counter_first(redis_prefix: tuple[Any, str]) -> None:
    client, prefix = redis_prefix
    storage = RedisStorage(client, key_prefix=prefix)
    storage.add(EMAIL_KEY, b"value", _in(3600))
    storage.update(EMAIL_KEY, b"next", _in(3600), 0)
    assert client.type(prefix + EMAIL_KEY) == b"string"
    assert client.get(prefix + EMAIL_KEY) == b"\x00\x00\x00\x01next"
    assert list(client.scan_iter(match=prefix + "*")) == [(prefix + EMAIL_KEY).encode()]
    assert client.get(EMAIL_KEY) is None  # nothing outside the prefix


def test_the_engine_prefix_and_the_storage_prefix_are_not_doubled(redis_prefix: tuple[Any, str]) -> None:
    client, prefix = redis_prefix
    storage = RedisStorage(client, key_prefix=prefix)
    storage.add("faroe.aaah.id", b"v", _in(60))  # what an engine with storage_key_prefix="faroe." asks
    assert client.exists(prefix + "faroe.aaah.id") == 1
    assert client.exists(prefix + "faroe.faroe.aaah.id") == 0


def test_sixteen_threads_swapping_one_counter_have_exactly_one_winner(redis_storage: Any) -> None:
    for round_number in range(10):
        key = f"aaah.race{round_number}"
        redis_storage.add(key, b"start", _in(3600))
        barrier = threading.Barrier(16)
        outcomes: list[object] = [None] * 16

        def swap(index: int) -> None:
            barrier.wait()
            try:
                redis_storage.update(key, f"thread {index}".encode(), _in(3600), 0)
                outcomes[index] = "won"
            except StorageEntryNotFoundError:
                outcomes[index] = "lost"
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcomes[index] = exc

        threads = [threading.Thread(target=swap, args=(index,)) for index in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(map(str, outcomes)) == ["lost"] * 15 + ["won"], outcomes
        winner = outcomes.index("won")
        assert redis_storage.get(key) == (f"thread {winner}".encode(), 1)


def test_the_expiry_hint_is_the_time_to_live(redis_prefix: tuple[Any, str]) -> None:
    client, prefix = redis_prefix
    storage = RedisStorage(client, key_prefix=prefix)
    storage.add("aaah.one", b"v", _in(3600))
    assert 3_590_000 < client.pttl(prefix + "aaah.one") <= 3_600_000
    storage.update("aaah.one", b"v", _in(7200), 0)  # every update replaces the hint
    assert 7_190_000 < client.pttl(prefix + "aaah.one") <= 7_200_000


def test_an_entry_vanishes_after_its_hint(redis_prefix: tuple[Any, str]) -> None:
    client, prefix = redis_prefix
    redis_storage = RedisStorage(client, key_prefix=prefix, minimum_ttl=timedelta(milliseconds=100))
    redis_storage.add("aaah.short", b"v", _in(0.2))
    assert redis_storage.get("aaah.short") == (b"v", 0)
    deadline = time.monotonic() + 5
    while True:
        try:
            redis_storage.get("aaah.short")
        except StorageEntryNotFoundError:
            break
        assert time.monotonic() < deadline, "the entry outlived its hint by seconds"
        time.sleep(0.05)
    redis_storage.add("aaah.short", b"again", _in(60))  # and the key is free again
    assert redis_storage.get("aaah.short") == (b"again", 0)


def test_a_hint_in_the_past_keeps_the_entry_for_the_minimum_time_to_live(
    redis_prefix: tuple[Any, str],
) -> None:
    client, prefix = redis_prefix
    storage = RedisStorage(client, key_prefix=prefix, minimum_ttl=timedelta(seconds=30))
    past = datetime(2001, 1, 1, tzinfo=timezone.utc)
    storage.add("aaaq.user", b"bucket", past)
    assert 29_000 < client.pttl(prefix + "aaaq.user") <= 30_000
    storage.update("aaaq.user", b"bucket", past, 0)
    assert storage.get("aaaq.user") == (b"bucket", 1)


def test_times_to_live_follow_the_engines_clock(redis_prefix: tuple[Any, str]) -> None:
    client, prefix = redis_prefix
    clock = FakeClock()  # months away from the real time: only the difference counts
    storage = RedisStorage(client, key_prefix=prefix, clock=clock)
    storage.add("aaah.one", b"v", START + timedelta(hours=1))
    assert 3_590_000 < client.pttl(prefix + "aaah.one") <= 3_600_000
    clock.advance(1800)
    storage.update("aaah.one", b"v", START + timedelta(hours=1), 0)
    assert 1_790_000 < client.pttl(prefix + "aaah.one") <= 1_800_000


def test_counters_are_int32(redis_prefix: tuple[Any, str]) -> None:
    client, prefix = redis_prefix
    storage = RedisStorage(client, key_prefix=prefix)
    client.set(prefix + "aaaq.full", INT32_MAX.to_bytes(4, "big") + b"bucket", px=60_000)
    assert storage.get("aaaq.full") == (b"bucket", INT32_MAX)
    with pytest.raises(RedisStorageError, match="overflow"):
        storage.update("aaaq.full", b"next", _in(60), INT32_MAX)
    for stale in (0, -1, 2**31, -(2**31) - 1, 2**40):
        with pytest.raises(StorageEntryNotFoundError):
            storage.update("aaaq.full", b"next", _in(60), stale)
    with pytest.raises(StorageEntryNotFoundError):
        storage.update("aaaq.missing", b"next", _in(60), INT32_MAX)
    assert storage.get("aaaq.full") == (b"bucket", INT32_MAX)


def test_foreign_data_is_an_error_that_names_no_key(redis_prefix: tuple[Any, str]) -> None:
    client, prefix = redis_prefix
    storage = RedisStorage(client, key_prefix=prefix)
    client.rpush(prefix + EMAIL_KEY, b"not a string")
    client.set(prefix + "aaah.short", b"xy")
    for call in (
        lambda: storage.get(EMAIL_KEY),
        lambda: storage.update(EMAIL_KEY, b"v", _in(60), 0),
        lambda: storage.get("aaah.short"),
    ):
        with pytest.raises(RedisStorageError) as caught:
            call()
        message = str(caught.value)
        assert "Someone" not in message and "aaah" not in message and prefix not in message
        # redis-py's exception is not chained into the traceback of a log record either.
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None or caught.value.__suppress_context__
    with pytest.raises(RedisStorageError, match="WRONGTYPE"):
        storage.get(EMAIL_KEY)
    with pytest.raises(StorageEntryAlreadyExistsError):
        storage.add(EMAIL_KEY, b"v", _in(60))


def test_error_messages_keep_the_reply_code_and_drop_the_arguments() -> None:
    reply = ResponseError("ERR unknown command 'EVALSHA', with args beginning with: 'aaar.a@b.io'")
    assert str(_storage_error("EVALSHA", reply)) == "Redis EVALSHA failed: ResponseError ERR"
    lost = redis.ConnectionError("Error while reading from 10.0.0.1:6379 : (104, 'reset')")
    assert str(_storage_error("GET", lost)) == "Redis GET failed: ConnectionError"


def test_the_client_path_passes_the_same_checks(redis_prefix: tuple[Any, str]) -> None:
    """``fast_path=False``: every command through ``client.execute_command`` (what clusters do)."""
    client, prefix = redis_prefix
    storage = RedisStorage(client, key_prefix=prefix, fast_path=False)
    assert storage._execute == client.execute_command
    storage.add("aaah.one", b"v0", _in(60))
    with pytest.raises(StorageEntryAlreadyExistsError):
        storage.add("aaah.one", b"again", _in(60))
    storage.update("aaah.one", b"v1", _in(60), 0)
    with pytest.raises(StorageEntryNotFoundError):
        storage.update("aaah.one", b"v2", _in(60), 0)
    assert storage.get("aaah.one") == (b"v1", 1)
    storage.delete("aaah.one")
    with pytest.raises(StorageEntryNotFoundError):
        storage.delete("aaah.one")
    with pytest.raises(StorageEntryNotFoundError):
        storage.get("aaah.one")


def test_a_decoding_client_is_refused() -> None:
    client = redis.Redis.from_url("redis://127.0.0.1:1/0", decode_responses=True)
    with pytest.raises(ValueError, match="decode"):
        RedisStorage(client)


def test_from_url_accepts_only_redis_urls() -> None:
    for url in ("postgresql://localhost/x", "http://localhost:6379", "localhost:6379", ""):
        with pytest.raises(ValueError, match="redis://"):
            RedisStorage.from_url(url)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_redis_is_a_storage_error() -> None:
    storage = RedisStorage.from_url(f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=2)
    for call in (
        lambda: storage.get(EMAIL_KEY),
        lambda: storage.add(EMAIL_KEY, b"v", _in(60)),
        lambda: storage.update(EMAIL_KEY, b"v", _in(60), 0),
        lambda: storage.delete(EMAIL_KEY),
    ):
        started = time.monotonic()
        with pytest.raises(RedisStorageError, match="ConnectionError") as caught:
            call()
        assert time.monotonic() - started < 2, "no retry loop on a refused connection"
        assert "Someone" not in str(caught.value)
    storage.close()


def _test_url() -> str:
    shared_redis_client()  # skips when FAROE_TEST_REDIS_URL is unset
    return os.environ["FAROE_TEST_REDIS_URL"]


def _own_connection_ids(admin: Any, name: str) -> list[str]:
    return [str(entry["id"]) for entry in admin.client_list() if entry.get("name") == name]


def test_killed_connections_fail_only_the_calls_in_flight_and_heal(redis_prefix: tuple[Any, str]) -> None:
    """``CLIENT KILL`` (of this test's own connections, found by their client name) while eight
    threads read and swap one counter: the calls that fail raise ``RedisStorageError``, nothing
    is half-written (the value always matches the counter), and every call after the kills works."""
    admin, prefix = redis_prefix
    name = f"faroe-test-{secrets.token_hex(4)}"
    storage = RedisStorage.from_url(_test_url(), key_prefix=prefix, client_name=name)
    storage.add("aaaq.counter", b"0", _in(3600))
    stop = threading.Event()
    swapped = [0] * 8
    failed: list[BaseException] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        while not stop.is_set():
            try:
                value, counter = storage.get("aaaq.counter")
                assert value == str(counter).encode(), (value, counter)
                storage.update("aaaq.counter", str(counter + 1).encode(), _in(3600), counter)
                swapped[index] += 1
            except StorageEntryNotFoundError:
                pass  # another thread swapped first
            except RedisStorageError as exc:
                with lock:
                    failed.append(exc)
            except BaseException as exc:  # noqa: BLE001 - anything else fails the test
                with lock:
                    failed.append(exc)
                return

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    kills = 0
    try:
        deadline = time.monotonic() + 20
        while kills < 5 and time.monotonic() < deadline:
            time.sleep(0.15)
            for connection_id in _own_connection_ids(admin, name):
                kills += admin.client_kill_filter(_id=connection_id)
    finally:
        time.sleep(0.2)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert kills >= 5
    assert all(isinstance(exc, RedisStorageError) for exc in failed), failed
    assert all("aaaq" not in str(exc) and prefix not in str(exc) for exc in failed)
    # Nothing half-written; every completed swap counted (a swap whose reply was lost may count
    # without being reported, never the other way round).
    value, counter = storage.get("aaaq.counter")
    assert value == str(counter).encode()
    assert sum(swapped) <= counter <= sum(swapped) + len(failed)
    # Healed: with the connections killed once more while idle, every call works at once.
    for connection_id in _own_connection_ids(admin, name):
        admin.client_kill_filter(_id=connection_id)
    for _ in range(20):
        value, counter = storage.get("aaaq.counter")
        storage.update("aaaq.counter", str(counter + 1).encode(), _in(3600), counter)
    assert storage.get("aaaq.counter") == (str(counter + 1).encode(), counter + 1)
    storage.close()


def test_a_redis_restart_fails_calls_while_down_and_heals_without_a_new_storage(
    private_redis: PrivateRedis,
) -> None:
    storage = RedisStorage.from_url(private_redis.url, socket_timeout=2, socket_connect_timeout=2)
    storage.add("aaah.one", b"v", _in(60))
    storage.update("aaah.one", b"v1", _in(60), 0)  # loads the script
    private_redis.stop()
    for call in (lambda: storage.get("aaah.one"), lambda: storage.add("aaah.two", b"v", _in(60))):
        with pytest.raises(RedisStorageError, match="ConnectionError"):
            call()
    private_redis.start()  # empty, and without the script: EVALSHA answers NOSCRIPT
    with pytest.raises(StorageEntryNotFoundError):
        storage.get("aaah.one")
    storage.add("aaah.one", b"v", _in(60))
    storage.update("aaah.one", b"v1", _in(60), 0)
    storage.update("aaah.one", b"v2", _in(60), 1)
    assert storage.get("aaah.one") == (b"v2", 2)
    storage.close()


# Exact outcomes (issue 17) ---------------------------------------------------------------------


def test_an_unreachable_redis_names_each_command_that_failed() -> None:
    storage = RedisStorage.from_url(f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=2)
    calls = {
        "GET": lambda: storage.get(EMAIL_KEY),
        "SET": lambda: storage.add(EMAIL_KEY, b"v", _in(60)),
        "EVALSHA": lambda: storage.update(EMAIL_KEY, b"v", _in(60), 0),
        "DEL": lambda: storage.delete(EMAIL_KEY),
    }
    for command, call in calls.items():
        with pytest.raises(RedisStorageError) as caught:
            call()
        assert str(caught.value) == f"Redis {command} failed: ConnectionError"
    storage.close()


def test_a_reply_error_keeps_its_code_only_when_it_is_one(redis_prefix: tuple[Any, str]) -> None:
    client, prefix = redis_prefix
    storage = RedisStorage(client, key_prefix=prefix)
    client.rpush(prefix + EMAIL_KEY, b"a list")
    with pytest.raises(RedisStorageError) as caught:
        storage.get(EMAIL_KEY)
    assert str(caught.value) == "Redis GET failed: ResponseError WRONGTYPE"
    assert str(_storage_error("GET", ResponseError("Wrongtype in mixed case"))) == "Redis GET failed: ResponseError"
    assert str(_storage_error("GET", ResponseError("ERR2 odd"))) == "Redis GET failed: ResponseError"
    assert str(_storage_error("GET", ResponseError())) == "Redis GET failed: ResponseError"
    # The code is the text before the first space: a tab does not end it.
    assert str(_storage_error("GET", ResponseError("ERR\tinjected text"))) == "Redis GET failed: ResponseError"
    assert str(_storage_error("GET", redis.TimeoutError("Timeout reading"))) == "Redis GET failed: TimeoutError"
    # Only a reply error carries a code: another error's first word is not one.
    assert str(_storage_error("GET", redis.ConnectionError("REFUSED by"))) == "Redis GET failed: ConnectionError"


def test_missing_entries_are_reported_without_the_key(redis_storage: Any) -> None:
    for call in (
        lambda: redis_storage.get(EMAIL_KEY),
        lambda: redis_storage.delete(EMAIL_KEY),
    ):
        with pytest.raises(StorageEntryNotFoundError) as caught:
            call()
        assert str(caught.value) == "no storage entry"
    with pytest.raises(StorageEntryNotFoundError) as caught:
        redis_storage.update(EMAIL_KEY, b"v", _in(60), 0)
    assert str(caught.value) == "no storage entry with this counter"
    redis_storage.add(EMAIL_KEY, b"v", _in(60))
    with pytest.raises(StorageEntryAlreadyExistsError) as already:
        redis_storage.add(EMAIL_KEY, b"w", _in(60))
    assert str(already.value) == "storage entry already exists"


def test_from_url_settings_and_its_error() -> None:
    url = _test_url()
    storage = RedisStorage.from_url(url, key_prefix="faroe-test-from-url:")
    try:
        assert storage.key_prefix == "faroe-test-from-url:"
        pool = storage.client.connection_pool
        assert isinstance(pool, redis.BlockingConnectionPool)
        assert (pool.max_connections, pool.timeout) == (32, 5.0)
        kwargs = pool.connection_kwargs
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (5.0, 5.0)
        assert kwargs["retry"].get_retries() == 0  # a write whose reply was lost is not sent again
    finally:
        storage.close()
    with pytest.raises(ValueError) as caught:
        RedisStorage.from_url("http://localhost:6379")
    assert str(caught.value) == "the Redis URL must start with redis://, rediss://, unix://"
    with pytest.raises(ValueError):
        RedisStorage.from_url(6379)  # type: ignore[arg-type]


def test_close_closes_the_pooled_connections(redis_prefix: tuple[Any, str]) -> None:
    admin, _ = redis_prefix
    name = f"faroe-test-close-{secrets.token_hex(4)}"
    storage = RedisStorage.from_url(_test_url(), client_name=name)
    with pytest.raises(StorageEntryNotFoundError):
        storage.get("aaah.nothing")  # opens a connection, which stays in the pool
    assert len(_own_connection_ids(admin, name)) == 1
    storage.close()
    deadline = time.monotonic() + 5
    while _own_connection_ids(admin, name) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _own_connection_ids(admin, name) == []
    with pytest.raises(StorageEntryNotFoundError):
        storage.get("aaah.nothing")  # a later call opens a new one
    storage.close()


def test_the_script_is_sent_once_then_called_by_its_digest(private_redis: PrivateRedis) -> None:
    storage = RedisStorage.from_url(private_redis.url)
    try:
        admin = storage.client
        admin.script_flush()
        admin.config_resetstat()
        storage.add("aaah.k", b"v0", _in(60))
        for counter in range(5):
            storage.update("aaah.k", f"v{counter + 1}".encode(), _in(60), counter)
        assert storage.get("aaah.k") == (b"v5", 5)
        stats = admin.info("commandstats")
        assert stats["cmdstat_evalsha"]["calls"] == 5
        assert stats["cmdstat_eval"]["calls"] == 1  # after the one NOSCRIPT
    finally:
        storage.close()


def test_counter_messages(redis_prefix: tuple[Any, str]) -> None:
    client, prefix = redis_prefix
    storage = RedisStorage(client, key_prefix=prefix)
    client.set(prefix + "aaaq.full", INT32_MAX.to_bytes(4, "big") + b"bucket", px=60_000)
    with pytest.raises(RedisStorageError) as overflow:
        storage.update("aaaq.full", b"next", _in(60), INT32_MAX)
    assert str(overflow.value) == "the storage entry's counter would overflow an int32"
    with pytest.raises(StorageEntryNotFoundError) as stale:
        storage.update("aaaq.full", b"next", _in(60), -1)
    assert str(stale.value) == "no storage entry with this counter"


class _CountingRedis(redis.Redis):
    """A client that counts the commands sent through ``execute_command`` (an instrumented client)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: list[str] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.commands.append(str(args[0]))
        return super().execute_command(*args, **options)


class _OnlyExecute:
    """A client with nothing but ``execute_command`` (no pool to take connections from)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def execute_command(self, *args: Any, **options: Any) -> Any:
        return self.inner.execute_command(*args, **options)


def test_which_clients_take_the_fast_path(redis_prefix: tuple[Any, str]) -> None:
    _, prefix = redis_prefix
    url = _test_url()
    pooled = _CountingRedis.from_url(url)
    single = _CountingRedis.from_url(url, single_connection_client=True)
    try:
        for client, through_client in ((pooled, False), (single, True)):
            storage = RedisStorage(client, key_prefix=prefix)
            storage.add("aaah.path", b"v", _in(60))
            assert storage.get("aaah.path") == (b"v", 0)
            storage.delete("aaah.path")
            assert client.commands == (["SET", "GET", "DEL"] if through_client else [])
        slow = RedisStorage(pooled, key_prefix=prefix, fast_path=False)
        slow.add("aaah.path", b"v", _in(60))
        assert pooled.commands == ["SET"]
        bare = RedisStorage(_OnlyExecute(pooled), key_prefix=prefix)
        assert bare.get("aaah.path") == (b"v", 0)
        assert pooled.commands == ["SET", "GET"]
    finally:
        pooled.close()
        single.close()


def test_settings_are_checked_and_default_to_no_prefix(redis_prefix: tuple[Any, str]) -> None:
    client, _ = redis_prefix
    key = f"faroe-test-{secrets.token_hex(6)}:aaah.unprefixed"
    storage = RedisStorage(client)
    assert storage.key_prefix == ""
    try:
        storage.add(key, b"v", _in(60))
        assert client.get(key) == b"\x00\x00\x00\x00v"
    finally:
        client.delete(key)
    assert RedisStorage(client, minimum_ttl=timedelta(milliseconds=1)).key_prefix == ""
    cases = [
        (lambda: RedisStorage(client, key_prefix=b"p:"), TypeError, "key_prefix must be a string"),
        (lambda: RedisStorage(client, minimum_ttl=timedelta(microseconds=999)), ValueError,
         "minimum_ttl must be at least one millisecond"),
        (lambda: RedisStorage(redis.Redis.from_url("redis://127.0.0.1:1/0", decode_responses=True)), ValueError,
         "the Redis client must not decode responses (values are bytes)"),
    ]
    for make, error, message in cases:
        with pytest.raises(error) as caught:
            make()
        assert str(caught.value) == message


def test_a_string_too_short_for_a_counter_is_not_a_faroe_entry(redis_prefix: tuple[Any, str]) -> None:
    client, prefix = redis_prefix
    client.set(prefix + "aaah.short", b"xyz")
    with pytest.raises(RedisStorageError) as caught:
        RedisStorage(client, key_prefix=prefix).get("aaah.short")
    assert str(caught.value) == "Redis GET: the entry is not a Faroe storage entry"


def test_commands_through_the_client_by_name(private_redis: PrivateRedis) -> None:
    """Through ``execute_command``: the update script by its digest, loaded once after NOSCRIPT."""
    client = _CountingRedis.from_url(private_redis.url, single_connection_client=True)
    try:
        client.script_flush()
        client.commands.clear()
        storage = RedisStorage(client)
        storage.add("aaah.k", b"v0", _in(60))
        storage.update("aaah.k", b"v1", _in(60), 0)
        storage.update("aaah.k", b"v2", _in(60), 1)
        assert client.commands == ["SET", "EVALSHA", "EVAL", "EVALSHA"]
        assert storage.get("aaah.k") == (b"v2", 2)
    finally:
        client.close()


def test_close_works_on_a_client_without_a_pool(redis_prefix: tuple[Any, str]) -> None:
    client, prefix = redis_prefix
    closed: list[bool] = []

    class Bare(_OnlyExecute):
        def close(self) -> None:
            closed.append(True)

    storage = RedisStorage(Bare(client), key_prefix=prefix)
    storage.add("aaah.bare", b"v", _in(60))
    storage.close()
    assert closed == [True]
    assert storage.get("aaah.bare") == (b"v", 0)
