"""``Server.action_observer``: the one hook the Flask layer's signals use. Off by default; when
set, it wraps every invocation (in-process and from a request body) and its result is the answer."""

from __future__ import annotations

import json
from collections.abc import Callable

from faroe_flask import ActionResult, MemoryStorage, MemoryUserStore, Server

from ..conftest import FAST_TEMPORARY_ALGORITHM, FAST_USER_ALGORITHM, BannedPasswords, CapturingEmailSender

Run = Callable[[str, dict[str, str]], ActionResult]


def make_server() -> Server:
    return Server(
        storage=MemoryStorage(),
        user_store=MemoryUserStore(),
        email_sender=CapturingEmailSender(),
        user_password_hash_algorithms=[FAST_USER_ALGORITHM],
        temporary_password_hash_algorithm=FAST_TEMPORARY_ALGORITHM,
        password_strength_checker=BannedPasswords(),
    )


def test_no_observer_by_default() -> None:
    assert make_server().action_observer is None


def test_the_observer_wraps_both_entry_points() -> None:
    server = make_server()
    seen: list[tuple[str, dict[str, str], bool]] = []

    def observe(action: str, arguments: dict[str, str], run: Run) -> ActionResult:
        result = run(action, arguments)
        seen.append((action, dict(arguments), result.ok))
        return result

    server.action_observer = observe
    in_process = server.invoke("get_session", {"session_token": "nope"})
    body = server.resolve_action_invocation_request(
        json.dumps({"action": "create_signup", "arguments": {"email_address": "a@example.com"}})
    )
    assert in_process.ok is False and in_process.error_code == "invalid_session_token"
    assert json.loads(body)["ok"] is True
    assert seen == [
        ("get_session", {"session_token": "nope"}, False),
        ("create_signup", {"email_address": "a@example.com"}, True),
    ]


def test_the_observers_result_is_the_answer() -> None:
    server = make_server()

    def observe(action: str, arguments: dict[str, str], run: Run) -> ActionResult:
        run(action, arguments)
        return ActionResult(False, "x" * 24, error_code="internal_error")

    server.action_observer = observe
    assert json.loads(
        server.resolve_action_invocation_request(
            json.dumps({"action": "get_session", "arguments": {"session_token": "t"}})
        )
    ) == {"ok": False, "action_invocation_id": "x" * 24, "error_code": "internal_error"}
