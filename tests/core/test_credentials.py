"""Ids, tokens, codes and temporary passwords (foundations.md F3), and what storage holds."""

from __future__ import annotations

import hashlib
from typing import Any

from faroe_flask import Server
from faroe_flask.core import credentials
from faroe_flask.core.validation import is_valid_email_address, is_valid_password_length

from ..conftest import STRONG_PASSWORD, CapturingEmailSender
from .helpers import ok, sign_up

LOWER = set("abcdefghijkmnpqrstuvwxyz23456789")
UPPER = set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")


def test_alphabets_exclude_look_alikes() -> None:
    assert set(credentials.LOWERCASE_ALPHABET) == LOWER and len(credentials.LOWERCASE_ALPHABET) == 32
    assert set(credentials.UPPERCASE_ALPHABET) == UPPER and len(credentials.UPPERCASE_ALPHABET) == 32
    assert not {"l", "o", "0", "1"} & LOWER
    assert not {"I", "O", "0", "1"} & UPPER


def test_generated_values_have_the_specified_formats() -> None:
    for _ in range(200):
        assert len(credentials.generate_id()) == 24 and set(credentials.generate_id()) <= LOWER
        assert len(credentials.generate_secret()) == 24 and set(credentials.generate_secret()) <= LOWER
        code = credentials.generate_email_address_verification_code()
        assert len(code) == 8 and set(code) <= UPPER
        temporary = credentials.generate_temporary_password()
        assert len(temporary) == 12 and set(temporary) <= UPPER


def test_generation_uses_the_whole_alphabet() -> None:
    seen = set("".join(credentials.generate_id() for _ in range(400)))
    assert seen == LOWER


def test_parse_token() -> None:
    record_id = credentials.generate_id()
    assert credentials.parse_token(f"{record_id}.secret") == (record_id, "secret")
    assert credentials.parse_token(f"{record_id}.") == (record_id, "")
    assert credentials.parse_token(".") is None
    assert credentials.parse_token(record_id) is None
    assert credentials.parse_token(f"{record_id}.a.b") is None
    assert credentials.parse_token(f"{record_id.upper()}.secret") is None
    assert credentials.parse_token(f"{record_id}x.secret") is None
    assert credentials.parse_token("l" * 24 + ".secret") is None


def test_codes_compare_after_upper_casing() -> None:
    assert credentials.code_matches("abcd2345", "ABCD2345")
    assert credentials.code_matches("ABCD2345", "ABCD2345")
    assert not credentials.code_matches(" ABCD2345", "ABCD2345")
    assert not credentials.code_matches("ABCD234", "ABCD2345")


def test_tokens_returned_by_the_actions(server: Server, email_sender: CapturingEmailSender) -> None:
    values = ok(server, "create_signup", email_address="user@example.com")
    signup_token = values["signup_token"]
    assert len(signup_token) == 49 and signup_token[24] == "."
    assert signup_token.startswith(values["signup"]["id"] + ".")
    assert set(signup_token.replace(".", "")) <= LOWER
    code = email_sender.last("signup_code")["code"]
    assert len(code) == 8 and set(code) <= UPPER
    session_token, _ = sign_up(server, email_sender, "other@example.com")
    assert len(session_token) == 49
    values = ok(server, "create_user_password_reset", user_email_address="other@example.com")
    assert len(values["user_password_reset_token"]) == 49
    temporary = email_sender.last("temporary_password")["temporary_password"]
    assert len(temporary) == 12 and set(temporary) <= UPPER


def _all_values(storage: Any) -> list[bytes]:
    keys = storage.keys() if hasattr(storage, "keys") else None
    assert keys is not None, "this test inspects the in-memory storage"
    return [storage.get(key)[0] for key in keys]


def test_storage_holds_sha256_of_secrets_never_the_secret(
    make_server: Any, email_sender: CapturingEmailSender
) -> None:
    from faroe_flask import MemoryStorage, MemoryUserStore

    storage = MemoryStorage()
    server = make_server(storage=storage, user_store=MemoryUserStore())
    session_token, _ = sign_up(server, email_sender)
    signin_token = ok(server, "create_signin", user_email_address="user@example.com")["signin_token"]
    reset_token = ok(server, "create_user_password_reset", user_email_address="user@example.com")[
        "user_password_reset_token"
    ]
    temporary = email_sender.last("temporary_password")["temporary_password"]
    stored = b"".join(_all_values(storage))
    for token in (session_token, signin_token, reset_token):
        record_id, secret = token.split(".")
        assert record_id.encode() in stored
        assert secret.encode() not in stored
        digest = hashlib.sha256(secret.encode()).digest()
        import base64

        assert base64.b64encode(digest) in stored
    assert temporary.encode() not in stored
    assert STRONG_PASSWORD.encode() not in stored


def test_email_address_rule_examples() -> None:
    accepted = ["user@example.com", "a@b", ".a..b.@-.-", "o'neil+tag/x@example.com", "User@Example.COM",
                "a@" + "b" * 98]
    rejected = ["us$er@example.com", '"quoted"@example.com', "user@exam_ple.com", "user@[1.2.3.4]",
                "us er@example.com", " user@example.com", "a@b@c", "example.com", "@b", "a@",
                "ü@example.com", "a@" + "b" * 99, "a,b@c"]
    for address in accepted:
        assert is_valid_email_address(address), address
    for address in rejected:
        assert not is_valid_email_address(address), address


def test_password_length_rule_counts_code_points() -> None:
    assert not is_valid_password_length("a" * 9)
    assert is_valid_password_length("a" * 10)
    assert is_valid_password_length("ü" * 10)
    assert is_valid_password_length("😀" * 100)
    assert not is_valid_password_length("a" * 101)


def test_every_storage_key_carries_the_namespace(make_server: Any, email_sender: CapturingEmailSender) -> None:
    from faroe_flask import MemoryStorage, MemoryUserStore

    storage = MemoryStorage()
    server = make_server(storage=storage, user_store=MemoryUserStore(), storage_key_prefix="faroe.")
    session_token, user_id = sign_up(server, email_sender)
    signin_token = ok(server, "create_signin", user_email_address="user@example.com")["signin_token"]
    ok(server, "verify_signin_user_password", signin_token=signin_token, password=STRONG_PASSWORD)
    ok(server, "create_user_password_reset", user_email_address="user@example.com")
    keys = storage.keys()
    prefixes = {key[len("faroe.") : len("faroe.") + 5] for key in keys}
    assert all(key.startswith("faroe.") for key in keys)
    assert {"aaah.", "aaaj.", "aaan.", "aaaq.", "aaar.", "aaas."} <= prefixes
    assert f"faroe.aaah.{session_token.split('.')[0]}" in keys
    assert f"faroe.aaaq.{user_id}" in keys
    assert "faroe.aaar.user@example.com" in keys
    ok(server, "get_session", session_token=session_token)
