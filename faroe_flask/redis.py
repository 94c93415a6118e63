"""``RedisStorage``: Faroe's key-value storage (foundations.md F7.1) on Redis, Valkey or Redis Cluster.

    from faroe_flask.redis import RedisStorage

    storage = RedisStorage.from_url("redis://localhost:6379/0")   # or RedisStorage(redis_client)

Needs the ``redis`` extra (``pip install "faroe-flask[redis]"``: redis-py with the hiredis parser).

Each entry is one Redis string: a 4-byte big-endian counter followed by the value, so that ``get``
is one ``GET`` and one round trip. ``add`` is ``SET ... NX PX``, ``delete`` is ``DEL`` and
``update`` is a compare-and-swap in a Lua script (``EVALSHA``, loaded on first use) that touches
one key only, so every operation is a single command on a single key and works on Redis Cluster.
The expiry hint becomes the key's time to live, measured on the engine's clock (never sooner than
``minimum_ttl``: a hint in the past keeps the entry briefly instead of dropping it at once).

Errors: a connection failure, a timeout or an error reply raises ``RedisStorageError`` (the action
answers ``internal_error``); its message names the command and the error class, never a key or a
value (keys hold email addresses). Commands are never retried, because a write whose reply was
lost may have happened; a broken connection is dropped and the next call opens a new one, so the
storage heals by itself when Redis comes back.
"""

from __future__ import annotations

import hashlib
import math
import struct
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.retry import Retry

from .core.interfaces import (
    Clock,
    FaroeError,
    StorageEntryAlreadyExistsError,
    StorageEntryNotFoundError,
)
from .core.records import INT32_MAX

__all__ = ["RedisStorage", "RedisStorageError", "REDIS_URL_SCHEMES"]

#: The URL schemes ``RedisStorage.from_url`` (and ``FAROE_STORAGE_URL``) accept.
REDIS_URL_SCHEMES = ("redis://", "rediss://", "unix://")

_COUNTER = struct.Struct(">i")
_UNPACK_COUNTER = _COUNTER.unpack_from
_PACK_COUNTER = _COUNTER.pack
_COUNTER_SIZE = _COUNTER.size

