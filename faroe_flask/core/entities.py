"""Reading, validating and changing the token-bearing records (foundations.md F3.5, F7.6).

Every flow's token resolution is the same procedure with different parameters, collected in an
``EntityKind``. This module also holds the shared "create and return a token", "delete",
"re-read, check, update" (compare-and-swap) and "log-and-continue delete" steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Generic, TypeVar

from .actions import Context, conflict, fail
from .credentials import create_token, generate_id, generate_secret, hash_secret, parse_token, secret_matches
from .interfaces import StorageEntryNotFoundError, User, UserNotFoundError
from .records import Record
from .actions import from_unix_seconds

R = TypeVar("R", bound=Record)


@dataclasses.dataclass(frozen=True)
class EntityKind(Generic[R]):
    """How one kind of record is resolved from its token.

    ``counters`` names the user counters whose snapshots (``user_<name>_counter`` in the record)
    must still equal the user's current values. ``inclusive`` selects ``<=`` instead of ``<``
    for the lifetime check (F7.6).
    """

    record_type: type[R]
    lifetime: int
    inclusive: bool
    user_bound: bool
    counters: tuple[str, ...] = ()

    @property
    def prefix(self) -> str:
        return self.record_type.PREFIX

    def is_expired(self, record: R, now: float) -> bool:
        age: float = now - record.created_at  # type: ignore[attr-defined]
        return age > self.lifetime if self.inclusive else age >= self.lifetime

    def expires_at(self, record: R) -> int:
        return record.created_at + self.lifetime  # type: ignore[attr-defined, no-any-return]

    def is_stale_for(self, record: R, user: User) -> bool:
        """The user is disabled, or one of the compared counters moved since the snapshot."""
        return user.disabled or any(
            getattr(record, f"user_{name}_counter") != getattr(user, f"{name}_counter")
            for name in self.counters
        )

    # Storage access ---------------------------------------------------------------------------

    def read(self, ctx: Context, record_id: str) -> tuple[R, int] | None:
        """Get and decode the record; ``None`` when there is none."""
        try:
            value, counter = ctx.server.storage.get(ctx.key(self.prefix, record_id))
        except StorageEntryNotFoundError:
            return None
        return self.record_type.decode(value), counter

    def add(self, ctx: Context, record: R) -> None:
        ctx.server.storage.add(
            ctx.key(self.prefix, record.id),  # type: ignore[attr-defined]
            record.encode(),
            from_unix_seconds(self.expires_at(record)),
        )

    def delete(self, ctx: Context, record_id: str) -> bool:
        """Delete the record; ``False`` when it was already gone."""
        try:
            ctx.server.storage.delete(ctx.key(self.prefix, record_id))
        except StorageEntryNotFoundError:
            return False
        return True

    def delete_logging_errors(self, ctx: Context, record_id: str) -> None:
        """Log-and-continue delete: "not found" is fine, any other failure is only logged."""
        try:
            self.delete(ctx, record_id)
        except Exception as exc:  # noqa: BLE001 - the answer must not change (F12 item 2)
            ctx.log(f"deleting {self.record_type.__name__} failed: {type(exc).__name__}")

    # Token resolution -------------------------------------------------------------------------

    def resolve(self, ctx: Context, token: str, invalid_code: str) -> tuple[R, User | None]:
        """Validate a token (F3.5): returns the record and, for user-bound records, the user.

        The secret is checked right after the read, before anything is deleted or any user is
        looked up (Compatibility policy item 8).
        """
        parsed = parse_token(token)
        if parsed is None:
            fail(invalid_code)
        record_id, secret = parsed
        found = self.read(ctx, record_id)
        if found is None:
            fail(invalid_code)
        record, _ = found
        if not secret_matches(secret, record.secret_hash):  # type: ignore[attr-defined]
            fail(invalid_code)
        if self.is_expired(record, ctx.timestamp):
            self.delete(ctx, record_id)
            fail(invalid_code)
        if not self.user_bound:
            return record, None
        try:
            user = ctx.server.user_store.get_user(record.user_id)  # type: ignore[attr-defined]
        except UserNotFoundError:
            self.delete(ctx, record_id)
            fail(invalid_code)
        if self.is_stale_for(record, user):
            self.delete(ctx, record_id)
            fail(invalid_code)
        return record, user

    def swap(
        self,
        ctx: Context,
        record_id: str,
        already_done: Callable[[R], bool],
        change: Callable[[R], R],
    ) -> R:
        """Re-read the record, check the flag again, and compare-and-swap the change (F3.5 §1.12).

        A vanished record, a flag set meanwhile or a lost swap is ``internal_conflict``.
        """
        found = self.read(ctx, record_id)
        if found is None:
            conflict()
        record, counter = found
        if already_done(record):
            conflict()
        changed = change(record)
        try:
            ctx.server.storage.update(
                ctx.key(self.prefix, record_id),
                changed.encode(),
                from_unix_seconds(self.expires_at(changed)),
                counter,
            )
        except StorageEntryNotFoundError:
            conflict()
        return changed


def new_id_and_secret() -> tuple[str, str, bytes]:
    """A fresh record id, token secret and the secret's stored hash."""
    secret = generate_secret()
    return generate_id(), secret, hash_secret(secret)


__all__ = ["EntityKind", "new_id_and_secret", "create_token"]
