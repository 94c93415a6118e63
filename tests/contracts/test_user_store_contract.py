"""The UserStore contract (foundations.md F10.3) plus the administration methods, on every backend."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from faroe_flask import User, UserEmailAddressAlreadyUsedError, UserNotFoundError, UserStore
from faroe_flask.core.credentials import ID_LENGTH, LOWERCASE_ALPHABET

HASH = bytes(range(256))
SALT = b"\x00salt\xff" * 2


def _create(user_store: Any, email_address: str = "alice@example.com") -> User:
    return user_store.create_user(email_address, HASH, "argon2id.65536.3.1.32", SALT)


def test_is_a_user_store(user_store: Any) -> None:
    assert isinstance(user_store, UserStore)


def test_create_user_returns_a_fresh_record(user_store: Any) -> None:
    user = _create(user_store, "Alice@Example.com")
    assert len(user.id) == ID_LENGTH and set(user.id) <= set(LOWERCASE_ALPHABET)
    assert user == User(
        id=user.id,
        email_address="Alice@Example.com",
        password_hash=HASH,
        password_salt=SALT,
        password_hash_algorithm_id="argon2id.65536.3.1.32",
        disabled=False,
        display_name="",
        email_address_counter=0,
        password_hash_counter=0,
        disabled_counter=0,
        sessions_counter=0,
    )


def test_created_users_are_read_back_by_id_and_by_exact_email_address(user_store: Any) -> None:
    alice = _create(user_store, "alice@example.com")
    bob = _create(user_store, "bob@example.com")
    assert alice.id != bob.id
    assert user_store.get_user(alice.id) == alice
    assert user_store.get_user_by_email_address("bob@example.com") == bob


def test_unknown_users_are_not_found(user_store: Any) -> None:
    _create(user_store)
    with pytest.raises(UserNotFoundError):
        user_store.get_user("a" * ID_LENGTH)
    with pytest.raises(UserNotFoundError):
        user_store.get_user_by_email_address("nobody@example.com")


def test_email_addresses_match_exactly_including_case(user_store: Any) -> None:
    alice = _create(user_store, "Alice@Example.com")
    for other in ("alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.co"):
        with pytest.raises(UserNotFoundError):
            user_store.get_user_by_email_address(other)
    lower = _create(user_store, "alice@example.com")  # another address: allowed
    assert user_store.get_user_by_email_address("Alice@Example.com") == alice
    assert user_store.get_user_by_email_address("alice@example.com") == lower


def test_user_ids_are_case_sensitive(user_store: Any) -> None:
    alice = _create(user_store)
    with pytest.raises(UserNotFoundError):
        user_store.get_user(alice.id.upper())


def test_create_user_with_a_used_email_address_fails(user_store: Any) -> None:
    alice = _create(user_store)
    with pytest.raises(UserEmailAddressAlreadyUsedError):
        _create(user_store, "alice@example.com")
    assert user_store.get_user_by_email_address("alice@example.com") == alice


def test_update_email_address_sets_it_and_counts(user_store: Any) -> None:
    alice = _create(user_store)
    user_store.update_user_email_address(alice.id, "alice@new.example", 0)
    assert user_store.get_user(alice.id) == dataclasses.replace(
        alice, email_address="alice@new.example", email_address_counter=1
    )
    with pytest.raises(UserNotFoundError):
        user_store.get_user_by_email_address("alice@example.com")
    assert _create(user_store, "alice@example.com").email_address == "alice@example.com"


def test_update_email_address_to_the_same_address_counts(user_store: Any) -> None:
    alice = _create(user_store)
    user_store.update_user_email_address(alice.id, "alice@example.com", 0)
    assert user_store.get_user(alice.id).email_address_counter == 1


def test_update_email_address_with_a_stale_counter_or_unknown_user_is_not_found(user_store: Any) -> None:
    alice = _create(user_store)
    with pytest.raises(UserNotFoundError):
        user_store.update_user_email_address(alice.id, "alice@new.example", 1)
    with pytest.raises(UserNotFoundError):
        user_store.update_user_email_address("b" * ID_LENGTH, "alice@new.example", 0)
    assert user_store.get_user(alice.id) == alice


def test_update_email_address_to_another_users_address_fails(user_store: Any) -> None:
    alice = _create(user_store, "alice@example.com")
    bob = _create(user_store, "bob@example.com")
    with pytest.raises(UserEmailAddressAlreadyUsedError):
        user_store.update_user_email_address(alice.id, "bob@example.com", 0)
    with pytest.raises(UserEmailAddressAlreadyUsedError):  # the address wins over the counter
        user_store.update_user_email_address(alice.id, "bob@example.com", 5)
    assert user_store.get_user(alice.id) == alice
    assert user_store.get_user(bob.id) == bob
    user_store.update_user_email_address(alice.id, "Bob@example.com", 0)  # other case: free


def test_update_password_hash_sets_three_values_and_counts(user_store: Any) -> None:
    alice = _create(user_store)
    user_store.update_user_password_hash(alice.id, b"\x01new", "other.algorithm", b"\x02salt", 0)
    assert user_store.get_user(alice.id) == dataclasses.replace(
        alice,
        password_hash=b"\x01new",
        password_hash_algorithm_id="other.algorithm",
        password_salt=b"\x02salt",
        password_hash_counter=1,
    )
    user_store.update_user_password_hash(alice.id, HASH, "a", SALT, 1)
    assert user_store.get_user(alice.id).password_hash_counter == 2


def test_update_password_hash_with_a_stale_counter_or_unknown_user_is_not_found(user_store: Any) -> None:
    alice = _create(user_store)
    with pytest.raises(UserNotFoundError):
        user_store.update_user_password_hash(alice.id, b"new", "x", b"s", 1)
    with pytest.raises(UserNotFoundError):
        user_store.update_user_password_hash("c" * ID_LENGTH, b"new", "x", b"s", 0)
    assert user_store.get_user(alice.id) == alice


def test_increment_sessions_counter_is_a_compare_and_swap(user_store: Any) -> None:
    alice = _create(user_store)
    user_store.increment_user_sessions_counter(alice.id, 0)
    user_store.increment_user_sessions_counter(alice.id, 1)
    with pytest.raises(UserNotFoundError):
        user_store.increment_user_sessions_counter(alice.id, 1)
    with pytest.raises(UserNotFoundError):
        user_store.increment_user_sessions_counter("d" * ID_LENGTH, 0)
    assert user_store.get_user(alice.id) == dataclasses.replace(alice, sessions_counter=2)


def test_delete_user_removes_the_user_and_frees_the_address(user_store: Any) -> None:
    alice = _create(user_store)
    user_store.delete_user(alice.id)
    with pytest.raises(UserNotFoundError):
        user_store.get_user(alice.id)
    with pytest.raises(UserNotFoundError):
        user_store.delete_user(alice.id)
    assert _create(user_store).id != alice.id


def test_set_user_disabled_counts_every_change(user_store: Any) -> None:
    alice = _create(user_store)
    user_store.set_user_disabled(alice.id, True)
    assert user_store.get_user(alice.id) == dataclasses.replace(alice, disabled=True, disabled_counter=1)
    user_store.set_user_disabled(alice.id, False)
    user_store.set_user_disabled(alice.id, False)
    assert user_store.get_user(alice.id) == dataclasses.replace(alice, disabled=False, disabled_counter=3)
    with pytest.raises(UserNotFoundError):
        user_store.set_user_disabled("e" * ID_LENGTH, True)


def test_set_user_display_name(user_store: Any) -> None:
    alice = _create(user_store)
    user_store.set_user_display_name(alice.id, "Alice Ørsted 🦊")  # 4-byte UTF-8 included
    user_store.set_user_display_name(alice.id, "Alice Ørsted 🦊")  # unchanged value: still found
    assert user_store.get_user(alice.id) == dataclasses.replace(alice, display_name="Alice Ørsted 🦊")
    with pytest.raises(UserNotFoundError):
        user_store.set_user_display_name("f" * ID_LENGTH, "x")


def test_counters_are_independent(user_store: Any) -> None:
    alice = _create(user_store)
    user_store.update_user_email_address(alice.id, "a2@example.com", 0)
    user_store.update_user_password_hash(alice.id, b"h", "x", b"s", 0)
    user_store.increment_user_sessions_counter(alice.id, 0)
    user_store.set_user_disabled(alice.id, False)
    user = user_store.get_user(alice.id)
    counters = (
        user.email_address_counter,
        user.password_hash_counter,
        user.disabled_counter,
        user.sessions_counter,
    )
    assert counters == (1, 1, 1, 1)


def test_a_change_is_visible_to_the_next_read_in_another_thread(user_store: Any) -> None:
    alice = _create(user_store)
    user_store.increment_user_sessions_counter(alice.id, 0)
    seen: list[User] = []
    reader = threading.Thread(target=lambda: seen.append(user_store.get_user(alice.id)))
    reader.start()
    reader.join()
    assert [user.sessions_counter for user in seen] == [1]
