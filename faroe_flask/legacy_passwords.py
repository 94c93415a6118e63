"""Verify-only password hash algorithms for hashes an application stored before Faroe.

Faroe keeps a password as three values: the raw hash, the salt and an algorithm id. The engine
verifies a password by finding the algorithm whose ``id`` equals the user's
``password_hash_algorithm_id``, computing ``algorithm.hash(password, salt)`` and comparing the
result with the stored hash in constant time. New hashes always use the first algorithm of the
list (Argon2id), so an algorithm placed after it only ever verifies: the user's next password
update or reset stores Argon2id.

Werkzeug's ``generate_password_hash`` strings map onto the three values like this::

    scrypt:32768:8:1$<salt>$<hex>         -> id werkzeug.scrypt.32768.8.1, salt <salt> (UTF-8),
                                             hash bytes.fromhex(<hex>)
    pbkdf2:sha256:600000$<salt>$<hex>     -> id werkzeug.pbkdf2.sha256.600000, likewise

``split_werkzeug_hash`` does the conversion, ``legacy_algorithm(id)`` builds the algorithm for an
id, and ``WERKZEUG_DEFAULTS`` are the parameters Werkzeug's releases have used by default. Any
object with ``id``, ``salt_size`` and ``hash(password, salt) -> bytes`` plugs in the same way
(bcrypt, for example: see docs/existing-users.md).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

__all__ = [
    "NO_PASSWORD",
    "NoPassword",
    "WERKZEUG_DEFAULTS",
    "WerkzeugPbkdf2",
    "WerkzeugScrypt",
    "legacy_algorithm",
    "split_werkzeug_hash",
]

_SALT_SIZE = 16  # what Werkzeug generates; only used if someone makes these algorithms primary
# Bounds that keep a hash computable (hashlib's memory limit) and reject nonsense ids.
_MAX_SCRYPT_N = 2**20
_MAX_PBKDF2_ITERATIONS = 10_000_000
_PBKDF2_HASHES = ("sha1", "sha224", "sha256", "sha384", "sha512")


@dataclass(frozen=True)
class WerkzeugScrypt:
    """Werkzeug's ``scrypt:N:r:p``: ``hashlib.scrypt`` with a 64-byte output."""

    n: int = 2**15
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if not (2 <= self.n <= _MAX_SCRYPT_N and self.n & (self.n - 1) == 0):
            raise ValueError("scrypt N must be a power of two between 2 and 2**20")
        if not (1 <= self.r <= 64 and 1 <= self.p <= 16):
            raise ValueError("scrypt r must be 1..64 and p 1..16")

    @property
    def id(self) -> str:
        return f"werkzeug.scrypt.{self.n}.{self.r}.{self.p}"

    @property
    def salt_size(self) -> int:
        return _SALT_SIZE

    def hash(self, password: str, salt: bytes) -> bytes:
        maxmem = 132 * self.n * self.r * self.p  # what Werkzeug passes
        return hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=self.n, r=self.r, p=self.p, maxmem=maxmem
        )


@dataclass(frozen=True)
class WerkzeugPbkdf2:
    """Werkzeug's ``pbkdf2:<hash>:<iterations>``: ``hashlib.pbkdf2_hmac``."""

    hash_name: str = "sha256"
    iterations: int = 600_000

    def __post_init__(self) -> None:
        if self.hash_name not in _PBKDF2_HASHES:
            raise ValueError(f"pbkdf2 hash must be one of {', '.join(_PBKDF2_HASHES)}")
        if not 1 <= self.iterations <= _MAX_PBKDF2_ITERATIONS:
            raise ValueError("pbkdf2 iterations out of range")

    @property
    def id(self) -> str:
        return f"werkzeug.pbkdf2.{self.hash_name}.{self.iterations}"

    @property
    def salt_size(self) -> int:
        return _SALT_SIZE

    def hash(self, password: str, salt: bytes) -> bytes:
        return hashlib.pbkdf2_hmac(self.hash_name, password.encode("utf-8"), salt, self.iterations)


