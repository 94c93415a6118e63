"""Argon2id byte-identical to Go's argon2.IDKey: known-answer tests of foundations.md F6.6,
the preset ids of F6.5 and parameter validation."""

from __future__ import annotations

import pytest

from faroe_flask.passwords import (
    TEMPORARY_PASSWORD_ARGON2ID,
    USER_PASSWORD_ARGON2ID,
    USER_PASSWORD_ARGON2ID_ALIAS,
    Argon2id,
    recommended_user_password_hash_algorithms,
)

SALT_0_TO_15 = bytes(range(16))

# (password, salt, time_cost, memory_cost KiB, parallelism, hash_len, hex output) — F6.6 table.
KNOWN_ANSWERS = [
    pytest.param(
        "password", b"somesalt", 1, 64, 1, 24,
        "655ad15eac652dc59f7170a7332bf49b8469be1fdb9c28bb",
        id="go-vector-t1-m64-p1",
    ),
    pytest.param(
        "password", b"somesalt", 2, 64, 2, 24,
        "350ac37222f436ccb5c0972f1ebd3bf6b958bf2071841362",
        id="t2-m64-p2",
    ),
    pytest.param(
        "correct horse battery staple", SALT_0_TO_15, 3, 65536, 1, 32,
        "0d1a3c6523c8f06e4e0af9c515aa5b5448cfebd6838f2d52c3d8b6ef8ddc3c2e",
        id="user-preset",
    ),
    pytest.param(
        "ABCDEFGHJKLM", SALT_0_TO_15, 3, 16384, 1, 32,
        "10ced0a8bb518a8d526fe8614f98aabfec2776a115ab7375db3085c10a59cc41",
        id="temporary-preset",
    ),
]


@pytest.mark.parametrize(
    ("password", "salt", "time_cost", "memory_cost", "parallelism", "hash_len", "expected"),
    KNOWN_ANSWERS,
)
def test_known_answers(
    password: str,
    salt: bytes,
    time_cost: int,
    memory_cost: int,
    parallelism: int,
    hash_len: int,
    expected: str,
) -> None:
    algorithm = Argon2id(
        memory_cost=memory_cost, time_cost=time_cost, parallelism=parallelism, hash_len=hash_len
    )
    output = algorithm.hash(password, salt)
    assert isinstance(output, bytes)
    assert len(output) == hash_len
    assert output.hex() == expected


def test_presets_match_the_known_answers() -> None:
    assert (
        USER_PASSWORD_ARGON2ID.hash("correct horse battery staple", SALT_0_TO_15).hex()
        == "0d1a3c6523c8f06e4e0af9c515aa5b5448cfebd6838f2d52c3d8b6ef8ddc3c2e"
    )
    assert (
        TEMPORARY_PASSWORD_ARGON2ID.hash("ABCDEFGHJKLM", SALT_0_TO_15).hex()
        == "10ced0a8bb518a8d526fe8614f98aabfec2776a115ab7375db3085c10a59cc41"
    )


def test_preset_ids_and_parameters() -> None:
    assert USER_PASSWORD_ARGON2ID.id == "argon2id.65536.3.1.32"
    assert USER_PASSWORD_ARGON2ID_ALIAS.id == "argon2id.3.65536.1.32"
    assert TEMPORARY_PASSWORD_ARGON2ID.id == "argon2id.16384.3.1.32"
    for algorithm in (USER_PASSWORD_ARGON2ID, USER_PASSWORD_ARGON2ID_ALIAS):
        assert (algorithm.memory_cost, algorithm.time_cost, algorithm.parallelism, algorithm.hash_len) == (
            65536, 3, 1, 32,
        )
        assert algorithm.salt_size == 16
    assert (
        TEMPORARY_PASSWORD_ARGON2ID.memory_cost,
        TEMPORARY_PASSWORD_ARGON2ID.time_cost,
        TEMPORARY_PASSWORD_ARGON2ID.parallelism,
        TEMPORARY_PASSWORD_ARGON2ID.hash_len,
    ) == (16384, 3, 1, 32)
    assert TEMPORARY_PASSWORD_ARGON2ID.salt_size == 16


def test_recommended_user_algorithms_primary_then_alias() -> None:
    algorithms = recommended_user_password_hash_algorithms()
    assert [a.id for a in algorithms] == ["argon2id.65536.3.1.32", "argon2id.3.65536.1.32"]


def test_alias_produces_identical_bytes() -> None:
    salt = bytes(range(100, 116))
    password = "pässwörd with ✓ unicode"
    primary = USER_PASSWORD_ARGON2ID.hash(password, salt)
    assert USER_PASSWORD_ARGON2ID_ALIAS.hash(password, salt) == primary
    assert len(primary) == 32


def test_default_id_encodes_the_parameters() -> None:
    assert Argon2id(memory_cost=64, time_cost=1, parallelism=1).id == "argon2id.64.1.1.32"
    assert Argon2id(memory_cost=128, time_cost=2, parallelism=4, hash_len=24).id == "argon2id.128.2.4.24"
    assert Argon2id(memory_cost=64, time_cost=1, parallelism=1, id="custom").id == "custom"


def test_with_id_keeps_parameters_and_output() -> None:
    base = Argon2id(memory_cost=64, time_cost=1, parallelism=1, salt_size=12)
    renamed = base.with_id("legacy.id")
    assert renamed.id == "legacy.id"
    assert base.id == "argon2id.64.1.1.32"
    assert renamed.salt_size == 12
    assert renamed.hash("pw", b"saltsalt") == base.hash("pw", b"saltsalt")


def test_hash_is_deterministic_and_depends_on_inputs() -> None:
    algorithm = Argon2id(memory_cost=64, time_cost=1, parallelism=1)
    salt = b"0123456789abcdef"
    first = algorithm.hash("password", salt)
    assert algorithm.hash("password", salt) == first
    assert algorithm.hash("Password", salt) != first
    assert algorithm.hash("password", b"fedcba9876543210") != first


def test_empty_password_hashes() -> None:
    # Verification hashes any presented string, even the empty one (F5.1).
    output = Argon2id(memory_cost=64, time_cost=1, parallelism=1).hash("", b"somesalt")
    assert len(output) == 32


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"memory_cost": 7, "time_cost": 1, "parallelism": 1}, id="memory-below-8"),
        pytest.param({"memory_cost": 15, "time_cost": 1, "parallelism": 2}, id="memory-below-8-per-lane"),
        pytest.param({"memory_cost": 64, "time_cost": 0, "parallelism": 1}, id="time-zero"),
        pytest.param({"memory_cost": 64, "time_cost": 1, "parallelism": 0}, id="parallelism-zero"),
        pytest.param({"memory_cost": 64, "time_cost": 1, "parallelism": 1, "hash_len": 3}, id="hash-len-3"),
        pytest.param({"memory_cost": 64, "time_cost": 1, "parallelism": 1, "salt_size": 7}, id="salt-size-7"),
        pytest.param({"memory_cost": 64, "time_cost": -1, "parallelism": 1}, id="time-negative"),
    ],
)
def test_invalid_parameters_raise_value_error(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Argon2id(**kwargs)
