"""Argon2id password hashing, byte-identical to the reference (foundations.md F6.5, F6.6)."""

from __future__ import annotations

from argon2.low_level import Type, hash_secret_raw

__all__ = [
    "Argon2id",
    "USER_PASSWORD_ARGON2ID",
    "USER_PASSWORD_ARGON2ID_ALIAS",
    "TEMPORARY_PASSWORD_ARGON2ID",
    "recommended_user_password_hash_algorithms",
]


class Argon2id:
    """Plain Argon2id v19 with no secret key or associated data, like Go's ``argon2.IDKey``.

    The id defaults to ``argon2id.<memory KiB>.<iterations>.<parallelism>.<output bytes>``.
    """

    def __init__(
        self,
        *,
        memory_cost: int,
        time_cost: int,
        parallelism: int,
        hash_len: int = 32,
        salt_size: int = 16,
        id: str | None = None,
    ) -> None:
        if memory_cost < 8 * parallelism:
            raise ValueError("memory_cost must be at least 8 KiB per lane")
        if time_cost < 1 or parallelism < 1 or hash_len < 4 or salt_size < 8:
            raise ValueError("invalid Argon2id parameters")
        self.memory_cost = memory_cost
        self.time_cost = time_cost
        self.parallelism = parallelism
        self.hash_len = hash_len
        self._salt_size = salt_size
        self._id = id or f"argon2id.{memory_cost}.{time_cost}.{parallelism}.{hash_len}"

    @property
    def id(self) -> str:
        return self._id

    @property
    def salt_size(self) -> int:
        return self._salt_size

    def hash(self, password: str, salt: bytes) -> bytes:
        # argon2-cffi releases the GIL while hashing, so threads hash in parallel.
        return hash_secret_raw(
            secret=password.encode("utf-8"),
            salt=salt,
            time_cost=self.time_cost,
            memory_cost=self.memory_cost,
            parallelism=self.parallelism,
            hash_len=self.hash_len,
            type=Type.ID,
            version=19,
        )

    def with_id(self, id: str) -> Argon2id:
        """The same parameters under another id (to verify hashes stored under an alias)."""
        return Argon2id(
            memory_cost=self.memory_cost,
            time_cost=self.time_cost,
            parallelism=self.parallelism,
            hash_len=self.hash_len,
            salt_size=self._salt_size,
            id=id,
        )

    def __repr__(self) -> str:
        return f"Argon2id(id={self._id!r})"


# The recommended presets (F6.5): 64 MiB / 3 / 1 for user passwords, 16 MiB / 3 / 1 for temporary.
USER_PASSWORD_ARGON2ID = Argon2id(memory_cost=65536, time_cost=3, parallelism=1)
# The prebuilt local server names the same parameters with iterations first (F6.5 "Id alias").
USER_PASSWORD_ARGON2ID_ALIAS = USER_PASSWORD_ARGON2ID.with_id("argon2id.3.65536.1.32")
TEMPORARY_PASSWORD_ARGON2ID = Argon2id(memory_cost=16384, time_cost=3, parallelism=1)


def recommended_user_password_hash_algorithms() -> list[Argon2id]:
    """The primary user algorithm followed by its verify-only alias (policy item 13)."""
    return [USER_PASSWORD_ARGON2ID, USER_PASSWORD_ARGON2ID_ALIAS]