class NoPassword:
    """For users without a usable password (id ``none``): every password is wrong.

    ``hash`` returns fresh random bytes, so it never equals the stored hash. The user can still
    set a password through the password reset flow.
    """

    id = "none"
    salt_size = _SALT_SIZE

    def hash(self, password: str, salt: bytes) -> bytes:
        return secrets.token_bytes(32)


NO_PASSWORD = NoPassword()

#: The parameters of Werkzeug's default hashes: scrypt since 2.3; pbkdf2:sha256 with the
#: iterations of 1.0-2.0 (150000, 260000), 2.3-3.0 (600000) and 3.1 (1000000).
WERKZEUG_DEFAULTS: tuple[WerkzeugScrypt | WerkzeugPbkdf2, ...] = (
    WerkzeugScrypt(),
    WerkzeugPbkdf2("sha256", 1_000_000),
    WerkzeugPbkdf2("sha256", 600_000),
    WerkzeugPbkdf2("sha256", 260_000),
    WerkzeugPbkdf2("sha256", 150_000),
)

_SCRYPT_ID = re.compile(r"werkzeug\.scrypt\.(\d{1,8})\.(\d{1,3})\.(\d{1,3})")
_PBKDF2_ID = re.compile(r"werkzeug\.pbkdf2\.([a-z0-9]{1,10})\.(\d{1,9})")


def legacy_algorithm(algorithm_id: str) -> WerkzeugScrypt | WerkzeugPbkdf2 | NoPassword:
    """The verify-only algorithm named by an id: ``werkzeug.scrypt.N.r.p``,
    ``werkzeug.pbkdf2.<hash>.<iterations>`` or ``none``. Raises ``ValueError`` for others."""
    if algorithm_id == NO_PASSWORD.id:
        return NO_PASSWORD
    scrypt = _SCRYPT_ID.fullmatch(algorithm_id)
    if scrypt:
        n, r, p = (int(group) for group in scrypt.groups())
        return WerkzeugScrypt(n, r, p)
    pbkdf2 = _PBKDF2_ID.fullmatch(algorithm_id)
    if pbkdf2:
        return WerkzeugPbkdf2(pbkdf2.group(1), int(pbkdf2.group(2)))
    raise ValueError(f"not a known legacy password hash algorithm id: {algorithm_id!r}")


def split_werkzeug_hash(werkzeug_hash: str) -> tuple[bytes, str, bytes]:
    """``(hash, algorithm id, salt)`` for Faroe's columns, from a ``generate_password_hash`` string.

    Raises ``ValueError`` (whose message holds no part of the hash) for anything else, including
    the plain-digest formats Werkzeug dropped in 3.0 and a ``pbkdf2:<hash>`` without iterations
    (its iteration count was whatever that Werkzeug release's default was).
    """
    method, salt, digest = _parts(werkzeug_hash)
    name, *arguments = method.split(":")
    algorithm: WerkzeugScrypt | WerkzeugPbkdf2
    try:
        if name == "scrypt" and not arguments:
            algorithm = WerkzeugScrypt()
        elif name == "scrypt" and len(arguments) == 3:
            n, r, p = (int(argument) for argument in arguments)
            algorithm = WerkzeugScrypt(n, r, p)
        elif name == "pbkdf2" and len(arguments) == 2:
            algorithm = WerkzeugPbkdf2(arguments[0], int(arguments[1]))
        else:
            raise ValueError
        raw = bytes.fromhex(digest)
    except ValueError:
        raise ValueError("not a supported Werkzeug password hash") from None
    if len(raw) != (64 if isinstance(algorithm, WerkzeugScrypt) else _digest_size(algorithm)):
        raise ValueError("not a supported Werkzeug password hash")
    return raw, algorithm.id, salt.encode("utf-8")


def _parts(werkzeug_hash: str) -> tuple[str, str, str]:
    parts = werkzeug_hash.split("$", 2) if isinstance(werkzeug_hash, str) else []
    if len(parts) != 3 or not all(parts):
        raise ValueError("not a supported Werkzeug password hash")
    return parts[0], parts[1], parts[2]


def _digest_size(algorithm: WerkzeugPbkdf2) -> int:
    return hashlib.new(algorithm.hash_name).digest_size
