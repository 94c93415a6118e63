"""The token buckets of foundations.md F8, with the corrected arithmetic of F8.2."""

from __future__ import annotations

import dataclasses
import math
import random
import time
from typing import TYPE_CHECKING

from .actions import ActionFailure, Context, conflict, fail, from_unix_seconds
from .interfaces import StorageEntryAlreadyExistsError, StorageEntryNotFoundError
from .records import INT32_MAX, TokenBucket

if TYPE_CHECKING:
    from .server import Server


@dataclasses.dataclass(frozen=True)
class BucketKind:
    """One of the four buckets: its key prefix, capacity and refill interval in seconds."""

    prefix: str
    capacity: int
    refill_interval: int

    def refilled(self, bucket: TokenBucket, now: float) -> TokenBucket:
        """F8.2 step 4: clamp negative elapsed time, refill whole intervals, cap at capacity."""
        elapsed = max(0.0, now - bucket.last_refilled_at)
        refill = math.floor(elapsed / self.refill_interval)
        return TokenBucket(
            count=min(self.capacity, bucket.count + refill),
            last_refilled_at=bucket.last_refilled_at + refill * self.refill_interval,
        )

    def _full_at(self, bucket: TokenBucket) -> float:
        return bucket.last_refilled_at + (self.capacity - bucket.count) * self.refill_interval

    def check(self, ctx: Context, key: str) -> bool:
        """Read-only: would a token be available? Never writes."""
        try:
            value, _ = ctx.server.storage.get(ctx.key(self.prefix, key))
        except StorageEntryNotFoundError:
            return True
        return self.refilled(TokenBucket.decode(value), ctx.timestamp).count > 0

    def consume(self, ctx: Context, key: str) -> bool:
        """Take one token. A lost compare-and-swap raises ``internal_conflict``."""
        storage = ctx.server.storage
        storage_key = ctx.key(self.prefix, key)
        try:
            value, counter = storage.get(storage_key)
        except StorageEntryNotFoundError:
            self._add_new(ctx, storage_key)
            return True
        if counter == INT32_MAX:
            try:
                storage.delete(storage_key)
            except StorageEntryNotFoundError:
                conflict()
            self._add_new(ctx, storage_key)
            return True
        bucket = self.refilled(TokenBucket.decode(value), ctx.timestamp)
        if bucket.count < 1:
            return False
        bucket = bucket.replace(count=bucket.count - 1)
        try:
            storage.update(storage_key, bucket.encode(), from_unix_seconds(self._full_at(bucket)), counter)
        except StorageEntryNotFoundError:
            conflict()
        return True

    def _add_new(self, ctx: Context, storage_key: str) -> None:
        bucket = TokenBucket(count=self.capacity - 1, last_refilled_at=ctx.unix_seconds)
        try:
            ctx.server.storage.add(storage_key, bucket.encode(), from_unix_seconds(self._full_at(bucket)))
        except StorageEntryAlreadyExistsError:
            conflict()

    def require(self, ctx: Context, key: str) -> None:
        """Check: ``rate_limited`` unless a token would be available."""
        if not self.check(ctx, key):
            fail("rate_limited")

    def take(self, ctx: Context, key: str) -> None:
        """Consume: ``rate_limited`` when the bucket is empty."""
        if not self.consume(ctx, key):
            fail("rate_limited")

    def seconds_until_token(self, ctx: Context, key: str) -> float:
        """Read-only: how long until the bucket holds a token again (0 when it holds one)."""
        try:
            value, _ = ctx.server.storage.get(ctx.key(self.prefix, key))
        except StorageEntryNotFoundError:
            return 0.0
        bucket = self.refilled(TokenBucket.decode(value), ctx.timestamp)
        if bucket.count > 0:
            return 0.0
        return max(0.0, bucket.last_refilled_at + self.refill_interval - ctx.timestamp)

    def take_outside_actions(self, server: Server, key: str, attempts: int) -> float | None:
        """Take a token outside any action (the Flask layer's per-client limits): ``None`` when
        one was taken, else the seconds until the next one. A lost compare-and-swap means another
        caller took a token meanwhile: read again, at most ``attempts`` times, then answer as if
        empty (1 s). Storage errors propagate."""
        for _ in range(attempts):
            ctx = Context(server, "", "", server.clock.now())
            try:
                if self.consume(ctx, key):
                    return None
                return self.seconds_until_token(ctx, key)
            except ActionFailure:
                time.sleep(random.uniform(0, 0.002))
        return 1.0


VERIFY_USER_PASSWORD = BucketKind("aaaq.", 5, 60)
SEND_EMAIL = BucketKind("aaar.", 5, 1800)
VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE = BucketKind("aaas.", 5, 60)
VERIFY_USER_PASSWORD_RESET_TEMPORARY_PASSWORD = BucketKind("aaat.", 5, 60)