# KEYS[1]: the key. ARGV[1]: the expected counter (4 bytes), ARGV[2]: the new entry (next counter
# and value), ARGV[3]: the time to live in milliseconds. 1 when swapped, 0 when missing or changed.
_UPDATE_SCRIPT = b"""\
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, 4) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""


_UPDATE_SCRIPT_SHA = hashlib.sha1(_UPDATE_SCRIPT).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1


class RedisStorageError(FaroeError):
    """Redis could not be reached, timed out, or answered with an error."""


def _storage_error(command: str, exc: BaseException) -> RedisStorageError:
    """A message safe to log: the command and the error class (and the reply's error code).

    redis-py's own messages can hold a server reply that repeats the command's arguments
    (``unknown command ..., with args beginning with: '<key>'``), so they are not passed on.
    """
    detail = type(exc).__name__
    if isinstance(exc, ResponseError) and exc.args:
        code = str(exc.args[0]).split(" ", 1)[0]
        if code.isupper() and code.isalpha():
            detail += f" {code}"
    return RedisStorageError(f"Redis {command} failed: {detail}")


class RedisStorage:
    """``Storage`` on one Redis database (or a cluster). Safe to share between threads.

    ``client`` is a ``redis.Redis`` (with any connection pool, including Sentinel's
    ``master_for``) or a ``redis.cluster.RedisCluster``; it must not decode responses.
    ``key_prefix`` is put in front of every key on top of the engine's ``storage_key_prefix``:
    set one or the other. ``clock`` turns expiry hints into times to live (default: the system
    clock); pass the engine's clock when it is not the system clock.

    With a plain ``redis.Redis`` the commands go straight to a pooled connection (``fast_path``):
    one command and one round trip per call, without the client's retry loop and per-command
    bookkeeping. ``fast_path=False`` sends them through ``client.execute_command`` instead (what
    a cluster client always does), for instrumented clients; then the client's retry policy
    applies, and it should not retry writes.
    """

    #: Redis drops entries at their time to live: ``flask faroe purge-expired`` has nothing to do.
    expires_entries_itself = True

    def __init__(
        self,
        client: Any,
        *,
        key_prefix: str = "",
        clock: Clock | None = None,
        minimum_ttl: timedelta = timedelta(seconds=60),
        fast_path: bool = True,
    ) -> None:
        if not isinstance(key_prefix, str):
            raise TypeError("key_prefix must be a string")
        pool = getattr(client, "connection_pool", None)
        if pool is not None and pool.connection_kwargs.get("decode_responses"):
            raise ValueError("the Redis client must not decode responses (values are bytes)")
        if minimum_ttl < timedelta(milliseconds=1):
            raise ValueError("minimum_ttl must be at least one millisecond")
        self.client = client
        self.key_prefix = key_prefix
        self.clock = clock
        self._minimum_ttl_ms = math.ceil(minimum_ttl.total_seconds() * 1000)
        direct = (
            fast_path
            and isinstance(client, redis.Redis)
            and getattr(client, "connection", None) is None  # not a single-connection client
            and pool is not None
        )
        if direct:
            self._pool: Any = pool
            self._execute: Callable[..., Any] = self._execute_on_pool
        else:
            self._execute = client.execute_command

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        key_prefix: str = "",
        clock: Clock | None = None,
        max_connections: int = 32,
        socket_timeout: float | None = 5.0,
        socket_connect_timeout: float | None = 5.0,
        **connection_options: Any,
    ) -> RedisStorage:
        """A storage on ``redis://``, ``rediss://`` (TLS) or ``unix://`` ``url``.

        At most ``max_connections`` connections are open at once; a call that finds them all busy
        waits up to ``socket_timeout`` for one. Further keyword arguments go to redis-py's
        connection (``ssl_ca_certs``, ``health_check_interval``, ...).
        """
        if not isinstance(url, str) or not url.startswith(REDIS_URL_SCHEMES):
            raise ValueError("the Redis URL must start with " + ", ".join(REDIS_URL_SCHEMES))
        # No retries (also on the execute_command path): a write whose reply was lost may have
        # happened, and a retry would then report a conflict for our own write.
        connection_options.setdefault("retry", Retry(NoBackoff(), 0))
        pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=socket_timeout,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            **connection_options,
        )
        client = redis.Redis(connection_pool=pool)
        return cls(client, key_prefix=key_prefix, clock=clock)

    def close(self) -> None:
        """Close the client's connections (a later call opens new ones)."""
        self.client.close()
        pool = getattr(self.client, "connection_pool", None)
        if pool is not None:
            pool.disconnect()

    # The Storage protocol ---------------------------------------------------------------------

    def get(self, key: str) -> tuple[bytes, int]:
        try:
            raw = self._execute("GET", self.key_prefix + key)
        except RedisError as exc:
            raise _storage_error("GET", exc) from None
        if raw is None:
            raise StorageEntryNotFoundError("no storage entry")
        if len(raw) < _COUNTER_SIZE:
            raise RedisStorageError("Redis GET: the entry is not a Faroe storage entry")
        return raw[_COUNTER_SIZE:], _UNPACK_COUNTER(raw)[0]

    def add(self, key: str, value: bytes, expires_at: datetime) -> None:
        entry = _PACK_COUNTER(0) + value
        try:
            done = self._execute("SET", self.key_prefix + key, entry, "NX", "PX", self._ttl_ms(expires_at))
        except RedisError as exc:
            raise _storage_error("SET", exc) from None
        if done is None:
            raise StorageEntryAlreadyExistsError("storage entry already exists")

    def update(self, key: str, value: bytes, expires_at: datetime, counter: int) -> None:
        if not 0 <= counter < INT32_MAX:
            # Counters start at 0 and only grow, so no entry has a negative one; at INT32_MAX
            # the next counter would not fit in an int32.
            if counter == INT32_MAX and self._has_counter(key, counter):
                raise RedisStorageError("the storage entry's counter would overflow an int32")
            raise StorageEntryNotFoundError("no storage entry with this counter")
        arguments = (
            self.key_prefix + key,
            _PACK_COUNTER(counter),
            _PACK_COUNTER(counter + 1) + value,
            self._ttl_ms(expires_at),
        )
        try:
            try:
                swapped = self._execute("EVALSHA", _UPDATE_SCRIPT_SHA, 1, *arguments)
            except NoScriptError:
                swapped = self._execute("EVAL", _UPDATE_SCRIPT, 1, *arguments)  # and caches it
        except RedisError as exc:
            raise _storage_error("EVALSHA", exc) from None
        if swapped != 1:
            raise StorageEntryNotFoundError("no storage entry with this counter")

    def delete(self, key: str) -> None:
        try:
            deleted = self._execute("DEL", self.key_prefix + key)
        except RedisError as exc:
            raise _storage_error("DEL", exc) from None
        if deleted == 0:
            raise StorageEntryNotFoundError("no storage entry")

    # Internals --------------------------------------------------------------------------------

    def _execute_on_pool(self, *args: Any) -> Any:
        """One command on a pooled connection; a failed connection is closed by redis-py."""
        pool = self._pool
        connection = pool.get_connection()
        try:
            connection.send_command(*args)
            return connection.read_response()
        finally:
            pool.release(connection)

    def _ttl_ms(self, expires_at: datetime) -> int:
        now = time.time() if self.clock is None else self.clock.now().timestamp()
        return max(math.ceil((expires_at.timestamp() - now) * 1000), self._minimum_ttl_ms)

    def _has_counter(self, key: str, counter: int) -> bool:
        try:
            return self.get(key)[1] == counter
        except StorageEntryNotFoundError:
            return False
